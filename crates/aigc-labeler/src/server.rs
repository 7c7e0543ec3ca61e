//! Serving: the proxy listener (HTTP/1.1 and h2c), the admin listener, graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::proxy::Labeler;

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
