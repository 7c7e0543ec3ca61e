//! The reverse proxy: checks prompts, forwards to the model server, labels what comes back.
//!
//! Requests to the generation endpoints of an OpenAI-compatible API are read whole (bounded) so
//! their prompts can be checked; everything else streams through untouched. Responses that are
//! generated content are labeled: whole JSON, images and audio are read (bounded) and rewritten,
//! server-sent-event streams are rewritten chunk by chunk as they pass.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::draw::{Corner, Stamp};
use super::media::{self, Format};
use super::metrics::{Metrics, Modality, ModalityLabels, Outcome, ReasonLabels};
use super::record::{PartDigest, Sealer, new_produce_id};
use super::safety::{Moderation, Prompt, Reason, RuleSet, UnreadablePrompt, Verdict, read_prompt};
use super::text::{
    Notice, ResponsesStreamLabeler, StreamLabeler, TextApi, label_json, label_responses_json,
};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every request and response the proxy sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// Marks a response as AI-generated (value `1`).
pub const LABEL_HEADER: &str = "aigc-label";
/// The response's ProduceID.
pub const PRODUCE_ID_HEADER: &str = "aigc-produce-id";
/// Where the implicit label went: `embedded`, or `unsupported; format=…` when the format
/// cannot carry it.
pub const IMPLICIT_HEADER: &str = "aigc-implicit-label";

/// Largest single server-sent event held while rewriting a stream.
const MAX_EVENT: usize = 1 << 20;

/// The model server.
pub struct Upstream {
    client: Client<HttpConnector, Body>,
    base: Uri,
    http2: bool,
    connect_timeout: Duration,
}

impl Upstream {
    pub fn new(base: Uri, http2: bool, connect_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(http2)
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Self {
            client,
            base,
            http2,
            connect_timeout,
        }
    }

    /// The same model server with a connection pool of its own. A pooled connection is driven
    /// by a task on the runtime that opened it, so each runtime keeps its own pool.
    pub fn sibling(&self) -> Self {
        Self::new(self.base.clone(), self.http2, self.connect_timeout)
    }

    pub fn base(&self) -> &Uri {
        &self.base
    }

    fn uri(&self, original: &Uri) -> Uri {
        let mut parts = self.base.clone().into_parts();
        let base_path = self.base.path().trim_end_matches('/');
        let path = original.path_and_query().map_or("/", |p| p.as_str());
        parts.path_and_query = format!("{base_path}{path}").parse().ok();
        Uri::from_parts(parts).unwrap_or_else(|_| self.base.clone())
    }
}

/// What the sidecar does with responses, and the limits it keeps.
pub struct Labeler {
    pub upstream: Upstream,
    pub sealer: Sealer,
    /// The visible notice on text, if wanted.
    pub text_notice: Option<Notice>,
    /// The visible notice on images, if wanted.
    pub image_notice: Option<Arc<(Stamp, Corner)>>,
    pub rules: Option<RuleSet>,
    pub moderation: Option<Moderation>,
    pub max_request_body: usize,
    pub max_response_body: usize,
    /// Time allowed for a checked request's body to arrive.
    pub request_timeout: Duration,
    /// Refuse writes to paths that are not known endpoints instead of passing them.
    pub strict_paths: bool,
    /// Bounds the images decoded and drawn at once (CPU and memory), over all runtimes.
    pub labeling: Arc<tokio::sync::Semaphore>,
    pub upstream_timeout: Duration,
    pub log_content: bool,
    pub metrics: Arc<Metrics>,
}

/// The endpoints the sidecar knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Text(TextApi),
    /// `/v1/responses`: whole answers and their streams (typed events) are labeled.
    Responses,
    Images,
    Speech,
    /// Carries a prompt to check, but the response is not content to label (embeddings, …).
    CheckOnly,
    Pass,
}

impl Route {
    /// The route of a request, from its canonical path (see [`canonical_path`]); the `/v1`
    /// prefix is optional, as model servers serve both.
    fn of(method: &Method, canonical: &str) -> Route {
        if method != Method::POST {
            return Route::Pass;
        }
        let bare = canonical
            .strip_prefix("/v1")
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(canonical);
        match bare {
            "/chat/completions" => Route::Text(TextApi::Chat),
            "/completions" => Route::Text(TextApi::Completion),
            "/images/generations" | "/images/edits" | "/images/variations" => Route::Images,
            "/audio/speech" => Route::Speech,
            "/responses" => Route::Responses,
            "/embeddings" | "/moderations" => Route::CheckOnly,
            _ => Route::Pass,
        }
    }

    fn modality(self) -> Modality {
        match self {
            Route::Text(_) | Route::Responses => Modality::text,
            Route::Images => Modality::image,
            Route::Speech => Modality::audio,
            Route::CheckOnly | Route::Pass => Modality::other,
        }
    }

    fn labels(self) -> bool {
        matches!(
            self,
            Route::Text(_) | Route::Responses | Route::Images | Route::Speech
        )
    }
}

/// The path as a model server routes it: percent-decoded, empty segments (repeated or trailing
/// slashes) dropped. Routing on the raw path would let `/v1/chat/%63ompletions` or
/// `/v1//chat/completions` past the checks to the same handler.
pub fn canonical_path(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut canonical = String::with_capacity(decoded.len());
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        canonical.push('/');
        canonical.push_str(segment);
    }
    if canonical.is_empty() {
        canonical.push('/');
    }
    canonical
}

