//! The caches the reconciler reads: one reflector per kind of observed object, trimmed to
//! what the decisions need, and the snapshot gathered from them for one deployment.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    batch::v1::CronJob,
    core::v1::{Namespace, PersistentVolumeClaim, Service},
    networking::v1::NetworkPolicy,
    rbac::v1::{Role, RoleBinding},
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::wait::{Condition, conditions::is_crd_established};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::{Cache, Term, first_label, narrowing};
use super::echoes::Echoes;
use super::readiness::CacheSync;
use super::slim::SlimPod;
use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use crate::evaluate::reach;
use crate::snapshot::{FactSource, Snapshot, VeleroBackup, VeleroSchedule, VolumeSnapshot};

/// Read handles of every cache. ModelDeployments and policies are in kube-runtime stores
/// (the controller's own queue reads the former); what the rows are decided from is in
/// [`Cache`]s indexed by namespace and owner.
#[derive(Clone)]
pub struct Stores {
    /// ModelDeployments without their status, which `statuses` keeps.
    pub model_deployments: Store<ModelDeployment>,
    pub statuses: super::statuses::Statuses,
    /// The versions this process wrote: their echoes do not wake the deployment that wrote
    /// them.
    pub echoes: Echoes,
    pub policies: Store<CompliancePolicy>,
    pub evidence: Cache<ComplianceEvidence>,
    pub namespaces: Cache<Namespace>,
    /// apps/v1 Deployments.
    pub apps_deployments: Cache<Deployment>,
    pub stateful_sets: Cache<StatefulSet>,
    pub pods: Cache<SlimPod>,
    pub services: Cache<Service>,
    pub network_policies: Cache<NetworkPolicy>,
    pub roles: Cache<Role>,
    pub role_bindings: Cache<RoleBinding>,
    pub pvcs: Cache<PersistentVolumeClaim>,
    pub cron_jobs: Cache<CronJob>,
    /// Empty until the VolumeSnapshot CRD is installed (see `volume_snapshot_api`).
    pub volume_snapshots: Cache<VolumeSnapshot>,
    /// Whether the VolumeSnapshot API is installed and its cache filled. It may be installed
    /// after the operator started: its cache starts then, without a restart.
    pub volume_snapshot_api: Arc<AtomicBool>,
    /// Velero's Schedules and Backups, empty until Velero is installed; likewise.
    pub velero_schedules: Cache<VeleroSchedule>,
    pub velero_backups: Cache<VeleroBackup>,
    pub velero_schedule_api: Arc<AtomicBool>,
    pub velero_backup_api: Arc<AtomicBool>,
}

/// Drops what no decision reads, so that memory stays flat as clusters grow.
pub trait Trim: Serialize {
    fn trim(&mut self);

    /// What its cache indexes it by (see [`Term`]), for the kinds a reconcile looks up by
    /// label or claim among many in a namespace; the others are not indexed.
    const TERMS: Option<fn(&Self) -> Vec<Term>> = None;

    /// A digest of what the decisions read of the (trimmed) object: an event that leaves it
    /// unchanged (a heartbeat, a field the operator does not read) triggers no reconcile.
    fn decision_digest(&mut self) -> u64
    where
        Self: Resource + Sized,
    {
        digest_of(self)
    }
}

/// A digest of an object as it serializes, without its `resourceVersion`, which every event
/// changes. The serialization is hashed as it is written: every watch event of every kind
/// passes here, and building a JSON value of it first cost more than the hash.
fn digest_of<K: Resource + Serialize>(object: &mut K) -> u64 {
    use std::hash::Hasher;
    struct Hashing(std::hash::DefaultHasher);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let version = object.meta_mut().resource_version.take();
    let mut hashing = Hashing(std::hash::DefaultHasher::new());
    let _ = serde_json::to_writer(&mut hashing, &*object);
    object.meta_mut().resource_version = version;
    hashing.0.finish()
}

