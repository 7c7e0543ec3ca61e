//! Step 4: delete what a ModelDeployment's controls created and no longer need (a control
//! switched off, suspension lifted, a namespace changed), found by label in the caches.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::apply::Applied;
use crate::api::ModelDeployment;
use crate::controller::Context;
use crate::controller::owned::{Cached, KindStep, for_each_kind};
use crate::desired::{DesiredObjects, Release, owned_by};
use crate::snapshot::Snapshot;

pub async fn delete_orphans(
    ctx: &Context,
    deployment: &ModelDeployment,
    mut applied: Applied,
) -> Result<Applied, kube::Error> {
    let (desired, snapshot) = applied.desired_and_snapshot();
    let released = delete_owned_except(ctx, deployment, desired, snapshot).await?;
    applied.released(released);
    Ok(applied)
}

/// What was done with an object no longer needed, for the Event: `deleted` or `withdrew
/// the sidecar's entries from`, and the object.
pub type Released = (&'static str, ObjectReference);

/// Releases every object `deployment` owns that is not in `keep`, drops it from `snapshot`,
/// and says what it released.
pub async fn delete_owned_except(
    ctx: &Context,
    deployment: &ModelDeployment,
    keep: &DesiredObjects,
    snapshot: &mut Snapshot,
) -> Result<Vec<Released>, kube::Error> {
    let mut step = DeleteOrphans {
        ctx,
        uid: deployment.uid().unwrap_or_default(),
        snapshot,
        released: Vec::new(),
    };
    for_each_kind(keep, &mut step).await?;
    Ok(step.released)
}

struct DeleteOrphans<'a> {
    ctx: &'a Context,
    uid: String,
    snapshot: &'a mut Snapshot,
    released: Vec<Released>,
}

impl KindStep for DeleteOrphans<'_> {
    async fn kind<K: Cached>(&mut self, keep: &[K]) -> Result<(), kube::Error> {
        if K::RELEASE == Release::Keep {
            return Ok(());
        }
        let keep: BTreeSet<(&str, &str)> = keep
            .iter()
            .map(|o| {
                (
                    o.meta().namespace.as_deref().unwrap_or_default(),
                    o.meta().name.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        let uid = self.uid.as_str();
        let orphans: BTreeSet<(String, String)> = K::owned(&self.ctx.stores, uid)
            .into_iter()
            .filter(|(ns, name)| !keep.contains(&(ns.as_str(), name.as_str())))
            .collect();
        for (namespace, name) in &orphans {
            if let Some(done) = release::<K>(self.ctx, namespace, name).await? {
                self.released.push(done);
            }
        }
        for (namespace, objects) in self.snapshot.namespaces.iter_mut() {
            K::forget(objects, &|meta| {
                owned_by(meta, uid)
                    && orphans.contains(&(namespace.clone(), meta.name.clone().unwrap_or_default()))
            });
        }
        Ok(())
    }
}

/// Releases one object no longer needed: deleted, or its fields withdrawn.
async fn release<K: Cached>(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<Released>, kube::Error> {
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    let done = match K::RELEASE {
        Release::Keep => return Ok(None),
        Release::Delete => {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                // Already gone: what we wanted.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
            "deleted"
        }
        Release::Withdraw => {
            // Applying nothing under the kind's field manager removes what it owns, and only
            // that; the object itself is someone else's.
            let nothing = json!({
                "apiVersion": K::api_version(&()),
                "kind": K::kind(&()),
                "metadata": {"name": name, "namespace": namespace},
            });
            let params = PatchParams::apply(K::FIELD_MANAGER).force();
            match api.patch(name, &params, &Patch::Apply(&nothing)).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
            "withdrew the operator's entries from"
        }
    };
    let reference = ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        ..Default::default()
    };
    Ok(Some((done, reference)))
}
