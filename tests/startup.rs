//! Start and stop of the operator (`controller::run`) through a real `kube::Client` against
//! the in-process API stand-in, which decides the order in which the reflectors' lists are
//! answered: the operator starts whichever cache fills last, says what it waits for, gives up
//! after its deadline, and stops promptly in every phase.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_stand_in::fixtures::{CHAT_DEPLOYMENT, chat_deployment};
use api_stand_in::{FakeApi, Logged};
use http::Method;
use model_compliance_operator::controller::{self, Options, RunError};
use model_compliance_operator::crdgen;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const MDEP: &str = CHAT_DEPLOYMENT;

/// Every cache the operator fills before it decides anything, by resource.
const CACHES: [&str; 13] = [
    "modeldeployments",
    "compliancepolicies",
    "complianceevidences",
    "namespaces",
    "deployments",
    "statefulsets",
    "pods",
    "services",
    "networkpolicies",
    "roles",
    "rolebindings",
    "persistentvolumeclaims",
    "cronjobs",
];

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(10);

/// The operator's CRDs, established.
fn install_crds(api: &FakeApi) {
    for (_, crd) in crdgen::crds() {
        let name = crd.metadata.name.clone().unwrap();
        let mut crd = serde_json::to_value(&crd).unwrap();
        crd["status"] = json!({"conditions": [
            {"type": "Established", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z",
             "reason": "InitialNamesAccepted", "message": ""}
        ]});
        api.insert(
            &format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"),
            crd,
        );
    }
}

/// The VolumeSnapshot CRD, established.
fn install_snapshot_api(api: &FakeApi) {
    api.insert(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/volumesnapshots.snapshot.storage.k8s.io",
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "volumesnapshots.snapshot.storage.k8s.io"},
               "spec": {"group": "snapshot.storage.k8s.io", "scope": "Namespaced",
                        "names": {"kind": "VolumeSnapshot", "plural": "volumesnapshots"},
                        "versions": [{"name": "v1", "served": true, "storage": true}]},
               "status": {"conditions": [{"type": "Established", "status": "True",
                          "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "InitialNamesAccepted", "message": ""}]}}),
    );
}

/// A policy, a ModelDeployment and a few objects of each kind the operator watches.
fn populated_cluster() -> FakeApi {
    let api = FakeApi::new();
    install_crds(&api);
    api.insert(
        "/apis/modelcompliance.io/v1alpha1/compliancepolicies/p",
        json!({"apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy",
               "metadata": {"name": "p", "uid": "policy-uid"}, "spec": {}}),
    );
    api.insert(MDEP, chat_deployment());
    for ns in ["train", "serve"] {
        api.insert(
            &format!("/api/v1/namespaces/{ns}"),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
    api.insert(
        "/api/v1/namespaces/serve/pods/chat-0",
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "chat-0", "namespace": "serve", "labels": {"app": "chat"}},
               "spec": {"containers": [{"name": "model", "image": "m"}]}}),
    );
    api.insert(
        "/api/v1/namespaces/serve/services/chat",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat", "namespace": "serve"},
               "spec": {"selector": {"app": "chat"}, "ports": [{"port": 80, "targetPort": 8000}]}}),
    );
    api.insert(
        "/api/v1/namespaces/train/persistentvolumeclaims/corpus",
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "corpus", "namespace": "train"}, "spec": {}}),
    );
    api
}

fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

fn options() -> Options {
    Options {
        cache_sync_timeout: None,
        shutdown_timeout: Duration::from_millis(500),
        ..Options::new(free_port())
    }
}

struct Operator {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), RunError>>,
    http: std::net::SocketAddr,
}

fn start(api: &FakeApi, options: Options) -> Operator {
    let shutdown = CancellationToken::new();
    let http = options.http_addr;
    let task = tokio::spawn(controller::run(api.client(), options, shutdown.clone()));
    Operator {
        shutdown,
        task,
        http,
    }
}