/// Keeps, of a stream of watch events, the objects whose decision digest changed, and every
/// deletion; drops the rest. Its memory is one digest per object.
fn changed_only<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    echoes: Echoes,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource + Trim + Send + 'static,
    K::DynamicType: Default,
{
    let mut seen: std::collections::HashMap<(Option<String>, Option<String>), u64> =
        std::collections::HashMap::new();
    events.filter_map(move |event| {
        use futures::future::Either;
        let key = |o: &K| (o.meta().namespace.clone(), o.meta().name.clone());
        let out = match event {
            Ok(watcher::Event::Apply(mut o) | watcher::Event::InitApply(mut o)) => {
                let digest = o.decision_digest();
                if seen.insert(key(&o), digest) == Some(digest) {
                    // Nothing to decide; a version written is not awaited any more.
                    echoes.writer_of(&o);
                    return Either::Left(futures::future::ready(None));
                }
                // A version the object wrote of itself (its finalizer, its status): the
                // reconcile that wrote it decided with it.
                let answered = echoes.answered(&o);
                let echoes = echoes.clone();
                return Either::Right(async move {
                    answered.await;
                    let own = echoes
                        .writer_of(&o)
                        .is_some_and(|w| o.meta().uid.as_ref() == Some(&w));
                    (!own).then_some(Ok(o))
                });
            }
            Ok(watcher::Event::Delete(o)) => {
                seen.remove(&key(&o));
                Some(Ok(o))
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => None,
            Err(e) => Some(Err(e)),
        };
        Either::Left(futures::future::ready(out))
    })
}

fn trim_meta<K: Resource>(o: &mut K) {
    let meta = o.meta_mut();
    meta.managed_fields = None;
    // Annotations are not read, except on namespaces' labels (kept) and our own objects.
    meta.annotations = None;
}

macro_rules! trim_meta_only {
    ($($kind:ty),*) => {$(
        impl Trim for $kind {
            fn trim(&mut self) {
                trim_meta(self);
            }
        }
    )*};
}

impl Trim for ModelDeployment {
    fn trim(&mut self) {
        trim_meta(self);
    }
    /// The status is the operator's own output: writing it is no reason to decide again.
    fn decision_digest(&mut self) -> u64 {
        let status = self.status.take();
        let digest = digest_of(self);
        self.status = status;
        digest
    }
}

trim_meta_only!(
    VeleroSchedule,
    VeleroBackup,
    CompliancePolicy,
    ComplianceEvidence,
    Namespace,
    Service,
    Role,
    PersistentVolumeClaim,
    CronJob
);

/// A RoleBinding is found by the subjects it names (see [`Term::Subject`]); one naming a
/// subject of another kind is always found.
impl Trim for RoleBinding {
    fn trim(&mut self) {
        trim_meta(self);
    }
    const TERMS: Option<fn(&Self) -> Vec<Term>> = Some(|b| {
        let namespace = b.metadata.namespace.as_deref().unwrap_or_default();
        let mut terms = Vec::new();
        for s in b.subjects.iter().flatten() {
            let subject = match s.kind.as_str() {
                // A service account without a namespace is one of the binding's.
                "ServiceAccount" => {
                    let ns = s.namespace.as_deref().filter(|n| !n.is_empty());
                    format!("ServiceAccount:{}:{}", ns.unwrap_or(namespace), s.name)
                }
                "User" | "Group" => format!("{}:{}", s.kind, s.name),
                _ => return vec![],
            };
            terms.push(Term::Subject(subject));
        }
        terms
    });
}

/// A NetworkPolicy is found by the first label its pod selector requires (see [`narrowing`]):
/// the pods it selects all carry it. One whose selector requires none is always found.
impl Trim for NetworkPolicy {
    fn trim(&mut self) {
        trim_meta(self);
    }
    const TERMS: Option<fn(&Self) -> Vec<Term>> = Some(|np| {
        let selector = np.spec.as_ref().and_then(|s| s.pod_selector.as_ref());
        selector.and_then(first_label).into_iter().collect()
    });
}

/// A VolumeSnapshot is found by the claim it was taken of once it is ready: only then can it
/// reach a deployment other than its owner (see [`Term::Pending`]).
impl Trim for VolumeSnapshot {
    fn trim(&mut self) {
        trim_meta(self);
    }
    const TERMS: Option<fn(&Self) -> Vec<Term>> = Some(|s| {
        let claim = s.spec.source.persistent_volume_claim_name.as_ref();
        let term = if crate::backups::ready(s) {
            Term::Claim
        } else {
            Term::Pending
        };
        claim.map(|c| term(c.clone())).into_iter().collect()
    });
}

fn trim_pod_spec(spec: &mut k8s_openapi::api::core::v1::PodSpec) {
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        c.env = None;
        c.env_from = None;
        c.command = None;
        c.args = None;
        c.liveness_probe = None;
        c.readiness_probe = None;
        c.startup_probe = None;
        c.resources = None;
        c.volume_mounts = None;
        c.security_context = None;
    }
    spec.affinity = None;
    spec.tolerations = None;
}

/// A pod is found by each of its labels and each claim it mounts.
impl Trim for SlimPod {
    fn trim(&mut self) {
        trim_meta(self);
    }
    const TERMS: Option<fn(&Self) -> Vec<Term>> = Some(|p| {
        let labels = p.metadata.labels.iter().flatten();
        let labels = labels.map(|(k, v)| Term::Label(k.clone(), v.clone()));
        labels
            .chain(p.claims().map(|c| Term::Claim(c.to_owned())))
            .collect()
    });
}

impl Trim for Deployment {
    fn trim(&mut self) {
        trim_meta(self);
        if let Some(spec) = self.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            trim_pod_spec(spec);
        }
    }
}

impl Trim for StatefulSet {
    fn trim(&mut self) {
        trim_meta(self);
        if let Some(spec) = self.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
            trim_pod_spec(spec);
        }
        if let Some(spec) = self.spec.as_mut() {
            spec.volume_claim_templates = None;
        }
    }
}

/// A reflector for `K` over the whole cluster: the store, and the stream of changed objects
/// that keeps it filled (it must be polled, e.g. as a controller trigger). The cache is
/// registered in `sync` under the kind's plural name and marked when its first list is stored.
pub fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    sync: &CacheSync,
    echoes: &Echoes,
    mut observe: impl FnMut(&mut watcher::Event<K>) + Send + 'static,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource + Trim + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    sync.watches(&K::group(&Default::default()), &plural::<K>());
    let marker = sync.register(plural::<K>());
    let events = watcher(api, config)
        .default_backoff()
        .modify(|o: &mut K| o.trim())
        .map_ok(move |mut event| {
            observe(&mut event);
            event
        })
        .reflect(writer)
        // The reflector has stored the list by the time its end passes here.
        .inspect(move |event| {
            if let Ok(watcher::Event::InitDone) = event {
                marker.synced();
            }
        });
    (reader, changed_only(events, echoes.clone()))
}

/// A watch of `K` over the whole cluster into a [`Cache`], and the stream of the objects
/// whose decision digest changed, and of every deletion (it must be polled, e.g. as a
/// controller trigger). The cache is registered in `sync` under the kind's plural name and
/// marked when its first list is stored.
pub fn reflect_cached<K>(
    api: Api<K>,
    config: watcher::Config,
    sync: &CacheSync,
    echoes: &Echoes,
) -> (
    Cache<K>,
    impl Stream<Item = Result<Changed<K>, watcher::Error>> + Send + 'static,
)
where
    K: Resource + Trim + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let cache = Cache::for_kind();
    sync.watches(&K::group(&Default::default()), &plural::<K>());
    let marker = sync.register(plural::<K>());
    let events = watcher(api, config)
        .default_backoff()
        .modify(|o: &mut K| o.trim());
    let changes = into_cache(events, cache.clone(), echoes.clone()).filter_map(move |change| {
        let out = match change {
            Ok(Change::Listed) => {
                marker.synced();
                None
            }
            other => other.map(Change::object).transpose(),
        };
        futures::future::ready(out)
    });
    (cache, changes)
}

/// What a watch into a [`Cache`] tells its trigger stream.
pub enum Change<K> {
    /// An object whose decision digest changed, or that was removed.
    Object(Changed<K>),
    /// A (re-)list was stored.
    Listed,
}

