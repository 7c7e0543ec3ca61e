//! `report` against a real API server and a running operator, equal to `check` of the same
//! manifests. Runs when `MCO_E2E=1` and a kubeconfig are present, and otherwise prints
//! `skipped: no cluster` and passes.
//!
//! The examples' deployments go into a namespace of this run, with a policy of this run that
//! marks not applicable the rows and measures only live objects decide (controls, cluster
//! checks) and audits rather than enforces: the operator then decides every remaining row from
//! the same declared facts and evidence as `check`, so the two must print the same table.
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig cargo test --test e2e_report -- --nocapture
//! ```

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use api_stand_in::e2e::{MANAGER, cluster, install_crds};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use model_compliance_operator::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use model_compliance_operator::check::load::split_documents;
use model_compliance_operator::crdgen;
use serde_json::{Value, json};

const RUN_LABEL: &str = "e2e-report-run";
/// Rows and measures that only live objects decide.
const LIVE_ROWS: [i32; 7] = [2, 19, 23, 27, 28, 37, 40];
const LIVE_MEASURES: [&str; 5] = [
    "Isolation",
    "AccessControl",
    "ContentSafety",
    "CodeAudit",
    "Backup",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    split_documents(&text)
        .into_iter()
        .map(|(_, d)| serde_yaml_ng::from_str(&d).unwrap())
        .collect()
}

/// The operator, stopped when the test ends, passes or fails.
struct Operator(Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The manifests of this run: the policy, the evidence and the two ModelDeployments of the
/// examples, moved into `namespace` and labelled for this run's operator.
fn manifests(namespace: &str, policy: &str, run: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut p = documents(&root().join("examples/policies/public-service.yaml"))
        .into_iter()
        .find(|d| d["kind"] == "CompliancePolicy")
        .unwrap();
    p["metadata"] = json!({"name": policy});
    let rows = p["spec"]["rows"].as_array_mut().unwrap();
    for r in LIVE_ROWS {
        rows.push(json!({"row": r, "applicable": false, "remark": "decided from live objects; not part of this comparison"}));
    }
    p["spec"]["measures"] = LIVE_MEASURES
        .iter()
        .map(|m| json!({"measure": m, "applicable": false, "remark": "decided from live objects; not part of this comparison"}))
        .collect();
    for control in ["isolation", "accessControl", "backup", "sidecar"] {
        if p["spec"]["controls"][control].is_object() {
            p["spec"]["controls"][control]["mode"] = json!("Audit");
        }
    }
    out.push(p);
    for case in ["compliant", "noncompliant"] {
        for file in ["evidence.yaml", "modeldeployment.yaml"] {
            for mut d in documents(&root().join("examples").join(case).join(file)) {
                if d["kind"] != "ComplianceEvidence" && d["kind"] != "ModelDeployment" {
                    continue;
                }
                d["metadata"]["namespace"] = json!(namespace);
                if d["kind"] == "ModelDeployment" {
                    d["metadata"]["labels"][RUN_LABEL] = json!(run);
                    d["spec"]["policyRef"] = json!(policy);
                }
                out.push(d);
            }
        }
    }
    out
}

async fn apply<K>(api: &Api<K>, doc: &Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let name = doc["metadata"]["name"].as_str().unwrap();
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(doc),
    )
    .await
    .unwrap_or_else(|e| panic!("{name} applies: {e}"));
}

