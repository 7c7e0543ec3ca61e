//! The reconcile harness the controller tests share: a live cluster in the API stand-in, the
//! caches filled from it as the watches would, and one reconcile at a time.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use api_stand_in::fixtures::{CHAT_DEPLOYMENT, chat_deployment};
use api_stand_in::{FakeApi, Logged};
use http::Method;
use k8s_openapi::jiff::Timestamp;

use model_compliance_operator::api::ModelDeployment;
use model_compliance_operator::controller::{Context, reconcile::reconcile, stores::Stores};
use serde_json::{Value, json};
use tokio::sync::watch;

// Each test binary thread has its own clock value through the harness; tests that move time
// use a distinct static.
pub static NOW_SECONDS: AtomicI64 = AtomicI64::new(1_795_996_800); // 2026-12-01T00:00:00Z

thread_local! {
    /// A clock of this test's own (its runtime runs on the test's thread), when set.
    static LOCAL_NOW: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Sets this test's own clock, leaving other tests' time alone.
pub fn set_now(rfc3339: &str) {
    let at: Timestamp = rfc3339.parse().unwrap();
    LOCAL_NOW.with(|n| n.set(Some(at.as_second())));
}

pub fn clock() -> Timestamp {
    let seconds = LOCAL_NOW
        .with(|n| n.get())
        .unwrap_or_else(|| NOW_SECONDS.load(Ordering::SeqCst));
    Timestamp::from_second(seconds).unwrap()
}

pub const MDEP: &str = CHAT_DEPLOYMENT;
pub const POLICY: &str = "/apis/modelcompliance.io/v1alpha1/compliancepolicies/p";
pub const ISOLATION_NP: &str =
    "/apis/networking.k8s.io/v1/namespaces/train/networkpolicies/mco-serve.chat-isolate-training";
pub const SUSPEND_NP: &str =
    "/apis/networking.k8s.io/v1/namespaces/serve/networkpolicies/mco-chat-suspend";
pub const READER_ROLE: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/train/roles/mco-serve.chat-training-data-reader";
pub const READER_BINDING: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/train/rolebindings/mco-serve.chat-training-data-reader";

pub fn policy() -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy",
        "metadata": {"name": "p", "uid": "policy-uid"},
        "spec": {
            "controls": {
                "isolation": {"allowedNamespaces": ["monitoring"]},
                "accessControl": {"readers": [{"kind": "Group", "name": "stewards"}]},
                // Backups and the sidecar have their own tests (`controls.rs`).
                "backup": {"mode": "Audit"}
            },
            "riskAcceptance": {"maxAcceptable": "Critical"}
        }
    })
}

pub fn deployment() -> Value {
    chat_deployment()
}

pub fn evidence(valid_until: &str) -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ComplianceEvidence",
        "metadata": {"name": "platform", "namespace": "serve"},
        "spec": {"rows": [1], "targets": ["chat"], "uri": "https://e.example/p.pdf",
                 "sha256": "0".repeat(64), "attestedBy": "officer@example.com",
                 "attestedAt": "2026-10-01T00:00:00Z", "validUntil": valid_until}
    })
}

pub fn pod(
    namespace: &str,
    name: &str,
    labels: Value,
    account: &str,
    containers: Value,
    claim: Option<&str>,
) -> Value {
    let names: Vec<Value> = containers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    let statuses: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "image": "x", "imageID": "x", "ready": true, "restartCount": 0}))
        .collect();
    let volumes = claim
        .map(|c| json!([{"name": "data", "persistentVolumeClaim": {"claimName": c}}]))
        .unwrap_or(json!([]));
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"serviceAccountName": account, "containers": containers, "volumes": volumes},
        "status": {"phase": "Running", "containerStatuses": statuses}
    })
}

/// The stand-in with a live cluster in which the deployment can be compliant.
pub fn cluster() -> FakeApi {
    let api = FakeApi::new();
    api.insert(POLICY, policy());
    api.insert(MDEP, deployment());
    api.insert(
        "/apis/modelcompliance.io/v1alpha1/namespaces/serve/complianceevidences/platform",
        evidence("2027-09-30T00:00:00Z"),
    );
    api.insert(
        "/api/v1/namespaces/train/pods/trainer-0",
        pod(
            "train",
            "trainer-0",
            json!({"role": "trainer"}),
            "trainer",
            json!([{"name": "train", "image": "t"}]),
            Some("corpus"),
        ),
    );
    api.insert(
        "/api/v1/namespaces/serve/pods/chat-0",
        pod(
            "serve",
            "chat-0",
            json!({"app": "chat"}),
            "chat",
            json!([
                {"name": "model", "image": "m", "ports": [{"containerPort": 8000, "name": "http-model"}]},
                {"name": "aigc-labeler", "image": "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0",
                 "ports": [{"containerPort": 8480, "name": "http-labeled"}]}
            ]),
            None,
        ),
    );
    api.insert(
        "/apis/apps/v1/namespaces/serve/deployments/chat",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "chat", "namespace": "serve"},
               "spec": {"selector": {"matchLabels": {"app": "chat"}},
                        "template": {"metadata": {"labels": {"app": "chat"}}, "spec": {"containers": [{"name": "model", "image": "m"}]}}}}),
    );
    api.insert(
        "/api/v1/namespaces/serve/services/chat",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat", "namespace": "serve"},
               "spec": {"selector": {"app": "chat"}, "ports": [{"port": 80, "targetPort": 8480}]}}),
    );
    api
}

