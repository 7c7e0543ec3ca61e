//! Labels on text completions of OpenAI-compatible APIs (`/v1/chat/completions`,
//! `/v1/completions`): the visible notice (GB 45438-2025 clause 4, explicit labels on text) and
//! the implicit record as a top-level `aigc` object, for whole JSON responses and for
//! server-sent-event streams.
//!
//! A stream is rewritten event by event as it passes: only the events that gain the notice are
//! re-serialized, the others are forwarded byte for byte, and at most one partial event is held.
//! The anti-tamper value covers each choice's text as the user receives it (notice included),
//! hashed incrementally, so a long stream costs no more memory than a short one.
//!
//! In a stream the record never travels in a chunk of its own: clients such as the official
//! OpenAI SDKs read `choices[0]` of every chunk but the usage chunk, and take the usage from
//! the last chunk. It is added, as a top-level `aigc` object, to chunks the client expects
//! anyway: the chunk in which the last open choice finishes (`finish_reason`), and the usage
//! chunk (`choices: []` with `usage`, sent last with `stream_options.include_usage`). Each copy
//! covers the text delivered up to and including its chunk. Only a stream that ends without
//! either (cut short, or text after them) gets a closing chunk, and that one has a choice
//! entry (an empty delta) like every other chunk.
//!
//! Chat completions may carry two more kinds of generated output besides `content`:
//!
//! - Reasoning text (`reasoning_content` of a choice's `message`, or of its streamed `delta`)
//!   is generated text that clients show to users, so the record covers it: after the content
//!   parts (one per choice, by index) come the reasoning parts, one per choice whose reasoning
//!   is not empty, by index. A response without reasoning has exactly the parts it always had.
//!   The visible notice stays in `content`, and reasoning passes unchanged.
//! - Tool-call arguments (`tool_calls[].function.arguments`) are machine-readable input for the
//!   client's own code, not text shown to users: they pass unchanged and the record does not
//!   cover them, as it does not cover any other field of a choice.
//!
//! Neither is checked by the input-safety rules: those read what the client sends, not what the
//! model generates.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::record::{AigcRecord, PartDigest, PartHasher, Sealer, part_digest};

mod responses;
pub use responses::{ResponsesStreamLabeler, read_responses_stream};

/// Where the visible notice goes in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Position {
    /// Before the generated text (in a stream: in the first content chunk).
    Start,
    /// After the generated text (in a stream: in the chunk that finishes the choice).
    End,
}

/// The two text APIs, which keep the generated text in different fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextApi {
    /// `/v1/chat/completions`: `choices[].message.content`, streamed as `choices[].delta.content`.
    Chat,
    /// `/v1/completions`: `choices[].text`.
    Completion,
}

impl TextApi {
    pub fn for_path(path: &str) -> Option<TextApi> {
        match path {
            "/v1/chat/completions" => Some(TextApi::Chat),
            "/v1/completions" => Some(TextApi::Completion),
            _ => None,
        }
    }
}

/// The visible notice and where it goes.
#[derive(Clone, Debug)]
pub struct Notice {
    pub text: String,
    pub position: Position,
}

/// Between the notice and the generated text.
const SEPARATOR: &str = "\n\n";

