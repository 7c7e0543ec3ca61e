//! Configuration of the sidecar: every flag also reads an environment variable, which is how the
//! operator passes it when it injects the sidecar.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::draw::Corner;
use super::safety::FailureMode;
use super::text::Position;

/// The default visible notice, in Chinese and English.
pub const DEFAULT_NOTICE: &str = "本内容由人工智能生成 / AI-generated";

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 500ms, 2s, 5m)"))
}

/// Whether images get the visible notice drawn on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImageNotice {
    /// Drawn on every PNG or JPEG image, plus the implicit label.
    On,
    /// Implicit label only.
    Off,
}

/// How the proxy's work is spread over the CPUs it may use (its affinity and CPU quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuntimeMode {
    /// A single-threaded runtime per CPU, each with its own listener on the same port
    /// (SO_REUSEPORT: the kernel spreads new connections over them) and its own connections
    /// to the model server. A connection stays on the thread that accepted it, so a request
    /// wakes no other thread: fewer context switches and less CPU per request than `multi`.
    PerCore,
    /// One work-stealing runtime with a worker thread per CPU and one listener: requests of
    /// one connection (HTTP/2 streams) are spread over the CPUs.
    Multi,
}

impl Default for RuntimeMode {
    /// Per core where SO_REUSEPORT spreads connections (Unix), one runtime elsewhere.
    fn default() -> Self {
        if cfg!(unix) {
            RuntimeMode::PerCore
        } else {
            RuntimeMode::Multi
        }
    }
}

/// The port the proxy listens on unless told otherwise: the one the operator's policies expect
/// by default (`spec.controls.sidecar.port`).
pub const DEFAULT_PORT: u16 = 8480;

#[derive(Args, Clone, Debug)]
pub struct ProxyArgs {
    /// Address the proxy listens on (what the Service targets). HTTP/1.1 and h2c. The port is
    /// the one the operator expects by default (`spec.controls.sidecar.port`).
    #[arg(long, env = "AIGC_LABELER_LISTEN", default_value = "0.0.0.0:8480")]
    pub listen: SocketAddr,

