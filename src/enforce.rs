//! The objects the operator creates for a ModelDeployment in Enforce mode, built as pure
//! functions of the resources: the NetworkPolicy isolating training (8.1a), the Role and
//! RoleBinding for training-data readers (8.1a, row 19), and the deny-all NetworkPolicy of the
//! kill switch (row 40).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use kube::Resource;

use crate::api::{CompliancePolicy, EnforcementMode, ModelDeployment, RiskTreatment};
use crate::evaluate::Evaluation;

/// Field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "model-compliance-operator";
/// Label on every object the operator creates, so that they can be listed and cleaned up.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "model-compliance-operator");
/// Label naming the ModelDeployment (by uid: names can be longer than a label value).
pub const DEPLOYMENT_UID: &str = "modelcompliance.io/deployment-uid";
/// Label naming the control an object implements.
pub const CONTROL: &str = "modelcompliance.io/control";
/// Annotation with `namespace/name` of the ModelDeployment, for people.
pub const DEPLOYMENT_ANNOTATION: &str = "modelcompliance.io/deployment";

/// Which control an object implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Control {
    Isolation,
    AccessControl,
    KillSwitch,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Isolation => "isolation",
            Control::AccessControl => "access-control",
            Control::KillSwitch => "kill-switch",
        }
    }
}

/// An object the operator wants to exist. Adding a kind fails to compile until the applier
/// handles it.
#[derive(Clone, Debug, PartialEq)]
pub enum Desired {
    NetworkPolicy(NetworkPolicy),
    Role(Role),
    RoleBinding(RoleBinding),
}

impl Desired {
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Desired::NetworkPolicy(o) => &o.metadata,
            Desired::Role(o) => &o.metadata,
            Desired::RoleBinding(o) => &o.metadata,
        }
    }

    /// A reference to the object, for Events.
    pub fn reference(&self) -> k8s_openapi::api::core::v1::ObjectReference {
        let api_version = match self {
            Desired::NetworkPolicy(_) => "networking.k8s.io/v1",
            Desired::Role(_) | Desired::RoleBinding(_) => "rbac.authorization.k8s.io/v1",
        };
        k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(api_version.into()),
            kind: Some(self.kind().into()),
            name: self.metadata().name.clone(),
            namespace: self.metadata().namespace.clone(),
            ..Default::default()
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Desired::NetworkPolicy(_) => "NetworkPolicy",
            Desired::Role(_) => "Role",
            Desired::RoleBinding(_) => "RoleBinding",
        }
    }
}

/// The cluster as it will be once the desired objects are applied and the deployment's other
/// objects deleted: what this deployment owns in `snapshot` is replaced by `desired`.
pub fn overlay(
    snapshot: &mut crate::snapshot::Snapshot,
    deployment: &ModelDeployment,
    desired: &[Desired],
) {
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    let owned = |meta: &ObjectMeta| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(DEPLOYMENT_UID))
            .is_some_and(|v| v == uid)
    };
    for objects in snapshot.namespaces.values_mut() {
        objects.network_policies.retain(|o| !owned(&o.metadata));
        objects.roles.retain(|o| !owned(&o.metadata));
        objects.role_bindings.retain(|o| !owned(&o.metadata));
    }
    for object in desired {
        let name = object.metadata().name.as_deref();
        let objects = snapshot.ns_mut(object.metadata().namespace.as_deref().unwrap_or_default());
        // A same-named object of someone else's is replaced, as the forced apply will.
        match object {
            Desired::NetworkPolicy(o) => {
                objects
                    .network_policies
                    .retain(|x| x.metadata.name.as_deref() != name);
                objects.network_policies.push(o.clone());
            }
            Desired::Role(o) => {
                objects.roles.retain(|x| x.metadata.name.as_deref() != name);
                objects.roles.push(o.clone());
            }
            Desired::RoleBinding(o) => {
                objects
                    .role_bindings
                    .retain(|x| x.metadata.name.as_deref() != name);
                objects.role_bindings.push(o.clone());
            }
        }
    }
}

/// Whether inference is to be cut: the kill switch, or an unacceptable risk under
/// `SuspendInference`.
pub fn suspended(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    evaluation: &Evaluation,
) -> bool {
    deployment.spec.suspend
        || (policy.spec.risk_acceptance.treatment == RiskTreatment::SuspendInference
            && !evaluation.acceptable)
}

/// Object names: `mco-<deployment>-<suffix>` in the deployment's own namespace, and
/// `mco-<namespace>.<deployment>-<suffix>` elsewhere, so that deployments of the same name in
/// different namespaces never share an object. Cut to stay a valid name.
fn object_name(deployment: &ModelDeployment, namespace: &str, suffix: &str) -> String {
    let name = deployment.metadata.name.as_deref().unwrap_or("");
    let own = deployment
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("default");
    let base = if own == namespace {
        name.to_owned()
    } else {
        format!("{own}.{name}")
    };
    let room = 253 - "mco--".len() - suffix.len();
    let base: String = base.chars().take(room).collect();
    format!("mco-{}-{suffix}", base.trim_end_matches(['-', '.']))
}

