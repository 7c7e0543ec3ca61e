//! One reconcile of a ModelDeployment: dereference (policy, evidence, snapshot) → evaluate →
//! build the desired objects → apply only what differs → delete orphans → evaluate what is
//! now in place → write status only if it changed → an Event per transition.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::{Context, Error};
use crate::api::{CompliancePolicy, ModelDeployment, ModelDeploymentStatus};
use crate::conditions::{self, Progress};
use crate::enforce::{self, DEPLOYMENT_UID, Desired, FIELD_MANAGER};
use crate::evaluate::{self, Evaluation, Inputs};
use crate::snapshot::Snapshot;

/// Finalizer that removes what the operator created when a ModelDeployment is deleted.
pub const FINALIZER: &str = "modelcompliance.io/cleanup";

/// Longest wait between reconciles of a settled deployment: ages (backups, CronJob runs)
/// grow with time, so rows can change without any object changing.
pub const RESYNC: Duration = Duration::from_secs(15 * 60);

pub async fn reconcile(
    deployment: Arc<ModelDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    if !ctx.wait_synced().await {
        // Shutting down before the caches filled: nothing was decided, nothing is done.
        return Ok(Action::await_change());
    }
    let _timer = ctx.metrics.reconcile();
    let namespace = deployment.namespace().unwrap_or_else(|| "default".into());
    let name = deployment.name_any();
    let api: Api<ModelDeployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let action = finalizer(&api, FINALIZER, deployment, |event| async {
        match event {
            Finalizer::Apply(d) => apply(&d, &ctx).await,
            Finalizer::Cleanup(d) => cleanup(&d, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))?;
    ctx.forget_failures(&namespace, &action);
    tracing::debug!(deployment = %format!("{namespace}/{name}"), ?action, "reconciled");
    Ok(action)
}

async fn apply(deployment: &ModelDeployment, ctx: &Context) -> Result<Action, Error> {
    let now = ctx.now();
    let Some(policy) = ctx
        .stores
        .policies
        .get(&ObjectRef::new(&deployment.spec.policy_ref))
    else {
        let progress = Progress::Stalled {
            reason: "PolicyNotFound".into(),
            message: format!(
                "CompliancePolicy {} does not exist; waiting for it to be created",
                deployment.spec.policy_ref
            ),
        };
        write_status(deployment, ctx, &Evaluation::undecided(), &progress, now).await?;
        // The policy watch wakes this deployment when the policy appears.
        return Ok(Action::await_change());
    };
    let namespace = deployment.namespace().unwrap_or_else(|| "default".into());
    let evidence = ctx.stores.evidence_in(&namespace);
    let mut snapshot = ctx.stores.snapshot(&policy, deployment);
    // What is known so far decides whether to suspend; the reviews are asked again below,
    // once the RBAC objects this reconcile applies are in place.
    snapshot.access_reviews = ctx.reviews.known(deployment, &snapshot);

    // Suspension answers an unacceptable risk; the objects this reconcile is about to apply are
    // no risk, so decide as if they were already in place.
    let mut projected = snapshot.clone();
    enforce::overlay(
        &mut projected,
        deployment,
        &enforce::desired(&policy, deployment, false),
    );
    let projected = evaluate::evaluate(Inputs {
        policy: &policy,
        deployment,
        evidence: &evidence,
        snapshot: &projected,
        now,
    });
    let suspend = enforce::suspended(&policy, deployment, &projected);
    let desired = enforce::desired(&policy, deployment, suspend);
    let applied = apply_desired(deployment, ctx, &desired, &mut snapshot).await?;
    delete_orphans(deployment, ctx, &desired, &mut snapshot).await?;
    snapshot.access_reviews = ctx
        .reviews
        .answer(&ctx.client, deployment, &snapshot)
        .await?;

    // Decide from what is now in place, including what was just applied.
    let evaluation = evaluate::evaluate(Inputs {
        policy: &policy,
        deployment,
        evidence: &evidence,
        snapshot: &snapshot,
        now,
    });
    for object in applied {
        let note = format!(
            "applied {} {}/{}",
            object.kind.as_deref().unwrap_or(""),
            object.namespace.as_deref().unwrap_or(""),
            object.name.as_deref().unwrap_or("")
        );
        ctx.event(
            deployment,
            EventType::Normal,
            "Applied",
            "Apply",
            note,
            Some(object),
        )
        .await;
    }
    if suspend != deployment.status.as_ref().is_some_and(was_suspended) {
        let note = if suspend {
            "inference suspended: all ingress to the inference pods is denied"
        } else {
            "inference resumed: the deny-all NetworkPolicy is removed"
        };
        ctx.event(
            deployment,
            EventType::Warning,
            if suspend { "Suspended" } else { "Resumed" },
            "KillSwitch",
            note.into(),
            None,
        )
        .await;
    }
    write_status(
        deployment,
        ctx,
        &evaluation,
        &Progress::Applied { suspended: suspend },
        now,
    )
    .await?;
    Ok(Action::requeue(next_wake(&policy, &evidence, now)))
}

fn was_suspended(status: &ModelDeploymentStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.reason == "InferenceSuspended")
}

/// Wakes up at the next expiry of evidence or an exception, and at least every `RESYNC`.
fn next_wake(
    policy: &CompliancePolicy,
    evidence: &[crate::api::ComplianceEvidence],
    now: Timestamp,
) -> Duration {
    let deadlines = evidence
        .iter()
        .flat_map(|e| [e.spec.valid_until.0, e.spec.attested_at.0])
        .chain(policy.spec.exceptions.iter().map(|e| e.expires_at.0))
        // Evidence expiring soon changes its message 30 days before the date.
        .chain(evidence.iter().map(|e| {
            e.spec.valid_until.0
                - k8s_openapi::jiff::SignedDuration::from_hours(
                    24 * crate::catalog::defaults::EVIDENCE_EXPIRY_WARNING_DAYS,
                )
        }))
        .filter(|t| *t > now);
    let soonest = deadlines
        .map(|t| now.duration_until(t).unsigned_abs())
        .min()
        .unwrap_or(RESYNC);
    // One second past the deadline, so that the reconcile sees it passed.
    soonest.min(RESYNC) + Duration::from_secs(1)
}

/// Applies each desired object whose cached copy differs. Returns what was written.
async fn apply_desired(
    deployment: &ModelDeployment,
    ctx: &Context,
    desired: &[Desired],
    snapshot: &mut Snapshot,
) -> Result<Vec<ObjectReference>, Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut written = Vec::new();
    for object in desired {
        let meta = object.metadata();
        let (name, namespace) = (
            meta.name.clone().unwrap_or_default(),
            meta.namespace.clone().unwrap_or_default(),
        );
        let objects = snapshot.ns_mut(&namespace);
        let same_name = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.name.as_deref() == Some(&name)
        };
        match object {
            Desired::NetworkPolicy(want) => {
                let current = objects
                    .network_policies
                    .iter()
                    .position(|o| same_name(&o.metadata));
                if current.is_some_and(|i| {
                    in_place(&objects.network_policies[i].metadata, &want.metadata)
                        && objects.network_policies[i].spec == want.spec
                }) {
                    continue;
                }
                let api: Api<NetworkPolicy> = Api::namespaced(ctx.client.clone(), &namespace);
                let stored = api.patch(&name, &params, &Patch::Apply(want)).await?;
                replace(&mut objects.network_policies, current, stored);
            }
            Desired::Role(want) => {
                let current = objects.roles.iter().position(|o| same_name(&o.metadata));
                if current.is_some_and(|i| {
                    in_place(&objects.roles[i].metadata, &want.metadata)
                        && objects.roles[i].rules == want.rules
                }) {
                    continue;
                }
                let api: Api<Role> = Api::namespaced(ctx.client.clone(), &namespace);
                let stored = api.patch(&name, &params, &Patch::Apply(want)).await?;
                replace(&mut objects.roles, current, stored);
            }
            Desired::RoleBinding(want) => {
                let current = objects
                    .role_bindings
                    .iter()
                    .position(|o| same_name(&o.metadata));
                if current.is_some_and(|i| {
                    let have = &objects.role_bindings[i];
                    in_place(&have.metadata, &want.metadata)
                        && have.role_ref == want.role_ref
                        && have.subjects == want.subjects
                }) {
                    continue;
                }
                let api: Api<RoleBinding> = Api::namespaced(ctx.client.clone(), &namespace);
                let stored = api.patch(&name, &params, &Patch::Apply(want)).await?;
                replace(&mut objects.role_bindings, current, stored);
            }
        }
        written.push(object.reference());
    }
    let _ = deployment;
    Ok(written)
}