    /// Address of /healthz, /readyz and /metrics.
    #[arg(
        long,
        env = "AIGC_LABELER_ADMIN_LISTEN",
        default_value = "0.0.0.0:8481"
    )]
    pub admin_listen: SocketAddr,

    /// The model server, normally on localhost in the same pod.
    #[arg(
        long,
        env = "AIGC_LABELER_UPSTREAM",
        default_value = "http://127.0.0.1:8000"
    )]
    pub upstream: http::Uri,

    /// Speak HTTP/2 without TLS (prior knowledge) to the model server instead of HTTP/1.1.
    #[arg(long, env = "AIGC_LABELER_UPSTREAM_HTTP2")]
    pub upstream_http2: bool,

    /// The provider's name or code, written as ContentProducer.
    #[arg(long, env = "AIGC_LABELER_PRODUCER")]
    pub producer: String,

    /// File holding the key of the anti-tamper value (ReservedCode1), mounted from a Secret.
    /// At least 16 bytes; a trailing newline is ignored.
    #[arg(long, env = "AIGC_LABELER_KEY_FILE")]
    pub key_file: PathBuf,

    /// The visible notice on text and images.
    #[arg(long, env = "AIGC_LABELER_NOTICE", default_value = DEFAULT_NOTICE)]
    pub notice: String,

    /// Where the notice goes in a text.
    #[arg(long, env = "AIGC_LABELER_NOTICE_POSITION", value_enum, default_value_t = Position::Start)]
    pub notice_position: Position,

    /// Leave text without a visible notice (the implicit record is still added).
    #[arg(long, env = "AIGC_LABELER_NO_TEXT_NOTICE")]
    pub no_text_notice: bool,

    /// Draw the notice on images.
    #[arg(long, env = "AIGC_LABELER_IMAGE_NOTICE", value_enum, default_value_t = ImageNotice::On)]
    pub image_notice: ImageNotice,

    /// Corner of the image the notice is drawn in.
    #[arg(long, env = "AIGC_LABELER_IMAGE_NOTICE_CORNER", value_enum, default_value_t = Corner::BottomRight)]
    pub image_notice_corner: Corner,

    /// A TrueType/OpenType font for the image notice, when the notice uses characters the
    /// built-in font subset lacks.
    #[arg(long, env = "AIGC_LABELER_FONT_FILE")]
    pub font_file: Option<PathBuf>,

    /// Input-safety rules (YAML: keywords, patterns, maxPromptChars), reloaded when changed.
    #[arg(long, env = "AIGC_LABELER_RULES_FILE")]
    pub rules_file: Option<PathBuf>,

    /// How often the rules file is read for changes.
    #[arg(long, env = "AIGC_LABELER_RULES_RELOAD_INTERVAL", value_parser = duration, default_value = "10s")]
    pub rules_reload_interval: Duration,

    /// Longest prompt accepted, in characters, unless the rules file says otherwise.
    #[arg(long, env = "AIGC_LABELER_MAX_PROMPT_CHARS")]
    pub max_prompt_chars: Option<usize>,

    /// An external moderation endpoint (OpenAI moderation format), asked in addition to the rules.
    #[arg(long, env = "AIGC_LABELER_MODERATION_URL")]
    pub moderation_url: Option<http::Uri>,

    /// How long to wait for the moderation endpoint.
    #[arg(long, env = "AIGC_LABELER_MODERATION_TIMEOUT", value_parser = duration, default_value = "2s")]
    pub moderation_timeout: Duration,

    /// What to do when the moderation endpoint fails or times out.
    #[arg(long, env = "AIGC_LABELER_MODERATION_FAILURE", value_enum, default_value_t = FailureMode::Closed)]
    pub moderation_failure: FailureMode,

    /// File holding a bearer token for the moderation endpoint.
    #[arg(long, env = "AIGC_LABELER_MODERATION_TOKEN_FILE")]
    pub moderation_token_file: Option<PathBuf>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "AIGC_LABELER_MAX_REQUEST_BODY", default_value_t = 16 << 20)]
    pub max_request_body: usize,

    /// Largest response that is read whole to be labeled (JSON, images, audio), in bytes.
    #[arg(long, env = "AIGC_LABELER_MAX_RESPONSE_BODY", default_value_t = 64 << 20)]
    pub max_response_body: usize,

    /// Largest request head (request line and headers), in bytes.
    #[arg(long, env = "AIGC_LABELER_MAX_HEADER_BYTES", default_value_t = 64 << 10)]
    pub max_header_bytes: usize,

    /// Time allowed for the body of a request to a checked endpoint to arrive.
    #[arg(long, env = "AIGC_LABELER_REQUEST_TIMEOUT", value_parser = duration, default_value = "60s")]
    pub request_timeout: Duration,

    /// Refuse POST, PUT and PATCH to paths that are not known endpoints of the API (404)
    /// instead of passing them to the model server unchecked and unlabeled.
    #[arg(long, env = "AIGC_LABELER_STRICT_PATHS")]
    pub strict_paths: bool,

    /// Time allowed to connect to the model server.
    #[arg(long, env = "AIGC_LABELER_UPSTREAM_CONNECT_TIMEOUT", value_parser = duration, default_value = "2s")]
    pub upstream_connect_timeout: Duration,

    /// Time allowed for the model server to answer (until its response headers; a response
    /// read whole to be labeled must also be complete by then).
    #[arg(long, env = "AIGC_LABELER_UPSTREAM_TIMEOUT", value_parser = duration, default_value = "10m")]
    pub upstream_timeout: Duration,

    /// Time in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "AIGC_LABELER_DRAIN_TIMEOUT", value_parser = duration, default_value = "30s")]
    pub drain_timeout: Duration,

    /// Log prompt and output text. Off by default: user input is not kept without need (row 35).
    #[arg(long, env = "AIGC_LABELER_LOG_CONTENT")]
    pub log_content: bool,

    /// Logs as JSON lines.
    #[arg(long, env = "AIGC_LABELER_JSON_LOGS")]
    pub json_logs: bool,

    /// How requests are spread over the CPUs: `per-core` (a single-threaded runtime and
    /// listener per CPU; Unix only, the default there) or `multi` (one work-stealing runtime,
    /// for few client connections that carry many requests at once, such as one HTTP/2
    /// connection).
    #[arg(long, env = "AIGC_LABELER_RUNTIME", value_enum, default_value_t = RuntimeMode::default())]
    pub runtime: RuntimeMode,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ProxyArgs,
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["x", "--producer", "p", "--key-file", "k"]).unwrap();
        assert_eq!(cli.args.listen.port(), DEFAULT_PORT);
        assert_ne!(cli.args.admin_listen.port(), cli.args.listen.port());
        assert_eq!(cli.args.notice, DEFAULT_NOTICE);
        assert_eq!(cli.args.notice_position, Position::Start);
        assert_eq!(cli.args.runtime, RuntimeMode::default());
        #[cfg(unix)]
        assert_eq!(cli.args.runtime, RuntimeMode::PerCore);
    }

    #[test]
    fn the_runtime_flag_takes_multi_and_refuses_other_names() {
        let cli = Cli::try_parse_from([
            "x",
            "--producer",
            "p",
            "--key-file",
            "k",
            "--runtime",
            "multi",
        ])
        .unwrap();
        assert_eq!(cli.args.runtime, RuntimeMode::Multi);
        let error = Cli::try_parse_from([
            "x",
            "--producer",
            "p",
            "--key-file",
            "k",
            "--runtime",
            "fast",
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(
            error.contains("multi") && error.contains("per-core"),
            "{error}"
        );
    }

    #[test]
    fn durations_read_human_units_and_explain_mistakes() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        let error = duration("soon").unwrap_err();
        assert!(error.contains("examples: 500ms"), "{error}");
    }
}
