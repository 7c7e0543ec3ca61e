//! End-to-end tests of the controller against a real API server. They run when `MCO_E2E=1`
//! and a reachable cluster are configured, and otherwise print `skipped: no cluster` and pass.
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig cargo test --test e2e_controller -- --nocapture
//! ```
//!
//! The suite installs the CRDs, starts the operator binary (`model-compliance-operator run`)
//! once for the whole test binary, and gives every test its own namespace pair
//! (`mco-e2e-<pid>-<n>-train` / `-serve`) and its own cluster-scoped CompliancePolicy
//! (`mco-e2e-<pid>-<n>`), all deleted at the end of the test, also when it fails.
//!
//! The control plane may have no scheduler and no kubelet: the tests create Pods directly and
//! stand in for the kubelet by writing their status through the `pods/status` subresource.
//!
//! The operator's log goes to `$TMPDIR/mco-e2e-controller-<pid>.log` (with `RUST_LOG=info`,
//! or `$MCO_E2E_RUST_LOG` if set); its path is printed at start and when a test fails. The
//! operator runs under a small shell watchdog that stops it as soon as the test process is
//! gone (however it ends), so no operator outlives the suite.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use api_stand_in::e2e::{MANAGER, cluster, install_crds};
use futures::FutureExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, GetParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use model_compliance_operator::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use model_compliance_operator::catalog;
use model_compliance_operator::crdgen;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Field manager of what the tests apply (the same as `tests/e2e.rs`).
/// How long a test waits for the operator to do something.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How often it looks.
const INTERVAL: Duration = Duration::from_millis(200);
/// Label of the operator's objects naming the ModelDeployment by uid.
const DEPLOYMENT_UID: &str = "modelcompliance.io/deployment-uid";
const SIDECAR: &str = "aigc-labeler";
const RBAC: &str = "rbac.authorization.k8s.io";
const SIDECAR_IMAGE: &str = "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0";
const MODEL_IMAGE: &str = "registry.example.com/e2e/model-server:1.0.0";
const TRAINER_IMAGE: &str = "registry.example.com/e2e/trainer:1.0.0";
const POLICY_FIXTURE: &str = include_str!("fixtures/e2e-controller/policy.yaml");
const DEPLOYMENT_FIXTURE: &str = include_str!("fixtures/e2e-controller/modeldeployment.yaml");

// ---------------------------------------------------------------------------------------------
// Gating, CRDs and the operator process
// ---------------------------------------------------------------------------------------------

/// The operator, started once for the whole test binary.
struct Operator {
    log: PathBuf,
    /// Where it serves `/healthz`, `/readyz` and `/metrics` (loopback, a free port).
    http: std::net::SocketAddr,
    /// The watchdog shell whose child is the operator.
    watchdog: Mutex<Child>,
}

static OPERATOR: OnceLock<Operator> = OnceLock::new();

/// The label of this test process's ModelDeployments: its operator serves only those
/// (`--selector`), so other runs and installations can share the cluster.
const RUN_LABEL: &str = "e2e-controller-run";

/// Runs the operator (`$2 run --http-addr $3`) and stops it when the test process (`$1`) is gone or on
/// SIGTERM: statics are never dropped, and a test binary can be killed, so a `Drop` guard
/// alone would leave an orphan. SIGTERM first (graceful shutdown), SIGKILL after 10 s.
const WATCHDOG: &str = r#"
"$2" run --http-addr "$3" --selector "$4" &
op=$!
stop() {
  kill -TERM "$op" 2>/dev/null
  for _ in $(seq 20); do kill -0 "$op" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$op" 2>/dev/null
  wait "$op"
  echo "mco-e2e watchdog: operator exited with status $?"
  exit 0
}
trap stop TERM INT HUP
while kill -0 "$1" 2>/dev/null && kill -0 "$op" 2>/dev/null; do sleep 0.5; done
stop
"#;

fn operator() -> &'static Operator {
    OPERATOR.get_or_init(|| {
        let log =
            std::env::temp_dir().join(format!("mco-e2e-controller-{}.log", std::process::id()));
        let file = std::fs::File::create(&log).expect("operator log file");
        // A free loopback port for the health endpoints (the default binds 0.0.0.0:8080).
        let http = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port");
        let watchdog = Command::new("bash")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("mco-e2e-watchdog")
            .arg(std::process::id().to_string())
            .arg(env!("CARGO_BIN_EXE_model-compliance-operator"))
            .arg(http.to_string())
            .arg(format!("{RUN_LABEL}={}", std::process::id()))
            .env(
                "RUST_LOG",
                std::env::var("MCO_E2E_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .expect("operator starts");
        println!(
            "operator started (watchdog pid {}), log: {}",
            watchdog.id(),
            log.display()
        );
        Operator {
            log,
            http,
            watchdog: Mutex::new(watchdog),
        }
    })
}

impl Operator {
    /// Waits until `/readyz` answers 200: every cache of the operator has synced.
    async fn wait_ready(&self) {
        let addr = self.http;
        eventually("the operator's /readyz", TIMEOUT, || async move {
            tokio::task::spawn_blocking(move || http_get(addr, "/readyz"))
                .await
                .map_err(|e| e.to_string())?
                .and_then(|(code, body)| match code {
                    200 => Ok(()),
                    _ => Err(format!("{code} {body}")),
                })
        })
        .await
    }

    /// What to print when a test fails: where the log is, whether the operator still runs,
    /// and the end of its log.
    fn report(&self) -> String {
        let state = match self.watchdog.lock().map(|mut c| c.try_wait()) {
            Ok(Ok(None)) => "running".to_owned(),
            Ok(Ok(Some(status))) => format!("EXITED ({status})"),
            _ => "unknown".to_owned(),
        };
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!(
            "operator {state}; log: {}\n--- last lines of the operator log ---\n{tail}",
            self.log.display()
        )
    }
}

/// A plain HTTP/1.1 GET on loopback: (status code, body).
fn http_get(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let timeout = Duration::from_secs(2);
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let code = response
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {response:?}"))?;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((code, body))
}

// ---------------------------------------------------------------------------------------------
// Per-test environment
// ---------------------------------------------------------------------------------------------

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's namespaces and policies.
#[derive(Clone)]
struct Env {
    client: Client,
    /// `mco-e2e-<pid>-<n>`: the name of the test's policy and the prefix of its namespaces.
    id: String,
    train: String,
    serve: String,
    /// Every policy the test created, deleted at the end.
    policies: Arc<Mutex<Vec<String>>>,
    /// More namespaces the test created, deleted at the end.
    extra_namespaces: Arc<Mutex<Vec<String>>>,
}

/// Runs one scenario in a fresh environment; cleans up whatever happens, and on failure
/// prints where the operator's log is.
async fn scenario<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let operator = operator();
    operator.wait_ready().await;
    let env = Env::new(client, test).await;
    let started = Instant::now();
    let result = AssertUnwindSafe(body(env.clone())).catch_unwind().await;
    env.cleanup().await;
    match result {
        Ok(()) => println!("{test}: passed in {:.1?}", started.elapsed()),
        Err(panic) => {
            eprintln!(
                "{test} failed after {:.1?} (namespaces {} / {}); {}",
                started.elapsed(),
                env.train,
                env.serve,
                operator.report()
            );
            std::panic::resume_unwind(panic);
        }
    }
}

fn from_json<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("test object deserializes")
}

