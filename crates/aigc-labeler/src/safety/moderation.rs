//! The optional external moderation service, asked after the rules allow a prompt, and what
//! happens when it fails or does not answer in time.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use super::{LOG_TARGET, Prompt, Reason, Verdict};

/// The moderation reply is a small JSON document; cap what is buffered.
const MAX_MODERATION_RESPONSE_BYTES: usize = 1 << 20;

/// What to do when the moderation service fails or does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailureMode {
    /// Allow the request (and log a warning).
    Open,
    /// Refuse the request.
    Closed,
}

/// An external moderation service with the OpenAI moderation API:
/// `POST {"input": [texts]}` answered by `{"results": [{"flagged": bool, ...}, ...]}`.
/// Plain HTTP only (a sidecar or in-cluster service).
pub struct Moderation {
    client: Client<HttpConnector, Full<Bytes>>,
    url: Uri,
    timeout: Duration,
    failure: FailureMode,
    /// `Err` when the bearer token is not a valid header value: every check then fails.
    authorization: Result<Option<HeaderValue>, BadToken>,
}

#[derive(Clone, Copy, Debug)]
struct BadToken;

impl fmt::Debug for Moderation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Moderation")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("failure", &self.failure)
            .field("bearer", &matches!(self.authorization, Ok(Some(_))))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
