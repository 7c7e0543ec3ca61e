use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::record::{Integrity, Sealer};

const NOTICE: &str = "本内容由人工智能生成";

fn sealer() -> Sealer {
    Sealer::new("provider-1", b"0123456789abcdef".to_vec())
}

fn notice(position: Position) -> Notice {
    Notice {
        text: NOTICE.to_string(),
        position,
    }
}

fn chat_response() -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hello there."}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": null, "tool_calls": []}, "finish_reason": "tool_calls"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    })
}

#[test]
fn whole_chat_response_gets_the_notice_once_and_a_verifiable_record() {
    let body = serde_json::to_vec(&chat_response()).unwrap();
    let (labeled, record) = label_json(
        TextApi::Chat,
        &body,
        Some(&notice(Position::Start)),
        &sealer(),
        "p-1",
    )
    .unwrap();
    let labeled: Value = serde_json::from_slice(&labeled).unwrap();
    let content = labeled["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    assert_eq!(content, format!("{NOTICE}\n\nHello there."));
    assert_eq!(labeled.to_string().matches(NOTICE).count(), 1);
    // A tool call has no text to label and stays as it was.
    assert_eq!(labeled["choices"][1]["message"]["content"], Value::Null);
    assert_eq!(labeled["usage"], chat_response()["usage"]);
    let embedded: AigcRecord = serde_json::from_value(labeled["aigc"].clone()).unwrap();
    assert_eq!(embedded, record);
    assert_eq!(embedded.label, "1");
    assert_eq!(embedded.produce_id, "p-1");
    let parts = json_parts(TextApi::Chat, &labeled).unwrap();
    assert_eq!(sealer().check(&embedded, &parts), Integrity::Intact);

    // Editing the delivered text breaks the seal.
    let mut edited = labeled.clone();
    edited["choices"][0]["message"]["content"] = json!("Hello there.");
    let parts = json_parts(TextApi::Chat, &edited).unwrap();
    assert_eq!(sealer().check(&embedded, &parts), Integrity::Tampered);
}

#[test]
fn whole_completion_gets_the_notice_at_the_end() {
    let body = json!({"id": "c", "object": "text_completion", "choices": [{"index": 0, "text": "Once upon", "finish_reason": "length"}]});
    let (labeled, record) = label_json(
        TextApi::Completion,
        body.to_string().as_bytes(),
        Some(&notice(Position::End)),
        &sealer(),
        "p-2",
    )
    .unwrap();
    let labeled: Value = serde_json::from_slice(&labeled).unwrap();
    assert_eq!(
        labeled["choices"][0]["text"],
        json!(format!("Once upon\n\n{NOTICE}"))
    );
    let parts = json_parts(TextApi::Completion, &labeled).unwrap();
    assert_eq!(sealer().check(&record, &parts), Integrity::Intact);
}

#[test]
fn without_a_notice_only_the_record_is_added() {
    let body = serde_json::to_vec(&chat_response()).unwrap();
    let (labeled, _) = label_json(TextApi::Chat, &body, None, &sealer(), "p").unwrap();
    let labeled: Value = serde_json::from_slice(&labeled).unwrap();
    assert_eq!(
        labeled["choices"][0]["message"]["content"],
        json!("Hello there.")
    );
    assert!(labeled["aigc"].is_object());
}

#[test]
fn responses_that_are_not_completions_are_errors() {
    for body in [&b"not json"[..], b"[1,2]", b"{\"data\": []}"] {
        assert!(
            label_json(TextApi::Chat, body, None, &sealer(), "p").is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

fn chat_stream(pieces: &[&str], finish: bool, done: bool) -> String {
    let mut out = String::from(": keep-alive\n\n");
    let head = json!({"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]});
    out.push_str(&format!("data: {head}\n\n"));
    for piece in pieces {
        let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    if finish {
        let last = json!({"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        out.push_str(&format!("data: {last}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out
}

fn run(labeler: &mut StreamLabeler, input: &[u8], split: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in input.chunks(split.max(1)) {
        out.extend_from_slice(&labeler.push(piece).unwrap());
    }
    out.extend_from_slice(&labeler.finish());
    out
}

fn labeler(api: TextApi, position: Position) -> StreamLabeler {
    StreamLabeler::new(
        api,
        Some(notice(position)),
        sealer(),
        "s-1".to_string(),
        1 << 20,
    )
}

/// The stream carries a record, and it matches the texts as delivered.
fn assert_intact(transcript: &StreamTranscript) {
    let record = transcript.record.as_ref().expect("a record event");
    assert_eq!(
        sealer().check(record, &transcript.parts()),
        Integrity::Intact
    );
}

/// Every event of a stream is a comment, `[DONE]` or a JSON object.
fn assert_valid_stream(out: &[u8]) {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with("\n\n"), "{text:?}");
    for event in text.trim_end().split("\n\n") {
        if event.starts_with(':') {
            continue;
        }
        let data = event
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("{event:?}"));
        if data != "[DONE]" {
            let value: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
            assert!(value.is_object());
        }
    }
}

#[test]
fn a_stream_gets_the_notice_in_its_first_content_chunk_and_the_record_before_done() {
    let input = chat_stream(&["Hel", "lo"], true, true);
    let out = run(
        &mut labeler(TextApi::Chat, Position::Start),
        input.as_bytes(),
        4096,
    );
    assert_valid_stream(&out);
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.matches(NOTICE).count(), 1);
    assert!(text.starts_with(": keep-alive\n\n"));
    let transcript = read_stream(TextApi::Chat, &out);
    assert!(transcript.done);
    assert_eq!(transcript.texts[&0], format!("{NOTICE}\n\nHello"));
    assert_intact(&transcript);
    // The record rides on the chunk that finishes the choice: no chunk is added.
    let events: Vec<&str> = text.trim_end().split("\n\n").collect();
    assert_eq!(events.len(), input.trim_end().split("\n\n").count());
    assert_eq!(events[events.len() - 1], "data: [DONE]");
    let finishing = events[events.len() - 2];
    assert!(
        finishing.contains("\"finish_reason\":\"stop\""),
        "{finishing}"
    );
    assert!(finishing.contains("\"aigc\""), "{finishing}");
    assert_eq!(text.matches("\"aigc\"").count(), 1);
    assert!(!text.contains("\"choices\":[]"), "{text}");
}

/// The events of a stream as JSON, `[DONE]` as `None`; comments left out.
fn chunks(out: &[u8]) -> Vec<Option<Value>> {
    let text = std::str::from_utf8(out).unwrap();
    text.trim_end()
        .split("\n\n")
        .filter(|e| !e.starts_with(':'))
        .map(|e| {
            let data = e.strip_prefix("data: ").unwrap();
            (data != "[DONE]").then(|| serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[test]
fn with_usage_the_record_rides_the_finishing_and_the_usage_chunk_which_stays_last() {
    let usage = json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7});
    let envelope = |choices: Value, usage: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": choices, "usage": usage})
    };
    let events = [
        envelope(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            Value::Null,
        ),
        envelope(
            json!([{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]),
            Value::Null,
        ),
        envelope(
            json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            Value::Null,
        ),
        envelope(json!([]), usage.clone()),
    ];
    let mut input: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    input.push_str("data: [DONE]\n\n");
    for position in [Position::Start, Position::End] {
        let out = run(&mut labeler(TextApi::Chat, position), input.as_bytes(), 7);
        let chunks = chunks(&out);
        assert_eq!(chunks.len(), 5, "no chunk added");
        assert_eq!(chunks[4], None, "[DONE] last");
        let usage_chunk = chunks[3].as_ref().unwrap();
        assert_eq!(usage_chunk["usage"], usage, "the usage chunk stays last");
        assert_eq!(usage_chunk["choices"], json!([]));
        let finishing = chunks[2].as_ref().unwrap();
        assert_eq!(finishing["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            finishing["aigc"], usage_chunk["aigc"],
            "the same record twice"
        );
        for chunk in &chunks[..3] {
            let chunk = chunk.as_ref().unwrap();
            assert!(!chunk["choices"].as_array().unwrap().is_empty(), "{chunk}");
        }
        assert!(chunks[0].as_ref().unwrap().get("aigc").is_none());
        let transcript = read_stream(TextApi::Chat, &out);
        assert_eq!(transcript.records.len(), 2);
        assert_intact(&transcript);
    }
}

#[test]
fn with_several_choices_the_record_waits_for_the_last_to_finish() {
    let chunk = |index: u64, content: &str, finish: Option<&str>| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "choices": [{"index": index, "delta": {"content": content}, "finish_reason": finish}]})
        )
    };
    let input = [
        chunk(0, "a", None),
        chunk(1, "b", None),
        chunk(0, "", Some("stop")),
        chunk(1, "c", None),
        chunk(1, "", Some("length")),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let out = run(
        &mut labeler(TextApi::Chat, Position::End),
        input.as_bytes(),
        4096,
    );
    let chunks = chunks(&out);
    assert_eq!(chunks.len(), 6);
    let carrying: Vec<usize> = (0..5)
        .filter(|&i| chunks[i].as_ref().unwrap().get("aigc").is_some())
        .collect();
    assert_eq!(carrying, [4]);
    let transcript = read_stream(TextApi::Chat, &out);
    assert_eq!(transcript.texts[&0], format!("a\n\n{NOTICE}"));
    assert_eq!(transcript.texts[&1], format!("bc\n\n{NOTICE}"));
    assert_intact(&transcript);
}

#[test]
fn text_after_the_record_gets_a_record_of_its_own_in_a_chunk_with_a_choice() {
    let finished = json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]});
    let late = json!({"id": "c", "choices": [{"index": 0, "delta": {"content": " again"}, "finish_reason": null}]});
    let input = format!("data: {finished}\n\ndata: {late}\n\ndata: [DONE]\n\n");
    let mut labeler = StreamLabeler::new(TextApi::Chat, None, sealer(), "s".into(), 1 << 20);
    let out = run(&mut labeler, input.as_bytes(), 4096);
    let chunks = chunks(&out);
    assert_eq!(chunks.len(), 4);
    let closing = chunks[2].as_ref().unwrap();
    assert_eq!(
        closing["choices"],
        json!([{"index": 0, "delta": {}, "finish_reason": null}])
    );
    assert_ne!(closing["aigc"], chunks[0].as_ref().unwrap()["aigc"]);
    let transcript = read_stream(TextApi::Chat, &out);
    assert_eq!(transcript.texts[&0], "Hi again");
    assert_intact(&transcript);
}

#[test]
fn a_stream_gets_the_notice_in_the_finishing_chunk_at_the_end() {
    let input = chat_stream(&["Hel", "lo"], true, true);
    let out = run(
        &mut labeler(TextApi::Chat, Position::End),
        input.as_bytes(),
        4096,
    );
    assert_valid_stream(&out);
    let transcript = read_stream(TextApi::Chat, &out);
    assert_eq!(transcript.texts[&0], format!("Hello\n\n{NOTICE}"));
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.matches(NOTICE).count(), 1);
    // The notice sits in the chunk that carries finish_reason, not in a chunk of its own.
    let finishing = text
        .split("\n\n")
        .find(|e| e.contains("\"finish_reason\":\"stop\""))
        .unwrap();
    assert!(finishing.contains(NOTICE), "{finishing}");
    assert_intact(&transcript);
}

#[test]
fn a_stream_cut_short_still_ends_with_the_notice_and_the_record() {
    let input = chat_stream(&["Hel", "lo"], false, false);
    let out = run(
        &mut labeler(TextApi::Chat, Position::End),
        input.as_bytes(),
        4096,
    );
    assert_valid_stream(&out);
    let transcript = read_stream(TextApi::Chat, &out);
    assert!(!transcript.done);
    assert_eq!(transcript.texts[&0], format!("Hello\n\n{NOTICE}"));
    assert_intact(&transcript);
}

#[test]
fn completion_streams_are_labeled_per_choice() {
    let mut input = String::new();
    for (index, piece) in [(0, "a"), (1, "b"), (0, "c"), (1, "d")] {
        input.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "x", "object": "text_completion", "choices": [{"index": index, "text": piece, "finish_reason": null}]})
        ));
    }
    for index in [0, 1] {
        input.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "x", "object": "text_completion", "choices": [{"index": index, "text": "", "finish_reason": "stop"}]})
        ));
    }
    input.push_str("data: [DONE]\n\n");
    for position in [Position::Start, Position::End] {
        let out = run(
            &mut labeler(TextApi::Completion, position),
            input.as_bytes(),
            4096,
        );
        assert_valid_stream(&out);
        let transcript = read_stream(TextApi::Completion, &out);
        let expect = |text: &str| match position {
            Position::Start => format!("{NOTICE}\n\n{text}"),
            Position::End => format!("{text}\n\n{NOTICE}"),
        };
        assert_eq!(transcript.texts[&0], expect("ac"));
        assert_eq!(transcript.texts[&1], expect("bd"));
        assert_intact(&transcript);
    }
}

