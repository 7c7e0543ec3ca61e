//! The Helm chart in `charts/model-compliance-operator`, rendered by the real `helm` (found
//! through the `HELM` environment variable, else on `PATH`; CI installs it and sets `HELM`).
//! Without helm every test says plainly that it is skipped.
//!
//! The last test installs the chart on a real API server when `MCO_E2E=1` and a kubeconfig
//! are present, and otherwise prints `skipped: no cluster`:
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig HELM=/path/to/helm cargo test --test chart -- --nocapture
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use model_compliance_operator::catalog::defaults::SIDECAR_IMAGE;
use model_compliance_operator::cli::Cli;
use model_compliance_operator::crdgen;
use serde::Deserialize;
use serde_json::{Value, json};

const CHART: &str = "charts/model-compliance-operator";
const NAMESPACE: &str = "mco-system";
const RELEASE: &str = "mco";
/// The prefix of the objects' names for the release `mco`.
const FULLNAME: &str = "mco-model-compliance-operator";

/// Says on the process's stderr (the harness captures `println!`) that a test is skipped.
fn skipped(why: &str) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(std::io::stderr().lock(), "{name}: skipped: {why}");
}

/// The helm binary: `HELM` (which must then exist), else `helm` on `PATH`.
fn helm() -> Option<PathBuf> {
    let found = api_stand_in::e2e::tool("HELM", "helm");
    if found.is_none() {
        skipped("helm not found (set HELM or put helm on PATH)");
    }
    found
}

/// The cluster of the end-to-end suite, with the CRDs installed, and helm; `None` (said)
/// without either.
async fn real_cluster() -> Option<(kube::Client, PathBuf)> {
    let client = api_stand_in::e2e::cluster().await?;
    let helm = helm()?;
    // The other end-to-end tests share the cluster and install the CRDs under their own field
    // manager: with the same content, helm's apply of them does not conflict with theirs.
    api_stand_in::e2e::install_crds(&client, crdgen::crds()).await;
    Some((client, helm))
}

/// A values file for one rendering, removed afterwards.
struct ValuesFile(PathBuf);

impl ValuesFile {
    fn new(yaml: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "mco-chart-values-{}-{}.yaml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, yaml).expect("values file written");
        ValuesFile(path)
    }
}

impl Drop for ValuesFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs helm; `Ok(stdout)` when it succeeds, `Err(stderr)` when it fails.
fn run(helm: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(helm).args(args).output().expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("helm prints UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `helm template` of the chart with `values` (YAML) and extra arguments: the objects.
fn template(helm: &Path, values: &str, extra: &[&str]) -> Result<Vec<Value>, String> {
    let file = ValuesFile::new(values);
    let path = file.0.to_str().unwrap();
    let mut args = vec![
        "template",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "--values",
        path,
    ];
    args.extend_from_slice(extra);
    let out = run(helm, &args)?;
    Ok(documents(&out))
}

fn rendered(helm: &Path, values: &str) -> Vec<Value> {
    template(helm, values, &[]).unwrap_or_else(|e| panic!("helm template failed:\n{e}"))
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("helm renders YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kind_and_name(o: &Value) -> (String, String) {
    (
        o["kind"].as_str().unwrap().to_owned(),
        o["metadata"]["name"].as_str().unwrap().to_owned(),
    )
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn get<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    find(objects, kind, name).unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn operator_args(objects: &[Value]) -> Vec<String> {
    let deployment = get(objects, "Deployment", FULLNAME);
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().expect("args are strings").to_owned())
        .collect()
}

/// The value following `flag` in `args`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .map(|i| args[i + 1].as_str())
}

#[test]
fn default_values_render_the_expected_objects() {
    let Some(helm) = helm() else { return };
    let objects = rendered(&helm, "");
    let got: BTreeSet<(String, String)> = objects.iter().map(kind_and_name).collect();
    let want: BTreeSet<(String, String)> = [
        ("ServiceAccount", FULLNAME.to_owned()),
        ("ClusterRole", FULLNAME.to_owned()),
        ("ClusterRoleBinding", FULLNAME.to_owned()),
        ("Role", format!("{FULLNAME}-leader-election")),
        ("RoleBinding", format!("{FULLNAME}-leader-election")),
        ("ClusterRole", format!("{FULLNAME}-reader")),
        ("ClusterRole", format!("{FULLNAME}-deployer")),
        ("ClusterRole", format!("{FULLNAME}-attester")),
        ("ClusterRole", format!("{FULLNAME}-compliance-officer")),
        ("ClusterRole", format!("{FULLNAME}-platform-engineer")),
        ("Service", format!("{FULLNAME}-metrics")),
        ("Deployment", FULLNAME.to_owned()),
        ("PodDisruptionBudget", FULLNAME.to_owned()),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(got, want);
    assert_eq!(objects.len(), want.len(), "an object is rendered twice");

    // Namespaced objects go to the release namespace; cluster-scoped ones carry none.
    for o in &objects {
        let namespaced = !matches!(
            o["kind"].as_str(),
            Some("ClusterRole" | "ClusterRoleBinding")
        );
        assert_eq!(
            o["metadata"]["namespace"].as_str() == Some(NAMESPACE),
            namespaced,
            "{:?}",
            kind_and_name(o)
        );
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/instance"],
            RELEASE,
            "{:?}",
            kind_and_name(o)
        );
    }

    let deployment = get(&objects, "Deployment", FULLNAME);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], FULLNAME);
    assert_eq!(
        pod["containers"][0]["image"],
        "ghcr.io/model-compliance-operator/model-compliance-operator:0.1.0"
    );
    let pdb = get(&objects, "PodDisruptionBudget", FULLNAME);
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn every_container_is_hardened() {
    let Some(helm) = helm() else { return };
    // Every option that adds to the pods must keep them hardened.
    let values = "podLabels: {team: platform}\npodAnnotations: {a: b}\n\
                  nodeSelector: {pool: system}\npriorityClassName: system-cluster-critical\n\
                  imagePullSecrets: [{name: registry}]\n";
    for values in ["", values] {
        let objects = rendered(&helm, values);
        let pods: Vec<&Value> = objects
            .iter()
            .filter_map(|o| o.pointer("/spec/template/spec"))
            .collect();
        assert_eq!(pods.len(), 1, "one pod template: the operator's");
        for pod in pods {
            let sc = &pod["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true);
            assert_eq!(sc["runAsUser"], 65532);
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
            let containers = pod["containers"]
                .as_array()
                .into_iter()
                .chain(pod["initContainers"].as_array())
                .flatten();
            for c in containers {
                let name = &c["name"];
                let sc = &c["securityContext"];
                assert_eq!(sc["runAsNonRoot"], true, "{name}");
                assert_eq!(sc["runAsUser"], 65532, "{name}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{name}");
                assert!(sc["capabilities"]["add"].is_null(), "{name}");
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
                assert_eq!(c["resources"]["limits"]["memory"], "256Mi", "{name}");
                assert!(c["resources"]["requests"]["cpu"].is_string(), "{name}");
                assert!(c["resources"]["requests"]["memory"].is_string(), "{name}");
                assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{name}");
                assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{name}");
                let port = &c["ports"][0];
                assert_eq!(
                    (&port["name"], &port["containerPort"]),
                    (&json!("http-metrics"), &json!(8080))
                );
                assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http-metrics");
                assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http-metrics");
            }
        }
    }
}

#[test]
fn operator_arguments_follow_the_values() {
    let Some(helm) = helm() else { return };
    let objects = rendered(&helm, "");
    let args = operator_args(&objects);
    assert_eq!(
        &args[..4],
        ["run", "--json-logs", "--http-addr", "0.0.0.0:8080"]
    );
    assert_eq!(flag_value(&args, "--concurrency"), Some("8"));
    assert_eq!(flag_value(&args, "--cache-sync-timeout"), Some("5m"));
    assert_eq!(flag_value(&args, "--shutdown-timeout"), Some("5s"));
    assert!(args.contains(&"--leader-elect".to_owned()));
    assert_eq!(flag_value(&args, "--lease-name"), Some(FULLNAME));
    assert!(!args.contains(&"--namespace".to_owned()));
    assert!(!args.contains(&"--selector".to_owned()));
    let env =
        &get(&objects, "Deployment", FULLNAME)["spec"]["template"]["spec"]["containers"][0]["env"];
    let field = |name: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["valueFrom"]["fieldRef"]["fieldPath"].clone())
    };
    assert_eq!(field("POD_NAME"), Some(json!("metadata.name")));
    assert_eq!(field("POD_NAMESPACE"), Some(json!("metadata.namespace")));

    // The Lease lives in the release namespace: a Role there, with nothing more than it needs.
    let role = get(&objects, "Role", &format!("{FULLNAME}-leader-election"));
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}])
    );
    let binding = get(
        &objects,
        "RoleBinding",
        &format!("{FULLNAME}-leader-election"),
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}])
    );

    let objects = rendered(
        &helm,
        "replicaCount: 1\noperator:\n  concurrency: 3\n  watchNamespace: team-a\n  \
         selector: \"team=chat,tier!=dev\"\n  leaderElection: false\n  logLevel: debug\n",
    );
    let args = operator_args(&objects);
    assert_eq!(flag_value(&args, "--concurrency"), Some("3"));
    assert_eq!(flag_value(&args, "--namespace"), Some("team-a"));
    assert_eq!(flag_value(&args, "--selector"), Some("team=chat,tier!=dev"));
    assert!(!args.contains(&"--leader-elect".to_owned()));
    assert!(find(&objects, "Role", &format!("{FULLNAME}-leader-election")).is_none());
    assert!(
        find(
            &objects,
            "RoleBinding",
            &format!("{FULLNAME}-leader-election")
        )
        .is_none()
    );
    let deployment = get(&objects, "Deployment", FULLNAME);
    assert_eq!(deployment["spec"]["replicas"], 1);
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(env[0], json!({"name": "RUST_LOG", "value": "debug"}));
}