/// An object whose decision digest changed (or that was removed), with the version it
/// replaced: what an object reached before a change may matter as much as what it reaches
/// after.
pub struct Changed<K> {
    pub object: Arc<K>,
    /// The cached version it replaced (`None` for a new or a removed object).
    pub replaced: Option<Arc<K>>,
    /// The deployment (uid) that wrote this very version, when this process did: it decided
    /// with it already (see [`Echoes`]).
    pub writer: Option<String>,
}

impl<K> Changed<K> {
    /// The object, and the version it replaced if any.
    pub fn versions(&self) -> impl Iterator<Item = &Arc<K>> {
        std::iter::once(&self.object).chain(self.replaced.as_ref())
    }
}

impl<K> Change<K> {
    fn object(self) -> Option<Changed<K>> {
        match self {
            Change::Object(o) => Some(o),
            Change::Listed => None,
        }
    }
}

/// Applies a watch's events to `cache`; yields the objects whose decision digest changed,
/// every object removed (deleted, or gone while the watch was down), and the end of each
/// list, after the objects it removed.
fn into_cache<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    cache: Cache<K>,
    echoes: Echoes,
) -> impl Stream<Item = Result<Change<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Trim + Send + Sync + 'static,
    K::DynamicType: Default,
{
    let mut seen: std::collections::HashMap<(String, String), u64> =
        std::collections::HashMap::new();
    let key = |o: &K| {
        let meta = o.meta();
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        )
    };
    events
        .then(move |event| {
            use futures::future::Either;
            let out: Vec<Result<Change<K>, watcher::Error>> = match event {
                Ok(watcher::Event::Apply(mut o) | watcher::Event::InitApply(mut o)) => {
                    let digest = o.decision_digest();
                    let (ns, name) = key(&o);
                    let changed = seen.insert((ns.clone(), name.clone()), digest) != Some(digest);
                    if !changed {
                        // Nothing to decide; a version written is not awaited any more.
                        echoes.writer_of(&o);
                    }
                    let answered = changed.then(|| echoes.answered(&o));
                    let replaced = changed.then(|| cache.get(&ns, &name)).flatten();
                    let _ = cache.apply(watcher::Event::Apply(o));
                    let changed = changed.then(|| cache.get(&ns, &name)).flatten();
                    if let (Some(object), Some(answered)) = (changed, answered) {
                        // Whose echo it is, once a write of it in flight is answered.
                        let echoes = echoes.clone();
                        return Either::Right(async move {
                            answered.await;
                            let writer = echoes.writer_of(&*object);
                            vec![Ok(Change::Object(Changed {
                                object,
                                replaced,
                                writer,
                            }))]
                        });
                    }
                    vec![]
                }
                Ok(event @ (watcher::Event::Delete(_) | watcher::Event::InitDone)) => {
                    let done = matches!(event, watcher::Event::InitDone);
                    let removed = cache.apply(event);
                    for o in &removed {
                        seen.remove(&key(o));
                    }
                    let removed = removed.into_iter().map(|object| {
                        Ok(Change::Object(Changed {
                            object,
                            replaced: None,
                            writer: None,
                        }))
                    });
                    removed.chain(done.then_some(Ok(Change::Listed))).collect()
                }
                Ok(watcher::Event::Init) => {
                    let _ = cache.apply(watcher::Event::Init);
                    vec![]
                }
                Err(e) => vec![Err(e)],
            };
            Either::Left(futures::future::ready(out))
        })
        .flat_map(futures::stream::iter)
}

/// The CRD of the VolumeSnapshot API.
pub const VOLUME_SNAPSHOT_CRD: &str = "volumesnapshots.snapshot.storage.k8s.io";
/// The CRDs of Velero's Schedules and Backups.
pub const VELERO_SCHEDULE_CRD: &str = "schedules.velero.io";
pub const VELERO_BACKUP_CRD: &str = "backups.velero.io";

/// A trigger meaning "every namespace": the rows of every deployment may have changed.
pub const EVERY_NAMESPACE: &str = "*";

/// A reflector for a kind whose CRD may not be installed: it starts once the CRD `crd` is
/// established, then fills the store and sets `installed` after its first list. Its cache is
/// registered in `sync` and counts as filled once the CRD is known to be absent at the start,
/// or once its first list is stored: a restart does not decide from an empty cache of an API
/// that is installed. An API installed later is not waited for; the rows that need it say
/// that it is missing until its cache is filled. Its
/// stream yields the namespaces of changed objects, and [`EVERY_NAMESPACE`] once a list is
/// stored, so that every deployment is decided again with the API in place.
pub fn reflect_once_installed<K>(
    client: &Client,
    crd: &'static str,
    api: Api<K>,
    installed: Arc<AtomicBool>,
    sync: &CacheSync,
    echoes: &Echoes,
    reach: fn(&Changed<K>) -> Reach,
) -> (
    Cache<K>,
    impl Stream<Item = Result<Touched, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()>
        + Trim
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let cache = Cache::for_kind();
    sync.watches(&K::group(&()), &plural::<K>());
    let marker = sync.register(plural::<K>());
    sync.watches(
        &CustomResourceDefinition::group(&()),
        &CustomResourceDefinition::plural(&()),
    );
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let established = watcher(
        crds,
        watcher::Config::default().fields(&format!("metadata.name={crd}")),
    )
    .default_backoff()
    .filter_map({
        let absent = marker.clone();
        move |event| {
            let out = match event {
                Ok(watcher::Event::InitApply(crd) | watcher::Event::Apply(crd))
                    if is_crd_established().matches_object(Some(&crd)) =>
                {
                    Some(())
                }
                // Not installed (or not established) at the start: nothing to wait for.
                Ok(watcher::Event::InitDone) => {
                    absent.synced();
                    None
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!(error = %e, "watching for an optional CRD");
                    None
                }
            };
            futures::future::ready(out)
        }
    })
    .take(1);
    let filling = cache.clone();
    let echoes = echoes.clone();
    let marker = marker.clone();
    let objects = established
        .map(move |()| {
            // `take(1)` above: this runs once.
            tracing::info!(crd, "optional API installed; filling its cache");
            let installed = installed.clone();
            let marker = marker.clone();
            let events = watcher(api.clone(), watcher::Config::default())
                .default_backoff()
                .modify(|o: &mut K| o.trim());
            into_cache(events, filling.clone(), echoes.clone()).map(move |change| {
                change.map(|change| match change {
                    Change::Object(c) => Touched {
                        reach: reach(&c),
                        ..Touched::namespace(&c)
                    },
                    Change::Listed => {
                        installed.store(true, Ordering::Release);
                        marker.synced();
                        Touched {
                            namespace: EVERY_NAMESPACE.to_owned(),
                            owners: vec![],
                            reach: Reach::Namespace,
                            echo_of: None,
                        }
                    }
                })
            })
        })
        .flatten();
    (cache, objects)
}

