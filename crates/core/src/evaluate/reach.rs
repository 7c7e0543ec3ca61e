//! Which deployments' decisions an observed object can change: the controller wakes only
//! those when it changes. Each rule follows what a control reads, and sits here, beside the
//! controls, so that the two change together; the tests run both.
//!
//! An object of another kind, or one no rule here covers, reaches every deployment that
//! reads its namespace.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::controls::access::made_for_another;
use crate::api::{ModelDeploymentSpec, selector};

/// Labels of a pod of the namespace an object changed in.
pub type PodLabels<'a> = Option<&'a BTreeMap<String, String>>;

/// A NetworkPolicy of `namespace` selecting pods by `policy_selector` reaches the deployment
/// when it selects one of its training pods (isolation judges the policies that select
/// them), or when it is the deny-all of its inference pods (the kill switch looks for a
/// policy with the inference selector), or selects one of them. `pods` are the namespace's.
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

fn trains_in(spec: &ModelDeploymentSpec, namespace: &str) -> bool {
    spec.training.iter().any(|t| t.namespace == namespace)
}
