//! Latency tails: what the sidecar adds to p50, p99 and p99.9 at 1, 50 and 500 concurrent
//! keep-alive connections, against calling the model server directly, side by side in one run.
//!
//! The fake model server and the load generator run in this process; every sidecar is the
//! `aigc-labeler` binary in a process of its own. Each connection is one HTTP/1.1 connection
//! that sends its next request when the last answer has been read (its start staggered over one
//! model service time, so they do not arrive in waves). One round is a few seconds of that
//! against one target; each round visits every target, in an order that rotates from round to
//! round, and a figure is the median over the rounds. What the sidecar adds is the median of
//! its difference to the direct figure of the same round.
//!
//! Cells: 1 connection to a model that answers at once (the sidecar's own cost, unloaded); 50
//! and 500 connections to a model that takes 50 ms to answer (1,000 and 10,000 requests/s);
//! each for small JSON chat completions (until the whole body is read) and streamed ones (time
//! to the first chunk, and to the end of the stream: 5 chunks 10 ms apart after the 50 ms).
//!
//! The sidecars are configured as the operator deploys them (JSON logs at the default level,
//! a rules file), their logs going to /dev/null. Besides latency: requests/s, the sidecar's CPU
//! (share of one CPU, and µs per request), this process's CPU per request, the run-queue wait
//! per request (time runnable but not running, from /proc/PID/task/*/schedstat) of both, and
//! the sidecar's context switches per request.
//!
//! CPUs (with `taskset` and two or more CPUs): this process on CPU 0 unless
//! `LABELER_BENCH_CPUS=shared`. Sidecars: `LABELER_BENCH_SIDECARS`, a comma-separated list of
//! `RUNTIME@CPUS`: RUNTIME is `default` (the binary as it starts by default), `per-core` or
//! `multi` (passed as `AIGC_LABELER_RUNTIME`), or `before` (the binary named by
//! `LABELER_BENCH_BASELINE`, as it starts by default, e.g. a build of an earlier commit); CPUS
//! is a `taskset` list (`1`, `0-1`) or `all`. By default `per-core@1,multi@1,per-core@all,
//! multi@all` (with `shared`: the last two).
//!
//! `cargo bench -p aigc-labeler --bench latency`; `LABELER_BENCH_QUICK=1` for a short run,
//! `LABELER_BENCH_ROUNDS` and `LABELER_BENCH_ROUND_SECS` to change the defaults (6 rounds of
//! 2 s), `LABELER_BENCH_CELLS` to choose cells (e.g. `1-json,500-stream`),
//! `LABELER_BENCH_SERVICE_MS` for another model time in the cells of 50 and 500 connections
//! (500: 1,000 requests/s from 500 connections), `LABELER_BENCH_NICE` to run this process and
//! the sidecars at another niceness (e.g. `-10`, as root, so that other work on a shared
//! machine takes less of their CPUs).

mod common;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::json;

use common::{
    Sidecar, can_pin, context_switches, cpu_time, pin_self, run_queue_wait, start_sidecar_with,
};
use fake_model_server::ModelServer;

type Connection = SendRequest<Full<Bytes>>;

/// Where requests go: the model server itself, or a sidecar in front of it.
struct Target {
    name: String,
    addr: SocketAddr,
    sidecar: Option<Sidecar>,
}

impl Target {
    fn pid(&self) -> Option<u32> {
        self.sidecar.as_ref().map(|s| s.child.id())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Stream,
}

struct Cell {
    connections: usize,
    kind: Kind,
    /// The model's time before answering (before the first event of a stream).
    service: Duration,
    /// Between the events of a stream.
    interval: Duration,
}

impl Cell {
    fn key(&self) -> String {
        let kind = match self.kind {
            Kind::Json => "json",
            Kind::Stream => "stream",
        };
        format!("{}-{kind}", self.connections)
    }