/// The same URI with its path replaced (the query kept).
fn with_path(uri: &Uri, path: &str) -> Uri {
    let mut parts = uri.clone().into_parts();
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// An error answered in the API's own format (`{"error": {...}}`).
fn error_response(status: StatusCode, kind: &str, code: &str, message: &str) -> Response<Body> {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An error that a retry of the same request would meet again: the model server answers in a
/// form that cannot be labeled (an encoding, a body too large, a body that is not the API's
/// format). `x-should-retry: false` tells the official OpenAI SDKs, which retry a 502 twice by
/// default, not to repeat the request; transient failures (unreachable, timed out, broken off)
/// do not carry it.
fn final_error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response<Body> {
    let mut response = error_response(status, kind, code, message);
    response
        .headers_mut()
        .insert(SHOULD_RETRY_HEADER, HeaderValue::from_static("false"));
    response
}

/// Read by the official OpenAI SDKs before their own retry rules.
const SHOULD_RETRY_HEADER: HeaderName = HeaderName::from_static("x-should-retry");

/// A client's mistake, answered in the API's error format.
fn invalid_request(status: StatusCode, code: &str, message: &str) -> (Response<Body>, Outcome) {
    let response = error_response(status, "invalid_request_error", code, message);
    (response, Outcome::failed)
}

/// A whole labeled body: the label headers and its new length.
fn labeled_response(
    mut parts: http::response::Parts,
    produce_id: &str,
    body: Vec<u8>,
) -> (Response<Body>, Outcome) {
    mark(&mut parts.headers, produce_id, None);
    set_length(&mut parts.headers, body.len());
    (Response::from_parts(parts, full(body)), Outcome::labeled)
}

/// The model server's body, passed on as it streams.
fn streamed(body: Incoming) -> Body {
    body.map_err(BoxError::from).boxed()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Why a request is refused before it reaches the model server.
#[derive(Debug)]
enum Rejection {
    /// The body is larger than `--max-request-body`, as declared or as read.
    TooLarge { limit: usize },
    /// `--strict-paths`: a write to a path that is not a known endpoint.
    PathNotServed { method: Method, path: String },
    /// The body of a request to check broke off.
    BodyUnreadable(BoxError),
    /// The body of a request to check did not arrive within `--request-timeout`.
    BodyTimeout(Duration),
    /// The body is neither JSON nor a form the checks can read.
    InvalidBody(UnreadablePrompt),
    /// The rules or the moderation service refused the prompt, or the service could not be
    /// asked and fails closed.
    Blocked(Reason),
}

impl Rejection {
    /// The answer in the API's error format, and how the request is counted.
    fn respond(self) -> (Response<Body>, Outcome) {
        match self {
            Rejection::TooLarge { limit } => (too_large(limit), Outcome::failed),
            Rejection::PathNotServed { method, path } => {
                let message = format!(
                    "{method} {path} is not served: this service only passes the model API's known endpoints"
                );
                invalid_request(StatusCode::NOT_FOUND, "path_not_served", &message)
            }
            Rejection::BodyUnreadable(e) => {
                let message = format!("could not read the request body: {e}");
                invalid_request(StatusCode::BAD_REQUEST, "bad_body", &message)
            }
            Rejection::BodyTimeout(timeout) => {
                let message = format!(
                    "the request body did not arrive within {}",
                    humantime::format_duration(timeout)
                );
                invalid_request(StatusCode::REQUEST_TIMEOUT, "request_timeout", &message)
            }
            Rejection::InvalidBody(e) => {
                invalid_request(StatusCode::BAD_REQUEST, "invalid_body", &e.to_string())
            }
            Rejection::Blocked(reason) => {
                let (kind, code) = match reason {
                    Reason::TooLong { .. } => ("invalid_request_error", "prompt_too_long"),
                    Reason::ModerationUnavailable => ("server_error", "moderation_unavailable"),
                    _ => ("invalid_request_error", "content_policy_violation"),
                };
                let response = error_response(reason.status(), kind, code, &reason.message());
                (response, Outcome::blocked)
            }
        }
    }
}

/// A request let through, as it goes on to the model server.
enum Admitted {
    /// Not an endpoint the sidecar checks: its body streams through as it arrives.
    Pass(Request<Incoming>),
    /// Read whole and checked, and addressed to the path that was checked.
    Checked {
        parts: http::request::Parts,
        body: Bytes,
    },
}

fn too_large(limit: usize) -> Response<Body> {
    let message = format!("the request body is larger than the {limit} bytes this service accepts");
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        "request_too_large",
        &message,
    )
}

/// Refuses a response in an encoding other than identity: labels are written into the body.
fn unlabelable_encoding(headers: &HeaderMap) -> Option<Response<Body>> {
    let encoding = headers.get(header::CONTENT_ENCODING)?;
    if encoding.as_bytes() == b"identity" {
        return None;
    }
    let message = format!(
        "the model server answered with a {} encoded body, which cannot be labeled",
        String::from_utf8_lossy(encoding.as_bytes())
    );
    Some(final_error(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "unlabelable_encoding",
        &message,
    ))
}

/// Time spent waiting for the model server, subtracted from the request's duration to give the
/// latency the sidecar itself adds.
#[derive(Default)]
struct UpstreamClock(Duration);

impl UpstreamClock {
    async fn time<T>(&mut self, work: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = work.await;
        self.0 += start.elapsed();
        out
    }
}

impl Labeler {
    /// The same labeler for another runtime: its own connections to the model server and the
    /// moderation service, all else (rules, key, limits, metrics, the bound on images in work)
    /// shared.
    pub fn sibling(&self) -> Labeler {
        Labeler {
            upstream: self.upstream.sibling(),
            sealer: self.sealer.clone(),
            text_notice: self.text_notice.clone(),
            image_notice: self.image_notice.clone(),
            rules: self.rules.clone(),
            moderation: self.moderation.as_ref().map(Moderation::sibling),
            max_request_body: self.max_request_body,
            max_response_body: self.max_response_body,
            request_timeout: self.request_timeout,
            strict_paths: self.strict_paths,
            labeling: self.labeling.clone(),
            upstream_timeout: self.upstream_timeout,
            log_content: self.log_content,
            metrics: self.metrics.clone(),
        }
    }

    /// Handles one request; every failure becomes a response.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let start = Instant::now();
        let canonical = canonical_path(request.uri().path());
        let route = Route::of(request.method(), &canonical);
        let mut clock = UpstreamClock::default();
        let (response, outcome) = match self.admit(route, &canonical, request).await {
            Ok(Admitted::Pass(request)) => self.pass_through(request, &mut clock).await,
            Ok(Admitted::Checked { parts, body }) => {
                self.send_checked(route, parts, body, &mut clock, start)
                    .await
            }
            Err(rejection) => rejection.respond(),
        };
        // A stream is counted and logged by its body, when it ends.
        let at_end = response.extensions().get::<CountedAtEnd>().is_some();
        if !at_end {
            self.metrics.request(route.modality(), outcome);
        }
        if route != Route::Pass {
            let added = start.elapsed().saturating_sub(clock.0);
            self.metrics
                .added_latency
                .get_or_create(&ModalityLabels {
                    modality: route.modality(),
                })
                .observe(added.as_secs_f64());
        }
        if !at_end {
            tracing::info!(
                status = response.status().as_u16(),
                modality = ?route.modality(),
                outcome = ?outcome,
                elapsed_ms = start.elapsed().as_secs_f64() * 1e3,
                "request"
            );
        }
        response
    }

    /// Decides whether a request goes on to the model server. Requests to checked endpoints
    /// are read whole (bounded) and their prompts checked; the rest pass as they stream.
    async fn admit(
        &self,
        route: Route,
        canonical: &str,
        request: Request<Incoming>,
    ) -> Result<Admitted, Rejection> {
        if content_length(request.headers()).is_some_and(|n| n > self.max_request_body as u64) {
            return Err(Rejection::TooLarge {
                limit: self.max_request_body,
            });
        }
        if route == Route::Pass {
            return self.admit_unchecked(request);
        }
        let (mut parts, body) = request.into_parts();
        let body = self.read_body(body).await?;
        // The model server gets the path that was checked.
        if canonical != parts.uri.path() {
            parts.uri = with_path(&parts.uri, canonical);
        }
        self.check_body(&parts.headers, canonical, &body).await?;
        Ok(Admitted::Checked { parts, body })
    }

    /// A request to an endpoint that is not checked passes, unless it writes and only known
    /// endpoints are served.
    fn admit_unchecked(&self, request: Request<Incoming>) -> Result<Admitted, Rejection> {
        let writes = matches!(
            *request.method(),
            Method::POST | Method::PUT | Method::PATCH
        );
        if self.strict_paths && writes {
            return Err(Rejection::PathNotServed {
                method: request.method().clone(),
                path: request.uri().path().to_string(),
            });
        }
        Ok(Admitted::Pass(request))
    }

    /// Reads the body of a request to check whole, within the size and time limits.
    async fn read_body(&self, body: Incoming) -> Result<Bytes, Rejection> {
        let collect = Limited::new(body, self.max_request_body).collect();
        match tokio::time::timeout(self.request_timeout, collect).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Rejection::TooLarge {
                limit: self.max_request_body,
            }),
            Ok(Err(e)) => Err(Rejection::BodyUnreadable(e)),
            Err(_) => Err(Rejection::BodyTimeout(self.request_timeout)),
        }
    }

    /// Reads the prompt out of the body and checks it. A body the checks cannot read is
    /// refused, not forwarded unchecked.
    async fn check_body(
        &self,
        headers: &HeaderMap,
        canonical: &str,
        body: &Bytes,
    ) -> Result<(), Rejection> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let prompt = read_prompt(canonical, content_type, body)
            .await
            .map_err(Rejection::InvalidBody)?;
        let Some(prompt) = prompt else { return Ok(()) };
        match self.check(&prompt).await {
            Verdict::Allow => Ok(()),
            Verdict::Block(reason) => {
                self.record_refusal(&prompt, reason);
                Err(Rejection::Blocked(reason))
            }
        }
    }

    /// Counts and logs a refused prompt; its text is logged only with `--log-content`.
    fn record_refusal(&self, prompt: &Prompt, reason: Reason) {
        self.metrics
            .blocked
            .get_or_create(&ReasonLabels {
                reason: reason.label().to_string(),
            })
            .inc();
        if self.log_content {
            tracing::info!(prompt = ?prompt.texts, reason = reason.label(), "prompt refused");
        } else {
            tracing::info!(reason = reason.label(), "prompt refused");
        }
    }

    /// The rules first (cheap, local), then the moderation endpoint.
    async fn check(&self, prompt: &Prompt) -> Verdict {
        if let Some(rules) = &self.rules
            && let verdict @ Verdict::Block(_) = rules.current().check(prompt)
        {
            return verdict;
        }
        if let Some(moderation) = &self.moderation {
            return moderation.check(prompt).await;
        }
        Verdict::Allow
    }

    /// Streams an unchecked request to the model server and its answer back, both untouched.
    async fn pass_through(
        &self,
        request: Request<Incoming>,
        clock: &mut UpstreamClock,
    ) -> (Response<Body>, Outcome) {
        let (parts, body) = request.into_parts();
        let body = Limited::new(body, self.max_request_body)
            .map_err(BoxError::from)
            .boxed();
        match self.forward(parts, body, false, clock).await {
            Ok(response) => (response.map(streamed), Outcome::passed),
            Err(response) => (response, Outcome::failed),
        }
    }

    /// Sends a checked request on and labels the answer when it is generated content.
    async fn send_checked(
        &self,
        route: Route,
        parts: http::request::Parts,
        body: Bytes,
        clock: &mut UpstreamClock,
        start: Instant,
    ) -> (Response<Body>, Outcome) {
        // Whether the response streams is read from its content type, not from the request.
        let response = match self.forward(parts, full(body), route.labels(), clock).await {
            Ok(response) => response,
            Err(response) => return (response, Outcome::failed),
        };
        if !route.labels() || !response.status().is_success() {
            return (response.map(streamed), Outcome::passed);
        }
        if let Some(refusal) = unlabelable_encoding(response.headers()) {
            return (refusal, Outcome::failed);
        }
        match route {
            Route::Text(api) => self.label_text(api, response, clock, start).await,
            Route::Responses => self.label_responses(response, clock, start).await,
            Route::Images => self.label_images(response, clock).await,
            Route::Speech => self.label_audio(response, clock).await,
            Route::CheckOnly | Route::Pass => unreachable!("only labeled routes reach here"),
        }
    }

    /// Sends the request on to the model server and waits for its response head.
    async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: Body,
        label: bool,
        clock: &mut UpstreamClock,
    ) -> Result<Response<Incoming>, Response<Body>> {
        self.address_upstream(&mut parts, label);
        let request = Request::from_parts(parts, body);
        let sent =
            tokio::time::timeout(self.upstream_timeout, self.upstream.client.request(request));
        match clock.time(sent).await {
            Ok(Ok(mut response)) => {
                strip_hop_by_hop(response.headers_mut());
                Ok(response)
            }
            Ok(Err(e)) => Err(self.not_sent(&e)),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// Rewrites the head of a request for the model server.
    fn address_upstream(&self, parts: &mut http::request::Parts, label: bool) {
        strip_hop_by_hop(&mut parts.headers);
        if label {
            // Labels are written into the body, so it must come back uncompressed.
            parts.headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        parts.version = if self.upstream.http2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        // The model server is addressed by its own name (as a reverse proxy does); the name
        // the client used travels on as X-Forwarded-Host.
        let original_host = parts.headers.remove(header::HOST).or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
        if let Some(host) = original_host {
            parts
                .headers
                .insert(HeaderName::from_static("x-forwarded-host"), host);
        }
        parts.uri = self.upstream.uri(&parts.uri);
        if !self.upstream.http2
            && let Some(authority) = parts.uri.authority()
            && let Ok(value) = HeaderValue::from_str(authority.as_str())
        {
            parts.headers.insert(header::HOST, value);
        }
    }

    /// The answer when a request could not be sent: too large when a streamed body overran
    /// the limit, otherwise the model server is unreachable.
    fn not_sent(&self, e: &hyper_util::client::legacy::Error) -> Response<Body> {
        let overran = std::error::Error::source(e)
            .into_iter()
            .chain(std::iter::successors(std::error::Error::source(e), |e| {
                e.source()
            }))
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if overran {
            return too_large(self.max_request_body);
        }
        let message = format!(
            "the model server at {} is unreachable: {}",
            self.upstream.base,
            crate::error_chain(e)
        );
        tracing::warn!(error = %message, "upstream request failed");
        error_response(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "upstream_unavailable",
            &message,
        )
    }

    fn timed_out(&self) -> Response<Body> {
        let message = format!(
            "the model server at {} did not answer within {}",
            self.upstream.base,
            humantime::format_duration(self.upstream_timeout)
        );
        error_response(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_error",
            "upstream_timeout",
            &message,
        )
    }

    /// Reads a response whole, within the size limit and what is left of the timeout.
    async fn read_whole(
        &self,
        body: Incoming,
        clock: &mut UpstreamClock,
    ) -> Result<Bytes, Response<Body>> {
        let limit = self.max_response_body;
        let remaining = self.upstream_timeout.saturating_sub(clock.0);
        let read = tokio::time::timeout(remaining, Limited::new(body, limit).collect());
        match clock.time(read).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                let message = format!(
                    "the model server's response is larger than the {limit} bytes that can be labeled"
                );
                Err(final_error(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "response_too_large",
                    &message,
                ))
            }
            Ok(Err(e)) => {
                let message = format!("reading the model server's response failed: {e}");
                Err(error_response(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "upstream_broken",
                    &message,
                ))
            }
            Err(_) => Err(self.timed_out()),
        }
    }

    /// A labeled event stream: its length unknown, marked, counted when it ends.
    fn stream(
        &self,
        mut parts: http::response::Parts,
        body: Incoming,
        labeler: SseLabeler,
        produce_id: &str,
        start: Instant,
    ) -> (Response<Body>, Outcome) {
        parts.headers.remove(header::CONTENT_LENGTH);
        mark(&mut parts.headers, produce_id, None);
        let body = SseBody {
            inner: body,
            labeler,
            state: SseState::Streaming,
            trailers: None,
            report: Some(StreamReport {
                metrics: self.metrics.clone(),
                modality: Modality::text,
                status: parts.status.as_u16(),
                start,
                first_byte: start.elapsed(),
            }),
        };
        let mut response = Response::from_parts(parts, body.boxed());
        response.extensions_mut().insert(CountedAtEnd);
        (response, Outcome::labeled)
    }

    async fn label_responses(
        &self,
        response: Response<Incoming>,
        clock: &mut UpstreamClock,
        start: Instant,
    ) -> (Response<Body>, Outcome) {
        let kind = media_type(response.headers());
        let (parts, body) = response.into_parts();
        if kind == "text/event-stream" {
            // Typed events (response.output_text.delta, …): see `text::responses`.
            let produce_id = new_produce_id();
            let labeler = ResponsesStreamLabeler::new(
                self.text_notice.clone(),
                self.sealer.clone(),
                produce_id.clone(),
                MAX_EVENT,
            );
            return self.stream(
                parts,
                body,
                SseLabeler::Responses(labeler),
                &produce_id,
                start,
            );
        }
        if kind != "application/json" {
            let format = format!("{kind} (responses)");
            return self.unlabelable(parts, streamed(body), &format);
        }
        let bytes = match self.read_whole(body, clock).await {
            Ok(bytes) => bytes,
            Err(response) => return (response, Outcome::failed),
        };
        let produce_id = new_produce_id();
        match label_responses_json(&bytes, self.text_notice.as_ref(), &self.sealer, &produce_id) {
            Ok((labeled, _)) => labeled_response(parts, &produce_id, labeled),
            Err(e) => (unlabelable_response(&e.to_string()), Outcome::failed),
        }
    }

    async fn label_text(
        &self,
        api: TextApi,
        response: Response<Incoming>,
        clock: &mut UpstreamClock,
        start: Instant,
    ) -> (Response<Body>, Outcome) {
        let produce_id = new_produce_id();
        let kind = media_type(response.headers());
        let (parts, body) = response.into_parts();
        match kind.as_str() {
            "text/event-stream" => {
                let labeler = StreamLabeler::new(
                    api,
                    self.text_notice.clone(),
                    self.sealer.clone(),
                    produce_id.clone(),
                    MAX_EVENT,
                );
                self.stream(
                    parts,
                    body,
                    SseLabeler::Completions(labeler),
                    &produce_id,
                    start,
                )
            }
            // JSON, and JSON a server mislabels (no type, text/plain): read whole and labeled.
            kind => {
                let bytes = match self.read_whole(body, clock).await {
                    Ok(bytes) => bytes,
                    Err(response) => return (response, Outcome::failed),
                };
                let labeled = label_json(
                    api,
                    &bytes,
                    self.text_notice.as_ref(),
                    &self.sealer,
                    &produce_id,
                );
                match labeled {
                    Ok((labeled, _)) => labeled_response(parts, &produce_id, labeled),
                    Err(e) if kind == "application/json" => {
                        (unlabelable_response(&e.to_string()), Outcome::failed)
                    }
                    // Really something else: delivered, and said to be unlabeled.
                    Err(_) => self.unlabelable(parts, full(bytes), kind),
                }
            }
        }
    }

    /// Generated content the sidecar cannot label is still delivered, but says so.
    fn unlabelable(
        &self,
        mut parts: http::response::Parts,
        body: Body,
        format: &str,
    ) -> (Response<Body>, Outcome) {
        let format = if format.is_empty() { "unknown" } else { format };
        self.metrics.count_unlabelable(format);
        let value = format!("unsupported; format={format}");
        if let Ok(value) = HeaderValue::from_str(&value) {
            parts.headers.insert(IMPLICIT_HEADER, value);
        }
        parts
            .headers
            .insert(LABEL_HEADER, HeaderValue::from_static("1"));
        (Response::from_parts(parts, body), Outcome::unlabelable)
    }

    async fn label_images(
        &self,
        response: Response<Incoming>,
        clock: &mut UpstreamClock,
    ) -> (Response<Body>, Outcome) {
        let kind = media_type(response.headers());
        let (mut parts, body) = response.into_parts();
        let raw_image = matches!(kind.as_str(), "image/png" | "image/jpeg" | "image/jpg");
        if kind != "application/json" && !raw_image {
            return self.unlabelable(parts, streamed(body), &kind);
        }
        let bytes = match self.read_whole(body, clock).await {
            Ok(bytes) => bytes,
            Err(response) => return (response, Outcome::failed),
        };
        let produce_id = new_produce_id();
        if raw_image {
            // Some servers answer with the image itself rather than JSON.
            let (notice, sealer, id) = (
                self.image_notice.clone(),
                self.sealer.clone(),
                produce_id.clone(),
            );
            let labeled = self
                .off_thread(move || label_image(notice.as_deref(), &sealer, &bytes, &id))
                .await;
            return match labeled {
                Ok(Ok((image, _))) => labeled_response(parts, &produce_id, image),
                Ok(Err(ImageOutcome::Unsupported(why) | ImageOutcome::Broken(why))) => (
                    unlabelable_response(&format!("the image cannot be labeled: {why}")),
                    Outcome::failed,
                ),
                Err(message) => (unlabelable_response(&message), Outcome::failed),
            };
        }
        let (notice, sealer, id) = (
            self.image_notice.clone(),
            self.sealer.clone(),
            produce_id.clone(),
        );
        let labeled = self
            .off_thread(move || label_images_json(&bytes, notice.as_deref(), &sealer, &id))
            .await;
        let (body, mut unsupported) = match labeled.and_then(|labeled| labeled) {
            Ok(labeled) => labeled,
            Err(message) => return (unlabelable_response(&message), Outcome::failed),
        };
        set_length(&mut parts.headers, body.len());
        let outcome = if unsupported.is_empty() {
            mark(&mut parts.headers, &produce_id, None);
            Outcome::labeled
        } else {
            unsupported.sort();
            unsupported.dedup();
            for format in &unsupported {
                self.metrics.count_unlabelable(format);
            }
            mark(
                &mut parts.headers,
                &produce_id,
                Some(&unsupported.join(",")),
            );
            Outcome::unlabelable
        };
        (Response::from_parts(parts, full(body)), outcome)
    }

    /// Runs CPU-heavy labeling (decoding, drawing, encoding images) off the async threads, a
    /// bounded number at a time.
    async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let _permit = self
            .labeling
            .acquire()
            .await
            .map_err(|_| "the sidecar is shutting down".to_string())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| format!("labeling failed: {e}"))
    }

    async fn label_audio(
        &self,
        response: Response<Incoming>,
        clock: &mut UpstreamClock,
    ) -> (Response<Body>, Outcome) {
        let kind = media_type(response.headers());
        let (parts, body) = response.into_parts();
        let Some(format) =
            Format::from_mime(&kind).filter(|f| matches!(f, Format::Wav | Format::Mp3))
        else {
            return self.unlabelable(parts, streamed(body), &kind);
        };
        let bytes = match self.read_whole(body, clock).await {
            Ok(bytes) => bytes,
            Err(response) => return (response, Outcome::failed),
        };
        let produce_id = new_produce_id();
        let labeled = media::essence(format, &bytes).and_then(|digest| {
            let record = self.sealer.seal(&produce_id, &[digest]);
            media::embed(format, &bytes, &record)
        });
        match labeled {
            Ok(labeled) => labeled_response(parts, &produce_id, labeled),
            Err(e) => (
                unlabelable_response(&format!("the audio cannot be labeled: {e}")),
                Outcome::failed,
            ),
        }
    }
}

