//! Step 6: the status and the Events. Deciding them is pure ([`report`], [`stalled`]); only
//! [`publish`] talks to the API: one status write when something changed, and the Events.

use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::RESYNC;
use super::review::Reviewed;
use crate::api::{
    BackupStatus, ComplianceEvidence, CompliancePolicy, ModelDeployment, ModelDeploymentStatus,
    RestoreDrillStatus,
};
use crate::backups;
use crate::catalog::defaults::EVIDENCE_EXPIRY_WARNING_DAYS;
use crate::conditions::{self, Progress};
use crate::controller::Context;
use crate::controller::slim::{Answer, patch_answered};
use crate::evaluate::{self, Evaluation, Inputs};
use crate::i18n::{self, Msg};
use crate::labels::FIELD_MANAGER;

/// One Event to record.
#[derive(Debug)]
pub struct Note {
    kind: EventType,
    reason: String,
    action: String,
    note: String,
    secondary: Option<ObjectReference>,
}

/// What a reconcile tells: Events about what it changed, the new status if it says something
/// new, and Events about the conditions that changed.
#[derive(Debug)]
pub struct Report {
    changes: Vec<Note>,
    status: Option<ModelDeploymentStatus>,
    transitions: Vec<Note>,
    /// What the metrics show of the deployment; `None` when nothing was decided.
    figures: Option<crate::telemetry::DeploymentFigures>,
}

/// The metrics' view of an evaluation.
fn figures(
    evaluation: &Evaluation,
    evidence: &[ComplianceEvidence],
    deployment: &ModelDeployment,
) -> crate::telemetry::DeploymentFigures {
    let s = &evaluation.summary;
    let name = deployment.name_any();
    crate::telemetry::DeploymentFigures {
        rows: [
            ("Compliant", s.compliant),
            ("NonCompliant", s.non_compliant),
            ("Unknown", s.unknown),
            ("Excepted", s.excepted),
            ("NotApplicable", s.not_applicable),
        ],
        risk: evaluation.risk as i64,
        earliest_evidence_expiry: evaluate::earliest_expiry(evidence, &name).map(|t| t.as_second()),
    }
}

/// The report of a reconcile whose plan was applied and reviewed.
pub fn report(
    policy: &CompliancePolicy,
    evidence: &[ComplianceEvidence],
    deployment: &ModelDeployment,
    reviewed: &Reviewed,
    now: Timestamp,
) -> Report {
    let applied = reviewed.applied();
    // Decide from what is now in place, including what was just applied.
    let evaluation = evaluate::evaluate(Inputs {
        policy,
        deployment,
        evidence,
        snapshot: applied.snapshot(),
        now,
    });
    let mut changes: Vec<Note> = applied
        .changes()
        .into_iter()
        .map(|(reason, note, object)| Note {
            kind: EventType::Normal,
            reason: reason.into(),
            action: match reason {
                "Applied" => "Apply",
                "Deleted" => "Delete",
                _ => "Withdraw",
            }
            .into(),
            note,
            secondary: Some(object),
        })
        .collect();
    let suspend = applied.suspend();
    if suspend != deployment.status.as_ref().is_some_and(was_suspended) {
        changes.push(Note {
            kind: EventType::Warning,
            reason: if suspend { "Suspended" } else { "Resumed" }.into(),
            action: "KillSwitch".into(),
            note: if suspend {
                "inference suspended: all ingress to the inference pods is denied"
            } else {
                "inference resumed: the deny-all NetworkPolicy is removed"
            }
            .into(),
            secondary: None,
        });
    }
    let drill = backups::drill_status(policy, deployment, applied.snapshot(), now);
    let expiry = evaluate::earliest_expiry(evidence, &deployment.name_any()).map(Time);
    let mut report = status_report(
        deployment,
        &evaluation,
        &Progress::Applied { suspended: suspend },
        drill,
        expiry,
        now,
    );
    report.changes = changes;
    report.figures = Some(figures(&evaluation, evidence, deployment));
    report
}

