//! Serving: the runtimes, the proxy listener (HTTP/1.1 and h2c), the admin listener, graceful
//! shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::config::{ProxyArgs, RuntimeMode};
use super::metrics::Metrics;
use super::proxy::Labeler;

/// Runs the proxy and the admin listener on the runtime `args.runtime` asks for until
/// `shutdown` completes and in-flight requests are drained (or the drain timeout passes).
/// Mistakes in the configuration and listeners that cannot be bound are errors at once.
pub fn run(args: &ProxyArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    match args.runtime {
        RuntimeMode::Multi => run_multi(args, shutdown),
        RuntimeMode::PerCore => run_per_core(args, threads, shutdown),
    }
}

fn limits(args: &ProxyArgs) -> ListenerLimits {
    ListenerLimits {
        max_header_bytes: args.max_header_bytes,
        drain_timeout: args.drain_timeout,
    }
}

/// One work-stealing runtime, a worker thread per CPU.
fn run_multi(args: &ProxyArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("the runtime does not start")?;
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::default());
        let labeler = Arc::new(crate::build(args, metrics).await?);
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(listen = %args.listen, upstream = %args.upstream, runtime = "multi", "labeling proxy started");
        tokio::spawn(serve_admin(args.admin_listen, labeler.clone()));
        serve(listener, labeler, limits(args), shutdown).await;
        anyhow::Ok(())
    })
}

/// `threads` single-threaded runtimes, each serving its own SO_REUSEPORT listener with its own
/// connections to the model server. The calling thread runs the first, which also serves the
/// admin listener and the rules reloader, and waits for `shutdown`. [`run`] asks for one per
/// CPU.
#[cfg(unix)]
pub fn run_per_core(
    args: &ProxyArgs,
    threads: usize,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtimes = (0..threads.max(1))
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .collect::<std::io::Result<Vec<_>>>()
        .context("the runtimes do not start")?;
    let metrics = Arc::new(Metrics::default());
    let first = Arc::new(runtimes[0].block_on(crate::build(args, metrics))?);
    // Each listener is registered with its own runtime. A port 0 is chosen by the first and
    // taken by the others.
    let mut addr = args.listen;
    let mut listeners = Vec::with_capacity(runtimes.len());
    for runtime in &runtimes {
        let _entered = runtime.enter();
        let listener = reuse_port_listener(addr)
            .with_context(|| format!("cannot listen on {addr} (SO_REUSEPORT)"))?;
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    tracing::info!(listen = %addr, upstream = %args.upstream, runtime = "per-core", threads = runtimes.len(), "labeling proxy started");
    let limits = limits(args);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_asked = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means stop.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let mut pairs = runtimes.into_iter().zip(listeners);
    let (main_runtime, main_listener) = pairs.next().expect("at least one runtime");
    let mut workers = Vec::new();
    for (i, (runtime, listener)) in pairs.enumerate() {
        let labeler = Arc::new(first.sibling());
        let stopping = stop_asked(stopped.clone());
        let worker = std::thread::Builder::new()
            .name(format!("aigc-labeler-{}", i + 1))
            .spawn(move || runtime.block_on(serve(listener, labeler, limits, stopping)))
            .context("cannot start a serving thread")?;
        workers.push(worker);
    }
    main_runtime.block_on(async {
        tokio::spawn(serve_admin(args.admin_listen, first.clone()));
        let signalled = async {
            shutdown.await;
            let _ = stop.send(true);
        };
        tokio::join!(
            serve(main_listener, first, limits, stop_asked(stopped)),
            signalled
        );
    });
    for worker in workers {
        if worker.join().is_err() {
            anyhow::bail!("a serving thread panicked");
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn run_per_core(
    _args: &ProxyArgs,
    _threads: usize,
    _shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::bail!("--runtime per-core needs SO_REUSEPORT, which this platform lacks; use multi")
}

/// A listener on `addr` that other sockets of this process may bind too (SO_REUSEPORT): the
/// kernel hands each new connection to one of them. Must be called within a runtime.
#[cfg(unix)]
pub fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Limits of the listener itself.
#[derive(Clone, Copy, Debug)]
pub struct ListenerLimits {
    /// Largest request head; hyper answers 431 beyond it.
    pub max_header_bytes: usize,
    /// Time in-flight requests get after shutdown is asked.
    pub drain_timeout: Duration,
}

/// Serves the proxy on `listener` until `shutdown` completes, then stops accepting and waits
/// (up to the drain timeout) for in-flight requests and streams to finish.
pub async fn serve(
    listener: TcpListener,
    labeler: Arc<Labeler>,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's smallest read buffer is 8 KiB; the head must fit in it.
    builder
        .http1()
        .max_buf_size(limits.max_header_bytes.max(8192))
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder
        .http2()
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: keep serving what is open and retry shortly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let labeler = labeler.clone();
        let service = service_fn(move |request| {
            let labeler = labeler.clone();
            async move { Ok::<_, Infallible>(labeler.handle(request).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    // Refuse new connections at once; the kubelet has already taken the pod out of the Service.
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections drained"),
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!(timeout = ?limits.drain_timeout, "drain timeout reached; closing remaining connections");
        }
    }
}

/// `/healthz` (the process serves), `/readyz` (the model server accepts connections),
/// `/metrics`.
pub fn admin_router(labeler: Arc<Labeler>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(labeler): State<Arc<Labeler>>| async move {
                match upstream_reachable(&labeler).await {
                    Ok(()) => (StatusCode::OK, "ready".to_string()),
                    Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e),
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(labeler): State<Arc<Labeler>>| async move { labeler.metrics.render() }),
        )
        .with_state(labeler)
}

async fn upstream_reachable(labeler: &Labeler) -> Result<(), String> {
    let base = labeler.upstream.base();
    let host = base.host().unwrap_or("127.0.0.1");
    let port = base.port_u16().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(1), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("model server {base} not reachable: {e}")),
        Err(_) => Err(format!("model server {base} did not accept within 1s")),
    }
}

/// Serves the admin routes until the process ends.
pub async fn serve_admin(addr: SocketAddr, labeler: Arc<Labeler>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, admin_router(labeler)).await
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_on_a_shared_port_accepts_connections() {
        let first = reuse_port_listener("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = first.local_addr().unwrap();
        let mut listeners = vec![first];
        for _ in 0..3 {
            listeners.push(reuse_port_listener(addr).unwrap());
        }
        assert!(listeners.iter().all(|l| l.local_addr().unwrap() == addr));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (i, listener) in listeners.into_iter().enumerate() {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tx.send((i, stream)).unwrap();
                }
            });
        }
        // The kernel picks a listener by a hash of each connection's addresses and ports; over
        // 64 connections from different ports every one of the 4 gets some (all but certain).
        let mut clients = Vec::new();
        for _ in 0..64 {
            clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let mut accepted = [0; 4];
        let mut streams = Vec::new();
        for _ in 0..64 {
            let (i, stream) = rx.recv().await.unwrap();
            accepted[i] += 1;
            streams.push(stream);
        }
        assert!(
            accepted.iter().all(|n| *n > 0),
            "accepted per listener: {accepted:?}"
        );
    }

    #[tokio::test]
    async fn a_port_taken_without_so_reuseport_is_refused() {
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = plain.local_addr().unwrap();
        assert!(reuse_port_listener(addr).is_err());
    }
}