enum ImageOutcome {
    Unsupported(String),
    Broken(String),
}

/// Labels every image of an images response: returns the new body and the formats (or `url`s)
/// that could not carry the record.
fn label_images_json(
    bytes: &[u8],
    notice: Option<&(Stamp, Corner)>,
    sealer: &Sealer,
    produce_id: &str,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the images response is not JSON: {e}"))?;
    let mut digests: Vec<PartDigest> = Vec::new();
    let mut unsupported: Vec<String> = Vec::new();
    // Labeled images wait outside the JSON tree, behind placeholders that no model output can
    // contain (control characters around this response's ID): serializing megabytes of base64
    // through serde_json costs more than all the labeling, so they are spliced in afterwards.
    let mut labeled_images: Vec<(String, Vec<u8>)> = Vec::new();
    let items = value
        .get_mut("data")
        .and_then(Value::as_array_mut)
        .map(|a| a.as_mut_slice())
        .unwrap_or_default();
    for (index, item) in items.iter_mut().enumerate() {
        let Some(encoded) = item.get("b64_json").and_then(Value::as_str) else {
            // A URL points at bytes the sidecar never sees.
            unsupported.push("url".to_string());
            continue;
        };
        let image = BASE64
            .decode(encoded)
            .map_err(|e| format!("image {index} of the response is not base64: {e}"))?;
        match label_image(notice, sealer, &image, &format!("{produce_id}.{index}")) {
            Ok((labeled, digest)) => {
                digests.push(digest);
                let placeholder = format!("\u{1}{produce_id}.{index}\u{1}");
                item["b64_json"] = Value::String(placeholder.clone());
                labeled_images.push((placeholder, labeled));
            }
            Err(ImageOutcome::Unsupported(format)) => unsupported.push(format),
            Err(ImageOutcome::Broken(message)) => {
                return Err(format!("image {index} of the response: {message}"));
            }
        }
    }
    let record = sealer.seal(produce_id, &digests);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "aigc".to_string(),
            serde_json::to_value(&record).unwrap_or_default(),
        );
    }
    let skeleton = serde_json::to_string(&value).map_err(|e| e.to_string())?;
    let size = skeleton.len()
        + labeled_images
            .iter()
            .map(|(_, i)| i.len() * 4 / 3 + 4)
            .sum::<usize>();
    let mut body = String::with_capacity(size);
    let mut rest = skeleton.as_str();
    for (placeholder, image) in &labeled_images {
        let quoted = serde_json::to_string(placeholder).map_err(|e| e.to_string())?;
        let quoted = &quoted[1..quoted.len() - 1];
        let at = rest
            .find(quoted)
            .ok_or_else(|| "internal error: image placeholder lost".to_string())?;
        body.push_str(&rest[..at]);
        BASE64.encode_string(image, &mut body);
        rest = &rest[at + quoted.len()..];
    }
    body.push_str(rest);
    Ok((body.into_bytes(), unsupported))
}

