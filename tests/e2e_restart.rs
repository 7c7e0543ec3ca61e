//! Restarts of the operator on a populated cluster, against a real API server. Runs when
//! `MCO_E2E=1` and a reachable cluster are configured, and otherwise prints
//! `skipped: no cluster` and passes.
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig cargo test --release --test e2e_restart -- --nocapture
//! ```
//!
//! It creates one policy, a namespace pair, `MCO_E2E_RESTART_DEPLOYMENTS` ModelDeployments
//! (default 200) with two server pods each, lets the operator converge them (statuses of
//! about 50 conditions each, so the ModelDeployment list is the largest), and then stops it
//! with SIGTERM and starts it again `MCO_E2E_RESTARTS` times (default 10). Every start must
//! become ready and reconcile every deployment, every stop must end within the bound, and the
//! restarts must store nothing: no object of the test changes its resourceVersion and no
//! Event is recorded. The SubjectAccessReviews each start asks (they are not stored) are
//! counted from the API server's own request metrics and printed with the timings.
//!
//! Its operator serves only this run's ModelDeployments (`--selector`), so it can run beside
//! the other end-to-end tests; its timings are steadier alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_stand_in::e2e::{MANAGER, cluster, install_crds, lift_finalizers};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use model_compliance_operator::api::{CompliancePolicy, ModelDeployment};
use model_compliance_operator::crdgen;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const POLICY_FIXTURE: &str = include_str!("fixtures/e2e-controller/policy.yaml");
const DEPLOYMENT_FIXTURE: &str = include_str!("fixtures/e2e-controller/modeldeployment.yaml");
/// How long a stop may take after SIGTERM.
const STOP_BOUND: Duration = Duration::from_secs(8);
/// How long a start may take to become ready and reconcile everything.
const START_BOUND: Duration = Duration::from_secs(120);

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One run of the operator binary, killed if the test ends without stopping it.
struct Operator {
    child: Child,
    http: std::net::SocketAddr,
    started: Instant,
    log: PathBuf,
    /// Where this run's lines begin in the log.
    log_from: u64,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// The label of this run's ModelDeployments; its operator serves only those.
const RUN_LABEL: &str = "e2e-restart-run";

fn start_operator(log: &PathBuf) -> Operator {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("operator log");
    let log_from = file.metadata().expect("log size").len();
    let http = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args(["run", "--http-addr", &http.to_string()])
        .args(["--selector", &format!("{RUN_LABEL}={}", std::process::id())])
        // Each reconcile is logged at debug level: the test counts the deployments reconciled.
        .env(
            "RUST_LOG",
            std::env::var("MCO_E2E_RUST_LOG").unwrap_or_else(|_| {
                "info,model_compliance_operator::controller::reconcile=debug".into()
            }),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .spawn()
        .expect("operator starts");
    Operator {
        child,
        http,
        started: Instant::now(),
        log: log.clone(),
        log_from,
    }
}

impl Operator {
    /// SIGTERM, then the time until the process exited and its status.
    fn stop(mut self) -> (Duration, std::process::ExitStatus) {
        let sent = Instant::now();
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(term.success(), "SIGTERM delivered");
        loop {
            if let Some(status) = self.child.try_wait().expect("operator status") {
                return (sent.elapsed(), status);
            }
            if sent.elapsed() > STOP_BOUND * 2 {
                panic!(
                    "the operator did not stop within {:?} of SIGTERM",
                    STOP_BOUND * 2
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect_timeout(&self.http, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let code = response.get(9..12)?.parse().ok()?;
        Some((code, response.split("\r\n\r\n").nth(1)?.to_owned()))
    }

    /// The deployments this run has reconciled, from its log.
    fn reconciled(&self) -> std::collections::BTreeSet<String> {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let text =
            String::from_utf8_lossy(&text[(self.log_from as usize).min(text.len())..]).into_owned();
        text.lines()
            .filter(|l| l.contains(" reconciled"))
            .filter_map(|l| {
                let at = l.find("deployment=")? + "deployment=".len();
                Some(l[at..].split_whitespace().next()?.to_owned())
            })
            .collect()
    }

    /// Waits until `/readyz` answers 200, then until `count` distinct deployments have been
    /// reconciled; returns both times since the start.
    async fn wait_ready_and_reconciled(&mut self, count: u64) -> (Duration, Duration) {
        let ready = loop {
            if let Some(status) = self.child.try_wait().expect("operator status") {
                panic!("the operator exited during its start: {status}");
            }
            if self.get("/readyz").is_some_and(|(code, _)| code == 200) {
                break self.started.elapsed();
            }
            assert!(
                self.started.elapsed() < START_BOUND,
                "not ready within {START_BOUND:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        loop {
            let done = self.reconciled().len() as u64;
            if done >= count {
                return (ready, self.started.elapsed());
            }
            assert!(
                self.started.elapsed() < START_BOUND,
                "{done} of {count} deployments reconciled within {START_BOUND:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn from_json<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("test object deserializes")
}

/// resourceVersion of every object of kind `K` in `namespace`.
async fn versions<K>(client: &Client, namespace: &str) -> BTreeMap<String, String>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|o| {
            (
                format!("{}/{}", K::kind(&()), o.name_any()),
                o.resource_version().unwrap_or_default(),
            )
        })
        .collect()
}

/// What the restarts must not change: every stored object of the test and its Events.
async fn stored_state(client: &Client, train: &str, serve: &str) -> BTreeMap<String, String> {
    let mut all = versions::<ModelDeployment>(client, serve).await;
    all.extend(versions::<NetworkPolicy>(client, train).await);
    all.extend(versions::<NetworkPolicy>(client, serve).await);
    all.extend(versions::<Role>(client, train).await);
    all.extend(versions::<RoleBinding>(client, train).await);
    all.extend(versions::<Event>(client, serve).await);
    all.extend(versions::<Event>(client, train).await);
    all
}

/// SubjectAccessReviews the API server has answered so far, from its request metrics.
async fn access_reviews_answered(client: &Client) -> u64 {
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client
        .request_text(request)
        .await
        .expect("API server metrics");
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter(|l| l.contains("resource=\"subjectaccessreviews\"") && l.contains("verb=\"POST\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Each deployment's conditions as `type status reason: message`.
async fn conditions_by_deployment(mdeps: &Api<ModelDeployment>) -> BTreeMap<String, Vec<String>> {
    let list = mdeps.list(&ListParams::default()).await.unwrap();
    list.items
        .iter()
        .map(|d| {
            let conditions = d
                .status
                .iter()
                .flat_map(|s| &s.conditions)
                .map(|c| format!("{} {} {}: {}", c.type_, c.status, c.reason, c.message));
            (d.name_any(), conditions.collect())
        })
        .collect()
}

fn converged(d: &ModelDeployment) -> bool {
    d.status.as_ref().is_some_and(|s| {
        s.observed_generation == d.metadata.generation
            && s.conditions.iter().any(|c| c.type_ == "Ready")
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_on_a_populated_cluster() {
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let id = format!("mco-e2e-restart-{}", std::process::id());
    // The test runs as a task, so that a failure still removes what it made: its operator
    // is gone then, and the finalizers it left are lifted.
    let outcome = tokio::spawn(restarts(client.clone(), id.clone())).await;
    if let Err(e) = outcome {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for ns in [format!("{id}-train"), format!("{id}-serve")] {
            lift_finalizers(&client, &ns).await;
            let _ = namespaces.delete(&ns, &DeleteParams::default()).await;
        }
        let policies: Api<CompliancePolicy> = Api::all(client.clone());
        let _ = policies.delete(&id, &DeleteParams::default()).await;
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the test did not finish: {e}"),
        }
    }
}

async fn restarts(client: Client, id: String) {
    let deployments = env_number("MCO_E2E_RESTART_DEPLOYMENTS", 200);
    let restarts = env_number("MCO_E2E_RESTARTS", 10);
    let (train, serve) = (format!("{id}-train"), format!("{id}-serve"));
    let log = std::env::temp_dir().join(format!("{id}.log"));
    println!("operator log: {}", log.display());

    // The cluster a platform team would have: one policy, the namespaces, deployments, pods.
    let apply = PatchParams::apply(MANAGER);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in [&train, &serve] {
        let object: Namespace = from_json(json!({"metadata": {"name": ns}}));
        namespaces
            .create(&PostParams::default(), &object)
            .await
            .expect("namespace");
    }
    let policy: Value = serde_yaml_ng::from_str(&POLICY_FIXTURE.replace("@POLICY@", &id)).unwrap();
    let policies: Api<CompliancePolicy> = Api::all(client.clone());
    policies
        .patch(&id, &apply, &Patch::Apply(&policy))
        .await
        .expect("policy");
    let mdeps: Api<ModelDeployment> = Api::namespaced(client.clone(), &serve);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &serve);
    let created = Instant::now();
    futures::stream::iter(0..deployments)
        .map(|i| {
            let (mdeps, pods, apply) = (mdeps.clone(), pods.clone(), apply.clone());
            let (train, serve, id) = (train.clone(), serve.clone(), id.clone());
            async move {
                let name = format!("model-{i:04}");
                let text = DEPLOYMENT_FIXTURE
                    .replace("@NAME@", &name)
                    .replace("@POLICY@", &id)
                    .replace("@TRAIN_NS@", &train)
                    .replace("@SERVE_NS@", &serve);
                let mut doc: Value = serde_yaml_ng::from_str(&text).unwrap();
                doc["metadata"]["labels"] =
                    json!({ RUN_LABEL: std::process::id().to_string() });
                mdeps.patch(&name, &apply, &Patch::Apply(&doc)).await?;
                for replica in 0..2 {
                    let pod: Pod = from_json(json!({
                        "metadata": {"name": format!("{name}-server-{replica}"),
                                     "labels": {"app.kubernetes.io/name": format!("{name}-server")}},
                        "spec": {"containers": [{"name": "model", "image": "registry.example.com/model:1"}]}
                    }));
                    pods.create(&PostParams::default(), &pod).await?;
                }
                Ok::<_, kube::Error>(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .expect("deployments and pods created");
    println!(
        "created {deployments} ModelDeployments and {} pods in {:.1?}",
        deployments * 2,
        created.elapsed()
    );

    // Converge once.
    let mut operator = start_operator(&log);
    let converging = Instant::now();
    loop {
        let list = mdeps.list(&ListParams::default()).await.expect("list");
        let done = list.items.iter().filter(|d| converged(d)).count();
        if done == deployments {
            break;
        }
        assert!(
            converging.elapsed() < Duration::from_secs(600),
            "{done} of {deployments} converged"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status_bytes: usize = mdeps
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|d| serde_json::to_vec(&d.status).unwrap().len())
        .sum();
    println!(
        "converged in {:.1?}; statuses average {} bytes",
        converging.elapsed(),
        status_bytes / deployments
    );
    // Let the last Events and writes land before taking the reference.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reference = stored_state(&client, &train, &serve).await;
    let reference_statuses = conditions_by_deployment(&mdeps).await;

    let (mut stops, mut readies, mut reconciled) = (Vec::new(), Vec::new(), Vec::new());
    for restart in 1..=restarts {
        let (stop, status) = operator.stop();
        assert!(status.success(), "restart {restart}: exit status {status}");
        assert!(
            stop <= STOP_BOUND,
            "restart {restart}: stopped {stop:?} after SIGTERM"
        );
        let reviews_before = access_reviews_answered(&client).await;
        operator = start_operator(&log);
        let (ready, all_reconciled) = operator.wait_ready_and_reconciled(deployments as u64).await;
        // Requeues and debounced triggers have passed by now.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let reviews = access_reviews_answered(&client).await - reviews_before;
        let now = stored_state(&client, &train, &serve).await;
        let changed: Vec<_> = now
            .iter()
            .filter(|(k, v)| reference.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(reference.keys().filter(|k| !now.contains_key(*k)).cloned())
            .collect();
        if !changed.is_empty() {
            // Say what the restarted operator decided differently.
            let statuses = conditions_by_deployment(&mdeps).await;
            let flipped: Vec<String> = statuses
                .iter()
                .flat_map(|(name, conditions)| {
                    let before = reference_statuses.get(name);
                    conditions
                        .iter()
                        .filter(move |c| before.is_none_or(|b| !b.contains(*c)))
                        .map(move |c| format!("{name}: {c}"))
                })
                .collect();
            panic!("restart {restart} stored writes: {changed:?}; conditions now: {flipped:#?}");
        }
        println!(
            "restart {restart}: stopped in {stop:.2?}, ready in {ready:.2?}, {deployments} reconciled in {all_reconciled:.2?}, {reviews} SubjectAccessReviews, no stored write"
        );
        stops.push(stop);
        readies.push(ready);
        reconciled.push(all_reconciled);
    }
    println!(
        "{restarts} restarts at {deployments} deployments: stop median {:.2?} max {:.2?}; ready median {:.2?} max {:.2?}; all reconciled median {:.2?} max {:.2?}",
        median(stops.clone()),
        stops.iter().max().unwrap(),
        median(readies.clone()),
        readies.iter().max().unwrap(),
        median(reconciled.clone()),
        reconciled.iter().max().unwrap(),
    );

    // Clean up with the operator still running, so that it lifts its finalizers.
    mdeps
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await
        .expect("delete deployments");
    let deleting = Instant::now();
    while !mdeps
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .is_empty()
    {
        assert!(deleting.elapsed() < Duration::from_secs(300), "deletion");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (_, status) = operator.stop();
    assert!(status.success());
    for ns in [&train, &serve] {
        let _ = namespaces.delete(ns, &DeleteParams::default()).await;
    }
    let _ = policies.delete(&id, &DeleteParams::default()).await;
}
