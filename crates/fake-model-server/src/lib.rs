//! A fake OpenAI-compatible model server on loopback, for the labeling sidecar's tests and
//! benchmark: chat and text completions (JSON and streamed), images (PNG, JPEG, WebP, URL),
//! speech (WAV, MP3, Opus), an echo endpoint and a slow one. HTTP/1.1 and h2c.

#![allow(dead_code)]

use std::convert::Infallible;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::sync::Notify;

type Body = BoxBody<Bytes, Infallible>;

/// Knobs and counters shared with the test.
#[derive(Default)]
pub struct ServerState {
    /// Requests received, by any path.
    pub requests: AtomicUsize,
    /// When set, streams send their first events and wait for `release` before the rest.
    pub hold_streams: std::sync::atomic::AtomicBool,
    pub release: Notify,
    /// Size of each image in an images response: a `size` field (`WxH`) overrides it.
    pub image_side: AtomicUsize,
    /// Time the model "thinks" before answering (before the first event of a stream), in µs.
    pub service_time_us: std::sync::atomic::AtomicU64,
    /// Time between the events of a stream, in µs.
    pub chunk_interval_us: std::sync::atomic::AtomicU64,
    /// Images responses already made, by request: encoding is not what is being measured.
    images: std::sync::Mutex<std::collections::HashMap<String, Bytes>>,
}

pub struct ModelServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
}

impl ModelServer {
    pub async fn start() -> ModelServer {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(addr: SocketAddr) -> ModelServer {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState {
            image_side: AtomicUsize::new(64),
            ..ServerState::default()
        });
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, request).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ModelServer { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn json_response(value: Value) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .body(full(value.to_string()))
        .unwrap()
}

async fn handle(state: Arc<ServerState>, request: Request<Incoming>) -> Response<Body> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let streamed = input["stream"].as_bool().unwrap_or(false);
    let service = state.service_time_us.load(Ordering::Relaxed);
    if service > 0 && parts.uri.path().starts_with("/v1/") {
        tokio::time::sleep(Duration::from_micros(service)).await;
    }
    match parts.uri.path() {
        "/v1/chat/completions" if streamed => stream(state, chat_chunks(&input)),
        "/v1/chat/completions" if input["plain"] == true => Response::builder()
            .header("content-type", "text/plain")
            .body(full(
                json!({"id": "p", "choices": [{"index": 0, "message": {"role": "assistant", "content": reply(&input)}}]})
                    .to_string(),
            ))
            .unwrap(),
        "/v1/images/generations" if input["raw"] == true => Response::builder()
            .header("content-type", "image/png")
            .body(full(picture(120, 90, image::ImageFormat::Png)))
            .unwrap(),
        "/v1/chat/completions" => json_response(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply(&input)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        })),
        "/v1/completions" if streamed => stream(state, completion_chunks(&input)),
        "/v1/completions" => json_response(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "fake",
            "choices": [{"index": 0, "text": reply(&input), "finish_reason": "stop"}]
        })),
        "/v1/responses" if streamed => {
            let event = json!({"type": "response.output_text.delta", "delta": reply(&input)});
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(full(format!(
                    "event: response.output_text.delta\ndata: {event}\n\n"
                )))
                .unwrap()
        }
        "/v1/responses" => json_response(json!({
            "id": "resp_1", "object": "response", "status": "completed", "model": "fake",
            "output": [{"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": reply(&input), "annotations": []}
            ]}]
        })),
        "/v1/images/generations" => {
            let key = input.to_string();
            let cached = state.images.lock().unwrap().get(&key).cloned();
            let body = match cached {
                Some(body) => body,
                None => {
                    let body = images(&state, &input);
                    state.images.lock().unwrap().insert(key, body.clone());
                    body
                }
            };
            Response::builder()
                .header("content-type", "application/json")
                .body(full(body))
                .unwrap()
        }
        "/v1/audio/speech" => speech(&input),
        "/v1/embeddings" => {
            json_response(json!({"object": "list", "data": [{"embedding": [0.1, 0.2]}]}))
        }
        "/v1/models" => json_response(json!({"object": "list", "data": [{"id": "fake"}]})),
        "/echo" => {
            let mut response = Response::builder()
                .status(StatusCode::CREATED)
                .header("x-upstream", "yes")
                .header("x-seen-method", parts.method.as_str())
                .header(
                    "x-seen-uri",
                    parts.uri.path_and_query().map_or("", |p| p.as_str()),
                );
            for (name, value) in &parts.headers {
                if name.as_str().starts_with("x-") || name == "connection" || name == "keep-alive" {
                    response = response.header(format!("x-seen-{name}"), value);
                }
            }
            response.body(full(body)).unwrap()
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json_response(json!({"late": true}))
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full("not found"))
            .unwrap(),
    }
}

