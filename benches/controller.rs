//! Benchmark of the controller's reconcile path against the in-process API stand-in:
//! converges 1,000 ModelDeployments over 10,000 cached pods, and prints write requests per
//! deployment for the first reconcile and for a forced steady-state resync (goal 0),
//! reconciles per second, and the process's peak memory. It runs two shapes side by side:
//! every deployment in a namespace pair of its own, and all of them in one shared pair,
//! where each reconcile reads every other deployment's objects.
//!
//! It calls the reconcile directly, one deployment after another: it excludes the watches,
//! the triggers and the work queue, the HTTP and JSON costs of a real API server, and the
//! concurrency of the real controller.

use std::sync::Arc;
use std::time::Instant;

use api_stand_in::FakeApi;
use http::Method;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use model_compliance_operator::controller::slim::SlimPod;
use model_compliance_operator::controller::stores::{Stores, Trim};
use model_compliance_operator::controller::{Context, reconcile::reconcile};
use serde_json::{Value, json};
use tokio::sync::watch;

/// Counts live heap bytes, so that the operator's own memory can be told apart from the
/// stand-in's, which lives in the same process.
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// A global allocator is unsafe by contract; this one only forwards to the system's.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_mib() -> f64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

/// Starts a new peak measurement from the current live size.
fn reset_peak() {
    PEAK.store(
        LIVE.load(std::sync::atomic::Ordering::Relaxed),
        std::sync::atomic::Ordering::Relaxed,
    );
}

fn peak_mib() -> f64 {
    PEAK.load(std::sync::atomic::Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

const DEPLOYMENTS: usize = 1_000;
const PODS_PER_DEPLOYMENT: usize = 10;

fn now() -> Timestamp {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

fn rss_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        })
        .unwrap_or(0)
        / 1024
}

fn peak_rss_mib() -> u64 {
    rss_mib("VmHWM:")
}

/// Where the deployments live: each in a namespace pair of its own, or all in one shared
/// pair (each with selectors of its own), where every object the operator writes lands in
/// a namespace every deployment reads.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Separate,
    Shared,
}

impl Shape {
    fn train(self, i: usize) -> String {
        match self {
            Shape::Separate => format!("train-{i}"),
            Shape::Shared => "train".into(),
        }
    }
    fn serve(self, i: usize) -> String {
        match self {
            Shape::Separate => format!("serve-{i}"),
            Shape::Shared => "serve".into(),
        }
    }
    /// The value of the pods' selector label.
    fn tag(self, role: &str, i: usize) -> String {
        match self {
            Shape::Separate => role.into(),
            Shape::Shared => format!("{role}-{i}"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Shape::Separate => "separate namespaces",
            Shape::Shared => "one shared namespace pair",
        }
    }
}

fn deployment(shape: Shape, i: usize) -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"name": format!("model-{i}"), "namespace": shape.serve(i), "uid": format!("uid-{i}"),
                     "generation": 1, "finalizers": ["modelcompliance.io/cleanup"]},
        "spec": {
            "policyRef": "p",
            "model": {"name": "m", "version": "1", "modalities": ["Text"]},
            "training": {"namespace": shape.train(i), "podSelector": {"matchLabels": {"role": shape.tag("trainer", i)}},
                         "dataVolumes": ["corpus"]},
            "inference": {"namespace": shape.serve(i), "podSelector": {"matchLabels": {"app": shape.tag("model", i)}}, "port": 8000}
        }
    })
}

fn pod(namespace: &str, name: &str, labels: Value) -> SlimPod {
    let mut pod: SlimPod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-01T00:00:00Z"}},
        "spec": {"serviceAccountName": "sa", "containers": [
            {"name": "model", "image": "registry.example.com/model:1", "env": [{"name": "A", "value": "1".repeat(200)}],
             "ports": [{"containerPort": 8000}]},
            {"name": "aigc-labeler", "image": "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0",
             "ports": [{"containerPort": 8480, "name": "http-labeled"}]}
        ], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "corpus"}}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "model", "image": "m", "imageID": "m", "ready": true, "restartCount": 0},
            {"name": "aigc-labeler", "image": "l", "imageID": "l", "ready": true, "restartCount": 0}
        ]}
    }))
    .unwrap();
    pod.trim();
    pod
}

fn stores(api: &FakeApi, pods: &Store<SlimPod>) -> Stores {
    Stores {
        model_deployments: api.store("/modeldeployments/"),
        statuses: Default::default(),
        echoes: Default::default(),
        policies: api.store("/compliancepolicies/"),
        evidence: api.store("/__none__/").into(),
        namespaces: api.store("/__none__/").into(),
        apps_deployments: api.store("/__none__/").into(),
        stateful_sets: api.store("/__none__/").into(),
        pods: pods.clone().into(),
        services: api.store("/__none__/").into(),
        network_policies: api.store("/networkpolicies/").into(),
        roles: api.store("/roles/").into(),
        role_bindings: api.store("/rolebindings/").into(),
        pvcs: api.store("/__none__/").into(),
        cron_jobs: api.store("/__none__/").into(),
        volume_snapshots: api.store("/__none__/").into(),
        volume_snapshot_api: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        velero_schedules: api.store("/__none__/").into(),
        velero_backups: api.store("/__none__/").into(),
        velero_schedule_api: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        velero_backup_api: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    }
}