#[test]
fn crlf_separated_events_keep_their_separator() {
    let input = chat_stream(&["x"], true, true).replace("\n\n", "\r\n\r\n");
    let out = run(
        &mut labeler(TextApi::Chat, Position::Start),
        input.as_bytes(),
        4096,
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.matches(NOTICE).count(), 1);
    assert!(text.contains("data: [DONE]\r\n\r\n"));
    let transcript = read_stream(TextApi::Chat, &out);
    assert_eq!(transcript.texts[&0], format!("{NOTICE}\n\nx"));
    assert!(transcript.record.is_some());
}

#[test]
fn an_oversized_event_is_an_error_not_unbounded_memory() {
    let mut labeler = StreamLabeler::new(TextApi::Chat, None, sealer(), "s".into(), 64);
    assert!(labeler.push(&[b'a'; 32]).is_ok());
    assert!(matches!(
        labeler.push(&[b'a'; 40]),
        Err(TextError::EventTooLarge(64))
    ));
}

#[test]
fn events_that_are_not_chunks_pass_verbatim() {
    let input = "event: error\ndata: {\"error\": {\"message\": \"overloaded\"}}\n\nretry: 10\n\n";
    let mut labeler = labeler(TextApi::Chat, Position::Start);
    let out = labeler.push(input.as_bytes()).unwrap();
    assert_eq!(&out[..], input.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// However the model server's bytes are cut, the output is the same valid stream, the notice
    /// appears once, and the record verifies.
    #[test]
    fn any_split_and_content_gives_a_valid_labeled_stream(
        pieces in proptest::collection::vec("\\PC{0,12}", 1..6),
        split in 1usize..64,
        start in any::<bool>(),
        finish in any::<bool>(),
        done in any::<bool>(),
    ) {
        let position = if start { Position::Start } else { Position::End };
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let input = chat_stream(&refs, finish, done);
        let whole = run(&mut labeler(TextApi::Chat, position), input.as_bytes(), usize::MAX);
        let cut = run(&mut labeler(TextApi::Chat, position), input.as_bytes(), split);
        assert_valid_stream(&cut);
        // Only the ProduceID-independent parts can differ: the same ID was used, so all equal.
        prop_assert_eq!(&whole, &cut);
        let transcript = read_stream(TextApi::Chat, &cut);
        let text = &transcript.texts[&0];
        prop_assert_eq!(text.matches(NOTICE).count(), 1);
        let record = transcript.record.clone().unwrap();
        prop_assert_eq!(sealer().check(&record, &transcript.parts()), Integrity::Intact);
    }

    /// Arbitrary bytes never panic the rewriter.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), split in 1usize..32) {
        let mut labeler = labeler(TextApi::Chat, Position::End);
        for piece in bytes.chunks(split) {
            let _ = labeler.push(piece);
        }
        let _ = labeler.finish();
        prop_assert!(labeler.record().is_some());
    }
}