impl Notice {
    fn wrap(&self, content: &str) -> String {
        match self.position {
            Position::Start => format!("{}{SEPARATOR}{content}", self.text),
            Position::End => format!("{content}{SEPARATOR}{}", self.text),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("the model server's response is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("the model server's response has no `choices` array")]
    NoChoices,
    #[error("the model server's response has no `output` array")]
    NoOutput,
    #[error("a server-sent event is larger than {0} bytes")]
    EventTooLarge(usize),
}

/// Where a choice's text sits in a whole response or in a stream chunk.
fn text_slot(api: TextApi, choice: &mut Value, streamed: bool) -> Option<&mut Value> {
    let choice = choice.as_object_mut()?;
    match api {
        TextApi::Completion => Some(choice.entry("text").or_insert(Value::Null)),
        TextApi::Chat => {
            let key = if streamed { "delta" } else { "message" };
            if streamed {
                // A finishing chunk may have no delta, or a null one: the notice needs one.
                let delta = choice.entry(key).or_insert(Value::Null);
                if delta.is_null() {
                    *delta = Value::Object(Map::new());
                }
            }
            let holder = choice.get_mut(key)?.as_object_mut()?;
            Some(holder.entry("content").or_insert(Value::Null))
        }
    }
}

fn choice_index(choice: &Value, position: usize) -> u64 {
    choice
        .get("index")
        .and_then(Value::as_u64)
        .unwrap_or(position as u64)
}

/// Labels a whole (non-streamed) completion: every choice's text gains the notice, the
/// response gains a top-level `aigc` object. Returns the new body and the record.
pub fn label_json(
    api: TextApi,
    body: &[u8],
    notice: Option<&Notice>,
    sealer: &Sealer,
    produce_id: &str,
) -> Result<(Vec<u8>, AigcRecord), TextError> {
    let mut response: Value = serde_json::from_slice(body).map_err(TextError::NotJson)?;
    let choices = response
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .ok_or(TextError::NoChoices)?;
    for choice in choices.iter_mut() {
        if let (Some(notice), Some(slot)) = (notice, text_slot(api, choice, false))
            && let Value::String(content) = &*slot
        {
            *slot = Value::String(notice.wrap(content));
        }
    }
    let parts = json_parts(api, &response).ok_or(TextError::NoChoices)?;
    seal_into(response, sealer, produce_id, parts)
}

/// Adds the record over `parts` to a whole response as its `aigc` object; returns the new body.
fn seal_into(
    mut response: Value,
    sealer: &Sealer,
    produce_id: &str,
    parts: Vec<PartDigest>,
) -> Result<(Vec<u8>, AigcRecord), TextError> {
    let record = sealer.seal(produce_id, &parts);
    if let Some(object) = response.as_object_mut() {
        object.insert("aigc".to_string(), record_value(&record));
    }
    let body = serde_json::to_vec(&response).map_err(TextError::NotJson)?;
    Ok((body, record))
}

/// A choice's text in a whole response, if it has one.
fn whole_text(api: TextApi, choice: &Value) -> Option<&str> {
    match api {
        TextApi::Completion => choice.get("text"),
        TextApi::Chat => choice.pointer("/message/content"),
    }?
    .as_str()
}

/// A choice's reasoning text in a whole chat completion, if it has any.
fn whole_reasoning(api: TextApi, choice: &Value) -> Option<&str> {
    match api {
        TextApi::Completion => None,
        TextApi::Chat => choice.pointer("/message/reasoning_content")?.as_str(),
    }
    .filter(|r| !r.is_empty())
}

/// The record's parts: each choice's text by index, then each non-empty reasoning by index.
fn ordered_parts(
    texts: BTreeMap<u64, PartDigest>,
    reasoning: BTreeMap<u64, PartDigest>,
) -> Vec<PartDigest> {
    texts.into_values().chain(reasoning.into_values()).collect()
}

fn record_value(record: &AigcRecord) -> Value {
    serde_json::to_value(record).expect("a record of strings always converts")
}

/// The text parts of a labeled completion, recomputed by a verifier from a whole response.
pub fn json_parts(api: TextApi, response: &Value) -> Option<Vec<PartDigest>> {
    let choices = response.get("choices")?.as_array()?;
    let mut parts = BTreeMap::new();
    let mut reasoning = BTreeMap::new();
    for (position, choice) in choices.iter().enumerate() {
        let index = choice_index(choice, position);
        let text = whole_text(api, choice).unwrap_or_default();
        parts.insert(index, part_digest(text.as_bytes()));
        if let Some(thought) = whole_reasoning(api, choice) {
            reasoning.insert(index, part_digest(thought.as_bytes()));
        }
    }
    Some(ordered_parts(parts, reasoning))
}

/// The `output_text` parts of a Responses API response (`/v1/responses`), in order.
fn output_texts(response: &mut Value) -> Option<Vec<&mut Value>> {
    let output = response.get_mut("output")?.as_array_mut()?;
    Some(
        output
            .iter_mut()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .filter_map(|item| item.get_mut("content")?.as_array_mut())
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
            .filter_map(|part| part.get_mut("text"))
            .filter(|text| text.is_string())
            .collect(),
    )
}

/// Labels a whole Responses API response: the notice goes at the start of its first output
/// text or the end of its last; the record's parts are the output texts in order.
pub fn label_responses_json(
    body: &[u8],
    notice: Option<&Notice>,
    sealer: &Sealer,
    produce_id: &str,
) -> Result<(Vec<u8>, AigcRecord), TextError> {
    let mut response: Value = serde_json::from_slice(body).map_err(TextError::NotJson)?;
    let mut texts = output_texts(&mut response).ok_or(TextError::NoOutput)?;
    if let Some(notice) = notice {
        let target = match notice.position {
            Position::Start => texts.first_mut(),
            Position::End => texts.last_mut(),
        };
        if let Some(text) = target {
            let wrapped = notice.wrap(text.as_str().unwrap_or_default());
            **text = Value::String(wrapped);
        }
    }
    let parts: Vec<PartDigest> = texts
        .iter()
        .map(|t| part_digest(t.as_str().unwrap_or_default().as_bytes()))
        .collect();
    seal_into(response, sealer, produce_id, parts)
}

/// The parts of a labeled Responses API response, recomputed by a verifier.
pub fn responses_parts(response: &Value) -> Option<Vec<PartDigest>> {
    let mut response = response.clone();
    let texts = output_texts(&mut response)?;
    Some(
        texts
            .iter()
            .map(|t| part_digest(t.as_str().unwrap_or_default().as_bytes()))
            .collect(),
    )
}

/// What the rewriter needs to know of a stream chunk, read without building a `Value`.
#[derive(Deserialize)]
struct ChunkView<'a> {
    #[serde(default, borrow)]
    choices: Vec<ChoiceView<'a>>,
    id: Option<Value>,
    object: Option<Value>,
    created: Option<Value>,
    model: Option<Value>,
    system_fingerprint: Option<Value>,
    /// A record already in the chunk; the verifier reads it.
    aigc: Option<Value>,
    /// Present (not null) on the usage chunk.
    #[serde(default)]
    usage: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ChoiceView<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    delta: Option<DeltaView<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaView<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
}

impl ChoiceView<'_> {
    /// The reasoning text this chunk adds to the choice (chat completions only).
    fn reasoning(&self, api: TextApi) -> &str {
        match api {
            TextApi::Chat => self
                .delta
                .as_ref()
                .and_then(|d| d.reasoning_content.as_deref())
                .unwrap_or_default(),
            TextApi::Completion => "",
        }
    }
}

/// What one choice of a chunk becomes.
struct Plan<'a> {
    position: usize,
    index: u64,
    /// The text as the model server sent it; borrowed, so a chunk left as it is costs no copy.
    original: &'a str,
    delivered: Cow<'a, str>,
    /// Reasoning text, passed on unchanged.
    reasoning: &'a str,
    opens: bool,
    finishes: bool,
    start_notice: bool,
    end_notice: bool,
}