/// Every argument the chart passes is one the operator's command line accepts, with every
/// optional value set.
#[test]
fn operator_arguments_are_accepted_by_the_operator() {
    let Some(helm) = helm() else { return };
    let values = "operator:\n  watchNamespace: team-a\n  selector: team=chat\n";
    for values in ["", values] {
        let args = operator_args(&rendered(&helm, values));
        let argv =
            std::iter::once("model-compliance-operator").chain(args.iter().map(String::as_str));
        if let Err(e) = Cli::try_parse_from(argv) {
            panic!("the operator rejects the chart's arguments {args:?}:\n{e}");
        }
    }
}

#[test]
fn schema_rejects_wrong_values() {
    let Some(helm) = helm() else { return };
    let wrong = [
        ("replicaCount: two", "/replicaCount"),
        ("replicaCount: -1", "/replicaCount"),
        ("operator: {concurrency: 0}", "/operator/concurrency"),
        ("operator: {concurrency: \"8\"}", "/operator/concurrency"),
        (
            "operator: {leaderElection: \"yes\"}",
            "/operator/leaderElection",
        ),
        (
            "operator: {watchNamespace: Team_A}",
            "/operator/watchNamespace",
        ),
        (
            "operator: {cacheSyncTimeout: soon}",
            "/operator/cacheSyncTimeout",
        ),
        (
            "operator: {leaderElection: false}",
            "/operator/leaderElection",
        ),
        ("operator: {concurency: 4}", "concurency"),
        ("replicas: 2", "replicas"),
        ("image: {pullPolicy: Sometimes}", "/image/pullPolicy"),
        (
            "resources: {limits: {memory: lots}}",
            "/resources/limits/memory",
        ),
        (
            "podDisruptionBudget: {maxUnavailable: half}",
            "/podDisruptionBudget/maxUnavailable",
        ),
        (
            "serviceMonitor: {enabled: \"true\"}",
            "/serviceMonitor/enabled",
        ),
        ("sidecar: {image: \"\"}", "/sidecar/image"),
        ("rbac: {personas: {create: 1}}", "/rbac/personas/create"),
    ];
    for (values, path) in wrong {
        match template(&helm, values, &[]) {
            Ok(_) => panic!("helm template accepted {values:?}"),
            Err(e) => {
                assert!(
                    e.contains("values don't meet the specifications of the schema"),
                    "{values:?} failed for another reason:\n{e}"
                );
                assert!(
                    e.contains(path),
                    "{values:?}: the error does not name {path}:\n{e}"
                );
            }
        }
    }
    // The same keys with right values render, and one replica may run without election.
    for values in [
        "replicaCount: 1\noperator: {leaderElection: false}",
        "replicaCount: 3\noperator: {concurrency: 256, cacheSyncTimeout: \"0\", shutdownTimeout: 1m 30s}",
        "podDisruptionBudget: {maxUnavailable: 50%}\nresources: {limits: {memory: 1Gi, cpu: 2}}",
    ] {
        template(&helm, values, &[])
            .unwrap_or_else(|e| panic!("helm template rejected {values:?}:\n{e}"));
    }
}

