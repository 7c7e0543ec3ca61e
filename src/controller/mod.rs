//! The operator: watches ModelDeployments and everything their rows depend on, and
//! reconciles each with the same evaluation core as `check`.

pub mod access;
pub mod cache;
pub mod echoes;
#[cfg(test)]
#[path = "tests/index.rs"]
mod index_tests;
pub mod leader;
pub mod owned;
pub mod readiness;
pub mod reconcile;
pub mod slim;
pub mod statuses;
pub mod stores;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::wait::{await_condition, conditions::is_crd_established};
use kube::{Api, Client, CustomResourceExt, ResourceExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment, ModelDeploymentStatus};
use stores::Stores;

/// Errors of a reconcile, one per step that talks to the API. Their labels are those of the
/// failure metric.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("applying the desired objects: {0}")]
    Apply(#[source] kube::Error),
    #[error("deleting objects no longer needed: {0}")]
    DeleteOrphans(#[source] kube::Error),
    #[error("asking access reviews: {0}")]
    ReviewAccess(#[source] kube::Error),
    #[error("writing the status: {0}")]
    Report(#[source] kube::Error),
    #[error("cleaning up after deletion: {0}")]
    Cleanup(#[source] kube::Error),
    #[error("adding or removing the finalizer: {0}")]
    Finalizer(#[source] kube::Error),
}

impl Error {
    /// The step that failed.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Apply(_) => "apply",
            Error::DeleteOrphans(_) => "delete_orphans",
            Error::ReviewAccess(_) => "review_access",
            Error::Report(_) => "report",
            Error::Cleanup(_) => "cleanup",
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
    /// `(kind, namespace, name)` of objects of create-once kinds (keys) known to exist: the
    /// operator does not watch them, and asks the API only once per process.
    pub created: Mutex<BTreeSet<(String, String, String)>>,
    synced: watch::Receiver<bool>,
    shutdown: CancellationToken,
    clock: fn() -> Timestamp,
}

impl Context {
    pub fn new(client: Client, stores: Stores, synced: watch::Receiver<bool>) -> Self {
        let reporter = Reporter {
            controller: crate::labels::FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            stores,
            reviews: access::Reviews::default(),
            metrics: Arc::default(),
            failures: Mutex::new(HashMap::new()),
            created: Mutex::default(),
            synced,
            shutdown: CancellationToken::new(),
            clock: Timestamp::now,
        }
    }

    /// The same context, whose reconciles stop waiting for the caches once `shutdown` is
    /// cancelled.
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
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
    /// report missing objects that exist. False when the operator is shutting down instead.
    pub async fn wait_synced(&self) -> bool {
        let mut synced = self.synced.clone();
        tokio::select! {
            filled = synced.wait_for(|s| *s) => filled.is_ok(),
            () = self.shutdown.cancelled() => false,
        }
    }

    /// `deployment` with the status to decide against: the cache holds deployments without
    /// status, which [`statuses::Statuses`] keeps beside it, with the one this process last
    /// wrote until the watch delivers it.
    pub fn with_last_status<'d>(
        &self,
        deployment: &'d ModelDeployment,
    ) -> std::borrow::Cow<'d, ModelDeployment> {
        let uid = deployment.uid().unwrap_or_default();
        match self.stores.statuses.last(&uid) {
            Some(status) => {
                let mut current = deployment.clone();
                current.status = Some(status);
                std::borrow::Cow::Owned(current)
            }
            // No status yet, or not a watched deployment (tests hand some in): its own stands.
            None => std::borrow::Cow::Borrowed(deployment),
        }
    }

    /// Remembers the status just written for `deployment`.
    pub fn wrote_status(&self, deployment: &ModelDeployment, status: &ModelDeploymentStatus) {
        let uid = deployment.uid().unwrap_or_default();
        self.stores.statuses.wrote(&uid, status);
    }

    /// A reconcile of the deployment `namespace/name` succeeded: its backoff starts over.
    fn forget_failures(&self, key: &str) {
        self.failures.lock().expect("failures lock").remove(key);
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
    /// How long the caches may take to fill before the operator gives up and exits with an
    /// error, so that Kubernetes restarts it instead of leaving it wedged (`None`: no limit).
    pub cache_sync_timeout: Option<Duration>,
    /// How often a start that is still filling its caches says which ones it waits for.
    pub sync_progress_interval: Duration,
    /// How long reconciles in flight may take to finish after a shutdown is asked for.
    pub shutdown_timeout: Duration,
    /// Which ModelDeployments this operator serves.
    pub scope: stores::Scope,
    /// Stand for a Lease and reconcile only while holding it (`None`: always reconcile).
    pub leader_election: Option<leader::LeaderElection>,
}

impl Options {
    /// The defaults of `run`, serving on `http_addr`.
    pub fn new(http_addr: std::net::SocketAddr) -> Self {
        Options {
            concurrency: 8,
            http_addr,
            cache_sync_timeout: Some(Duration::from_secs(300)),
            sync_progress_interval: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            scope: stores::Scope::default(),
            leader_election: None,
        }
    }
}

/// Why `run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot wait for the operator's CRDs: {0}")]
    Crds(#[from] kube::runtime::wait::Error),
    #[error("cannot stand for the lease: {0}")]
    LeaderElection(#[from] kube_lease_manager::LeaseManagerError),
    #[error("lost the lease: another replica reconciles now")]
    Deposed,
    #[error("caches not synced within {timeout:?}; still waiting for: {}", pending.join(", "))]
    CachesNotSynced {
        timeout: Duration,
        pending: Vec<String>,
    },
}

/// Runs the controller until `shutdown` is cancelled (the binary cancels it on SIGTERM or
/// SIGINT). Every phase stops promptly: waiting for the CRDs, filling the caches, and
/// reconciling, where reconciles in flight get `shutdown_timeout` to finish.
pub async fn run(
    client: Client,
    options: Options,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    tokio::select! {
        started = wait_for_crds(&client) => started?,
        () = shutdown.cancelled() => {
            tracing::info!("shutdown asked before the CRDs were established");
            return Ok(());
        }
    };
    let metrics = Arc::new(crate::telemetry::Metrics::default());
    let (ready_tx, ready_rx) = watch::channel(false);
    {
        let (addr, metrics) = (options.http_addr, metrics.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::telemetry::serve(addr, metrics, ready_rx).await {
                tracing::error!(error = %e, %addr, "cannot serve health and metrics");
            }
        });
    }
    let mut campaign = None;
    if let Some(election) = &options.leader_election {
        let mut standing = leader::campaign(client.clone(), election).await?;
        // A standby is ready: ready to take over. It fills no cache until it does.
        metrics.leader.set(0);
        let _ = ready_tx.send(true);
        tokio::select! {
            elected = standing.elected() => if !elected {
                return Err(RunError::Deposed);
            },
            () = shutdown.cancelled() => {
                standing.resign(options.shutdown_timeout).await;
                return Ok(());
            }
        }
        metrics.leader.set(1);
        let _ = ready_tx.send(false);
        campaign = Some(standing);
    }
    let deposed = async {
        match campaign.as_mut() {
            Some(c) => c.deposed().await,
            None => std::future::pending().await,
        }
    };

    let sync = readiness::CacheSync::default();
    let (stores, streams) = stores::all(&client, &sync, &options.scope);
    let (synced_tx, synced_rx) = watch::channel(false);
    let mut context = Context::new(client, stores.clone(), synced_rx.clone());
    context.metrics = metrics;
    let ctx = Arc::new(context.with_shutdown(shutdown.clone()));
    {
        let mut synced = synced_rx;
        tokio::spawn(async move {
            if synced.wait_for(|s| *s).await.is_ok() {
                let _ = ready_tx.send(true);
            }
        });
    }

    let controller = controller(&options, stores, streams, ctx, &shutdown);
    let in_flight_deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(options.shutdown_timeout).await;
    };
    let outcome = tokio::select! {
        () = controller => Ok(()),
        Err(e) = supervise_sync(&sync, &options, &synced_tx) => {
            tracing::error!(error = %e, "giving up");
            Err(e)
        }
        () = in_flight_deadline => {
            tracing::warn!(timeout = ?options.shutdown_timeout, "reconciles in flight did not finish in time; stopping them");
            Ok(())
        }
        () = deposed => Err(RunError::Deposed),
    };
    if let Some(c) = campaign {
        c.resign(options.shutdown_timeout).await;
    }
    if outcome.is_ok() {
        tracing::info!("stopped");
    }
    outcome
}

/// Says which caches a start still waits for, every `sync_progress_interval`, and gives up
/// after `cache_sync_timeout`. Once every cache has filled, marks the operator ready.
async fn supervise_sync(
    sync: &readiness::CacheSync,
    options: &Options,
    synced: &watch::Sender<bool>,
) -> Result<(), RunError> {
    let started = tokio::time::Instant::now();
    let mut progress = tokio::time::interval_at(
        started + options.sync_progress_interval,
        options.sync_progress_interval,
    );
    let deadline = async {
        match options.cache_sync_timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = sync.wait() => break,
            _ = progress.tick() => {
                tracing::info!(
                    waiting_for = %sync.pending().join(", "),
                    elapsed = ?started.elapsed(),
                    "caches still filling"
                );
            }
            () = &mut deadline => {
                return Err(RunError::CachesNotSynced {
                    timeout: options.cache_sync_timeout.unwrap_or_default(),
                    pending: sync.pending(),
                });
            }
        }
    }
    tracing::info!(elapsed = ?started.elapsed(), "caches synced");
    let _ = synced.send(true);
    Ok(())
}

/// The controller over ModelDeployments, woken by changes of everything their rows read; it
/// ends once `shutdown` is cancelled and the reconciles in flight have finished.
fn controller(
    options: &Options,
    stores: Stores,
    streams: stores::Streams,
    ctx: Arc<Context>,
    shutdown: &CancellationToken,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let by_policy = stores.clone();
    let by_evidence = stores.clone();
    let dependents = Arc::new(Dependents::new(stores.clone()));
    let (on_deployment, on_policy) = (dependents.clone(), dependents.clone());
    let model_deployments = streams
        .model_deployments
        .inspect(move |_| on_deployment.invalidate());
    let policies = streams.policies.inspect(move |_| on_policy.invalidate());
    // Its runner waits for the ModelDeployment store with `wait_until_ready`: nothing else may
    // wait on that store (see `readiness`).
    let mut controller =
        Controller::for_stream(model_deployments, stores.model_deployments.clone())
            // No debounce: kube-runtime's restarts its period at every trigger, so that a
            // namespace changing faster than the period would hold its deployments back for
            // as long as the churn lasts. Triggers still coalesce: a deployment waiting for
            // a slot, or being reconciled, absorbs any number of them into one reconcile.
            .with_config(controller::Config::default().concurrency(options.concurrency))
            .watches_stream(policies, move |policy: CompliancePolicy| {
                let name = policy.name_any();
                by_policy
                    .model_deployments
                    .state_filter(|d| d.spec.policy_ref == name)
                    .into_iter()
                    .map(|d| ObjectRef::from_obj(&*d))
                    .collect::<Vec<_>>()
            })
            .reconcile_on(
                streams
                    .evidence
                    .filter_map(|change| async move {
                        change
                            .map_err(|e| tracing::warn!(error = %e, "watch failed; retrying"))
                            .ok()
                    })
                    .flat_map(move |changed| {
                        // The deployments it attested before a change, and those it attests now.
                        let targets: std::collections::HashSet<_> =
                            changed
                                .versions()
                                .flat_map(|evidence| {
                                    let ns = evidence.namespace().unwrap_or_default();
                                    evidence.spec.targets.iter().map(move |t| {
                                        ObjectRef::<ModelDeployment>::new(t).within(&ns)
                                    })
                                })
                                .filter(|r| by_evidence.model_deployments.get(r).is_some())
                                .collect();
                        futures::stream::iter(targets)
                    }),
            );
    for stream in streams.namespaced {
        let dependents = dependents.clone();
        let triggers = stream
            .filter_map(|change| async move {
                change
                    .map_err(|e| tracing::warn!(error = %e, "watch failed; retrying"))
                    .ok()
            })
            .flat_map(move |touched| futures::stream::iter(dependents.reached(&touched)));
        controller = controller.reconcile_on(triggers);
    }
    controller
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(reconcile::reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile queue");
            }
        })
}