/// The model's answer: a fixed text, or `reply` from the request when the test wants one.
fn reply(input: &Value) -> String {
    input["reply"]
        .as_str()
        .unwrap_or("The capital of France is Paris.")
        .to_string()
}

fn pieces(input: &Value) -> Vec<String> {
    match input["pieces"].as_array() {
        Some(pieces) => pieces
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        None => ["The capital", " of France", " is Paris."]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

fn chat_chunks(input: &Value) -> Vec<String> {
    let mut chunks = vec![json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]})
    .to_string()];
    for piece in pieces(input) {
        chunks.push(
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]})
            .to_string(),
        );
    }
    chunks.push(
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fake",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        .to_string(),
    );
    chunks
}

fn completion_chunks(input: &Value) -> Vec<String> {
    let mut chunks = Vec::new();
    for piece in pieces(input) {
        chunks.push(
            json!({"id": "t", "object": "text_completion", "created": 1, "model": "fake",
            "choices": [{"index": 0, "text": piece, "finish_reason": null}]})
            .to_string(),
        );
    }
    chunks.push(
        json!({"id": "t", "object": "text_completion", "created": 1, "model": "fake",
        "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
        .to_string(),
    );
    chunks
}

/// Sends each chunk as its own server-sent event and body frame, then `[DONE]`. With
/// `hold_streams` set, only the first two events go out before the test releases the rest.
fn stream(state: Arc<ServerState>, chunks: Vec<String>) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
    let hold = state.hold_streams.load(Ordering::SeqCst);
    let interval = Duration::from_micros(state.chunk_interval_us.load(Ordering::Relaxed));
    tokio::spawn(async move {
        for (i, chunk) in chunks.iter().enumerate() {
            if hold && i == 2 {
                state.release.notified().await;
            }
            if i > 0 && !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            let event = Bytes::from(format!("data: {chunk}\n\n"));
            if tx.send(Ok(Frame::data(event))).await.is_err() {
                return;
            }
        }
        let _ = tx
            .send(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n"))))
            .await;
    });
    let body = StreamBody::new(tokio_stream(rx));
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(BodyExt::boxed(body))
        .unwrap()
}

fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A gradient image, so every pixel differs from its neighbours a little.
pub fn picture(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 7) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Noise does not compress: a `side`×`side` RGB PNG of it is about 3·side² bytes.
pub fn noisy_picture(side: u32) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn images(state: &ServerState, input: &Value) -> Bytes {
    let side = state.image_side.load(Ordering::SeqCst) as u32;
    let (width, height) = input["size"]
        .as_str()
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((side, side));
    let n = input["n"].as_u64().unwrap_or(1);
    let data: Vec<Value> = (0..n)
        .map(|_| match input["response_format"].as_str() {
            Some("url") => json!({"url": "https://images.example/1.png"}),
            _ => {
                let bytes = match input["output_format"].as_str() {
                    _ if input["noise"].as_bool() == Some(true) => noisy_picture(width),
                    Some("jpeg") => picture(width, height, image::ImageFormat::Jpeg),
                    Some("webp") => b"RIFF\x10\x00\x00\x00WEBPVP8 fake".to_vec(),
                    _ => picture(width, height, image::ImageFormat::Png),
                };
                json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(bytes)})
            }
        })
        .collect();
    Bytes::from(json!({"created": 1, "data": data}).to_string())
}

pub fn tone_wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..800i32 {
        writer
            .write_sample(((i * 37) % 2000 - 1000) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// A short MP3, the labeler's test fixture.
pub fn tone_mp3() -> Vec<u8> {
    include_bytes!("../../aigc-labeler/tests/fixtures/media/tone.mp3").to_vec()
}

fn speech(input: &Value) -> Response<Body> {
    let (kind, bytes) = match input["response_format"].as_str() {
        Some("wav") => ("audio/wav", tone_wav()),
        Some("opus") => ("audio/ogg", b"OggS\x00fake opus".to_vec()),
        _ => ("audio/mpeg", tone_mp3()),
    };
    Response::builder()
        .header("content-type", kind)
        .body(full(bytes))
        .unwrap()
}