/// Per-choice progress of a stream.
#[derive(Default)]
struct ChoiceState {
    hasher: PartHasher,
    /// The reasoning text, once some that is not empty came.
    reasoning: Option<PartHasher>,
    /// The start notice was placed, or is not wanted.
    started: bool,
    /// The end notice was placed (or the choice finished).
    finished: bool,
    /// A text field was seen, so the end notice has something to follow.
    has_text: bool,
    /// Its `finish_reason` came.
    done: bool,
}

/// Rewrites a server-sent-event stream of completion chunks as it passes.
pub struct StreamLabeler {
    api: TextApi,
    notice: Option<Notice>,
    sealer: Sealer,
    produce_id: String,
    max_event: usize,
    pending: BytesMut,
    /// How much of `pending` is known to hold no complete event.
    scanned: usize,
    choices: BTreeMap<u64, ChoiceState>,
    /// `id`, `object`, `created`, `model` of the first chunk, for a closing chunk.
    envelope: Map<String, Value>,
    /// The record last sent.
    sealed: Option<AigcRecord>,
    /// Text (or a choice) came after the record last sent, which does not cover it.
    dirty: bool,
}

impl StreamLabeler {
    pub fn new(
        api: TextApi,
        notice: Option<Notice>,
        sealer: Sealer,
        produce_id: String,
        max_event: usize,
    ) -> Self {
        Self {
            api,
            notice,
            sealer,
            produce_id,
            max_event,
            pending: BytesMut::new(),
            scanned: 0,
            choices: BTreeMap::new(),
            envelope: Map::new(),
            sealed: None,
            dirty: false,
        }
    }