/// The caches, as the watches would have filled them from the stand-in.
pub fn stores(api: &FakeApi) -> Stores {
    Stores {
        model_deployments: api.store("/modeldeployments/"),
        statuses: Default::default(),
        echoes: Default::default(),
        policies: api.store("/compliancepolicies/"),
        evidence: api.store("/complianceevidences/").into(),
        namespaces: api.store("/api/v1/namespaces/__none__").into(),
        apps_deployments: api.store("/deployments/").into(),
        stateful_sets: api.store("/statefulsets/").into(),
        pods: api.store("/pods/").into(),
        services: api.store("/services/").into(),
        network_policies: api.store("/networkpolicies/").into(),
        roles: api.store("/roles/").into(),
        role_bindings: api.store("/rolebindings/").into(),
        pvcs: api.store("/persistentvolumeclaims/").into(),
        cron_jobs: api.store("/cronjobs/").into(),
        volume_snapshots: api.store("/volumesnapshots/").into(),
        volume_snapshot_api: Arc::new(AtomicBool::new(true)),
        velero_schedules: api.store("/schedules/").into(),
        velero_backups: api.store("/backups/").into(),
        velero_schedule_api: Arc::new(AtomicBool::new(true)),
        velero_backup_api: Arc::new(AtomicBool::new(true)),
    }
}

/// A fresh context over the current state of the stand-in (the SubjectAccessReview cache
/// is carried over from `previous`, as in a running operator, by reusing the context).
pub fn context(api: &FakeApi) -> Arc<Context> {
    let (_, synced) = watch::channel(true);
    Arc::new(Context::new(api.client(), stores(api), synced).with_clock(clock))
}

pub fn current(api: &FakeApi) -> Arc<ModelDeployment> {
    Arc::new(serde_json::from_value(api.object(MDEP).unwrap()).unwrap())
}

/// Reconciles the deployment with caches refreshed from the stand-in, keeping the context's
/// other state (caches of answers) as a running operator would.
pub async fn reconcile_once(api: &FakeApi, ctx: &mut Arc<Context>) -> Result<(), String> {
    reconcile_fresh(api, ctx).await.map_err(|e| e.to_string())
}

/// The same, returning the reconcile's own error.
pub async fn reconcile_fresh(
    api: &FakeApi,
    ctx: &mut Arc<Context>,
) -> Result<(), model_compliance_operator::controller::Error> {
    reconcile_at(api, ctx, MDEP).await
}

/// The same for the ModelDeployment stored at `path`.
pub async fn reconcile_at(
    api: &FakeApi,
    ctx: &mut Arc<Context>,
    path: &str,
) -> Result<(), model_compliance_operator::controller::Error> {
    let fresh = context(api);
    // Carry the SubjectAccessReview answers: a running operator keeps them.
    let previous = std::mem::replace(ctx, fresh);
    let ctx_mut = Arc::get_mut(ctx).expect("context not shared");
    // And what it knows exists among the objects it does not watch (keys).
    if let Ok(previous) = Arc::try_unwrap(previous) {
        ctx_mut.reviews = previous.reviews;
        ctx_mut.created = previous.created;
        ctx_mut.metrics = previous.metrics;
    }
    let deployment = serde_json::from_value(api.object(path).unwrap()).unwrap();
    reconcile(Arc::new(deployment), ctx.clone())
        .await
        .map(|_| ())
}

pub fn paths(requests: &[Logged], method: Method) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == method)
        .map(|r| r.path.clone())
        .collect()
}

pub fn condition(api: &FakeApi, type_: &str) -> Value {
    let mdep = api.object(MDEP).unwrap();
    mdep["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_).cloned())
        .unwrap_or_else(|| panic!("no condition {type_} in {}", mdep["status"]))
}