impl Env {
    async fn new(client: Client, test: &str) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("mco-e2e-{}-{n}", std::process::id());
        let env = Env {
            client,
            train: format!("{id}-train"),
            serve: format!("{id}-serve"),
            id,
            policies: Arc::default(),
            extra_namespaces: Arc::default(),
        };
        for ns in [&env.train, &env.serve] {
            env.create_namespace(ns, test).await;
        }
        env
    }

    async fn create_namespace(&self, name: &str, test: &str) {
        let object: Namespace = from_json(json!({"metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "mco-e2e-controller",
                "mco-e2e/test": test.replace('_', "-")
            }
        }}));
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &object)
            .await
            .expect("namespace created");
    }

    /// One more namespace, `<id>-<suffix>`, deleted at the end of the test.
    async fn extra_namespace(&self, suffix: &str, test: &str) -> String {
        let name = format!("{}-{suffix}", self.id);
        self.extra_namespaces.lock().unwrap().push(name.clone());
        self.create_namespace(&name, test).await;
        name
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn deployments(&self) -> Api<ModelDeployment> {
        self.api(&self.serve)
    }

    /// Creates (server-side applies) the fixture policy under `name`.
    async fn apply_policy(&self, name: &str) {
        self.apply_policy_with(name, |_| {}).await
    }

    /// The same, changed by `change` first.
    async fn apply_policy_with(&self, name: &str, change: impl FnOnce(&mut Value)) {
        self.policies.lock().unwrap().push(name.to_owned());
        let mut doc: Value =
            serde_yaml_ng::from_str(&POLICY_FIXTURE.replace("@POLICY@", name)).unwrap();
        change(&mut doc);
        let api: Api<CompliancePolicy> = Api::all(self.client.clone());
        api.patch(name, &PatchParams::apply(MANAGER), &Patch::Apply(&doc))
            .await
            .expect("policy applies");
    }

    /// Creates (server-side applies) the fixture ModelDeployment `name` in the serve namespace.
    async fn apply_model_deployment(&self, name: &str, policy: &str) -> ModelDeployment {
        self.apply_model_deployment_in(&self.serve, name, policy)
            .await
    }

    /// The same in namespace `serve`, which is also its inference namespace.
    async fn apply_model_deployment_in(
        &self,
        serve: &str,
        name: &str,
        policy: &str,
    ) -> ModelDeployment {
        let text = DEPLOYMENT_FIXTURE
            .replace("@NAME@", name)
            .replace("@POLICY@", policy)
            .replace("@TRAIN_NS@", &self.train)
            .replace("@SERVE_NS@", serve);
        let mut doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        doc["metadata"]["labels"] = json!({ RUN_LABEL: std::process::id().to_string() });
        self.api::<ModelDeployment>(serve)
            .patch(name, &PatchParams::apply(MANAGER), &Patch::Apply(&doc))
            .await
            .expect("ModelDeployment applies")
    }

    /// The objects a ModelDeployment `name` names, as a platform team would have them:
    /// service accounts, claims, a trainer pod, the server Deployment (0 replicas: there is
    /// no scheduler), the Service through the sidecar, and two server pods whose containers
    /// are not ready yet.
    async fn create_workloads(&self, name: &str) {
        let post = PostParams::default();
        let server = format!("{name}-server");
        for (ns, sa) in [(&self.train, "trainer"), (&self.serve, server.as_str())] {
            let object: ServiceAccount = from_json(json!({"metadata": {"name": sa}}));
            create_or_keep(&self.api(ns), &object).await;
        }
        for (ns, claim) in [
            (&self.train, "training-corpus"),
            (&self.train, "safety-annotations"),
            (&self.serve, "model-weights"),
        ] {
            let object: PersistentVolumeClaim = from_json(json!({
                "metadata": {"name": claim},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}
                }
            }));
            create_or_keep(&self.api(ns), &object).await;
        }
        let trainer: Pod = from_json(json!({
            "metadata": {
                "name": format!("{name}-trainer-0"),
                "labels": {"app.kubernetes.io/component": "trainer"}
            },
            "spec": {
                "serviceAccountName": "trainer",
                "containers": [{"name": "trainer", "image": TRAINER_IMAGE}],
                "volumes": [
                    {"name": "corpus", "persistentVolumeClaim": {"claimName": "training-corpus"}},
                    {"name": "safety", "persistentVolumeClaim": {"claimName": "safety-annotations"}}
                ]
            }
        }));
        self.api::<Pod>(&self.train)
            .create(&post, &trainer)
            .await
            .expect("trainer pod created");
        let labels = json!({"app.kubernetes.io/name": server});
        let pod_spec = json!({
            "serviceAccountName": server,
            "automountServiceAccountToken": false,
            "containers": [
                {"name": "model-server", "image": MODEL_IMAGE,
                 "ports": [{"name": "http-model", "containerPort": 8000}]},
                {"name": SIDECAR, "image": SIDECAR_IMAGE,
                 "ports": [{"name": "http-labeled", "containerPort": 8480}]}
            ],
            "volumes": [{
                "name": "weights",
                "persistentVolumeClaim": {"claimName": "model-weights", "readOnly": true}
            }]
        });
        let workload: Deployment = from_json(json!({
            "metadata": {"name": server, "labels": labels},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec}
            }
        }));
        self.api::<Deployment>(&self.serve)
            .create(&post, &workload)
            .await
            .expect("server Deployment created");
        let service: Service = from_json(json!({
            "metadata": {"name": name},
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": "http-labeled"}]
            }
        }));
        self.api::<Service>(&self.serve)
            .create(&post, &service)
            .await
            .expect("Service created");
        for i in 0..2 {
            let pod: Pod = from_json(json!({
                "metadata": {"name": format!("{server}-{i}"), "labels": labels},
                "spec": pod_spec
            }));
            self.api::<Pod>(&self.serve)
                .create(&post, &pod)
                .await
                .expect("server pod created");
        }
    }

    /// Stands in for the kubelet: every pod of the serve namespace running, all containers
    /// ready.
    async fn make_pods_ready(&self, namespace: &str) {
        let pods: Api<Pod> = self.api(namespace);
        let now = Timestamp::from_second(Timestamp::now().as_second())
            .unwrap()
            .to_string();
        for pod in pods.list(&ListParams::default()).await.unwrap() {
            let containers = &pod.spec.as_ref().unwrap().containers;
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| {
                    let image = c.image.clone().unwrap_or_default();
                    json!({
                        "name": c.name,
                        "image": image,
                        "imageID": format!("{image}@sha256:{}", "0".repeat(64)),
                        "ready": true,
                        "started": true,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now}}
                    })
                })
                .collect();
            let status = json!({"status": {
                "phase": "Running",
                "conditions": [
                    {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                    {"type": "Ready", "status": "True", "lastTransitionTime": now}
                ],
                "containerStatuses": statuses
            }});
            pods.patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await
            .expect("pod status written");
        }
    }

    /// Everything the test made: ModelDeployments first (waiting for the operator to remove
    /// its finalizer, so that namespaces do not hang), then namespaces and policies.
    async fn cleanup(&self) {
        let extra = self.extra_namespaces.lock().unwrap().clone();
        let mut namespaces = vec![self.train.clone(), self.serve.clone()];
        namespaces.extend(extra);
        for ns in &namespaces {
            self.delete_deployments(ns).await;
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        for ns in &namespaces {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        // Volumes a test provided for its claims (cluster-scoped), also when it failed.
        let volumes: Api<k8s_openapi::api::core::v1::PersistentVolume> =
            Api::all(self.client.clone());
        if let Ok(list) = volumes.list(&ListParams::default()).await {
            for pv in list.items {
                let claimed_here = pv
                    .spec
                    .as_ref()
                    .and_then(|s| s.claim_ref.as_ref())
                    .and_then(|c| c.namespace.as_ref())
                    .is_some_and(|ns| namespaces.contains(ns));
                if claimed_here && pv.name_any().starts_with("mco-e2e-") {
                    let _ = volumes
                        .delete(&pv.name_any(), &DeleteParams::default())
                        .await;
                }
            }
        }
        let policies: Api<CompliancePolicy> = Api::all(self.client.clone());
        let names = self.policies.lock().unwrap().clone();
        for p in names {
            let _ = policies.delete(&p, &DeleteParams::default()).await;
        }
    }

    /// Deletes the ModelDeployments of `namespace` and waits for the operator to let them go.
    async fn delete_deployments(&self, namespace: &str) {
        let deployments: Api<ModelDeployment> = self.api(namespace);
        let Ok(list) = deployments.list(&ListParams::default()).await else {
            return;
        };
        for d in &list {
            let _ = deployments
                .delete(&d.name_any(), &DeleteParams::default())
                .await;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match deployments.list(&ListParams::default()).await {
                Ok(l) if l.items.is_empty() => return,
                Err(_) => return,
                _ => tokio::time::sleep(INTERVAL).await,
            }
        }
        // The operator did not finish (a failed test may have killed it): let the
        // namespace go anyway.
        api_stand_in::e2e::lift_finalizers(&self.client, namespace).await;
    }

    /// The standard setup: policy, workloads (pods not ready), ModelDeployment `name`.
    async fn standard(&self, name: &str) -> ModelDeployment {
        self.apply_policy(&self.id).await;
        self.create_workloads(name).await;
        self.apply_model_deployment(name, &self.id).await
    }

    /// Waits until `name` is reconciled for its current generation with Ready True.
    async fn wait_ready(&self, name: &str) -> ModelDeployment {
        poll(&self.deployments(), name, "Ready True", |d| {
            let d = reconciled(d)?;
            condition_is(d, "Ready", "True", None)?;
            Ok(d.clone())
        })
        .await
    }

    async fn set_suspend(&self, name: &str, suspend: bool) {
        self.deployments()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"suspend": suspend}})),
            )
            .await
            .expect("spec.suspend patched");
    }

    /// Events about the ModelDeployment `uid` with `reason`, as (name, count) pairs.
    async fn events(&self, uid: &str, reason: &str) -> Vec<(String, i32, String)> {
        let api: Api<Event> = self.api(&self.serve);
        let list = api.list(&ListParams::default()).await.expect("events list");
        list.items
            .into_iter()
            .filter(|e| {
                e.reason.as_deref() == Some(reason)
                    && e.regarding.as_ref().and_then(|r| r.uid.as_deref()) == Some(uid)
            })
            .map(|e| {
                let count = e.series.as_ref().map_or(1, |s| s.count);
                (e.name_any(), count, e.note.clone().unwrap_or_default())
            })
            .collect()
    }

    /// Waits for an Event with `reason` about `uid` that is not among `before`.
    async fn wait_event(
        &self,
        uid: &str,
        reason: &str,
        before: &[(String, i32, String)],
    ) -> (String, i32, String) {
        let what = format!("a new Event with reason {reason}");
        eventually(&what, TIMEOUT, || async {
            let now = self.events(uid, reason).await;
            now.into_iter()
                .find(|e| !before.iter().any(|b| b.0 == e.0 && b.1 == e.1))
                .ok_or_else(|| format!("only the Events seen before: {before:?}"))
        })
        .await
    }
}

/// Creates `object` unless it exists.
async fn create_or_keep<K>(api: &Api<K>, object: &K)
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("cannot create {}: {e}", object.meta().name.clone().unwrap()),
    }
}

// ---------------------------------------------------------------------------------------------
// Polling and condition helpers
// ---------------------------------------------------------------------------------------------

/// Polls `probe` every `INTERVAL` until it answers `Ok`, or panics after `timeout` with the
/// last answer.
async fn eventually<T, Fut>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(value) => return value,
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Polls the object `name` until `check` accepts it (or its absence).
async fn poll<K, T>(
    api: &Api<K>,
    name: &str,
    what: &str,
    check: impl Fn(Option<&K>) -> Result<T, String>,
) -> T
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let check = &check;
    let what = format!("{} {name}: {what}", std::any::type_name::<K>());
    eventually(&what, TIMEOUT, move || async move {
        let object = api.get_opt(name).await.map_err(|e| e.to_string())?;
        check(object.as_ref())
    })
    .await
}

fn condition<'a>(d: &'a ModelDeployment, type_: &str) -> Option<&'a Condition> {
    d.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// The condition `type_` when it has `status` (and `reason`, if given).
fn condition_is(
    d: &ModelDeployment,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> Result<Condition, String> {
    let c = condition(d, type_).ok_or_else(|| format!("no condition {type_} yet"))?;
    if c.status == status && reason.is_none_or(|r| c.reason == r) {
        Ok(c.clone())
    } else {
        Err(format!(
            "{type_} is {} ({}): {}",
            c.status, c.reason, c.message
        ))
    }
}

/// The deployment, once its status is for its current generation.
fn reconciled(d: Option<&ModelDeployment>) -> Result<&ModelDeployment, String> {
    let d = d.ok_or("the ModelDeployment does not exist")?;
    let observed = d.status.as_ref().and_then(|s| s.observed_generation);
    if observed.is_some() && observed == d.metadata.generation {
        Ok(d)
    } else {
        Err(format!(
            "status.observedGeneration {observed:?}, metadata.generation {:?}",
            d.metadata.generation
        ))
    }
}

/// Every row and measure condition type, from the catalog.
fn obligation_types() -> Vec<String> {
    catalog::ROWS
        .iter()
        .map(|r| r.condition_type())
        .chain(
            catalog::MEASURES
                .iter()
                .map(|m| m.condition_type.to_owned()),
        )
        .collect()
}

fn missing_conditions(d: &ModelDeployment, types: &[String]) -> Vec<String> {
    types
        .iter()
        .filter(|t| condition(d, t).is_none())
        .cloned()
        .collect()
}

/// Objects in the training namespace carry the deployment's namespace in their name.
fn isolation_name(namespace: &str, deployment: &str) -> String {
    format!("mco-{namespace}.{deployment}-isolate-training")
}

fn reader_name(namespace: &str, deployment: &str) -> String {
    format!("mco-{namespace}.{deployment}-training-data-reader")
}

fn suspend_name(deployment: &str) -> String {
    format!("mco-{deployment}-suspend")
}

fn selector(labels: Value) -> LabelSelector {
    from_json(json!({ "matchLabels": labels }))
}

/// `kubectl get mdep NAME`: the server-side Table of the printer columns, as (column, cell).
async fn printer_columns(client: &Client, namespace: &str, name: &str) -> Vec<(String, Value)> {
    let mut request = kube::core::Request::new(format!(
        "/apis/modelcompliance.io/v1alpha1/namespaces/{namespace}/modeldeployments"
    ))
    .get(name, &GetParams::default())
    .unwrap();
    request.headers_mut().insert(
        "accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io"
            .parse()
            .unwrap(),
    );
    let table: Value = client.request(request).await.expect("table readable");
    let columns = table["columnDefinitions"].as_array().expect("columns");
    let cells = table["rows"][0]["cells"].as_array().expect("one row");
    columns
        .iter()
        .zip(cells)
        .map(|(c, v)| (c["name"].as_str().unwrap_or("").to_owned(), v.clone()))
        .collect()
}

/// The real kubectl: `$KUBECTL`, else `kubectl` on the PATH.
fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| "kubectl".into())
}

