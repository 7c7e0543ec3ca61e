//! Step 4: delete what a ModelDeployment's controls created and no longer need (a control
//! switched off, suspension lifted, a namespace changed), found by label in the caches.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::DeleteParams;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::apply::Applied;
use crate::api::ModelDeployment;
use crate::controller::Context;
use crate::controller::owned::{Cached, KindStep, for_each_kind};
use crate::desired::{DesiredObjects, owned_by};
use crate::snapshot::Snapshot;

pub async fn delete_orphans(
    ctx: &Context,
    deployment: &ModelDeployment,
    mut applied: Applied,
) -> Result<Applied, kube::Error> {
    let (desired, snapshot) = applied.desired_and_snapshot();
    delete_owned_except(ctx, deployment, desired, snapshot).await?;
    Ok(applied)
}

/// Deletes every object `deployment` owns that is not in `keep`, and drops it from `snapshot`.
pub async fn delete_owned_except(
    ctx: &Context,
    deployment: &ModelDeployment,
    keep: &DesiredObjects,
    snapshot: &mut Snapshot,
) -> Result<(), kube::Error> {
    let mut step = DeleteOrphans {
        ctx,
        deployment,
        uid: deployment.uid().unwrap_or_default(),
        snapshot,
    };
    for_each_kind(keep, &mut step).await
}

struct DeleteOrphans<'a> {
    ctx: &'a Context,
    deployment: &'a ModelDeployment,
    uid: String,
    snapshot: &'a mut Snapshot,
}

impl KindStep for DeleteOrphans<'_> {
    async fn kind<K: Cached>(&mut self, keep: &[K]) -> Result<(), kube::Error> {
        let keep: BTreeSet<(Option<&str>, Option<&str>)> = keep
            .iter()
            .map(|o| (o.meta().namespace.as_deref(), o.meta().name.as_deref()))
            .collect();
        let uid = self.uid.as_str();
        let orphan = |o: &K| {
            owned_by(o.meta(), uid)
                && !keep.contains(&(o.meta().namespace.as_deref(), o.meta().name.as_deref()))
        };
        let orphans = K::cache(&self.ctx.stores).state_filter(|o| orphan(o));
        for o in &orphans {
            delete(self.ctx, self.deployment, &**o).await?;
        }
        for objects in self.snapshot.namespaces.values_mut() {
            K::observed_mut(objects).retain(|o| !orphan(o));
        }
        Ok(())
    }
}

async fn delete<K: Cached>(
    ctx: &Context,
    deployment: &ModelDeployment,
    object: &K,
) -> Result<(), kube::Error> {
    let (name, namespace) = (object.name_any(), object.namespace().unwrap_or_default());
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        // Already gone: what we wanted.
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(e),
    }
    let kind = K::kind(&());
    let reference = ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(kind.clone().into_owned()),
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        ..Default::default()
    };
    ctx.event(
        deployment,
        EventType::Normal,
        "Deleted",
        "Delete",
        format!("deleted {kind} {namespace}/{name}, no longer needed"),
        Some(reference),
    )
    .await;
    Ok(())
}