    fn title(&self) -> String {
        let what = match self.kind {
            Kind::Json => "JSON chat completion",
            Kind::Stream => "streamed chat completion",
        };
        let model = if self.service.is_zero() {
            "model answers at once".to_string()
        } else if self.kind == Kind::Stream {
            format!(
                "model takes {} ms, then {} ms between events",
                self.service.as_millis(),
                self.interval.as_millis()
            )
        } else {
            format!("model takes {} ms", self.service.as_millis())
        };
        let plural = if self.connections == 1 { "" } else { "s" };
        format!("{what}, {} connection{plural}, {model}", self.connections)
    }
}

/// One request's latencies: to the first non-empty body chunk, and to the end of the body.
#[derive(Clone, Copy)]
struct Sample {
    first: Duration,
    whole: Duration,
}

/// p50, p99, p99.9.
type Tail = [Duration; 3];

fn tail(mut latencies: Vec<Duration>) -> Tail {
    latencies.sort_unstable();
    // Nearest rank.
    let at = |q: f64| {
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    [at(0.50), at(0.99), at(0.999)]
}

struct Round {
    first: Tail,
    whole: Tail,
    requests: usize,
    per_second: f64,
    /// CPU used over the round's wall time, of this process and of the sidecar.
    bench_cpu: f64,
    sidecar_cpu: Option<f64>,
    /// Run-queue wait per request, of this process's threads and of the sidecar's.
    bench_wait: Duration,
    sidecar_wait: Option<Duration>,
    /// The sidecar's context switches per request.
    sidecar_switches: Option<f64>,
}

async fn connect(addr: SocketAddr) -> Connection {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

fn request(body: &Bytes) -> Request<Full<Bytes>> {
    Request::post("/v1/chat/completions")
        .header(http::header::HOST, "bench")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body.clone()))
        .unwrap()
}

/// Sends one request and reads its answer whole, timing it.
async fn exchange(connection: &mut Connection, body: &Bytes, labeled: bool) -> Sample {
    connection.ready().await.expect("connection ready");
    let sent = Instant::now();
    let response = connection
        .send_request(request(body))
        .await
        .expect("response");
    assert!(response.status().is_success(), "{}", response.status());
    if labeled {
        assert_eq!(
            response.headers().get("aigc-label").map(|v| v.as_bytes()),
            Some(&b"1"[..]),
            "the sidecar's answer is labeled"
        );
    }
    let mut body = response.into_body();
    let mut first = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("body");
        if first.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
            first = Some(sent.elapsed());
        }
    }
    let whole = sent.elapsed();
    Sample {
        first: first.unwrap_or(whole),
        whole,
    }
}

