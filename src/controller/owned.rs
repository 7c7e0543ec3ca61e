//! The kinds of object the operator owns, as the controller handles them: each is an
//! [`OwnedKind`] of the core (how to compare it, where it sits in a snapshot) and has a cache
//! here (where its orphans are found). Every step that touches owned objects goes through
//! [`for_each_kind`], once per kind.
//!
//! A kind without a way to find its objects in the caches cannot go through the steps, so its
//! orphans would never be found:
//!
//! ```compile_fail
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use model_compliance_operator::controller::owned::{Cached, KindStep};
//!
//! struct Nothing;
//! impl KindStep for Nothing {
//!     async fn kind<K: Cached>(&mut self, _: &[K]) -> Result<(), kube::Error> {
//!         Ok(())
//!     }
//! }
//! async fn step(config_maps: &[ConfigMap]) {
//!     Nothing.kind(config_maps).await.unwrap();
//! }
//! ```

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

use super::stores::Stores;
use crate::desired::{DesiredObjects, Injected, OwnedKind};
use crate::snapshot::{VeleroSchedule, VolumeSnapshot};

/// An owned kind whose objects written for a deployment can be found in the caches, so that
/// those no longer needed are released.
pub trait Cached: OwnedKind {
    /// `(namespace, name)` of every object of this kind the caches show written for the
    /// ModelDeployment with `uid`.
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)>;
}

impl Cached for NetworkPolicy {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.network_policies.owned_by(uid)
    }
}

impl Cached for Role {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.roles.owned_by(uid)
    }
}

impl Cached for RoleBinding {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.role_bindings.owned_by(uid)
    }
}

/// Keys are never released, so none is looked for (the operator does not watch Secrets).
impl Cached for Secret {
    fn owned(_: &Stores, _: &str) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl Cached for Injected<Deployment> {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.apps_deployments.owned_by(uid)
    }
}

impl Cached for Injected<StatefulSet> {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.stateful_sets.owned_by(uid)
    }
}

impl Cached for VolumeSnapshot {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.volume_snapshots.owned_by(uid)
    }
}

impl Cached for VeleroSchedule {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.velero_schedules.owned_by(uid)
    }
}

impl Cached for PersistentVolumeClaim {
    fn owned(stores: &Stores, uid: &str) -> Vec<(String, String)> {
        stores.pvcs.owned_by(uid)
    }
}

/// A step of the reconcile done for each owned kind, with the desired objects of that kind.
// Only ever called with concrete steps, whose futures are `Send`.
#[allow(async_fn_in_trait)]
pub trait KindStep {
    async fn kind<K: Cached>(&mut self, desired: &[K]) -> Result<(), kube::Error>;
}

/// Runs `step` for every owned kind, in the order the objects are applied. The destructuring
/// names every field: a kind added to [`DesiredObjects`] fails to compile until it is handled
/// here, and it can only be handled with a cache.
pub async fn for_each_kind(
    desired: &DesiredObjects,
    step: &mut impl KindStep,
) -> Result<(), kube::Error> {
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
    } = desired;
    step.kind(network_policies).await?;
    step.kind(roles).await?;
    step.kind(role_bindings).await?;
    step.kind(secrets).await?;
    step.kind(deployment_sidecars).await?;
    step.kind(stateful_set_sidecars).await?;
    step.kind(volume_snapshots).await?;
    step.kind(persistent_volume_claims).await?;
    step.kind(velero_schedules).await
}