#[test]
fn lint_strict_passes() {
    let Some(helm) = helm() else { return };
    run(&helm, &["lint", "--strict", CHART]).unwrap_or_else(|e| panic!("{e}"));
    run(
        &helm,
        &[
            "lint",
            "--strict",
            CHART,
            "--set",
            "defaultPolicy.create=true",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn chart_crds_are_the_generated_ones() {
    // Both folders the generator writes, byte for byte, and nothing else in them.
    for dir in crdgen::FOLDERS {
        let stale = crdgen::stale(Path::new(dir));
        assert!(
            stale.is_empty(),
            "{dir} differs from the generated CRDs: {stale:?}; run `cargo run -- crd` and commit"
        );
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let mut generated: Vec<String> = crdgen::crds()
            .into_iter()
            .map(|(f, _)| f.to_owned())
            .collect();
        generated.sort();
        assert_eq!(files, generated, "{dir} holds other files");
    }
    for (file, _) in crdgen::crds() {
        assert_eq!(
            std::fs::read(Path::new("crds").join(file)).unwrap(),
            std::fs::read(Path::new(crdgen::FOLDERS[1]).join(file)).unwrap(),
            "{file}"
        );
    }

    // And helm installs exactly them.
    let Some(helm) = helm() else { return };
    let objects = template(&helm, "", &["--include-crds"]).unwrap();
    let crds: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .collect();
    assert_eq!(crds.len(), 3);
    for (_, crd) in crdgen::crds() {
        let want = serde_json::to_value(&crd).unwrap();
        let name = want["metadata"]["name"].as_str().unwrap();
        let got = crds
            .iter()
            .find(|c| c["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("helm does not install {name}"));
        assert_eq!(*got, &want, "{name}");
    }
}

#[test]
fn metrics_service_and_service_monitor() {
    let Some(helm) = helm() else { return };
    let objects = rendered(&helm, "");
    let service = get(&objects, "Service", &format!("{FULLNAME}-metrics"));
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http-metrics", "port": 8080, "targetPort": "http-metrics", "protocol": "TCP"}])
    );
    let pod_labels =
        &get(&objects, "Deployment", FULLNAME)["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(
            &pod_labels[k], v,
            "the Service selects the operator's pods by {k}"
        );
    }
    assert!(objects.iter().all(|o| o["kind"] != "ServiceMonitor"));

    let enabled = "serviceMonitor: {enabled: true, labels: {release: prometheus}}";
    let err = template(&helm, enabled, &[]).unwrap_err();
    assert!(err.contains("monitoring.coreos.com/v1"), "{err}");
    let objects = template(
        &helm,
        enabled,
        &["--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"],
    )
    .unwrap();
    let monitor = get(&objects, "ServiceMonitor", FULLNAME);
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http-metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        get(&objects, "Deployment", FULLNAME)["spec"]["selector"]["matchLabels"]
    );
}

fn labels(o: &Value) -> BTreeSet<String> {
    o["metadata"]["labels"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| *v == "true")
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn persona_roles_are_aggregated_and_evidence_stays_with_compliance() {
    let Some(helm) = helm() else { return };
    let objects = rendered(&helm, "");
    let role = |suffix: &str| get(&objects, "ClusterRole", &format!("{FULLNAME}-{suffix}"));

    let reader = role("reader");
    assert_eq!(
        labels(reader),
        BTreeSet::from([
            "modelcompliance.io/aggregate-to-compliance-officer".to_owned(),
            "modelcompliance.io/aggregate-to-platform-engineer".to_owned(),
            "rbac.authorization.k8s.io/aggregate-to-view".to_owned(),
        ])
    );
    assert_eq!(reader["rules"][0]["verbs"], json!(["get", "list", "watch"]));
    let deployer = role("deployer");
    assert_eq!(
        labels(deployer),
        BTreeSet::from([
            "modelcompliance.io/aggregate-to-platform-engineer".to_owned(),
            "rbac.authorization.k8s.io/aggregate-to-edit".to_owned(),
        ])
    );
    assert_eq!(
        deployer["rules"][0]["resources"],
        json!(["modeldeployments"])
    );
    // Attesting is never aggregated into a built-in role.
    let attester = role("attester");
    assert_eq!(
        labels(attester),
        BTreeSet::from(["modelcompliance.io/aggregate-to-compliance-officer".to_owned()])
    );
    assert_eq!(
        attester["rules"][0]["resources"],
        json!(["complianceevidences"])
    );
    // Only the reader may touch policies, and only to read.
    for o in objects.iter().filter(|o| o["kind"] == "ClusterRole") {
        if o["metadata"]["name"] == FULLNAME {
            continue;
        }
        for rule in o["rules"].as_array().into_iter().flatten() {
            let touches_policies = rule["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.as_str().unwrap().starts_with("compliancepolicies"));
            if touches_policies {
                assert_eq!(
                    rule["verbs"],
                    json!(["get", "list", "watch"]),
                    "{}",
                    o["metadata"]["name"]
                );
            }
        }
    }
    for (persona, label) in [
        (
            "compliance-officer",
            "modelcompliance.io/aggregate-to-compliance-officer",
        ),
        (
            "platform-engineer",
            "modelcompliance.io/aggregate-to-platform-engineer",
        ),
    ] {
        let r = role(persona);
        assert!(
            r["rules"].is_null(),
            "the aggregation controller fills {persona}'s rules"
        );
        assert_eq!(
            r["aggregationRule"]["clusterRoleSelectors"],
            json!([{"matchLabels": {label: "true"}}])
        );
    }

    let objects = rendered(&helm, "rbac: {personas: {aggregateToDefaultRoles: false}}");
    for o in objects.iter().filter(|o| o["kind"] == "ClusterRole") {
        assert!(
            labels(o)
                .iter()
                .all(|l| !l.starts_with("rbac.authorization.k8s.io/")),
            "{}",
            o["metadata"]["name"]
        );
    }
    let objects = rendered(&helm, "rbac: {personas: {create: false}}");
    assert_eq!(
        objects
            .iter()
            .filter(|o| o["kind"] == "ClusterRole")
            .count(),
        1
    );
    let objects = rendered(
        &helm,
        "rbac: {create: false, personas: {create: false}}\nserviceAccount: {create: false, name: mco}",
    );
    assert!(
        objects
            .iter()
            .all(|o| !o["kind"].as_str().unwrap().contains("Role"))
    );
    assert!(objects.iter().all(|o| o["kind"] != "ServiceAccount"));
    assert_eq!(
        get(&objects, "Deployment", FULLNAME)["spec"]["template"]["spec"]["serviceAccountName"],
        "mco"
    );
}

/// The sidecar container of examples/compliant/inference.yaml, which a core test keeps
/// identical to what the operator injects with a policy's defaults.
fn injected_sidecar() -> Value {
    let text = std::fs::read_to_string("examples/compliant/inference.yaml").unwrap();
    documents(&text)
        .into_iter()
        .filter(|d| d["kind"] == "Deployment")
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .clone()
        })
        .find(|c| c["name"] == "aigc-labeler")
        .expect("the example carries the sidecar")
}

#[test]
fn sidecar_values_are_the_operators_defaults_and_reach_the_policy() {
    let values: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap())
            .unwrap();
    assert_eq!(values["sidecar"]["image"], SIDECAR_IMAGE);
    let injected = injected_sidecar();
    assert_eq!(injected["image"], SIDECAR_IMAGE);
    assert_eq!(values["sidecar"]["resources"], injected["resources"]);

    let Some(helm) = helm() else { return };
    assert!(
        rendered(&helm, "")
            .iter()
            .all(|o| o["kind"] != "CompliancePolicy")
    );
    let objects = rendered(
        &helm,
        "defaultPolicy:\n  create: true\n  name: baseline\n  spec:\n    riskAcceptance: {maxAcceptable: Medium}\n    \
         controls:\n      isolation: {mode: Audit}\n      sidecar: {mode: Audit}\n\
         sidecar:\n  image: registry.example/aigc-labeler:9\n",
    );
    let policy = get(&objects, "CompliancePolicy", "baseline");
    assert_eq!(
        policy["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let sidecar = &policy["spec"]["controls"]["sidecar"];
    assert_eq!(sidecar["image"], "registry.example/aigc-labeler:9");
    assert_eq!(sidecar["mode"], "Audit");
    assert_eq!(sidecar["resources"], values["sidecar"]["resources"]);
    assert_eq!(policy["spec"]["controls"]["isolation"]["mode"], "Audit");
    // What the chart writes is a CompliancePolicy the operator reads.
    let typed: model_compliance_operator::api::CompliancePolicy =
        serde_json::from_value(policy.clone()).expect("the policy has the operator's type");
    assert_eq!(
        typed.spec.controls.sidecar.image.as_deref(),
        Some("registry.example/aigc-labeler:9")
    );
    // An image set in the policy's own spec wins over the chart-wide default.
    let objects = rendered(
        &helm,
        "defaultPolicy:\n  create: true\n  spec: {controls: {sidecar: {image: own/labeler:1}}}\n",
    );
    assert_eq!(
        get(&objects, "CompliancePolicy", "default")["spec"]["controls"]["sidecar"]["image"],
        "own/labeler:1"
    );
}

/// The end-to-end part: `helm install` on a real API server, the objects checked there, what
/// each persona may do asked of the server's own authorizer, then `helm uninstall`. The
/// bare control plane has no scheduler or kubelet, so the operator's pods stay Pending: this
/// checks the chart's objects and RBAC, not a running operator.
/// The API a cluster must serve for the chart to install the finalizer's admission policy.
const ADMISSION_POLICY_API: &str = "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy";

#[test]
fn the_finalizer_policy_follows_the_operators_scope() {
    let Some(helm) = helm() else { return };
    let with_api = |values: &str| {
        template(&helm, values, &["--api-versions", ADMISSION_POLICY_API])
            .unwrap_or_else(|e| panic!("helm template failed:\n{e}"))
    };
    let name = format!("{FULLNAME}-finalizer");
    let objects = with_api("");
    let policy = get(&objects, "MutatingAdmissionPolicy", &name);
    let binding = get(&objects, "MutatingAdmissionPolicyBinding", &name);
    assert_eq!(binding["spec"]["policyName"], name.as_str());
    // The finalizer it adds is the one the operator removes, and it never adds it to a
    // deployment being deleted.
    let finalizer = model_compliance_operator::controller::reconcile::FINALIZER;
    let mutation = policy["spec"]["mutations"][0]["applyConfiguration"]["expression"]
        .as_str()
        .unwrap();
    assert!(
        mutation.contains(&format!("[\"{finalizer}\"]")),
        "{mutation}"
    );
    let condition = policy["spec"]["matchConditions"][0]["expression"]
        .as_str()
        .unwrap();
    assert!(
        condition.contains(&format!("f == \"{finalizer}\"")),
        "{condition}"
    );
    assert!(
        condition.starts_with("!has(object.metadata.deletionTimestamp)"),
        "{condition}"
    );
    assert_eq!(policy["spec"]["failurePolicy"], "Ignore");
    let rules = &policy["spec"]["matchConstraints"]["resourceRules"];
    assert_eq!(rules[0]["resources"], json!(["modeldeployments"]));
    assert_eq!(rules[0]["operations"], json!(["CREATE", "UPDATE"]));
    // Every namespace by default; only the watched one with `watchNamespace`.
    assert!(policy["spec"]["matchConstraints"]["namespaceSelector"].is_null());
    let scoped = with_api("operator:\n  watchNamespace: ml\n");
    assert_eq!(
        get(&scoped, "MutatingAdmissionPolicy", &name)["spec"]["matchConstraints"]["namespaceSelector"]
            ["matchLabels"],
        json!({"kubernetes.io/metadata.name": "ml"})
    );
    // Not installed where its scope could differ from the operator's (a label selector), when
    // turned off, or on a cluster without the API.
    for values in [
        "operator:\n  selector: team=chat\n",
        "operator:\n  finalizerAdmission: false\n",
    ] {
        let objects = with_api(values);
        assert!(
            find(&objects, "MutatingAdmissionPolicy", &name).is_none(),
            "{values}"
        );
        assert!(
            find(&objects, "MutatingAdmissionPolicyBinding", &name).is_none(),
            "{values}"
        );
    }
    assert!(find(&rendered(&helm, ""), "MutatingAdmissionPolicy", &name).is_none());
}

/// Installed to serve one namespace on a real API server, the policy adds the finalizer to the
/// deployments created or applied there and to no others, keeps it through a user's apply that
/// leaves it out, and lets a deployment being deleted go once the operator removes it.
#[tokio::test]
async fn the_finalizer_policy_on_a_real_cluster() {
    use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
    use kube::core::{ApiResource, GroupVersionKind};
    let Some((client, helm)) = real_cluster().await else {
        return;
    };
    let id = std::process::id();
    let (watched, other) = (format!("mco-map-{id}"), format!("mco-map-{id}-other"));
    let release = format!("mco-map-{id}");
    e2e::create_namespace(&client, &watched).await;
    e2e::create_namespace(&client, &other).await;
    let installed = run(
        &helm,
        &[
            "install",
            &release,
            CHART,
            "--namespace",
            &watched,
            "--set",
            &format!("operator.watchNamespace={watched}"),
        ],
    );
    let finalizer = model_compliance_operator::controller::reconcile::FINALIZER;
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("modelcompliance.io", "v1alpha1", "ModelDeployment"),
        "modeldeployments",
    );
    let deployment = |ns: &str, name: &str, retention: u32| -> Value {
        let text = include_str!("fixtures/e2e-controller/modeldeployment.yaml")
            .replace("@NAME@", name)
            .replace("@POLICY@", "absent")
            .replace("@TRAIN_NS@", ns)
            .replace("@SERVE_NS@", ns)
            .replace(
                "inputRetentionDays: 30",
                &format!("inputRetentionDays: {retention}"),
            );
        serde_yaml_ng::from_str(&text).unwrap()
    };
    let finalizers = |d: &DynamicObject| d.metadata.finalizers.clone().unwrap_or_default();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let out = installed
            .as_ref()
            .unwrap_or_else(|e| panic!("helm install failed:\n{e}"));
        let manifest = run(
            &helm,
            &["get", "manifest", &release, "--namespace", &watched],
        )
        .unwrap_or_else(|e| panic!("helm get manifest failed:\n{e}"));
        if !manifest.contains("kind: MutatingAdmissionPolicy\n") {
            skipped(
                "the cluster serves no admissionregistration.k8s.io/v1 MutatingAdmissionPolicy",
            );
            return;
        }
        assert!(out.contains("STATUS: deployed"), "{out}");
        let here: Api<DynamicObject> = Api::namespaced_with(client.clone(), &watched, &resource);
        let there: Api<DynamicObject> = Api::namespaced_with(client.clone(), &other, &resource);
        // The API server starts enforcing a new policy within seconds: a dry run shows when.
        let probe: DynamicObject =
            serde_json::from_value(deployment(&watched, "probe", 30)).unwrap();
        let started = std::time::Instant::now();
        loop {
            let dry = here
                .create(
                    &PostParams {
                        dry_run: true,
                        ..Default::default()
                    },
                    &probe,
                )
                .await
                .expect("dry-run create");
            if finalizers(&dry).iter().any(|f| f == finalizer) {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the policy never took effect"
            );
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        // Applied by a pipeline that knows nothing of the finalizer: it has it from creation.
        let gitops = PatchParams::apply("gitops");
        let applied = here
            .patch(
                "chat",
                &gitops,
                &Patch::Apply(deployment(&watched, "chat", 30)),
            )
            .await
            .expect("apply");
        assert_eq!(finalizers(&applied), [finalizer]);
        let outside = there
            .patch(
                "chat",
                &gitops,
                &Patch::Apply(deployment(&other, "chat", 30)),
            )
            .await
            .expect("apply elsewhere");
        assert!(
            finalizers(&outside).is_empty(),
            "only the watched namespace"
        );
        // The pipeline applies a change, still without the finalizer: it stays.
        let changed = here
            .patch(
                "chat",
                &gitops,
                &Patch::Apply(deployment(&watched, "chat", 20)),
            )
            .await
            .expect("apply a change");
        assert_eq!(
            changed.metadata.generation,
            Some(2),
            "the change was applied"
        );
        assert_eq!(finalizers(&changed), [finalizer]);
        // Someone removes it outside a deletion: it is back, as the operator would add it.
        let remove = json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": finalizer},
            {"op": "remove", "path": "/metadata/finalizers/0"},
        ]);
        let patched = here
            .patch(
                "chat",
                &PatchParams::default(),
                &Patch::Json::<()>(serde_json::from_value(remove.clone()).unwrap()),
            )
            .await
            .expect("json patch");
        assert_eq!(finalizers(&patched), [finalizer]);
        // Deleted, it waits for the finalizer; the operator's removal is not undone.
        here.delete("chat", &DeleteParams::default())
            .await
            .expect("delete");
        let deleting = here.get("chat").await.expect("still there");
        assert!(deleting.metadata.deletion_timestamp.is_some());
        assert_eq!(finalizers(&deleting), [finalizer]);
        here.patch(
            "chat",
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(remove).unwrap()),
        )
        .await
        .expect("the operator's removal");
        assert!(
            here.get_opt("chat").await.expect("get").is_none(),
            "gone once the finalizer is removed"
        );
    }))
    .await;
    // Deleted before their finalizers are lifted, the deployments left are out of the
    // policy's reach, however long the API server takes to notice the uninstall.
    for ns in [&watched, &other] {
        api_stand_in::e2e::lift_finalizers(&client, ns).await;
        e2e::delete_namespace(&client, ns).await;
    }
    let uninstalled = run(&helm, &["uninstall", &release, "--namespace", &watched]);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    uninstalled.unwrap_or_else(|e| panic!("helm uninstall failed:\n{e}"));
}