#[test]
fn a_finishing_chunk_without_a_delta_still_gets_the_end_notice() {
    for finishing in [
        json!({"id": "c", "choices": [{"index": 0, "finish_reason": "stop"}]}),
        json!({"id": "c", "choices": [{"index": 0, "delta": null, "finish_reason": "stop"}]}),
    ] {
        let head = json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]});
        let input = format!("data: {head}\n\ndata: {finishing}\n\ndata: [DONE]\n\n");
        let out = run(
            &mut labeler(TextApi::Chat, Position::End),
            input.as_bytes(),
            4096,
        );
        assert_valid_stream(&out);
        let transcript = read_stream(TextApi::Chat, &out);
        assert_eq!(transcript.texts[&0], format!("Hi\n\n{NOTICE}"));
        assert_intact(&transcript);
    }
}

#[test]
fn a_chunk_that_cannot_be_rewritten_passes_and_the_notice_comes_later() {
    // Nesting deeper than serde_json rebuilds: the view reads it, the rewrite cannot.
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let head = format!(
        r#"{{"id":"c","extra":{deep},"choices":[{{"index":0,"delta":{{"content":"Hi"}},"finish_reason":null}}]}}"#
    );
    let input = format!(
        "data: {head}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"id": "c", "choices": [{"index": 0, "delta": {"content": " there"}, "finish_reason": null}]})
    );
    let out = run(
        &mut labeler(TextApi::Chat, Position::Start),
        input.as_bytes(),
        4096,
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with(&format!("data: {head}\n\n")),
        "passed as it came"
    );
    assert_eq!(text.matches(NOTICE).count(), 1);
    let mut labeler = labeler(TextApi::Chat, Position::Start);
    let out = run(&mut labeler, input.as_bytes(), 4096);
    let record = labeler.record().cloned().unwrap();
    // The verifier reads the events as the labeler did: the notice came with the next chunk.
    let transcript = read_stream(TextApi::Chat, &out);
    assert_eq!(transcript.texts[&0], format!("Hi{NOTICE}\n\n there"));
    assert_eq!(
        sealer().check(&record, &transcript.parts()),
        Integrity::Intact
    );
}

