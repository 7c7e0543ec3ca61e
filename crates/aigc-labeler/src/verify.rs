//! `aigc-labeler verify`: reads a labeled file or a saved response, reports the implicit label
//! and whether its anti-tamper value (ReservedCode1) matches the record's fields and the content.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;

use super::media::{self, Format};
use super::record::{AigcRecord, PartDigest, Sealer};
use super::text::{TextApi, json_parts, read_responses_stream, read_stream, responses_parts};

/// What was found in one piece of content.
#[derive(Debug, Serialize)]
pub struct Finding {
    /// What the content is: `png`, `chat completion`, `images response`, …
    pub kind: String,
    /// The record, if the content carries one.
    pub record: Option<AigcRecord>,
    /// `intact`, `tampered`, `unchecked` (no key given), `missing` (no record) or
    /// `unsupported` (a format that cannot carry one).
    pub integrity: &'static str,
    /// Why the record is tampered: which field or part changed, or which carriers disagree.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Images inside an images response, each with its own record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Finding>,
}

impl Finding {
    /// True when every record is present and (if a key was given) intact.
    pub fn ok(&self) -> bool {
        !matches!(self.integrity, "tampered" | "missing") && self.items.iter().all(Finding::ok)
    }

    pub fn render(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        out.push_str(&format!("{pad}content: {}\n", self.kind));
        match &self.record {
            Some(r) => {
                out.push_str(&format!("{pad}AIGC record:\n"));
                for (name, value) in [
                    ("Label", &r.label),
                    ("ContentProducer", &r.content_producer),
                    ("ProduceID", &r.produce_id),
                    ("ReservedCode1", &r.reserved_code1),
                    ("ContentPropagator", &r.content_propagator),
                    ("PropagateID", &r.propagate_id),
                    ("ReservedCode2", &r.reserved_code2),
                ] {
                    out.push_str(&format!("{pad}  {name}: {value}\n"));
                }
            }
            None => out.push_str(&format!("{pad}AIGC record: none\n")),
        }
        let integrity = match self.integrity {
            "intact" => "intact (matches the record's fields and the content)",
            "tampered" => "TAMPERED",
            "unchecked" => "not checked (no --key-file given)",
            "unsupported" => "none: the format cannot carry the record",
            _ => "missing",
        };
        out.push_str(&format!("{pad}anti-tamper value: {integrity}\n"));
        for problem in &self.problems {
            out.push_str(&format!("{pad}  - {problem}\n"));
        }
        for (index, item) in self.items.iter().enumerate() {
            out.push_str(&format!("{pad}image {index}:\n"));
            item.render(out, indent + 2);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Media(#[from] media::MediaError),
    #[error(
        "not a labeled format: expected a PNG, JPEG, WAV or MP3 file, or a JSON or server-sent-event response"
    )]
    Unknown,
    #[error("image {index} of the response: {message}")]
    Item { index: usize, message: String },
}

fn integrity(
    sealer: Option<&Sealer>,
    record: Option<&AigcRecord>,
    parts: &[PartDigest],
) -> (&'static str, Vec<String>) {
    match (record, sealer) {
        (None, _) => ("missing", Vec::new()),
        (Some(_), None) => ("unchecked", Vec::new()),
        (Some(record), Some(sealer)) => {
            let found = sealer.examine(record, parts);
            if found.is_empty() {
                ("intact", Vec::new())
            } else {
                let problems = found.iter().map(|t| t.describe().to_string()).collect();
                ("tampered", problems)
            }
        }
    }
}

/// A finding for one record over `parts`.
fn finding(
    kind: String,
    sealer: Option<&Sealer>,
    record: Option<AigcRecord>,
    parts: &[PartDigest],
) -> Finding {
    let (integrity, problems) = integrity(sealer, record.as_ref(), parts);
    Finding {
        kind,
        record,
        integrity,
        problems,
        items: Vec::new(),
    }
}

/// Verifies `bytes` (a file, or a response body, optionally preceded by its HTTP head).
pub fn verify(bytes: &[u8], sealer: Option<&Sealer>) -> Result<Finding, VerifyError> {
    if let Some(format) = media::sniff(bytes) {
        return verify_media(format, bytes, sealer);
    }
    let body = strip_http_head(bytes);
    let text = std::str::from_utf8(body).map_err(|_| VerifyError::Unknown)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with("data:") || trimmed.starts_with(':') || trimmed.starts_with("event:") {
        return Ok(verify_stream(body, sealer));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| VerifyError::Unknown)?;
    let record = value
        .get("aigc")
        .and_then(|r| serde_json::from_value::<AigcRecord>(r.clone()).ok());
    if let Some(items) = value.get("data").and_then(Value::as_array) {
        return verify_images(items, record, sealer);
    }
    if value.get("choices").is_none()
        && let Some(parts) = responses_parts(&value)
    {
        return Ok(finding(
            "responses API answer".into(),
            sealer,
            record,
            &parts,
        ));
    }
    let first = value.pointer("/choices/0").ok_or(VerifyError::Unknown)?;
    let api = if first.get("message").is_some() {
        TextApi::Chat
    } else {
        TextApi::Completion
    };
    let parts = json_parts(api, &value).ok_or(VerifyError::Unknown)?;
    let kind = match api {
        TextApi::Chat => "chat completion",
        TextApi::Completion => "completion",
    };
    Ok(finding(kind.into(), sealer, record, &parts))
}

fn verify_media(
    format: Format,
    bytes: &[u8],
    sealer: Option<&Sealer>,
) -> Result<Finding, VerifyError> {
    let carried = media::records(format, bytes)?;
    let digest = media::essence(format, bytes)?;
    let record = carried.iter().find_map(|c| c.record.clone());
    let mut found = finding(format.mime().to_string(), sealer, record, &[digest]);
    if media::disagree(&carried) {
        // Whichever carrier a reader picks, it cannot be trusted: reported as tampered, with
        // or without a key.
        found.integrity = "tampered";
        found.problems.insert(
            0,
            format!(
                "the file carries records that disagree ({})",
                media::carriers(&carried)
            ),
        );
    }
    Ok(found)
}

fn verify_stream(body: &[u8], sealer: Option<&Sealer>) -> Finding {
    let text = String::from_utf8_lossy(body);
    if text.contains("\"response.output_text.delta\"") || text.contains("\"response.completed\"") {
        let (record, parts, events) = read_responses_stream(body);
        return finding(
            format!("responses API stream ({events} events)"),
            sealer,
            record,
            &parts,
        );
    }
    let api = if text.contains("\"delta\"") {
        TextApi::Chat
    } else {
        TextApi::Completion
    };
    let transcript = read_stream(api, body);
    let kind = format!(
        "{} stream ({} events{})",
        match api {
            TextApi::Chat => "chat completion",
            TextApi::Completion => "completion",
        },
        transcript.events,
        if transcript.done { ", [DONE]" } else { "" }
    );
    let Some((last, last_parts)) = transcript.records.last() else {
        return finding(kind, sealer, None, &[]);
    };
    let mut found = finding(kind, sealer, Some(last.clone()), last_parts);
    let mut problems = Vec::new();
    // Every copy of the record describes the same content by the same producer...
    let same = |a: &AigcRecord, b: &AigcRecord| {
        AigcRecord {
            reserved_code1: String::new(),
            ..a.clone()
        } == AigcRecord {
            reserved_code1: String::new(),
            ..b.clone()
        }
    };
    if transcript.records.iter().any(|(r, _)| !same(r, last)) {
        problems.push("the stream carries records that disagree".to_string());
    }
    // ...and each is checked against the text it covers.
    if let Some(sealer) = sealer {
        for (record, parts) in &transcript.records {
            for tamper in sealer.examine(record, parts) {
                let problem = tamper.describe().to_string();
                if !problems.contains(&problem) && !found.problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    if *last_parts != transcript.parts() {
        problems.push("text follows the last record, which does not cover it".to_string());
    }
    if !problems.is_empty() {
        found.integrity = "tampered";
        found.problems.extend(problems);
    }
    found
}

fn verify_images(
    items: &[Value],
    record: Option<AigcRecord>,
    sealer: Option<&Sealer>,
) -> Result<Finding, VerifyError> {
    let mut findings = Vec::new();
    let mut digests = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some(encoded) = item.get("b64_json").and_then(Value::as_str) else {
            continue;
        };
        let image = BASE64.decode(encoded).map_err(|e| VerifyError::Item {
            index,
            message: format!("not base64: {e}"),
        })?;
        // The same rule as the labeler's: only PNG and JPEG images carry a record.
        let Some(format) = media::sniff(&image).filter(|f| matches!(f, Format::Png | Format::Jpeg))
        else {
            findings.push(Finding {
                kind: "an image format that cannot carry the record".into(),
                record: None,
                integrity: "unsupported",
                problems: Vec::new(),
                items: Vec::new(),
            });
            continue;
        };
        let finding = verify_media(format, &image, sealer).map_err(|e| VerifyError::Item {
            index,
            message: e.to_string(),
        })?;
        digests.push(media::essence(format, &image)?);
        findings.push(finding);
    }
    let mut found = finding(
        format!("images response ({} images)", findings.len()),
        sealer,
        record,
        &digests,
    );
    found.items = findings;
    Ok(found)
}

/// A saved response may start with its status line and headers (`curl -i`).
fn strip_http_head(bytes: &[u8]) -> &[u8] {
    if !bytes.starts_with(b"HTTP/") {
        return bytes;
    }
    for separator in [&b"\r\n\r\n"[..], b"\n\n"] {
        if let Some(at) = bytes.windows(separator.len()).position(|w| w == separator) {
            return &bytes[at + separator.len()..];
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::text::StreamLabeler;

    fn sealer() -> Sealer {
        Sealer::new("provider-1", b"0123456789abcdef".to_vec())
    }

    /// A labeled chat stream whose record rides on the finishing and the usage chunk.
    fn labeled_stream() -> String {
        let chunk = |choices: Value, usage: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": "c", "object": "chat.completion.chunk", "choices": choices, "usage": usage})
            )
        };
        let input = [
            chunk(
                json!([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]),
                Value::Null,
            ),
            chunk(
                json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
                Value::Null,
            ),
            chunk(json!([]), json!({"total_tokens": 3})),
            "data: [DONE]\n\n".to_string(),
        ]
        .concat();
        let mut labeler = StreamLabeler::new(TextApi::Chat, None, sealer(), "s-1".into(), 1 << 20);
        let mut out = labeler.push(input.as_bytes()).unwrap().to_vec();
        out.extend_from_slice(&labeler.finish());
        String::from_utf8(out).unwrap()
    }

    fn verdict(stream: &str) -> (&'static str, Vec<String>) {
        let finding = verify(stream.as_bytes(), Some(&sealer())).unwrap();
        (finding.integrity, finding.problems)
    }

    #[test]
    fn every_copy_of_a_streams_record_is_checked() {
        let stream = labeled_stream();
        assert_eq!(stream.matches("\"aigc\"").count(), 2);
        assert_eq!(verdict(&stream), ("intact", vec![]));

        // One copy says "not AI-generated": the copies disagree, and that copy is forged.
        let at = stream.rfind(r#""Label":"1""#).unwrap();
        let mut forged = stream.clone();
        forged.replace_range(at..at + 11, r#""Label":"0""#);
        let (integrity, problems) = verdict(&forged);
        assert_eq!(integrity, "tampered");
        assert!(problems.contains(&"the stream carries records that disagree".to_string()));
        assert!(
            problems.contains(&"Label was changed".to_string()),
            "{problems:?}"
        );

        // Text slipped in after the last record is not covered by it.
        let extra = format!(
            "data: {}\n\n",
            json!({"id": "c", "choices": [{"index": 0, "delta": {"content": " (not AI)"}, "finish_reason": null}]})
        );
        let appended = stream.replacen("data: [DONE]", &format!("{extra}data: [DONE]"), 1);
        assert_eq!(
            verdict(&appended),
            (
                "tampered",
                vec!["text follows the last record, which does not cover it".to_string()]
            )
        );
    }
}