#[tokio::test]
async fn installs_on_a_real_cluster() {
    let Some((client, helm)) = real_cluster().await else {
        return;
    };
    let id = std::process::id();
    let namespace = format!("mco-chart-{id}");
    let release = format!("mco-chart-{id}");
    e2e::create_namespace(&client, &namespace).await;
    let installed = run(
        &helm,
        &[
            "install",
            &release,
            CHART,
            "--namespace",
            &namespace,
            "--timeout",
            "2m",
        ],
    );
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let out = installed
            .as_ref()
            .unwrap_or_else(|e| panic!("helm install failed:\n{e}"));
        assert!(out.contains("kubectl -n"), "NOTES.txt is shown:\n{out}");
        e2e::check_installed(&client, &namespace, &release).await;
        e2e::check_personas(&client, &namespace, &release).await;
        e2e::check_operator_runs_as_its_account(&client, &namespace, &release).await;
        // An upgrade changes the operator and leaves the aggregated roles as they were.
        run(
            &helm,
            &[
                "upgrade",
                &release,
                CHART,
                "--namespace",
                &namespace,
                "--reuse-values",
                "--set",
                "operator.concurrency=4",
            ],
        )
        .unwrap_or_else(|e| panic!("helm upgrade failed:\n{e}"));
        e2e::check_upgraded(&client, &namespace, &release).await;
    }))
    .await;
    let uninstalled = run(&helm, &["uninstall", &release, "--namespace", &namespace]);
    if outcome.is_ok() {
        uninstalled.unwrap_or_else(|e| panic!("helm uninstall failed:\n{e}"));
        e2e::check_uninstalled(&client, &namespace, &release).await;
    }
    e2e::delete_namespace(&client, &namespace).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

