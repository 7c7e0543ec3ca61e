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

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{CompliancePolicy, EnforcementMode, ModelDeployment};
use crate::labels::{CONTROL, DEPLOYMENT_ANNOTATION, DEPLOYMENT_UID, FIELD_MANAGER, MANAGED_BY};
use crate::snapshot::{NamespaceObjects, Snapshot, VeleroSchedule, VolumeSnapshot};

mod backup;
mod sidecar;

pub use sidecar::{Injected, PORT_NAME as SIDECAR_PORT_NAME, Workload};

/// Which control an object implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Control {
    Isolation,
    AccessControl,
    KillSwitch,
    Sidecar,
    Backup,
    RestoreDrill,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Isolation => "isolation",
            Control::AccessControl => "access-control",
            Control::KillSwitch => "kill-switch",
            Control::Sidecar => "sidecar",
            Control::Backup => "backup",
            Control::RestoreDrill => "restore-drill",
        }
    }
}

/// How an object of an owned kind is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Server-side apply under the kind's field manager, forced: the object is the operator's.
    Apply,
    /// Created once if it does not exist, never changed afterwards (keys).
    Create,
}

/// What becomes of an object of an owned kind that is no longer needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Deleted.
    Delete,
    /// The fields the kind's field manager owns are given up by applying nothing under it;
    /// the object, someone else's, stays.
    Withdraw,
    /// Kept: it holds data that must outlive the control (a key content was labeled with).
    Keep,
}

/// A kind of object the operator writes. Implemented once per kind; applying, comparing with
/// what is observed, overlaying on a snapshot and releasing what is no longer needed are
/// generic over it.
pub trait OwnedKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The field manager its writes are made under.
    const FIELD_MANAGER: &'static str = FIELD_MANAGER;
    const WRITE: Write = Write::Apply;
    const RELEASE: Release = Release::Delete;
    /// Whether what is observed in one namespace already holds `want` as it would be written.
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool;
    /// Puts an object as written (the API's answer, or a desired object in an overlay) among
    /// what is observed, in place of the same-named one.
    fn record(objects: &mut NamespaceObjects, object: Self);
    /// Forgets, among what is observed, what `owned` says the operator wrote: after it was
    /// released, or before an overlay puts the desired objects in its place.
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool);
    /// Completes an object of a [`Write::Create`] kind just before it is created.
    fn on_create(&mut self) {}
}

/// [`OwnedKind`] for kinds kept whole in one list of a snapshot: an object is in place when
/// the same-named one carries every label the desired one sets and `same` content.
pub mod whole {
    use super::*;

    pub fn in_place<K: Resource>(have: &[K], want: &K, same: impl Fn(&K, &K) -> bool) -> bool {
        have.iter()
            .find(|o| o.meta().name == want.meta().name)
            .is_some_and(|o| labels_in_place(o.meta(), want.meta()) && same(o, want))
    }

    pub fn record<K: Resource>(have: &mut Vec<K>, object: K) {
        match have
            .iter()
            .position(|o| o.meta().name == object.meta().name)
        {
            Some(i) => have[i] = object,
            None => have.push(object),
        }
    }

    pub fn forget<K: Resource>(have: &mut Vec<K>, owned: &dyn Fn(&ObjectMeta) -> bool) {
        have.retain(|o| !owned(o.meta()));
    }
}

/// Whether `have` carries every label `want` sets.
pub fn labels_in_place(have: &ObjectMeta, want: &ObjectMeta) -> bool {
    let empty = BTreeMap::new();
    let have = have.labels.as_ref().unwrap_or(&empty);
    want.labels
        .iter()
        .flatten()
        .all(|(k, v)| have.get(k) == Some(v))
}

impl OwnedKind for NetworkPolicy {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        whole::in_place(&objects.network_policies, want, |h, w| h.spec == w.spec)
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.network_policies, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.network_policies, owned);
    }
}

impl OwnedKind for Role {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        whole::in_place(&objects.roles, want, |h, w| h.rules == w.rules)
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.roles, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.roles, owned);
    }
}