    /// The record last sent (the final one, once the stream ended).
    pub fn record(&self) -> Option<&AigcRecord> {
        self.sealed.as_ref()
    }

    /// Feeds bytes from the model server; returns what to send on (maybe empty).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Bytes, TextError> {
        self.pending.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        loop {
            // Resume where the last search stopped (less the 3 bytes a separator could straddle),
            // so an event arriving in many small pieces is scanned once, not once per piece.
            let from = self.scanned.saturating_sub(3);
            let Some((end, sep)) = event_end(&self.pending[from..]) else {
                self.scanned = self.pending.len();
                break;
            };
            let event = self.pending.split_to(from + end + sep).freeze();
            self.scanned = 0;
            self.event(&event[..from + end], &event[from + end..], &mut out);
        }
        if self.pending.len() > self.max_event {
            return Err(TextError::EventTooLarge(self.max_event));
        }
        Ok(out.freeze())
    }

    /// The stream from the model server broke off: the bytes of an event not yet complete, as
    /// they came. No record is added: the answer is incomplete.
    pub fn abort(&mut self) -> Bytes {
        self.scanned = 0;
        std::mem::take(&mut self.pending).freeze()
    }

    /// The stream from the model server ended: flushes a partial event and, if the stream had
    /// no `[DONE]`, closes every choice and emits the record.
    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if !self.pending.is_empty() {
            let event = std::mem::take(&mut self.pending).freeze();
            self.event(&event, b"\n\n", &mut out);
        }
        if self.needs_closing() {
            self.close(&mut out);
        }
        out.freeze()
    }

    /// No record was sent, or text came after the last one.
    fn needs_closing(&self) -> bool {
        self.sealed.is_none() || self.dirty
    }

    fn event(&mut self, event: &[u8], separator: &[u8], out: &mut BytesMut) {
        let Some(data) = event_data(event) else {
            // Comments, `event:`/`id:`/`retry:`-only events: not ours to touch.
            out.extend_from_slice(event);
            out.extend_from_slice(separator);
            return;
        };
        if data.trim() == "[DONE]" {
            if self.needs_closing() {
                self.close(out);
            }
            out.extend_from_slice(event);
            out.extend_from_slice(separator);
            return;
        }
        match self.chunk(&data) {
            Some(rewritten) => write_rewritten(out, event, &rewritten),
            None => out.extend_from_slice(event),
        }
        out.extend_from_slice(separator);
    }

    /// Tracks one chunk; returns its new JSON if the notice goes into it.
    fn chunk(&mut self, data: &str) -> Option<String> {
        let Ok(view) = serde_json::from_str::<ChunkView>(data) else {
            // Not a completion chunk (an error event, say): forwarded as it is.
            return None;
        };
        // First decide, for each choice, what the user should receive...
        let mut plans: Vec<Plan> = Vec::with_capacity(view.choices.len());
        for (position, choice) in view.choices.iter().enumerate() {
            let index = choice.index.unwrap_or(position as u64);
            let state = self.choices.get(&index);
            let text = match self.api {
                TextApi::Chat => choice.delta.as_ref().and_then(|d| d.content.as_deref()),
                TextApi::Completion => choice.text.as_deref(),
            };
            // A choice opens with its first text field, even an empty one; a tool call's null
            // content never opens it, as in a whole response.
            let opens = text.is_some();
            let finishes = choice.finish_reason.is_some();
            let original = text.unwrap_or_default();
            let mut plan = Plan {
                position,
                index,
                delivered: Cow::Borrowed(original),
                original,
                reasoning: choice.reasoning(self.api),
                opens,
                finishes,
                start_notice: false,
                end_notice: false,
            };
            if let Some(notice) = &self.notice {
                let started = state.is_some_and(|s| s.started);
                let finished = state.is_some_and(|s| s.finished);
                let has_text = state.is_some_and(|s| s.has_text);
                if notice.position == Position::Start && !started && opens {
                    plan.delivered = Cow::Owned(notice.wrap(&plan.delivered));
                    plan.start_notice = true;
                }
                if notice.position == Position::End && finishes && !finished && (has_text || opens)
                {
                    plan.delivered = Cow::Owned(notice.wrap(&plan.delivered));
                    plan.end_notice = true;
                }
            }
            plans.push(plan);
        }
        // The envelope is the same in every chunk of a stream: kept from the first that has one.
        if self.envelope.is_empty() {
            self.envelope = [
                ("id", view.id),
                ("object", view.object),
                ("created", view.created),
                ("model", view.model),
                ("system_fingerprint", view.system_fingerprint),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect();
        }
        // ...then write it, and only what was written counts: a chunk that cannot be rewritten
        // goes out as it came, and its notice waits for the next chunk or the end of the stream.
        let rewritten = if plans.iter().any(|p| p.start_notice || p.end_notice) {
            let rewritten = self.rewrite(data, &plans);
            if rewritten.is_none() {
                for plan in &mut plans {
                    plan.delivered = Cow::Borrowed(plan.original);
                    plan.start_notice = false;
                    plan.end_notice = false;
                }
            }
            rewritten
        } else {
            None
        };
        let wanted = |position| self.notice.as_ref().is_some_and(|n| n.position == position);
        let (start_wanted, end_wanted) = (wanted(Position::Start), wanted(Position::End));
        let finishes_any = plans.iter().any(|p| p.finishes);
        for plan in plans {
            let is_new = !self.choices.contains_key(&plan.index);
            let state = self.choices.entry(plan.index).or_default();
            if plan.opens && (plan.start_notice || !start_wanted) {
                state.started = true;
            }
            if plan.finishes && (plan.end_notice || !end_wanted || !(state.has_text || plan.opens))
            {
                state.finished = true;
            }
            if plan.opens {
                state.has_text = true;
            }
            if plan.finishes {
                state.done = true;
            }
            if !plan.delivered.is_empty() || is_new {
                self.dirty = true;
            }
            state.hasher.update(plan.delivered.as_bytes());
            if !plan.reasoning.is_empty() {
                state
                    .reasoning
                    .get_or_insert_default()
                    .update(plan.reasoning.as_bytes());
                self.dirty = true;
            }
        }
        // The record rides on the chunk that finishes the last open choice, and on the usage
        // chunk; the same record again unless text came in between.
        let usage_chunk = view.choices.is_empty() && view.usage.is_some();
        let finishing = finishes_any && self.choices.values().all(|c| c.done);
        if !(usage_chunk || finishing) {
            return rewritten;
        }
        let record = match (&self.sealed, self.dirty) {
            (Some(record), false) => record.clone(),
            _ => self.seal(),
        };
        let carrying = with_record(
            rewritten.as_deref().unwrap_or(data),
            &record,
            view.aigc.is_some(),
        );
        match carrying {
            Some(carrying) => {
                self.sealed = Some(record);
                self.dirty = false;
                Some(carrying)
            }
            // Not an object the record can be added to: the closing chunk carries it.
            None => rewritten,
        }
    }

    /// A record over the texts delivered so far.
    fn seal(&self) -> AigcRecord {
        let texts = self.choices.values().map(|s| s.hasher.clone().finish());
        let reasoning = self
            .choices
            .values()
            .filter_map(|s| Some(s.reasoning.clone()?.finish()));
        let parts: Vec<PartDigest> = texts.chain(reasoning).collect();
        self.sealer.seal(&self.produce_id, &parts)
    }

    /// The chunk with the planned texts in place, or `None` if it cannot be rewritten.
    fn rewrite(&self, data: &str, plans: &[Plan]) -> Option<String> {
        let mut value: Value = serde_json::from_str(data).ok()?;
        let choices = value.get_mut("choices")?.as_array_mut()?;
        for plan in plans.iter().filter(|p| p.start_notice || p.end_notice) {
            let slot = choices
                .get_mut(plan.position)
                .and_then(|c| text_slot(self.api, c, true))?;
            *slot = Value::String(plan.delivered.to_string());
        }
        serde_json::to_string(&value).ok()
    }

    /// The closing chunk of a stream that sent no record, or text after it: the end notices no
    /// finishing chunk carried, and the record. It has a choice entry like every other chunk.
    fn close(&mut self, out: &mut BytesMut) {
        let mut closing = Vec::new();
        if let Some(notice) = self.notice.as_ref().filter(|n| n.position == Position::End) {
            for (index, state) in self.choices.iter_mut() {
                if !state.finished && state.has_text {
                    let text = format!("{SEPARATOR}{}", notice.text);
                    state.hasher.update(text.as_bytes());
                    state.finished = true;
                    closing.push(choice_chunk(self.api, *index, &text));
                }
            }
        }
        if closing.is_empty() {
            let index = self.choices.keys().next().copied().unwrap_or(0);
            self.choices.entry(index).or_default();
            closing.push(choice_chunk(self.api, index, ""));
        }
        let record = self.seal();
        let mut chunk = Value::Object(self.envelope.clone());
        chunk["choices"] = Value::Array(closing);
        chunk["aigc"] = record_value(&record);
        write_event(out, &chunk);
        self.sealed = Some(record);
        self.dirty = false;
    }
}