/// Draws the notice (if wanted) and embeds the record of one image; returns the image and the
/// digest of its essence.
fn label_image(
    notice: Option<&(Stamp, Corner)>,
    sealer: &Sealer,
    image: &[u8],
    produce_id: &str,
) -> Result<(Vec<u8>, PartDigest), ImageOutcome> {
    let format = match media::sniff(image) {
        Some(format @ (Format::Png | Format::Jpeg)) => format,
        Some(other) => return Err(ImageOutcome::Unsupported(other.mime().to_string())),
        None => return Err(ImageOutcome::Unsupported(sniff_name(image).to_string())),
    };
    let stamped;
    let image = match notice {
        Some((stamp, corner)) => {
            stamped = stamp
                .stamp(image, *corner)
                .map_err(|e| ImageOutcome::Broken(e.to_string()))?;
            &stamped[..]
        }
        None => image,
    };
    let digest = media::essence(format, image).map_err(|e| ImageOutcome::Broken(e.to_string()))?;
    let record = sealer.seal(produce_id, &[digest]);
    let labeled =
        media::embed(format, image, &record).map_err(|e| ImageOutcome::Broken(e.to_string()))?;
    Ok((labeled, digest))
}

/// A short name for an image format the sidecar cannot write metadata into.
fn sniff_name(bytes: &[u8]) -> &'static str {
    match bytes {
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => "image/webp",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        _ => "unknown",
    }
}

