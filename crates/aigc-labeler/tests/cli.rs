//! The `aigc-labeler` binary as a process: configured by environment only (as the operator
//! injects it), logs that keep no user text, SIGTERM, and the `verify` subcommand.

use fake_model_server as model_server;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use model_server::{ModelServer, free_port};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_aigc-labeler");
const SECRET_PROMPT: &str = "my-very-private-question-about-forbidden-things";
const QUIET_PROMPT: &str = "another-private-question-nobody-should-log";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aigc-labeler-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Sidecar {
    child: Child,
    port: u16,
    log: PathBuf,
}

fn start(dir: &Path, upstream: &str, extra_env: &[(&str, &str)]) -> Sidecar {
    let key = dir.join("key");
    std::fs::write(&key, "0123456789abcdef0123\n").unwrap();
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, "keywords: [forbidden]\n").unwrap();
    let (port, admin) = (free_port(), free_port());
    let log = dir.join(format!("stdout-{port}.log"));
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env_clear()
        .env("AIGC_LABELER_LISTEN", format!("127.0.0.1:{port}"))
        .env("AIGC_LABELER_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
        .env("AIGC_LABELER_UPSTREAM", upstream)
        .env("AIGC_LABELER_PRODUCER", "provider-code-42")
        .env("AIGC_LABELER_KEY_FILE", &key)
        .env("AIGC_LABELER_RULES_FILE", &rules)
        .env("AIGC_LABELER_JSON_LOGS", "true")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit());
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let sidecar = Sidecar { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(20);
    // Both listeners: the proxy's and the admin one are bound one after the other.
    let listening = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
    while !(listening(admin) && listening(port)) {
        assert!(
            Instant::now() < deadline,
            "sidecar did not start: {}",
            sidecar.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sidecar
}

impl Sidecar {
    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as the kubelet sends it; returns whether the process exited cleanly.
    fn terminate(mut self) -> (bool, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.logs());
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One HTTP/1.1 request over a plain socket; returns the status code and body.
fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

fn chat(text: &str) -> String {
    json!({"messages": [{"role": "user", "content": text}]}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn configured_by_environment_logs_no_user_text_and_stops_on_sigterm() {
    let upstream = ModelServer::start().await;
    let dir = scratch("env");
    let url = upstream.url();
    let (blocked, passed, logs, clean) = tokio::task::spawn_blocking(move || {
        let sidecar = start(&dir, &url, &[]);
        let blocked = post(sidecar.port, "/v1/chat/completions", &chat(SECRET_PROMPT));
        let passed = post(sidecar.port, "/v1/chat/completions", &chat(QUIET_PROMPT));
        let (clean, logs) = sidecar.terminate();
        (blocked, passed, logs, clean)
    })
    .await
    .unwrap();
    assert_eq!(blocked.0, 400, "{}", blocked.1);
    assert_eq!(passed.0, 200, "{}", passed.1);
    assert!(
        passed.1.contains("provider-code-42"),
        "producer from the environment"
    );
    assert!(clean, "exit status after SIGTERM: {logs}");
    // Structured logs: one JSON object a line, requests logged, no user or model text.
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "request"),
        "{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "prompt refused"),
        "{logs}"
    );
    for text in [SECRET_PROMPT, QUIET_PROMPT, "Paris"] {
        assert!(!logs.contains(text), "{text} leaked into the logs: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_prompts_are_logged_only_when_asked() {
    let upstream = ModelServer::start().await;
    let dir = scratch("log-content");
    let url = upstream.url();
    let logs = tokio::task::spawn_blocking(move || {
        let sidecar = start(&dir, &url, &[("AIGC_LABELER_LOG_CONTENT", "true")]);
        post(sidecar.port, "/v1/chat/completions", &chat(SECRET_PROMPT));
        sidecar.terminate().1
    })
    .await
    .unwrap();
    assert!(logs.contains(SECRET_PROMPT), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_reports_the_record_and_catches_tampering() {
    let upstream = ModelServer::start().await;
    let dir = scratch("verify");
    let url = upstream.url();
    let key = dir.join("key");
    let body = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let sidecar = start(&dir, &url, &[]);
            let (_, body) = post(sidecar.port, "/v1/chat/completions", &chat("hello"));
            sidecar.terminate();
            body
        })
        .await
        .unwrap()
    };
    let good = dir.join("response.json");
    std::fs::write(&good, &body).unwrap();
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, body.replace("Paris", "Rome")).unwrap();
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, [0u8, 159, 146, 150]).unwrap();

    let run = |args: &[&Path]| {
        let output = Command::new(BIN).arg("verify").args(args).output().unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let key_flag = Path::new("--key-file");
    let (code, out, _) = run(&[&good, key_flag, &key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ContentProducer: provider-code-42"), "{out}");
    assert!(out.contains("anti-tamper value: intact"), "{out}");
    let (code, out, _) = run(&[&bad, key_flag, &key]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("TAMPERED"), "{out}");
    let (code, out, _) = run(&[&good]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not checked"), "{out}");
    let (code, _, err) = run(&[&junk]);
    assert_eq!(code, 2);
    assert!(err.contains("not a labeled format"), "{err}");
}

/// The JSON log lines a sidecar wrote that say `message`.
fn log_lines(logs: &str, message: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .filter(|l| l["fields"]["message"] == message)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_is_logged_with_its_whole_duration_and_its_time_to_first_byte() {
    let upstream = ModelServer::start().await;
    // After its first event the model server waits 40 ms before each of the other four: the
    // stream lasts at least 160 ms after its head went out.
    upstream
        .state
        .chunk_interval_us
        .store(40_000, std::sync::atomic::Ordering::SeqCst);
    let dir = scratch("stream-log");
    let url = upstream.url();
    let (whole, streamed, logs) = tokio::task::spawn_blocking(move || {
        let sidecar = start(&dir, &url, &[]);
        let whole = post(sidecar.port, "/v1/chat/completions", &chat("hello"));
        let body = json!({"stream": true, "messages": [{"role": "user", "content": "hello"}]});
        let streamed = post(sidecar.port, "/v1/chat/completions", &body.to_string());
        (whole, streamed, sidecar.terminate().1)
    })
    .await
    .unwrap();
    assert_eq!(whole.0, 200, "{}", whole.1);
    assert_eq!(streamed.0, 200, "{}", streamed.1);
    assert!(streamed.1.contains("[DONE]"), "{}", streamed.1);
    let requests = log_lines(&logs, "request");
    assert_eq!(requests.len(), 2, "{logs}");
    // The whole answer: one duration, no time to first byte.
    let fields = &requests[0]["fields"];
    assert!(fields["elapsed_ms"].as_f64().is_some(), "{fields}");
    assert!(fields.get("first_byte_ms").is_none(), "{fields}");
    // The stream, logged when it ended: its whole duration and the time until its head.
    let fields = &requests[1]["fields"];
    assert_eq!(fields["outcome"], "labeled", "{fields}");
    let elapsed = fields["elapsed_ms"].as_f64().expect("elapsed_ms");
    let first_byte = fields["first_byte_ms"].as_f64().expect("first_byte_ms");
    assert!(first_byte >= 0.0, "{fields}");
    assert!(
        elapsed - first_byte >= 160.0,
        "elapsed_ms covers the whole stream, not only its start: {fields}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_runtime_per_cpu_by_default_and_one_work_stealing_runtime_by_environment() {
    let upstream = ModelServer::start().await;
    let dir = scratch("runtime");
    let url = upstream.url();
    let runs = tokio::task::spawn_blocking(move || {
        [None, Some("multi")].map(|runtime| {
            let env: Vec<(&str, &str)> = runtime
                .map(|r| ("AIGC_LABELER_RUNTIME", r))
                .into_iter()
                .collect();
            let sidecar = start(&dir, &url, &env);
            // A connection each: per core, the kernel spreads them over the listeners.
            let answers: Vec<_> = (0..8)
                .map(|_| post(sidecar.port, "/v1/chat/completions", &chat("hello")))
                .collect();
            let (clean, logs) = sidecar.terminate();
            (answers, logs, clean)
        })
    })
    .await
    .unwrap();
    let cpus = std::thread::available_parallelism().unwrap().get() as u64;
    for ((answers, logs, clean), runtime) in runs.into_iter().zip(["per-core", "multi"]) {
        for (code, body) in &answers {
            assert_eq!(*code, 200, "{body}");
            assert!(body.contains("provider-code-42"), "{body}");
        }
        assert!(clean, "exit status after SIGTERM: {logs}");
        let started = log_lines(&logs, "labeling proxy started");
        assert_eq!(started.len(), 1, "{logs}");
        assert_eq!(started[0]["fields"]["runtime"], runtime, "{logs}");
        if runtime == "per-core" {
            assert_eq!(started[0]["fields"]["threads"], cpus, "{logs}");
        }
        assert_eq!(log_lines(&logs, "request").len(), 8, "{logs}");
    }
}
