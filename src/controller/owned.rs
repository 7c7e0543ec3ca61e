//! The kinds of object the operator owns, as the controller handles them: each is an
//! [`OwnedKind`] of the core (how to compare it, where it sits in a snapshot) and has a cache
//! here (where its orphans are found). Every step that touches owned objects goes through
//! [`for_each_kind`], once per kind.
//!
//! A kind without a cache cannot go through the steps, so its orphans would never be found:
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

use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::runtime::reflector::Store;

use super::stores::Stores;
use crate::desired::{DesiredObjects, OwnedKind};

/// An owned kind with its cache, in which its orphans are found.
pub trait Cached: OwnedKind {
    fn cache(stores: &Stores) -> &Store<Self>;
}

impl Cached for NetworkPolicy {
    fn cache(stores: &Stores) -> &Store<Self> {
        &stores.network_policies
    }
}

impl Cached for Role {
    fn cache(stores: &Stores) -> &Store<Self> {
        &stores.roles
    }
}

impl Cached for RoleBinding {
    fn cache(stores: &Stores) -> &Store<Self> {
        &stores.role_bindings
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
    } = desired;
    step.kind(network_policies).await?;
    step.kind(roles).await?;
    step.kind(role_bindings).await
}