/// Generated content that could not be labeled is not delivered: a clear error instead.
fn unlabelable_response(message: &str) -> Response<Body> {
    final_error(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "unlabelable_response",
        message,
    )
}

fn mark(headers: &mut HeaderMap, produce_id: &str, unsupported: Option<&str>) {
    headers.insert(LABEL_HEADER, HeaderValue::from_static("1"));
    if let Ok(value) = HeaderValue::from_str(produce_id) {
        headers.insert(PRODUCE_ID_HEADER, value);
    }
    let implicit = match unsupported {
        None => "embedded".to_string(),
        Some(formats) => format!("unsupported; format={formats}"),
    };
    if let Ok(value) = HeaderValue::from_str(&implicit) {
        headers.insert(IMPLICIT_HEADER, value);
    }
}

fn set_length(headers: &mut HeaderMap, length: usize) {
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
}

/// Time the bytes already handed to the server get to leave before a stream that the model
/// server broke off is broken off to the client too. hyper drops what it has not yet written
/// when a body fails, and writes it out only while the body is pending.
const ABORT_GRACE: Duration = Duration::from_millis(50);

/// Marks a response whose request is counted and logged by its body, when the stream ends.
#[derive(Clone, Copy)]
struct CountedAtEnd;

/// How a streamed request is counted and logged once its stream ends.
struct StreamReport {
    metrics: Arc<Metrics>,
    modality: Modality,
    status: u16,
    start: Instant,
    /// Until the response head went out.
    first_byte: Duration,
}

