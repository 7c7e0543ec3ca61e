//! What a user sent: the texts of a request's prompt, read from the JSON body of each
//! OpenAI-compatible endpoint that takes one, or from the text fields of a multipart form.

use bytes::Bytes;
use serde_json::Value;

/// The text a user sent in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    pub texts: Vec<String>,
}

impl Prompt {
    /// Length in Unicode scalar values over all texts.
    pub fn chars(&self) -> usize {
        self.texts.iter().map(|t| t.chars().count()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.iter().all(String::is_empty)
    }
}

/// Why the body of a request to a checked endpoint yields no prompt. Such a request is refused,
/// since forwarding it would let it past the checks.
#[derive(Debug, thiserror::Error)]
pub enum UnreadablePrompt {
    #[error("the multipart request has no usable boundary: {0}")]
    Boundary(multer::Error),
    #[error("the multipart request cannot be read: {0}")]
    Multipart(multer::Error),
    #[error("the request body is not valid JSON: {0}")]
    Json(serde_json::Error),
}

/// The prompt of a request to a checked endpoint, from its canonical path (with or without the
/// `/v1` prefix), its `Content-Type` (empty when absent) and its body: the text fields of a
/// multipart form (`/v1/images/edits`), or the texts of a JSON body. `Ok(None)` when the
/// endpoint takes no prompt.
pub async fn read_prompt(
    canonical: &str,
    content_type: &str,
    body: &Bytes,
) -> Result<Option<Prompt>, UnreadablePrompt> {
    if is_multipart(content_type) {
        return form_prompt(content_type, body).await.map(Some);
    }
    let value: Value = serde_json::from_slice(body).map_err(UnreadablePrompt::Json)?;
    // The endpoints are matched below by their `/v1` names.
    let path = if canonical.starts_with("/v1/") {
        canonical.to_string()
    } else {
        format!("/v1{canonical}")
    };
    Ok(extract_prompt(&path, &value))
}

fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The `prompt`, `input` and `instructions` fields of a multipart form; files are skipped.
async fn form_prompt(content_type: &str, body: &Bytes) -> Result<Prompt, UnreadablePrompt> {
    let boundary = multer::parse_boundary(content_type).map_err(UnreadablePrompt::Boundary)?;
    let body = body.clone();
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut texts = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(UnreadablePrompt::Multipart)?
    {
        if matches!(field.name(), Some("prompt" | "input" | "instructions")) {
            texts.push(field.text().await.map_err(UnreadablePrompt::Multipart)?);
        }
    }
    Ok(Prompt { texts })
}

/// The text of an OpenAI-compatible request body, or `None` if `path` is not an endpoint that
/// takes a prompt. Text is collected from every message, whatever its role, since the client
/// writes all of them; non-text parts (images, audio, token IDs) are skipped.
pub fn extract_prompt(path: &str, body: &Value) -> Option<Prompt> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = path.trim_end_matches('/');
    let mut texts = Vec::new();
    match path {
        "/v1/chat/completions" => {
            for message in items(body.get("messages")) {
                content(message.get("content"), &mut texts);
            }
        }
        "/v1/completions" => strings(body.get("prompt"), &mut texts),
        "/v1/embeddings" => strings(body.get("input"), &mut texts),
        "/v1/images/generations" | "/v1/images/edits" => string(body.get("prompt"), &mut texts),
        "/v1/audio/speech" => {
            string(body.get("input"), &mut texts);
            string(body.get("instructions"), &mut texts);
        }
        "/v1/responses" => responses_input(body, &mut texts),
        _ => return None,
    }
    Some(Prompt { texts })
}

/// A Responses API request: its instructions, then its input as a string or a list of items.
fn responses_input(body: &Value, texts: &mut Vec<String>) {
    string(body.get("instructions"), texts);
    match body.get("input") {
        Some(Value::String(s)) => texts.push(s.clone()),
        input => {
            for item in items(input) {
                content(item.get("content"), texts);
                // A tool's output, which the client supplies like any other message.
                if item.get("type").and_then(Value::as_str) == Some("function_call_output") {
                    string(item.get("output"), texts);
                }
            }
        }
    }
}