mod e2e {
    use std::time::Duration;

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::authorization::v1::SubjectAccessReview;
    use k8s_openapi::api::core::v1::{Namespace, Pod, Service, ServiceAccount};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::Client;
    use kube::api::{Api, DeleteParams, ListParams, PostParams};
    use serde_json::json;

    fn fullname(release: &str) -> String {
        format!("{release}-model-compliance-operator")
    }

    /// Runs the operator binary here, as the chart's ServiceAccount (a token from the
    /// TokenRequest API; the chart's own pods cannot run: there is no kubelet), with leader
    /// election in the release namespace, on a deployment of its own with every control the
    /// policy fixture enforces. Its log must hold no refusal, and the controls must be in
    /// place: the account's permissions are enough.
    pub async fn check_operator_runs_as_its_account(
        client: &Client,
        namespace: &str,
        release: &str,
    ) {
        use k8s_openapi::api::authentication::v1::TokenRequest;
        use k8s_openapi::api::networking::v1::NetworkPolicy;
        use kube::api::{Patch, PatchParams};
        use model_compliance_operator::api::{CompliancePolicy, ModelDeployment};

        let name = fullname(release);
        let request: TokenRequest =
            serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 900}}))
                .unwrap();
        let token = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
            .create_token_request(&name, &PostParams::default(), &request)
            .await
            .expect("a token for the chart's ServiceAccount")
            .status
            .expect("token status")
            .token;
        // A kubeconfig with the admin's cluster entry and the account's token.
        let admin = std::env::var("KUBECONFIG").expect("KUBECONFIG");
        let mut config: serde_json::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&admin).unwrap()).unwrap();
        let cluster = config["clusters"][0].clone();
        config["clusters"] = json!([cluster]);
        let cluster_name = config["clusters"][0]["name"].clone();
        config["users"] = json!([{"name": "operator", "user": {"token": token}}]);
        config["contexts"] = json!([{"name": "operator",
            "context": {"cluster": cluster_name, "user": "operator"}}]);
        config["current-context"] = json!("operator");
        let kubeconfig = std::env::temp_dir().join(format!("{release}.kubeconfig"));
        std::fs::write(&kubeconfig, serde_yaml_ng::to_string(&config).unwrap()).unwrap();

        // A policy and a deployment (with its namespaces) only this run serves.
        let (train, serve) = (format!("{release}-train"), format!("{release}-serve"));
        for ns in [&train, &serve] {
            create_namespace(client, ns).await;
        }
        let apply = PatchParams::apply("mco-e2e");
        let policy: serde_json::Value = serde_yaml_ng::from_str(
            &include_str!("fixtures/e2e-controller/policy.yaml").replace("@POLICY@", release),
        )
        .unwrap();
        let policies: Api<CompliancePolicy> = Api::all(client.clone());
        policies
            .patch(release, &apply, &Patch::Apply(&policy))
            .await
            .unwrap();
        let mut deployment: serde_json::Value = serde_yaml_ng::from_str(
            &include_str!("fixtures/e2e-controller/modeldeployment.yaml")
                .replace("@NAME@", "chat")
                .replace("@POLICY@", release)
                .replace("@TRAIN_NS@", &train)
                .replace("@SERVE_NS@", &serve),
        )
        .unwrap();
        deployment["metadata"]["labels"] = json!({"e2e-run": release});
        let mdeps: Api<ModelDeployment> = Api::namespaced(client.clone(), &serve);
        mdeps
            .patch("chat", &apply, &Patch::Apply(&deployment))
            .await
            .unwrap();

        let log = std::env::temp_dir().join(format!("{release}-operator.log"));
        let file = std::fs::File::create(&log).unwrap();
        let http = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let mut operator =
            std::process::Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
                .args(["run", "--http-addr", &http.to_string(), "--leader-elect"])
                .args([
                    "--lease-name",
                    &name,
                    "--selector",
                    &format!("e2e-run={release}"),
                ])
                .env("KUBECONFIG", &kubeconfig)
                .env("POD_NAMESPACE", namespace)
                .env("POD_NAME", format!("{name}-e2e"))
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .expect("the operator starts");
        let started = std::time::Instant::now();
        let ready = loop {
            let d = mdeps.get("chat").await.unwrap();
            let ready = d.status.as_ref().and_then(|s| {
                (s.observed_generation == d.metadata.generation)
                    .then(|| s.conditions.iter().find(|c| c.type_ == "Ready"))
                    .flatten()
                    .cloned()
            });
            if let Some(ready) = ready {
                break ready;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not reconciled within 60 s as the chart's account:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let policies_in_place = Api::<NetworkPolicy>::namespaced(client.clone(), &train)
            .list(&ListParams::default().labels("modelcompliance.io/deployment-uid"))
            .await
            .unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &operator.id().to_string()])
            .status();
        let _ = operator.wait();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        // Cleanup by the operator is not part of this check: remove its finalizer here.
        let _ = mdeps.delete("chat", &DeleteParams::default()).await;
        let _ = mdeps
            .patch(
                "chat",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
        let _ = policies.delete(release, &DeleteParams::default()).await;
        for ns in [&train, &serve] {
            delete_namespace(client, ns).await;
        }
        let _ = std::fs::remove_file(&kubeconfig);
        assert!(
            !text.to_lowercase().contains("forbidden"),
            "a request was refused to the chart's account:\n{text}"
        );
        assert_eq!(ready.status, "True", "{ready:?}\n{text}");
        assert_eq!(ready.reason, "ControlsApplied", "{ready:?}");
        assert!(
            !policies_in_place.items.is_empty(),
            "the isolation NetworkPolicy is in place"
        );
        println!(
            "the operator ran as {name}: Ready {} ({}) in {:.1?}, no request refused",
            ready.status,
            ready.reason,
            started.elapsed()
        );
        let _ = std::fs::remove_file(&log);
    }

    pub async fn create_namespace(client: &Client, name: &str) {
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns)
            .await
            .expect("namespace created");
    }

    pub async fn delete_namespace(client: &Client, name: &str) {
        let api: Api<Namespace> = Api::all(client.clone());
        let _ = api.delete(name, &DeleteParams::default()).await;
    }

    pub async fn check_installed(client: &Client, namespace: &str, release: &str) {
        let name = fullname(release);
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        let deployment = deployments.get(&name).await.expect("the Deployment exists");
        assert_eq!(deployment.spec.unwrap().replicas, Some(2));
        Api::<ServiceAccount>::namespaced(client.clone(), namespace)
            .get(&name)
            .await
            .expect("the ServiceAccount exists");
        Api::<Service>::namespaced(client.clone(), namespace)
            .get(&format!("{name}-metrics"))
            .await
            .expect("the metrics Service exists");
        Api::<PodDisruptionBudget>::namespaced(client.clone(), namespace)
            .get(&name)
            .await
            .expect("the PodDisruptionBudget exists");
        Api::<Role>::namespaced(client.clone(), namespace)
            .get(&format!("{name}-leader-election"))
            .await
            .expect("the leader-election Role exists");
        Api::<RoleBinding>::namespaced(client.clone(), namespace)
            .get(&format!("{name}-leader-election"))
            .await
            .expect("the leader-election RoleBinding exists");
        Api::<ClusterRoleBinding>::all(client.clone())
            .get(&name)
            .await
            .expect("the ClusterRoleBinding exists");
        let roles: Api<ClusterRole> = Api::all(client.clone());
        for suffix in [
            "",
            "-reader",
            "-deployer",
            "-attester",
            "-compliance-officer",
            "-platform-engineer",
        ] {
            roles
                .get(&format!("{name}{suffix}"))
                .await
                .unwrap_or_else(|e| panic!("ClusterRole {name}{suffix}: {e}"));
        }
        // The controllers that do run make the ReplicaSet's pods; no kubelet runs them.
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let selector = format!("app.kubernetes.io/instance={release}");
        let mut created = 0;
        for _ in 0..100 {
            created = pods
                .list(&ListParams::default().labels(&selector))
                .await
                .unwrap()
                .items
                .len();
            if created == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(created, 2, "the Deployment's two pods are created");
    }

    /// Whether the API server's authorizer allows `user` the `verb` on `resource`.
    async fn allowed(
        client: &Client,
        user: &str,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> bool {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        let review: SubjectAccessReview = serde_json::from_value(json!({
            "spec": {
                "user": user,
                "resourceAttributes": {
                    "group": if resource == "leases" { "coordination.k8s.io" } else { "modelcompliance.io" },
                    "resource": resource,
                    "subresource": subresource,
                    "verb": verb,
                    "namespace": namespace.unwrap_or(""),
                }
            }
        }))
        .unwrap();
        let api: Api<SubjectAccessReview> = Api::all(client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .expect("SubjectAccessReview answered");
        answer.status.is_some_and(|s| s.allowed)
    }

    async fn bind(client: &Client, namespace: &str, name: &str, cluster_role: &str, user: &str) {
        let binding: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
        }))
        .unwrap();
        Api::<RoleBinding>::namespaced(client.clone(), namespace)
            .create(&PostParams::default(), &binding)
            .await
            .expect("RoleBinding created");
    }

    /// Tries to create a ComplianceEvidence as `user`, through impersonation: the whole
    /// request path (authorization, then admission) decides.
    async fn create_evidence_as(
        user: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), kube::Error> {
        let mut config = kube::Config::infer().await.expect("kubeconfig");
        config.auth_info.impersonate = Some(user.to_owned());
        let client = Client::try_from(config).expect("impersonating client");
        let gvk = kube::core::GroupVersionKind::gvk(
            "modelcompliance.io",
            "v1alpha1",
            "ComplianceEvidence",
        );
        let resource = kube::core::ApiResource::from_gvk_with_plural(&gvk, "complianceevidences");
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(client, namespace, &resource);
        let evidence: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "modelcompliance.io/v1alpha1",
            "kind": "ComplianceEvidence",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "rows": [1],
                "targets": ["chat"],
                "uri": "https://docs.example/evidence.pdf",
                "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
                "attestedBy": user,
                "attestedAt": "2026-01-01T00:00:00Z",
                "validUntil": "2027-01-01T00:00:00Z"
            }
        }))
        .unwrap();
        api.create(&PostParams::default(), &evidence)
            .await
            .map(|_| ())
    }

    pub async fn check_personas(client: &Client, namespace: &str, release: &str) {
        let name = fullname(release);
        let officer = format!("officer-{namespace}");
        let engineer = format!("engineer-{namespace}");
        let editor = format!("editor-{namespace}");
        bind(
            client,
            namespace,
            "officers",
            &format!("{name}-compliance-officer"),
            &officer,
        )
        .await;
        bind(
            client,
            namespace,
            "engineers",
            &format!("{name}-platform-engineer"),
            &engineer,
        )
        .await;
        bind(client, namespace, "editors", "edit", &editor).await;
        let ns = Some(namespace);

        // The aggregation controller fills the persona roles shortly after they are created.
        let mut filled = false;
        for _ in 0..100 {
            filled = allowed(client, &officer, "create", "complianceevidences", ns).await
                && allowed(client, &engineer, "create", "modeldeployments", ns).await
                && allowed(client, &editor, "create", "modeldeployments", ns).await;
            if filled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(filled, "the persona roles were not aggregated within 20 s");

        let cases = [
            // The compliance officer reads everything and attests.
            (&officer, "get", "modeldeployments", ns, true),
            (&officer, "list", "compliancepolicies", None, false), // bound in one namespace only
            (&officer, "get", "complianceevidences", ns, true),
            (&officer, "delete", "complianceevidences", ns, true),
            (&officer, "create", "modeldeployments", ns, false),
            (&officer, "patch", "modeldeployments/status", ns, false),
            // The platform engineer deploys and reads, and cannot attest.
            (&engineer, "create", "modeldeployments", ns, true),
            (&engineer, "delete", "modeldeployments", ns, true),
            (&engineer, "get", "complianceevidences", ns, true),
            (&engineer, "create", "complianceevidences", ns, false),
            (&engineer, "patch", "complianceevidences", ns, false),
            (&engineer, "delete", "complianceevidences", ns, false),
            (&engineer, "patch", "modeldeployments/status", ns, false),
            // The built-in edit role deploys too, and cannot attest either.
            (&editor, "create", "modeldeployments", ns, true),
            (&editor, "get", "complianceevidences", ns, true),
            (&editor, "create", "complianceevidences", ns, false),
        ];
        for (user, verb, resource, namespace, want) in cases {
            assert_eq!(
                allowed(client, user, verb, resource, namespace).await,
                want,
                "{user} {verb} {resource} in {namespace:?}"
            );
        }

        // Through the whole request path: the engineer is refused, the officer is not.
        match create_evidence_as(&engineer, namespace, "by-engineer").await {
            Err(kube::Error::Api(status)) if status.code == 403 => {}
            other => panic!("a platform engineer created evidence: {other:?}"),
        }
        create_evidence_as(&officer, namespace, "by-officer")
            .await
            .expect("a compliance officer creates evidence");

        // The operator's account: the status of ModelDeployments anywhere, Leases only in the
        // release namespace.
        let operator = format!("system:serviceaccount:{namespace}:{name}");
        assert!(
            allowed(
                client,
                &operator,
                "patch",
                "modeldeployments/status",
                Some("default")
            )
            .await
        );
        assert!(!allowed(client, &operator, "create", "complianceevidences", ns).await);
        assert!(allowed(client, &operator, "patch", "leases", ns).await);
        assert!(!allowed(client, &operator, "update", "leases", Some("default")).await);
    }

    pub async fn check_upgraded(client: &Client, namespace: &str, release: &str) {
        let name = fullname(release);
        let deployment = Api::<Deployment>::namespaced(client.clone(), namespace)
            .get(&name)
            .await
            .unwrap();
        let args = deployment.spec.unwrap().template.spec.unwrap().containers[0]
            .args
            .clone()
            .unwrap();
        let at = args.iter().position(|a| a == "--concurrency").unwrap();
        assert_eq!(args[at + 1], "4");
        let officer = format!("officer-{namespace}");
        let engineer = format!("engineer-{namespace}");
        let ns = Some(namespace);
        assert!(allowed(client, &officer, "create", "complianceevidences", ns).await);
        assert!(allowed(client, &engineer, "create", "modeldeployments", ns).await);
        assert!(!allowed(client, &engineer, "create", "complianceevidences", ns).await);
    }

    pub async fn check_uninstalled(client: &Client, namespace: &str, release: &str) {
        let name = fullname(release);
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        assert!(deployments.get_opt(&name).await.unwrap().is_none());
        let roles: Api<ClusterRole> = Api::all(client.clone());
        for suffix in ["", "-reader", "-attester", "-compliance-officer"] {
            assert!(
                roles
                    .get_opt(&format!("{name}{suffix}"))
                    .await
                    .unwrap()
                    .is_none(),
                "ClusterRole {name}{suffix} is left behind"
            );
        }
        // What helm's crds/ folder installs stays, and with it the evidence.
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in [
            "modeldeployments",
            "compliancepolicies",
            "complianceevidences",
        ] {
            assert!(
                crds.get_opt(&format!("{crd}.modelcompliance.io"))
                    .await
                    .unwrap()
                    .is_some(),
                "the CRD of {crd} stays"
            );
        }
        let gvk = kube::core::GroupVersionKind::gvk(
            "modelcompliance.io",
            "v1alpha1",
            "ComplianceEvidence",
        );
        let resource = kube::core::ApiResource::from_gvk_with_plural(&gvk, "complianceevidences");
        let evidence: Api<kube::core::DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &resource);
        assert!(
            evidence.get_opt("by-officer").await.unwrap().is_some(),
            "the evidence stays"
        );
    }
}

