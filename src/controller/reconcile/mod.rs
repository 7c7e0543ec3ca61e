//! One reconcile of a ModelDeployment, as its named steps:
//!
//! 1. [`dereference`]: the policy, the evidence and the live facts, from the caches;
//! 2. [`plan`] (pure): the suspend decision and the objects every control needs;
//! 3. [`apply`]: server-side apply of what differs from the cache;
//! 4. [`orphans`]: deletion of what the deployment owns and no longer needs;
//! 5. [`review`]: access reviews of the inference service accounts;
//! 6. [`report`]: the next status (pure) and its Events, written only if it changed.
//!
//! Each step that talks to the API fails with its own [`Error`] variant. On deletion, the
//! cleanup deletes what the deployment owns and never touches user data.

pub mod apply;
pub mod dereference;
pub mod orphans;
pub mod plan;
pub mod report;
pub mod review;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};

use super::slim::{Answer, patch_answered};
use super::{Context, Error};
use crate::api::ModelDeployment;
use crate::conditions;
use crate::desired;
use crate::snapshot::Snapshot;

/// Finalizer that removes what the operator created when a ModelDeployment is deleted.
pub const FINALIZER: &str = "modelcompliance.io/cleanup";

/// Longest wait between reconciles of a settled deployment: ages (backups, CronJob runs)
/// grow with time, so rows can change without any object changing.
pub const RESYNC: Duration = Duration::from_secs(15 * 60);

/// One reconcile, in a span that names the deployment: every line logged inside it (JSON logs
/// included) carries its namespace and name.
#[tracing::instrument(
    name = "reconcile",
    skip_all,
    fields(namespace = %deployment.namespace().unwrap_or_default(), modeldeployment = %deployment.name_any())
)]
pub async fn reconcile(
    deployment: Arc<ModelDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    if !ctx.wait_synced().await {
        // Shutting down before the caches filled: nothing was decided, nothing is done.
        return Ok(Action::await_change());
    }
    let _timer = ctx.metrics.reconcile();
    let key = format!(
        "{}/{}",
        deployment.namespace().unwrap_or_default(),
        deployment.name_any()
    );
    let api: Api<ModelDeployment> = Api::namespaced(
        ctx.client.clone(),
        &deployment.namespace().unwrap_or_else(|| "default".into()),
    );
    let ours = deployment.finalizers().iter().any(|f| f == FINALIZER);
    let action = if deployment.metadata.deletion_timestamp.is_some() {
        if ours {
            cleanup(&deployment, &ctx).await?;
            remove_finalizer(&api, &deployment)
                .await
                .map_err(Error::Finalizer)?;
        }
        ctx.metrics.forget_deployment(
            &deployment.namespace().unwrap_or_default(),
            &deployment.name_any(),
        );
        Action::await_change()
    } else {
        if !ours {
            let _in_flight = ctx.stores.echoes.writing::<ModelDeployment>(
                deployment.namespace().as_deref(),
                &deployment.name_any(),
            );
            let with_finalizer = add_finalizer(&ctx.client, &deployment)
                .await
                .map_err(Error::Finalizer)?;
            // This reconcile goes on with the finalizer in place: its echo wakes nothing.
            ctx.stores
                .echoes
                .wrote(&with_finalizer, &deployment.uid().unwrap_or_default());
        }
        apply(&deployment, &ctx).await?
    };
    ctx.forget_failures(&key);
    tracing::debug!(deployment = %key, ?action, "reconciled");
    Ok(action)
}

/// Adds the finalizer by server-side apply of that one list entry under the operator's field
/// manager: `metadata.finalizers` is a set, so a finalizer another controller adds at the same
/// moment is kept and nothing can conflict.
async fn add_finalizer(
    client: &kube::Client,
    deployment: &ModelDeployment,
) -> Result<Answer<ModelDeployment>, kube::Error> {
    let patch = serde_json::json!({
        "apiVersion": ModelDeployment::api_version(&()),
        "kind": ModelDeployment::kind(&()),
        "metadata": {"name": deployment.name_any(), "finalizers": [FINALIZER]},
    });
    patch_answered(
        client,
        &deployment.namespace().unwrap_or_else(|| "default".into()),
        &deployment.name_any(),
        &PatchParams::apply(crate::labels::FIELD_MANAGER),
        &Patch::Apply(&patch),
        false,
    )
    .await
}

