//! Objects read lean. A compact Pod for the cache: only the fields the decisions read. A
//! typed `Pod` costs kilobytes even when trimmed (every optional field takes room); with tens
//! of thousands of pods that would dominate the operator's memory. And the answer to a write
//! of which only the metadata is read back ([`Answer`]).

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerStatus, PersistentVolumeClaimVolumeSource, Pod, PodSpec,
    PodStatus, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::{Deserialize, Serialize};

/// A Pod as the operator caches it. Deserializes from a full Pod, ignoring everything else.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlimPod {
    #[serde(deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SlimPodSpec,
    #[serde(default)]
    pub status: SlimPodStatus,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimPodSpec {
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default)]
    pub node_name: Option<String>,
    #[serde(default)]
    pub containers: Vec<SlimContainer>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub volumes: Vec<SlimVolume>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimContainer {
    pub name: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub ports: Vec<SlimPort>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimPort {
    #[serde(default)]
    pub name: Option<String>,
    pub container_port: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimVolume {
    pub name: String,
    #[serde(default)]
    pub persistent_volume_claim: Option<SlimClaim>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimClaim {
    pub claim_name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimPodStatus {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub container_statuses: Vec<SlimContainerStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlimContainerStatus {
    pub name: String,
    #[serde(default)]
    pub ready: bool,
}

/// Object metadata read without `managedFields` and annotations, which no decision about a pod
/// reads: every pod event carries them, and parsing `managedFields` into JSON values cost
/// more than the rest of a pod's metadata. Unknown keys are skipped without being kept.
fn lean_meta<'de, D>(d: D) -> Result<ObjectMeta, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
    use std::collections::BTreeMap;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Lean {
        name: Option<String>,
        generate_name: Option<String>,
        namespace: Option<String>,
        uid: Option<String>,
        resource_version: Option<String>,
        generation: Option<i64>,
        creation_timestamp: Option<Time>,
        deletion_timestamp: Option<Time>,
        labels: Option<BTreeMap<String, String>>,
        owner_references: Option<Vec<OwnerReference>>,
        finalizers: Option<Vec<String>>,
    }
    let lean = Lean::deserialize(d)?;
    Ok(ObjectMeta {
        name: lean.name,
        generate_name: lean.generate_name,
        namespace: lean.namespace,
        uid: lean.uid,
        resource_version: lean.resource_version,
        generation: lean.generation,
        creation_timestamp: lean.creation_timestamp,
        deletion_timestamp: lean.deletion_timestamp,
        labels: lean.labels,
        owner_references: lean.owner_references,
        finalizers: lean.finalizers,
        ..ObjectMeta::default()
    })
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Resource for SlimPod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The answer to a write of an object of kind `K` whose stored form the operator does not
/// read back, only its version (to know the write's echo): its metadata without
/// `managedFields`. A ModelDeployment's answer carries its whole status and the field
/// manager entries of every condition, which are parsed for nothing otherwise.
#[derive(Debug, Deserialize)]
pub struct Answer<K> {
    #[serde(deserialize_with = "lean_meta")]
    pub metadata: ObjectMeta,
    #[serde(skip)]
    kind: std::marker::PhantomData<K>,
}

impl<K: Resource<DynamicType = ()>> Resource for Answer<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(_: &()) -> Cow<'_, str> {
        K::kind(&())
    }
    fn group(_: &()) -> Cow<'_, str> {
        K::group(&())
    }
    fn version(_: &()) -> Cow<'_, str> {
        K::version(&())
    }
    fn plural(_: &()) -> Cow<'_, str> {
        K::plural(&())
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// A patch of `name` (of its `status` subresource when `status`), answered by its metadata.
pub async fn patch_answered<K, P>(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    params: &kube::api::PatchParams,
    patch: &kube::api::Patch<P>,
    status: bool,
) -> Result<Answer<K>, kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    P: Serialize + std::fmt::Debug,
{
    let request = kube::core::Request::new(K::url_path(&(), Some(namespace)));
    let (built, verb) = if status {
        (
            request.patch_subresource("status", name, params, patch),
            "patch_status",
        )
    } else {
        (request.patch(name, params, patch), "patch")
    };
    let mut built = built.map_err(kube::Error::BuildRequest)?;
    // As kube's own `Api` names its requests, for the client's tracing.
    built.extensions_mut().insert(verb);
    client.request(built).await
}

impl SlimPod {
    /// The claims its volumes mount.
    pub fn claims(&self) -> impl Iterator<Item = &str> {
        self.spec
            .volumes
            .iter()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.as_str())
    }

    /// The typed Pod the evaluation reads, with the cached fields.
    pub fn to_pod(&self) -> Pod {
        Pod {
            metadata: self.metadata.clone(),
            spec: Some(PodSpec {
                service_account_name: self.spec.service_account_name.clone(),
                node_name: self.spec.node_name.clone(),
                containers: self
                    .spec
                    .containers
                    .iter()
                    .map(|c| Container {
                        name: c.name.clone(),
                        image: c.image.clone(),
                        ports: Some(
                            c.ports
                                .iter()
                                .map(|p| ContainerPort {
                                    name: p.name.clone(),
                                    container_port: p.container_port,
                                    ..Default::default()
                                })
                                .collect(),
                        ),
                        ..Default::default()
                    })
                    .collect(),
                volumes: Some(
                    self.spec
                        .volumes
                        .iter()
                        .map(|v| Volume {
                            name: v.name.clone(),
                            persistent_volume_claim: v.persistent_volume_claim.as_ref().map(|c| {
                                PersistentVolumeClaimVolumeSource {
                                    claim_name: c.claim_name.clone(),
                                    read_only: None,
                                }
                            }),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: Some(PodStatus {
                container_statuses: Some(
                    self.status
                        .container_statuses
                        .iter()
                        .map(|c| ContainerStatus {
                            name: c.name.clone(),
                            ready: c.ready,
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_keeps_the_version_and_not_the_fields_it_carries() {
        use crate::api::ModelDeployment;
        let answer: Answer<ModelDeployment> = serde_json::from_value(json!({
            "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": "chat", "namespace": "serve", "resourceVersion": "42",
                         "finalizers": ["modelcompliance.io/cleanup"],
                         "managedFields": [{"manager": "m", "operation": "Apply",
                                            "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}]},
            "spec": {"anything": ["the answer does not read"]},
            "status": {"conditions": [{"type": "Ready"}]}
        }))
        .unwrap();
        assert_eq!(answer.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(answer.metadata.name.as_deref(), Some("chat"));
        assert_eq!(answer.metadata.namespace.as_deref(), Some("serve"));
        assert_eq!(answer.metadata.managed_fields, None);
        assert_eq!(Answer::<ModelDeployment>::kind(&()), "ModelDeployment");
        assert_eq!(
            Answer::<ModelDeployment>::url_path(&(), Some("serve")),
            ModelDeployment::url_path(&(), Some("serve"))
        );
    }

    #[test]
    fn reads_a_full_pod_and_keeps_what_decisions_need() {
        let full = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}, "uid": "u",
                         "resourceVersion": "7", "annotations": {"note": "long text"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": "rs", "uid": "r", "controller": true}],
                         "managedFields": [{"manager": "kubelet", "operation": "Update",
                                            "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}]},
            "spec": {"serviceAccountName": "sa", "nodeName": "node-1",
                     "containers": [{"name": "c", "image": "i", "env": [{"name": "E", "value": "v"}],
                                     "ports": [{"containerPort": 8480, "name": "http"}]}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "corpus"}}, {"name": "t", "emptyDir": {}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true, "image": "i", "imageID": "i", "restartCount": 0}]}
        });
        let slim: SlimPod = serde_json::from_value(full).unwrap();
        // Metadata keeps what pod decisions read, not the managed fields or annotations.
        let meta = &slim.metadata;
        assert_eq!(meta.labels.as_ref().unwrap()["app"], "x");
        assert_eq!(meta.owner_references.as_ref().unwrap()[0].name, "rs");
        assert_eq!(
            (meta.uid.as_deref(), meta.resource_version.as_deref()),
            (Some("u"), Some("7"))
        );
        assert_eq!((&meta.managed_fields, &meta.annotations), (&None, &None));
        let pod = slim.to_pod();
        let spec = pod.spec.unwrap();
        assert_eq!(spec.service_account_name.as_deref(), Some("sa"));
        assert_eq!(spec.node_name.as_deref(), Some("node-1"));
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].container_port,
            8480
        );
        assert_eq!(spec.containers[0].env, None);
        let claims: Vec<_> = spec
            .volumes
            .unwrap()
            .iter()
            .filter_map(|v| v.persistent_volume_claim.clone())
            .collect();
        assert_eq!(claims[0].claim_name, "corpus");
        assert!(pod.status.unwrap().container_statuses.unwrap()[0].ready);
        assert!(std::mem::size_of::<SlimPod>() < std::mem::size_of::<Pod>() / 2);
    }

    #[test]
    fn null_lists_read_as_empty() {
        let slim: SlimPod = serde_json::from_value(json!({
            "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "ports": null}], "volumes": null},
            "status": {"containerStatuses": null}
        }))
        .unwrap();
        assert!(slim.spec.volumes.is_empty() && slim.status.container_statuses.is_empty());
    }
}