impl StreamReport {
    fn finish(self, outcome: Outcome, error: Option<&BoxError>) {
        self.metrics.request(self.modality, outcome);
        let elapsed_ms = self.start.elapsed().as_secs_f64() * 1e3;
        let first_byte_ms = self.first_byte.as_secs_f64() * 1e3;
        match error {
            Some(e) => tracing::warn!(
                status = self.status,
                modality = ?self.modality,
                outcome = ?outcome,
                elapsed_ms,
                first_byte_ms,
                error = %crate::error_chain(e.as_ref()),
                "request"
            ),
            None => tracing::info!(
                status = self.status,
                modality = ?self.modality,
                outcome = ?outcome,
                elapsed_ms,
                first_byte_ms,
                "request"
            ),
        }
    }
}

enum SseState {
    Streaming,
    /// The stream failed; the error goes out once the grace is over.
    Failing {
        error: Option<BoxError>,
        grace: Pin<Box<tokio::time::Sleep>>,
    },
    Ended,
}

/// A server-sent-event body rewritten as it passes. It counts and logs its request when the
/// stream ends: labeled, broken off by the model server, or left by the client (dropped before
/// its end, which drops the model server's request with it).
/// The rewriter of an event stream: completion chunks, or the Responses API's typed events.
enum SseLabeler {
    Completions(StreamLabeler),
    Responses(ResponsesStreamLabeler),
}