/// The report of a deployment whose policy does not exist.
pub fn stalled(deployment: &ModelDeployment, now: Timestamp) -> Report {
    let progress = Progress::Stalled {
        reason: "PolicyNotFound".into(),
        message: i18n::english(
            Msg::PolicyNotFound,
            &[("policy", &deployment.spec.policy_ref)],
        ),
    };
    let drill = deployment
        .status
        .as_ref()
        .and_then(|s| s.backup.as_ref())
        .and_then(|b| b.restore_drill.clone());
    // Without a policy nothing is evaluated: the evidence expiry last written stays.
    let expiry = deployment
        .status
        .as_ref()
        .and_then(|s| s.evidence_expiry.clone());
    status_report(
        deployment,
        &Evaluation::undecided(),
        &progress,
        drill,
        expiry,
        now,
    )
}

/// The next status, if it differs from the current one, and the Events of its transitions.
fn status_report(
    deployment: &ModelDeployment,
    evaluation: &Evaluation,
    progress: &Progress,
    drill: Option<RestoreDrillStatus>,
    evidence_expiry: Option<Time>,
    now: Timestamp,
) -> Report {
    let previous = deployment.status.clone().unwrap_or_default();
    let mut status = next_status(deployment, &previous, evaluation, progress, now);
    status.evidence_expiry = evidence_expiry;
    if let Some(drill) = drill {
        status.conditions.push(conditions::restore_verified(
            &drill,
            deployment.meta().generation,
            &previous.conditions,
            &Time(now),
        ));
        status.backup = Some(BackupStatus {
            restore_drill: Some(drill),
        });
    }
    if same_status(&status, &previous) {
        return Report {
            changes: vec![],
            status: None,
            transitions: vec![],
            figures: None,
        };
    }
    let transitions = transitions(&previous, &status, evaluation);
    Report {
        changes: vec![],
        status: Some(status),
        transitions,
        figures: None,
    }
}

fn next_status(
    deployment: &ModelDeployment,
    previous: &ModelDeploymentStatus,
    evaluation: &Evaluation,
    progress: &Progress,
    now: Timestamp,
) -> ModelDeploymentStatus {
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
        let summary_types = ["Ready", "Compliant", "Reconciling", "Stalled"];
        status
            .conditions
            .retain(|c| summary_types.contains(&c.type_.as_str()));
        status.conditions.extend(
            previous
                .conditions
                .iter()
                .filter(|c| !summary_types.contains(&c.type_.as_str()))
                .filter(|c| c.type_ != conditions::RESTORE_VERIFIED)
                .cloned(),
        );
    }
    status
}

fn same_status(a: &ModelDeploymentStatus, b: &ModelDeploymentStatus) -> bool {
    conditions::same_conditions(&a.conditions, &b.conditions)
        && a.summary == b.summary
        && a.risk == b.risk
        && a.acceptable == b.acceptable
        && a.observed_generation == b.observed_generation
        && a.backup == b.backup
        && a.evidence_expiry == b.evidence_expiry
}

/// One Event for the first evaluation, then one per condition whose status flipped.
fn transitions(
    previous: &ModelDeploymentStatus,
    status: &ModelDeploymentStatus,
    evaluation: &Evaluation,
) -> Vec<Note> {
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
        return vec![Note {
            kind: EventType::Normal,
            reason: "Evaluated".into(),
            action: "Evaluate".into(),
            note,
            secondary: None,
        }];
    }
    status
        .conditions
        .iter()
        .filter_map(|condition| {
            let before = previous
                .conditions
                .iter()
                .find(|c| c.type_ == condition.type_)?;
            // The message is in the condition; the Event says what flipped and why.
            (before.status != condition.status).then(|| Note {
                kind: if condition.status == "False" {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: condition.reason.clone(),
                action: condition.type_.clone(),
                note: format!(
                    "{} is now {} ({})",
                    condition.type_, condition.status, condition.reason
                ),
                secondary: None,
            })
        })
        .collect()
}

fn was_suspended(status: &ModelDeploymentStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.reason == "InferenceSuspended")
}

/// Writes the status if it changed, then records one Event for the whole reconcile: every
/// object it changed and every condition that flipped (the transitions only once the status
/// that carries them is written).
pub async fn publish(
    ctx: &Context,
    deployment: &ModelDeployment,
    report: Report,
) -> Result<(), kube::Error> {
    let Report {
        changes,
        status,
        transitions,
        figures,
    } = report;
    if let Some(figures) = figures {
        ctx.metrics.deployment(
            &deployment.namespace().unwrap_or_default(),
            &deployment.name_any(),
            &figures,
        );
    }
    let written = match status {
        Some(status) => write_status(ctx, deployment, status).await,
        None => Ok(false),
    };
    let transitions = if matches!(written, Ok(true)) {
        transitions
    } else {
        Vec::new()
    };
    if let Some(note) = one_event(changes.into_iter().chain(transitions).collect()) {
        ctx.record(deployment, note).await;
    }
    written.map(|_| ())
}

