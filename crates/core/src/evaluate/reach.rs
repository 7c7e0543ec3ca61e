//! Which deployments' decisions an observed object can change: the controller wakes only
//! those when it changes. Each rule follows what a control reads, and sits here, beside the
//! controls, so that the two change together; the tests run both.
//!
//! An object of another kind, or one no rule here covers, reaches every deployment that
//! reads its namespace.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::controls::access::made_for_another;
use crate::api::{ModelDeploymentSpec, selector};
use crate::backups::ready;
use crate::desired::owned_by;
use crate::snapshot::VolumeSnapshot;

/// Labels of a pod of the namespace an object changed in.
pub type PodLabels<'a> = Option<&'a BTreeMap<String, String>>;

/// A NetworkPolicy of `namespace` selecting pods by `policy_selector` reaches the deployment
/// when it selects one of its training pods (isolation judges the policies that select
/// them), or when it is the deny-all of its inference pods (the kill switch looks for a
/// policy with the inference selector), or selects one of them.
///
/// `pods` are the namespace's, or any part of them holding every pod the policy selects (see
/// [`selected`]) or every pod of the deployment (see [`own_pods`]): the rule looks only at
/// pods that are both, so a caller with many pods and many policies narrows them first.
pub fn network_policy(
    spec: &ModelDeploymentSpec,
    namespace: &str,
    policy_selector: &LabelSelector,
    pods: &[PodLabels],
) -> bool {
    let selects_one_of = |own: &LabelSelector| {
        pods.iter().any(|labels| {
            selector::matches(own, *labels) && selector::matches(policy_selector, *labels)
        })
    };
    let training = spec
        .training
        .iter()
        .any(|t| t.namespace == namespace && selects_one_of(&t.pod_selector));
    let inference = spec.inference.iter().any(|i| {
        i.namespace == namespace
            && (&i.pod_selector == policy_selector || selects_one_of(&i.pod_selector))
    });
    training || inference
}

/// The deployment's training and inference selectors of pods of `namespace`.
pub fn own_selectors<'s>(spec: &'s ModelDeploymentSpec, namespace: &str) -> Vec<&'s LabelSelector> {
    spec.training
        .iter()
        .filter(|t| t.namespace == namespace)
        .map(|t| &t.pod_selector)
        .chain(
            spec.inference
                .iter()
                .filter(|i| i.namespace == namespace)
                .map(|i| &i.pod_selector),
        )
        .collect()
}

/// The safety-annotation volumes the deployment declares in `namespace`: a pod mounting one
/// reaches it (see [`pod`]).
pub fn safety_volumes<'s>(
    spec: &'s ModelDeploymentSpec,
    namespace: &str,
) -> impl Iterator<Item = &'s str> {
    spec.training
        .iter()
        .filter(move |t| t.namespace == namespace)
        .flat_map(|t| t.safety_annotation_volumes.iter().map(String::as_str))
}

/// The volumes the deployment declares in `namespace`: only backups of these reach it (see
/// [`volume_snapshot`]).
pub fn declared_volumes<'s>(
    spec: &'s ModelDeploymentSpec,
    namespace: &str,
) -> impl Iterator<Item = &'s str> {
    let training = spec
        .training
        .iter()
        .filter(move |t| t.namespace == namespace)
        .flat_map(|t| t.data_volumes.iter().chain(&t.safety_annotation_volumes));
    let inference = spec
        .inference
        .iter()
        .filter(move |i| i.namespace == namespace)
        .flat_map(|i| &i.model_volumes);
    training.chain(inference).map(String::as_str)
}

/// Of `pods` (of `namespace`), those the deployment's training or inference selector picks.
pub fn own_pods<'a>(
    spec: &ModelDeploymentSpec,
    namespace: &str,
    pods: impl IntoIterator<Item = PodLabels<'a>>,
) -> Vec<PodLabels<'a>> {
    let selectors = own_selectors(spec, namespace);
    pods.into_iter()
        .filter(|labels| selectors.iter().any(|s| selector::matches(s, *labels)))
        .collect()
}