impl OwnedKind for RoleBinding {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        whole::in_place(&objects.role_bindings, want, |h, w| {
            h.role_ref == w.role_ref && h.subjects == w.subjects
        })
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.role_bindings, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.role_bindings, owned);
    }
}

/// Everything the operator wants to exist for one ModelDeployment, by kind; each list sorted
/// by namespace and name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DesiredObjects {
    pub network_policies: Vec<NetworkPolicy>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    /// Labeling keys of the sidecar: created if missing, before the workloads that mount them.
    pub secrets: Vec<Secret>,
    /// The sidecar's entries in inference Deployments.
    pub deployment_sidecars: Vec<Injected<Deployment>>,
    /// The sidecar's entries in inference StatefulSets.
    pub stateful_set_sidecars: Vec<Injected<StatefulSet>>,
    /// Backups to take now and backups to keep; the operator's others are deleted.
    pub volume_snapshots: Vec<VolumeSnapshot>,
    /// Claims of a restore drill in progress.
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    /// The Velero Schedule of the Velero engine.
    pub velero_schedules: Vec<VeleroSchedule>,
}

/// Something done for each owned kind, with the desired objects of that kind.
pub trait ForEachKind {
    fn kind<K: OwnedKind>(&mut self, desired: &[K]);
}

impl DesiredObjects {
    /// Calls `f` once per owned kind, in the order the objects are applied. The destructuring
    /// names every field: a kind added here fails to compile until it is visited.
    pub fn for_each_kind(&self, f: &mut impl ForEachKind) {
        let DesiredObjects {
            network_policies,
            roles,
            role_bindings,
            secrets,
            deployment_sidecars,
            stateful_set_sidecars,
            volume_snapshots,
            persistent_volume_claims,
            velero_schedules,
        } = self;
        f.kind(network_policies);
        f.kind(roles);
        f.kind(role_bindings);
        f.kind(secrets);
        f.kind(deployment_sidecars);
        f.kind(stateful_set_sidecars);
        f.kind(volume_snapshots);
        f.kind(persistent_volume_claims);
        f.kind(velero_schedules);
    }

    /// References to every object, in the order they are applied.
    pub fn references(&self) -> Vec<ObjectReference> {
        struct Collect(Vec<ObjectReference>);
        impl ForEachKind for Collect {
            fn kind<K: OwnedKind>(&mut self, desired: &[K]) {
                self.0.extend(desired.iter().map(reference));
            }
        }
        let mut out = Collect(Vec::new());
        self.for_each_kind(&mut out);
        out.0
    }

    pub fn len(&self) -> usize {
        struct Count(usize);
        impl ForEachKind for Count {
            fn kind<K: OwnedKind>(&mut self, desired: &[K]) {
                self.0 += desired.len();
            }
        }
        let mut count = Count(0);
        self.for_each_kind(&mut count);
        count.0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A reference to an object, for Events.
pub fn reference<K: OwnedKind>(object: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: object.meta().name.clone(),
        namespace: object.meta().namespace.clone(),
        ..Default::default()
    }
}

/// Whether `meta` carries the label naming the ModelDeployment with `uid`.
pub fn owned_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(DEPLOYMENT_UID))
        .is_some_and(|v| v == uid)
}

/// The cluster as it will be once the desired objects are applied and the deployment's other
/// objects deleted: what this deployment owns in `snapshot` is replaced by `desired`.
pub fn overlay(snapshot: &mut Snapshot, deployment: &ModelDeployment, desired: &DesiredObjects) {
    struct Overlay<'a> {
        snapshot: &'a mut Snapshot,
        uid: &'a str,
    }
    impl ForEachKind for Overlay<'_> {
        fn kind<K: OwnedKind>(&mut self, desired: &[K]) {
            let uid = self.uid;
            if K::RELEASE != Release::Keep {
                for objects in self.snapshot.namespaces.values_mut() {
                    K::forget(objects, &|meta| owned_by(meta, uid));
                }
            }
            for want in desired {
                let namespace = want.meta().namespace.as_deref().unwrap_or_default();
                // A same-named object of someone else's is replaced, as the forced apply will.
                K::record(self.snapshot.ns_mut(namespace), want.clone());
            }
        }
    }
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    desired.for_each_kind(&mut Overlay { snapshot, uid });
}

