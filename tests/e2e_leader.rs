//! Leader election between two operator processes against a real API server. Runs when
//! `MCO_E2E=1` and a reachable cluster are configured, and otherwise prints
//! `skipped: no cluster` and passes.
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig cargo test --test e2e_leader -- --nocapture
//! ```
//!
//! Both processes serve only the test's own ModelDeployment (`--selector`), so the test can
//! run beside the rest of the suite. The first becomes leader and reconciles; the second
//! stands by (ready, reconciling nothing). The leader is then killed without releasing its
//! lease: the standby takes over within the lease's duration and reconciles. Stopped with
//! SIGTERM, it releases the lease at once.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_stand_in::e2e::{MANAGER, cluster, install_crds};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use model_compliance_operator::api::{CompliancePolicy, ModelDeployment};
use model_compliance_operator::crdgen;
use serde_json::{Value, json};

const POLICY_FIXTURE: &str = include_str!("fixtures/e2e-controller/policy.yaml");
const DEPLOYMENT_FIXTURE: &str = include_str!("fixtures/e2e-controller/modeldeployment.yaml");
/// The lease's duration given to both processes.
const LEASE: Duration = Duration::from_secs(6);

struct Operator {
    child: Child,
    http: std::net::SocketAddr,
    log: PathBuf,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(id: &str, identity: &str, lease_namespace: &str) -> Operator {
    let log = std::env::temp_dir().join(format!("{id}-{identity}.log"));
    let file = std::fs::File::create(&log).expect("operator log");
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args(["run", "--http-addr", &http.to_string(), "--leader-elect"])
        .args(["--lease-name", id, "--lease-namespace", lease_namespace])
        .args(["--lease-duration", &format!("{}s", LEASE.as_secs())])
        .args(["--selector", &format!("e2e-run={id}")])
        .env("POD_NAME", identity)
        .env(
            "RUST_LOG",
            "info,model_compliance_operator::controller::reconcile=debug",
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("operator starts");
    Operator { child, http, log }
}

impl Operator {
    fn readyz(&self) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect_timeout(&self.http, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            stream,
            "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let code = response.get(9..12)?.parse().ok()?;
        Some((code, response.split("\r\n\r\n").nth(1)?.to_owned()))
    }

    fn reconciles(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" reconciled"))
            .count()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn holder(leases: &Api<Lease>, name: &str) -> Option<String> {
    leases.get_opt(name).await.ok()??.spec?.holder_identity
}

async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn one_replica_reconciles_and_the_standby_takes_over() {
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let id = format!("mco-e2e-leader-{}", std::process::id());
    let (train, serve) = (format!("{id}-train"), format!("{id}-serve"));
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in [&train, &serve] {
        let object: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        namespaces
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }
    let apply = PatchParams::apply(MANAGER);
    let policy: Value = serde_yaml_ng::from_str(&POLICY_FIXTURE.replace("@POLICY@", &id)).unwrap();
    let policies: Api<CompliancePolicy> = Api::all(client.clone());
    policies
        .patch(&id, &apply, &Patch::Apply(&policy))
        .await
        .unwrap();
    let text = DEPLOYMENT_FIXTURE
        .replace("@NAME@", "chat")
        .replace("@POLICY@", &id)
        .replace("@TRAIN_NS@", &train)
        .replace("@SERVE_NS@", &serve);
    let mut doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    doc["metadata"]["labels"] = json!({"e2e-run": id});
    let mdeps: Api<ModelDeployment> = Api::namespaced(client.clone(), &serve);
    mdeps
        .patch("chat", &apply, &Patch::Apply(&doc))
        .await
        .unwrap();
    let leases: Api<Lease> = Api::namespaced(client.clone(), &serve);

    // The first process leads and reconciles.
    let a = start(&id, "replica-a", &serve);
    eventually(
        "replica-a reconciles",
        Duration::from_secs(60),
        async || (a.reconciles() > 0).then_some(()),
    )
    .await;
    assert_eq!(holder(&leases, &id).await.as_deref(), Some("replica-a"));

    // The second stands by: ready, reconciling nothing.
    let b = start(&id, "replica-b", &serve);
    let body = eventually("replica-b ready", Duration::from_secs(30), async || {
        b.readyz()
            .filter(|(code, _)| *code == 200)
            .map(|(_, body)| body)
    })
    .await;
    assert!(body.contains("standing by"), "{body}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        b.reconciles(),
        0,
        "a standby reconciles nothing:\n{}",
        b.log_text()
    );
    assert_eq!(holder(&leases, &id).await.as_deref(), Some("replica-a"));

    // The leader vanishes without releasing the lease: the standby takes over.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed = Instant::now();
    eventually("replica-b takes the lease", LEASE * 3, async || {
        (holder(&leases, &id).await.as_deref() == Some("replica-b")).then_some(())
    })
    .await;
    let took_lease = killed.elapsed();
    eventually(
        "replica-b reconciles",
        Duration::from_secs(60),
        async || (b.reconciles() > 0).then_some(()),
    )
    .await;
    let reconciling = killed.elapsed();
    println!(
        "standby took the lease {took_lease:.1?} after the leader was killed (lease {LEASE:?}); reconciling after {reconciling:.1?}"
    );
    assert!(
        took_lease <= LEASE + Duration::from_secs(3),
        "{took_lease:?}"
    );

    // Stopped with SIGTERM, it gives the lease up at once.
    let mut b = b;
    let term = Command::new("kill")
        .args(["-TERM", &b.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = b.child.wait().unwrap();
    assert!(status.success(), "{status}:\n{}", b.log_text());
    assert_eq!(holder(&leases, &id).await, None, "released on SIGTERM");

    let _ = mdeps.delete("chat", &DeleteParams::default()).await;
    // The finalizer is the operator's; without one running, it is removed here.
    let _ = mdeps
        .patch(
            "chat",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
    for ns in [&train, &serve] {
        let _ = namespaces.delete(ns, &DeleteParams::default()).await;
    }
    let _ = policies.delete(&id, &DeleteParams::default()).await;
}