/// Many notes as one Event: their texts joined, a Warning if any is, the most telling reason
/// (the kill switch, then applying, then a single transition's own), and an action that names
/// what changed, so that the same change again counts in a series and a different one does not.
pub fn one_event(notes: Vec<Note>) -> Option<Note> {
    match notes.len() {
        0 => return None,
        1 => return notes.into_iter().next(),
        _ => {}
    }
    let kind = if notes.iter().any(|n| n.kind == EventType::Warning) {
        EventType::Warning
    } else {
        EventType::Normal
    };
    let reason = [
        "Suspended",
        "Resumed",
        "Applied",
        "Deleted",
        "Withdrawn",
        "Evaluated",
    ]
    .into_iter()
    .find(|r| notes.iter().any(|n| n.reason == *r))
    .unwrap_or("ConditionsChanged")
    .to_owned();
    let mut actions: Vec<&str> = Vec::new();
    for n in &notes {
        if !actions.contains(&n.action.as_str()) {
            actions.push(&n.action);
        }
    }
    let note = notes
        .iter()
        .map(|n| n.note.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    // The recorder merges Events of the same action into one series: a digest of the text
    // keeps different changes apart (the same change again still counts in its series).
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        note.hash(&mut h);
        format!("{:08x}", h.finish() as u32)
    };
    let joined = actions.join(",");
    let room = 128 - digest.len() - 1;
    let action = format!("{}#{digest}", joined.chars().take(room).collect::<String>());
    let objects: Vec<&ObjectReference> =
        notes.iter().filter_map(|n| n.secondary.as_ref()).collect();
    let secondary = match objects.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    };
    Some(Note {
        kind,
        reason,
        action,
        note,
        secondary,
    })
}

/// Writes the status; true when it was written.
async fn write_status(
    ctx: &Context,
    deployment: &ModelDeployment,
    status: ModelDeploymentStatus,
) -> Result<bool, kube::Error> {
    let namespace = deployment.namespace().unwrap_or_else(|| "default".into());
    let patch = json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ModelDeployment",
        "status": status,
    });
    let _in_flight = ctx
        .stores
        .echoes
        .writing::<ModelDeployment>(Some(&namespace), &deployment.name_any());
    let stored: Answer<ModelDeployment> = patch_answered(
        &ctx.client,
        &namespace,
        &deployment.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
        true,
    )
    .await?;
    ctx.stores
        .echoes
        .wrote(&stored, &deployment.uid().unwrap_or_default());
    ctx.wrote_status(deployment, &status);
    Ok(true)
}

impl Context {
    async fn record(&self, deployment: &ModelDeployment, note: Note) {
        self.event(
            deployment,
            note.kind,
            &note.reason,
            &note.action,
            note.note,
            note.secondary,
        )
        .await;
    }
}

/// Wakes up at the next expiry of evidence or an exception, at the next backup or drill, and
/// at least every `RESYNC`.
pub fn next_wake(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    evidence: &[ComplianceEvidence],
    now: Timestamp,
) -> Duration {
    let deadlines = evidence
        .iter()
        .flat_map(|e| [e.spec.valid_until.0, e.spec.attested_at.0])
        .chain(policy.spec.exceptions.iter().map(|e| e.expires_at.0))
        // Evidence expiring soon changes its message 30 days before the date.
        .chain(evidence.iter().map(|e| {
            e.spec.valid_until.0 - SignedDuration::from_hours(24 * EVIDENCE_EXPIRY_WARNING_DAYS)
        }))
        .chain(backups::next_wake(policy, deployment, now))
        .filter(|t| *t > now);
    let soonest = deadlines
        .map(|t| now.duration_until(t).unsigned_abs())
        .min()
        .unwrap_or(RESYNC);
    // One second past the deadline, so that the reconcile sees it passed.
    soonest.min(RESYNC) + Duration::from_secs(1)
}