/// Whether the cached object carries every label the desired one sets.
fn in_place(
    have: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    want: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> bool {
    let have_labels = have.labels.clone().unwrap_or_default();
    want.labels
        .iter()
        .flatten()
        .all(|(k, v)| have_labels.get(k) == Some(v))
}

fn replace<K>(items: &mut Vec<K>, at: Option<usize>, stored: K) {
    match at {
        Some(i) => items[i] = stored,
        None => items.push(stored),
    }
}

fn owned_by(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, uid: &str) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(DEPLOYMENT_UID))
        .is_some_and(|v| v == uid)
}

/// Deletes objects this deployment created that are no longer desired (a control switched
/// off, suspension lifted, a namespace changed).
async fn delete_orphans(
    deployment: &ModelDeployment,
    ctx: &Context,
    desired: &[Desired],
    snapshot: &mut Snapshot,
) -> Result<(), Error> {
    let uid = deployment.uid().unwrap_or_default();
    let keep: BTreeSet<(&str, String, String)> = desired
        .iter()
        .map(|d| {
            (
                d.kind(),
                d.metadata().namespace.clone().unwrap_or_default(),
                d.metadata().name.clone().unwrap_or_default(),
            )
        })
        .collect();
    let orphan =
        |kind: &'static str, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            owned_by(meta, &uid)
                && !keep.contains(&(
                    kind,
                    meta.namespace.clone().unwrap_or_default(),
                    meta.name.clone().unwrap_or_default(),
                ))
        };
    let network_policies: Vec<_> = ctx
        .stores
        .network_policies
        .state_filter(|o| orphan("NetworkPolicy", &o.metadata));
    let roles: Vec<_> = ctx
        .stores
        .roles
        .state_filter(|o| orphan("Role", &o.metadata));
    let role_bindings: Vec<_> = ctx
        .stores
        .role_bindings
        .state_filter(|o| orphan("RoleBinding", &o.metadata));
    for o in &network_policies {
        delete::<NetworkPolicy>(ctx, deployment, &o.metadata).await?;
    }
    for o in &roles {
        delete::<Role>(ctx, deployment, &o.metadata).await?;
    }
    for o in &role_bindings {
        delete::<RoleBinding>(ctx, deployment, &o.metadata).await?;
    }
    for objects in snapshot.namespaces.values_mut() {
        objects
            .network_policies
            .retain(|o| !orphan("NetworkPolicy", &o.metadata));
        objects.roles.retain(|o| !orphan("Role", &o.metadata));
        objects
            .role_bindings
            .retain(|o| !orphan("RoleBinding", &o.metadata));
    }
    Ok(())
}