/// `kubectl get KIND -n NAMESPACE` as a person reads it: per line, (column, cell), the cells
/// cut at the header's column starts.
fn kubectl_get(namespace: &str, kind: &str) -> Vec<Vec<(String, String)>> {
    let out = Command::new(kubectl())
        .args(["get", kind, "-n", namespace])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (set KUBECTL): {e}", kubectl().display()));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kubectl get {kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("kubectl get {kind} -n {namespace}:\n{text}");
    let mut lines = text.lines();
    let header = lines.next().expect("a header line");
    // A column starts at the text's start or after two spaces or more.
    let bytes = header.as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i] != b' ' && (i == 0 || (i >= 2 && bytes[i - 1] == b' ' && bytes[i - 2] == b' '))
        })
        .collect();
    lines
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(n, &start)| {
                    let end = starts.get(n + 1).copied().unwrap_or(usize::MAX);
                    let cell = line.get(start..end.min(line.len())).unwrap_or("");
                    let name = header[start..end.min(header.len())].trim();
                    (name.to_owned(), cell.trim().to_owned())
                })
                .collect()
        })
        .collect()
}

/// The line of `kubectl get` whose NAME is `name`, as (column, cell).
fn kubectl_line<'a>(lines: &'a [Vec<(String, String)>], name: &str) -> &'a [(String, String)] {
    lines
        .iter()
        .find(|l| l.first().is_some_and(|(c, v)| c == "NAME" && v == name))
        .unwrap_or_else(|| panic!("no line {name} in {lines:?}"))
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// 1. Conditions from live facts: one per row and measure plus the summary ones; the sidecar
///    row follows pod readiness; the isolation NetworkPolicy; printer columns.
#[tokio::test]
async fn conditions_follow_live_facts() {
    scenario("conditions_follow_live_facts", |env| async move {
        let name = "chat";
        env.standard(name).await;

        // The server pods exist but their containers are not ready.
        let before = poll(
            &env.deployments(),
            name,
            "A37 False with SidecarNotReady",
            |d| {
                let d = reconciled(d)?;
                condition_is(
                    d,
                    "A37-GeneratedContentLabeled",
                    "False",
                    Some("SidecarNotReady"),
                )?;
                Ok(d.clone())
            },
        )
        .await;
        let a37 = condition(&before, "A37-GeneratedContentLabeled").unwrap();
        assert_eq!(
            a37.message,
            "labeling sidecar: see M81b-ContentSafetyFiltered"
        );
        let m81b = condition(&before, "M81b-ContentSafetyFiltered").unwrap();
        assert!(
            m81b.message.contains(SIDECAR) && m81b.message.contains("not ready"),
            "M81b message: {}",
            m81b.message
        );

        env.make_pods_ready(&env.serve).await;
        env.make_pods_ready(&env.train).await;
        let d = poll(&env.deployments(), name, "A37 True", |d| {
            let d = reconciled(d)?;
            condition_is(d, "A37-GeneratedContentLabeled", "True", None)?;
            Ok(d.clone())
        })
        .await;

        // observedGeneration, and every condition there is.
        let status = d.status.as_ref().unwrap();
        assert_eq!(status.observed_generation, d.metadata.generation);
        let mut expected: Vec<String> = ["Ready", "Compliant", "Reconciling", "Stalled"]
            .map(String::from)
            .to_vec();
        expected.extend(obligation_types());
        assert_eq!(expected.len(), 4 + 42 + 6);
        let missing = missing_conditions(&d, &expected);
        assert!(missing.is_empty(), "conditions missing: {missing:?}");
        assert_eq!(
            status.conditions.len(),
            expected.len(),
            "unexpected extra conditions: {:?}",
            status
                .conditions
                .iter()
                .map(|c| &c.type_)
                .collect::<Vec<_>>()
        );
        // The generation is said by status.observedGeneration and the summary conditions
        // that tools read; the rows do not repeat it.
        assert_eq!(status.observed_generation, d.metadata.generation);
        for c in &status.conditions {
            let summary =
                ["Ready", "Compliant", "Reconciling", "Stalled"].contains(&c.type_.as_str());
            let expected = if summary { d.metadata.generation } else { None };
            assert_eq!(
                c.observed_generation, expected,
                "{} has observedGeneration {:?}",
                c.type_, c.observed_generation
            );
        }
        condition_is(&d, "Ready", "True", Some("ControlsApplied")).unwrap();
        condition_is(&d, "Stalled", "False", None).unwrap();
        condition_is(&d, "Reconciling", "False", None).unwrap();
        let compliant = condition(&d, "Compliant").unwrap();
        assert!(
            ["RiskAcceptable", "RiskUnacceptable"].contains(&compliant.reason.as_str()),
            "Compliant: {compliant:?}"
        );
        // Live facts decide the control rows: sidecar in place and ready, training isolated.
        condition_is(&d, "A27-UserInputChecked", "True", None).unwrap();
        condition_is(&d, "M81b-ContentSafetyFiltered", "True", None).unwrap();
        condition_is(
            &d,
            "M81a-TrainingInferenceIsolated",
            "True",
            Some("Isolated"),
        )
        .unwrap();
        condition_is(&d, "M81a-DataAccessRestricted", "True", None).unwrap();
        // No VolumeSnapshot in this cluster: backups are not current.
        condition_is(&d, "M81e-BackupsCurrent", "False", None).unwrap();

        // The isolation NetworkPolicy selects the training pods.
        let np: Api<NetworkPolicy> = env.api(&env.train);
        let np = np
            .get(&isolation_name(&env.serve, name))
            .await
            .expect("isolation policy");
        let spec = np.spec.as_ref().unwrap();
        let trainers = selector(json!({"app.kubernetes.io/component": "trainer"}));
        assert_eq!(spec.pod_selector.as_ref(), Some(&trainers));
        assert_eq!(
            spec.policy_types.as_deref(),
            Some(&["Ingress".to_owned()][..])
        );
        let from = spec.ingress.as_ref().unwrap()[0].from.as_ref().unwrap();
        assert_eq!(from[0].pod_selector.as_ref(), Some(&trainers));
        assert_eq!(
            np.labels().get(DEPLOYMENT_UID).map(String::as_str),
            d.metadata.uid.as_deref()
        );

        // Printer columns, as `kubectl get mdep` shows them.
        let summary = status.summary.as_ref().expect("status.summary");
        let (met, applicable) = summary
            .compliant
            .split_once('/')
            .expect("summary.compliant is N/M");
        let (met, applicable): (u32, u32) = (met.parse().unwrap(), applicable.parse().unwrap());
        assert!(met <= applicable && applicable > 0, "{}", summary.compliant);
        let risk = status.risk.expect("status.risk");
        let columns = printer_columns(&env.client, &env.serve, name).await;
        let cell = |n: &str| {
            columns
                .iter()
                .find(|(c, _)| c == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no printer column {n}: {columns:?}"))
        };
        assert_eq!(cell("Name"), json!(name));
        assert_eq!(cell("Policy"), json!(env.id));
        assert_eq!(cell("Compliant"), json!(summary.compliant));
        assert_eq!(cell("Risk"), serde_json::to_value(risk).unwrap());
        assert_eq!(cell("Ready"), json!("True"));
        println!(
            "kubectl get mdep: {}",
            columns
                .iter()
                .map(|(c, v)| format!("{c}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    })
    .await;
}

/// 2. Drift healing: the operator recreates its NetworkPolicy when someone deletes it.
#[tokio::test]
async fn deleted_network_policy_is_recreated() {
    scenario("deleted_network_policy_is_recreated", |env| async move {
        let name = "chat";
        env.standard(name).await;
        let d = env.wait_ready(name).await;
        let uid = d.metadata.uid.clone().unwrap();
        let api: Api<NetworkPolicy> = env.api(&env.train);
        let np_name = isolation_name(&env.serve, name);
        let first = poll(&api, &np_name, "exists", |np| {
            np.cloned().ok_or_else(|| "absent".to_owned())
        })
        .await;
        let applied_before = env.events(&uid, "Applied").await;
        assert!(
            !applied_before.is_empty(),
            "no Applied event for the first apply"
        );

        api.delete(&np_name, &DeleteParams::default())
            .await
            .expect("NetworkPolicy deleted");
        let old_uid = first.metadata.uid.clone();
        let again = poll(&api, &np_name, "recreated", |np| match np {
            Some(np) if np.metadata.uid != old_uid => Ok(np.clone()),
            Some(_) => Err("still the old object".to_owned()),
            None => Err("absent".to_owned()),
        })
        .await;
        assert_eq!(again.spec, first.spec, "recreated with a different spec");
        assert_eq!(
            again.labels().get(DEPLOYMENT_UID).map(String::as_str),
            Some(uid.as_str())
        );
        let event = env.wait_event(&uid, "Applied", &applied_before).await;
        println!("Applied event after drift: {event:?}");

        // Someone opens the training pods to every source: the operator puts its rule back.
        let open = json!({"spec": {"ingress": [{}]}});
        let opened = api
            .patch(&np_name, &PatchParams::default(), &Patch::Merge(&open))
            .await
            .expect("NetworkPolicy edited");
        assert_ne!(opened.spec, first.spec);
        poll(&api, &np_name, "restored", |np| match np {
            Some(np) if np.spec == first.spec => Ok(()),
            Some(np) => Err(format!("spec {:?}", np.spec)),
            None => Err("absent".to_owned()),
        })
        .await;
        // Healing keeps the deployment ready and the training pods isolated.
        let d = env.wait_ready(name).await;
        condition_is(&d, "M81a-TrainingInferenceIsolated", "True", None).unwrap();
    })
    .await;
}

/// 3. Suspend: the kill switch cuts ingress to the inference pods and lifts the cut again.
#[tokio::test]
async fn suspend_cuts_and_resumes_inference() {
    scenario("suspend_cuts_and_resumes_inference", |env| async move {
        let name = "chat";
        env.standard(name).await;
        let d = env.wait_ready(name).await;
        let uid = d.metadata.uid.clone().unwrap();
        let api: Api<NetworkPolicy> = env.api(&env.serve);
        let np_name = suspend_name(name);
        assert!(api.get_opt(&np_name).await.unwrap().is_none());
        let suspended_before = env.events(&uid, "Suspended").await;
        let resumed_before = env.events(&uid, "Resumed").await;

        env.set_suspend(name, true).await;
        let np = poll(&api, &np_name, "exists", |np| {
            np.cloned().ok_or_else(|| "absent".to_owned())
        })
        .await;
        let spec = np.spec.as_ref().unwrap();
        assert_eq!(
            spec.pod_selector.as_ref(),
            Some(&selector(
                json!({"app.kubernetes.io/name": format!("{name}-server")})
            ))
        );
        assert_eq!(
            spec.policy_types.as_deref(),
            Some(&["Ingress".to_owned()][..])
        );
        assert!(
            spec.ingress.as_ref().is_none_or(|i| i.is_empty()),
            "deny-all has ingress rules: {:?}",
            spec.ingress
        );
        poll(&env.deployments(), name, "Ready InferenceSuspended", |d| {
            condition_is(reconciled(d)?, "Ready", "True", Some("InferenceSuspended"))
        })
        .await;
        env.wait_event(&uid, "Suspended", &suspended_before).await;

        env.set_suspend(name, false).await;
        poll(&api, &np_name, "deleted", |np| match np {
            None => Ok(()),
            Some(_) => Err("still there".to_owned()),
        })
        .await;
        poll(&env.deployments(), name, "Ready ControlsApplied", |d| {
            condition_is(reconciled(d)?, "Ready", "True", Some("ControlsApplied"))
        })
        .await;
        env.wait_event(&uid, "Resumed", &resumed_before).await;
    })
    .await;
}

/// 4. Access control: reader RBAC for the policy's readers; an over-broad binding for the
///    inference service account is a finding.
#[tokio::test]
async fn over_broad_binding_is_a_finding() {
    scenario("over_broad_binding_is_a_finding", |env| async move {
        let name = "chat";
        env.standard(name).await;
        env.make_pods_ready(&env.serve).await;
        let d = poll(&env.deployments(), name, "access restricted", |d| {
            let d = reconciled(d)?;
            condition_is(d, "M81a-DataAccessRestricted", "True", None)?;
            Ok(d.clone())
        })
        .await;
        let uid = d.metadata.uid.clone().unwrap();

        let roles: Api<Role> = env.api(&env.train);
        let role = roles
            .get(&reader_name(&env.serve, name))
            .await
            .expect("reader Role");
        assert_eq!(
            role.labels().get(DEPLOYMENT_UID).map(String::as_str),
            Some(uid.as_str())
        );
        let rules = role.rules.clone().unwrap_or_default();
        let claims = rules
            .iter()
            .find(|r| {
                r.resources
                    .as_ref()
                    .is_some_and(|r| r.contains(&"persistentvolumeclaims".to_owned()))
            })
            .expect("a rule on the training claims");
        assert_eq!(
            claims.resource_names.clone().unwrap_or_default(),
            ["training-corpus", "safety-annotations"]
        );
        let bindings: Api<RoleBinding> = env.api(&env.train);
        let binding = bindings
            .get(&reader_name(&env.serve, name))
            .await
            .expect("reader RoleBinding");
        assert_eq!(binding.role_ref.kind, "Role");
        assert_eq!(binding.role_ref.name, reader_name(&env.serve, name));
        let subjects = binding.subjects.clone().unwrap_or_default();
        assert_eq!(subjects.len(), 1, "{subjects:?}");
        assert_eq!(
            (subjects[0].kind.as_str(), subjects[0].name.as_str()),
            ("Group", "data-stewards")
        );

        // Someone grants the inference service account `edit` in the training namespace.
        let account = format!("{name}-server");
        let grant: RoleBinding = from_json(json!({
            "metadata": {"name": "inference-can-edit"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": env.serve}]
        }));
        bindings
            .create(&PostParams::default(), &grant)
            .await
            .expect("over-broad binding created");
        let restricted = poll(
            &env.deployments(),
            name,
            "M81a-DataAccessRestricted False",
            |d| condition_is(reconciled(d)?, "M81a-DataAccessRestricted", "False", None),
        )
        .await;
        let qualified = format!("{}/{account}", env.serve);
        assert!(
            restricted.message.contains("inference-can-edit")
                || restricted.message.contains(&qualified),
            "message names neither the binding nor the account: {}",
            restricted.message
        );
        assert!(
            ["OverBroadBinding", "InferenceCanReadTrainingData"]
                .contains(&restricted.reason.as_str()),
            "reason {}",
            restricted.reason
        );
        println!("M81a-DataAccessRestricted: {}", restricted.message);
        // Row 19 rests on access control.
        poll(&env.deployments(), name, "A19 False", |d| {
            condition_is(reconciled(d)?, "A19-TrainingDataProtected", "False", None)
        })
        .await;
    })
    .await;
}

/// 4b. The SubjectAccessReview behind M81a also sees the new binding: its answer is not
///     served from a cache that predates the binding.
#[tokio::test]
async fn access_review_sees_new_binding() {
    scenario("access_review_sees_new_binding", |env| async move {
        let name = "chat";
        env.standard(name).await;
        poll(&env.deployments(), name, "access restricted", |d| {
            condition_is(reconciled(d)?, "M81a-DataAccessRestricted", "True", None)
        })
        .await;
        let account = format!("{name}-server");
        let grant: RoleBinding = from_json(json!({
            "metadata": {"name": "inference-can-edit"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": env.serve}]
        }));
        env.api::<RoleBinding>(&env.train)
            .create(&PostParams::default(), &grant)
            .await
            .expect("over-broad binding created");
        let wanted = format!("inference service account {}/{account} can read", env.serve);
        let c = poll(
            &env.deployments(),
            name,
            "the access review's finding",
            |d| {
                let c = condition_is(reconciled(d)?, "M81a-DataAccessRestricted", "False", None)?;
                if c.message.contains(&wanted) {
                    Ok(c)
                } else {
                    Err(c.message)
                }
            },
        )
        .await;
        println!("M81a-DataAccessRestricted: {}", c.message);
    })
    .await;
}

/// 5. A missing policy stalls the deployment until the policy is created.
#[tokio::test]
async fn missing_policy_stalls_until_created() {
    scenario("missing_policy_stalls_until_created", |env| async move {
        let name = "chat";
        let policy = format!("{}-late", env.id);
        env.apply_model_deployment(name, &policy).await;
        let d = poll(&env.deployments(), name, "Stalled PolicyNotFound", |d| {
            let d = reconciled(d)?;
            condition_is(d, "Stalled", "True", Some("PolicyNotFound"))?;
            Ok(d.clone())
        })
        .await;
        let ready = condition_is(&d, "Ready", "False", None).unwrap();
        assert!(
            ready.message.contains(&policy),
            "Ready message: {}",
            ready.message
        );
        assert!(
            obligation_types()
                .iter()
                .all(|t| condition(&d, t).is_none()),
            "row conditions before the policy exists"
        );

        env.apply_policy(&policy).await;
        let d = poll(&env.deployments(), name, "rows decided", |d| {
            let d = reconciled(d)?;
            condition_is(d, "Stalled", "False", None)?;
            let missing = missing_conditions(d, &obligation_types());
            if missing.is_empty() {
                Ok(d.clone())
            } else {
                Err(format!("missing {missing:?}"))
            }
        })
        .await;
        condition_is(&d, "Ready", "True", None).unwrap();
    })
    .await;
}

fn evidence(name: &str, target: &str, attested: Timestamp, valid_until: Timestamp) -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ComplianceEvidence",
        "metadata": {"name": name},
        "spec": {
            "targets": [target],
            "rows": [1],
            "summary": "Platform security review (end-to-end test).",
            "uri": "https://compliance.example.com/evidence/e2e.pdf",
            "sha256": "a".repeat(64),
            "attestedBy": "E2E Compliance Office",
            "attestedAt": attested.to_string(),
            "validUntil": valid_until.to_string()
        }
    })
}

/// 6. Evidence: valid evidence meets row 1; evidence that lapses flips row 1 at the instant
///    it lapses, with no object changing (the operator wakes itself up).
#[tokio::test]
async fn evidence_decides_and_expires_on_time() {
    scenario("evidence_decides_and_expires_on_time", |env| async move {
        env.apply_policy(&env.id).await;
        let evidence_api: Api<ComplianceEvidence> = env.api(&env.serve);
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let day = k8s_openapi::jiff::SignedDuration::from_hours(24);

        // Valid until 2099.
        env.apply_model_deployment("chat", &env.id).await;
        poll(&env.deployments(), "chat", "A1 EvidenceMissing", |d| {
            condition_is(
                reconciled(d)?,
                "A1-SecurePlatform",
                "False",
                Some("EvidenceMissing"),
            )
        })
        .await;
        let long: ComplianceEvidence = from_json(evidence(
            "chat-platform",
            "chat",
            now - day,
            "2099-12-31T00:00:00Z".parse().unwrap(),
        ));
        evidence_api
            .create(&PostParams::default(), &long)
            .await
            .expect("evidence created");
        let a1 = poll(&env.deployments(), "chat", "A1 EvidenceValid", |d| {
            condition_is(
                reconciled(d)?,
                "A1-SecurePlatform",
                "True",
                Some("EvidenceValid"),
            )
        })
        .await;
        assert_eq!(a1.message, "", "a met row's reason says it");

        // What lapses next, as `kubectl get cev` and `kubectl get mdep` show it.
        let lines = kubectl_get(&env.serve, "cev");
        let shown: Vec<(&str, &str)> = kubectl_line(&lines, "chat-platform")
            .iter()
            .map(|(c, v)| (c.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            shown[..4],
            [
                ("NAME", "chat-platform"),
                ("ROWS", "[1]"),
                ("TARGETS", "[\"chat\"]"),
                ("VALID UNTIL", "2099-12-31T00:00:00Z"),
            ]
        );
        assert_eq!(
            shown[4..].iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            ["AGE"]
        );
        let lines = kubectl_get(&env.serve, "mdep");
        let chat = kubectl_line(&lines, "chat");
        let columns: Vec<&str> = chat.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            columns,
            [
                "NAME",
                "POLICY",
                "COMPLIANT",
                "RISK",
                "READY",
                "EVIDENCE EXPIRES",
                "AGE"
            ]
        );
        assert_eq!(chat[5].1, "2099-12-31T00:00:00Z");

        // A second deployment whose evidence lapses in a few seconds, and a third whose
        // evidence becomes valid in a few seconds.
        let (second, third) = ("chat-expiring", "chat-early");
        for name in [second, third] {
            env.apply_model_deployment(name, &env.id).await;
        }
        for name in [second, third] {
            poll(&env.deployments(), name, "A1 EvidenceMissing", |d| {
                condition_is(
                    reconciled(d)?,
                    "A1-SecurePlatform",
                    "False",
                    Some("EvidenceMissing"),
                )
            })
            .await;
        }
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let instant = now + k8s_openapi::jiff::SignedDuration::from_secs(12);
        let short: ComplianceEvidence = from_json(evidence(
            "chat-expiring-platform",
            second,
            now - day,
            instant,
        ));
        let short = evidence_api
            .create(&PostParams::default(), &short)
            .await
            .expect("evidence created");
        let early: ComplianceEvidence = from_json(evidence(
            "chat-early-platform",
            third,
            instant,
            "2099-12-31T00:00:00Z".parse().unwrap(),
        ));
        let early = evidence_api
            .create(&PostParams::default(), &early)
            .await
            .expect("evidence created");
        let valid_until = instant;
        // Valid for now, and about to lapse.
        let d = poll(&env.deployments(), second, "A1 True", |d| {
            let d = reconciled(d)?;
            condition_is(d, "A1-SecurePlatform", "True", Some("EvidenceExpiringSoon"))?;
            Ok(d.clone())
        })
        .await;
        // Attested for later: not valid yet.
        let d3 = poll(&env.deployments(), third, "A1 EvidenceNotYetValid", |d| {
            let d = reconciled(d)?;
            condition_is(d, "A1-SecurePlatform", "False", Some("EvidenceNotYetValid"))?;
            Ok(d.clone())
        })
        .await;
        assert!(
            Timestamp::now() < valid_until,
            "setup too slow: the evidence lapsed before it was seen valid"
        );
        let generation = d.metadata.generation;

        // Nothing changes from here on; the operator must wake up by itself.
        let c = eventually(
            "A1 EvidenceExpired",
            Duration::from_secs(12 + 30),
            || async {
                let d = env
                    .deployments()
                    .get(second)
                    .await
                    .map_err(|e| e.to_string())?;
                condition_is(&d, "A1-SecurePlatform", "False", Some("EvidenceExpired"))
            },
        )
        .await;
        let flipped = Timestamp::now();
        assert!(
            c.last_transition_time.0 >= valid_until,
            "A1 flipped at {} before the evidence lapsed at {valid_until}",
            c.last_transition_time.0
        );
        println!(
            "A1 flipped {:.1?} after the evidence lapsed: {}",
            flipped.duration_since(valid_until),
            c.message
        );
        let d = env.deployments().get(second).await.unwrap();
        assert_eq!(d.metadata.generation, generation, "the deployment changed");
        let after = evidence_api.get(&short.name_any()).await.unwrap();
        assert_eq!(
            after.metadata.resource_version, short.metadata.resource_version,
            "the evidence changed"
        );
        // The evidence attested for that same instant is valid now, also without any change.
        let c = eventually(
            "A1 of the third EvidenceValid",
            Duration::from_secs(30),
            || async {
                let d = env
                    .deployments()
                    .get(third)
                    .await
                    .map_err(|e| e.to_string())?;
                condition_is(&d, "A1-SecurePlatform", "True", Some("EvidenceValid"))
            },
        )
        .await;
        assert!(
            c.last_transition_time.0 >= instant,
            "A1 of {third} flipped early"
        );
        let d = env.deployments().get(third).await.unwrap();
        assert_eq!(d.metadata.generation, d3.metadata.generation);
        let after = evidence_api.get(&early.name_any()).await.unwrap();
        assert_eq!(
            after.metadata.resource_version,
            early.metadata.resource_version
        );
        // The long-lived evidence still holds for the first deployment.
        let first = env.deployments().get("chat").await.unwrap();
        condition_is(&first, "A1-SecurePlatform", "True", Some("EvidenceValid")).unwrap();
    })
    .await;
}

/// 7. Deleting the ModelDeployment removes what the operator created and nothing else.
#[tokio::test]
async fn deletion_removes_only_operator_objects() {
    scenario("deletion_removes_only_operator_objects", |env| async move {
        let name = "chat";
        env.standard(name).await;
        let d = env.wait_ready(name).await;
        let uid = d.metadata.uid.clone().unwrap();
        // Suspended, so that there is an operator object in each namespace.
        env.set_suspend(name, true).await;
        poll(&env.deployments(), name, "suspended", |d| {
            condition_is(reconciled(d)?, "Ready", "True", Some("InferenceSuspended"))
        })
        .await;
        let labelled = ListParams::default().labels(&format!("{DEPLOYMENT_UID}={uid}"));
        let count = |env: Env, labelled: ListParams| async move {
            let mut names = Vec::new();
            for ns in [&env.train, &env.serve] {
                let nps = env.api::<NetworkPolicy>(ns).list(&labelled).await.unwrap();
                let roles = env.api::<Role>(ns).list(&labelled).await.unwrap();
                let bindings = env.api::<RoleBinding>(ns).list(&labelled).await.unwrap();
                names.extend(
                    nps.iter()
                        .map(|o| format!("NetworkPolicy {ns}/{}", o.name_any())),
                );
                names.extend(roles.iter().map(|o| format!("Role {ns}/{}", o.name_any())));
                names.extend(
                    bindings
                        .iter()
                        .map(|o| format!("RoleBinding {ns}/{}", o.name_any())),
                );
            }
            names
        };
        let before = count(env.clone(), labelled.clone()).await;
        let mut expected = vec![
            format!(
                "NetworkPolicy {}/{}",
                env.train,
                isolation_name(&env.serve, name)
            ),
            format!("Role {}/{}", env.train, reader_name(&env.serve, name)),
            format!(
                "RoleBinding {}/{}",
                env.train,
                reader_name(&env.serve, name)
            ),
            format!("NetworkPolicy {}/{}", env.serve, suspend_name(name)),
        ];
        expected.sort();
        let mut sorted = before.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(
            d.finalizers()
                .iter()
                .any(|f| f == "modelcompliance.io/cleanup"),
            "no finalizer: {:?}",
            d.finalizers()
        );

        env.deployments()
            .delete(name, &DeleteParams::default())
            .await
            .expect("ModelDeployment deleted");
        poll(&env.deployments(), name, "gone", |d| match d {
            None => Ok(()),
            Some(d) => Err(format!("still there, finalizers {:?}", d.finalizers())),
        })
        .await;
        eventually("operator objects deleted", TIMEOUT, || {
            let (env, labelled) = (env.clone(), labelled.clone());
            async move {
                let left = count(env, labelled).await;
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("left: {left:?}"))
                }
            }
        })
        .await;

        // The user's objects stay.
        let server = format!("{name}-server");
        for pod in [format!("{server}-0"), format!("{server}-1")] {
            assert!(
                env.api::<Pod>(&env.serve)
                    .get_opt(&pod)
                    .await
                    .unwrap()
                    .is_some(),
                "pod {pod} deleted"
            );
        }
        assert!(
            env.api::<Pod>(&env.train)
                .get_opt(&format!("{name}-trainer-0"))
                .await
                .unwrap()
                .is_some()
        );
        for (ns, claim) in [
            (&env.train, "training-corpus"),
            (&env.train, "safety-annotations"),
            (&env.serve, "model-weights"),
        ] {
            let pvc = env
                .api::<PersistentVolumeClaim>(ns)
                .get_opt(claim)
                .await
                .unwrap();
            assert!(
                pvc.is_some_and(|p| p.metadata.deletion_timestamp.is_none()),
                "claim {claim} deleted"
            );
        }
        assert!(
            env.api::<Deployment>(&env.serve)
                .get_opt(&server)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            env.api::<Service>(&env.serve)
                .get_opt(name)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

/// 8. Zero writes when nothing changes: reconciles of unchanged inputs write nothing.
#[tokio::test]
async fn settled_deployment_sees_no_writes() {
    scenario("settled_deployment_sees_no_writes", |env| async move {
        let name = "chat";
        env.standard(name).await;
        let unrelated: ConfigMap = from_json(json!({
            "metadata": {"name": "unrelated"},
            "data": {"k": "v"}
        }));
        env.api::<ConfigMap>(&env.serve)
            .create(&PostParams::default(), &unrelated)
            .await
            .unwrap();
        // RBAC the operator does not own in the training namespace: touching it changes the
        // namespace's RBAC fingerprint, so the next reconcile asks SubjectAccessReviews again.
        let role: Role = from_json(json!({
            "metadata": {"name": "unrelated"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
        }));
        env.api::<Role>(&env.train)
            .create(&PostParams::default(), &role)
            .await
            .unwrap();
        let binding: RoleBinding = from_json(json!({
            "metadata": {"name": "unrelated"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "unrelated"},
            "subjects": [{"kind": "Group", "name": "auditors", "apiGroup": RBAC}]
        }));
        env.api::<RoleBinding>(&env.train)
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        env.make_pods_ready(&env.serve).await;
        env.make_pods_ready(&env.train).await;
        poll(&env.deployments(), name, "A37 True", |d| {
            condition_is(reconciled(d)?, "A37-GeneratedContentLabeled", "True", None)
        })
        .await;

        // Settled: the resourceVersion has not moved for 3 s.
        let mut last = String::new();
        let mut since = Instant::now();
        let settling = Instant::now();
        loop {
            let d = env.deployments().get(name).await.unwrap();
            let rv = d.resource_version().unwrap_or_default();
            if rv != last {
                last = rv;
                since = Instant::now();
            } else if since.elapsed() >= Duration::from_secs(3) {
                break;
            }
            assert!(
                settling.elapsed() < TIMEOUT,
                "the ModelDeployment never settled"
            );
            tokio::time::sleep(INTERVAL).await;
        }

        let versions = |env: Env| async move {
            let d = env.deployments().get(name).await.unwrap();
            let np = env
                .api::<NetworkPolicy>(&env.train)
                .get(&isolation_name(&env.serve, name))
                .await
                .unwrap();
            let role = env
                .api::<Role>(&env.train)
                .get(&reader_name(&env.serve, name))
                .await
                .unwrap();
            let binding = env
                .api::<RoleBinding>(&env.train)
                .get(&reader_name(&env.serve, name))
                .await
                .unwrap();
            vec![
                ("ModelDeployment", d.resource_version()),
                ("NetworkPolicy", np.resource_version()),
                ("Role", role.resource_version()),
                ("RoleBinding", binding.resource_version()),
            ]
        };
        let before = versions(env.clone()).await;

        // Touch objects: one the operator does not watch, and some it watches (each wakes
        // the reconciler) without changing any fact a decision reads.
        let touch = json!({"metadata": {"labels": {"mco-e2e/touched": "yes"}}});
        env.api::<ConfigMap>(&env.serve)
            .patch("unrelated", &PatchParams::default(), &Patch::Merge(&touch))
            .await
            .unwrap();
        env.api::<PersistentVolumeClaim>(&env.train)
            .patch(
                "training-corpus",
                &PatchParams::default(),
                &Patch::Merge(&touch),
            )
            .await
            .unwrap();
        env.api::<RoleBinding>(&env.train)
            .patch("unrelated", &PatchParams::default(), &Patch::Merge(&touch))
            .await
            .unwrap();

        let annotate = json!({"metadata": {"annotations": {"mco-e2e/touched": "yes"}}});
        env.api::<Deployment>(&env.serve)
            .patch(
                &format!("{name}-server"),
                &PatchParams::default(),
                &Patch::Merge(&annotate),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;

        let after = versions(env.clone()).await;
        assert_eq!(
            before, after,
            "objects were written although nothing changed"
        );
    })
    .await;
}

/// Every object applied and every condition transition can be read back from Events
/// ("Every transition emits a Kubernetes Event", DESIGN.md).
#[tokio::test]
async fn events_name_every_applied_object_and_transition() {
    scenario(
        "events_name_every_applied_object_and_transition",
        |env| async move {
            let name = "chat";
            env.standard(name).await;
            let d = poll(&env.deployments(), name, "A37 SidecarNotReady", |d| {
                let d = reconciled(d)?;
                condition_is(
                    d,
                    "A37-GeneratedContentLabeled",
                    "False",
                    Some("SidecarNotReady"),
                )?;
                Ok(d.clone())
            })
            .await;
            let uid = d.metadata.uid.clone().unwrap();
            env.make_pods_ready(&env.serve).await;
            poll(&env.deployments(), name, "A37 True", |d| {
                condition_is(reconciled(d)?, "A37-GeneratedContentLabeled", "True", None)
            })
            .await;
            let wanted = [
                format!(
                    "applied NetworkPolicy {}/{}",
                    env.train,
                    isolation_name(&env.serve, name)
                ),
                format!(
                    "applied Role {}/{}",
                    env.train,
                    reader_name(&env.serve, name)
                ),
                format!(
                    "applied RoleBinding {}/{}",
                    env.train,
                    reader_name(&env.serve, name)
                ),
                "A27-UserInputChecked is now True".to_owned(),
                "A37-GeneratedContentLabeled is now True".to_owned(),
                "M81b-ContentSafetyFiltered is now True".to_owned(),
            ];
            let api: Api<Event> = env.api(&env.serve);
            // Events are published before the reconcile ends: 20 s is plenty.
            eventually(
                "an Event per applied object and transition",
                Duration::from_secs(20),
                || async {
                    let notes: Vec<String> = api
                        .list(&ListParams::default())
                        .await
                        .map_err(|e| e.to_string())?
                        .items
                        .into_iter()
                        .filter(|e| {
                            e.regarding.as_ref().and_then(|r| r.uid.as_deref()) == Some(&uid)
                        })
                        .map(|e| {
                            format!(
                                "{} (x{}): {}",
                                e.reason.unwrap_or_default(),
                                e.series.map_or(1, |s| s.count),
                                e.note.unwrap_or_default()
                            )
                        })
                        .collect();
                    let missing: Vec<&String> = wanted
                        .iter()
                        .filter(|w| !notes.iter().any(|n| n.contains(w.as_str())))
                        .collect();
                    if missing.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "no Event says {missing:?}; the Events say {notes:#?}"
                        ))
                    }
                },
            )
            .await;
        },
    )
    .await;
}

/// 4b. Enforce injects the sidecar into the named workload by server-side apply under a
///     field manager of its own, which owns exactly the sidecar's entries (shown by
///     `managedFields`); the workload's other containers stay. Audit withdraws exactly those
///     entries; the labeling key stays.
#[tokio::test]
async fn sidecar_is_injected_into_named_workloads() {
    scenario(
        "sidecar_is_injected_into_named_workloads",
        |env| async move {
            let name = "chat";
            env.apply_policy(&env.id).await;
            let server = format!("{name}-server");
            let labels = json!({"app.kubernetes.io/name": server});
            let workload: Deployment = from_json(json!({
                "metadata": {"name": server, "labels": {"team": "serving"}},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                        {"name": "model-server", "image": MODEL_IMAGE,
                         "ports": [{"name": "http-model", "containerPort": 8000}]}
                    ]}}
                }
            }));
            // Created the way a GitOps tool applies it: server-side, under its own manager.
            env.api::<Deployment>(&env.serve)
                .patch(
                    &server,
                    &PatchParams::apply("gitops"),
                    &Patch::Apply(&workload),
                )
                .await
                .unwrap();
            env.apply_model_deployment(name, &env.id).await;
            let api: Api<Deployment> = env.api(&env.serve);
            let wait = Duration::from_secs(30);
            let d = eventually("the sidecar injected", wait, || async {
                let d = api.get(&server).await.map_err(|e| e.to_string())?;
                let containers = containers_of(&d);
                if containers.iter().any(|c| c == SIDECAR) {
                    Ok(d.clone())
                } else {
                    Err(format!("containers {containers:?}"))
                }
            })
            .await;
            assert_eq!(containers_of(&d), ["model-server", SIDECAR]);
            let pod_spec = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            let sidecar = pod_spec
                .containers
                .iter()
                .find(|c| c.name == SIDECAR)
                .unwrap();
            assert_eq!(sidecar.image.as_deref(), Some(SIDECAR_IMAGE));
            let hardened = sidecar.security_context.as_ref().unwrap();
            assert_eq!(hardened.read_only_root_filesystem, Some(true));
            assert_eq!(hardened.run_as_non_root, Some(true));
            // Who owns what, as the API server records it.
            let owned = |manager: &str| -> Value {
                d.metadata
                    .managed_fields
                    .iter()
                    .flatten()
                    .find(|m| m.manager.as_deref() == Some(manager))
                    .and_then(|m| m.fields_v1.as_ref())
                    .map(|f| f.0.clone())
                    .unwrap_or_else(|| panic!("no managedFields entry of {manager}"))
            };
            let ours = owned("model-compliance-operator-sidecar");
            let containers = &ours["f:spec"]["f:template"]["f:spec"]["f:containers"];
            let keys: Vec<&String> = containers.as_object().unwrap().keys().collect();
            assert_eq!(keys, [&format!("k:{{\"name\":\"{SIDECAR}\"}}")], "{ours}");
            let volumes = &ours["f:spec"]["f:template"]["f:spec"]["f:volumes"];
            let keys: Vec<&String> = volumes.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["k:{\"name\":\"aigc-labeler-key\"}"], "{ours}");
            let spec_fields: Vec<&String> = ours["f:spec"].as_object().unwrap().keys().collect();
            assert_eq!(
                spec_fields,
                ["f:template"],
                "nothing else of the spec: {ours}"
            );
            let theirs = owned("gitops");
            assert!(
                theirs["f:spec"]["f:template"]["f:spec"]["f:containers"]
                    .get("k:{\"name\":\"model-server\"}")
                    .is_some(),
                "the GitOps manager keeps its container: {theirs}"
            );
            // The GitOps tool applying its manifest again does not remove the sidecar.
            env.api::<Deployment>(&env.serve)
                .patch(
                    &server,
                    &PatchParams::apply("gitops"),
                    &Patch::Apply(&workload),
                )
                .await
                .unwrap();
            let again = api.get(&server).await.unwrap();
            assert_eq!(containers_of(&again), ["model-server", SIDECAR]);
            // The key the sidecar mounts exists.
            let secrets: Api<k8s_openapi::api::core::v1::Secret> = env.api(&env.serve);
            let key = secrets
                .get("aigc-labeler-key")
                .await
                .expect("the key Secret");
            assert_eq!(key.data.unwrap()["key"].0.len(), 32);

            // A Service that targets the model server's port bypasses the sidecar: the rows
            // say so, naming the Service; targeting the sidecar's port clears it.
            let service = |target: Value| -> Service {
                from_json(json!({
                    "metadata": {"name": name},
                    "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": target}]}
                }))
            };
            let services: Api<Service> = env.api(&env.serve);
            services
                .patch(
                    name,
                    &PatchParams::apply(MANAGER),
                    &Patch::Apply(&service(json!(8000))),
                )
                .await
                .unwrap();
            // Row 37 points at 8.1b, which says what is missing.
            let bypassed = poll(&env.deployments(), name, "the bypass reported", |d| {
                let d = reconciled(d)?;
                condition_is(d, "A37-GeneratedContentLabeled", "False", None)?;
                let c = condition_is(d, "M81b-ContentSafetyFiltered", "False", None)?;
                if c.message.contains("bypassing") {
                    Ok(c)
                } else {
                    Err(c.message)
                }
            })
            .await;
            assert!(
                bypassed.message.contains(&format!(
                    "Service {}/{name} port 80 targets 8000, bypassing {SIDECAR} on port 8480",
                    env.serve
                )),
                "{}",
                bypassed.message
            );
            services
                .patch(
                    name,
                    &PatchParams::apply(MANAGER),
                    &Patch::Apply(&service(json!(8480))),
                )
                .await
                .unwrap();
            poll(&env.deployments(), name, "the bypass cleared", |d| {
                let c = condition(reconciled(d)?, "M81b-ContentSafetyFiltered")
                    .ok_or("no condition")?;
                if c.message.contains("bypassing") {
                    Err(c.message.clone())
                } else {
                    Ok(())
                }
            })
            .await;

            // Audit: exactly the sidecar's entries go.
            env.apply_policy_with(&env.id, |p| {
                p["spec"]["controls"]["sidecar"]["mode"] = json!("Audit");
            })
            .await;
            let d = eventually("the sidecar withdrawn", wait, || async {
                let d = api.get(&server).await.map_err(|e| e.to_string())?;
                let containers = containers_of(&d);
                if containers.iter().any(|c| c == SIDECAR) {
                    Err(format!("containers {containers:?}"))
                } else {
                    Ok(d.clone())
                }
            })
            .await;
            assert_eq!(containers_of(&d), ["model-server"]);
            let spec = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            assert!(
                spec.volumes
                    .iter()
                    .flatten()
                    .all(|v| v.name != "aigc-labeler-key"),
                "the key volume goes with the container"
            );
            assert_eq!(d.labels().get("team").map(String::as_str), Some("serving"));
            assert!(!d.labels().contains_key(DEPLOYMENT_UID));
            assert!(
                d.metadata
                    .managed_fields
                    .iter()
                    .flatten()
                    .all(|m| m.manager.as_deref() != Some("model-compliance-operator-sidecar")),
                "the sidecar's manager owns nothing any more"
            );
            assert!(
                secrets.get_opt("aigc-labeler-key").await.unwrap().is_some(),
                "the key is never deleted: content labeled with it must stay verifiable"
            );
        },
    )
    .await;
}