/// Object names: `mco-<deployment>-<suffix>` in the deployment's own namespace, and
/// `mco-<namespace>.<deployment>-<suffix>` elsewhere, so that deployments of the same name in
/// different namespaces never share an object. Cut to stay a valid name.
pub(crate) fn object_name(deployment: &ModelDeployment, namespace: &str, suffix: &str) -> String {
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

/// Everything the operator wants to exist for `deployment` under `policy`, given what is
/// observed (the workloads to inject into, the backups to keep) and the time (the backup
/// slot due): one builder per control.
pub fn desired(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    suspend: bool,
    now: Timestamp,
) -> DesiredObjects {
    let mut out = DesiredObjects::default();
    out.network_policies.extend(isolation(policy, deployment));
    if let Some((role, binding)) = training_data_readers(policy, deployment) {
        out.roles.push(role);
        out.role_bindings.push(binding);
    }
    out.network_policies
        .extend(kill_switch(deployment, suspend));
    sidecar::sidecars(policy, deployment, snapshot, &mut out);
    backup::snapshots(policy, deployment, snapshot, now, &mut out);
    backup::drill_claims(policy, deployment, snapshot, now, &mut out);
    backup::velero_schedule(policy, deployment, snapshot, now, &mut out);
    out.sort();
    out
}

/// What stays when `deployment` is deleted: its backups, unless the policy says
/// `deleteWithDeployment` (the policy gone, they stay). Everything else it owns goes.
pub fn kept_on_deletion(
    policy: Option<&CompliancePolicy>,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
) -> DesiredObjects {
    let mut out = DesiredObjects::default();
    if policy.is_some_and(|p| p.spec.controls.backup.delete_with_deployment) {
        return out;
    }
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    for objects in snapshot.namespaces.values() {
        out.volume_snapshots.extend(
            objects
                .volume_snapshots
                .iter()
                .filter(|s| owned_by(&s.metadata, uid))
                .cloned(),
        );
    }
    out.sort();
    out
}

impl DesiredObjects {
    /// Sorts every list by namespace and name. The destructuring names every field.
    fn sort(&mut self) {
        fn by_place<K: Resource>(objects: &mut [K]) {
            objects.sort_by(|a, b| {
                (&a.meta().namespace, &a.meta().name).cmp(&(&b.meta().namespace, &b.meta().name))
            });
        }
        let DesiredObjects {
            network_policies,
            roles,
            role_bindings,
            secrets,
            deployment_sidecars,
            stateful_set_sidecars,
            volume_snapshots,
            persistent_volume_claims,
            velero_schedules,
        } = self;
        by_place(network_policies);
        by_place(roles);
        by_place(role_bindings);
        by_place(secrets);
        by_place(deployment_sidecars);
        by_place(stateful_set_sidecars);
        by_place(volume_snapshots);
        by_place(persistent_volume_claims);
        by_place(velero_schedules);
    }
}

/// Isolation (8.1a): training pods are reachable only from their peers and the policy's
/// namespaces; so inference pods, wherever they run, cannot reach them.
fn isolation(policy: &CompliancePolicy, deployment: &ModelDeployment) -> Option<NetworkPolicy> {
    let isolation = &policy.spec.controls.isolation;
    let training = deployment.spec.training.as_ref()?;
    deployment.spec.inference.as_ref()?;
    if isolation.mode != EnforcementMode::Enforce {
        return None;
    }
    let mut from = vec![NetworkPolicyPeer {
        pod_selector: Some(training.pod_selector.clone()),
        ..Default::default()
    }];
    from.extend(
        isolation
            .allowed_namespaces
            .iter()
            .map(|ns| namespace_peer(ns)),
    );
    Some(NetworkPolicy {
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
    })
}

/// Access control (8.1a, row 19): a Role reading exactly the training volumes and secrets,
/// bound to the policy's named readers.
fn training_data_readers(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
) -> Option<(Role, RoleBinding)> {
    let access = &policy.spec.controls.access_control;
    let training = deployment.spec.training.as_ref()?;
    let claims: Vec<String> = training
        .data_volumes
        .iter()
        .chain(&training.safety_annotation_volumes)
        .cloned()
        .collect();
    if access.mode != EnforcementMode::Enforce
        || access.readers.is_empty()
        || (claims.is_empty() && training.data_secrets.is_empty())
    {
        return None;
    }
    let name = object_name(deployment, &training.namespace, "training-data-reader");
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
    let meta = metadata(
        deployment,
        name.clone(),
        &training.namespace,
        Control::AccessControl,
    );
    let subjects = access
        .readers
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
    let role = Role {
        metadata: meta.clone(),
        rules: Some(rules),
    };
    let binding = RoleBinding {
        metadata: meta,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name,
        },
        subjects: Some(subjects),
    };
    Some((role, binding))
}