fn metadata(
    deployment: &ModelDeployment,
    name: String,
    namespace: &str,
    control: Control,
) -> ObjectMeta {
    let uid = deployment.metadata.uid.clone().unwrap_or_default();
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (DEPLOYMENT_UID.to_owned(), uid),
        (CONTROL.to_owned(), control.as_str().to_owned()),
    ]);
    let owner = format!(
        "{}/{}",
        deployment
            .metadata
            .namespace
            .as_deref()
            .unwrap_or("default"),
        deployment.metadata.name.as_deref().unwrap_or("")
    );
    // Owner references cannot cross namespaces; objects elsewhere are found by label.
    let same_namespace = deployment.metadata.namespace.as_deref() == Some(namespace);
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        annotations: Some(BTreeMap::from([(DEPLOYMENT_ANNOTATION.to_owned(), owner)])),
        owner_references: same_namespace
            .then(|| deployment.controller_owner_ref(&()).into_iter().collect()),
        ..Default::default()
    }
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                namespace.to_owned(),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Everything the operator wants to exist for `deployment` under `policy`, sorted by kind,
/// namespace and name.
pub fn desired(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    suspend: bool,
) -> Vec<Desired> {
    let mut out = Vec::new();
    let spec = &deployment.spec;
    let controls = &policy.spec.controls;

    if let (Some(training), Some(_), EnforcementMode::Enforce) = (
        spec.training.as_ref(),
        spec.inference.as_ref(),
        controls.isolation.mode,
    ) {
        // Training pods are reachable only from their peers and the policy's namespaces; so
        // inference pods, wherever they run, cannot reach them.
        let mut from = vec![NetworkPolicyPeer {
            pod_selector: Some(training.pod_selector.clone()),
            ..Default::default()
        }];
        from.extend(
            controls
                .isolation
                .allowed_namespaces
                .iter()
                .map(|ns| namespace_peer(ns)),
        );
        out.push(Desired::NetworkPolicy(NetworkPolicy {
            metadata: metadata(
                deployment,
                object_name(deployment, &training.namespace, "isolate-training"),
                &training.namespace,
                Control::Isolation,
            ),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(training.pod_selector.clone()),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(from),
                    ports: None,
                }]),
                egress: None,
            }),
        }));
    }

    if let (Some(training), EnforcementMode::Enforce) =
        (spec.training.as_ref(), controls.access_control.mode)
    {
        let readers = &controls.access_control.readers;
        let claims: Vec<String> = training
            .data_volumes
            .iter()
            .chain(&training.safety_annotation_volumes)
            .cloned()
            .collect();
        if !readers.is_empty() && (!claims.is_empty() || !training.data_secrets.is_empty()) {
            let role_name = object_name(deployment, &training.namespace, "training-data-reader");
            let read = |resource: &str, names: Vec<String>| PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec![resource.to_owned()]),
                resource_names: Some(names),
                verbs: vec!["get".into(), "list".into(), "watch".into()],
                ..Default::default()
            };
            let mut rules = Vec::new();
            if !claims.is_empty() {
                rules.push(read("persistentvolumeclaims", claims));
            }
            if !training.data_secrets.is_empty() {
                rules.push(read("secrets", training.data_secrets.clone()));
            }
            out.push(Desired::Role(Role {
                metadata: metadata(
                    deployment,
                    role_name.clone(),
                    &training.namespace,
                    Control::AccessControl,
                ),
                rules: Some(rules),
            }));
            let subjects = readers
                .iter()
                .map(|r| Subject {
                    kind: r.kind.as_str().to_owned(),
                    name: r.name.clone(),
                    namespace: r.namespace.clone(),
                    api_group: match r.kind {
                        crate::api::ReaderKind::ServiceAccount => None,
                        _ => Some("rbac.authorization.k8s.io".into()),
                    },
                })
                .collect();
            out.push(Desired::RoleBinding(RoleBinding {
                metadata: metadata(
                    deployment,
                    role_name.clone(),
                    &training.namespace,
                    Control::AccessControl,
                ),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: role_name,
                },
                subjects: Some(subjects),
            }));
        }
    }

    if let (Some(inference), true) = (spec.inference.as_ref(), suspend)
        && !crate::evaluate::selector::is_empty(&inference.pod_selector)
    {
        // No ingress rule: all ingress to the inference pods is denied.
        out.push(Desired::NetworkPolicy(NetworkPolicy {
            metadata: metadata(
                deployment,
                object_name(deployment, &inference.namespace, "suspend"),
                &inference.namespace,
                Control::KillSwitch,
            ),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(inference.pod_selector.clone()),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: None,
                egress: None,
            }),
        }));
    }
    out.sort_by(|a, b| {
        (a.kind(), &a.metadata().namespace, &a.metadata().name).cmp(&(
            b.kind(),
            &b.metadata().namespace,
            &b.metadata().name,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(controls: serde_json::Value) -> CompliancePolicy {
        serde_json::from_value(json!({
            "apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy",
            "metadata": {"name": "p"},
            "spec": {"controls": controls}
        }))
        .unwrap()
    }

    fn deployment(suspend: bool) -> ModelDeployment {
        serde_json::from_value(json!({
            "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": "chat", "namespace": "serve", "uid": "0000-1111"},
            "spec": {
                "policyRef": "p", "suspend": suspend,
                "model": {"name": "m", "version": "1", "modalities": ["Text"]},
                "training": {
                    "namespace": "train", "podSelector": {"matchLabels": {"role": "trainer"}},
                    "dataVolumes": ["corpus"], "safetyAnnotationVolumes": ["safety"], "dataSecrets": ["s3-keys"]
                },
                "inference": {"namespace": "serve", "podSelector": {"matchLabels": {"app": "chat"}}, "port": 8000}
            }
        }))
        .unwrap()
    }

    fn readers() -> serde_json::Value {
        json!({
            "isolation": {"allowedNamespaces": ["monitoring"]},
            "accessControl": {"readers": [
                {"kind": "Group", "name": "data-stewards"},
                {"kind": "ServiceAccount", "name": "trainer", "namespace": "train"}
            ]}
        })
    }

    fn to_json(d: &Desired) -> serde_json::Value {
        match d {
            Desired::NetworkPolicy(o) => serde_json::to_value(o),
            Desired::Role(o) => serde_json::to_value(o),
            Desired::RoleBinding(o) => serde_json::to_value(o),
        }
        .unwrap()
    }

    #[test]
    fn enforce_mode_builds_isolation_and_reader_rbac() {
        let objects: Vec<serde_json::Value> =
            desired(&policy(readers()), &deployment(false), false)
                .iter()
                .map(to_json)
                .collect();
        assert_eq!(objects.len(), 3);
        assert_eq!(
            objects[0],
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {
                    "name": "mco-serve.chat-isolate-training", "namespace": "train",
                    "labels": {
                        "app.kubernetes.io/managed-by": "model-compliance-operator",
                        "modelcompliance.io/deployment-uid": "0000-1111",
                        "modelcompliance.io/control": "isolation"
                    },
                    "annotations": {"modelcompliance.io/deployment": "serve/chat"}
                },
                "spec": {
                    "podSelector": {"matchLabels": {"role": "trainer"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [
                        {"podSelector": {"matchLabels": {"role": "trainer"}}},
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
                    ]}]
                }
            })
        );
        assert_eq!(
            objects[1]["metadata"]["name"],
            "mco-serve.chat-training-data-reader"
        );
        assert_eq!(
            objects[1]["rules"],
            json!([
                {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "resourceNames": ["corpus", "safety"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s3-keys"], "verbs": ["get", "list", "watch"]}
            ])
        );
        assert_eq!(
            objects[2]["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mco-serve.chat-training-data-reader"})
        );
        assert_eq!(
            objects[2]["subjects"],
            json!([
                {"kind": "Group", "name": "data-stewards", "apiGroup": "rbac.authorization.k8s.io"},
                {"kind": "ServiceAccount", "name": "trainer", "namespace": "train"}
            ])
        );
    }

    #[test]
    fn audit_mode_builds_nothing_and_suspend_adds_deny_all() {
        let audit = policy(
            json!({"isolation": {"mode": "Audit"}, "accessControl": {"mode": "Audit", "readers": [{"kind": "User", "name": "a"}]}}),
        );
        assert!(desired(&audit, &deployment(false), false).is_empty());
        let objects = desired(&audit, &deployment(true), true);
        assert_eq!(objects.len(), 1);
        assert_eq!(
            to_json(&objects[0])["spec"],
            json!({"podSelector": {"matchLabels": {"app": "chat"}}, "policyTypes": ["Ingress"]})
        );
        assert_eq!(
            objects[0].metadata().name.as_deref(),
            Some("mco-chat-suspend")
        );
        assert_eq!(objects[0].metadata().namespace.as_deref(), Some("serve"));
    }

    #[test]
    fn no_readers_no_rbac_and_long_names_are_cut() {
        let objects = desired(&policy(json!({})), &deployment(false), false);
        assert_eq!(
            objects.iter().map(Desired::kind).collect::<Vec<_>>(),
            ["NetworkPolicy"]
        );
        let mut long = deployment(false);
        long.metadata.name = Some("a".repeat(253));
        let name = object_name(&long, "train", "training-data-reader");
        assert!(name.len() <= 253, "{}", name.len());
        assert!(name.ends_with("-training-data-reader"));
    }
}