/// The chunk's JSON with the record added as its top-level `aigc` object, on one line. Added as
/// text, so a chunk is not rebuilt (nor its key order changed) to carry it; rebuilt only when it
/// already has an `aigc` of its own to replace. `None` if `data` is not a JSON object.
fn with_record(data: &str, record: &AigcRecord, replace: bool) -> Option<String> {
    if replace {
        let mut value: Value = serde_json::from_str(data).ok()?;
        value
            .as_object_mut()?
            .insert("aigc".into(), record_value(record));
        return serde_json::to_string(&value).ok();
    }
    let inner = data.trim().strip_prefix('{')?.strip_suffix('}')?;
    let comma = if inner.trim().is_empty() { "" } else { "," };
    let joined = format!("{{{inner}{comma}\"aigc\":{}}}", record.to_json());
    // Line breaks in valid JSON are whitespace between tokens: one `data:` line.
    Some(if joined.contains(['\r', '\n']) {
        joined.replace(['\r', '\n'], " ")
    } else {
        joined
    })
}

/// A chunk entry that adds `text` to choice `index`.
fn choice_chunk(api: TextApi, index: u64, text: &str) -> Value {
    match api {
        TextApi::Chat if text.is_empty() => serde_json::json!({
            "index": index, "delta": {}, "finish_reason": null
        }),
        TextApi::Chat => serde_json::json!({
            "index": index, "delta": {"content": text}, "finish_reason": null
        }),
        TextApi::Completion => serde_json::json!({
            "index": index, "text": text, "finish_reason": null
        }),
    }
}