fn containers_of(d: &Deployment) -> Vec<String> {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// 4c. The access review asks as the inference service account really is: with every group
///     its token carries, `system:authenticated` included. A binding of the `view` ClusterRole
///     (which reads claims) to `system:authenticated` in the training namespace lets the
///     inference pods read training data.
#[tokio::test]
async fn access_review_includes_system_authenticated() {
    scenario(
        "access_review_includes_system_authenticated",
        |env| async move {
            let name = "chat";
            env.standard(name).await;
            poll(&env.deployments(), name, "access restricted", |d| {
                condition_is(reconciled(d)?, "M81a-DataAccessRestricted", "True", None)
            })
            .await;
            let grant: RoleBinding = from_json(json!({
                "metadata": {"name": "everyone-can-view"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "Group", "name": "system:authenticated", "apiGroup": RBAC}]
            }));
            env.api::<RoleBinding>(&env.train)
                .create(&PostParams::default(), &grant)
                .await
                .expect("binding created");

            // The inference service account can now read the training claims: ask as it.
            let account = format!("system:serviceaccount:{}:{name}-server", env.serve);
            let mut config = kube::Config::infer().await.expect("kubeconfig");
            config.auth_info.impersonate = Some(account.clone());
            let as_account = Client::try_from(config).expect("impersonating client");
            let review: SelfSubjectAccessReview =
                from_json(json!({"spec": {"resourceAttributes": {
                    "namespace": env.train, "verb": "get",
                    "resource": "persistentvolumeclaims", "name": "training-corpus"
                }}}));
            let answer = eventually("the binding in force", TIMEOUT, || async {
                let answer = Api::<SelfSubjectAccessReview>::all(as_account.clone())
                    .create(&PostParams::default(), &review)
                    .await
                    .map_err(|e| e.to_string())?;
                match answer.status {
                    Some(s) if s.allowed => Ok(s),
                    other => Err(format!("not yet allowed: {other:?}")),
                }
            })
            .await;
            println!("{account} may read the training corpus: {answer:?}");

            let c = eventually(
                "M81a-DataAccessRestricted False",
                Duration::from_secs(20),
                || async {
                    let d = env
                        .deployments()
                        .get(name)
                        .await
                        .map_err(|e| e.to_string())?;
                    condition_is(&d, "M81a-DataAccessRestricted", "False", None)
                },
            )
            .await;
            println!("M81a-DataAccessRestricted: {}", c.message);
        },
    )
    .await;
}

