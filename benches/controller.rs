//! Benchmark of the controller's reconcile path against the in-process API stand-in:
//! converges 1,000 ModelDeployments over 10,000 cached pods, and prints write requests per
//! deployment for the first reconcile and for a forced steady-state resync (goal 0),
//! reconciles per second, and the process's peak memory.

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

fn deployment(i: usize) -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"name": format!("model-{i}"), "namespace": format!("serve-{i}"), "uid": format!("uid-{i}"),
                     "generation": 1, "finalizers": ["modelcompliance.io/cleanup"]},
        "spec": {
            "policyRef": "p",
            "model": {"name": "m", "version": "1", "modalities": ["Text"]},
            "training": {"namespace": format!("train-{i}"), "podSelector": {"matchLabels": {"role": "trainer"}},
                         "dataVolumes": ["corpus"]},
            "inference": {"namespace": format!("serve-{i}"), "podSelector": {"matchLabels": {"app": "model"}}, "port": 8000}
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
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
            "/apis/modelcompliance.io/v1alpha1/namespaces/serve-{i}/modeldeployments/model-{i}"
        );
        api.insert(&path, deployment(i));
    }
    let stand_in_mib = rss_mib("VmRSS:") - base_mib;
    let before_pods = rss_mib("VmRSS:");
    let before_pods_heap = live_mib();
    let (pods, mut writer) = reflector::store::<SlimPod>();
    writer.apply_watcher_event(&watcher::Event::Init);
    for i in 0..DEPLOYMENTS {
        for j in 0..PODS_PER_DEPLOYMENT / 2 {
            let trainer = pod(
                &format!("train-{i}"),
                &format!("trainer-{j}"),
                json!({"role": "trainer"}),
            );
            writer.apply_watcher_event(&watcher::Event::InitApply(trainer));
            let server = pod(
                &format!("serve-{i}"),
                &format!("server-{j}"),
                json!({"app": "model"}),
            );
            writer.apply_watcher_event(&watcher::Event::InitApply(server));
        }
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let pods_heap_mib = live_mib() - before_pods_heap;
    println!(
        "cached {} pods: {} MiB resident for them; stand-in's copies of {} ModelDeployments: {} MiB",
        pods.len(),
        rss_mib("VmRSS:") - before_pods,
        DEPLOYMENTS,
        stand_in_mib
    );

    let (_, synced) = watch::channel(true);
    let ctx =
        Arc::new(Context::new(api.client(), stores(&api, &pods), synced.clone()).with_clock(now));
    let (first_secs, first_writes) = converge(&api, ctx.clone()).await;
    println!(
        "after the first reconcile of every deployment: peak memory {} MiB",
        peak_rss_mib()
    );
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

    println!(
        "first reconcile: {:.2} write requests per deployment ({} SubjectAccessReviews in all), {:.0} reconciles/s",
        first_writes as f64 / DEPLOYMENTS as f64,
        reviews,
        DEPLOYMENTS as f64 / first_secs
    );
    println!(
        "steady-state resync: {:.2} write requests per deployment, {:.0} reconciles/s",
        steady_writes as f64 / DEPLOYMENTS as f64,
        DEPLOYMENTS as f64 / steady_secs
    );
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