enum ModerationError {
    #[error("the bearer token is not a valid header value")]
    Token,
    #[error("cannot build the request: {0}")]
    Request(#[from] http::Error),
    #[error("request failed: {}", crate::error_chain(.0))]
    Http(#[from] hyper_util::client::legacy::Error),
    #[error("reading the response failed: {0}")]
    Body(Box<dyn std::error::Error + Send + Sync>),
    #[error("the service answered {0}")]
    Status(StatusCode),
    #[error("the response is not a moderation result: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the response has no results")]
    NoResults,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

#[derive(Deserialize)]
struct ModerationResponse {
    results: Vec<ModerationResult>,
}

#[derive(Deserialize)]
struct ModerationResult {
    flagged: bool,
}

impl Moderation {
    /// `bearer` is sent as `Authorization: Bearer …`; surrounding whitespace (a trailing
    /// newline in a mounted Secret) is ignored.
    pub fn new(url: Uri, timeout: Duration, failure: FailureMode, bearer: Option<String>) -> Self {
        if url.scheme_str() != Some("http") {
            tracing::warn!(
                target: LOG_TARGET,
                %url,
                "the moderation URL is not plain http; every check will fail"
            );
        }
        let authorization = bearer
            .map(|token| {
                let mut value = HeaderValue::try_from(format!("Bearer {}", token.trim()))?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose();
        Moderation {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url,
            timeout,
            failure,
            authorization: authorization.map_err(|_: http::header::InvalidHeaderValue| BadToken),
        }
    }

    /// The same service with a connection pool of its own, for another runtime.
    pub fn sibling(&self) -> Self {
        Moderation {
            client: Client::builder(TokioExecutor::new()).build_http(),
            url: self.url.clone(),
            timeout: self.timeout,
            failure: self.failure,
            authorization: self.authorization.clone(),
        }
    }

    pub fn failure_mode(&self) -> FailureMode {
        self.failure
    }

    /// `Block(Moderation)` if any result is flagged. If the service fails or times out:
    /// `Allow` when failing open, `Block(ModerationUnavailable)` when failing closed.
    pub async fn check(&self, prompt: &Prompt) -> Verdict {
        if prompt.is_empty() {
            return Verdict::Allow;
        }
        let outcome = tokio::time::timeout(self.timeout, self.flagged(prompt))
            .await
            .unwrap_or(Err(ModerationError::Timeout(self.timeout)));
        match outcome {
            Ok(true) => Verdict::Block(Reason::Moderation),
            Ok(false) => Verdict::Allow,
            Err(error) => self.unavailable(&error, prompt),
        }
    }

    /// The verdict when the service could not answer, by the failure mode.
    fn unavailable(&self, error: &ModerationError, prompt: &Prompt) -> Verdict {
        let open = self.failure == FailureMode::Open;
        tracing::warn!(
            target: LOG_TARGET,
            %error,
            url = %self.url,
            texts = prompt.texts.len(),
            chars = prompt.chars(),
            fail_open = open,
            "moderation unavailable"
        );
        if open {
            Verdict::Allow
        } else {
            Verdict::Block(Reason::ModerationUnavailable)
        }
    }

    async fn flagged(&self, prompt: &Prompt) -> Result<bool, ModerationError> {
        let authorization = self
            .authorization
            .as_ref()
            .map_err(|_| ModerationError::Token)?;
        let body = serde_json::to_vec(&serde_json::json!({ "input": prompt.texts }))?;
        let mut request = Request::post(self.url.clone()).header(CONTENT_TYPE, "application/json");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        let response = self
            .client
            .request(request.body(Full::new(Bytes::from(body)))?)
            .await?;
        if !response.status().is_success() {
            return Err(ModerationError::Status(response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_MODERATION_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(ModerationError::Body)?
            .to_bytes();
        let parsed: ModerationResponse = serde_json::from_slice(&body)?;
        if parsed.results.is_empty() {
            return Err(ModerationError::NoResults);
        }
        Ok(parsed.results.iter().any(|r| r.flagged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::test_support::prompt;
    use serde_json::{Value, json};
    use std::net::SocketAddr;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot-per-connection HTTP/1.1 server: waits `delay`, then answers every request
    /// with `status` and `body`. Hands each request (head and body) to the returned channel.
    async fn serve(
        status: u16,
        body: &'static str,
        delay: Duration,
    ) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut stream).await;
                    let _ = tx.send(request);
                    tokio::time::sleep(delay).await;
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        (addr, rx)
    }

    async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break;
                }
            }
        }
        String::from_utf8(buf).unwrap()
    }

    fn moderation(addr: SocketAddr, timeout_ms: u64, failure: FailureMode) -> Moderation {
        let url = format!("http://{addr}/v1/moderations").parse().unwrap();
        Moderation::new(url, Duration::from_millis(timeout_ms), failure, None)
    }

    #[tokio::test]
    async fn moderation_flagged_blocks_and_sends_texts_and_token() {
        let (addr, mut requests) = serve(
            200,
            r#"{"id":"m","results":[{"flagged":false},{"flagged":true,"categories":{}}]}"#,
            Duration::ZERO,
        )
        .await;
        let url = format!("http://{addr}/v1/moderations").parse().unwrap();
        let m = Moderation::new(
            url,
            Duration::from_secs(5),
            FailureMode::Open,
            Some("s3cret\n".into()),
        );
        assert!(!format!("{m:?}").contains("s3cret"));
        assert_eq!(
            m.check(&prompt(&["one", "two"])).await,
            Verdict::Block(Reason::Moderation)
        );
        let request = requests.recv().await.unwrap();
        assert!(
            request.starts_with("POST /v1/moderations HTTP/1.1"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer s3cret\r\n")
        );
        let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body, json!({"input": ["one", "two"]}));
    }

    #[tokio::test]
    async fn moderation_not_flagged_allows() {
        let (addr, _requests) =
            serve(200, r#"{"results":[{"flagged":false}]}"#, Duration::ZERO).await;
        for failure in [FailureMode::Open, FailureMode::Closed] {
            assert!(
                moderation(addr, 5000, failure)
                    .check(&prompt(&["hi"]))
                    .await
                    .is_allow()
            );
        }
    }

    #[tokio::test]
    async fn moderation_skips_empty_prompts() {
        // Nothing listens here; an empty prompt must not need the service.
        let m = moderation(refused_addr().await, 5000, FailureMode::Closed);
        assert!(m.check(&Prompt::default()).await.is_allow());
    }

    async fn assert_failure_modes(addr: SocketAddr, timeout_ms: u64) {
        let p = prompt(&["hi"]);
        let open = moderation(addr, timeout_ms, FailureMode::Open);
        assert_eq!(open.check(&p).await, Verdict::Allow);
        let closed = moderation(addr, timeout_ms, FailureMode::Closed);
        assert_eq!(
            closed.check(&p).await,
            Verdict::Block(Reason::ModerationUnavailable)
        );
    }

    #[tokio::test]
    async fn moderation_timeout_follows_failure_mode() {
        let (addr, _requests) = serve(
            200,
            r#"{"results":[{"flagged":true}]}"#,
            Duration::from_secs(10),
        )
        .await;
        let started = Instant::now();
        assert_failure_modes(addr, 100).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    async fn refused_addr() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn moderation_connection_refused_follows_failure_mode() {
        assert_failure_modes(refused_addr().await, 5000).await;
    }

    #[tokio::test]
    async fn moderation_bad_answers_follow_failure_mode() {
        let (addr, _r) = serve(500, r#"{"error":"boom"}"#, Duration::ZERO).await;
        assert_failure_modes(addr, 5000).await;
        let (addr, _r) = serve(200, "not json", Duration::ZERO).await;
        assert_failure_modes(addr, 5000).await;
        let (addr, _r) = serve(200, r#"{"results":[]}"#, Duration::ZERO).await;
        assert_failure_modes(addr, 5000).await;
    }

    #[tokio::test]
    async fn moderation_invalid_token_follows_failure_mode() {
        let (addr, _r) = serve(200, r#"{"results":[{"flagged":false}]}"#, Duration::ZERO).await;
        let url: Uri = format!("http://{addr}/").parse().unwrap();
        let bad = Some("a\u{1}b".to_string());
        let m = Moderation::new(url, Duration::from_secs(5), FailureMode::Closed, bad);
        assert_eq!(
            m.check(&prompt(&["hi"])).await,
            Verdict::Block(Reason::ModerationUnavailable)
        );
    }
}
