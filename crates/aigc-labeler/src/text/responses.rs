//! Responses API streams (`/v1/responses` with `stream: true`): typed server-sent events.
//!
//! The rule, the same as for a whole Responses answer: the parts are the `output_text` parts in
//! order (output index, then content index), each the concatenation of its
//! `response.output_text.delta` events as delivered. The notice goes into the text the client
//! accumulates from the deltas: at the start of the first `output_text` part's first delta, or
//! (`--notice-position end`) appended to the last delta of each `output_text` part, which is
//! held back until the next event shows that the part ends (`response.output_text.done`). The
//! events that repeat a part's whole text (`response.output_text.done`,
//! `response.content_part.done`, `response.output_item.done`, `response.completed`) repeat it
//! with the notice. The record rides on `response.completed`, as the `aigc` object of its
//! `response` (where a whole answer has it), never on an event of its own. Other output items
//! (reasoning summaries, function calls and their argument deltas) pass unchanged and are not
//! parts, as in a whole answer.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use serde_json::Value;

use super::{
    Notice, Position, SEPARATOR, TextError, event_data, event_end, record_value, write_rewritten,
};
use crate::record::{AigcRecord, PartDigest, PartHasher, Sealer};

type Key = (u64, u64);

fn key(value: &Value) -> Key {
    let at = |name| value.get(name).and_then(Value::as_u64).unwrap_or(0);
    (at("output_index"), at("content_index"))
}

/// The last delta of a part, held until the next event.
struct Held {
    event: Bytes,
    separator: Bytes,
    key: Key,
    value: Value,
}

/// Rewrites a Responses API event stream as it passes.
pub struct ResponsesStreamLabeler {
    notice: Option<Notice>,
    sealer: Sealer,
    produce_id: String,
    max_event: usize,
    pending: BytesMut,
    parts: BTreeMap<Key, PartHasher>,
    /// Parts whose whole text carries the notice.
    noticed: BTreeSet<Key>,
    started: bool,
    held: Option<Held>,
    sealed: Option<AigcRecord>,
}

impl ResponsesStreamLabeler {
    pub fn new(
        notice: Option<Notice>,
        sealer: Sealer,
        produce_id: String,
        max_event: usize,
    ) -> Self {
        Self {
            notice,
            sealer,
            produce_id,
            max_event,
            pending: BytesMut::new(),
            parts: BTreeMap::new(),
            noticed: BTreeSet::new(),
            started: false,
            held: None,
            sealed: None,
        }
    }

    pub fn record(&self) -> Option<&AigcRecord> {
        self.sealed.as_ref()
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<Bytes, TextError> {
        self.pending.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        while let Some((end, sep)) = event_end(&self.pending) {
            let event = self.pending.split_to(end + sep).freeze();
            self.event(event.slice(..end), event.slice(end..), &mut out);
        }
        if self.pending.len() > self.max_event {
            return Err(TextError::EventTooLarge(self.max_event));
        }
        Ok(out.freeze())
    }

    /// The model server broke off: what was held and the partial event, as they came.
    pub fn abort(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        self.release(&mut out);
        out.extend_from_slice(&std::mem::take(&mut self.pending));
        out.freeze()
    }

    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if !self.pending.is_empty() {
            let event = std::mem::take(&mut self.pending).freeze();
            self.event(event, Bytes::from_static(b"\n\n"), &mut out);
        }
        self.release(&mut out);
        out.freeze()
    }

    fn mode(&self) -> Option<Position> {
        self.notice.as_ref().map(|n| n.position)
    }

    /// Sends the held delta on, with the end notice if `ends` says its part ends here.
    fn release_with(&mut self, out: &mut BytesMut, ends: bool) {
        let Some(mut held) = self.held.take() else {
            return;
        };
        let delta = held.value["delta"].as_str().unwrap_or_default().to_string();
        let delivered = match (&self.notice, ends) {
            (Some(notice), true) => {
                self.noticed.insert(held.key);
                format!("{delta}{SEPARATOR}{}", notice.text)
            }
            _ => delta,
        };
        self.parts
            .entry(held.key)
            .or_default()
            .update(delivered.as_bytes());
        if ends {
            held.value["delta"] = Value::String(delivered);
            write_rewritten(out, &held.event, &held.value.to_string());
        } else {
            out.extend_from_slice(&held.event);
        }
        out.extend_from_slice(&held.separator);
    }

    fn release(&mut self, out: &mut BytesMut) {
        self.release_with(out, false);
    }