/// Two ModelDeployments of the same name in different namespaces (say staging and
/// production of one model) that train in one namespace: each keeps its own objects there,
/// and the operator does not rewrite them back and forth.
#[tokio::test]
async fn same_name_deployments_sharing_training_do_not_fight() {
    let test = "same_name_deployments_sharing_training_do_not_fight";
    scenario(test, |env| async move {
        let name = "chat";
        env.standard(name).await;
        let staging = env.extra_namespace("staging", test).await;
        env.apply_model_deployment_in(&staging, name, &env.id).await;
        let first = env.wait_ready(name).await;
        let staged: Api<ModelDeployment> = env.api(&staging);
        let second = poll(&staged, name, "reconciled", |d| reconciled(d).cloned()).await;
        let uids = [first.uid().unwrap(), second.uid().unwrap()];

        // The operator's objects in the training namespace: kind, name, owner uid, version.
        let objects = |env: Env| async move {
            let labelled = ListParams::default().labels(DEPLOYMENT_UID);
            let row = |kind: &str, meta: &kube::core::ObjectMeta| {
                (
                    format!("{kind} {}", meta.name.clone().unwrap_or_default()),
                    meta.labels
                        .as_ref()
                        .and_then(|l| l.get(DEPLOYMENT_UID).cloned())
                        .unwrap_or_default(),
                    meta.resource_version.clone().unwrap_or_default(),
                )
            };
            let mut out = Vec::new();
            for o in env
                .api::<NetworkPolicy>(&env.train)
                .list(&labelled)
                .await
                .unwrap()
            {
                out.push(row("NetworkPolicy", &o.metadata));
            }
            for o in env.api::<Role>(&env.train).list(&labelled).await.unwrap() {
                out.push(row("Role", &o.metadata));
            }
            for o in env
                .api::<RoleBinding>(&env.train)
                .list(&labelled)
                .await
                .unwrap()
            {
                out.push(row("RoleBinding", &o.metadata));
            }
            out
        };
        // Watch them for a while after both deployments are reconciled.
        let mut owners: Vec<(String, String)> = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            for (what, uid, _) in objects(env.clone()).await {
                if !owners.contains(&(what.clone(), uid.clone())) {
                    owners.push((what, uid));
                }
            }
            tokio::time::sleep(INTERVAL).await;
        }
        let before = objects(env.clone()).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = objects(env.clone()).await;
        assert_eq!(
            before, after,
            "the operator keeps rewriting its objects in the training namespace; \
             (object, deployment uid) seen: {owners:?}"
        );
        // Each deployment keeps its own isolation policy.
        for uid in &uids {
            assert!(
                after
                    .iter()
                    .any(|(what, owner, _)| what.starts_with("NetworkPolicy") && owner == uid),
                "no NetworkPolicy of deployment {uid}: {after:?}"
            );
        }
    })
    .await;
}