/// The name a cache is known by in logs: the kind's plural resource name.
fn plural<K: Resource>() -> String
where
    K::DynamicType: Default,
{
    K::plural(&K::DynamicType::default()).into_owned()
}

/// Which ModelDeployments this operator serves: several operators can split one cluster by
/// namespace or by label, each reconciling only its share.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only the ModelDeployments (and ComplianceEvidence) of this namespace.
    pub namespace: Option<String>,
    /// Only the ModelDeployments matching this label selector.
    pub selector: Option<String>,
}

impl Scope {
    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
}

/// ModelDeployments per page of their list.
pub const DEPLOYMENTS_PAGE: u32 = 50;

/// Creates all reflectors, each registered in `sync`; returns the stores and the streams to
/// poll. The objects rows are decided from are watched in every namespace whatever the
/// scope: a deployment's training and inference namespaces are not its own.
pub fn all(client: &Client, sync: &CacheSync, scope: &Scope) -> (Stores, Streams) {
    let cfg = watcher::Config::default;
    // ModelDeployments are listed a few at a time: each carries its status and the fields
    // managed in it (~25 KB of JSON, several times that as objects until trimmed), and pages
    // of the default 500 made the start's peak memory half again the steady state's.
    let mut deployments_cfg = cfg().page_size(DEPLOYMENTS_PAGE);
    if let Some(selector) = &scope.selector {
        deployments_cfg = deployments_cfg.labels(selector);
    }
    let statuses = super::statuses::Statuses::default();
    let echoes = Echoes::default();
    // A cache of every object of a kind in the cluster.
    macro_rules! everywhere {
        ($kind:ty) => {
            reflect_cached(Api::<$kind>::all(client.clone()), cfg(), sync, &echoes)
        };
    }
    let (deployments, deployments_stream) = {
        let statuses = statuses.clone();
        reflect(
            scope.api::<ModelDeployment>(client),
            deployments_cfg,
            sync,
            &echoes,
            move |event| statuses.observe(event),
        )
    };
    let (policies, policies_stream) = reflect(
        Api::<CompliancePolicy>::all(client.clone()),
        cfg(),
        sync,
        &echoes,
        |_| {},
    );
    let (evidence, evidence_stream) = reflect_cached(
        scope.api::<ComplianceEvidence>(client),
        cfg(),
        sync,
        &echoes,
    );
    let (namespaces, namespaces_stream) = everywhere!(Namespace);
    let (apps_deployments, apps_deployments_stream) = everywhere!(Deployment);
    let (stateful_sets, stateful_sets_stream) = everywhere!(StatefulSet);
    let (pods, pods_stream) = everywhere!(SlimPod);
    let (services, services_stream) = everywhere!(Service);
    let (network_policies, np_stream) = everywhere!(NetworkPolicy);
    let (roles, roles_stream) = everywhere!(Role);
    let (role_bindings, rb_stream) = everywhere!(RoleBinding);
    let (pvcs, pvcs_stream) = everywhere!(PersistentVolumeClaim);
    let (cron_jobs, cron_stream) = everywhere!(CronJob);
    let volume_snapshot_api = Arc::new(AtomicBool::new(false));
    let (volume_snapshots, vs_stream) = reflect_once_installed(
        client,
        VOLUME_SNAPSHOT_CRD,
        Api::<VolumeSnapshot>::all(client.clone()),
        volume_snapshot_api.clone(),
        sync,
        &echoes,
        |c| Reach::VolumeSnapshot(c.versions().cloned().collect()),
    );
    let velero_schedule_api = Arc::new(AtomicBool::new(false));
    let (velero_schedules, schedules_stream) = reflect_once_installed(
        client,
        VELERO_SCHEDULE_CRD,
        Api::<VeleroSchedule>::all(client.clone()),
        velero_schedule_api.clone(),
        sync,
        &echoes,
        |_| Reach::Namespace,
    );
    let velero_backup_api = Arc::new(AtomicBool::new(false));
    let (velero_backups, backups_stream) = reflect_once_installed(
        client,
        VELERO_BACKUP_CRD,
        Api::<VeleroBackup>::all(client.clone()),
        velero_backup_api.clone(),
        sync,
        &echoes,
        |_| Reach::Namespace,
    );
    let stores = Stores {
        model_deployments: deployments,
        statuses,
        echoes,
        policies,
        evidence,
        namespaces,
        apps_deployments,
        stateful_sets,
        pods,
        services,
        network_policies,
        roles,
        role_bindings,
        pvcs,
        cron_jobs,
        volume_snapshots,
        volume_snapshot_api,
        velero_schedules,
        velero_backups,
        velero_schedule_api,
        velero_backup_api,
    };
    fn by_namespace<K: Resource + Send + Sync + 'static>(
        stream: impl Stream<Item = Result<Changed<K>, watcher::Error>> + Send + 'static,
    ) -> futures::stream::BoxStream<'static, Result<Touched, watcher::Error>> {
        stream.map(|r| r.map(|c| Touched::namespace(&c))).boxed()
    }
    fn reaching<K: Resource + Send + Sync + 'static>(
        stream: impl Stream<Item = Result<Changed<K>, watcher::Error>> + Send + 'static,
        reach: fn(&Changed<K>) -> Reach,
    ) -> futures::stream::BoxStream<'static, Result<Touched, watcher::Error>> {
        stream
            .map(move |r| {
                r.map(|c| Touched {
                    reach: reach(&c),
                    ..Touched::namespace(&c)
                })
            })
            .boxed()
    }
    let streams = Streams {
        model_deployments: deployments_stream.boxed(),
        policies: policies_stream.boxed(),
        evidence: evidence_stream.boxed(),
        namespaced: vec![
            by_namespace(namespaces_stream),
            by_namespace(apps_deployments_stream),
            by_namespace(stateful_sets_stream),
            reaching(pods_stream, |c| {
                Reach::Pod(c.versions().map(|p| PodFacts::of(p)).collect())
            }),
            by_namespace(services_stream),
            reaching(np_stream, |c| {
                Reach::NetworkPolicy(
                    c.versions()
                        .map(|np| {
                            let spec = np.spec.as_ref();
                            spec.and_then(|s| s.pod_selector.clone())
                                .unwrap_or_default()
                        })
                        .collect(),
                )
            }),
            reaching(roles_stream, |c| {
                Reach::Role(c.object.metadata.name.clone().unwrap_or_default())
            }),
            reaching(rb_stream, |c| {
                Reach::RoleBinding(c.versions().cloned().collect())
            }),
            by_namespace(pvcs_stream),
            by_namespace(cron_stream),
            vs_stream.boxed(),
            schedules_stream.boxed(),
            backups_stream.boxed(),
        ],
    };
    (stores, streams)
}

