//! Scale benchmark of the operator against a real API server: convergence time beside the
//! floor of writing the same objects, requests per deployment, status bytes, CPU and memory.
//! Runs when `MCO_E2E=1`, `MCO_E2E_SCALE=1` and a reachable cluster are configured, and
//! otherwise prints `skipped: …` and passes. Build it in release, as the operator ships:
//!
//! ```sh
//! MCO_E2E=1 MCO_E2E_SCALE=1 KUBECONFIG=/path/to/kubeconfig \
//!     cargo test --release --test e2e_scale -- --nocapture
//! ```
//!
//! Sizes: `MCO_E2E_SCALE_DEPLOYMENTS` (N, default 1000), `MCO_E2E_SCALE_SMALL` (the small
//! size, default 200), `MCO_E2E_SCALE_PODS` (pods in all at N, default 10000: two per
//! deployment, the rest unrelated).
//!
//! # What it does
//!
//! One CompliancePolicy (`tests/fixtures/e2e-controller/policy.yaml`), then three parts, each
//! in namespaces of its own. Every ModelDeployment of a part carries the label
//! `e2e-run=<part>` and the operator is started with `--selector e2e-run=<part>
//! --concurrency 8`, so that it serves that part only and never another test's objects.
//!
//! 1. **Small** (two separate operator runs, not one grown run: each size is measured from a
//!    cold start on deployments the operator has never seen): a training and a serve
//!    namespace, `SMALL` deployments with two server pods each (no kubelet: they stay
//!    Pending, which the rows report). The operator binary starts as a child process and the
//!    test watches the deployments until every one is converged (`status.observedGeneration
//!    == metadata.generation` and a `Ready` condition). Then its CPU (`utime + stime` of
//!    `/proc/<pid>/stat`) and peak memory (`VmHWM` of `/proc/<pid>/status`) are read, it is
//!    stopped, and the part is removed.
//! 2. **Large**: the same with N deployments and 2·N pods in a fresh namespace pair and a
//!    fresh operator. Measured at convergence: time since the process started (and since it
//!    became ready), CPU, `VmHWM`, requests by verb, resource, subresource and code from the
//!    API server's own `apiserver_request_total` (the delta across the window from the
//!    operator's start to convergence, divided by N; again 10 s later for late writes), and
//!    the JSON size of every `.status`. Then the unrelated pods (up to `MCO_E2E_SCALE_PODS` in
//!    all) are created in the serve namespace, matching no deployment's selectors: the
//!    reconciles, status writes and CPU this churn costs, and `VmHWM` at steady state with
//!    every pod. Finally the operator is stopped with SIGTERM and started again: `VmHWM` of
//!    the new process once it is ready and has reconciled every deployment (the restart
//!    peak), its CPU, and what the restart wrote.
//! 3. **Floor**: what the same writes cost without the operator. After part 2 converged,
//!    the objects the operator wrote (those labelled `modelcompliance.io/deployment-uid` in
//!    the test's namespaces, of every kind it owns: NetworkPolicies, Roles and RoleBindings,
//!    and the VolumeSnapshots its backup control takes, among others; stripped to name,
//!    namespace, labels, annotations, owner references and body) and every deployment's
//!    status were captured. The floor creates N fresh ModelDeployments in a third namespace
//!    pair (no operator serves them), rewrites the captured objects and statuses for them
//!    (namespace names and owner uids substituted, so every object is created anew, as the
//!    operator's first applies created theirs) and then, timed, a bare client sends for each
//!    deployment exactly one server-side apply (`force`, field manager `mco-floor`) of each of
//!    its objects, in the operator's order, and then one server-side apply of its status, at
//!    the operator's concurrency (8 deployments at once). It reads nothing, records no Event,
//!    adds no finalizer and asks no access review: the floor is the least any controller
//!    must send to reach the same stored state, and the operator is stopped while it runs.
//!    A second run, on yet another namespace pair, sends besides what the write rules leave
//!    the operator: per deployment the finalizer (an apply of `metadata.finalizers`), one
//!    SubjectAccessReview, and the Event the operator recorded for it. The operator against
//!    this run is what its own work costs: reading (lists and watches) and deciding.
//!    The operator's time includes its own start (caches filled from lists), so the time
//!    since it became ready is printed too.
//!
//! Everything is deleted at the end, also when a step fails: the finalizers of the test's
//! deployments are lifted with a merge patch (the operator is no longer running then), and
//! the namespaces and the policy are deleted.
//!
//! # Reading the figures
//!
//! The request counts are the API server's, not the operator's: a request of another client
//! in the same window on the same resource is counted too (Leases, the API server's own
//! heartbeats, are left out). Run it when nothing else uses the cluster: other tests share
//! it, and an operator started without `--selector` (as `e2e_restart` starts it) would
//! reconcile this test's deployments as well. The test prints how many other operator
//! processes it sees. CPU of the API server and etcd is read from `/proc` when they run on
//! this machine. The operator's cache holds every pod of the cluster, so memory grows with
//! other tests' pods too; the cluster's pod count is printed beside it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_stand_in::e2e::{MANAGER, cluster, install_crds, lift_finalizers};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use model_compliance_operator::api::{CompliancePolicy, ModelDeployment};
use model_compliance_operator::crdgen;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const POLICY_FIXTURE: &str = include_str!("fixtures/e2e-controller/policy.yaml");
const DEPLOYMENT_FIXTURE: &str = include_str!("fixtures/e2e-controller/modeldeployment.yaml");
/// The operator's `--concurrency`, and the floor's.
const CONCURRENCY: usize = 8;
/// How long a convergence may take (`MCO_E2E_SCALE_BOUND`, seconds, default 1800).
fn converge_bound() -> Duration {
    Duration::from_secs(env_number("MCO_E2E_SCALE_BOUND", 1800) as u64)
}
/// How long after convergence late writes are still counted.
const SETTLE: Duration = Duration::from_secs(10);
/// Label of the test's namespaces, with the run's id.
const NAMESPACE_LABEL: &str = "mco-e2e-scale";
/// Label of the deployments, with the part's name; the operator's `--selector`.
const RUN_LABEL: &str = "e2e-run";
const UID_LABEL: &str = "modelcompliance.io/deployment-uid";
/// Verbs that store something (or, for SubjectAccessReviews, ask the API server to decide).
const WRITES: [&str; 6] = [
    "POST",
    "PUT",
    "PATCH",
    "APPLY",
    "DELETE",
    "DELETECOLLECTION",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// True when the benchmark is asked for; otherwise says plainly that it is skipped, on the
/// process's stderr itself (the harness captures the output of passing tests).
fn scale_asked() -> bool {
    if std::env::var("MCO_E2E_SCALE").as_deref() == Ok("1") {
        return true;
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "at_scale: skipped: set MCO_E2E_SCALE=1, MCO_E2E=1 and a kubeconfig to run the scale benchmark"
    );
    false
}

fn from_json<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("test object deserializes")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------
// Processes: the operator child, and the API server and etcd when they run on this machine.

/// Clock ticks per second of `/proc/<pid>/stat`.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU time (user + system) of a process so far.
fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

/// A `kB` line of `/proc/<pid>/status` (`VmHWM`, `VmRSS`).
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The machine's load averages (1, 5 and 15 minutes), as `/proc/loadavg` says them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Processes of this machine whose command name is `comm`.
fn processes(comm: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .collect()
}

/// CPU of the API server and etcd together, when exactly one of each runs on this machine.
fn control_plane_cpu() -> Option<Duration> {
    let mut total = Duration::ZERO;
    for comm in ["kube-apiserver", "etcd"] {
        let found = processes(comm);
        let [pid] = found.as_slice() else {
            return None;
        };
        total += cpu_of(*pid)?;
    }
    Some(total)
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

fn start_operator(log: &PathBuf, part: &str) -> Operator {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("operator log");
    let log_from = file.metadata().expect("log size").len();
    let http = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args([
            "run",
            "--http-addr",
            &http.to_string(),
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--selector",
            &format!("{RUN_LABEL}={part}"),
        ])
        // Each reconcile is logged at debug level: the test counts them.
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
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn cpu(&self) -> Duration {
        cpu_of(self.pid()).expect("operator CPU readable")
    }

    fn hwm(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:").expect("operator VmHWM readable")
    }

    fn rss(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:").expect("operator VmRSS readable")
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("operator status") {
            panic!(
                "the operator exited: {status} (log: {})",
                self.log.display()
            );
        }
    }

    /// SIGTERM, then the time until the process exited.
    fn stop(mut self) -> Duration {
        let sent = Instant::now();
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(term.success(), "SIGTERM delivered");
        loop {
            if let Some(status) = self.child.try_wait().expect("operator status") {
                assert!(status.success(), "the operator stopped with {status}");
                return sent.elapsed();
            }
            assert!(
                sent.elapsed() < Duration::from_secs(30),
                "the operator did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ready(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) =
            std::net::TcpStream::connect_timeout(&self.http, Duration::from_secs(2))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if write!(
            stream,
            "GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .is_err()
        {
            return false;
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.get(9..12) == Some("200")
    }

    /// Deployments reconciled by this run, from its log: all reconciles and distinct ones.
    fn reconciles(&self) -> (usize, usize) {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let text =
            String::from_utf8_lossy(&text[(self.log_from as usize).min(text.len())..]).into_owned();
        let mut distinct = std::collections::BTreeSet::new();
        let mut all = 0;
        for line in text.lines().filter(|l| l.contains(" reconciled")) {
            all += 1;
            if let Some(at) = line.rfind(" deployment=") {
                let rest = &line[at + " deployment=".len()..];
                distinct.insert(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
        (all, distinct.len())
    }

    /// Waits until `/readyz` answers 200; the time since the start.
    async fn wait_ready(&mut self) -> Duration {
        loop {
            self.assert_running();
            if self.ready() {
                return self.started.elapsed();
            }
            assert!(
                self.started.elapsed() < converge_bound(),
                "not ready within {:?}",
                converge_bound()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The API server's request counts.

/// `(verb, resource[/subresource], code)` → requests answered so far.
type Requests = BTreeMap<(String, String, String), f64>;

fn labels_of(line: &str) -> HashMap<&str, &str> {
    let mut out = HashMap::new();
    let Some(inner) = line
        .split_once('{')
        .and_then(|(_, rest)| rest.rsplit_once('}'))
        .map(|(inner, _)| inner)
    else {
        return out;
    };
    let mut rest = inner;
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some((value, tail)) = after.split_once('"') else {
            break;
        };
        out.insert(key.trim_start_matches(','), value);
        rest = tail;
    }
    out
}

async fn requests(client: &Client) -> Requests {
    let request = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let text = client
        .request_text(request)
        .await
        .expect("API server metrics");
    let mut out = Requests::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let labels = labels_of(line);
        let resource = labels.get("resource").copied().unwrap_or("");
        if resource.is_empty() || resource == "leases" {
            continue;
        }
        let resource = match labels.get("subresource").copied().unwrap_or("") {
            "" => resource.to_owned(),
            sub => format!("{resource}/{sub}"),
        };
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let key = (
            labels.get("verb").copied().unwrap_or("").to_owned(),
            resource,
            labels.get("code").copied().unwrap_or("").to_owned(),
        );
        *out.entry(key).or_default() += value;
    }
    out
}

fn delta(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.5)
        .collect()
}

fn count(requests: &Requests, verb: &str, resource: &str) -> f64 {
    requests
        .iter()
        .filter(|((v, r, _), _)| v == verb && r == resource)
        .map(|(_, n)| n)
        .sum::<f64>()
        + 0.0
}

/// Requests that store something or ask for a decision (SubjectAccessReviews are POSTs).
fn writes(requests: &Requests) -> f64 {
    requests
        .iter()
        .filter(|((v, _, _), _)| WRITES.contains(&v.as_str()))
        .map(|(_, n)| n)
        .sum::<f64>()
        + 0.0
}

// ---------------------------------------------------------------------------------------
// The test's objects.

/// A training and a serve namespace, and the label value of the part's deployments.
struct Part {
    name: String,
    train: String,
    serve: String,
}

impl Part {
    fn new(id: &str, part: &str) -> Self {
        Part {
            name: format!("{id}-{part}"),
            train: format!("{id}-{part}-train"),
            serve: format!("{id}-{part}-serve"),
        }
    }

    fn selector(&self) -> String {
        format!("{RUN_LABEL}={}", self.name)
    }

    fn deployments(&self, client: &Client) -> Api<ModelDeployment> {
        Api::namespaced(client.clone(), &self.serve)
    }

    /// Creates both namespaces and waits for their default service accounts (pods cannot be
    /// created before).
    async fn create_namespaces(&self, client: &Client, id: &str) {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for ns in [&self.train, &self.serve] {
            let object: Namespace = from_json(json!({
                "metadata": {"name": ns, "labels": {NAMESPACE_LABEL: id}}
            }));
            namespaces
                .create(&PostParams::default(), &object)
                .await
                .expect("namespace");
            let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
            let since = Instant::now();
            while accounts.get_opt("default").await.expect("get").is_none() {
                assert!(
                    since.elapsed() < Duration::from_secs(60),
                    "no default service account in {ns}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The deployment `name` of this part, for the policy `policy`.
    fn deployment(&self, name: &str, policy: &str) -> Value {
        let text = DEPLOYMENT_FIXTURE
            .replace("@NAME@", name)
            .replace("@POLICY@", policy)
            .replace("@TRAIN_NS@", &self.train)
            .replace("@SERVE_NS@", &self.serve);
        let mut doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        doc["metadata"]["labels"] = json!({RUN_LABEL: self.name});
        doc
    }

    /// Creates `count` deployments (with `pods_each` server pods each), 32 requests at once;
    /// returns the uid of each by name.
    async fn create_deployments(
        &self,
        client: &Client,
        policy: &str,
        count: usize,
        pods_each: usize,
    ) -> BTreeMap<String, String> {
        let mdeps = self.deployments(client);
        let pods: Api<Pod> = Api::namespaced(client.clone(), &self.serve);
        let apply = PatchParams::apply(MANAGER);
        let created = Instant::now();
        let uids = futures::stream::iter(0..count)
            .map(|i| {
                let (mdeps, apply) = (mdeps.clone(), apply.clone());
                let name = format!("model-{i:04}");
                let doc = self.deployment(&name, policy);
                async move {
                    let stored = mdeps.patch(&name, &apply, &Patch::Apply(&doc)).await?;
                    Ok::<_, kube::Error>((name, stored.uid().unwrap_or_default()))
                }
            })
            .buffer_unordered(32)
            .try_collect::<BTreeMap<_, _>>()
            .await
            .expect("deployments created");
        let server_pods = (0..count).flat_map(|i| {
            (0..pods_each).map(move |replica| {
                let name = format!("model-{i:04}");
                json!({
                    "metadata": {"name": format!("{name}-server-{replica}"),
                                 "labels": {"app.kubernetes.io/name": format!("{name}-server")}},
                    "spec": {"containers": [{"name": "model", "image": "registry.example.com/model:1"}]}
                })
            })
        });
        create_pods(&pods, server_pods).await;
        println!(
            "{}: created {count} ModelDeployments and {} pods in {}",
            self.name,
            count * pods_each,
            secs(created.elapsed())
        );
        uids
    }
}

/// Creates pods, 32 requests at once.
async fn create_pods(pods: &Api<Pod>, objects: impl Iterator<Item = Value>) {
    futures::stream::iter(objects)
        .map(|object| {
            let pods = pods.clone();
            async move {
                let pod: Pod = from_json(object);
                pods.create(&PostParams::default(), &pod).await.map(|_| ())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .expect("pods created");
}

fn converged(d: &ModelDeployment) -> bool {
    d.status.as_ref().is_some_and(|s| {
        s.observed_generation == d.metadata.generation
            && s.conditions.iter().any(|c| c.type_ == "Ready")
    })
}

/// Watches a part's deployments and counts the converged ones.
struct Convergence {
    count: tokio::sync::watch::Receiver<Option<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Convergence {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Convergence {
    /// Starts watching; returns once the initial list is in (before the operator starts, so
    /// that this list is not counted in its window).
    async fn watch(client: &Client, part: &Part) -> Self {
        let api = part.deployments(client);
        let config = watcher::Config::default().labels(&part.selector());
        let (tx, mut rx) = tokio::sync::watch::channel(None);
        let task = tokio::spawn(async move {
            let mut state: HashMap<String, bool> = HashMap::new();
            let mut listed = false;
            let mut events = std::pin::pin!(watcher(api, config).default_backoff());
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) => {
                        state.insert(d.name_any(), converged(&d));
                    }
                    Ok(watcher::Event::Delete(d)) => {
                        state.remove(&d.name_any());
                    }
                    Ok(watcher::Event::InitDone) => listed = true,
                    Ok(watcher::Event::Init) | Err(_) => {}
                }
                if listed {
                    tx.send_replace(Some(state.values().filter(|c| **c).count()));
                }
            }
        });
        while rx.borrow_and_update().is_none() {
            rx.changed().await.expect("watch of the deployments");
        }
        Convergence { count: rx, task }
    }

    /// Waits until `n` deployments are converged; returns the times since the operator
    /// started at which it became ready and everything converged.
    async fn wait(&mut self, operator: &mut Operator, n: usize) -> (Duration, Duration) {
        let mut ready = None;
        let mut progress = Instant::now();
        loop {
            operator.assert_running();
            if progress.elapsed() >= Duration::from_secs(30) {
                progress = Instant::now();
                println!(
                    "  {} s: {} of {n} converged, {} reconciles, operator CPU {:.1} s, VmRSS {}",
                    operator.started.elapsed().as_secs(),
                    self.count.borrow().unwrap_or(0),
                    operator.reconciles().0,
                    operator.cpu().as_secs_f64(),
                    mib(operator.rss())
                );
            }
            if ready.is_none() && operator.ready() {
                ready = Some(operator.started.elapsed());
            }
            let done = self.count.borrow_and_update().unwrap_or(0);
            if done >= n {
                let at = operator.started.elapsed();
                return (ready.unwrap_or(at), at);
            }
            assert!(
                operator.started.elapsed() < converge_bound(),
                "{done} of {n} deployments converged within {:?}",
                converge_bound()
            );
            let _ = tokio::time::timeout(Duration::from_millis(50), self.count.changed()).await;
        }
    }
}

/// Deletes the namespaces labelled with `selector` (their deployments' finalizers lifted)
/// and waits until they are gone.
async fn delete_namespaces(client: &Client, selector: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let params = ListParams::default().labels(selector);
    let Ok(list) = namespaces.list_metadata(&params).await else {
        return;
    };
    for ns in &list.items {
        lift_finalizers(client, &ns.name_any()).await;
        let _ = namespaces
            .delete(&ns.name_any(), &DeleteParams::default())
            .await;
    }
    let since = Instant::now();
    while namespaces
        .list_metadata(&params)
        .await
        .is_ok_and(|l| !l.items.is_empty())
    {
        if since.elapsed() > Duration::from_secs(600) {
            println!("namespaces {selector} not gone after 10 minutes; left to the cluster");
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Label the benchmark puts on the admission policies it installs, with the run's id.
const POLICY_LABEL: &str = "mco-e2e-scale-policy";

/// The chart's finalizer admission policy, rendered by helm as for an installation watching
/// the part's serve namespace, and applied: the operator then finds the finalizer on the
/// deployments it is given, as it does once installed by the chart. `false`, said, without
/// helm (`HELM` or on `PATH`) or on a cluster that does not serve the API.
async fn install_finalizer_policy(client: &Client, id: &str, part: &Part) -> bool {
    let Some(helm) = api_stand_in::e2e::tool("HELM", "helm") else {
        println!("finalizer admission policy: not installed (no helm: set HELM)");
        return false;
    };
    let served = client
        .list_api_group_resources("admissionregistration.k8s.io/v1")
        .await
        .is_ok_and(|l| {
            l.resources
                .iter()
                .any(|r| r.name == "mutatingadmissionpolicies")
        });
    if !served {
        println!("finalizer admission policy: not installed (the cluster does not serve the API)");
        return false;
    }
    let out = Command::new(&helm)
        .args([
            "template",
            &part.name,
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/charts/model-compliance-operator"
            ),
            "--show-only",
            "templates/finalizer-admission-policy.yaml",
            "--api-versions",
            "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy",
            "--set",
            &format!("operator.watchNamespace={}", part.serve),
        ])
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let documents: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("a YAML document"))
        .filter(|object| !object.is_null())
        .collect();
    for mut object in documents {
        object["metadata"]["labels"][POLICY_LABEL] = json!(id);
        let resource = admission_resource(object["kind"].as_str().unwrap_or_default());
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(&object))
            .await
            .expect("admission policy applied");
    }
    // The API server enforces a new policy within seconds: a dry run shows when.
    let probe: ModelDeployment = from_json(part.deployment("probe", id));
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let since = Instant::now();
    loop {
        let created = part
            .deployments(client)
            .create(&dry, &probe)
            .await
            .expect("dry run");
        if !created.finalizers().is_empty() {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the finalizer policy never took effect"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "finalizer admission policy: installed for {} in {}",
        part.serve,
        secs(since.elapsed())
    );
    true
}

/// The API resource of a MutatingAdmissionPolicy or of its binding.
fn admission_resource(kind: &str) -> ApiResource {
    let plural = match kind {
        "MutatingAdmissionPolicy" => "mutatingadmissionpolicies",
        "MutatingAdmissionPolicyBinding" => "mutatingadmissionpolicybindings",
        other => panic!("not an admission policy kind: {other}"),
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind),
        plural,
    )
}

/// Deletes the admission policies of the run `id`.
async fn delete_finalizer_policies(client: &Client, id: &str) {
    for kind in ["MutatingAdmissionPolicyBinding", "MutatingAdmissionPolicy"] {
        let resource = admission_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let _ = api
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels(&format!("{POLICY_LABEL}={id}")),
            )
            .await;
    }
}

async fn clean_up(client: &Client, id: &str) {
    let since = Instant::now();
    delete_finalizer_policies(client, id).await;
    delete_namespaces(client, &format!("{NAMESPACE_LABEL}={id}")).await;
    let policies: Api<CompliancePolicy> = Api::all(client.clone());
    let _ = policies.delete(id, &DeleteParams::default()).await;
    println!("cleaned up in {}", secs(since.elapsed()));
}

// ---------------------------------------------------------------------------------------
// The objects the operator wrote, captured for the floor.

/// An object as its writer sends it: name, namespace, labels, annotations, owner
/// references and body.
fn as_sent<K: serde::Serialize>(object: &K) -> Value {
    let mut v = serde_json::to_value(object).expect("object serializes");
    let meta = v["metadata"].take();
    let mut kept = serde_json::Map::new();
    for key in [
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
    ] {
        if let Some(x) = meta.get(key) {
            kept.insert(key.into(), x.clone());
        }
    }
    v["metadata"] = Value::Object(kept);
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

/// The kinds the operator may own, in the order it applies them: `(group, version, kind)`.
const OWNED_KINDS: [(&str, &str, &str); 7] = [
    ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "v1", "Role"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
    ("", "v1", "Secret"),
    ("snapshot.storage.k8s.io", "v1", "VolumeSnapshot"),
    ("", "v1", "PersistentVolumeClaim"),
    ("velero.io", "v1", "Schedule"),
];

fn resource_of(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// The objects the operator owns in `namespaces`, by owner uid, as sent, in the order it
/// applies them. A kind the cluster does not serve is passed over.
async fn owned(client: &Client, namespaces: &[&str]) -> HashMap<String, Vec<Value>> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for (group, version, kind) in OWNED_KINDS {
        let resource = resource_of(group, version, kind);
        for ns in namespaces {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
            let Ok(list) = api.list(&ListParams::default().labels(UID_LABEL)).await else {
                continue;
            };
            for o in list.items {
                let uid = o.labels().get(UID_LABEL).cloned().unwrap_or_default();
                let mut sent = as_sent(&o);
                sent["apiVersion"] = json!(resource.api_version);
                sent["kind"] = json!(kind);
                out.entry(uid).or_default().push(sent);
            }
        }
    }
    out
}

/// What one deployment's writes are: its objects and its status, and its uid.
struct Captured {
    uid: String,
    objects: Vec<Value>,
    status: Value,
}

// ---------------------------------------------------------------------------------------
// The benchmark.

/// Measures of one convergence.
struct Converged {
    ready: Duration,
    all: Duration,
    cpu: Duration,
    hwm: u64,
    control_plane: Option<Duration>,
    at_convergence: Requests,
    settled: Requests,
    reconciles: usize,
    reconciles_settled: usize,
    /// The machine's load averages when the operator started.
    load: String,
}

/// Starts an operator for `part` and waits until its `n` deployments converged.
async fn converge(client: &Client, part: &Part, n: usize, log: &PathBuf) -> (Operator, Converged) {
    let mut watch = Convergence::watch(client, part).await;
    let others = processes("model-complianc").len();
    if others > 0 {
        println!("note: {others} other operator process(es) run on this machine");
    }
    let load = load_average();
    println!("{}: load average {load}", part.name);
    let before = requests(client).await;
    let control_before = control_plane_cpu();
    let mut operator = start_operator(log, &part.name);
    let (ready, all) = watch.wait(&mut operator, n).await;
    let cpu = operator.cpu();
    let hwm = operator.hwm();
    let control_plane = control_plane_cpu()
        .zip(control_before)
        .map(|(after, before)| after.saturating_sub(before));
    let at_convergence = delta(&requests(client).await, &before);
    let reconciles = operator.reconciles().0;
    tokio::time::sleep(SETTLE).await;
    let settled = delta(&requests(client).await, &before);
    let reconciles_settled = operator.reconciles().0;
    println!(
        "{}: {n} converged {} after the start (ready after {}); operator CPU {:.2} s, VmHWM {}; {reconciles} reconciles ({reconciles_settled} {} s later)",
        part.name,
        secs(all),
        secs(ready),
        cpu.as_secs_f64(),
        mib(hwm),
        SETTLE.as_secs(),
    );
    (
        operator,
        Converged {
            ready,
            all,
            cpu,
            hwm,
            control_plane,
            at_convergence,
            settled,
            reconciles,
            reconciles_settled,
            load,
        },
    )
}

/// Waits until the operator has not reconciled for 5 s and is idle; returns when it last
/// was not.
async fn wait_quiet(operator: &mut Operator) -> Instant {
    let since = Instant::now();
    let (mut last, mut last_cpu) = (operator.reconciles().0, operator.cpu());
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        operator.assert_running();
        let (now, cpu) = (operator.reconciles().0, operator.cpu());
        if now != last || cpu - last_cpu > Duration::from_millis(50) {
            quiet_since = Instant::now();
        }
        (last, last_cpu) = (now, cpu);
        if quiet_since.elapsed() >= Duration::from_secs(5) {
            return quiet_since;
        }
        assert!(
            since.elapsed() < converge_bound(),
            "the operator did not become quiet"
        );
    }
}

async fn cluster_pods(client: &Client) -> usize {
    let pods: Api<Pod> = Api::all(client.clone());
    let mut total = 0;
    let mut params = ListParams::default().limit(500);
    loop {
        let page = pods.list_metadata(&params).await.expect("pods");
        total += page.items.len();
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return total,
        }
    }
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

/// The rows of the final table.
#[derive(Default)]
struct Table(Vec<(String, String)>);

impl Table {
    fn row(&mut self, figure: impl Into<String>, value: impl Into<String>) {
        self.0.push((figure.into(), value.into()));
    }

    fn render(&self) -> String {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::ASCII_MARKDOWN);
        table.set_header(vec!["figure", "measured"]);
        for (figure, value) in &self.0 {
            table.add_row(vec![figure.as_str(), value.as_str()]);
        }
        table.to_string()
    }
}

async fn benchmark(client: Client, id: String) -> String {
    let small = env_number("MCO_E2E_SCALE_SMALL", 200);
    let n = env_number("MCO_E2E_SCALE_DEPLOYMENTS", 1000);
    let all_pods = env_number("MCO_E2E_SCALE_PODS", 10_000).max(2 * n);
    let log = std::env::temp_dir().join(format!("{id}.log"));
    println!("operator log: {}", log.display());
    let mut table = Table::default();

    let policy: Value = serde_yaml_ng::from_str(&POLICY_FIXTURE.replace("@POLICY@", &id)).unwrap();
    let policies: Api<CompliancePolicy> = Api::all(client.clone());
    policies
        .patch(&id, &PatchParams::apply(MANAGER), &Patch::Apply(&policy))
        .await
        .expect("policy");

    // 1. The small size, from a cold start.
    let part = Part::new(&id, &format!("n{small}"));
    part.create_namespaces(&client, &id).await;
    install_finalizer_policy(&client, &id, &part).await;
    part.create_deployments(&client, &id, small, 2).await;
    let (operator, at_small) = converge(&client, &part, small, &log).await;
    operator.stop();
    delete_namespaces(
        &client,
        &format!(
            "kubernetes.io/metadata.name in ({},{})",
            part.train, part.serve
        ),
    )
    .await;

    // 2. N, from a cold start.
    let large = Part::new(&id, &format!("n{n}"));
    large.create_namespaces(&client, &id).await;
    let admitted = install_finalizer_policy(&client, &id, &large).await;
    large.create_deployments(&client, &id, n, 2).await;
    let pods_at_start = cluster_pods(&client).await;
    let (mut operator, at_n) = converge(&client, &large, n, &log).await;
    let statuses = large
        .deployments(&client)
        .list(&ListParams::default().labels(&large.selector()))
        .await
        .expect("deployments");
    let sizes: Vec<usize> = statuses
        .items
        .iter()
        .map(|d| serde_json::to_vec(&d.status).unwrap().len())
        .collect();
    let conditions = median(
        statuses
            .items
            .iter()
            .map(|d| d.status.as_ref().map_or(0, |s| s.conditions.len()))
            .collect(),
    );
    // The writes of the floor: the objects and the status of every deployment.
    let mut by_uid = owned(&client, &[large.train.as_str(), large.serve.as_str()]).await;
    let captured: BTreeMap<String, Captured> = statuses
        .items
        .iter()
        .map(|d| {
            let uid = d.uid().unwrap();
            let objects = by_uid.remove(&uid).unwrap_or_default();
            let status = serde_json::to_value(&d.status).unwrap();
            (
                d.name_any(),
                Captured {
                    uid,
                    objects,
                    status,
                },
            )
        })
        .collect();
    drop(statuses);
    let mut kinds_captured: BTreeMap<String, usize> = BTreeMap::new();
    for c in captured.values() {
        for o in &c.objects {
            *kinds_captured
                .entry(o["kind"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }

    // Unrelated pods in the serve namespace: they match no selector of any deployment.
    let extra = all_pods.saturating_sub(2 * n);
    let (reconciles_before, cpu_before) = (operator.reconciles().0, operator.cpu());
    let requests_before = requests(&client).await;
    let churn_started = Instant::now();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &large.serve);
    create_pods(
        &pods,
        (0..extra).map(|k| {
            json!({
                "metadata": {"name": format!("other-{k:05}"),
                             "labels": {"app.kubernetes.io/name": format!("other-{}", k / 10),
                                        "app.kubernetes.io/component": "web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "registry.example.com/web:1",
                    "ports": [{"containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}
                }]}
            })
        }),
    )
    .await;
    let created_in = churn_started.elapsed();
    let churn_busy = wait_quiet(&mut operator).await - churn_started;
    let churn_reconciles = operator.reconciles().0 - reconciles_before;
    let churn_cpu = operator.cpu() - cpu_before;
    let churn_requests = delta(&requests(&client).await, &requests_before);
    let churn_status_writes = count(&churn_requests, "APPLY", "modeldeployments/status")
        + count(&churn_requests, "PATCH", "modeldeployments/status");
    let pods_steady = cluster_pods(&client).await;
    let (hwm_steady, rss_steady) = (operator.hwm(), operator.rss());
    println!(
        "{extra} unrelated pods created in {}, reconciling until {} after the first: {churn_reconciles} reconciles, {churn_status_writes} status writes, operator CPU {:.2} s; VmHWM {}, VmRSS {}",
        secs(created_in),
        secs(churn_busy),
        churn_cpu.as_secs_f64(),
        mib(hwm_steady),
        mib(rss_steady)
    );

    // The restart with every pod.
    let stopped_in = operator.stop();
    let before = requests(&client).await;
    let mut operator = start_operator(&log, &large.name);
    let ready_after_restart = operator.wait_ready().await;
    loop {
        operator.assert_running();
        if operator.reconciles().1 >= n {
            break;
        }
        assert!(
            operator.started.elapsed() < converge_bound(),
            "{} of {n} reconciled after the restart",
            operator.reconciles().1
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let restart_reconciled = operator.started.elapsed();
    let restart_cpu = operator.cpu();
    tokio::time::sleep(SETTLE).await;
    let restart_hwm = operator.hwm();
    let restart_requests = delta(&requests(&client).await, &before);
    println!(
        "restart: stopped in {}, ready in {}, {n} reconciled in {}; CPU {:.2} s; VmHWM {}",
        secs(stopped_in),
        secs(ready_after_restart),
        secs(restart_reconciled),
        restart_cpu.as_secs_f64(),
        mib(restart_hwm)
    );
    operator.stop();

    // 3. The floor: the same writes by a bare client, on fresh deployments; then, on others,
    // the same with the requests the write rules leave the operator besides: the finalizer,
    // one Event and one access review per deployment.
    let floor = run_floor(&client, &id, "floor", &large, &captured, false).await;
    let floor_plus = run_floor(&client, &id, "floorplus", &large, &captured, true).await;
    let (floor_time, floor_control_plane, floor_requests) =
        (floor.time, floor.control_plane, &floor.requests);

    // The table.
    let per = |d: Duration, n: usize| format!("{:.1} ms", d.as_secs_f64() * 1000.0 / n as f64);
    let nf = n as f64;
    table.row(
        format!("converge {n} ModelDeployments (operator start → all converged)"),
        format!(
            "{} (ready after {}; {} from ready to converged)",
            secs(at_n.all),
            secs(at_n.ready),
            secs(at_n.all - at_n.ready)
        ),
    );
    table.row(
        format!("floor: {n} × (owned objects + 1 status) by SSA, concurrency {CONCURRENCY}"),
        format!(
            "{} ({:.2} requests per deployment); operator/floor = {:.2}× from start, {:.2}× from ready",
            secs(floor_time),
            writes(floor_requests) / nf,
            at_n.all.as_secs_f64() / floor_time.as_secs_f64(),
            (at_n.all - at_n.ready).as_secs_f64() / floor_time.as_secs_f64(),
        ),
    );
    table.row(
        "floor + the required extras: the same, plus per deployment the finalizer apply, its Event as the operator wrote it and 1 SubjectAccessReview",
        format!(
            "{} ({:.2} requests per deployment); operator/this = {:.2}× from start, {:.2}× from ready",
            secs(floor_plus.time),
            writes(&floor_plus.requests) / nf,
            at_n.all.as_secs_f64() / floor_plus.time.as_secs_f64(),
            (at_n.all - at_n.ready).as_secs_f64() / floor_plus.time.as_secs_f64(),
        ),
    );
    table.row(
        "load average (1, 5, 15 min) at the operator's start, N / small",
        format!("{} / {}", at_n.load, at_small.load),
    );
    table.row(
        format!("converge {small} ModelDeployments (separate cold start)"),
        format!(
            "{} (ready after {})",
            secs(at_small.all),
            secs(at_small.ready)
        ),
    );
    for (label, at, count) in [("N", &at_n, n), ("small", &at_small, small)] {
        let cf = count as f64;
        table.row(
            format!("writes + reviews per deployment at convergence, {label}={count}"),
            format!(
                "{:.2} ({:.2} {} s later); status applies {:.2}/deployment; reconciles {:.2}/deployment ({:.2} later)",
                writes(&at.at_convergence) / cf,
                writes(&at.settled) / cf,
                SETTLE.as_secs(),
                count_status(&at.at_convergence) / cf,
                at.reconciles as f64 / cf,
                at.reconciles_settled as f64 / cf,
            ),
        );
    }
    table.row(
        format!("extra status writes at N={n} (beyond 1 per deployment)"),
        format!(
            "{:.0} at convergence, {:.0} {} s later",
            count_status(&at_n.at_convergence) - nf,
            count_status(&at_n.settled) - nf,
            SETTLE.as_secs()
        ),
    );
    let watches: f64 = at_n
        .at_convergence
        .iter()
        .filter(|((verb, _, _), _)| verb == "WATCH")
        .map(|(_, n)| n)
        .sum();
    table.row(
        "  WATCH requests ended in the window (any client's, mostly not the operator's)",
        format!("{watches:.0} in all"),
    );
    for ((verb, resource, code), total) in &at_n.settled {
        if verb == "WATCH" {
            continue;
        }
        let at_convergence = at_n
            .at_convergence
            .get(&(verb.clone(), resource.clone(), code.clone()))
            .copied()
            .unwrap_or(0.0);
        table.row(
            format!("  requests/deployment {verb} {resource} {code}"),
            format!(
                "{:.3} at convergence ({at_convergence:.0} in all); {:.3} {} s later",
                at_convergence / nf,
                total / nf,
                SETTLE.as_secs()
            ),
        );
    }
    let mut sorted = sizes.clone();
    sorted.sort();
    table.row(
        format!("status bytes (JSON of .status), N={n}"),
        format!(
            "min {} / median {} / max {}; median {conditions} conditions",
            sorted[0],
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1]
        ),
    );
    table.row(
        "finalizer added by",
        if admitted {
            "the chart's admission policy, as the deployments are created"
        } else {
            "the operator (no admission policy)"
        },
    );
    table.row(
        "owned objects per deployment (captured for the floor)",
        kinds_captured
            .iter()
            .map(|(kind, count)| format!("{kind} {:.2}", *count as f64 / nf))
            .collect::<Vec<_>>()
            .join(", "),
    );
    table.row(
        format!("operator CPU per deployment at convergence, N={small} (2 pods each)"),
        per(at_small.cpu, small),
    );
    table.row(
        format!("operator CPU per deployment at convergence, N={n} ({pods_at_start} pods in the cluster)"),
        per(at_n.cpu, n),
    );
    table.row(
        format!(
            "operator CPU per deployment at restart, N={n} ({pods_steady} pods in the cluster)"
        ),
        format!(
            "{} (ready after {}, all reconciled after {})",
            per(restart_cpu, n),
            secs(ready_after_restart),
            secs(restart_reconciled)
        ),
    );
    if let (Some(op), Some(fl), Some(plus)) = (
        at_n.control_plane,
        floor_control_plane,
        floor_plus.control_plane,
    ) {
        table.row(
            format!("API server + etcd CPU per deployment, N={n}"),
            format!(
                "{} during the operator's convergence, {} during the floor, {} with the extras",
                per(op, n),
                per(fl, n),
                per(plus, n)
            ),
        );
    }
    table.row(
        format!("unrelated pod churn ({extra} pods created in the serve namespace)"),
        format!(
            "created in {}; reconciling until {} after the first; {churn_reconciles} reconciles, {churn_status_writes:.0} status writes, {:.0} writes in all (pods included), operator CPU {:.2} s",
            secs(created_in),
            secs(churn_busy),
            writes(&churn_requests),
            churn_cpu.as_secs_f64()
        ),
    );
    table.row(
        format!("restart at N={n}: writes"),
        format!(
            "{:.0} status, {:.0} in all (SubjectAccessReviews {:.0})",
            count_status(&restart_requests),
            writes(&restart_requests),
            count(&restart_requests, "POST", "subjectaccessreviews")
        ),
    );
    table.row(
        format!("operator VmHWM at convergence, N={small}"),
        mib(at_small.hwm),
    );
    table.row(
        format!("operator VmHWM at convergence, N={n} ({pods_at_start} pods)"),
        mib(at_n.hwm),
    );
    table.row(
        format!("operator VmHWM steady, N={n} + {pods_steady} pods"),
        format!("{} (VmRSS {})", mib(hwm_steady), mib(rss_steady)),
    );
    table.row(
        format!("operator VmHWM after a restart, N={n} + {pods_steady} pods"),
        mib(restart_hwm),
    );
    let _ = std::fs::remove_file(&log);
    table.render()
}

/// One run of the floor.
struct Floor {
    time: Duration,
    control_plane: Option<Duration>,
    requests: Requests,
}

/// Creates `n` fresh deployments in a namespace pair of the part `part` (no operator serves
/// them) and sends, timed, what the operator wrote for the deployments of `large` (`captured`),
/// rewritten for them, at the operator's concurrency: for each deployment one server-side
/// apply of each object, then one of its status. With `extras`, also what the write rules
/// leave the operator besides, in its order: first the finalizer (an apply of
/// `metadata.finalizers`), a SubjectAccessReview before the status (the operator's question:
/// may the serving account read the first training volume), and after it one Event, as the
/// operator recorded it for the deployment of `large`.
async fn run_floor(
    client: &Client,
    id: &str,
    part: &str,
    large: &Part,
    captured: &BTreeMap<String, Captured>,
    extras: bool,
) -> Floor {
    let n = captured.len();
    let floor = Part::new(id, part);
    floor.create_namespaces(client, id).await;
    let uids = floor.create_deployments(client, id, n, 0).await;
    let rewrite = |v: &Value, old_uid: &str, new_uid: &str| -> Value {
        let text = serde_json::to_string(v)
            .unwrap()
            .replace(&large.train, &floor.train)
            .replace(&large.serve, &floor.serve)
            .replace(old_uid, new_uid);
        serde_json::from_str(&text).unwrap()
    };
    let events: Api<Event> = Api::namespaced(client.clone(), &large.serve);
    let mut event_of: HashMap<String, Value> = HashMap::new();
    if extras {
        for e in events
            .list(&ListParams::default())
            .await
            .expect("events")
            .items
        {
            let Some(uid) = e.regarding.as_ref().and_then(|r| r.uid.clone()) else {
                continue;
            };
            let mut sent = as_sent(&e);
            if let Some(o) = sent.as_object_mut() {
                o.retain(|key, _| !key.starts_with("deprecated"));
            }
            event_of.entry(uid).or_insert(sent);
        }
    }
    let work: Vec<FloorWork> = captured
        .iter()
        .map(|(name, c)| {
            let old = &c.uid;
            let new = &uids[name];
            let objects = c.objects.iter().map(|o| rewrite(o, old, new)).collect();
            let status = json!({
                "apiVersion": ModelDeployment::api_version(&()),
                "kind": ModelDeployment::kind(&()),
                "status": rewrite(&c.status, old, new),
            });
            let claim = floor.deployment(name, id)["spec"]["training"]["dataVolumes"][0]
                .as_str()
                .unwrap_or("data")
                .to_owned();
            let review = extras.then(|| {
                json!({
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {
                        "user": format!("system:serviceaccount:{}:default", floor.serve),
                        "groups": ["system:serviceaccounts",
                                   format!("system:serviceaccounts:{}", floor.serve),
                                   "system:authenticated"],
                        "resourceAttributes": {"namespace": floor.train, "verb": "get",
                                               "resource": "persistentvolumeclaims", "name": claim}
                    }
                })
            });
            let event = event_of.get(old).map(|e| rewrite(e, old, new));
            assert!(!extras || event.is_some(), "no Event recorded for {name}");
            FloorWork {
                name: name.clone(),
                objects,
                status,
                review,
                event,
            }
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = requests(client).await;
    let control_before = control_plane_cpu();
    let started = Instant::now();
    let params = PatchParams::apply("mco-floor").force();
    let reviews = resource_of("authorization.k8s.io", "v1", "SubjectAccessReview");
    futures::stream::iter(work)
        .map(|w| {
            let (client, params) = (client.clone(), params.clone());
            let mdeps = floor.deployments(&client);
            let events: Api<Event> = Api::namespaced(client.clone(), &floor.serve);
            let reviews: Api<DynamicObject> = Api::all_with(client.clone(), &reviews);
            async move {
                if extras {
                    let finalizer = json!({
                        "apiVersion": ModelDeployment::api_version(&()),
                        "kind": ModelDeployment::kind(&()),
                        "metadata": {"name": w.name, "finalizers": ["modelcompliance.io/cleanup"]}
                    });
                    mdeps
                        .patch(&w.name, &params, &Patch::Apply(&finalizer))
                        .await?;
                }
                for object in w.objects {
                    let (group, version) = object["apiVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .rsplit_once('/')
                        .unwrap_or(("", object["apiVersion"].as_str().unwrap_or_default()));
                    let kind = object["kind"].as_str().unwrap_or_default();
                    let resource = resource_of(group, version, kind);
                    let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
                    let api: Api<DynamicObject> =
                        Api::namespaced_with(client.clone(), ns, &resource);
                    let name = object["metadata"]["name"].as_str().unwrap_or_default();
                    api.patch(name, &params, &Patch::Apply(&object)).await?;
                }
                if let Some(review) = w.review {
                    let review: DynamicObject = from_json(review);
                    reviews.create(&PostParams::default(), &review).await?;
                }
                mdeps
                    .patch_status(&w.name, &params, &Patch::Apply(&w.status))
                    .await?;
                if let Some(event) = w.event {
                    let event: Event = from_json(event);
                    events.create(&PostParams::default(), &event).await?;
                }
                Ok::<_, kube::Error>(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .expect("the floor's applies");
    let time = started.elapsed();
    let control_plane = control_plane_cpu()
        .zip(control_before)
        .map(|(after, before)| after.saturating_sub(before));
    let requests = delta(&requests(client).await, &before);
    let floored = floor
        .deployments(client)
        .list(&ListParams::default().labels(&floor.selector()))
        .await
        .expect("floor deployments")
        .items
        .iter()
        .filter(|d| converged(d))
        .count();
    assert_eq!(floored, n, "the floor's deployments carry their status");
    println!("{part}: {n} deployments' writes sent in {}", secs(time));
    Floor {
        time,
        control_plane,
        requests,
    }
}

/// What the floor sends for one deployment.
struct FloorWork {
    name: String,
    objects: Vec<Value>,
    status: Value,
    review: Option<Value>,
    event: Option<Value>,
}

/// Status writes of any verb.
fn count_status(requests: &Requests) -> f64 {
    ["APPLY", "PATCH", "PUT"]
        .iter()
        .map(|v| count(requests, v, "modeldeployments/status"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_scale() {
    if !scale_asked() {
        return;
    }
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let id = format!("mco-e2e-scale-{}", std::process::id());
    // The benchmark runs as a task so that a failure still reaches the cleanup.
    let outcome = tokio::spawn(benchmark(client.clone(), id.clone())).await;
    clean_up(&client, &id).await;
    match outcome {
        Ok(table) => println!("\n{table}"),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the benchmark did not finish: {e}"),
        },
    }
}