impl Operator {
    /// Asks it to stop and waits at most `within` for it to return.
    async fn stop(self, within: Duration) -> Result<(), RunError> {
        self.shutdown.cancel();
        tokio::time::timeout(within, self.task)
            .await
            .unwrap_or_else(|_| panic!("the operator did not stop within {within:?}"))
            .unwrap()
    }

    async fn readyz(&self) -> u16 {
        match self.get("/readyz").await {
            Some(response) => response[9..12].parse().unwrap(),
            None => 0,
        }
    }

    /// The whole HTTP response to `GET path`, `None` while nothing listens.
    async fn get(&self, path: &str) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.http).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        Some(response)
    }

    /// Reconciles started, from `/metrics`.
    async fn reconciles(&self) -> u64 {
        let Some(metrics) = self.get("/metrics").await else {
            return 0;
        };
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("model_compliance_operator_reconciles_total "))
            .map_or(0, |n| n.trim().parse().unwrap())
    }
}

/// Waits until `done` holds of the stand-in's log, or fails saying `what`.
async fn until(api: &FakeApi, what: &str, done: impl Fn(&[Logged]) -> bool) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while !done(&api.log()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    if waited.is_err() {
        let requests: Vec<String> = api
            .log()
            .iter()
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect();
        panic!("{what}: not seen within {PATIENCE:?}; requests:\n{requests:#?}");
    }
}

fn resource_of(r: &Logged) -> &str {
    r.path.rsplit('/').next().unwrap_or("")
}

fn is_watch(r: &Logged) -> bool {
    r.query.contains("watch=true")
}

/// The watches of every cache but `held` are open: their lists have been stored.
fn all_watching_except<'a>(held: &'a [&'a str]) -> impl Fn(&[Logged]) -> bool + 'a {
    move |log| {
        CACHES.iter().filter(|c| !held.contains(c)).all(|cache| {
            log.iter().any(|r| {
                is_watch(r) && resource_of(r) == *cache && !r.path.contains("/namespaces/")
            })
        })
    }
}

/// The backup row's condition in the stored status of the deployment.
fn backups_condition(api: &FakeApi) -> serde_json::Value {
    let status = api.object(MDEP).unwrap()["status"].clone();
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "M81e-BackupsCurrent")
        .cloned()
        .unwrap()
}

fn status_written(log: &[Logged]) -> bool {
    log.iter()
        .any(|r| r.method == Method::PATCH && r.path == format!("{MDEP}/status"))
}

/// Whichever cache finishes its first list last — the ModelDeployment one included, whose
/// store both the controller and the readiness gate wait for — the operator becomes ready and
/// reconciles. On the code before the fix, the ModelDeployment case hung for ever.
#[tokio::test]
async fn starts_whichever_cache_fills_last() {
    for last in CACHES {
        let api = populated_cluster();
        let gate = api.hold_list(last);
        let operator = start(&api, options());
        until(
            &api,
            &format!("every list but {last} answered"),
            all_watching_except(&[last]),
        )
        .await;
        // Let every waiter settle on the held cache before it fills.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !status_written(&api.log()),
            "{last}: decided before every cache filled"
        );
        assert_eq!(operator.readyz().await, 503, "{last}: ready too early");
        gate.open();
        until(
            &api,
            &format!("{last} last: the status write"),
            status_written,
        )
        .await;
        assert_eq!(operator.readyz().await, 200, "{last} last: /readyz");
        operator
            .stop(Duration::from_secs(3))
            .await
            .unwrap_or_else(|e| panic!("{last} last: {e}"));
    }
}

