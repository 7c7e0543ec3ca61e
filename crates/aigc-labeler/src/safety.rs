//! Input checks (row 27): refuse a request whose prompt matches a configured rule or that an
//! external moderation service flags.
//!
//! Rules come from a file mounted from a ConfigMap and are reloaded while the sidecar runs. No
//! function here logs or returns the text of a prompt, nor the rule it matched (row 35: user
//! input is not retained); only sizes and the kind of rule reach logs and responses.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use aho_corasick::AhoCorasick;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Compiled size allowed for one pattern and for the whole set, so a hostile or careless rules
/// file cannot make the sidecar allocate without bound.
const PATTERN_SIZE_LIMIT: usize = 4 << 20;
/// Lazy-DFA cache per search thread.
const PATTERN_DFA_LIMIT: usize = 2 << 20;
/// A ConfigMap holds at most 1 MiB; anything larger is not a rules file.
const MAX_RULES_FILE_BYTES: u64 = 1 << 20;
/// The moderation reply is a small JSON document; cap what is buffered.
const MAX_MODERATION_RESPONSE_BYTES: usize = 1 << 20;

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    #[error("cannot read rules file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules file {} is {size} bytes, over {MAX_RULES_FILE_BYTES}", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("rules file is empty; write `{{}}` for a file with no rules")]
    Empty,
    #[error("rules file is not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("keywords[{index}] is empty (it would match every prompt)")]
    EmptyKeyword { index: usize },
    #[error("keywords cannot be compiled: {0}")]
    Keywords(String),
    #[error("patterns[{index}] is not a usable regex: {message}")]
    Pattern { index: usize, message: String },
    #[error("patterns cannot be compiled together: {0}")]
    PatternSet(String),
    #[error("maxPromptChars must be at least 1")]
    ZeroMaxPromptChars,
}

/// The rules file (YAML or JSON), mounted from a ConfigMap.
///
/// ```yaml
/// keywords: ["炸弹", "make a bomb"]   # substrings; case, width and invisible characters ignored
/// patterns: ['(?i)\bssn:\s*\d{3}-\d{2}-\d{4}']  # regexes, matched against each text as sent
/// maxPromptChars: 32000              # Unicode scalar values over all the prompt's texts
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub max_prompt_chars: Option<usize>,
}

/// Compiled rules.
pub struct Rules {
    keywords: Option<AhoCorasick>,
    keyword_count: usize,
    patterns: Option<RegexSet>,
    max_prompt_chars: Option<usize>,
    fingerprint: u64,
}

impl fmt::Debug for Rules {
    // The automata are large and say nothing useful; show the shape of the rules instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("keywords", &self.keyword_count)
            .field("patterns", &self.patterns.as_ref().map_or(0, RegexSet::len))
            .field("max_prompt_chars", &self.max_prompt_chars)
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

impl Rules {
    /// Compiles `file`. `max_prompt_chars_default` applies when the file sets no limit.
    pub fn compile(
        file: RulesFile,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Rules, SafetyError> {
        let max_prompt_chars = file.max_prompt_chars.or(max_prompt_chars_default);
        if max_prompt_chars == Some(0) {
            return Err(SafetyError::ZeroMaxPromptChars);
        }

        let mut keywords = Vec::with_capacity(file.keywords.len());
        for (index, keyword) in file.keywords.iter().enumerate() {
            let folded = fold(keyword);
            if folded.is_empty() {
                return Err(SafetyError::EmptyKeyword { index });
            }
            keywords.push(folded);
        }
        // Order and duplicates do not change what is blocked, so they do not change the
        // fingerprint either.
        keywords.sort_unstable();
        keywords.dedup();

        // Each pattern on its own first, so an error names the pattern at fault.
        for (index, pattern) in file.patterns.iter().enumerate() {
            RegexBuilder::new(pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_DFA_LIMIT)
                .build()
                .map_err(|e| SafetyError::Pattern {
                    index,
                    message: e.to_string(),
                })?;
        }
        let patterns = if file.patterns.is_empty() {
            None
        } else {
            let set = RegexSetBuilder::new(&file.patterns)
                .size_limit(PATTERN_SIZE_LIMIT)
                .dfa_size_limit(PATTERN_DFA_LIMIT)
                .build()
                .map_err(|e| SafetyError::PatternSet(e.to_string()))?;
            Some(set)
        };

        let fingerprint = fingerprint(&keywords, &file.patterns, max_prompt_chars);
        let keyword_count = keywords.len();
        let keywords = if keywords.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&keywords).map_err(|e| SafetyError::Keywords(e.to_string()))?)
        };