/// Risk treatment `SuspendInference` cuts inference only when the risk is unacceptable: not
/// while the operator is still putting its own controls in place, neither when a
/// deployment is first seen nor when it heals drift.
#[tokio::test]
async fn own_pending_controls_do_not_suspend_inference() {
    scenario(
        "own_pending_controls_do_not_suspend_inference",
        |env| async move {
            let name = "chat";
            // Only what the operator enforces applies: rows 19 and measures 8.1a.
            env.apply_policy_with(&env.id, |doc| {
                doc["spec"]["riskAcceptance"] = json!({
                    "maxAcceptable": "High",
                    "treatment": "SuspendInference",
                    "unknownRows": "Tolerate"
                });
                doc["spec"]["rows"] = (1..=42)
                    .filter(|n| *n != 19)
                    .map(|n| json!({"row": n, "applicable": false, "remark": "outside this test"}))
                    .collect();
                doc["spec"]["measures"] = [
                    "ContentSafety",
                    "CodeAudit",
                    "AdversarialDefense",
                    "Backup",
                ]
                .iter()
                .map(|m| json!({"measure": m, "applicable": false, "remark": "outside this test"}))
                .collect();
            })
            .await;
            env.create_workloads(name).await;
            env.apply_model_deployment(name, &env.id).await;
            let d = poll(
                &env.deployments(),
                name,
                "acceptable and not suspended",
                |d| {
                    let d = reconciled(d)?;
                    condition_is(d, "Compliant", "True", None)?;
                    condition_is(d, "Ready", "True", Some("ControlsApplied"))?;
                    condition_is(d, "M81a-TrainingInferenceIsolated", "True", None)?;
                    Ok(d.clone())
                },
            )
            .await;
            let uid = d.uid().unwrap();
            let mut failures = Vec::new();
            let on_creation = env.events(&uid, "Suspended").await;
            if !on_creation.is_empty() {
                failures.push(format!(
                    "suspended on creation, while the only gaps were the operator's own pending \
                 objects (isolation NetworkPolicy, reader RoleBinding): {on_creation:?}"
                ));
            }

            // Drift: the isolation policy is deleted; the operator restores it without cutting
            // inference.
            env.api::<NetworkPolicy>(&env.train)
                .delete(&isolation_name(&env.serve, name), &DeleteParams::default())
                .await
                .unwrap();
            let nps: Api<NetworkPolicy> = env.api(&env.train);
            poll(&nps, &isolation_name(&env.serve, name), "restored", |np| {
                np.map(|_| ()).ok_or_else(|| "absent".to_owned())
            })
            .await;
            poll(&env.deployments(), name, "settled", |d| {
                condition_is(reconciled(d)?, "Ready", "True", Some("ControlsApplied"))
            })
            .await;
            let after_drift = env.events(&uid, "Suspended").await;
            if after_drift.len() > on_creation.len()
                || after_drift
                    .iter()
                    .any(|e| !on_creation.iter().any(|b| b.0 == e.0 && b.1 == e.1))
            {
                failures.push(format!(
                    "suspended while the operator healed drift: {after_drift:?}"
                ));
            }
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Backups (8.1e) with a VolumeSnapshot API the test defines, and the test as the CSI driver
// ---------------------------------------------------------------------------------------------

const SNAPSHOT_CRD: &str = "volumesnapshots.snapshot.storage.k8s.io";

/// A minimal VolumeSnapshot CRD (the schema keeps every field), so that the API exists
/// without a CSI snapshot controller.
async fn install_snapshot_crd(client: &Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crd: CustomResourceDefinition = from_json(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        // `*.k8s.io` groups are protected: the real CRD carries this approval too.
        "metadata": {"name": SNAPSHOT_CRD, "annotations": {
            "api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/419"}},
        "spec": {
            "group": "snapshot.storage.k8s.io", "scope": "Namespaced",
            "names": {"kind": "VolumeSnapshot", "listKind": "VolumeSnapshotList",
                      "plural": "volumesnapshots", "singular": "volumesnapshot"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }));
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        SNAPSHOT_CRD,
        &PatchParams::apply(MANAGER),
        &Patch::Apply(&crd),
    )
    .await
    .expect("the VolumeSnapshot CRD applies");
    let established = kube::runtime::wait::conditions::is_crd_established();
    kube::runtime::wait::await_condition(api, SNAPSHOT_CRD, established)
        .await
        .expect("the VolumeSnapshot CRD is established");
}

/// What the test does in place of a CSI driver and its provisioner.
#[derive(Clone, Default)]
struct Driver {
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Whether restored claims get a volume (and so bind).
    bind: Arc<std::sync::atomic::AtomicBool>,
    /// The volumes it provided (deleted with the test's namespaces by `Env::cleanup`).
    volumes: Arc<Mutex<Vec<String>>>,
}

impl Driver {
    /// Marks every VolumeSnapshot of `namespaces` ready and, while `bind` is set, provides
    /// each drill claim a volume pre-bound to it (the cluster's binder then binds them).
    fn start(&self, client: Client, namespaces: Vec<String>) -> tokio::task::JoinHandle<()> {
        use k8s_openapi::api::core::v1::PersistentVolume;
        use model_compliance_operator::snapshot::VolumeSnapshot;
        let driver = self.clone();
        tokio::spawn(async move {
            let pvs: Api<PersistentVolume> = Api::all(client.clone());
            while !driver.stop.load(Ordering::SeqCst) {
                for ns in &namespaces {
                    let api: Api<VolumeSnapshot> = Api::namespaced(client.clone(), ns);
                    let Ok(list) = api.list(&ListParams::default()).await else {
                        continue;
                    };
                    for s in list
                        .items
                        .iter()
                        .filter(|s| s.status.as_ref().and_then(|st| st.ready_to_use) != Some(true))
                    {
                        let status = json!({"status": {"readyToUse": true,
                            "creationTime": Timestamp::now().to_string(), "restoreSize": "1Gi"}});
                        let _ = api
                            .patch_status(
                                &s.name_any(),
                                &PatchParams::default(),
                                &Patch::Merge(&status),
                            )
                            .await;
                    }
                    if !driver.bind.load(Ordering::SeqCst) {
                        continue;
                    }
                    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
                    let Ok(list) = claims.list(&ListParams::default()).await else {
                        continue;
                    };
                    for c in list
                        .items
                        .iter()
                        .filter(|c| c.name_any().contains("-drill-"))
                    {
                        let pv = format!("mco-e2e-{}", c.uid().unwrap_or_default());
                        if driver.volumes.lock().unwrap().contains(&pv) {
                            continue;
                        }
                        let volume: PersistentVolume = from_json(json!({
                            "metadata": {"name": pv},
                            "spec": {
                                "capacity": {"storage": "1Gi"},
                                "accessModes": ["ReadWriteOnce"],
                                "persistentVolumeReclaimPolicy": "Retain",
                                "hostPath": {"path": format!("/tmp/{pv}")},
                                "claimRef": {"namespace": c.namespace(), "name": c.name_any(), "uid": c.uid()}
                            }
                        }));
                        if pvs.create(&PostParams::default(), &volume).await.is_ok() {
                            driver.volumes.lock().unwrap().push(pv);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}

/// 8.1e. Backups on a one-minute schedule: the API installed while the operator runs is
///     noticed without a restart; one snapshot per volume and slot, retention by count
///     touching only the operator's, a restore drill that binds and one that times out, and
///     deletion of the ModelDeployment leaving every snapshot in place.
#[tokio::test]
async fn backups_on_a_schedule_with_retention_and_a_restore_drill() {
    use model_compliance_operator::snapshot::VolumeSnapshot;
    scenario(
        "backups_on_a_schedule_with_retention_and_a_restore_drill",
        |env| async move {
            let name = "chat";
            env.apply_policy_with(&env.id, |p| {
                p["spec"]["controls"]["backup"] = json!({
                    "mode": "Enforce", "schedule": "* * * * *", "retainCount": 2,
                    "restoreDrill": {"schedule": "* * * * *", "timeoutSeconds": 15}
                });
            })
            .await;
            env.create_workloads(name).await;
            let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
                Api::all(env.client.clone());
            if crds.get_opt(SNAPSHOT_CRD).await.unwrap().is_none() {
                env.apply_model_deployment(name, &env.id).await;
                poll(&env.deployments(), name, "the snapshot API reported missing", |d| {
                    condition_is(reconciled(d)?, "M81e-BackupsCurrent", "False", Some("SnapshotApiMissing"))
                })
                .await;
                install_snapshot_crd(&env.client).await;
            } else {
                println!("VolumeSnapshot CRD already installed: its late installation is not exercised");
                install_snapshot_crd(&env.client).await;
                env.apply_model_deployment(name, &env.id).await;
            }
            let snapshots: Api<VolumeSnapshot> = env.api(&env.train);
            // A user's own snapshot of the same claim: never the operator's to delete.
            let users: VolumeSnapshot = from_json(json!({
                "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": "users-own"},
                "spec": {"source": {"persistentVolumeClaimName": "training-corpus"}}
            }));
            snapshots.create(&PostParams::default(), &users).await.unwrap();
            let driver = Driver::default();
            let task = driver.start(env.client.clone(), vec![env.train.clone(), env.serve.clone()]);
            let ours = |list: &[VolumeSnapshot], claim: &str| -> Vec<String> {
                let mut names: Vec<String> = list
                    .iter()
                    .filter(|s| s.labels().contains_key(DEPLOYMENT_UID))
                    .filter(|s| s.spec.source.persistent_volume_claim_name.as_deref() == Some(claim))
                    .map(|s| s.name_any())
                    .collect();
                names.sort();
                names
            };
            let first = eventually("a backup of training-corpus", TIMEOUT, || async {
                let list = snapshots.list(&ListParams::default()).await.map_err(|e| e.to_string())?;
                let names = ours(&list.items, "training-corpus");
                names.last().cloned().ok_or_else(|| "none yet".to_owned())
            })
            .await;
            assert!(
                first.starts_with(&format!("mco-{}.chat-training-corpus-", env.serve)),
                "{first}"
            );
            // Three more slots: one snapshot per slot, never more than retainCount + the one
            // in progress.
            let mut seen = std::collections::BTreeSet::new();
            let until = Instant::now() + Duration::from_secs(190);
            let mut most = 0;
            while Instant::now() < until {
                let list = snapshots.list(&ListParams::default()).await.unwrap();
                let names = ours(&list.items, "training-corpus");
                most = most.max(names.len());
                seen.extend(names);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            assert!(seen.len() >= 4, "one per minute: {seen:?}");
            assert!(most <= 3, "retainCount 2 (+ the one in progress), saw {most}");
            let slots: std::collections::BTreeSet<&str> =
                seen.iter().map(|n| &n[n.len() - 14..]).collect();
            assert_eq!(slots.len(), seen.len(), "one snapshot per slot: {seen:?}");
            assert!(snapshots.get_opt("users-own").await.unwrap().is_some());

            // Restored claims now get volumes: a drill binds and is verified.
            driver.bind.store(true, Ordering::SeqCst);
            let verified = eventually("the restore verified", Duration::from_secs(100), || async {
                let d = env.deployments().get_opt(name).await.map_err(|e| e.to_string())?;
                condition_is(reconciled(d.as_ref())?, "M81e-RestoreVerified", "True", None)
            })
            .await;
            assert!(
                verified.message.contains(".chat-training-corpus-"),
                "{}",
                verified.message
            );
            println!("{}", verified.message);
            // The next drill is left unbound: it fails when its deadline passes, naming the
            // snapshot.
            driver.bind.store(false, Ordering::SeqCst);
            // (The next drill starts at the next minute and times out 15 s later.)
            let failed = eventually("a drill that timed out", Duration::from_secs(100), || async {
                let d = env.deployments().get_opt(name).await.map_err(|e| e.to_string())?;
                condition_is(reconciled(d.as_ref())?, "M81e-RestoreVerified", "False", Some("RestoreFailed"))
            })
            .await;
            assert!(failed.message.contains("did not bind within 15 s"), "{}", failed.message);
            assert!(failed.message.contains("restored from mco-"), "{}", failed.message);

            // Deleting the ModelDeployment leaves every backup in place.
            driver.stop.store(true, Ordering::SeqCst);
            task.await.unwrap();
            let before = ours(&snapshots.list(&ListParams::default()).await.unwrap().items, "training-corpus");
            env.deployments().delete(name, &DeleteParams::default()).await.unwrap();
            eventually("the ModelDeployment gone", TIMEOUT, || async {
                match env.deployments().get_opt(name).await.map_err(|e| e.to_string())? {
                    None => Ok(()),
                    Some(_) => Err("still there".to_owned()),
                }
            })
            .await;
            let after = ours(&snapshots.list(&ListParams::default()).await.unwrap().items, "training-corpus");
            assert!(!before.is_empty());
            assert!(before.iter().all(|n| after.contains(n)), "kept: {before:?} → {after:?}");
        },
    )
    .await;
}

/// Velero's Schedule and Backup, as minimal CRDs the test defines (every field kept).
async fn install_velero_crds(client: &Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (plural, kind) in [("schedules", "Schedule"), ("backups", "Backup")] {
        let name = format!("{plural}.velero.io");
        let crd: CustomResourceDefinition = from_json(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": "velero.io", "scope": "Namespaced",
                "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase()},
                "versions": [{"name": "v1", "served": true, "storage": true,
                              "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object",
                                         "x-kubernetes-preserve-unknown-fields": true}}}]
            }
        }));
        api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(&crd))
            .await
            .expect("a Velero CRD applies");
        let established = kube::runtime::wait::conditions::is_crd_established();
        kube::runtime::wait::await_condition(api.clone(), &name, established)
            .await
            .expect("the Velero CRD is established");
    }
}

/// 8.1e with Velero: the operator owns one Schedule of the training and inference namespaces
///     in Velero's namespace, and judges the age of the newest completed Backup; switching the
///     engine back removes its Schedule and never a Backup.
#[tokio::test]
async fn velero_schedule_and_backup_freshness() {
    use model_compliance_operator::snapshot::{VeleroBackup, VeleroSchedule};
    scenario("velero_schedule_and_backup_freshness", |env| async move {
        let name = "chat";
        install_velero_crds(&env.client).await;
        let velero = env
            .extra_namespace("velero", "velero_schedule_and_backup_freshness")
            .await;
        let velero_ns = velero.clone();
        env.apply_policy_with(&env.id, |p| {
            p["spec"]["controls"]["backup"] = json!({
                "mode": "Enforce", "engine": "Velero", "schedule": "0 3 * * *",
                "timeZone": "Asia/Shanghai", "retainMaxAgeDays": 30, "veleroNamespace": velero_ns
            });
        })
        .await;
        env.create_workloads(name).await;
        env.apply_model_deployment(name, &env.id).await;
        let schedules: Api<VeleroSchedule> = env.api(&velero);
        let schedule_name = format!("mco-{}.chat-backups", env.serve);
        let schedule = eventually("the Velero Schedule", TIMEOUT, || async {
            schedules
                .get_opt(&schedule_name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "not yet".to_owned())
        })
        .await;
        assert_eq!(schedule.spec.schedule, "CRON_TZ=Asia/Shanghai 0 3 * * *");
        let mut expected = vec![env.serve.clone(), env.train.clone()];
        expected.sort();
        assert_eq!(schedule.spec.template.included_namespaces, expected);
        assert_eq!(schedule.spec.template.ttl.as_deref(), Some("720h0m0s"));
        poll(&env.deployments(), name, "no Velero backup yet", |d| {
            condition_is(
                reconciled(d)?,
                "M81e-BackupsCurrent",
                "False",
                Some("NoBackup"),
            )
        })
        .await;
        // Velero completes a backup of the schedule.
        let backups: Api<VeleroBackup> = env.api(&velero);
        let backup: VeleroBackup = from_json(json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": "nightly-1", "labels": {"velero.io/schedule-name": schedule_name}},
            "spec": {"includedNamespaces": expected}
        }));
        backups
            .create(&PostParams::default(), &backup)
            .await
            .unwrap();
        let status = json!({"status": {"phase": "Completed",
            "completionTimestamp": Timestamp::now().to_string()}});
        backups
            .patch_status("nightly-1", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
        let current = poll(&env.deployments(), name, "the backup judged current", |d| {
            condition_is(reconciled(d)?, "M81e-BackupsCurrent", "True", None)
        })
        .await;
        assert_eq!(current.reason, "BackupsCurrent");
        // Back to VolumeSnapshots: the Schedule goes, the Backup stays.
        env.apply_policy_with(&env.id, |p| {
            p["spec"]["controls"]["backup"] = json!({"mode": "Enforce"});
        })
        .await;
        eventually("the Schedule removed", TIMEOUT, || async {
            match schedules
                .get_opt(&schedule_name)
                .await
                .map_err(|e| e.to_string())?
            {
                None => Ok(()),
                Some(_) => Err("still there".to_owned()),
            }
        })
        .await;
        assert!(backups.get_opt("nightly-1").await.unwrap().is_some());
    })
    .await;
}