#[test]
fn a_rewritten_event_keeps_its_other_fields() {
    let chunk = json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]});
    let input = format!("id: 7\nevent: chunk\ndata: {chunk}\n\ndata: [DONE]\n\n");
    let out = run(
        &mut labeler(TextApi::Chat, Position::Start),
        input.as_bytes(),
        3,
    );
    let text = String::from_utf8(out).unwrap();
    let first = text.split("\n\n").next().unwrap();
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "id: 7");
    assert_eq!(lines[1], "event: chunk");
    assert!(
        lines[2].starts_with("data: ") && lines[2].contains(NOTICE),
        "{first}"
    );
    assert_eq!(lines.len(), 3);
}

#[test]
fn a_responses_api_answer_gets_the_notice_in_its_output_text() {
    let body = json!({
        "id": "resp_1", "object": "response", "status": "completed",
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "First.", "annotations": []},
                {"type": "output_text", "text": "Second.", "annotations": []}
            ]}
        ]
    });
    for (position, expect) in [
        (
            Position::Start,
            [format!("{NOTICE}\n\nFirst."), "Second.".to_string()],
        ),
        (
            Position::End,
            ["First.".to_string(), format!("Second.\n\n{NOTICE}")],
        ),
    ] {
        let (labeled, record) = label_responses_json(
            body.to_string().as_bytes(),
            Some(&notice(position)),
            &sealer(),
            "r-1",
        )
        .unwrap();
        let labeled: Value = serde_json::from_slice(&labeled).unwrap();
        let content = &labeled["output"][1]["content"];
        assert_eq!(content[0]["text"], json!(expect[0]));
        assert_eq!(content[1]["text"], json!(expect[1]));
        assert_eq!(labeled["aigc"]["ProduceID"], "r-1");
        let parts = responses_parts(&labeled).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(sealer().check(&record, &parts), Integrity::Intact);
    }
    assert!(matches!(
        label_responses_json(b"{}", None, &sealer(), "r"),
        Err(TextError::NoOutput)
    ));
}
