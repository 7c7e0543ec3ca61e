//! End-to-end tests against a real API server. They run when `MCO_E2E=1` and a kubeconfig
//! are present, and otherwise print `skipped: no cluster` and pass.
//!
//! ```sh
//! MCO_E2E=1 KUBECONFIG=/path/to/kubeconfig cargo test --test e2e -- --nocapture
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use api_stand_in::e2e::{MANAGER, cluster, install_crds};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::{Client, discovery};
use model_compliance_operator::api::{ComplianceEvidence, ModelDeployment};
use model_compliance_operator::check::load::split_documents;
use model_compliance_operator::crdgen;
use serde_json::{Value, json};

/// Server-side applies one manifest, in `namespace` when given and the kind is namespaced.
async fn apply(
    client: &Client,
    doc: &Value,
    namespace: Option<&str>,
) -> Result<DynamicObject, kube::Error> {
    let (group, version) = match doc["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (
            String::new(),
            doc["apiVersion"].as_str().unwrap().to_owned(),
        ),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, doc["kind"].as_str().unwrap());
    let (resource, caps) = discovery::pinned_kind(client, &gvk).await?;
    let name = doc["metadata"]["name"].as_str().unwrap().to_owned();
    let api: Api<DynamicObject> = if caps.scope == discovery::Scope::Namespaced {
        let ns = namespace
            .or(doc["metadata"]["namespace"].as_str())
            .unwrap_or("default");
        Api::namespaced_with(client.clone(), ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let mut doc = doc.clone();
    if let (Some(ns), discovery::Scope::Namespaced) = (namespace, &caps.scope) {
        doc["metadata"]["namespace"] = json!(ns);
    }
    api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(&doc))
        .await
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    split_documents(&text)
        .into_iter()
        .map(|(_, d)| serde_yaml_ng::from_str(&d).unwrap())
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

async fn create_namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", std::process::id());
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    name
}

async fn wait_gone(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    for _ in 0..300 {
        match api.get_opt(name).await {
            Ok(Some(ns)) if ns.metadata.deletion_timestamp.is_some() => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            _ => return,
        }
    }
    panic!("namespace {name} is still terminating after a minute");
}

async fn delete_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

#[tokio::test]
async fn crds_install_and_examples_apply() {
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;

    let mut docs: Vec<Value> = yaml_files(Path::new("examples"))
        .iter()
        .flat_map(|f| documents(f))
        .collect();
    // Namespaces first, then policies, then the rest, as a GitOps tool would order them.
    docs.sort_by_key(|d| match d["kind"].as_str() {
        Some("Namespace") => 0,
        Some("CompliancePolicy") => 1,
        _ => 2,
    });
    let namespaces: Vec<String> = docs
        .iter()
        .filter(|d| d["kind"] == "Namespace")
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    // A previous run's namespaces may still be terminating.
    for ns in &namespaces {
        wait_gone(&client, ns).await;
    }
    let mut failures = Vec::new();
    for doc in &docs {
        if let Err(e) = apply(&client, doc, None).await {
            failures.push(format!("{} {}: {e}", doc["kind"], doc["metadata"]["name"]));
        }
    }

    // What was applied reads back through the typed API.
    let deployments: Api<ModelDeployment> = Api::namespaced(client.clone(), "chat-serve");
    let qwen = deployments
        .get("qwen-chat")
        .await
        .expect("example ModelDeployment exists");
    assert_eq!(qwen.spec.policy_ref, "public-service");

    // Generated manifests (Helm, Kustomize) write explicit nulls for unset optional fields:
    // the API server must accept them.
    let with_nulls = json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "with-nulls", "namespace": "chat-serve"},
        "spec": {
            "policyRef": "public-service",
            "model": {"name": "demo", "version": "1", "modalities": ["Text"], "algorithmDescription": null},
            "service": {"filingNumber": null, "securityAssessment": null},
            "training": {
                "namespace": "chat-train",
                "podSelector": {"matchLabels": {"app": "trainer"}},
                "datasets": [{"name": "d", "source": "vendor", "acquisition": null, "legalBasis": null}]
            },
            "inference": null
        }
    });
    if let Err(e) = apply(&client, &with_nulls, None).await {
        failures.push(format!("explicit nulls rejected: {e}"));
    }

    // Evidence cannot be rewritten.
    let evidence: Api<ComplianceEvidence> = Api::namespaced(client.clone(), "chat-serve");
    let first = evidence
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .expect("example evidence exists");
    let name = first.metadata.name.clone().unwrap();
    let change = json!({"spec": {"attestedBy": "someone-else@example.com"}});
    match evidence
        .patch(&name, &PatchParams::default(), &Patch::Merge(&change))
        .await
    {
        Ok(_) => failures.push(format!(
            "ComplianceEvidence {name} was changed after creation"
        )),
        Err(e) => {
            let text = e.to_string();
            if !text.contains("evidence is immutable") {
                failures.push(format!(
                    "changing evidence failed with an unexpected message: {text}"
                ));
            }
        }
    }

    // No operator runs in this suite: drop any finalizer an earlier operator run left on the
    // examples, or their namespaces would never finish terminating.
    for ns in &namespaces {
        let api: Api<ModelDeployment> = Api::namespaced(client.clone(), ns);
        for d in api
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let patch = json!({"metadata": {"finalizers": null}});
            let _ = api
                .patch(
                    &d.metadata.name.unwrap(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await;
        }
        delete_namespace(&client, ns).await;
    }
    let policies: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &discovery::pinned_kind(
            &client,
            &GroupVersionKind::gvk("modelcompliance.io", "v1alpha1", "CompliancePolicy"),
        )
        .await
        .unwrap()
        .0,
    );
    let _ = policies
        .delete("public-service", &DeleteParams::default())
        .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("applied {} example manifests", docs.len());
}

#[tokio::test]
async fn invalid_resources_are_rejected_at_admission() {
    let Some(client) = cluster().await else {
        return;
    };
    install_crds(&client, crdgen::crds()).await;
    let namespace = create_namespace(&client, "mco-e2e-invalid").await;
    let mut failures = Vec::new();
    let fixtures = yaml_files(Path::new("tests/fixtures/invalid-crs"));
    assert!(fixtures.len() >= 10, "fixtures missing");
    for file in &fixtures {
        let text = std::fs::read_to_string(file).unwrap();
        let expected = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()))
            .to_owned();
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        match apply(&client, &doc, Some(&namespace)).await {
            Ok(obj) => {
                failures.push(format!(
                    "{}: accepted, expected rejection with {expected:?}",
                    file.display()
                ));
                if doc["kind"] == "CompliancePolicy" {
                    let ar = discovery::pinned_kind(
                        &client,
                        &obj.types.clone().unwrap().try_into().unwrap(),
                    )
                    .await
                    .unwrap()
                    .0;
                    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                    let _ = api
                        .delete(
                            obj.metadata.name.as_deref().unwrap(),
                            &DeleteParams::default(),
                        )
                        .await;
                }
            }
            Err(kube::Error::Api(status))
                if status.code == 422 && status.message.contains(&expected) =>
            {
                println!("{}: rejected: {}", file.display(), status.message);
            }
            Err(e) => failures.push(format!(
                "{}: rejected with {e}, expected {expected:?}",
                file.display()
            )),
        }
    }
    delete_namespace(&client, &namespace).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