/// Of `pods`, those `policy_selector` selects.
pub fn selected<'a>(
    policy_selector: &LabelSelector,
    pods: impl IntoIterator<Item = PodLabels<'a>>,
) -> Vec<PodLabels<'a>> {
    pods.into_iter()
        .filter(|labels| selector::matches(policy_selector, *labels))
        .collect()
}

/// A pod of `namespace` with `labels`, mounting `claims`, reaches the deployment when its
/// inference selector picks it, or, in its training namespace, when the training selector
/// picks it, when it mounts one of the deployment's safety-annotation volumes (a stranger
/// mounting them is a finding of row 23; isolation compares only trainers and servers), or
/// when it is `admitted`: an ingress peer of a
/// NetworkPolicy that reaches the deployment picks it (see [`peers`]; isolation reports the
/// strangers let in next to the trainers). No decision reads the other pods of a namespace,
/// so in a training namespace shared by many deployments one's trainers do not reach the
/// others. The controller gathers only these pods into a deployment's snapshot.
pub fn pod<'c>(
    spec: &ModelDeploymentSpec,
    namespace: &str,
    labels: PodLabels,
    mut claims: impl Iterator<Item = &'c str>,
    admitted: bool,
) -> bool {
    let inference = spec
        .inference
        .iter()
        .any(|i| i.namespace == namespace && selector::matches(&i.pod_selector, labels));
    inference
        || spec.training.iter().any(|t| {
            t.namespace == namespace
                && (admitted
                    || selector::matches(&t.pod_selector, labels)
                    || claims.any(|claim| t.safety_annotation_volumes.iter().any(|v| v == claim)))
        })
}

/// The labels a namespace selector sees on `namespace` (whose object is `object`): its own,
/// and the automatic `kubernetes.io/metadata.name`.
pub fn namespace_labels(namespace: &str, object: Option<&Namespace>) -> BTreeMap<String, String> {
    let mut labels = object
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), namespace.into());
    labels
}

/// The ingress peers of `policy` that may pick pods of the policy's own namespace (labelled
/// `namespace_labels`, see [`namespace_labels`]), by their pod selectors (`None`: every pod). A
/// peer without a namespace selector picks among the pods of the policy's namespace, one with
/// a selector among those of the namespaces it matches; an ipBlock picks no pod. Isolation reads the pods
/// they pick as strangers when the policy selects the trainers.
pub fn peers<'p>(
    policy: &'p NetworkPolicy,
    namespace_labels: &BTreeMap<String, String>,
) -> Vec<Option<&'p LabelSelector>> {
    policy
        .spec
        .iter()
        .flat_map(|s| s.ingress.iter().flatten())
        .flat_map(|rule| rule.from.iter().flatten())
        .filter(|peer| peer.ip_block.is_none())
        .filter(|peer| {
            peer.namespace_selector
                .as_ref()
                .is_none_or(|sel| selector::matches(sel, Some(namespace_labels)))
        })
        .map(|peer| peer.pod_selector.as_ref())
        .collect()
}

/// The peers (see [`peers`]) of `policies`, all of `namespace`, whose object is
/// `namespace_object`.
pub fn peers_of<'p>(
    policies: impl IntoIterator<Item = &'p NetworkPolicy>,
    namespace: &str,
    namespace_object: Option<&Namespace>,
) -> Vec<Option<&'p LabelSelector>> {
    let labels = namespace_labels(namespace, namespace_object);
    policies
        .into_iter()
        .flat_map(|np| peers(np, &labels))
        .collect()
}

/// Whether one of `peers` (see [`peers`]) picks the pod with `labels`.
pub fn admitted(peers: &[Option<&LabelSelector>], labels: PodLabels) -> bool {
    peers
        .iter()
        .any(|peer| peer.is_none_or(|sel| selector::matches(sel, labels)))
}