/// Which deployments depend on the objects of each namespace, computed from the caches of
/// ModelDeployments and policies when a trigger needs it after either changed: a change of
/// a pod then costs a lookup, not a pass over every deployment.
struct Dependents {
    stores: Stores,
    by_namespace: Mutex<Option<Arc<DependentIndex>>>,
}

/// The deployments reading each namespace, and every deployment by uid.
#[derive(Default)]
struct DependentIndex {
    by_namespace: HashMap<String, Vec<Arc<ModelDeployment>>>,
    by_uid: HashMap<String, ObjectRef<ModelDeployment>>,
    /// The deployments serving in each namespace, by the first label their inference
    /// selector requires (see [`cache::first_label`]): a NetworkPolicy that selects no pod
    /// reaches only those whose selector it repeats.
    by_inference: HashMap<String, HashMap<Option<cache::Term>, Vec<Arc<ModelDeployment>>>>,
}

impl Dependents {
    fn new(stores: Stores) -> Self {
        Dependents {
            stores,
            by_namespace: Mutex::new(None),
        }
    }

    /// A ModelDeployment or a policy changed: the index is built again when next needed.
    fn invalidate(&self) {
        *self.by_namespace.lock().expect("dependents lock") = None;
    }

    fn index(&self) -> Arc<DependentIndex> {
        let mut current = self.by_namespace.lock().expect("dependents lock");
        current
            .get_or_insert_with(|| Arc::new(self.build()))
            .clone()
    }