fn run_binary(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args(args)
        .current_dir(root())
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the binary runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

/// The output without what names where it was read from.
fn without_origin(json_format: bool, text: &str) -> String {
    if json_format {
        let mut v: Value = serde_json::from_str(text).unwrap();
        v.as_object_mut().unwrap().remove("origin");
        for d in v["deployments"].as_array_mut().unwrap() {
            d.as_object_mut().unwrap().remove("source");
        }
        return serde_json::to_string_pretty(&v).unwrap();
    }
    text.lines()
        .filter(|l| {
            !(l.starts_with("Checked ") || l.starts_with("Read ") || l.contains("source: "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn converged(client: &Client, namespace: &str) -> Result<(), String> {
    let list = Api::<ModelDeployment>::namespaced(client.clone(), namespace)
        .list(&Default::default())
        .await
        .map_err(|e| e.to_string())?;
    if list.items.len() != 2 {
        return Err(format!("{} deployments", list.items.len()));
    }
    for d in &list.items {
        let status = d
            .status
            .as_ref()
            .ok_or(format!("{} has no status", d.name_any()))?;
        if status.observed_generation != d.metadata.generation
            || !status
                .conditions
                .iter()
                .any(|c| c.type_ == "A1-SecurePlatform")
        {
            return Err(format!("{} not evaluated yet", d.name_any()));
        }
    }
    Ok(())
}

#[tokio::test]
async fn report_of_a_live_cluster_equals_check_of_its_manifests() {
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let run = std::process::id().to_string();
    let namespace = format!("mco-report-{run}");
    let policy = format!("mco-report-{run}");
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");

    let docs = manifests(&namespace, &policy, &run);
    let dir = std::env::temp_dir().join(format!("mco-e2e-report-{run}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let yaml: Vec<String> = docs
        .iter()
        .map(|d| serde_yaml_ng::to_string(d).unwrap())
        .collect();
    std::fs::write(dir.join("manifests.yaml"), yaml.join("---\n")).unwrap();
    for d in &docs {
        match d["kind"].as_str().unwrap() {
            "CompliancePolicy" => apply(&Api::<CompliancePolicy>::all(client.clone()), d).await,
            "ComplianceEvidence" => {
                apply(
                    &Api::<ComplianceEvidence>::namespaced(client.clone(), &namespace),
                    d,
                )
                .await
            }
            _ => {
                apply(
                    &Api::<ModelDeployment>::namespaced(client.clone(), &namespace),
                    d,
                )
                .await
            }
        }
    }

    let log = dir.join("operator.log");
    let file = std::fs::File::create(&log).unwrap();
    let _operator = Operator(
        Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
            .args([
                "run",
                "--http-addr",
                "127.0.0.1:0",
                "--namespace",
                &namespace,
            ])
            .args(["--selector", &format!("{RUN_LABEL}={run}")])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("the operator starts"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match converged(&client, &namespace).await {
            Ok(()) => break,
            Err(why) if std::time::Instant::now() > deadline => panic!(
                "the operator did not converge: {why}; log {}:\n{}",
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }

    let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let manifests = dir.join("manifests.yaml");
    for (format, is_json) in [
        ("json", true),
        ("table", false),
        ("markdown", false),
        ("csv", false),
    ] {
        // Wide enough that the line naming the origin is not wrapped onto a second line.
        let (reported, errors, report_code) = run_binary(&[
            "report", "-n", &namespace, "--now", &now, "-o", format, "--width", "1000",
        ]);
        assert_eq!(errors, "", "report -o {format}");
        let (checked, errors, check_code) = run_binary(&[
            "check",
            manifests.to_str().unwrap(),
            "--now",
            &now,
            "-o",
            format,
            "--width",
            "1000",
        ]);
        assert_eq!(errors, "", "check -o {format}");
        assert_eq!(report_code, check_code, "{format}");
        let (r, c) = (
            without_origin(is_json, &reported),
            without_origin(is_json, &checked),
        );
        assert!(
            r == c,
            "report -o {format} differs from check:\n--- check\n{c}\n--- report\n{r}"
        );
        assert!(r.contains("qwen-chat") && r.contains("sketch-studio"));
    }

    // Clean up: the namespace takes the deployments and evidence with it. The operator is
    // still running and releases its deployments' finalizers; a namespace left Terminating
    // would be retried by the namespace controller for ever, a load on every later test.
    let namespaces = Api::<Namespace>::all(client.clone());
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
    let since = std::time::Instant::now();
    while namespaces
        .get_opt(&namespace)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        if since.elapsed() > Duration::from_secs(60) {
            // No namespace controller on this cluster, or the operator did not finish.
            api_stand_in::e2e::lift_finalizers(&client, &namespace).await;
            println!("namespace {namespace} not gone after 60 s: finalizers lifted");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = Api::<CompliancePolicy>::all(client.clone())
        .delete(&policy, &DeleteParams::default())
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}
