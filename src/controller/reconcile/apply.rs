//! Step 3: server-side apply of each desired object whose cached copy differs.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams};

use super::plan::Plan;
use crate::controller::Context;
use crate::controller::owned::{Cached, KindStep, for_each_kind};
use crate::desired::{DesiredObjects, reference};
use crate::labels::FIELD_MANAGER;
use crate::snapshot::Snapshot;

/// The plan, applied: only [`apply`] makes one, so the status can only be decided from
/// objects that are in place.
pub struct Applied {
    desired: DesiredObjects,
    suspend: bool,
    /// The snapshot with what was applied in it.
    snapshot: Snapshot,
    /// What was written, for Events.
    written: Vec<ObjectReference>,
}

impl Applied {
    pub fn suspend(&self) -> bool {
        self.suspend
    }
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
    pub fn snapshot_mut(&mut self) -> &mut Snapshot {
        &mut self.snapshot
    }
    /// What is desired, beside the snapshot to change: orphans are what the first lacks.
    pub fn desired_and_snapshot(&mut self) -> (&DesiredObjects, &mut Snapshot) {
        (&self.desired, &mut self.snapshot)
    }
    pub fn written(&self) -> &[ObjectReference] {
        &self.written
    }
}

pub async fn apply(ctx: &Context, plan: Plan, snapshot: Snapshot) -> Result<Applied, kube::Error> {
    let mut step = ApplyKind {
        ctx,
        snapshot,
        written: Vec::new(),
    };
    for_each_kind(&plan.desired, &mut step).await?;
    Ok(Applied {
        desired: plan.desired,
        suspend: plan.suspend,
        snapshot: step.snapshot,
        written: step.written,
    })
}

struct ApplyKind<'a> {
    ctx: &'a Context,
    snapshot: Snapshot,
    written: Vec<ObjectReference>,
}

impl KindStep for ApplyKind<'_> {
    async fn kind<K: Cached>(&mut self, desired: &[K]) -> Result<(), kube::Error> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        for want in desired {
            let name = want.meta().name.clone().unwrap_or_default();
            let namespace = want.meta().namespace.clone().unwrap_or_default();
            let observed = K::observed(self.snapshot.ns(&namespace));
            let current = observed
                .iter()
                .position(|o| o.meta().name.as_deref() == Some(&name));
            if current.is_some_and(|i| {
                in_place(observed[i].meta(), want.meta()) && K::same_content(&observed[i], want)
            }) {
                continue;
            }
            let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &namespace);
            let stored = api.patch(&name, &params, &Patch::Apply(want)).await?;
            let observed = K::observed_mut(self.snapshot.ns_mut(&namespace));
            match current {
                Some(i) => observed[i] = stored,
                None => observed.push(stored),
            }
            self.written.push(reference(want));
        }
        Ok(())
    }
}

/// Whether the cached object carries every label the desired one sets.
fn in_place(have: &ObjectMeta, want: &ObjectMeta) -> bool {
    let have_labels = have.labels.clone().unwrap_or_default();
    want.labels
        .iter()
        .flatten()
        .all(|(k, v)| have_labels.get(k) == Some(v))
}