/// `cell.connections` connections to `target`, each opened and warmed by one untimed request,
/// then all sending for `length`.
async fn round(target: &Target, cell: &Cell, body: &Bytes, length: Duration) -> Round {
    let labeled = target.sidecar.is_some();
    let mut opening = Vec::new();
    for _ in 0..cell.connections {
        let (addr, body) = (target.addr, body.clone());
        opening.push(tokio::spawn(async move {
            let mut connection = connect(addr).await;
            exchange(&mut connection, &body, labeled).await;
            connection
        }));
    }
    let mut connections = Vec::new();
    for task in opening {
        connections.push(task.await.unwrap());
    }
    let pid = target.pid().map(|p| p.to_string());
    let bench_cpu = cpu_time("self");
    let sidecar_cpu = pid.as_deref().map(cpu_time);
    let bench_wait = run_queue_wait("self");
    let sidecar_wait = pid.as_deref().map(run_queue_wait);
    let sidecar_switches = pid.as_deref().map(context_switches);
    let start = Instant::now();
    let deadline = start + cell.service + length;
    let n = cell.connections as u32;
    let mut tasks = Vec::new();
    for (i, mut connection) in connections.into_iter().enumerate() {
        let body = body.clone();
        let stagger = cell.service * i as u32 / n;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(stagger).await;
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                samples.push(exchange(&mut connection, &body, labeled).await);
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    let wall = start.elapsed();
    let share = |used: Duration| used.as_secs_f64() / wall.as_secs_f64();
    let bench_cpu = share(cpu_time("self").saturating_sub(bench_cpu));
    let sidecar_cpu = pid
        .as_deref()
        .zip(sidecar_cpu)
        .map(|(pid, before)| share(cpu_time(pid).saturating_sub(before)));
    let count = samples.len().max(1) as u32;
    let bench_wait = run_queue_wait("self").saturating_sub(bench_wait) / count;
    let sidecar_wait = pid
        .as_deref()
        .zip(sidecar_wait)
        .map(|(pid, before)| run_queue_wait(pid).saturating_sub(before) / count);
    let sidecar_switches = pid.as_deref().zip(sidecar_switches).map(|(pid, before)| {
        context_switches(pid).saturating_sub(before) as f64 / f64::from(count)
    });
    Round {
        first: tail(samples.iter().map(|s| s.first).collect()),
        whole: tail(samples.iter().map(|s| s.whole).collect()),
        requests: samples.len(),
        per_second: samples.len() as f64 / wall.as_secs_f64(),
        bench_cpu,
        sidecar_cpu,
        bench_wait,
        sidecar_wait,
        sidecar_switches,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.3}", seconds * 1e3)
}

fn signed_ms(seconds: f64) -> String {
    format!("{:+.3}", seconds * 1e3)
}

/// A cell's figures for one target: per percentile, the median over rounds, and the median
/// of the paired differences to direct.
struct Figures {
    name: String,
    value: [f64; 3],
    added: Option<[f64; 3]>,
    /// Lowest and highest added p99 over the rounds.
    added_p99_range: Option<(f64, f64)>,
    per_second: f64,
    requests: usize,
    bench_cpu: f64,
    sidecar_cpu: Option<f64>,
    /// Run-queue wait per request, in seconds.
    bench_wait: f64,
    sidecar_wait: Option<f64>,
    sidecar_switches: Option<f64>,
}

fn figures(
    targets: &[Target],
    rounds: &[Vec<Round>],
    pick: impl Fn(&Round) -> Tail,
) -> Vec<Figures> {
    let secs = |r: &Round, i: usize| pick(r)[i].as_secs_f64();
    targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let mine = &rounds[t];
            let value = [0, 1, 2].map(|i| median(mine.iter().map(|r| secs(r, i)).collect()));
            let differences = |i: usize| -> Vec<f64> {
                mine.iter()
                    .zip(&rounds[0])
                    .map(|(r, d)| secs(r, i) - secs(d, i))
                    .collect()
            };
            let (added, added_p99_range) = if t == 0 {
                (None, None)
            } else {
                let p99 = differences(1);
                let range = p99
                    .iter()
                    .copied()
                    .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
                (Some([0, 1, 2].map(|i| median(differences(i)))), Some(range))
            };
            Figures {
                name: target.name.clone(),
                value,
                added,
                added_p99_range,
                per_second: median(mine.iter().map(|r| r.per_second).collect()),
                requests: mine.iter().map(|r| r.requests).sum(),
                bench_cpu: median(mine.iter().map(|r| r.bench_cpu).collect()),
                sidecar_cpu: mine
                    .iter()
                    .map(|r| r.sidecar_cpu)
                    .collect::<Option<Vec<_>>>()
                    .map(median),
                bench_wait: median(mine.iter().map(|r| r.bench_wait.as_secs_f64()).collect()),
                sidecar_wait: mine
                    .iter()
                    .map(|r| r.sidecar_wait.map(|w| w.as_secs_f64()))
                    .collect::<Option<Vec<_>>>()
                    .map(median),
                sidecar_switches: mine
                    .iter()
                    .map(|r| r.sidecar_switches)
                    .collect::<Option<Vec<_>>>()
                    .map(median),
            }
        })
        .collect()
}