    /// Deployments whose rows depend on objects of `namespace` (all of them for
    /// [`stores::EVERY_NAMESPACE`]).
    #[cfg(test)]
    fn of(&self, namespace: &str) -> Vec<ObjectRef<ModelDeployment>> {
        self.reached(&stores::Touched {
            namespace: namespace.to_owned(),
            owners: vec![],
            reach: stores::Reach::Namespace,
            echo_of: None,
        })
    }

    /// Deployments whose rows a change can alter: those its rule reaches among the ones
    /// reading its namespace (see [`crate::evaluate::reach`]), and those it was made for.
    fn reached(&self, touched: &stores::Touched) -> Vec<ObjectRef<ModelDeployment>> {
        use crate::evaluate::reach;
        use stores::Reach;
        if touched.namespace == stores::EVERY_NAMESPACE {
            return self
                .stores
                .model_deployments
                .state()
                .iter()
                .map(|d| ObjectRef::from_obj(&**d))
                .collect();
        }
        let index = self.index();
        let ns = touched.namespace.as_str();
        let readers = index.by_namespace.get(ns).map(Vec::as_slice).unwrap_or(&[]);
        let mut out: Vec<ObjectRef<ModelDeployment>> = touched
            .owners
            .iter()
            .filter_map(|uid| index.by_uid.get(uid).cloned())
            .collect();
        // A pod that a policy of its namespace lets in is read, as a stranger, by the
        // deployments whose pods that policy selects: the selectors of those policies.
        let admitting: Vec<LabelSelector> = match &touched.reach {
            Reach::Pod(versions) => {
                let namespace = self.stores.namespaces.get("", ns);
                let namespace_labels = reach::namespace_labels(ns, namespace.as_deref());
                self.stores
                    .network_policies
                    .in_namespace(ns)
                    .iter()
                    .filter(|np| {
                        let peers = reach::peers(np, &namespace_labels);
                        versions
                            .iter()
                            .any(|v| reach::admitted(&peers, Some(&v.labels)))
                    })
                    .map(|np| {
                        let spec = np.spec.as_ref();
                        spec.and_then(|s| s.pod_selector.clone())
                            .unwrap_or_default()
                    })
                    .collect()
            }
            _ => vec![],
        };
        let selectors: &[LabelSelector] = match &touched.reach {
            Reach::NetworkPolicy(selectors) => selectors,
            Reach::Pod(_) => &admitting,
            _ => &[],
        };
        // What the rules read of the namespace, gathered once for all its readers: the pods
        // the selectors' terms find.
        let pods = if selectors.is_empty() {
            vec![]
        } else {
            let terms = stores::terms_of(selectors.iter().map(Some), []);
            self.stores.pods.among(ns, terms.as_ref())
        };
        // For each selector of a policy, the pods it selects, found once for all readers.
        let selected: Vec<Vec<reach::PodLabels>> = selectors
            .iter()
            .map(|s| reach::selected(s, pods.iter().map(|p| p.metadata.labels.as_ref())))
            .collect();
        let by_policy = |d: &ModelDeployment| {
            selectors
                .iter()
                .zip(&selected)
                .any(|(s, pods)| reach::network_policy(&d.spec, ns, s, pods))
        };
        // The bindings naming a Role that changed, picked without copying the others.
        let bindings = match &touched.reach {
            Reach::Role(name) => self.stores.role_bindings.kept_in(ns, |b| {
                b.role_ref.kind == "Role" && &b.role_ref.name == name
            }),
            _ => vec![],
        };
        let referring: Vec<&k8s_openapi::api::rbac::v1::RoleBinding> = bindings.iter().collect();
        // A change that can reach no deployment but those it was made for (already in): the
        // readers need not be asked one by one.
        let owners_only = match &touched.reach {
            Reach::VolumeSnapshot(versions) => {
                !reach::volume_snapshot_reaches_others(versions.iter().map(|s| &**s))
            }
            Reach::RoleBinding(versions) => {
                !reach::role_binding_reaches_others(versions.iter().map(|b| &**b))
            }
            // A Role reaches through the bindings that name it: when each was made for a
            // deployment, those deployments are the ones it reaches.
            Reach::Role(_) if !reach::role_binding_reaches_others(referring.iter().copied()) => {
                out.extend(
                    referring
                        .iter()
                        .filter_map(|b| {
                            b.metadata
                                .labels
                                .as_ref()?
                                .get(crate::labels::DEPLOYMENT_UID)
                        })
                        .filter_map(|uid| index.by_uid.get(uid).cloned()),
                );
                true
            }
            _ => false,
        };
        let reaches = |d: &ModelDeployment| {
            let uid = d.metadata.uid.as_deref();
            match &touched.reach {
                Reach::Namespace => true,
                Reach::NetworkPolicy(_) => by_policy(d),
                Reach::Pod(versions) => {
                    versions.iter().any(|v| {
                        let claims = v.claims.iter().map(String::as_str);
                        reach::pod(&d.spec, ns, Some(&v.labels), claims, false)
                    }) || by_policy(d)
                }
                Reach::RoleBinding(versions) => versions
                    .iter()
                    .any(|b| reach::role_binding(&d.spec, uid, ns, b)),
                Reach::Role(_) => reach::role(&d.spec, uid, ns, &referring),
                Reach::VolumeSnapshot(versions) => versions
                    .iter()
                    .any(|s| reach::volume_snapshot(&d.spec, uid, ns, s)),
            }
        };
        // A policy selecting no pod of the namespace reaches only the deployments whose
        // inference selector it repeats (the deny-all the kill switch looks for): in a
        // namespace many deployments share, the readers are not asked one by one about each
        // such policy (each deployment's isolation policy, before its trainers exist).
        let repeating: Vec<&Arc<ModelDeployment>>;
        let asked: &mut dyn Iterator<Item = &Arc<ModelDeployment>> = match &touched.reach {
            Reach::NetworkPolicy(selectors) if selected.iter().all(Vec::is_empty) => {
                let serving = index.by_inference.get(ns);
                repeating = selectors
                    .iter()
                    .filter_map(|s| serving?.get(&cache::first_label(s)))
                    .flatten()
                    .collect();
                &mut repeating.into_iter()
            }
            _ => &mut readers.iter(),
        };
        if !owners_only {
            out.extend(
                asked
                    .filter(|d| reaches(d))
                    .map(|d| ObjectRef::from_obj(&**d)),
            );
        }
        // The deployment that wrote this version decided with it already.
        if let Some(writer) = touched
            .echo_of
            .as_ref()
            .and_then(|uid| index.by_uid.get(uid))
        {
            out.retain(|d| d != writer);
        }
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        out.dedup();
        out
    }