/// Kill switch (row 40): no ingress rule, so all ingress to the inference pods is denied.
fn kill_switch(deployment: &ModelDeployment, suspend: bool) -> Option<NetworkPolicy> {
    let inference = deployment.spec.inference.as_ref()?;
    if !suspend || crate::api::selector::is_empty(&inference.pod_selector) {
        return None;
    }
    Some(NetworkPolicy {
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
    })
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

    /// What is desired where the snapshot API is missing: the controls other than backups.
    fn without_backups(
        policy: &CompliancePolicy,
        deployment: &ModelDeployment,
        suspend: bool,
    ) -> DesiredObjects {
        let snapshot = Snapshot {
            volume_snapshot_api_missing: true,
            ..Default::default()
        };
        desired(
            policy,
            deployment,
            &snapshot,
            suspend,
            Timestamp::UNIX_EPOCH,
        )
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

    /// Every object as JSON, in the order they are applied.
    fn to_json(objects: &DesiredObjects) -> Vec<serde_json::Value> {
        struct Json(Vec<serde_json::Value>);
        impl ForEachKind for Json {
            fn kind<K: OwnedKind>(&mut self, desired: &[K]) {
                self.0
                    .extend(desired.iter().map(|o| serde_json::to_value(o).unwrap()));
            }
        }
        let mut out = Json(Vec::new());
        objects.for_each_kind(&mut out);
        out.0
    }

    #[test]
    fn enforce_mode_builds_isolation_and_reader_rbac() {
        let objects = to_json(&without_backups(
            &policy(readers()),
            &deployment(false),
            false,
        ));
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
        assert!(without_backups(&audit, &deployment(false), false).is_empty());
        let objects = to_json(&without_backups(&audit, &deployment(true), true));
        assert_eq!(objects.len(), 1);
        assert_eq!(
            objects[0]["spec"],
            json!({"podSelector": {"matchLabels": {"app": "chat"}}, "policyTypes": ["Ingress"]})
        );
        assert_eq!(objects[0]["metadata"]["name"], "mco-chat-suspend");
        assert_eq!(objects[0]["metadata"]["namespace"], "serve");
    }

    #[test]
    fn no_readers_no_rbac_and_long_names_are_cut() {
        let objects = without_backups(&policy(json!({})), &deployment(false), false);
        assert_eq!(
            objects
                .references()
                .into_iter()
                .map(|r| r.kind.unwrap())
                .collect::<Vec<_>>(),
            ["NetworkPolicy"]
        );
        let mut long = deployment(false);
        long.metadata.name = Some("a".repeat(253));
        let name = object_name(&long, "train", "training-data-reader");
        assert!(name.len() <= 253, "{}", name.len());
        assert!(name.ends_with("-training-data-reader"));
    }
}