/// Removes the finalizer at the position it was read at; the `test` makes a concurrent change
/// of the list fail (and the reconcile retry) instead of removing someone else's entry.
async fn remove_finalizer(
    api: &Api<ModelDeployment>,
    deployment: &ModelDeployment,
) -> Result<(), kube::Error> {
    let Some(i) = deployment.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{i}");
    // (Typed by `Patch::Json`, so it is kube's own JSON patch type.)
    let patch = serde_json::from_value(serde_json::json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]))
    .expect("a valid JSON patch");
    match api
        .patch(
            &deployment.name_any(),
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Already gone with the object: nothing to remove.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn apply(deployment: &ModelDeployment, ctx: &Context) -> Result<Action, Error> {
    // Decide against what was last written, not a cache that may not have caught up.
    let deployment = &*ctx.with_last_status(deployment);
    let now = ctx.now();
    let Some(inputs) = dereference::dereference(deployment, ctx) else {
        let report = report::stalled(deployment, now);
        report::publish(ctx, deployment, report)
            .await
            .map_err(Error::Report)?;
        // The policy watch wakes this deployment when the policy appears.
        return Ok(Action::await_change());
    };
    let plan = plan::plan(&inputs, deployment, now);
    let dereference::Dereferenced {
        policy,
        evidence,
        snapshot,
    } = inputs;
    let uid = deployment.uid().unwrap_or_default();
    let applied = apply::apply(ctx, &uid, plan, snapshot)
        .await
        .map_err(Error::Apply)?;
    let applied = orphans::delete_orphans(ctx, deployment, applied)
        .await
        .map_err(Error::DeleteOrphans)?;
    let reviewed = review::review(ctx, deployment, applied)
        .await
        .map_err(Error::ReviewAccess)?;
    let report = report::report(&policy, &evidence, deployment, &reviewed, now);
    report::publish(ctx, deployment, report)
        .await
        .map_err(Error::Report)?;
    let wake = report::next_wake(&policy, deployment, &evidence, now);
    Ok(Action::requeue(wake))
}

/// On deletion of the ModelDeployment: remove what the operator created and withdraw what it
/// injected. User data is never touched: volumes and workloads are not the operator's, keys
/// are kept, and so are backups unless the policy says `deleteWithDeployment`.
async fn cleanup(deployment: &ModelDeployment, ctx: &Context) -> Result<Action, Error> {
    let policy = ctx
        .stores
        .policies
        .get(&ObjectRef::new(&deployment.spec.policy_ref));
    let uid = deployment.uid().unwrap_or_default();
    let mut backups = Snapshot::default();
    for (ns, name) in ctx.stores.volume_snapshots.owned_by(&uid) {
        if let Some(s) = ctx.stores.volume_snapshots.get(&ns, &name) {
            backups.ns_mut(&ns).volume_snapshots.push((*s).clone());
        }
    }
    let keep = desired::kept_on_deletion(policy.as_deref(), deployment, &backups);
    let mut scratch = Snapshot::default();
    let released = orphans::delete_owned_except(ctx, deployment, &keep, &mut scratch)
        .await
        .map_err(Error::Cleanup)?;
    if !released.is_empty() {
        let what: Vec<String> = released
            .iter()
            .map(|(verb, o)| {
                format!(
                    "{verb} {} {}/{}",
                    o.kind.as_deref().unwrap_or(""),
                    o.namespace.as_deref().unwrap_or(""),
                    o.name.as_deref().unwrap_or("")
                )
            })
            .collect();
        ctx.event(
            deployment,
            EventType::Normal,
            "CleanedUp",
            "Cleanup",
            format!("ModelDeployment deleted: {}", what.join("; ")),
            None,
        )
        .await;
    }
    Ok(Action::await_change())
}

impl Context {
    /// Publishes an Event about `deployment`; a failure to record it is logged, not fatal.
    pub async fn event(
        &self,
        deployment: &ModelDeployment,
        kind: EventType,
        reason: &str,
        action: &str,
        note: String,
        secondary: Option<ObjectReference>,
    ) {
        // Events that share type, reason, action and objects are merged into one series, so
        // the object or the condition an event is about goes into `secondary` or `action`.
        let event = Event {
            type_: kind,
            reason: reason.to_owned(),
            note: Some(conditions::bounded(&note)),
            action: action.chars().take(128).collect(),
            secondary,
        };
        if let Err(e) = self
            .recorder
            .publish(&event, &deployment.object_ref(&()))
            .await
        {
            tracing::warn!(error = %e, "cannot record event");
        }
    }
}