impl SseLabeler {
    fn push(&mut self, chunk: &[u8]) -> Result<Bytes, crate::text::TextError> {
        match self {
            SseLabeler::Completions(l) => l.push(chunk),
            SseLabeler::Responses(l) => l.push(chunk),
        }
    }

    fn abort(&mut self) -> Bytes {
        match self {
            SseLabeler::Completions(l) => l.abort(),
            SseLabeler::Responses(l) => l.abort(),
        }
    }

    fn finish(&mut self) -> Bytes {
        match self {
            SseLabeler::Completions(l) => l.finish(),
            SseLabeler::Responses(l) => l.finish(),
        }
    }
}

struct SseBody {
    inner: Incoming,
    labeler: SseLabeler,
    state: SseState,
    trailers: Option<Frame<Bytes>>,
    report: Option<StreamReport>,
}

impl SseBody {
    fn report(&mut self, outcome: Outcome, error: Option<&BoxError>) {
        if let Some(report) = self.report.take() {
            report.finish(outcome, error);
        }
    }

    /// Ends the stream with `error` after the grace, counted as `outcome`.
    fn fail(&mut self, error: BoxError, outcome: Outcome) {
        self.report(outcome, Some(&error));
        self.state = SseState::Failing {
            error: Some(error),
            grace: Box::pin(tokio::time::sleep(ABORT_GRACE)),
        };
    }
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                SseState::Ended => return Poll::Ready(this.trailers.take().map(Ok)),
                SseState::Failing { error, grace } => {
                    ready!(grace.as_mut().poll(cx));
                    let error = error.take();
                    this.state = SseState::Ended;
                    return Poll::Ready(error.map(Err));
                }
                SseState::Streaming => {}
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => match this.labeler.push(&data) {
                        Ok(out) if out.is_empty() => {}
                        Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                        Err(e) => this.fail(e.into(), Outcome::failed),
                    },
                    // Trailers end a body: they wait until the record is out.
                    Err(frame) => this.trailers = Some(frame),
                },
                Some(Err(e)) => {
                    // Whatever came before the failure goes on as it came, then the stream
                    // breaks off as it did from the model server.
                    let rest = this.labeler.abort();
                    this.fail(e.into(), Outcome::upstream_aborted);
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(rest))));
                    }
                }
                None => {
                    this.state = SseState::Ended;
                    this.report(Outcome::labeled, None);
                    let tail = this.labeler.finish();
                    if !tail.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(tail))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, SseState::Ended) && self.trailers.is_none()
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        // Not reported yet: the client went away mid-stream. Dropping `inner` drops the model
        // server's request (its connection is closed, not pooled).
        self.report(Outcome::client_aborted, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error body as clients have always received it, written out by hand.
    fn error_body(message: &str, kind: &str, code: &str) -> String {
        format!(
            r#"{{"error":{{"message":"{message}","type":"{kind}","param":null,"code":"{code}"}}}}"#
        )
    }

    async fn assert_answer(rejection: Rejection, status: u16, outcome: Outcome, body: String) {
        let (response, counted) = rejection.respond();
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(counted, outcome, "{body}");
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        assert_eq!(response.headers().len(), 1);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(String::from_utf8_lossy(&bytes), body);
    }

    #[tokio::test]
    async fn refusals_before_the_model_server_are_answered_in_the_api_format() {
        let invalid = "invalid_request_error";
        assert_answer(
            Rejection::TooLarge { limit: 10 },
            413,
            Outcome::failed,
            error_body(
                "the request body is larger than the 10 bytes this service accepts",
                invalid,
                "request_too_large",
            ),
        )
        .await;
        assert_answer(
            Rejection::PathNotServed {
                method: Method::PUT,
                path: "/v1//files".to_string(),
            },
            404,
            Outcome::failed,
            error_body(
                "PUT /v1//files is not served: this service only passes the model API's known endpoints",
                invalid,
                "path_not_served",
            ),
        )
        .await;
        assert_answer(
            Rejection::BodyUnreadable("connection reset".into()),
            400,
            Outcome::failed,
            error_body(
                "could not read the request body: connection reset",
                invalid,
                "bad_body",
            ),
        )
        .await;
        assert_answer(
            Rejection::BodyTimeout(Duration::from_millis(1500)),
            408,
            Outcome::failed,
            error_body(
                "the request body did not arrive within 1s 500ms",
                invalid,
                "request_timeout",
            ),
        )
        .await;
        let not_json = serde_json::from_slice::<Value>(b"{").unwrap_err();
        assert_answer(
            Rejection::InvalidBody(UnreadablePrompt::Json(not_json)),
            400,
            Outcome::failed,
            error_body(
                "the request body is not valid JSON: EOF while parsing an object at line 1 column 1",
                invalid,
                "invalid_body",
            ),
        )
        .await;
    }

    #[tokio::test]
    async fn blocked_prompts_are_answered_by_their_reason() {
        let policy = "content_policy_violation";
        let cases = [
            (
                Reason::Keyword,
                400,
                "invalid_request_error",
                policy,
                "its input matched a blocked keyword",
            ),
            (
                Reason::Pattern,
                400,
                "invalid_request_error",
                policy,
                "its input matched a blocked pattern",
            ),
            (
                Reason::Moderation,
                400,
                "invalid_request_error",
                policy,
                "the content moderation service flagged its input",
            ),
            (
                Reason::TooLong { chars: 6, max: 5 },
                413,
                "invalid_request_error",
                "prompt_too_long",
                "its input is 6 characters long, over the limit of 5",
            ),
            (
                Reason::ModerationUnavailable,
                503,
                "server_error",
                "moderation_unavailable",
                "the content moderation service is unavailable; try again later",
            ),
        ];
        for (reason, status, kind, code, why) in cases {
            let message = format!("The request was refused: {why}.");
            let body = error_body(&message, kind, code);
            assert_answer(Rejection::Blocked(reason), status, Outcome::blocked, body).await;
        }
    }
}