fn items(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

fn string(value: Option<&Value>, texts: &mut Vec<String>) {
    if let Some(s) = value.and_then(Value::as_str) {
        texts.push(s.to_owned());
    }
}

/// A string or an array of strings; other elements (token IDs) are not text.
fn strings(value: Option<&Value>, texts: &mut Vec<String>) {
    match value {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(items)) => {
            texts.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        _ => {}
    }
}

/// A message's content: a string, or an array of parts of which the text ones count.
fn content(value: Option<&Value>, texts: &mut Vec<String>) {
    match value {
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(parts)) => {
            for part in parts {
                let kind = part.get("type").and_then(Value::as_str);
                if matches!(kind, Some("text" | "input_text" | "output_text")) {
                    string(part.get("text"), texts);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn texts(path: &str, body: Value) -> Vec<String> {
        extract_prompt(path, &body).expect("a prompt path").texts
    }

    // ---- extraction ----

    #[test]
    fn chat_collects_every_message_and_text_parts() {
        let body = json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be nice"},
                {"role": "developer", "content": [{"type": "text", "text": "dev"}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "look at this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                    {"type": "input_text", "text": "and this"},
                ]},
                {"role": "assistant", "content": "earlier answer"},
                {"role": "assistant", "content": null, "tool_calls": []},
                {"role": "tool", "tool_call_id": "1", "content": "tool says"},
            ]
        });
        assert_eq!(
            texts("/v1/chat/completions", body),
            [
                "be nice",
                "dev",
                "look at this",
                "and this",
                "earlier answer",
                "tool says"
            ]
        );
    }

    #[test]
    fn completions_prompt_string_array_and_token_ids() {
        let path = "/v1/completions";
        assert_eq!(texts(path, json!({"prompt": "once upon"})), ["once upon"]);
        assert_eq!(texts(path, json!({"prompt": ["a", "b"]})), ["a", "b"]);
        assert!(texts(path, json!({"prompt": [1, 2, 3]})).is_empty());
        assert!(texts(path, json!({"prompt": [[1, 2], [3]]})).is_empty());
        assert!(texts(path, json!({"model": "m"})).is_empty());
    }

    #[test]
    fn images_speech_and_embeddings() {
        let image = json!({"prompt": "a cat", "n": 1});
        assert_eq!(texts("/v1/images/generations", image.clone()), ["a cat"]);
        assert_eq!(texts("/v1/images/edits", image), ["a cat"]);
        assert_eq!(
            texts(
                "/v1/audio/speech",
                json!({"input": "hello", "voice": "alloy", "instructions": "whisper"})
            ),
            ["hello", "whisper"]
        );
        let path = "/v1/embeddings";
        assert_eq!(texts(path, json!({"input": "x"})), ["x"]);
        assert_eq!(texts(path, json!({"input": ["x", "y"]})), ["x", "y"]);
        assert!(texts(path, json!({"input": [[1, 2]]})).is_empty());
    }

    #[test]
    fn responses_string_messages_and_parts() {
        let path = "/v1/responses";
        assert_eq!(texts(path, json!({"input": "hi"})), ["hi"]);
        let body = json!({
            "instructions": "sys",
            "input": [
                {"role": "user", "content": "plain"},
                {"role": "user", "content": [
                    {"type": "input_text", "text": "part"},
                    {"type": "input_image", "image_url": "https://x/y.png"},
                    {"type": "input_file", "file_id": "f"},
                ]},
                {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "said"}]},
                {"type": "function_call_output", "call_id": "c", "output": "result"},
            ]
        });
        assert_eq!(
            texts(path, body),
            ["sys", "plain", "part", "said", "result"]
        );
    }

    #[test]
    fn other_paths_carry_no_prompt_and_query_strings_are_ignored() {
        assert!(extract_prompt("/v1/models", &json!({})).is_none());
        assert!(extract_prompt("/health", &json!({"prompt": "x"})).is_none());
        assert!(extract_prompt("/v1/audio/transcriptions", &json!({"prompt": "x"})).is_none());
        assert_eq!(
            texts("/v1/completions/?stream=true", json!({"prompt": "x"})),
            ["x"]
        );
        // A body of the wrong shape is an empty prompt, not a panic.
        assert!(texts("/v1/chat/completions", json!([1, 2])).is_empty());
        assert!(texts("/v1/chat/completions", json!({"messages": "x"})).is_empty());
    }

    // ---- request bodies ----

    async fn read(canonical: &str, content_type: &str, body: &str) -> Option<Vec<String>> {
        let body = Bytes::from(body.to_owned());
        let prompt = read_prompt(canonical, content_type, &body).await.unwrap();
        prompt.map(|p| p.texts)
    }

    async fn unreadable(content_type: &str, body: &str) -> String {
        let body = Bytes::from(body.to_owned());
        let error = read_prompt("/v1/images/edits", content_type, &body).await;
        error.unwrap_err().to_string()
    }

    #[tokio::test]
    async fn bodies_are_read_as_json_with_or_without_the_v1_prefix() {
        let body = r#"{"prompt": "a cat"}"#;
        let expected = Some(vec!["a cat".to_string()]);
        assert_eq!(
            read("/v1/completions", "application/json", body).await,
            expected
        );
        assert_eq!(read("/completions", "", body).await, expected);
        assert_eq!(read("/v1/models", "application/json", "{}").await, None);
    }

    #[tokio::test]
    async fn forms_give_their_text_fields_whatever_the_endpoint() {
        let form = "--XyZ\r\n\
                    content-disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\
                    content-type: image/png\r\n\r\n\
                    PNG\r\n\
                    --XyZ\r\n\
                    content-disposition: form-data; name=\"prompt\"\r\n\r\n\
                    a cat\r\n\
                    --XyZ\r\n\
                    content-disposition: form-data; name=\"instructions\"\r\n\r\n\
                    in red\r\n\
                    --XyZ--\r\n";
        let expected = Some(vec!["a cat".to_string(), "in red".to_string()]);
        let content_type = "Multipart/Form-Data; boundary=XyZ";
        assert_eq!(read("/v1/images/edits", content_type, form).await, expected);
        assert_eq!(read("/v1/models", content_type, form).await, expected);
    }

    #[tokio::test]
    async fn unreadable_bodies_say_why() {
        let e = unreadable("multipart/form-data", "").await;
        assert!(
            e.starts_with("the multipart request has no usable boundary: "),
            "{e}"
        );
        let e = unreadable("multipart/form-data; boundary=XyZ", "not a form").await;
        assert!(
            e.starts_with("the multipart request cannot be read: "),
            "{e}"
        );
        let e = unreadable("application/json", "{").await;
        assert!(e.starts_with("the request body is not valid JSON: "), "{e}");
    }

    // ---- robustness ----

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "messages",
            "content",
            "type",
            "text",
            "prompt",
            "input",
            "role",
            "instructions",
            "output",
            "input_text",
            "x",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(vec![
                "text",
                "input_text",
                "output_text",
                "function_call_output"
            ])
            .prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.into(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn extraction_never_panics(
            path in prop::sample::select(vec![
                "/v1/chat/completions", "/v1/completions", "/v1/images/generations",
                "/v1/images/edits", "/v1/audio/speech", "/v1/embeddings", "/v1/responses",
                "/v1/models", "", "?",
            ]),
            body in arbitrary_json(),
        ) {
            let _ = extract_prompt(path, &body);
        }
    }
}