    fn event(&mut self, event: Bytes, separator: Bytes, out: &mut BytesMut) {
        let value = event_data(&event).and_then(|data| serde_json::from_str::<Value>(&data).ok());
        let Some(mut value) = value.filter(Value::is_object) else {
            self.release(out);
            out.extend_from_slice(&event);
            out.extend_from_slice(&separator);
            return;
        };
        let kind = value["type"].as_str().unwrap_or_default().to_string();
        let ends_held = kind == "response.output_text.done"
            && self.held.as_ref().is_some_and(|h| h.key == key(&value));
        self.release_with(out, ends_held);
        let rewritten = match kind.as_str() {
            "response.output_text.delta" => {
                let key = key(&value);
                if self.mode() == Some(Position::End) {
                    self.held = Some(Held {
                        event,
                        separator,
                        key,
                        value,
                    });
                    return;
                }
                let delta = value["delta"].as_str().unwrap_or_default().to_string();
                let delivered = match &self.notice {
                    Some(notice) if !self.started => {
                        self.started = true;
                        self.noticed.insert(key);
                        Some(notice.wrap(&delta))
                    }
                    _ => None,
                };
                let hasher = self.parts.entry(key).or_default();
                hasher.update(delivered.as_deref().unwrap_or(&delta).as_bytes());
                delivered.map(|text| {
                    value["delta"] = Value::String(text);
                    value
                })
            }
            "response.output_text.done" => {
                let key = key(&value);
                self.parts.entry(key).or_default();
                self.wrap(key, value.get_mut("text")).then_some(value)
            }
            "response.content_part.done" => {
                let key = key(&value);
                self.wrap(key, value.pointer_mut("/part/text"))
                    .then_some(value)
            }
            "response.output_item.done" => {
                let output = key(&value).0;
                let changed = self.wrap_item(output, value.get_mut("item"));
                changed.then_some(value)
            }
            "response.completed" => {
                let mut changed = false;
                if let Some(output) = value
                    .pointer_mut("/response/output")
                    .and_then(Value::as_array_mut)
                {
                    for (index, item) in output.iter_mut().enumerate() {
                        changed |= self.wrap_item(index as u64, Some(item));
                    }
                }
                match value.get_mut("response").and_then(Value::as_object_mut) {
                    Some(response) => {
                        let record = self.seal();
                        response.insert("aigc".into(), record_value(&record));
                        self.sealed = Some(record);
                        Some(value)
                    }
                    None => changed.then_some(value),
                }
            }
            _ => None,
        };
        match rewritten {
            Some(value) => write_rewritten(out, &event, &value.to_string()),
            None => out.extend_from_slice(&event),
        }
        out.extend_from_slice(&separator);
    }

    /// Puts the notice into a whole text of a part that carries it in its deltas.
    fn wrap(&self, key: Key, text: Option<&mut Value>) -> bool {
        let (Some(notice), Some(text)) = (&self.notice, text) else {
            return false;
        };
        if !self.noticed.contains(&key) || !text.is_string() {
            return false;
        }
        *text = Value::String(notice.wrap(text.as_str().unwrap_or_default()));
        true
    }

    fn wrap_item(&self, output: u64, item: Option<&mut Value>) -> bool {
        let Some(content) = item
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .and_then(|item| item.get_mut("content"))
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let mut changed = false;
        for (index, part) in content.iter_mut().enumerate() {
            if part.get("type").and_then(Value::as_str) == Some("output_text") {
                changed |= self.wrap((output, index as u64), part.get_mut("text"));
            }
        }
        changed
    }

    fn seal(&self) -> AigcRecord {
        let parts: Vec<PartDigest> = self.parts.values().map(|h| h.clone().finish()).collect();
        self.sealer.seal(&self.produce_id, &parts)
    }
}

/// What a verifier reads back from a Responses stream: the record on `response.completed` and
/// the parts as the deltas delivered them.
pub fn read_responses_stream(body: &[u8]) -> (Option<AigcRecord>, Vec<PartDigest>, usize) {
    let mut texts: BTreeMap<Key, String> = BTreeMap::new();
    let mut record = None;
    let mut events = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let (event, next) = match event_end(rest) {
            Some((end, sep)) => (&rest[..end], &rest[end + sep..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let Some(value) = event_data(event).and_then(|d| serde_json::from_str::<Value>(&d).ok())
        else {
            continue;
        };
        events += 1;
        match value["type"].as_str() {
            Some("response.output_text.delta") => texts
                .entry(key(&value))
                .or_default()
                .push_str(value["delta"].as_str().unwrap_or_default()),
            Some("response.output_text.done") => {
                texts.entry(key(&value)).or_default();
            }
            Some("response.completed") => {
                record = value
                    .pointer("/response/aigc")
                    .and_then(|r| serde_json::from_value(r.clone()).ok());
            }
            _ => {}
        }
    }
    let parts = texts
        .values()
        .map(|t| crate::record::part_digest(t.as_bytes()))
        .collect();
    (record, parts, events)
}