async fn converge(api: &FakeApi, ctx: Arc<Context>) -> (f64, usize) {
    api.clear_log();
    let deployments = ctx.stores.model_deployments.state();
    let start = Instant::now();
    for d in deployments {
        reconcile(d, ctx.clone()).await.expect("reconcile succeeds");
    }
    let secs = start.elapsed().as_secs_f64();
    let writes = api
        .log()
        .iter()
        .filter(|r| r.method != Method::GET && !r.is_event())
        .count();
    (secs, writes)
}

/// What one shape's run measured.
struct Figures {
    first_writes: f64,
    reviews: usize,
    first_rate: f64,
    steady_writes: f64,
    steady_rate: f64,
}

/// Converges `DEPLOYMENTS` deployments of `shape` over `PODS_PER_DEPLOYMENT` cached pods
/// each, then resyncs them all once the caches hold what was written. With `memory`, says
/// what the caches and the resync cost in memory (meaningful for the first shape run only:
/// the process's peak is shared).
async fn run_shape(shape: Shape, memory: bool) -> Figures {
    let api = FakeApi::new();
    api.lean_log();
    api.insert(
        "/apis/modelcompliance.io/v1alpha1/compliancepolicies/p",
        json!({"apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy", "metadata": {"name": "p"},
               "spec": {"controls": {"accessControl": {"readers": [{"kind": "Group", "name": "stewards"}]}}}}),
    );
    let base_mib = rss_mib("VmRSS:");
    for i in 0..DEPLOYMENTS {
        let path = format!(
            "/apis/modelcompliance.io/v1alpha1/namespaces/{}/modeldeployments/model-{i}",
            shape.serve(i)
        );
        api.insert(&path, deployment(shape, i));
    }
    let stand_in_mib = rss_mib("VmRSS:") - base_mib;
    let before_pods = rss_mib("VmRSS:");
    let before_pods_heap = live_mib();
    let (pods, mut writer) = reflector::store::<SlimPod>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for i in 0..DEPLOYMENTS {
        for j in 0..PODS_PER_DEPLOYMENT / 2 {
            let trainer = pod(
                &shape.train(i),
                &format!("trainer-{i}-{j}"),
                json!({"role": shape.tag("trainer", i)}),
            );
            writer.apply_watcher_event(&watcher::Event::InitApply(trainer));
            let server = pod(
                &shape.serve(i),
                &format!("server-{i}-{j}"),
                json!({"app": shape.tag("model", i)}),
            );
            writer.apply_watcher_event(&watcher::Event::InitApply(server));
        }
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let pods_heap_mib = live_mib() - before_pods_heap;
    if memory {
        println!(
            "cached {} pods: {} MiB resident for them; stand-in's copies of {} ModelDeployments: {} MiB",
            pods.len(),
            rss_mib("VmRSS:") - before_pods,
            DEPLOYMENTS,
            stand_in_mib
        );
    }

    let (_, synced) = watch::channel(true);
    let ctx =
        Arc::new(Context::new(api.client(), stores(&api, &pods), synced.clone()).with_clock(now));
    let (first_secs, first_writes) = converge(&api, ctx.clone()).await;
    if memory {
        println!(
            "after the first reconcile of every deployment: peak memory {} MiB",
            peak_rss_mib()
        );
    }
    let reviews = api
        .log()
        .iter()
        .filter(|r| r.path.ends_with("/subjectaccessreviews"))
        .count();

    // The watches deliver what was written; then a forced resync of every deployment.
    let before_caches = live_mib();
    let settled_stores = stores(&api, &pods);
    let caches_mib = live_mib() - before_caches + pods_heap_mib;
    let mut settled = Context::new(api.client(), settled_stores, synced).with_clock(now);
    settled.reviews = Arc::try_unwrap(ctx)
        .ok()
        .expect("no reconcile left running")
        .reviews;
    // Freed before measuring: the stand-in's log of the first pass.
    api.clear_log();
    reset_peak();
    let resync_start = live_mib();
    let (steady_secs, steady_writes) = converge(&api, Arc::new(settled)).await;
    let resync_extra = peak_mib() - resync_start;
    if memory {
        println!(
            "operator memory: caches {caches_mib:.1} MiB (1000 ModelDeployments with status, {} pods, owned objects) + at most {resync_extra:.2} MiB more during the resync = {:.1} MiB",
            pods.len(),
            caches_mib + resync_extra
        );
        println!(
            "peak resident memory of the whole process, stand-in included: {} MiB",
            peak_rss_mib()
        );
    }
    Figures {
        first_writes: first_writes as f64 / DEPLOYMENTS as f64,
        reviews,
        first_rate: DEPLOYMENTS as f64 / first_secs,
        steady_writes: steady_writes as f64 / DEPLOYMENTS as f64,
        steady_rate: DEPLOYMENTS as f64 / steady_secs,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let separate = run_shape(Shape::Separate, true).await;
    let shared = run_shape(Shape::Shared, false).await;
    for (shape, f) in [(Shape::Separate, &separate), (Shape::Shared, &shared)] {
        println!(
            "{}: first reconcile {:.2} write requests per deployment ({} SubjectAccessReviews in all), {:.0} reconciles/s; steady-state resync {:.2} write requests per deployment, {:.0} reconciles/s",
            shape.name(),
            f.first_writes,
            f.reviews,
            f.first_rate,
            f.steady_writes,
            f.steady_rate
        );
    }
    println!(
        "reconciles/s in the shared shape against separate namespaces, same run: first {:.2}x, resync {:.2}x",
        shared.first_rate / separate.first_rate,
        shared.steady_rate / separate.steady_rate
    );
}