/// The event with its data replaced: its other fields (`event:`, `id:`, comments) stay where
/// they were, the new data takes the place of the first `data:` line.
fn write_rewritten(out: &mut BytesMut, event: &[u8], data: &str) {
    let text = String::from_utf8_lossy(event);
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut written = false;
    let mut first = true;
    for line in text.lines() {
        let is_data = line.starts_with("data:");
        if is_data && written {
            continue;
        }
        if !first {
            out.extend_from_slice(newline.as_bytes());
        }
        first = false;
        if is_data {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(data.as_bytes());
            written = true;
        } else {
            out.extend_from_slice(line.as_bytes());
        }
    }
}

fn write_event(out: &mut BytesMut, value: &Value) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(value.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// The end of the first complete event in `buf` and the length of its blank-line separator.
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 1 < buf.len() {
        match &buf[i..] {
            [b'\n', b'\n', ..] => return Some((i, 2)),
            [b'\r', b'\n', b'\r', b'\n', ..] => return Some((i, 4)),
            _ => i += 1,
        }
    }
    None
}

/// The `data` of one event (several `data:` lines joined by newlines), if it has any.
fn event_data(event: &[u8]) -> Option<Cow<'_, str>> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data: Option<Cow<'_, str>> = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("data:") else {
            continue;
        };
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        match &mut data {
            Some(d) => {
                let d = d.to_mut();
                d.push('\n');
                d.push_str(rest);
            }
            None => data = Some(Cow::Borrowed(rest)),
        }
    }
    data
}

