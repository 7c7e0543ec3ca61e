//! Step 1: what a ModelDeployment points at, read from the caches: its policy, the evidence of
//! its namespace, and the live facts of the namespaces its rows depend on.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use crate::controller::Context;
use crate::snapshot::Snapshot;

pub struct Dereferenced {
    pub policy: Arc<CompliancePolicy>,
    pub evidence: Vec<ComplianceEvidence>,
    /// With the answers of access reviews already known (the review step asks again once the
    /// RBAC this reconcile applies is in place).
    pub snapshot: Snapshot,
}

/// `None` when the policy does not exist (yet).
pub fn dereference(deployment: &ModelDeployment, ctx: &Context) -> Option<Dereferenced> {
    let policy = ctx
        .stores
        .policies
        .get(&ObjectRef::new(&deployment.spec.policy_ref))?;
    let namespace = deployment.namespace().unwrap_or_else(|| "default".into());
    let evidence = ctx.stores.evidence_in(&namespace);
    let mut snapshot = ctx.stores.snapshot(&policy, deployment);
    snapshot.access_reviews = ctx.reviews.known(deployment, &snapshot);
    for (kind, namespace, name) in ctx.created.lock().expect("created lock").iter() {
        if kind == "Secret" && snapshot.namespaces.contains_key(namespace) {
            snapshot.ns_mut(namespace).secrets.push(Secret {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(namespace.clone()),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
    }
    Some(Dereferenced {
        policy,
        evidence,
        snapshot,
    })
}