/// A RoleBinding of `namespace` reaches the deployment (of `uid`) when access control reads
/// it: in its training namespace, unless the operator made it for another deployment.
pub fn role_binding(
    spec: &ModelDeploymentSpec,
    uid: Option<&str>,
    namespace: &str,
    binding: &RoleBinding,
) -> bool {
    trains_in(spec, namespace) && !made_for_another(binding, uid)
}

/// Whether a RoleBinding, in any of `versions`, can reach a deployment it was not made for:
/// only one the operator did not make for a deployment can (see [`role_binding`]). When none
/// can, a change of it concerns its owner alone, and the readers of its namespace need not be
/// asked one by one: the bindings a fleet sharing a training namespace gets, one or two per
/// deployment, then wake one deployment each.
pub fn role_binding_reaches_others<'a>(
    mut versions: impl Iterator<Item = &'a RoleBinding>,
) -> bool {
    versions.any(|b| !made_for_another(b, None))
}

/// A Role of `namespace` reaches the deployment (of `uid`) when one of the bindings access
/// control reads refers to it. `referring` are the namespace's bindings that name it.
pub fn role(
    spec: &ModelDeploymentSpec,
    uid: Option<&str>,
    namespace: &str,
    referring: &[&RoleBinding],
) -> bool {
    trains_in(spec, namespace) && referring.iter().any(|b| !made_for_another(b, uid))
}

/// A VolumeSnapshot of `namespace` reaches the deployment (of `uid`) when it is a backup of
/// one of the volumes it declares there that the backup control counts: a ready one, whoever
/// took it (the age of the newest ready backup is the decision), or one the operator took for
/// this deployment (its restore drills start from them). Another deployment's snapshot of a
/// shared claim that is not ready yet changes nothing here, so the many snapshots a fleet
/// sharing a claim takes do not wake every deployment.
pub fn volume_snapshot(
    spec: &ModelDeploymentSpec,
    uid: Option<&str>,
    namespace: &str,
    snapshot: &VolumeSnapshot,
) -> bool {
    let Some(claim) = snapshot.spec.source.persistent_volume_claim_name.as_deref() else {
        return false;
    };
    // The cheap test first: a fleet's controllers ask it of every reader for each snapshot.
    (ready(snapshot) || uid.is_some_and(|uid| owned_by(&snapshot.metadata, uid)))
        && declares(spec, namespace, claim)
}

/// The part of [`volume_snapshot`] that does not ask who took the snapshot: a ready backup of
/// a volume the deployment declares. A caller that finds the deployment's own snapshots by
/// an index tests only this of the others, without reading their labels.
pub fn ready_backup(
    spec: &ModelDeploymentSpec,
    namespace: &str,
    snapshot: &VolumeSnapshot,
) -> bool {
    ready(snapshot)
        && snapshot
            .spec
            .source
            .persistent_volume_claim_name
            .as_deref()
            .is_some_and(|claim| declares(spec, namespace, claim))
}

/// Whether the deployment declares the volume `claim` of `namespace` (as
/// [`crate::backups::declared_volumes`] lists them, without gathering them).
fn declares(spec: &ModelDeploymentSpec, namespace: &str, claim: &str) -> bool {
    declared_volumes(spec, namespace).any(|v| v == claim)
}

/// Whether a VolumeSnapshot, in any of `versions`, can reach a deployment it was not taken
/// for: only a ready one can (see [`volume_snapshot`]). When none is, a change of it concerns
/// its owner alone, and the readers of its namespace need not be asked one by one.
pub fn volume_snapshot_reaches_others<'a>(
    mut versions: impl Iterator<Item = &'a VolumeSnapshot>,
) -> bool {
    versions.any(ready)
}

fn trains_in(spec: &ModelDeploymentSpec, namespace: &str) -> bool {
    spec.training.iter().any(|t| t.namespace == namespace)
}
