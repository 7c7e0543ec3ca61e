//! Step 3: server-side apply of each desired object whose cached copy differs.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};

use super::plan::Plan;
use crate::controller::Context;
use crate::controller::owned::{Cached, KindStep, for_each_kind};
use crate::desired::{DesiredObjects, Write, reference};
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
    /// What was released (deleted or withdrawn), for Events.
    released: Vec<super::orphans::Released>,
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
    pub fn released(&mut self, released: Vec<super::orphans::Released>) {
        self.released.extend(released);
    }
    /// Everything this reconcile changed: the Event reason and the words (`applied Kind
    /// ns/name`, `deleted …`), and the object.
    pub fn changes(&self) -> Vec<(&'static str, String, ObjectReference)> {
        let phrase = |verb: &str, o: &ObjectReference| {
            format!(
                "{verb} {} {}/{}",
                o.kind.as_deref().unwrap_or(""),
                o.namespace.as_deref().unwrap_or(""),
                o.name.as_deref().unwrap_or("")
            )
        };
        let reason = |verb: &str| {
            if verb == "deleted" {
                "Deleted"
            } else {
                "Withdrawn"
            }
        };
        self.written
            .iter()
            .map(|o| ("Applied", phrase("applied", o), o.clone()))
            .chain(
                self.released
                    .iter()
                    .map(|(verb, o)| (reason(verb), phrase(verb, o), o.clone())),
            )
            .collect()
    }
}

/// Applies the plan of the deployment `writer` (its uid).
pub async fn apply(
    ctx: &Context,
    writer: &str,
    plan: Plan,
    snapshot: Snapshot,
) -> Result<Applied, kube::Error> {
    let mut step = ApplyKind {
        ctx,
        writer,
        snapshot,
        written: Vec::new(),
    };
    for_each_kind(&plan.desired, &mut step).await?;
    Ok(Applied {
        desired: plan.desired,
        suspend: plan.suspend,
        snapshot: step.snapshot,
        written: step.written,
        released: Vec::new(),
    })
}

struct ApplyKind<'a> {
    ctx: &'a Context,
    writer: &'a str,
    snapshot: Snapshot,
    written: Vec<ObjectReference>,
}

impl KindStep for ApplyKind<'_> {
    async fn kind<K: Cached>(&mut self, desired: &[K]) -> Result<(), kube::Error> {
        for want in desired {
            let name = want.meta().name.clone().unwrap_or_default();
            let namespace = want.meta().namespace.clone().unwrap_or_default();
            if K::in_place(self.snapshot.ns(&namespace), want) {
                continue;
            }
            let api: Api<K> = Api::namespaced(self.ctx.client.clone(), &namespace);
            // Announced before it is sent: its echo may arrive before its answer.
            let _in_flight = self.ctx.stores.echoes.writing::<K>(Some(&namespace), &name);
            let stored = match K::WRITE {
                Write::Apply => {
                    let params = PatchParams::apply(K::FIELD_MANAGER).force();
                    api.patch(&name, &params, &Patch::Apply(want)).await?
                }
                Write::Create => match create(self.ctx, &api, want).await? {
                    Some(created) => created,
                    // Someone else's, already there: never overwritten.
                    None => want.clone(),
                },
            };
            // Decided with from here on: its echo does not wake this deployment again.
            self.ctx.stores.echoes.wrote(&stored, self.writer);
            K::record(self.snapshot.ns_mut(&namespace), stored);
            self.written.push(reference(want));
        }
        Ok(())
    }
}

/// Creates an object of a create-once kind, completed by [`OwnedKind::on_create`]; `None` when
/// it already exists. Either way it is remembered as existing.
async fn create<K: Cached>(
    ctx: &Context,
    api: &Api<K>,
    want: &K,
) -> Result<Option<K>, kube::Error> {
    let mut object = want.clone();
    object.on_create();
    let created = match api.create(&PostParams::default(), &object).await {
        Ok(created) => Some(created),
        Err(kube::Error::Api(s)) if s.code == 409 => None,
        Err(e) => return Err(e),
    };
    ctx.created.lock().expect("created lock").insert((
        K::kind(&()).into_owned(),
        want.meta().namespace.clone().unwrap_or_default(),
        want.meta().name.clone().unwrap_or_default(),
    ));
    Ok(created)
}
