//! The labeling sidecar against calling the model server directly, side by side in one run.
//!
//! A fake OpenAI-compatible model server and a load generator run in this process on loopback;
//! the sidecar is the real `aigc-labeler` binary in its own process. Each scenario alternates
//! direct and proxied rounds and keeps the best round of each, so both see the same machine.
//!
//! Figures: requests/s, latency p50/p99 (for streams, time to the first chunk) and what the
//! sidecar adds, for small JSON completions, streamed completions and ~1 MiB images; and the
//! sidecar's resident memory per in-flight stream.
//!
//! `cargo bench --bench labeler` (set `LABELER_BENCH_QUICK=1` for a short run).

mod common;

use fake_model_server as model_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use model_server::ModelServer;
use serde_json::json;

use common::{Sidecar, cpu_time, rss_kib, split_cpus, start_sidecar};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client(connections: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(connector)
}

#[derive(Clone, Copy)]
enum Measure {
    /// Until the whole body is read.
    Whole,
    /// Until the first body chunk (then the rest is read, untimed).
    FirstChunk,
}

struct Round {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// CPU of this process (load generator and model server) and of the sidecar, per request.
    bench_cpu: Duration,
    sidecar_cpu: Duration,
}

/// `requests` requests from `concurrency` tasks, each sending one after another.
#[allow(clippy::too_many_arguments)]
async fn round(
    sidecar_pid: u32,
    client: &HttpClient,
    target: SocketAddr,
    path: &'static str,
    body: Bytes,
    concurrency: usize,
    requests: usize,
    measure: Measure,
) -> Round {
    let next = Arc::new(AtomicUsize::new(0));
    let (bench_cpu, sidecar_cpu) = (cpu_time("self"), cpu_time(&sidecar_pid.to_string()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, body) = (client.clone(), next.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let request = Request::post(format!("http://{target}{path}"))
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .unwrap();
                let sent = Instant::now();
                let response = client.request(request).await.expect("request");
                assert!(response.status().is_success(), "{}", response.status());
                let mut body = response.into_body();
                let mut first = None;
                while let Some(frame) = body.frame().await {
                    let frame = frame.expect("body");
                    if first.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
                        first = Some(sent.elapsed());
                    }
                }
                latencies.push(match measure {
                    Measure::Whole => sent.elapsed(),
                    Measure::FirstChunk => first.expect("a chunk"),
                });
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed();
    let bench_cpu = cpu_time("self").saturating_sub(bench_cpu) / requests as u32;
    let sidecar_cpu =
        cpu_time(&sidecar_pid.to_string()).saturating_sub(sidecar_cpu) / requests as u32;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Round {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        bench_cpu,
        sidecar_cpu,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// One comparison: what is asked, of which sidecar, how hard, and how fast the model answers.
struct Scenario {
    name: &'static str,
    path: &'static str,
    body: serde_json::Value,
    concurrency: usize,
    requests: usize,
    measure: Measure,
    /// The model's time before answering and between stream events.
    service: Duration,
    chunk_interval: Duration,
}

async fn compare(upstream: &ModelServer, sidecar: &Sidecar, s: Scenario, rounds: usize) {
    let state = &upstream.state;
    state
        .service_time_us
        .store(s.service.as_micros() as u64, Ordering::SeqCst);
    state
        .chunk_interval_us
        .store(s.chunk_interval.as_micros() as u64, Ordering::SeqCst);
    let body = Bytes::from(s.body.to_string());
    let pid = sidecar.child.id();
    let direct_client = client(s.concurrency);
    let proxy_client = client(s.concurrency);
    let targets = [
        (&direct_client, upstream.addr),
        (&proxy_client, sidecar.addr),
    ];
    // Warm both paths: connections open, pools full, caches filled.
    for (client, target) in targets {
        let warm = s.concurrency * 2;
        round(
            pid,
            client,
            target,
            s.path,
            body.clone(),
            s.concurrency,
            warm,
            s.measure,
        )
        .await;
    }
    let mut best: [Option<Round>; 2] = [None, None];
    for _ in 0..rounds {
        for (slot, (client, target)) in targets.into_iter().enumerate() {
            let r = round(
                pid,
                client,
                target,
                s.path,
                body.clone(),
                s.concurrency,
                s.requests,
                s.measure,
            )
            .await;
            if best[slot]
                .as_ref()
                .is_none_or(|b| r.per_second > b.per_second)
            {
                best[slot] = Some(r);
            }
        }
    }
    let [Some(direct), Some(proxied)] = best else {
        unreachable!()
    };
    let added = |p: Duration, d: Duration| {
        if p >= d {
            ms(p - d)
        } else {
            format!("-{}", ms(d - p))
        }
    };
    let model = if s.service.is_zero() {
        "model answers at once".to_string()
    } else {
        format!(
            "model takes {} ms{}",
            s.service.as_millis(),
            if s.chunk_interval.is_zero() {
                String::new()
            } else {
                format!(", {} ms between events", s.chunk_interval.as_millis())
            }
        )
    };
    println!(
        "{} ({}; {} concurrent, {} requests a round, best of {rounds}):",
        s.name, model, s.concurrency, s.requests
    );
    let line = |who: &str, r: &Round| {
        println!(
            "  {who}: {:>8.0} req/s   p50 {}   p99 {}   CPU/request: generator+model {} µs, sidecar {} µs",
            r.per_second,
            ms(r.p50),
            ms(r.p99),
            r.bench_cpu.as_micros(),
            r.sidecar_cpu.as_micros()
        )
    };
    line("direct ", &direct);
    line("sidecar", &proxied);
    println!(
        "  added  : p50 {}   p99 {}   throughput {:.2}x direct",
        added(proxied.p50, direct.p50),
        added(proxied.p99, direct.p99),
        proxied.per_second / direct.per_second
    );
}

/// Opens `streams` completions that the model server holds open after their first events, and
/// reads the sidecar's resident memory before and with all of them in flight.
async fn memory_per_stream(upstream: &ModelServer, sidecar: &Sidecar, streams: usize) {
    upstream.state.hold_streams.store(true, Ordering::SeqCst);
    let pid = sidecar.child.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);
    let client = client(streams);
    let body = Bytes::from(json!({"stream": true, "messages": []}).to_string());
    let mut open = Vec::new();
    for _ in 0..streams {
        let request = Request::post(format!("http://{}/v1/chat/completions", sidecar.addr))
            .body(Full::new(body.clone()))
            .unwrap();
        let client = client.clone();
        open.push(tokio::spawn(async move {
            let mut body = client.request(request).await.unwrap().into_body();
            // The first events are through: the stream is in flight on both sides.
            body.frame().await.unwrap().unwrap();
            body
        }));
    }
    let mut bodies = Vec::new();
    for task in open {
        bodies.push(task.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = rss_kib(pid);
    println!(
        "memory: {streams} streams in flight: sidecar RSS {} KiB -> {} KiB, {:.1} KiB per stream (goal < 64 KiB)",
        before,
        during,
        during.saturating_sub(before) as f64 / streams as f64
    );
    upstream.state.hold_streams.store(false, Ordering::SeqCst);
    upstream.state.release.notify_waiters();
    drop(bodies);
}

fn main() {
    let quick = std::env::var_os("LABELER_BENCH_QUICK").is_some();
    let (rounds, scale) = if quick { (1, 1) } else { (3, 4) };
    let split = split_cpus();
    if split {
        // Before the runtime starts, so every thread it makes inherits CPU 0.
        common::pin_self("0");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let upstream = ModelServer::start().await;
        let sidecar = start_sidecar(upstream.addr, split, &["--image-notice", "off"]);
        let stamping = start_sidecar(upstream.addr, split, &[]);
        if split {
            println!("aigc-labeler against the model server directly, loopback; CPU 0: load generator and model server, CPU 1: sidecar");
        } else {
            println!("aigc-labeler against the model server directly, loopback; all CPUs shared by load generator, model server and sidecar");
        }
        let chat =
            json!({"messages": [{"role": "user", "content": "What is the capital of France?"}]});
        let stream =
            json!({"stream": true, "messages": [{"role": "user", "content": "Tell me a story"}]});
        let image = json!({"prompt": "noise", "size": "600x600", "noise": true});
        println!(
            "images: one {:.2} MiB PNG per response",
            model_server::noisy_picture(600).len() as f64 / (1 << 20) as f64
        );
        let ms = Duration::from_millis;
        let scenarios = [
            // The worst case: a model server that costs nothing, so every cycle the sidecar
            // spends is taken from the load generator and the model server on the same CPUs.
            Scenario {
                name: "small JSON chat completion",
                path: "/v1/chat/completions",
                body: chat.clone(),
                concurrency: 500,
                requests: 5_000 * scale,
                measure: Measure::Whole,
                service: ms(0),
                chunk_interval: ms(0),
            },
            Scenario {
                name: "streamed completion, time to first chunk",
                path: "/v1/chat/completions",
                body: stream.clone(),
                concurrency: 500,
                requests: 3_000 * scale,
                measure: Measure::FirstChunk,
                service: ms(0),
                chunk_interval: ms(0),
            },
            // A model server that takes time, as real ones do.
            Scenario {
                name: "small JSON chat completion",
                path: "/v1/chat/completions",
                body: chat,
                concurrency: 500,
                requests: 5_000 * scale,
                measure: Measure::Whole,
                service: ms(50),
                chunk_interval: ms(0),
            },
            Scenario {
                name: "streamed completion, time to first chunk",
                path: "/v1/chat/completions",
                body: stream.clone(),
                concurrency: 500,
                requests: 3_000 * scale,
                measure: Measure::FirstChunk,
                service: ms(50),
                chunk_interval: ms(10),
            },
            Scenario {
                name: "streamed completion, whole stream",
                path: "/v1/chat/completions",
                body: stream,
                concurrency: 500,
                requests: 3_000 * scale,
                measure: Measure::Whole,
                service: ms(50),
                chunk_interval: ms(10),
            },
            Scenario {
                name: "1 MiB image, implicit label only",
                path: "/v1/images/generations",
                body: image.clone(),
                concurrency: 16,
                requests: 200 * scale,
                measure: Measure::Whole,
                service: ms(0),
                chunk_interval: ms(0),
            },
            Scenario {
                name: "1 MiB image, implicit label only",
                path: "/v1/images/generations",
                body: image.clone(),
                concurrency: 16,
                requests: 200 * scale,
                measure: Measure::Whole,
                service: ms(200),
                chunk_interval: ms(0),
            },
        ];
        for scenario in scenarios {
            compare(&upstream, &sidecar, scenario, rounds).await;
        }
        let drawn = Scenario {
            name: "1 MiB image, visible notice drawn + implicit label",
            path: "/v1/images/generations",
            body: image,
            concurrency: 16,
            requests: 50 * scale,
            measure: Measure::Whole,
            service: ms(200),
            chunk_interval: ms(0),
        };
        compare(&upstream, &stamping, drawn, rounds).await;
        upstream.state.service_time_us.store(0, Ordering::SeqCst);
        upstream.state.chunk_interval_us.store(0, Ordering::SeqCst);
        // Memory on a sidecar of its own, so the images above do not colour it: warmed by one
        // round of streams, then measured with 500 held open.
        drop((sidecar, stamping));
        let fresh = start_sidecar(upstream.addr, split, &["--image-notice", "off"]);
        let stream = json!({"stream": true, "messages": []});
        let body = Bytes::from(stream.to_string());
        let warm = client(500);
        let pid = fresh.child.id();
        round(
            pid,
            &warm,
            fresh.addr,
            "/v1/chat/completions",
            body,
            500,
            2_000,
            Measure::Whole,
        )
        .await;
        drop(warm);
        memory_per_stream(&upstream, &fresh, 500).await;
    });
}