    fn build(&self) -> DependentIndex {
        let mut index = DependentIndex::default();
        for d in self.stores.model_deployments.state() {
            if let Some(uid) = d.metadata.uid.clone() {
                index.by_uid.insert(uid, ObjectRef::from_obj(&*d));
            }
            let Some(policy) = self
                .stores
                .policies
                .get(&ObjectRef::new(&d.spec.policy_ref))
            else {
                continue;
            };
            for ns in stores::namespaces_of(&policy, &d) {
                index.by_namespace.entry(ns).or_default().push(d.clone());
            }
            if let Some(inference) = &d.spec.inference {
                index
                    .by_inference
                    .entry(inference.namespace.clone())
                    .or_default()
                    .entry(cache::first_label(&inference.pod_selector))
                    .or_default()
                    .push(d.clone());
            }
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        let (_, synced) = watch::channel(true);
        let client = api_stand_in::FakeApi::new().client();
        let stores = stores::Stores::empty();
        Context::new(client, stores, synced)
    }

    #[test]
    fn dependents_are_looked_up_by_namespace_and_rebuilt_after_a_change() {
        let api = api_stand_in::FakeApi::new();
        let mut deployment = api_stand_in::fixtures::chat_deployment();
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/namespaces/serve/modeldeployments/chat",
            deployment.clone(),
        );
        deployment["metadata"]["name"] = "other".into();
        deployment["metadata"]["uid"] = "other-uid".into();
        deployment["spec"]["training"]["namespace"] = "train-2".into();
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/namespaces/serve/modeldeployments/other",
            deployment,
        );
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/compliancepolicies/p",
            serde_json::json!({"apiVersion": "modelcompliance.io/v1alpha1",
                "kind": "CompliancePolicy", "metadata": {"name": "p"}, "spec": {}}),
        );
        let mut stores = stores::Stores::empty();
        stores.model_deployments = api.store("/modeldeployments/");
        stores.policies = api.store("/compliancepolicies/");
        let dependents = Dependents::new(stores.clone());
        let names = |refs: Vec<ObjectRef<ModelDeployment>>| {
            let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
            names.sort();
            names
        };
        assert_eq!(names(dependents.of("train")), ["chat"]);
        assert_eq!(names(dependents.of("train-2")), ["other"]);
        assert_eq!(names(dependents.of("serve")), ["chat", "other"]);
        assert!(dependents.of("unrelated").is_empty());
        assert_eq!(
            names(dependents.of(stores::EVERY_NAMESPACE)),
            ["chat", "other"]
        );

        // The index is kept until invalidated; after that it follows the caches.
        let mut stores_after = stores;
        stores_after.policies = api.store("/__none__/");
        let dependents = Dependents {
            stores: stores_after,
            by_namespace: dependents.by_namespace,
        };
        assert_eq!(names(dependents.of("train")), ["chat"], "still the index");
        dependents.invalidate();
        assert!(
            dependents.of("train").is_empty(),
            "without their policy, no namespace is theirs"
        );
    }

    /// Two deployments training in one namespace, with pods of their own.
    fn neighbours() -> (api_stand_in::FakeApi, Dependents) {
        let api = api_stand_in::FakeApi::new();
        let mut deployment = api_stand_in::fixtures::chat_deployment();
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/namespaces/serve/modeldeployments/chat",
            deployment.clone(),
        );
        deployment["metadata"]["name"] = "other".into();
        deployment["metadata"]["uid"] = "other-uid".into();
        deployment["spec"]["training"]["podSelector"]["matchLabels"]["role"] = "other".into();
        deployment["spec"]["inference"]["podSelector"]["matchLabels"]["app"] = "other".into();
        deployment["spec"]["training"]["safetyAnnotationVolumes"] = serde_json::json!(["labels"]);
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/namespaces/serve/modeldeployments/other",
            deployment,
        );
        api.insert(
            "/apis/modelcompliance.io/v1alpha1/compliancepolicies/p",
            serde_json::json!({"apiVersion": "modelcompliance.io/v1alpha1",
                "kind": "CompliancePolicy", "metadata": {"name": "p"}, "spec": {}}),
        );
        for (name, role) in [("trainer-0", "trainer"), ("other-0", "other")] {
            api.insert(
                &format!("/api/v1/namespaces/train/pods/{name}"),
                serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": "train", "labels": {"role": role}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}}),
            );
        }
        api.insert(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/train/rolebindings/users",
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "users", "namespace": "train"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shared"},
                "subjects": [{"kind": "User", "name": "alice"}]}),
        );
        api.insert(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/train/rolebindings/other-readers",
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "other-readers", "namespace": "train", "labels": {
                    crate::labels::MANAGED_BY.0: crate::labels::MANAGED_BY.1,
                    crate::labels::DEPLOYMENT_UID: "other-uid"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "other-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "trainer", "namespace": "train"}]}),
        );
        api.insert(
            "/apis/networking.k8s.io/v1/namespaces/train/networkpolicies/chat-trainers",
            serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "chat-trainers", "namespace": "train"},
                "spec": {"podSelector": {"matchLabels": {"role": "trainer"}}, "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "trainer"}}},
                                               {"podSelector": {"matchLabels": {"app": "etl"}}}]}]}}),
        );
        let mut stores = stores::Stores::empty();
        stores.network_policies = api.store("/networkpolicies/").into();
        stores.model_deployments = api.store("/modeldeployments/");
        stores.policies = api.store("/compliancepolicies/");
        stores.pods = api.store("/pods/").into();
        stores.role_bindings = api.store("/rolebindings/").into();
        let dependents = Dependents::new(stores);
        (api, dependents)
    }

    fn touched(owner: Option<&str>, reach: stores::Reach) -> stores::Touched {
        stores::Touched {
            namespace: "train".into(),
            owners: owner.into_iter().map(str::to_owned).collect(),
            reach,
            echo_of: None,
        }
    }

    fn selector(
        key: &str,
        value: &str,
    ) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
        k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: Some([(key.to_owned(), value.to_owned())].into()),
            ..Default::default()
        }
    }

    fn binding(name: &str, owner: Option<&str>) -> Arc<k8s_openapi::api::rbac::v1::RoleBinding> {
        let mut labels = serde_json::Map::new();
        if let Some(uid) = owner {
            labels.insert(
                crate::labels::MANAGED_BY.0.into(),
                crate::labels::MANAGED_BY.1.into(),
            );
            labels.insert(crate::labels::DEPLOYMENT_UID.into(), uid.into());
        }
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "train", "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
            }))
            .unwrap(),
        )
    }

    fn names(refs: Vec<ObjectRef<ModelDeployment>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn an_object_made_for_one_deployment_wakes_only_the_deployments_it_can_reach() {
        use stores::Reach;
        let (_api, dependents) = neighbours();
        // Each deployment's isolation policy selects only its own trainers: it wakes its
        // owner, not the neighbour reading the same namespace.
        let own = |uid, role| {
            touched(
                Some(uid),
                Reach::NetworkPolicy(vec![selector("role", role)]),
            )
        };
        assert_eq!(
            names(dependents.reached(&own("mdep-uid", "trainer"))),
            ["chat"]
        );
        assert_eq!(
            names(dependents.reached(&own("other-uid", "other"))),
            ["other"]
        );
        // Its owner is woken even when it selects none of the owner's pods (so that a change
        // made by someone else is undone).
        assert_eq!(
            names(dependents.reached(&own("other-uid", "nobody"))),
            ["other"]
        );
        // A policy of the user's selecting everybody's trainers reaches both.
        let everyone = touched(None, Reach::NetworkPolicy(vec![Default::default()]));
        assert_eq!(names(dependents.reached(&everyone)), ["chat", "other"]);
        // The echo of a version `chat` wrote wakes `other`, whom it reaches, not `chat`,
        // which decided with it; the echo of its own policy, reaching only itself, wakes no
        // one.
        let echo = |touched: stores::Touched| stores::Touched {
            echo_of: Some("mdep-uid".into()),
            ..touched
        };
        assert_eq!(
            names(dependents.reached(&echo(everyone.clone()))),
            ["other"]
        );
        assert!(
            dependents
                .reached(&echo(own("mdep-uid", "trainer")))
                .is_empty()
        );
        // A selector changed from the neighbour's trainers to chat's: both are reached.
        let moved = touched(
            None,
            Reach::NetworkPolicy(vec![selector("role", "trainer"), selector("role", "other")]),
        );
        assert_eq!(names(dependents.reached(&moved)), ["chat", "other"]);
        // In `serve`, where no pod runs, a policy reaches only the deployment whose inference
        // selector it repeats (a deny-all), whatever label comes first in it.
        let serving = |labels: &[(&str, &str)]| stores::Touched {
            namespace: "serve".into(),
            ..touched(
                None,
                Reach::NetworkPolicy(vec![LabelSelector {
                    match_labels: Some(
                        labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    ),
                    ..Default::default()
                }]),
            )
        };
        assert_eq!(
            names(dependents.reached(&serving(&[("app", "other")]))),
            ["other"]
        );
        assert_eq!(
            names(dependents.reached(&serving(&[("app", "chat")]))),
            ["chat"]
        );
        for unrepeated in [
            &[("app", "nobody")][..],
            &[("app", "chat"), ("tier", "web")],
            &[("a", "b"), ("app", "chat")],
            &[],
        ] {
            assert!(
                dependents.reached(&serving(unrepeated)).is_empty(),
                "{unrepeated:?}"
            );
        }

        // The readers' binding made for `other` is other's only; one of the user's is read
        // by both.
        let theirs = touched(
            Some("other-uid"),
            Reach::RoleBinding(vec![binding("theirs", Some("other-uid"))]),
        );
        assert_eq!(names(dependents.reached(&theirs)), ["other"]);
        let users = touched(None, Reach::RoleBinding(vec![binding("users", None)]));
        assert_eq!(names(dependents.reached(&users)), ["chat", "other"]);
        // A Role reaches through the bindings that name it: `shared` is named by the user's
        // binding, `lonely` by none.
        let role = |name: &str| touched(None, Reach::Role(name.into()));
        assert_eq!(
            names(dependents.reached(&role("shared"))),
            ["chat", "other"]
        );
        assert!(dependents.reached(&role("lonely")).is_empty());
        // `other-reader` is named only by the binding made for `other`: it wakes `other`,
        // whose uid the Role itself need not carry.
        assert_eq!(names(dependents.reached(&role("other-reader"))), ["other"]);
        // A pod of the serve namespace reaches only the deployment whose inference selector
        // picks it, before or after a change.
        let labelled = |ns: &str, labels: &[(&str, &str)], claims: &[&str]| stores::Touched {
            namespace: ns.into(),
            owners: vec![],
            echo_of: None,
            reach: Reach::Pod(vec![stores::PodFacts {
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                claims: claims.iter().map(|c| c.to_string()).collect(),
            }]),
        };
        let pod = |ns: &str, apps: &[&str]| stores::Touched {
            reach: Reach::Pod(
                apps.iter()
                    .map(|app| stores::PodFacts {
                        labels: [("app".to_owned(), app.to_string())].into(),
                        claims: vec![],
                    })
                    .collect(),
            ),
            ..labelled(ns, &[], &[])
        };
        // In the shared training namespace, each deployment's trainers reach it alone; a
        // stranger reaches those whose safety annotations it mounts, or whose trainers' policy
        // lets it in (`etl` pods, by chat's policy), and no one else: mounting the training
        // data both declare is a finding only for an inference pod.
        assert_eq!(
            names(dependents.reached(&labelled("train", &[("role", "trainer")], &[]))),
            ["chat"]
        );
        assert_eq!(
            names(dependents.reached(&labelled("train", &[("role", "other")], &[]))),
            ["other"]
        );
        assert!(dependents.reached(&pod("train", &["x"])).is_empty());
        assert!(
            dependents
                .reached(&labelled("train", &[("app", "x")], &["corpus"]))
                .is_empty()
        );
        assert_eq!(
            names(dependents.reached(&labelled("train", &[("app", "x")], &["labels"]))),
            ["other"]
        );
        assert_eq!(names(dependents.reached(&pod("train", &["etl"]))), ["chat"]);
        assert!(dependents.reached(&pod("serve", &["batch"])).is_empty());
        assert_eq!(
            names(dependents.reached(&pod("serve", &["chat"]))),
            ["chat"]
        );
        assert_eq!(
            names(dependents.reached(&pod("serve", &["batch", "other"]))),
            ["other"]
        );
        // Both back up the claim `corpus`. A snapshot taken for `other` wakes `chat` only
        // once it is ready (the newest ready backup is chat's decision too); a snapshot of a
        // claim neither declares wakes no one but its owner.
        let snapshot = |owner: Option<&str>, claim: &str, ready: bool| {
            let mut labels = serde_json::Map::new();
            if let Some(uid) = owner {
                labels.insert(crate::labels::DEPLOYMENT_UID.into(), uid.into());
            }
            let snapshot: crate::snapshot::VolumeSnapshot =
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": "s", "namespace": "train", "labels": labels},
                    "spec": {"source": {"persistentVolumeClaimName": claim}},
                    "status": {"readyToUse": ready}
                }))
                .unwrap();
            touched(owner, Reach::VolumeSnapshot(vec![Arc::new(snapshot)]))
        };
        assert_eq!(
            names(dependents.reached(&snapshot(Some("other-uid"), "corpus", false))),
            ["other"]
        );
        assert_eq!(
            names(dependents.reached(&snapshot(Some("other-uid"), "corpus", true))),
            ["chat", "other"]
        );
        assert!(
            dependents
                .reached(&snapshot(None, "corpus", false))
                .is_empty()
        );
        assert_eq!(
            names(dependents.reached(&snapshot(Some("other-uid"), "scratch", true))),
            ["other"]
        );
        // Anything else reaches every deployment reading the namespace.
        assert_eq!(
            names(dependents.reached(&touched(None, Reach::Namespace))),
            ["chat", "other"]
        );
    }

    #[tokio::test]
    async fn success_resets_the_backoff_of_that_deployment_only() {
        let ctx = context();
        assert_eq!(ctx.backoff("serve/a".into()), Duration::from_secs(1));
        assert_eq!(ctx.backoff("serve/a".into()), Duration::from_secs(2));
        assert_eq!(ctx.backoff("serve/b".into()), Duration::from_secs(1));
        ctx.forget_failures("serve/a");
        assert_eq!(ctx.backoff("serve/a".into()), Duration::from_secs(1));
        assert_eq!(
            ctx.backoff("serve/b".into()),
            Duration::from_secs(2),
            "a neighbour's success does not reset this one's backoff"
        );
    }
}