        Ok(Rules {
            keywords,
            keyword_count,
            patterns,
            max_prompt_chars,
            fingerprint,
        })
    }

    /// Parses and compiles a rules file: JSON if it starts with `{`, YAML otherwise.
    pub fn parse(
        text: &str,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Rules, SafetyError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() {
            return Err(SafetyError::Empty);
        }
        let file: RulesFile = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| SafetyError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?
        } else {
            serde_yaml_ng::from_str(trimmed).map_err(|e| SafetyError::Syntax {
                format: "YAML",
                message: e.to_string(),
            })?
        };
        Rules::compile(file, max_prompt_chars_default)
    }

    /// Rules that allow everything (bar the default length limit, if any).
    pub fn empty(max_prompt_chars_default: Option<usize>) -> Result<Rules, SafetyError> {
        Rules::compile(RulesFile::default(), max_prompt_chars_default)
    }

    /// Checks the length first (cheap, and bounds the work below), then keywords, then patterns.
    pub fn check(&self, prompt: &Prompt) -> Verdict {
        if let Some(max) = self.max_prompt_chars {
            let chars = prompt.chars();
            if chars > max {
                return Verdict::Block(Reason::TooLong { chars, max });
            }
        }
        if let Some(keywords) = &self.keywords
            && prompt.texts.iter().any(|t| keywords.is_match(&fold(t)))
        {
            return Verdict::Block(Reason::Keyword);
        }
        if let Some(patterns) = &self.patterns
            && prompt.texts.iter().any(|t| patterns.is_match(t))
        {
            return Verdict::Block(Reason::Pattern);
        }
        Verdict::Allow
    }

    /// A stable digest of what the rules block, for logs and metrics: equal for files that
    /// differ only in comments, layout, or keyword order.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn keyword_count(&self) -> usize {
        self.keyword_count
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.as_ref().map_or(0, RegexSet::len)
    }

    pub fn max_prompt_chars(&self) -> Option<usize> {
        self.max_prompt_chars
    }
}

fn fingerprint(keywords: &[String], patterns: &[String], max: Option<usize>) -> u64 {
    let mut hash = Sha256::new();
    // Length prefixes keep ["ab", "c"] and ["a", "bc"] apart.
    let mut list = |tag: &[u8], items: &[String]| {
        hash.update(tag);
        hash.update((items.len() as u64).to_le_bytes());
        for item in items {
            hash.update((item.len() as u64).to_le_bytes());
            hash.update(item.as_bytes());
        }
    };
    list(b"keywords", keywords);
    list(b"patterns", patterns);
    hash.update(b"max");
    hash.update(max.map_or(u64::MAX, |m| m as u64).to_le_bytes());
    let digest = hash.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 is 32 bytes"))
}

/// The form keywords are matched in: lowercase, full-width ASCII folded to ASCII, and the
/// invisible characters used to split a word without changing how it looks removed.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{00ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}' => continue,
            c => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block(Reason),
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// Which kind of rule refused a request. Deliberately carries neither the prompt nor the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Keyword,
    Pattern,
    TooLong { chars: usize, max: usize },
    Moderation,
    ModerationUnavailable,
}

impl Reason {
    /// A metric label value.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Keyword => "keyword",
            Reason::Pattern => "pattern",
            Reason::TooLong { .. } => "too_long",
            Reason::Moderation => "moderation",
            Reason::ModerationUnavailable => "moderation_unavailable",
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> String {
        let why = match self {
            Reason::Keyword => "its input matched a blocked keyword".to_owned(),
            Reason::Pattern => "its input matched a blocked pattern".to_owned(),
            Reason::TooLong { chars, max } => {
                format!("its input is {chars} characters long, over the limit of {max}")
            }
            Reason::Moderation => "the content moderation service flagged its input".to_owned(),
            Reason::ModerationUnavailable => {
                "the content moderation service is unavailable; try again later".to_owned()
            }
        };
        format!("The request was refused: {why}.")
    }

