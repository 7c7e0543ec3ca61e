//! What the end-to-end suites share: the gate (`MCO_E2E=1` and a cluster that answers),
//! finding the real tools they drive, the installation of the CRDs, and lifting finalizers no
//! operator is left to release.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};

/// Field manager of the suites' own writes.
pub const MANAGER: &str = "mco-e2e";

/// Says plainly that a test is skipped, on the process's stderr itself: the test harness
/// captures `println!` of passing tests, so it would not be seen.
fn skipped(why: &str) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("test").to_owned();
    let _ = writeln!(
        std::io::stderr().lock(),
        "{name}: skipped: no cluster ({why})"
    );
}

/// The program `name` (e.g. `helm`): the file the environment variable `variable` names, or
/// else the first on `PATH`; `None` when there is neither.
pub fn tool(variable: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        let path = std::path::PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable}={} does not name a file",
            path.display()
        );
        return Some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A client for the configured cluster, or `None` (and `skipped: no cluster`) when the suite
/// is not asked for or the cluster does not answer.
pub async fn cluster() -> Option<Client> {
    if std::env::var("MCO_E2E").as_deref() != Ok("1") {
        skipped("set MCO_E2E=1 and a kubeconfig to run the end-to-end suite");
        return None;
    }
    let client = match Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            skipped(&e.to_string());
            return None;
        }
    };
    match client.apiserver_version().await {
        Ok(_) => Some(client),
        Err(e) => {
            skipped(&e.to_string());
            None
        }
    }
}

/// Applies `crds` (the generated ones, with their file names) with server-side apply and
/// waits until they are established.
pub async fn install_crds(client: &Client, crds: Vec<(&str, CustomResourceDefinition)>) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in &crds {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(crd),
        )
        .await
        .expect("CRD applies");
    }
    for (_, crd) in &crds {
        let name = crd.metadata.name.clone().unwrap();
        let mut established = false;
        for _ in 0..100 {
            let current = api.get(&name).await.expect("CRD readable");
            established = current.status.and_then(|s| s.conditions).is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(established, "CRD {name} was not established");
    }
}

/// Deletes the ModelDeployments of `namespace` and lifts their finalizers by a merge patch, so
/// that the namespace can go when no operator is left to release them (a test stopped or
/// failed). Deleted first, they are out of reach of an admission policy that would add the
/// finalizer back.
pub async fn lift_finalizers(client: &Client, namespace: &str) {
    use futures::StreamExt;
    use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("modelcompliance.io", "v1alpha1", "ModelDeployment"),
        "modeldeployments",
    );
    let deployments: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &resource);
    let _ = deployments
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    let Ok(list) = deployments.list_metadata(&ListParams::default()).await else {
        return;
    };
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    futures::stream::iter(list.items)
        .filter(|d| {
            std::future::ready(
                d.metadata
                    .finalizers
                    .as_ref()
                    .is_some_and(|f| !f.is_empty()),
            )
        })
        .for_each_concurrent(32, |d| {
            let (deployments, patch) = (&deployments, &patch);
            async move {
                let name = d.metadata.name.unwrap_or_default();
                let _ = deployments
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await;
            }
        })
        .await;
}