async fn delete<K>(
    ctx: &Context,
    deployment: &ModelDeployment,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Result<(), Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let (name, namespace) = (
        meta.name.clone().unwrap_or_default(),
        meta.namespace.clone().unwrap_or_default(),
    );
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        // Already gone: what we wanted.
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(e.into()),
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

/// On deletion of the ModelDeployment: remove what the operator created. User data (volumes,
/// snapshots, workloads) is never touched.
async fn cleanup(deployment: &ModelDeployment, ctx: &Context) -> Result<Action, Error> {
    let mut scratch = Snapshot::default();
    delete_orphans(deployment, ctx, &[], &mut scratch).await?;
    Ok(Action::await_change())
}

/// Writes the status when it says something new; emits an Event per condition transition.
async fn write_status(
    deployment: &ModelDeployment,
    ctx: &Context,
    evaluation: &Evaluation,
    progress: &Progress,
    now: Timestamp,
) -> Result<(), Error> {
    let previous = deployment.status.clone().unwrap_or_default();
    let mut status = conditions::status(
        evaluation,
        progress,
        deployment.meta().generation,
        &previous.conditions,
        &Time(now),
    );
    if evaluation.decisions.is_empty() {
        // Undecided (a stalled deployment): keep what was last decided, replace the summary.
        status.summary = previous.summary.clone();
        status.risk = previous.risk;
        status.acceptable = previous.acceptable;
        status.findings = previous.findings.clone();
        let summary_types = ["Ready", "Compliant", "Reconciling", "Stalled"];
        status
            .conditions
            .retain(|c| summary_types.contains(&c.type_.as_str()));
        status.conditions.extend(
            previous
                .conditions
                .iter()
                .filter(|c| !summary_types.contains(&c.type_.as_str()))
                .cloned(),
        );
    }
    if conditions::same_conditions(&status.conditions, &previous.conditions)
        && status.summary == previous.summary
        && status.risk == previous.risk
        && status.acceptable == previous.acceptable
        && status.findings == previous.findings
        && status.observed_generation == previous.observed_generation
    {
        return Ok(());
    }
    let namespace = deployment.namespace().unwrap_or_else(|| "default".into());
    let api: Api<ModelDeployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ModelDeployment",
        "status": status,
    });
    api.patch_status(
        &deployment.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;

    if previous.conditions.is_empty() {
        let note = format!(
            "evaluated: {} rows met, risk {}{}",
            evaluation.summary.ratio(),
            evaluation.risk.as_str(),
            if evaluation.acceptable {
                ""
            } else {
                " (not acceptable)"
            }
        );
        ctx.event(
            deployment,
            EventType::Normal,
            "Evaluated",
            "Evaluate",
            note,
            None,
        )
        .await;
        return Ok(());
    }
    for condition in &status.conditions {
        let Some(before) = previous
            .conditions
            .iter()
            .find(|c| c.type_ == condition.type_)
        else {
            continue;
        };
        if before.status == condition.status {
            continue;
        }
        let kind = if condition.status == "False" {
            EventType::Warning
        } else {
            EventType::Normal
        };
        let note = format!(
            "{} is now {} ({}): {}",
            condition.type_, condition.status, condition.reason, condition.message
        );
        ctx.event(
            deployment,
            kind,
            &condition.reason,
            &condition.type_,
            note,
            None,
        )
        .await;
    }
    Ok(())
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