/// What the images must be, read from the Dockerfiles: the tag their build comment gives is
/// the chart's default, and the stage that runs is distroless, as user 65532, with the binary
/// as an exec-form entrypoint and no shell step.
#[test]
fn dockerfiles_build_the_images_the_chart_runs() {
    let chart: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap())
            .unwrap();
    let values: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap())
            .unwrap();
    let operator_image = format!(
        "{}:{}",
        values["image"]["repository"].as_str().unwrap(),
        chart["appVersion"].as_str().unwrap()
    );
    let sidecar_image = values["sidecar"]["image"].as_str().unwrap().to_owned();
    for (file, image, binary) in [
        ("Dockerfile", operator_image, "model-compliance-operator"),
        (
            "images/aigc-labeler.Dockerfile",
            sidecar_image,
            "aigc-labeler",
        ),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains(&format!("-t {image}")),
            "{file} does not build {image}, the chart's default"
        );
        let last_stage = text.rsplit("\nFROM ").next().unwrap();
        let lines: Vec<&str> = last_stage.lines().map(str::trim).collect();
        assert!(
            lines[0].starts_with("gcr.io/distroless/"),
            "{file}: the image runs from {}",
            lines[0]
        );
        assert!(
            lines.contains(&"USER 65532:65532"),
            "{file}: not user 65532"
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with("RUN ") && !l.starts_with("SHELL ")),
            "{file}: the final stage runs a shell"
        );
        assert!(
            lines.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]").as_str()),
            "{file}: the entrypoint is not the binary in exec form"
        );
        assert!(
            lines.contains(
                &format!("COPY --from=build /out/{binary} /usr/local/bin/{binary}").as_str()
            ),
            "{file}: the binary is not copied from the build stage"
        );
    }
}