    /// A suitable HTTP status: the client's fault, too large, or ours.
    pub fn status(&self) -> StatusCode {
        match self {
            Reason::Keyword | Reason::Pattern | Reason::Moderation => StatusCode::BAD_REQUEST,
            Reason::TooLong { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::ModerationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

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
        "/v1/completions" | "/v1/embeddings" => {
            let field = if path == "/v1/completions" {
                "prompt"
            } else {
                "input"
            };
            strings(body.get(field), &mut texts);
        }
        "/v1/images/generations" | "/v1/images/edits" => string(body.get("prompt"), &mut texts),
        "/v1/audio/speech" => {
            string(body.get("input"), &mut texts);
            string(body.get("instructions"), &mut texts);
        }
        "/v1/responses" => {
            string(body.get("instructions"), &mut texts);
            match body.get("input") {
                Some(Value::String(s)) => texts.push(s.clone()),
                input => {
                    for item in items(input) {
                        content(item.get("content"), &mut texts);
                        // A tool's output, which the client supplies like any other message.
                        if item.get("type").and_then(Value::as_str) == Some("function_call_output")
                        {
                            string(item.get("output"), &mut texts);
                        }
                    }
                }
            }
        }
        _ => return None,
    }
    Some(Prompt { texts })
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

/// The live rules: loaded from a file and swapped when the file changes. Cheap to clone.
#[derive(Clone)]
pub struct RuleSet {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Arc<Rules>>,
    source: Option<Source>,
}

struct Source {
    path: PathBuf,
    max_prompt_chars_default: Option<usize>,
    seen: Mutex<Seen>,
}

/// What the reloader last saw, so each change is compiled and reported once, not every poll.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Bytes([u8; 32]),
    ReadError,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("path", &self.shared.source.as_ref().map(|s| &s.path))
            .field("current", &self.current())
            .finish()
    }
}

impl RuleSet {
    /// Rules that never change.
    pub fn fixed(rules: Rules) -> Self {
        RuleSet {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(rules)),
                source: None,
            }),
        }
    }

    /// Loads the rules at `path`. A missing or invalid file is an error here; later, while
    /// reloading, it only keeps the previous rules.
    pub async fn load(
        path: PathBuf,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Self, SafetyError> {
        let bytes = read_rules(&path).await?;
        let digest = Sha256::digest(&bytes).into();
        let rules = compile_bytes(bytes, max_prompt_chars_default).await?;
        Ok(RuleSet {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(rules)),
                source: Some(Source {
                    path,
                    max_prompt_chars_default,
                    seen: Mutex::new(Seen::Bytes(digest)),
                }),
            }),
        })
    }

    /// The rules in force now.
    pub fn current(&self) -> Arc<Rules> {
        self.shared
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The file the rules come from, unless they are fixed.
    pub fn path(&self) -> Option<&Path> {
        self.shared.source.as_ref().map(|s| s.path.as_path())
    }

    /// Polls the file every `interval` and swaps in new rules when its bytes change. A kubelet
    /// updates a ConfigMap mount by swapping a symlink, which inotify-style watches miss, hence
    /// polling. `on_reload` hears of each change once: `Ok` when new rules are in force, `Err`
    /// when the file cannot be read or compiled and the previous rules stay. The task ends
    /// when every clone of this set is dropped; for fixed rules it ends at once.
    pub fn spawn_reloader(
        &self,
        interval: Duration,
        on_reload: impl Fn(Result<(), &SafetyError>) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate and the file was just read.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                if shared.source.is_none() {
                    return;
                }
                shared.reload(&on_reload).await;
            }
        })
    }
}