/// What a verifier reads back from a whole stream: the records and the choices' texts.
#[derive(Debug, Default)]
pub struct StreamTranscript {
    /// The last record of the stream.
    pub record: Option<AigcRecord>,
    /// Every record, with the parts of the text delivered up to and including its chunk.
    pub records: Vec<(AigcRecord, Vec<PartDigest>)>,
    pub texts: BTreeMap<u64, String>,
    /// The choices' reasoning texts, for those that have any.
    pub reasoning: BTreeMap<u64, String>,
    pub events: usize,
    pub done: bool,
}

impl StreamTranscript {
    pub fn parts(&self) -> Vec<PartDigest> {
        let texts = self.texts.values();
        let reasoning = self.reasoning.values().filter(|r| !r.is_empty());
        texts
            .chain(reasoning)
            .map(|t| part_digest(t.as_bytes()))
            .collect()
    }
}

/// Reads a complete stream (as a client received it).
pub fn read_stream(api: TextApi, body: &[u8]) -> StreamTranscript {
    let mut transcript = StreamTranscript::default();
    let mut rest = body;
    loop {
        let (event, next) = match event_end(rest) {
            Some((end, sep)) => (&rest[..end], &rest[end + sep..]),
            None => (rest, &rest[rest.len()..]),
        };
        if let Some(data) = event_data(event) {
            transcript.events += 1;
            if data.trim() == "[DONE]" {
                transcript.done = true;
            } else if let Ok(view) = serde_json::from_str::<ChunkView>(&data) {
                // Read exactly as the labeler read it, so both count the same text.
                for (position, choice) in view.choices.iter().enumerate() {
                    let index = choice.index.unwrap_or(position as u64);
                    let text = match api {
                        TextApi::Chat => choice.delta.as_ref().and_then(|d| d.content.as_deref()),
                        TextApi::Completion => choice.text.as_deref(),
                    };
                    let entry = transcript.texts.entry(index).or_default();
                    entry.push_str(text.unwrap_or_default());
                    let reasoning = choice.reasoning(api);
                    if !reasoning.is_empty() {
                        transcript
                            .reasoning
                            .entry(index)
                            .or_default()
                            .push_str(reasoning);
                    }
                }
                // A record covers its own chunk's text.
                if let Some(record) = view.aigc {
                    let record = serde_json::from_value::<AigcRecord>(record).ok();
                    if let Some(record) = &record {
                        transcript
                            .records
                            .push((record.clone(), transcript.parts()));
                    }
                    transcript.record = record;
                }
            }
        }
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    transcript
}

#[cfg(test)]
mod tests;