/// The namespace an observed object lives in (a Namespace's own name for Namespaces).
fn namespace_of<K: Resource>(o: &K) -> String {
    o.meta()
        .namespace
        .clone()
        .or_else(|| o.meta().name.clone())
        .unwrap_or_default()
}

/// The streams that keep the stores filled and trigger reconciles.
pub struct Streams {
    pub model_deployments:
        futures::stream::BoxStream<'static, Result<ModelDeployment, watcher::Error>>,
    pub policies: futures::stream::BoxStream<'static, Result<CompliancePolicy, watcher::Error>>,
    pub evidence:
        futures::stream::BoxStream<'static, Result<Changed<ComplianceEvidence>, watcher::Error>>,
    /// Observed objects that changed, as what they can reach.
    pub namespaced: Vec<futures::stream::BoxStream<'static, Result<Touched, watcher::Error>>>,
}

/// An observed object changed: which deployments may decide differently now.
#[derive(Clone, Debug)]
pub struct Touched {
    /// Its namespace ([`EVERY_NAMESPACE`] for all).
    pub namespace: String,
    /// The uids of the deployments it was made for, before and after the change: they
    /// compare it with what they want, whatever it reaches.
    pub owners: Vec<String>,
    pub reach: Reach,
    /// The deployment (uid) whose own write this version is: it is not woken by it.
    pub echo_of: Option<String>,
}

/// Which of the deployments reading a namespace an object of it can reach; the rules are
/// those of [`crate::evaluate::reach`].
#[derive(Clone, Debug)]
pub enum Reach {
    /// All of them.
    Namespace,
    /// A NetworkPolicy, by its pod selectors before and after.
    NetworkPolicy(Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>),
    /// A pod, by its labels before and after.
    Pod(Vec<PodFacts>),
    /// A RoleBinding, before and after.
    RoleBinding(Vec<Arc<RoleBinding>>),
    /// The Role of this name.
    Role(String),
    /// A VolumeSnapshot, before and after.
    VolumeSnapshot(Vec<Arc<VolumeSnapshot>>),
}

/// What the wake-up rules read of a version of a pod.
#[derive(Clone, Debug, Default)]
pub struct PodFacts {
    pub labels: std::collections::BTreeMap<String, String>,
    /// The claims its volumes mount.
    pub claims: Vec<String>,
}

impl PodFacts {
    pub fn of(pod: &SlimPod) -> Self {
        PodFacts {
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            claims: pod.claims().map(str::to_owned).collect(),
        }
    }
}

impl Touched {
    /// A change that reaches every deployment reading the object's namespace.
    pub fn namespace<K: Resource>(changed: &Changed<K>) -> Self {
        let owners = changed
            .versions()
            .filter_map(|o| o.meta().labels.as_ref()?.get(crate::labels::DEPLOYMENT_UID))
            .cloned()
            .collect::<BTreeSet<_>>();
        Touched {
            namespace: namespace_of(&*changed.object),
            owners: owners.into_iter().collect(),
            reach: Reach::Namespace,
            echo_of: changed.writer.clone(),
        }
    }
}

/// The terms (see [`Term`]) every object carries that one of `selectors` selects (`None`: a
/// selector of every pod) or that mounts one of `claims`; `None` when a selector has none, and
/// every object must be visited.
pub(crate) fn terms_of<'a>(
    selectors: impl IntoIterator<Item = Option<&'a LabelSelector>>,
    claims: impl IntoIterator<Item = &'a str>,
) -> Option<BTreeSet<Term>> {
    let mut terms: BTreeSet<Term> = claims.into_iter().map(|c| Term::Claim(c.into())).collect();
    for selector in selectors {
        terms.extend(narrowing(selector?)?);
    }
    Some(terms)
}

/// The namespaces whose objects decide a deployment's rows.
pub fn namespaces_of(policy: &CompliancePolicy, deployment: &ModelDeployment) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let spec = &deployment.spec;
    out.extend(spec.training.iter().map(|t| t.namespace.clone()));
    out.extend(spec.inference.iter().map(|i| i.namespace.clone()));
    let checks = &policy.spec.cluster_checks;
    out.extend(
        checks
            .platform_monitoring
            .iter()
            .map(|w| w.namespace.clone()),
    );
    out.extend(checks.safety_evaluation.iter().map(|c| c.namespace.clone()));
    out.extend(checks.code_audit.iter().map(|c| c.namespace.clone()));
    if policy.spec.controls.backup.engine == crate::api::BackupEngine::Velero {
        out.insert(crate::backups::velero_namespace(policy).to_owned());
    }
    out.extend(
        policy
            .spec
            .controls
            .isolation
            .allowed_namespaces
            .iter()
            .cloned(),
    );
    out
}