impl Shared {
    async fn reload(&self, on_reload: &(impl Fn(Result<(), &SafetyError>) + Send + Sync)) {
        let Some(source) = &self.source else { return };
        let bytes = read_rules(&source.path).await;
        let seen = match &bytes {
            Ok(bytes) => Seen::Bytes(Sha256::digest(bytes).into()),
            Err(_) => Seen::ReadError,
        };
        {
            let mut last = source.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if *last == seen {
                return;
            }
            *last = seen;
        }
        let compiled = match bytes {
            Ok(bytes) => compile_bytes(bytes, source.max_prompt_chars_default).await,
            Err(e) => Err(e),
        };
        match compiled {
            Ok(rules) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
                on_reload(Ok(()));
            }
            Err(e) => on_reload(Err(&e)),
        }
    }
}

async fn read_rules(path: &Path) -> Result<Vec<u8>, SafetyError> {
    let read_error = |source| SafetyError::Read {
        path: path.to_owned(),
        source,
    };
    let size = tokio::fs::metadata(path).await.map_err(read_error)?.len();
    if size > MAX_RULES_FILE_BYTES {
        return Err(SafetyError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    tokio::fs::read(path).await.map_err(read_error)
}

/// Compiles off the async workers: a large pattern set can take a while.
async fn compile_bytes(
    bytes: Vec<u8>,
    max_prompt_chars_default: Option<usize>,
) -> Result<Rules, SafetyError> {
    tokio::task::spawn_blocking(move || {
        let text = String::from_utf8(bytes).map_err(|e| SafetyError::Syntax {
            format: "UTF-8",
            message: e.to_string(),
        })?;
        Rules::parse(&text, max_prompt_chars_default)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

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
    authorization: Result<Option<HeaderValue>, http::header::InvalidHeaderValue>,
}

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
    #[error("request failed: {}", chain(.0))]
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

/// An error and its causes on one line; the client's top-level errors alone say little.
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
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
            tracing::warn!(%url, "the moderation URL is not plain http; every check will fail");
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
            authorization,
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
            Err(error) => {
                let open = self.failure == FailureMode::Open;
                tracing::warn!(
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
    use proptest::prelude::*;
    use serde_json::json;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn prompt(texts: &[&str]) -> Prompt {
        Prompt {
            texts: texts.iter().map(|t| t.to_string()).collect(),
        }
    }

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

    // ---- rules ----

    #[test]
    fn keywords_ignore_case_width_and_invisible_characters() {
        let rules = Rules::parse("keywords: [Forbidden, 炸弹, ＥＶＩＬ]", None).unwrap();
        for blocked in [
            "this is FORBIDDEN text",
            "forbidden",
            "ＦＯＲＢＩＤＤＥＮ",
            "how to make a 炸弹",
            "炸\u{200b}弹",
            "so evil",
        ] {
            assert_eq!(
                rules.check(&prompt(&["fine", blocked])),
                Verdict::Block(Reason::Keyword),
                "{blocked}"
            );
        }
        for allowed in ["forbid den", "炸 弹", "炸药", ""] {
            assert!(rules.check(&prompt(&[allowed])).is_allow(), "{allowed}");
        }
        assert!(rules.check(&Prompt::default()).is_allow());
    }

    #[test]
    fn patterns_match_each_text_as_sent() {
        let rules = Rules::parse(
            r#"{"patterns": ["\\b\\d{3}-\\d{2}-\\d{4}\\b", "(?i)ignore (all )?previous orders"]}"#,
            None,
        )
        .unwrap();
        assert_eq!(rules.pattern_count(), 2);
        assert_eq!(
            rules.check(&prompt(&["my ssn is 123-45-6789"])),
            Verdict::Block(Reason::Pattern)
        );
        assert_eq!(
            rules.check(&prompt(&["a", "Ignore previous Orders"])),
            Verdict::Block(Reason::Pattern)
        );
        assert!(rules.check(&prompt(&["1234-45-6789", "ignore"])).is_allow());
    }

    #[test]
    fn too_long_counts_chars_over_all_texts() {
        let rules = Rules::parse("maxPromptChars: 5\nkeywords: [x]", None).unwrap();
        assert!(rules.check(&prompt(&["炸弹", "abc"])).is_allow());
        assert_eq!(
            rules.check(&prompt(&["炸弹", "abcd"])),
            Verdict::Block(Reason::TooLong { chars: 6, max: 5 })
        );
        // Length is checked before keywords.
        assert_eq!(
            rules.check(&prompt(&["xxxxxx"])),
            Verdict::Block(Reason::TooLong { chars: 6, max: 5 })
        );
    }

    #[test]
    fn default_limit_applies_unless_the_file_sets_one() {
        assert_eq!(
            Rules::parse("{}", Some(7)).unwrap().max_prompt_chars(),
            Some(7)
        );
        assert_eq!(
            Rules::parse("maxPromptChars: 3", Some(7))
                .unwrap()
                .max_prompt_chars(),
            Some(3)
        );
        assert_eq!(Rules::empty(None).unwrap().max_prompt_chars(), None);
    }

    #[test]
    fn reasons_never_echo_input_and_have_labels() {
        let reasons = [
            (Reason::Keyword, "keyword"),
            (Reason::Pattern, "pattern"),
            (Reason::TooLong { chars: 10, max: 5 }, "too_long"),
            (Reason::Moderation, "moderation"),
            (Reason::ModerationUnavailable, "moderation_unavailable"),
        ];
        for (reason, label) in reasons {
            assert_eq!(reason.label(), label);
            assert!(!reason.message().is_empty());
            assert!(!reason.message().contains("炸弹"));
        }
        assert!(Reason::Keyword.message().contains("keyword"));
        assert!(Reason::Pattern.message().contains("pattern"));
        assert_eq!(Reason::TooLong { chars: 1, max: 0 }.status(), 413);
        assert_eq!(Reason::ModerationUnavailable.status(), 503);
    }

    #[test]
    fn fingerprint_ignores_layout_and_keyword_order() {
        let a = Rules::parse("keywords: [b, A]\npatterns: ['x+']", None).unwrap();
        let b = Rules::parse(r#"{"patterns": ["x+"], "keywords": ["a", "b", "a"]}"#, None).unwrap();
        let c = Rules::parse("keywords: [a, b]\npatterns: ['x*']", None).unwrap();
        let d = Rules::parse(
            "keywords: [a, b]\npatterns: ['x+']\nmaxPromptChars: 9",
            None,
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), d.fingerprint());
    }

    #[test]
    fn bad_files_give_errors_naming_the_problem() {
        let err = |text: &str| Rules::parse(text, None).unwrap_err().to_string();

        let e = err("patterns: ['ok', '(unclosed']");
        assert!(e.contains("patterns[1]") && e.contains("unclosed"), "{e}");

        let e = err("keyword: [x]");
        assert!(
            e.contains("YAML") && e.contains("unknown field `keyword`"),
            "{e}"
        );

        let e = err(r#"{"keywords": ["x"], "extra": 1}"#);
        assert!(
            e.contains("JSON") && e.contains("unknown field `extra`"),
            "{e}"
        );

        let e = err("keywords: [x\n  - : :");
        assert!(e.contains("not valid YAML"), "{e}");

        let e = err("keywords: x");
        assert!(e.contains("keywords"), "{e}");

        let e = err("maxPromptChars: -1");
        assert!(
            e.contains("maxPromptChars") || e.contains("invalid value"),
            "{e}"
        );

        assert!(err("maxPromptChars: 0").contains("maxPromptChars"));
        assert!(err("keywords: [a, '\u{200b}']").contains("keywords[1] is empty"));
        assert!(err("  \n").contains("empty"));

        // A pattern whose compiled form exceeds the size limit.
        let e = err(r"patterns: ['\w{1000}\w{1000}\w{1000}']");
        assert!(e.contains("patterns[0]") && e.contains("size limit"), "{e}");
    }

    // ---- reload ----

    fn temp_path(tag: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("aigc-safety-{tag}-{}-{n}.yaml", std::process::id()))
    }

    /// Writes by rename, as the kubelet's atomic writer does, so a poll never sees half a file.
    fn write(path: &Path, text: &str) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn load_fails_on_missing_or_invalid_file() {
        let path = temp_path("missing");
        let e = RuleSet::load(path.clone(), None).await.unwrap_err();
        assert!(matches!(e, SafetyError::Read { .. }), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()));

        write(&path, "patterns: ['[']");
        let e = RuleSet::load(path.clone(), None).await.unwrap_err();
        assert!(e.to_string().contains("patterns[0]"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn reloads_on_change_and_keeps_old_rules_on_error() {
        let path = temp_path("reload");
        write(&path, "keywords: [alpha]");
        let set = RuleSet::load(path.clone(), None).await.unwrap();
        assert_eq!(set.path(), Some(path.as_path()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = set.spawn_reloader(Duration::from_millis(20), move |r| {
            tx.send(r.map_err(|e| e.to_string())).unwrap();
        });

        let alpha = prompt(&["alpha"]);
        let beta = prompt(&["beta"]);
        assert!(!set.current().check(&alpha).is_allow());
        assert!(set.current().check(&beta).is_allow());

        write(&path, "keywords: [beta]");
        eventually("the new rules", || !set.current().check(&beta).is_allow()).await;
        assert!(set.current().check(&alpha).is_allow());
        assert_eq!(rx.recv().await.unwrap(), Ok(()));

        write(&path, "keywords: [gamma]\npatterns: ['(']");
        let report = rx.recv().await.unwrap().unwrap_err();
        assert!(report.contains("patterns[0]"), "{report}");
        assert!(!set.current().check(&beta).is_allow(), "old rules kept");

        // The same broken bytes are reported once, not on every poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rx.try_recv().is_err());

        std::fs::remove_file(&path).unwrap();
        let report = rx.recv().await.unwrap().unwrap_err();
        assert!(report.contains("cannot read"), "{report}");
        assert!(!set.current().check(&beta).is_allow(), "old rules kept");

        write(&path, "keywords: [gamma]");
        assert_eq!(rx.recv().await.unwrap(), Ok(()));
        assert!(!set.current().check(&prompt(&["GAMMA"])).is_allow());

        // The task stops once the set is gone.
        drop(set);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("reloader stops")
            .unwrap();
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn follows_a_configmap_style_symlink_swap() {
        let dir = temp_path("configmap").with_extension("d");
        std::fs::create_dir_all(dir.join("v1")).unwrap();
        std::fs::create_dir_all(dir.join("v2")).unwrap();
        std::fs::write(dir.join("v1/rules.yaml"), "keywords: [one]").unwrap();
        std::fs::write(dir.join("v2/rules.yaml"), "keywords: [two]").unwrap();
        std::os::unix::fs::symlink("v1", dir.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/rules.yaml", dir.join("rules.yaml")).unwrap();

        let set = RuleSet::load(dir.join("rules.yaml"), None).await.unwrap();
        let task = set.spawn_reloader(Duration::from_millis(20), |_| {});
        assert!(!set.current().check(&prompt(&["one"])).is_allow());

        std::os::unix::fs::symlink("v2", dir.join("..data_tmp")).unwrap();
        std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
        eventually("the swapped rules", || {
            !set.current().check(&prompt(&["two"])).is_allow()
        })
        .await;
        task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn fixed_rules_have_nothing_to_reload() {
        let set = RuleSet::fixed(Rules::parse("keywords: [x]", None).unwrap());
        let clone = set.clone();
        assert!(!clone.current().check(&prompt(&["X"])).is_allow());
        assert!(set.path().is_none());
        set.spawn_reloader(Duration::from_millis(1), |_| panic!("no reloads"))
            .await
            .unwrap();
    }

    // ---- moderation ----

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

        #[test]
        fn check_never_panics(texts in prop::collection::vec(any::<String>(), 0..4)) {
            let rules = Rules::parse(
                "keywords: [炸弹, ＡＢ, 'ǅ', 'İ']\npatterns: ['(?i)a.b', '^\\s*$']\nmaxPromptChars: 64",
                None,
            ).unwrap();
            let prompt = Prompt { texts };
            let verdict = rules.check(&prompt);
            if prompt.chars() > 64 {
                prop_assert!(
                    matches!(verdict, Verdict::Block(Reason::TooLong { .. })),
                    "expected too long"
                );
            }
        }
    }
}