fn print_figures(what: &str, figures: &[Figures], summary: &mut String, cell: &str) {
    println!("  {what} (ms)");
    println!(
        "    {:<16} {:>8} {:>8} {:>8}   {:>8} {:>8} {:>8}   {:>6}   {:>11} {:>8} {:>8}   {:>6} {:>7} {:>8}",
        "",
        "p50",
        "p99",
        "p99.9",
        "+p50",
        "+p99",
        "+p99.9",
        "req/s",
        "sidecar CPU",
        "µs/req",
        "gen µs",
        "wait",
        "sidecar",
        "switches"
    );
    for f in figures {
        let added = f.added.map_or_else(
            || format!("{:>8} {:>8} {:>8}", "", "", ""),
            |a| {
                format!(
                    "{:>8} {:>8} {:>8}",
                    signed_ms(a[0]),
                    signed_ms(a[1]),
                    signed_ms(a[2])
                )
            },
        );
        let per_request = |cpu: f64| cpu / f.per_second * 1e6;
        let (sidecar_share, sidecar_cost) = f.sidecar_cpu.map_or_else(
            || (String::new(), String::new()),
            |c| {
                (
                    format!("{:.0}%", c * 100.0),
                    format!("{:.0}", per_request(c)),
                )
            },
        );
        let sidecar_wait = f
            .sidecar_wait
            .map_or_else(String::new, |w| format!("{:.0}", w * 1e6));
        let switches = f
            .sidecar_switches
            .map_or_else(String::new, |n| format!("{n:.2}"));
        println!(
            "    {:<16} {:>8} {:>8} {:>8}   {added}   {:>6.0}   {:>11} {:>8} {:>8.0}   {:>6.0} {:>7} {:>8}",
            f.name,
            ms(f.value[0]),
            ms(f.value[1]),
            ms(f.value[2]),
            f.per_second,
            sidecar_share,
            sidecar_cost,
            per_request(f.bench_cpu),
            f.bench_wait * 1e6,
            sidecar_wait,
            switches
        );
        if let Some((lo, hi)) = f.added_p99_range {
            let _ = writeln!(
                summary,
                "| {cell} | {what} | {} | {} | {} / {} / {} | {} / {} / {} | {} .. {} |",
                f.name,
                f.requests,
                ms(f.value[0]),
                ms(f.value[1]),
                ms(f.value[2]),
                signed_ms(f.added.unwrap()[0]),
                signed_ms(f.added.unwrap()[1]),
                signed_ms(f.added.unwrap()[2]),
                signed_ms(lo),
                signed_ms(hi)
            );
        } else {
            let _ = writeln!(
                summary,
                "| {cell} | {what} | {} | {} | {} / {} / {} | | |",
                f.name,
                f.requests,
                ms(f.value[0]),
                ms(f.value[1]),
                ms(f.value[2])
            );
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The sidecars to compare, from `LABELER_BENCH_SIDECARS` or the default for this arrangement.
fn sidecar_specs(split: bool) -> Vec<(String, Option<String>)> {
    let default = if split {
        "per-core@1,multi@1,per-core@all,multi@all"
    } else {
        "per-core@all,multi@all"
    };
    let list = std::env::var("LABELER_BENCH_SIDECARS").unwrap_or_else(|_| default.to_string());
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|spec| {
            let (runtime, cpus) = spec.split_once('@').unwrap_or((spec, "all"));
            let cpus = (cpus != "all").then(|| cpus.to_string());
            (runtime.to_string(), cpus)
        })
        .collect()
}

/// A rules file like the example in `deploy/`: a few keywords and a pattern.
fn rules_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aigc-labeler-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.yaml");
    let rules = "keywords: [炸弹, make a bomb, {keyword: 爆炸物, ignoreSpaces: true}]\n\
                 patterns: ['(?i)\\bssn:\\s*\\d{3}-\\d{2}-\\d{4}']\n\
                 maxPromptChars: 32000\n";
    std::fs::write(&path, rules).unwrap();
    path
}

/// A sidecar configured as the operator deploys it (JSON logs at the default level, a rules
/// file), its logs to /dev/null; the image notice is off, as no images are asked for.
fn start(upstream: SocketAddr, runtime: &str, cpus: Option<&str>, rules: &Path) -> Sidecar {
    let rules = rules.to_str().unwrap();
    let extra = [
        "--image-notice",
        "off",
        "--json-logs",
        "--rules-file",
        rules,
    ];
    let mut env = vec![("RUST_LOG", "info")];
    let binary: PathBuf = match runtime {
        "default" => common::BIN.into(),
        "before" => std::env::var_os("LABELER_BENCH_BASELINE")
            .expect("`before` needs LABELER_BENCH_BASELINE, the path of an earlier build")
            .into(),
        runtime => {
            env.push(("AIGC_LABELER_RUNTIME", runtime));
            common::BIN.into()
        }
    };
    start_sidecar_with(&binary, upstream, cpus, &extra, &env)
}

fn main() {
    let quick = std::env::var_os("LABELER_BENCH_QUICK").is_some();
    let rounds: usize = env_or("LABELER_BENCH_ROUNDS", if quick { 1 } else { 6 });
    let length = Duration::from_secs_f64(env_or(
        "LABELER_BENCH_ROUND_SECS",
        if quick { 1.0 } else { 2.0 },
    ));
    let shared = std::env::var("LABELER_BENCH_CPUS").is_ok_and(|v| v == "shared");
    let split = !shared && can_pin();
    if split {
        // Before the runtime starts, so every thread it makes inherits CPU 0.
        pin_self("0");
    }
    common::renice_self();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let upstream = ModelServer::start().await;
        let mut targets = vec![Target {
            name: "direct".to_string(),
            addr: upstream.addr,
            sidecar: None,
        }];
        let rules = rules_file();
        for (runtime, cpus) in sidecar_specs(split) {
            let sidecar = start(upstream.addr, &runtime, cpus.as_deref(), &rules);
            targets.push(Target {
                name: format!("{runtime}@{}", cpus.as_deref().unwrap_or("all")),
                addr: sidecar.addr,
                sidecar: Some(sidecar),
            });
        }
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "latency tails, loopback; load generator and model server on {}; sidecars named RUNTIME@CPUS; \
             {rounds} rounds of {:.1} s per target and cell, targets in rotating order; figures are medians over rounds, \
             + columns the median of the paired differences to direct; sidecar CPU: its share of one CPU and its CPU time \
             per request; gen µs: this process's (load generator and model server) CPU time per request; wait: the time \
             this process's and the sidecar's threads spent runnable but waiting for a CPU (run-queue wait), µs per request; \
             switches: the sidecar's context switches per request",
            if split { "CPU 0".to_string() } else { format!("all {cpus} CPUs") },
            length.as_secs_f64()
        );
        if let Some(nice) = common::niceness() {
            println!("this process and the sidecars run at niceness {nice} (LABELER_BENCH_NICE)");
        }
        let ms = Duration::from_millis;
        // The model's time to answer in the cells of 50 and 500 connections.
        let service = ms(env_or("LABELER_BENCH_SERVICE_MS", 50));
        let cells = [
            Cell { connections: 1, kind: Kind::Json, service: ms(0), interval: ms(0) },
            Cell { connections: 1, kind: Kind::Stream, service: ms(0), interval: ms(0) },
            Cell { connections: 50, kind: Kind::Json, service, interval: ms(0) },
            Cell { connections: 50, kind: Kind::Stream, service, interval: ms(10) },
            Cell { connections: 500, kind: Kind::Json, service, interval: ms(0) },
            Cell { connections: 500, kind: Kind::Stream, service, interval: ms(10) },
        ];
        let chosen = std::env::var("LABELER_BENCH_CELLS").ok();
        let mut summary = String::from(
            "| cell | measure | target | requests | p50 / p99 / p99.9 ms | added p50 / p99 / p99.9 ms | added p99, lowest .. highest round |\n|---|---|---|---|---|---|---|\n",
        );
        for cell in cells {
            if chosen
                .as_deref()
                .is_some_and(|c| !c.split(',').any(|k| k.trim() == cell.key()))
            {
                continue;
            }
            let state = &upstream.state;
            state
                .service_time_us
                .store(cell.service.as_micros() as u64, Ordering::SeqCst);
            state
                .chunk_interval_us
                .store(cell.interval.as_micros() as u64, Ordering::SeqCst);
            let body = match cell.kind {
                Kind::Json => json!({"messages": [{"role": "user", "content": "What is the capital of France?"}]}),
                Kind::Stream => json!({"stream": true, "messages": [{"role": "user", "content": "Tell me a story"}]}),
            };
            let body = Bytes::from(body.to_string());
            let mut results: Vec<Vec<Round>> = targets.iter().map(|_| Vec::new()).collect();
            for r in 0..rounds {
                for k in 0..targets.len() {
                    let t = (r + k) % targets.len();
                    let result = round(&targets[t], &cell, &body, length).await;
                    results[t].push(result);
                }
            }
            println!("{}:", cell.title());
            let key = cell.key();
            match cell.kind {
                Kind::Json => {
                    let f = figures(&targets, &results, |r| r.whole);
                    print_figures("whole answer", &f, &mut summary, &key);
                }
                Kind::Stream => {
                    let f = figures(&targets, &results, |r| r.first);
                    print_figures("first chunk", &f, &mut summary, &key);
                    let f = figures(&targets, &results, |r| r.whole);
                    print_figures("whole stream", &f, &mut summary, &key);
                }
            }
        }
        println!("\n{summary}");
    });
}