impl Stores {
    /// Stores that nothing fills.
    #[cfg(test)]
    pub fn empty() -> Self {
        Stores {
            model_deployments: reflector::store().0,
            statuses: Default::default(),
            echoes: Default::default(),
            policies: reflector::store().0,
            evidence: Cache::for_kind(),
            namespaces: Cache::for_kind(),
            apps_deployments: Cache::for_kind(),
            stateful_sets: Cache::for_kind(),
            pods: Cache::for_kind(),
            services: Cache::for_kind(),
            network_policies: Cache::for_kind(),
            roles: Cache::for_kind(),
            role_bindings: Cache::for_kind(),
            pvcs: Cache::for_kind(),
            cron_jobs: Cache::for_kind(),
            volume_snapshots: Cache::for_kind(),
            volume_snapshot_api: Arc::new(AtomicBool::new(true)),
            velero_schedules: Cache::for_kind(),
            velero_backups: Cache::for_kind(),
            velero_schedule_api: Arc::new(AtomicBool::new(true)),
            velero_backup_api: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The live snapshot for one deployment: the objects of the namespaces it depends on.
    ///
    /// Of the kinds [`reach`] has a rule for, only the objects that can reach the deployment
    /// are copied, and those made for it (its plan compares and prunes them): an object that
    /// cannot reach it changes none of its decisions, and in a namespace shared by many
    /// deployments, the others' pods, policies, bindings and snapshots would otherwise be
    /// copied into every reconcile, making each one's cost grow with the fleet.
    pub fn snapshot(&self, policy: &CompliancePolicy, deployment: &ModelDeployment) -> Snapshot {
        let namespaces = namespaces_of(policy, deployment);
        let spec = &deployment.spec;
        let uid = deployment.metadata.uid.as_deref();
        let mine = |meta: &ObjectMeta| uid.is_some_and(|uid| crate::desired::owned_by(meta, uid));
        let mut snapshot = Snapshot::new(FactSource::Cluster);
        let every_pod = LabelSelector::default();
        for ns in &namespaces {
            let objects = snapshot.ns_mut(ns);
            objects.namespace = self.namespaces.get("", ns).map(|o| (*o).clone());
            objects.apps_deployments = self.apps_deployments.cloned_in(ns);
            objects.stateful_sets = self.stateful_sets.cloned_in(ns);
            // The deployment's own pods, found by the terms of its selectors: in a namespace
            // many deployments share, the others' pods are not visited.
            let own_selectors = reach::own_selectors(spec, ns);
            let own_terms = terms_of(own_selectors.iter().map(|s| Some(*s)), []);
            let own = self.pods.among(ns, own_terms.as_ref());
            let labels = reach::own_pods(spec, ns, own.iter().map(|p| p.metadata.labels.as_ref()));
            // The policies that select one of them carry one of their labels (a policy is
            // found by the first label its selector requires), or they are the deny-all of
            // the inference selector; those requiring none are always tested.
            let policy_terms: BTreeSet<Term> = labels
                .iter()
                .flat_map(|l| l.iter().copied().flatten())
                .map(|(k, v)| Term::Label(k.clone(), v.clone()))
                .chain(
                    spec.inference
                        .iter()
                        .filter_map(|i| first_label(&i.pod_selector)),
                )
                .collect();
            objects.network_policies =
                self.network_policies
                    .kept_or_owned(ns, uid, Some(&policy_terms), |np| {
                        let selector = np.spec.as_ref().and_then(|s| s.pod_selector.as_ref());
                        let selector = selector.unwrap_or(&every_pod);
                        reach::network_policy(spec, ns, selector, &labels)
                    });
            // The pods those policies let in are read as strangers next to the trainers.
            let peers = reach::peers_of(&objects.network_policies, ns, objects.namespace.as_ref());
            // Every pod that can reach the deployment carries a term of its selectors, of
            // those peers, or mounts one of its safety-annotation volumes.
            let terms = terms_of(
                own_selectors
                    .iter()
                    .map(|s| Some(*s))
                    .chain(peers.iter().copied()),
                reach::safety_volumes(spec, ns),
            );
            objects.pods = self
                .pods
                .among(ns, terms.as_ref())
                .iter()
                .filter(|p| {
                    let labels = p.metadata.labels.as_ref();
                    reach::pod(
                        spec,
                        ns,
                        labels,
                        p.claims(),
                        reach::admitted(&peers, labels),
                    )
                })
                .map(|p| p.to_pod())
                .collect();
            // The bindings and roles the operator made for the other deployments of a shared
            // training namespace reach none of this one's rules: they are not visited.
            objects.role_bindings = self.role_bindings.kept_for(ns, uid, |b| {
                mine(&b.metadata) || reach::role_binding(spec, uid, ns, b)
            });
            let bindings = &objects.role_bindings;
            let named = bindings
                .iter()
                .filter(|b| b.role_ref.kind == "Role")
                .map(|b| b.role_ref.name.as_str());
            objects.roles = self.roles.named_or_owned(ns, named, uid, |r| {
                let name = r.metadata.name.as_deref().unwrap_or_default();
                let referring: Vec<&RoleBinding> = bindings
                    .iter()
                    .filter(|b| b.role_ref.kind == "Role" && b.role_ref.name == name)
                    .collect();
                mine(&r.metadata) || reach::role(spec, uid, ns, &referring)
            });
            // Its own snapshots by the owner index; of the others only ready backups of its
            // volumes can reach it, and only those are indexed by their claim: the backups
            // other deployments of a shared namespace are still taking are not visited.
            let claims = terms_of([], reach::declared_volumes(spec, ns));
            objects.volume_snapshots =
                self.volume_snapshots
                    .kept_or_owned(ns, uid, claims.as_ref(), |s| {
                        reach::ready_backup(spec, ns, s)
                    });
            objects.services = self.services.cloned_in(ns);
            objects.pvcs = self.pvcs.cloned_in(ns);
            objects.cron_jobs = self.cron_jobs.cloned_in(ns);
            objects.velero_schedules = self.velero_schedules.cloned_in(ns);
            objects.velero_backups = self.velero_backups.cloned_in(ns);
        }
        // The caches list each namespace's objects by name: decisions and messages do not
        // depend on the order objects arrived in.
        snapshot.volume_snapshot_api_missing = !self.volume_snapshot_api.load(Ordering::Acquire);
        snapshot.velero_api_missing = !(self.velero_schedule_api.load(Ordering::Acquire)
            && self.velero_backup_api.load(Ordering::Acquire));
        snapshot
    }

    /// ComplianceEvidence of a namespace, by name.
    pub fn evidence_in(&self, namespace: &str) -> Vec<ComplianceEvidence> {
        self.evidence.cloned_in(namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(version: &str, ready: bool, ip: &str) -> SlimPod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "chat-0", "namespace": "serve", "resourceVersion": version},
            "spec": {"containers": [{"name": "aigc-labeler", "image": "l"}]},
            "status": {"podIP": ip, "containerStatuses": [{"name": "aigc-labeler", "ready": ready}]}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn only_changes_a_decision_can_read_trigger_and_deletions_always_do() {
        let events = futures::stream::iter(vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(pod("1", false, "10.0.0.1"))),
            Ok(watcher::Event::InitDone),
            // A new resourceVersion and a field the operator does not keep: nothing to decide.
            Ok(watcher::Event::Apply(pod("2", false, "10.0.0.2"))),
            // The sidecar becomes ready: decide again.
            Ok(watcher::Event::Apply(pod("3", true, "10.0.0.2"))),
            Ok(watcher::Event::Apply(pod("4", true, "10.0.0.2"))),
            // Gone, unchanged: still a reason to decide again.
            Ok(watcher::Event::Delete(pod("4", true, "10.0.0.2"))),
        ]);
        let passed: Vec<String> = changed_only(events, Echoes::default())
            .map(|o| o.unwrap().metadata.resource_version.unwrap())
            .collect()
            .await;
        assert_eq!(passed, ["1", "3", "4"]);
    }

    #[tokio::test]
    async fn a_relist_triggers_for_objects_deleted_while_the_watch_was_down() {
        let cache = Cache::default();
        let events = futures::stream::iter(vec![
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(pod("1", true, "10.0.0.1"))),
            Ok(watcher::Event::InitDone),
            // The watch broke; chat-0 was deleted meanwhile: the re-list does not show it.
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitDone),
        ]);
        let seen: Vec<String> = into_cache(events, cache.clone(), Echoes::default())
            .map(|c| match c.unwrap() {
                Change::Object(c) => c.object.metadata.resource_version.clone().unwrap(),
                Change::Listed => "listed".to_owned(),
            })
            .collect()
            .await;
        assert_eq!(seen, ["1", "listed", "1", "listed"]);
        assert!(cache.is_empty());
    }

    /// A deployment's own writes come back through the watch: the version it wrote triggers
    /// nothing for itself, a later change by someone else does.
    #[tokio::test]
    async fn a_deployments_own_writes_do_not_wake_it_again() {
        let mut d: ModelDeployment =
            serde_json::from_value(api_stand_in::fixtures::chat_deployment()).unwrap();
        d.metadata.resource_version = Some("1".into());
        let version = |d: &ModelDeployment, v: &str, finalizers: &[&str]| {
            let mut d = d.clone();
            d.metadata.resource_version = Some(v.into());
            d.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
            d
        };
        let echoes = Echoes::default();
        let uid = d.metadata.uid.clone().unwrap();
        let with_finalizer = version(&d, "2", &["ours"]);
        echoes.wrote(&with_finalizer, &uid);
        let events = futures::stream::iter(vec![
            Ok(watcher::Event::Apply(version(&d, "1", &[]))),
            // The finalizer the reconcile added: its echo.
            Ok(watcher::Event::Apply(with_finalizer.clone())),
            // Someone else adds theirs.
            Ok(watcher::Event::Apply(version(&d, "3", &["ours", "theirs"]))),
        ]);
        let passed: Vec<String> = changed_only(events, echoes.clone())
            .map(|o| o.unwrap().metadata.resource_version.unwrap())
            .collect()
            .await;
        assert_eq!(passed, ["1", "3"]);
        assert!(echoes.is_empty(), "an echo is recognised once");

        // An object written for the deployment: its echo names the writer, so that only the
        // others it reaches are woken; the user's later edit names no one.
        let cache = Cache::default();
        let written = pod("5", true, "10.0.0.1");
        echoes.wrote(&written, &uid);
        let events = futures::stream::iter(vec![
            Ok(watcher::Event::Apply(written)),
            Ok(watcher::Event::Apply(pod("6", false, "10.0.0.1"))),
        ]);
        let writers: Vec<Option<String>> = into_cache(events, cache, echoes)
            .map(|c| match c.unwrap() {
                Change::Object(c) => c.writer,
                Change::Listed => None,
            })
            .collect()
            .await;
        assert_eq!(writers, [Some(uid), None]);
    }

    /// The echo of a write often arrives before the write's answer: it waits for the answer
    /// and is then told apart.
    #[tokio::test]
    async fn an_echo_ahead_of_its_answer_is_still_recognised() {
        let echoes = Echoes::default();
        let in_flight = echoes.writing::<SlimPod>(Some("serve"), "chat-0");
        let (events, stream) = futures::channel::mpsc::unbounded();
        let mut changes = Box::pin(into_cache(stream, Cache::default(), echoes.clone()));
        events
            .unbounded_send(Ok(watcher::Event::Apply(pod("5", true, "10.0.0.1"))))
            .unwrap();
        let next = tokio::spawn(async move {
            match changes.next().await.unwrap().unwrap() {
                Change::Object(c) => c.writer,
                Change::Listed => None,
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!next.is_finished(), "held while the write is in flight");
        echoes.wrote(&pod("5", true, "10.0.0.1"), "uid-a");
        drop(in_flight);
        assert_eq!(next.await.unwrap().as_deref(), Some("uid-a"));
    }

    #[test]
    fn a_status_write_is_no_reason_to_reconcile() {
        let mut d: ModelDeployment =
            serde_json::from_value(api_stand_in::fixtures::chat_deployment()).unwrap();
        let before = d.decision_digest();
        d.status = Some(Default::default());
        d.metadata.resource_version = Some("99".into());
        assert_eq!(d.decision_digest(), before);
        // What the digest leaves out is put back.
        assert_eq!(d.metadata.resource_version.as_deref(), Some("99"));
        assert!(d.status.is_some());
        d.metadata.labels = Some([("team".to_owned(), "chat".to_owned())].into());
        assert_ne!(d.decision_digest(), before, "a label is read");
        d.metadata.labels = None;
        assert_eq!(d.decision_digest(), before);
        d.spec.suspend = true;
        assert_ne!(d.decision_digest(), before);
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};
    use serde_json::{Value, json};

    fn labels(owner: Option<&str>) -> Value {
        match owner {
            Some(uid) => json!({ MANAGED_BY.0: MANAGED_BY.1, DEPLOYMENT_UID: uid }),
            None => json!({}),
        }
    }

    fn names<K: Resource>(objects: &[K]) -> Vec<String> {
        let mut out: Vec<String> = objects
            .iter()
            .map(|o| o.meta().name.clone().unwrap_or_default())
            .collect();
        out.sort();
        out
    }

    /// `chat` shares its training namespace with another deployment: of the other's objects,
    /// only those that can change chat's decisions are in chat's snapshot; its own and the
    /// user's that reach it are all there.
    #[test]
    fn a_snapshot_holds_what_reaches_the_deployment_and_what_was_made_for_it() {
        let api = api_stand_in::FakeApi::new();
        let mut deployment = api_stand_in::fixtures::chat_deployment();
        deployment["spec"]["training"]["safetyAnnotationVolumes"] = json!(["labels"]);
        api.insert(api_stand_in::fixtures::CHAT_DEPLOYMENT, deployment.clone());
        let policy: CompliancePolicy = serde_json::from_value(json!({
            "apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy",
            "metadata": {"name": "p"}, "spec": {}
        }))
        .unwrap();
        let deployment: ModelDeployment = serde_json::from_value(deployment).unwrap();
        let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/train";
        let np = |name: &str, owner: Option<&str>, role: &str| {
            api.insert(
                &format!("/apis/networking.k8s.io/v1/namespaces/train/networkpolicies/{name}"),
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": name, "namespace": "train", "labels": labels(owner)},
                    "spec": {"podSelector": {"matchLabels": {"role": role}}}}),
            );
        };
        let binding = |name: &str, owner: Option<&str>, role: &str| {
            api.insert(
                &format!("{rbac}/rolebindings/{name}"),
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": name, "namespace": "train", "labels": labels(owner)},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                    "subjects": [{"kind": "User", "name": "alice"}]}),
            );
        };
        let role = |name: &str, owner: Option<&str>| {
            api.insert(
                &format!("{rbac}/roles/{name}"),
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": name, "namespace": "train", "labels": labels(owner)},
                    "rules": []}),
            );
        };
        let snapshot = |name: &str, owner: Option<&str>, claim: &str, ready: bool| {
            api.insert(
                &format!(
                    "/apis/snapshot.storage.k8s.io/v1/namespaces/train/volumesnapshots/{name}"
                ),
                json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                    "metadata": {"name": name, "namespace": "train", "labels": labels(owner)},
                    "spec": {"source": {"persistentVolumeClaimName": claim}},
                    "status": {"readyToUse": ready}}),
            );
        };
        api.insert(
            "/api/v1/namespaces/train/pods/trainer-0",
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "trainer-0", "namespace": "train", "labels": {"role": "trainer"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        );
        // In the shared training namespace: another deployment's trainer, a stranger mounting
        // chat's safety annotations, one mounting its training data (read only when an
        // inference pod does), one that a policy of chat's trainers lets in, and an idle one.
        let pod = |name: &str, labels: Value, claim: &str| {
            api.insert(
                &format!("/api/v1/namespaces/train/pods/{name}"),
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": "train", "labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "i"}],
                             "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}}),
            );
        };
        pod("other-trainer-0", json!({"role": "other"}), "other-corpus");
        pod("mounts-labels", json!({"app": "backup"}), "labels");
        pod("mounts-corpus", json!({"app": "backup"}), "corpus");
        pod("etl-0", json!({"app": "etl"}), "scratch");
        pod("idle-0", json!({"app": "idle"}), "scratch");
        api.insert(
            "/apis/networking.k8s.io/v1/namespaces/train/networkpolicies/lets-etl-in",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "lets-etl-in", "namespace": "train"},
                "spec": {"podSelector": {"matchLabels": {"role": "trainer"}},
                         "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "etl"}}}]}]}}),
        );
        np("chat-isolation", Some("mdep-uid"), "nobody");
        np("users", None, "trainer");
        np("other-isolation", Some("other-uid"), "other");
        binding("chat-readers", Some("mdep-uid"), "chat-reader");
        binding("users", None, "shared");
        binding("other-readers", Some("other-uid"), "other-reader");
        role("chat-reader", Some("mdep-uid"));
        role("shared", None);
        role("other-reader", Some("other-uid"));
        role("unbound", None);
        snapshot("chat-corpus", Some("mdep-uid"), "corpus", false);
        snapshot("other-corpus-ready", Some("other-uid"), "corpus", true);
        snapshot("other-corpus-pending", Some("other-uid"), "corpus", false);
        snapshot("other-scratch", Some("other-uid"), "scratch", true);

        let mut stores = Stores::empty();
        stores.pods = api.store("/pods/").into();
        stores.network_policies = api.store("/networkpolicies/").into();
        stores.role_bindings = api.store("/rolebindings/").into();
        stores.roles = api.store("/roles/").into();
        stores.volume_snapshots = api.store("/volumesnapshots/").into();
        let s = stores.snapshot(&policy, &deployment);
        let train = s.ns("train");
        assert_eq!(
            names(&train.pods),
            ["etl-0", "mounts-labels", "trainer-0"],
            "the other's trainer and an idle pod change none of chat's decisions"
        );
        assert_eq!(
            names(&train.network_policies),
            ["chat-isolation", "lets-etl-in", "users"],
            "the other's policy selects none of chat's pods"
        );
        assert_eq!(names(&train.role_bindings), ["chat-readers", "users"]);
        assert_eq!(
            names(&train.roles),
            ["chat-reader", "shared"],
            "only the roles of the bindings chat reads"
        );
        assert_eq!(
            names(&train.volume_snapshots),
            ["chat-corpus", "other-corpus-ready"],
            "a ready backup of chat's claim counts whoever took it"
        );
    }
}
