//! Health, readiness and Prometheus metrics of the operator, served over HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::{
    counter::Counter, family::Family, gauge::Gauge, histogram::Histogram,
};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

/// Labels of the per-deployment series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeploymentLabels {
    pub namespace: String,
    pub name: String,
}

/// Labels of the rows-by-state series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RowStateLabels {
    pub namespace: String,
    pub name: String,
    pub state: &'static str,
}

/// What a reconcile decided of one deployment, as the metrics show it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentFigures {
    /// Rows (of the 42) per state.
    pub rows: [(&'static str, u32); 5],
    /// 0 None, 1 Low, 2 Medium, 3 High, 4 Critical.
    pub risk: i64,
    /// When the earliest ComplianceEvidence covering it lapses, in Unix seconds.
    pub earliest_evidence_expiry: Option<i64>,
}

/// Labels of the failure counter: the error kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub error: String,
}

/// The operator's metrics.
pub struct Metrics {
    pub reconciles: Counter,
    pub failures: Family<ErrorLabels, Counter>,
    pub duration: Histogram,
    /// 1 while this replica holds the lease (or runs without leader election), 0 while it
    /// stands by.
    pub leader: Gauge,
    /// Per ModelDeployment: five series of rows by state, one of risk and one of the earliest
    /// evidence expiry. No series per row and deployment, so the count stays bounded.
    rows: Family<RowStateLabels, Gauge>,
    risk: Family<DeploymentLabels, Gauge>,
    evidence_expiry: Family<DeploymentLabels, Gauge>,
    registry: Mutex<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("model_compliance_operator");
        let reconciles = Counter::default();
        let failures = Family::<ErrorLabels, Counter>::default();
        let duration = Histogram::new([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]);
        registry.register("reconciles", "Reconciles started", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by the step that failed",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time a reconcile takes",
            duration.clone(),
        );
        let leader = Gauge::default();
        leader.set(1);
        registry.register(
            "leader",
            "Whether this replica reconciles (1) or stands by for the lease (0)",
            leader.clone(),
        );
        let rows = Family::<RowStateLabels, Gauge>::default();
        registry.register(
            "deployment_rows",
            "Obligation rows of a ModelDeployment by state (Compliant, NonCompliant, Unknown, Excepted, NotApplicable)",
            rows.clone(),
        );
        let risk = Family::<DeploymentLabels, Gauge>::default();
        registry.register(
            "deployment_risk",
            "Risk level of a ModelDeployment: 0 None, 1 Low, 2 Medium, 3 High, 4 Critical",
            risk.clone(),
        );
        let evidence_expiry = Family::<DeploymentLabels, Gauge>::default();
        registry.register(
            "deployment_evidence_expiry_timestamp_seconds",
            "When the earliest ComplianceEvidence covering a ModelDeployment lapses (Unix time)",
            evidence_expiry.clone(),
        );
        Metrics {
            reconciles,
            failures,
            duration,
            leader,
            rows,
            risk,
            evidence_expiry,
            registry: Mutex::new(registry),
        }
    }
}

impl Metrics {
    /// Counts a reconcile and times it until the guard is dropped.
    pub fn reconcile(&self) -> ReconcileTimer<'_> {
        self.reconciles.inc();
        ReconcileTimer {
            metrics: self,
            start: Instant::now(),
        }
    }

    /// Sets the series of the deployment `namespace/name` to what its reconcile decided.
    pub fn deployment(&self, namespace: &str, name: &str, figures: &DeploymentFigures) {
        let labels = DeploymentLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        for (state, count) in figures.rows {
            self.rows
                .get_or_create(&RowStateLabels {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    state,
                })
                .set(count.into());
        }
        self.risk.get_or_create(&labels).set(figures.risk);
        match figures.earliest_evidence_expiry {
            Some(at) => {
                self.evidence_expiry.get_or_create(&labels).set(at);
            }
            None => {
                self.evidence_expiry.remove(&labels);
            }
        }
    }

    /// Drops the series of a deployment that is gone.
    pub fn forget_deployment(&self, namespace: &str, name: &str) {
        let labels = DeploymentLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        for state in STATES {
            self.rows.remove(&RowStateLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                state,
            });
        }
        self.risk.remove(&labels);
        self.evidence_expiry.remove(&labels);
    }

    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

/// The states rows are counted by.
pub const STATES: [&str; 5] = [
    "Compliant",
    "NonCompliant",
    "Unknown",
    "Excepted",
    "NotApplicable",
];

/// A registry in the Prometheus text format.
pub fn render(registry: &Mutex<Registry>) -> String {
    let mut out = String::new();
    encode(&mut out, &registry.lock().expect("registry lock")).expect("metrics encode");
    out
}

/// Records a reconcile's duration when dropped, whichever way the reconcile ends.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    start: Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .duration
            .observe(self.start.elapsed().as_secs_f64());
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    synced: watch::Receiver<bool>,
}

/// The HTTP routes: `/healthz` (the process serves), `/readyz` (every cache has synced once),
/// `/metrics`.
pub fn router(metrics: Arc<Metrics>, synced: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(s): State<Shared>| async move {
                if *s.synced.borrow() && s.metrics.leader.get() == 0 {
                    (StatusCode::OK, "ready: standing by for the lease")
                } else if *s.synced.borrow() {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(s): State<Shared>| async move { s.metrics.render() }),
        )
        .with_state(Shared { metrics, synced })
}

/// Serves the routes on `addr` until the process ends.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    synced: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, router(metrics, synced)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get_text(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let code = response[9..12].parse().unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (code, body)
    }

    #[tokio::test]
    async fn ready_only_after_sync_and_metrics_count_reconciles() {
        let metrics = Arc::new(Metrics::default());
        let (tx, rx) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(metrics.clone(), rx);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        assert_eq!(get_text(addr, "/healthz").await.0, 200);
        assert_eq!(get_text(addr, "/readyz").await.0, 503);
        tx.send(true).unwrap();
        assert_eq!(get_text(addr, "/readyz").await.0, 200);

        drop(metrics.reconcile());
        metrics
            .failures
            .get_or_create(&ErrorLabels {
                error: "kube".into(),
            })
            .inc();
        let (code, body) = get_text(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains("model_compliance_operator_reconciles_total 1"),
            "{body}"
        );
        assert!(
            body.contains("model_compliance_operator_reconcile_failures_total{error=\"kube\"} 1"),
            "{body}"
        );
        assert!(
            body.contains("model_compliance_operator_reconcile_duration_seconds_count 1"),
            "{body}"
        );
    }
}
