//! The operator: watches ModelDeployments and everything their rows depend on, and
//! reconciles each with the same evaluation core as `check`.

pub mod access;
pub mod reconcile;
pub mod slim;
pub mod stores;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::wait::{await_condition, conditions::is_crd_established};
use kube::{Api, Client, CustomResourceExt, ResourceExt};
use tokio::sync::watch;

use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use stores::Stores;

/// Errors of a reconcile. Their names are the labels of the failure metric.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub stores: Stores,
    pub recorder: Recorder,
    pub reviews: access::Reviews,
    pub metrics: Arc<crate::telemetry::Metrics>,
    /// Consecutive failures per deployment, for backoff.
    failures: Mutex<HashMap<String, u32>>,
    synced: watch::Receiver<bool>,
    clock: fn() -> Timestamp,
}

impl Context {
    pub fn new(client: Client, stores: Stores, synced: watch::Receiver<bool>) -> Self {
        let reporter = Reporter {
            controller: crate::enforce::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            stores,
            reviews: access::Reviews::default(),
            metrics: Arc::default(),
            failures: Mutex::new(HashMap::new()),
            synced,
            clock: Timestamp::now,
        }
    }

    /// The same context reading time from `clock` (tests move time forward).
    pub fn with_clock(mut self, clock: fn() -> Timestamp) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Waits until every cache has been filled once: deciding from half-filled caches would
    /// report missing objects that exist.
    pub async fn wait_synced(&self) {
        let mut synced = self.synced.clone();
        let _ = synced.wait_for(|s| *s).await;
    }

    fn forget_failures(&self, namespace: &str, _action: &Action) {
        self.failures
            .lock()
            .expect("failures lock")
            .retain(|k, _| !k.starts_with(&format!("{namespace}/")));
    }

    /// Backoff for a failing deployment: 1 s, 2 s, 4 s … up to 5 minutes.
    fn backoff(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().expect("failures lock");
        let n = failures.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        Duration::from_secs(1u64 << (*n - 1).min(8)).min(Duration::from_secs(300))
    }
}

/// What happens after a failed reconcile: retry with backoff.
pub fn error_policy(deployment: Arc<ModelDeployment>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!(
        "{}/{}",
        deployment.namespace().unwrap_or_default(),
        deployment.name_any()
    );
    let wait = ctx.backoff(key.clone());
    tracing::warn!(deployment = %key, error = %error, kind = error.label(), retry_in = ?wait, "reconcile failed");
    ctx.metrics
        .failures
        .get_or_create(&crate::telemetry::ErrorLabels {
            error: error.label().to_owned(),
        })
        .inc();
    Action::requeue(wait)
}

/// Waits until the operator's CRDs are established.
pub async fn wait_for_crds(client: &Client) -> Result<(), kube::runtime::wait::Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in [
        ModelDeployment::crd_name(),
        CompliancePolicy::crd_name(),
        ComplianceEvidence::crd_name(),
    ] {
        tracing::info!(crd = name, "waiting for CRD to be established");
        await_condition(api.clone(), name, is_crd_established()).await?;
    }
    Ok(())
}

/// Options of `run`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reconciles running at once.
    pub concurrency: u16,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub http_addr: std::net::SocketAddr,
}

/// Runs the controller until SIGTERM/SIGINT.
pub async fn run(client: Client, options: Options) -> anyhow::Result<()> {
    wait_for_crds(&client).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let with_snapshots = crds
        .get_opt("volumesnapshots.snapshot.storage.k8s.io")
        .await?
        .is_some();
    if !with_snapshots {
        tracing::info!("VolumeSnapshot CRD not installed: backup rows stay unmet until it is");
    }
    let (stores, streams) = stores::all(&client, with_snapshots);
    let (synced_tx, synced_rx) = watch::channel(false);
    {
        let stores = stores.clone();
        tokio::spawn(async move {
            wait_all_ready(&stores).await;
            tracing::info!("caches synced");
            let _ = synced_tx.send(true);
        });
    }
    let ctx = Arc::new(Context::new(client, stores.clone(), synced_rx.clone()));
    {
        let (addr, metrics) = (options.http_addr, ctx.metrics.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::telemetry::serve(addr, metrics, synced_rx).await {
                tracing::error!(error = %e, %addr, "cannot serve health and metrics");
            }
        });
    }

    let by_policy = stores.clone();
    let by_evidence = stores.clone();
    let by_namespace = stores.clone();
    let mut controller = Controller::for_stream(streams.deployments, stores.deployments.clone())
        .with_config(
            controller::Config::default()
                .concurrency(options.concurrency)
                .debounce(Duration::from_millis(200)),
        )
        .watches_stream(streams.policies, move |policy: CompliancePolicy| {
            let name = policy.name_any();
            by_policy
                .deployments
                .state_filter(|d| d.spec.policy_ref == name)
                .into_iter()
                .map(|d| ObjectRef::from_obj(&*d))
                .collect::<Vec<_>>()
        })
        .watches_stream(streams.evidence, move |evidence: ComplianceEvidence| {
            let ns = evidence.namespace().unwrap_or_default();
            evidence
                .spec
                .targets
                .iter()
                .map(|t| ObjectRef::<ModelDeployment>::new(t).within(&ns))
                .collect::<Vec<_>>()
                .into_iter()
                .filter(|r| by_evidence.deployments.get(r).is_some())
                .collect::<Vec<_>>()
        });
    for stream in streams.namespaced {
        let stores = by_namespace.clone();
        let triggers = stream
            .filter_map(|change| async move {
                change
                    .map_err(|e| tracing::warn!(error = %e, "watch failed; retrying"))
                    .ok()
            })
            .flat_map(move |ns| futures::stream::iter(dependents(&stores, &ns)));
        controller = controller.reconcile_on(triggers);
    }
    controller
        .shutdown_on_signal()
        .run(reconcile::reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile queue");
            }
        })
        .await;
    Ok(())
}

/// Deployments whose rows depend on objects of `namespace`.
fn dependents(stores: &Stores, namespace: &str) -> Vec<ObjectRef<ModelDeployment>> {
    stores
        .deployments
        .state()
        .into_iter()
        .filter(|d| {
            let policy = stores.policies.get(&ObjectRef::new(&d.spec.policy_ref));
            match policy {
                Some(p) => stores::namespaces_of(&p, d).contains(namespace),
                None => false,
            }
        })
        .map(|d| ObjectRef::from_obj(&*d))
        .collect()
}

async fn wait_all_ready(stores: &Stores) {
    let _ = tokio::join!(
        stores.deployments.wait_until_ready(),
        stores.policies.wait_until_ready(),
        stores.evidence.wait_until_ready(),
        stores.namespaces.wait_until_ready(),
        stores.workloads.wait_until_ready(),
        stores.stateful_sets.wait_until_ready(),
        stores.pods.wait_until_ready(),
        stores.services.wait_until_ready(),
        stores.network_policies.wait_until_ready(),
        stores.roles.wait_until_ready(),
        stores.role_bindings.wait_until_ready(),
        stores.pvcs.wait_until_ready(),
        stores.cron_jobs.wait_until_ready(),
    );
    if let Some(s) = &stores.volume_snapshots {
        let _ = s.wait_until_ready().await;
    }
}