/// The ModelDeployment list finishes last while other watches deliver changes, which makes
/// the controller look at its store again after the readiness gate did: the order in which
/// the two waiters last looked at the store, which decided the hang, varies with the number
/// of changes.
#[tokio::test]
async fn starts_when_changes_arrive_before_the_deployment_list() {
    for changes in 0..4 {
        let api = populated_cluster();
        let gate = api.hold_list("modeldeployments");
        let operator = start(&api, options());
        until(
            &api,
            "every list but modeldeployments",
            all_watching_except(&["modeldeployments"]),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        for n in 0..changes {
            api.insert(
                "/api/v1/namespaces/serve/pods/chat-0",
                json!({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "chat-0", "namespace": "serve", "labels": {"app": "chat", "n": n.to_string()}},
                       "spec": {"containers": [{"name": "model", "image": "m"}]}}),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate.open();
        until(
            &api,
            &format!("{changes} changes first: the status write"),
            status_written,
        )
        .await;
        operator.stop(Duration::from_secs(3)).await.unwrap();
    }
}

/// Several starts in a row, each with the ModelDeployment list last and the other lists
/// answered in a different order: none hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_with_the_deployment_list_last_on_several_threads() {
    for round in 0..10 {
        let api = populated_cluster();
        let gate = api.hold_list("modeldeployments");
        // Another cache held too, released first, so that the order of the rest varies.
        let other = api.hold_list(CACHES[1 + round % (CACHES.len() - 1)]);
        let operator = start(&api, options());
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(other);
        until(
            &api,
            "every list but modeldeployments",
            all_watching_except(&["modeldeployments"]),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        gate.open();
        until(
            &api,
            &format!("round {round}: the status write"),
            status_written,
        )
        .await;
        operator.stop(Duration::from_secs(3)).await.unwrap();
    }
}

#[tokio::test]
async fn stops_promptly_before_the_crds_exist() {
    let api = FakeApi::new();
    let operator = start(&api, options());
    until(&api, "the CRD watch", |log| {
        log.iter()
            .any(|r| r.path.contains("customresourcedefinitions") && is_watch(r))
    })
    .await;
    operator.stop(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test]
async fn stops_promptly_while_the_caches_fill() {
    let api = populated_cluster();
    let _held = api.hold_list("pods");
    let operator = start(&api, options());
    until(&api, "every list but pods", all_watching_except(&["pods"])).await;
    // Reconciles have started and wait for the caches; they must not hold the shutdown.
    tokio::time::sleep(Duration::from_millis(300)).await;
    operator.stop(Duration::from_secs(2)).await.unwrap();
    assert!(
        !status_written(&api.log()),
        "nothing decided from half-filled caches"
    );
}

#[tokio::test]
async fn stops_promptly_while_a_reconcile_is_in_flight() {
    let api = populated_cluster();
    let _held = api.hold_request(Method::PATCH, &format!("{MDEP}/status"));
    let operator = start(&api, options());
    until(&api, "the status write in flight", status_written).await;
    // The write never completes: the shutdown waits `shutdown_timeout` (0.5 s), no longer.
    operator.stop(Duration::from_secs(2)).await.unwrap();
}

/// Log lines written by the code under test, for assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_start_that_cannot_complete_says_why_and_gives_up() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runs on one thread, so every task of the operator logs here.
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = populated_cluster();
    let _held = api.hold_list("pods");
    let _also = api.hold_list("rolebindings");
    let operator = start(
        &api,
        Options {
            cache_sync_timeout: Some(Duration::from_millis(1500)),
            sync_progress_interval: Duration::from_millis(400),
            ..options()
        },
    );
    until(
        &api,
        "the other lists",
        all_watching_except(&["pods", "rolebindings"]),
    )
    .await;
    assert_eq!(operator.readyz().await, 503);
    let result = tokio::time::timeout(Duration::from_secs(5), operator.task)
        .await
        .expect("gives up after its deadline")
        .unwrap();
    match result {
        Err(RunError::CachesNotSynced { pending, timeout }) => {
            assert_eq!(pending, ["pods", "rolebindings"]);
            assert_eq!(timeout, Duration::from_millis(1500));
        }
        other => panic!("expected CachesNotSynced, got {other:?}"),
    }
    assert!(!status_written(&api.log()));
    let text = logs.text();
    let progress: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("caches still filling"))
        .collect();
    assert!(
        progress.len() >= 2,
        "the wait is reported at its interval:\n{text}"
    );
    assert!(
        progress
            .iter()
            .all(|l| l.contains("waiting_for=pods, rolebindings")),
        "{progress:#?}"
    );
}

/// The binary itself, against an API server that accepts connections and never answers:
/// SIGTERM stops it at once, with exit status 0.
#[test]
fn the_binary_stops_on_sigterm_while_the_api_server_never_answers() {
    use std::process::{Command, Stdio};
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = silent.local_addr().unwrap();
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    let dir = std::env::temp_dir().join(format!("mco-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{server}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n\
             current-context: x\n"
        ),
    )
    .unwrap();
    let mut operator = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args(["run", "--http-addr", &free_port().to_string()])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        operator.try_wait().unwrap().is_none(),
        "still waiting for the API server"
    );
    let term = Command::new("kill")
        .args(["-TERM", &operator.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopped = std::time::Instant::now();
    let status = loop {
        if let Some(status) = operator.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(5) {
            let _ = operator.kill();
            panic!("no exit within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = operator.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(
        log.contains("signal=\"SIGTERM\"") || log.contains("signal=SIGTERM"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The VolumeSnapshot API installed while the operator runs is used without a restart: the
/// backup row first says the API is missing, then the operator takes the backup due.
#[tokio::test]
async fn a_snapshot_api_installed_later_is_used_without_a_restart() {
    let api = populated_cluster();
    let operator = start(&api, options());
    until(&api, "the first status", status_written).await;
    let backups = backups_condition(&api);
    assert_eq!(backups["reason"], "SnapshotApiMissing", "{backups}");
    assert!(
        api.log()
            .iter()
            .all(|r| !r.path.contains("volumesnapshots")),
        "nothing asked of an API that does not exist"
    );

    install_snapshot_api(&api);
    until(&api, "a backup of corpus taken", |log| {
        log.iter().any(|r| {
            r.method == Method::PATCH
                && r.path.starts_with(
                    "/apis/snapshot.storage.k8s.io/v1/namespaces/train/volumesnapshots/mco-serve.chat-corpus-",
                )
        })
    })
    .await;
    operator.stop(PATIENCE).await.unwrap();
}

/// Two operators split one cluster: each serves only the ModelDeployments of its namespace
/// and label selector, lists and watches only those, and writes only their status.
#[tokio::test]
async fn an_operator_serves_only_its_share_of_the_deployments() {
    let api = populated_cluster();
    let with = |namespace: &str, name: &str, shard: &str| {
        let mut d = chat_deployment();
        d["metadata"]["namespace"] = namespace.into();
        d["metadata"]["name"] = name.into();
        d["metadata"]["uid"] = format!("{namespace}-{name}").into();
        d["metadata"]["labels"] = json!({"shard": shard});
        api.insert(
            &format!(
                "/apis/modelcompliance.io/v1alpha1/namespaces/{namespace}/modeldeployments/{name}"
            ),
            d,
        );
    };
    with("serve", "chat", "a");
    with("serve", "chat-b", "b");
    with("elsewhere", "chat", "a");
    let operator = start(
        &api,
        Options {
            scope: controller::stores::Scope {
                namespace: Some("serve".into()),
                selector: Some("shard=a".into()),
            },
            ..options()
        },
    );
    until(&api, "the status of serve/chat", status_written).await;
    // Give the others every chance to be (wrongly) reconciled.
    tokio::time::sleep(Duration::from_millis(600)).await;
    operator.stop(Duration::from_secs(2)).await.unwrap();
    let log = api.log();
    let status_writes: Vec<&str> = log
        .iter()
        .filter(|r| r.method == Method::PATCH && r.path.ends_with("/status"))
        .map(|r| r.path.as_str())
        .collect();
    assert!(
        status_writes.iter().all(|p| *p == format!("{MDEP}/status")),
        "only serve/chat is this operator's: {status_writes:#?}"
    );
    let deployment_lists: Vec<String> = log
        .iter()
        .filter(|r| resource_of(r) == "modeldeployments" && r.method == Method::GET)
        .map(|r| format!("{}?{}", r.path, r.query))
        .collect();
    assert!(
        deployment_lists
            .iter()
            .all(|r| r.contains("/namespaces/serve/modeldeployments")
                && r.contains("labelSelector=shard")),
        "ModelDeployments are listed and watched in the share only: {deployment_lists:#?}"
    );
    // Listed a few at a time: each carries its status.
    let page = format!("limit={}", controller::stores::DEPLOYMENTS_PAGE);
    assert!(
        deployment_lists
            .iter()
            .filter(|r| !r.contains("watch=true"))
            .all(|r| r.contains(&page)),
        "{deployment_lists:#?}"
    );
    let evidence_reads: Vec<String> = log
        .iter()
        .filter(|r| resource_of(r) == "complianceevidences")
        .map(|r| r.path.clone())
        .collect();
    assert!(
        evidence_reads
            .iter()
            .all(|p| p.contains("/namespaces/serve/")),
        "{evidence_reads:#?}"
    );
}

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/mco-system/leases/model-compliance-operator";

fn elected_options(identity: &str) -> Options {
    Options {
        leader_election: Some(controller::leader::LeaderElection {
            lease_name: "model-compliance-operator".into(),
            namespace: "mco-system".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(2),
        }),
        ..options()
    }
}

fn lease_held_by(holder: &str) -> serde_json::Value {
    let now = k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
           "metadata": {"name": "model-compliance-operator", "namespace": "mco-system"},
           "spec": {"holderIdentity": holder, "leaseDurationSeconds": 2,
                    "acquireTime": now.to_string(), "renewTime": now.to_string()}})
}

fn holder(api: &FakeApi) -> Option<String> {
    api.object(LEASE)?["spec"]["holderIdentity"]
        .as_str()
        .map(str::to_owned)
}

/// While another replica holds the lease, this one stands by: ready, but it fills no cache and
/// writes nothing. When the holder stops renewing, it takes the lease over within the lease's
/// duration and reconciles; on shutdown it gives the lease up for the next one.
#[tokio::test]
async fn a_standby_reconciles_nothing_until_the_holders_lease_expires() {
    let api = populated_cluster();
    api.insert(LEASE, lease_held_by("replica-a"));
    let operator = start(&api, elected_options("replica-b"));
    let standing = tokio::time::Instant::now();
    until(&api, "the lease read", |log| {
        log.iter().any(|r| r.path == LEASE)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        operator.readyz().await,
        200,
        "a standby is ready to take over"
    );
    assert!(
        !api.log()
            .iter()
            .any(|r| resource_of(r) == "modeldeployments"),
        "a standby lists nothing: {:#?}",
        api.log().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(holder(&api).as_deref(), Some("replica-a"));

    until(
        &api,
        "the status written after the takeover",
        status_written,
    )
    .await;
    let took = standing.elapsed();
    assert_eq!(holder(&api).as_deref(), Some("replica-b"));
    assert!(
        took < Duration::from_secs(6),
        "took over {took:?} after standing; the lease lasts 2 s"
    );
    println!("took over {took:?} after standing for a lease that lasts 2 s");

    operator.stop(Duration::from_secs(3)).await.unwrap();
    assert_eq!(holder(&api), None, "the lease is given up on shutdown");
}

/// A leader whose lease another replica holds now stops reconciling: `run` returns an error,
/// so that the process exits and starts again as a standby.
#[tokio::test]
async fn a_leader_that_loses_its_lease_stops() {
    let api = populated_cluster();
    let operator = start(&api, elected_options("replica-a"));
    until(&api, "the first status write", status_written).await;
    assert_eq!(holder(&api).as_deref(), Some("replica-a"));
    api.insert(LEASE, lease_held_by("replica-b"));
    let ended = tokio::time::timeout(Duration::from_secs(5), operator.task)
        .await
        .expect("the deposed leader stops within the lease's duration and a margin")
        .unwrap();
    assert!(
        matches!(ended, Err(RunError::Deposed)),
        "{:?}",
        ended.err().map(|e| e.to_string())
    );
}

/// Churn in a namespace a deployment reads, with changes faster than any debounce period,
/// does not hold back the reconcile of a change to the deployment itself: it is decided
/// while the churn goes on, not after it stops.
#[tokio::test]
async fn a_change_is_reconciled_while_its_namespaces_churn() {
    let api = populated_cluster();
    let operator = start(&api, options());
    until(&api, "the first status write", status_written).await;
    let churning = CancellationToken::new();
    let churn = {
        let (api, churning) = (api.clone(), churning.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !churning.is_cancelled() {
                n += 1;
                // A pod of the serve namespace that no selector picks, changing each time.
                api.insert(
                    "/api/v1/namespaces/serve/pods/batch-0",
                    json!({"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "batch-0", "namespace": "serve",
                                        "labels": {"app": "batch", "round": n.to_string()}},
                           "spec": {"containers": [{"name": "job", "image": "j"}]}}),
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut suspended = chat_deployment();
    suspended["metadata"]["generation"] = 2.into();
    suspended["spec"]["suspend"] = true.into();
    api.insert(MDEP, suspended);
    let decided = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let seen = api.log().iter().any(|r| {
                r.method == Method::PATCH
                    && r.path == format!("{MDEP}/status")
                    && r.body
                        .as_ref()
                        .is_some_and(|b| b["status"]["observedGeneration"] == 2)
            });
            if seen {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let still_churning = !churn.is_finished();
    churning.cancel();
    let rounds = churn.await.unwrap();
    assert!(
        still_churning && rounds >= 10,
        "the churn ran until the decision ({rounds} changes)"
    );
    assert!(
        decided.is_ok(),
        "the suspended spec was not decided within 3 s of churn ({rounds} pod changes)"
    );
    operator.stop(Duration::from_secs(3)).await.unwrap();
}

/// A restarted operator reads the statuses it wrote before from the list, keeps them beside
/// its cache (which holds deployments without status), and writes nothing for a deployment
/// whose rows did not change: no status, no object, no finalizer, no Event.
#[tokio::test]
async fn a_restart_writes_nothing_for_deployments_that_did_not_change() {
    let api = populated_cluster();
    let first = start(&api, options());
    until(&api, "the first status", status_written).await;
    // Settled: the reconcile woken by its own writes, if any, has run too.
    tokio::time::sleep(Duration::from_millis(800)).await;
    first.stop(Duration::from_secs(2)).await.unwrap();
    let stored = api.object(MDEP).unwrap()["status"].clone();
    assert!(
        stored["conditions"]
            .as_array()
            .is_some_and(|c| c.len() > 40)
    );

    api.clear_log();
    let second = start(&api, options());
    let waited = tokio::time::timeout(PATIENCE, async {
        while second.reconciles().await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the restarted operator reconciles");
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.stop(Duration::from_secs(2)).await.unwrap();
    let writes: Vec<String> = api
        .log()
        .iter()
        .filter(|r| r.method != Method::GET && !r.path.ends_with("/subjectaccessreviews"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "writes after a restart: {writes:#?}");
    assert_eq!(api.object(MDEP).unwrap()["status"], stored);
}

/// An optional API installed when the operator starts is part of its start: nothing is
/// decided until its cache is filled, so that a restart does not report the backups of every
/// deployment missing (and write that) only to take it back a moment later.
#[tokio::test]
async fn a_snapshot_api_installed_at_the_start_is_waited_for() {
    let api = populated_cluster();
    install_snapshot_api(&api);
    let gate = api.hold_list("volumesnapshots");
    let operator = start(&api, options());
    until(&api, "every other cache listed", all_watching_except(&[])).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !status_written(&api.log()),
        "decided before the snapshots were listed"
    );
    assert_eq!(operator.readyz().await, 503, "not ready before then");
    gate.open();
    until(&api, "the first status", status_written).await;
    let backups = backups_condition(&api);
    assert_ne!(backups["reason"], "SnapshotApiMissing", "{backups}");
    operator.stop(PATIENCE).await.unwrap();
}
