//! Rows and measures decided from the observed snapshot: the controls the operator enforces
//! (isolation, access control, backups, sidecars, kill switch) and the cluster objects a
//! policy names. Offline, facts only a live cluster knows leave the decision Unknown.

pub(crate) mod access;
mod backup;
mod cluster;
mod isolation;
mod kill_switch;
mod pods;
mod sidecar;

use super::{Ctx, Findings, Obligation, Outcome, evidence};
use crate::api::{EnforcementMode, Measure};
use crate::i18n::{Msg, english, msg};

/// Outcomes shared by several rows, computed once per evaluation.
pub(crate) struct ControlFacts {
    isolation: Outcome,
    access: Outcome,
    backup: Outcome,
    sidecar: Outcome,
}

impl ControlFacts {
    pub fn gather(ctx: &Ctx) -> Self {
        ControlFacts {
            isolation: isolation::isolation(ctx),
            access: access::access_control(ctx),
            backup: backup::backup(ctx),
            sidecar: sidecar::sidecar(ctx),
        }
    }
}

pub(crate) fn decide_row(ctx: &Ctx, facts: &ControlFacts, row: u8) -> Outcome {
    match row {
        2 => {
            cluster::cluster_or_evidence(ctx, Obligation::Row(2), cluster::platform_monitoring(ctx))
        }
        19 => access::training_data_protected(ctx, facts),
        23 => isolation::safety_annotations(ctx, &facts.isolation),
        27 => sidecar_row(Msg::InputFilterSee, &facts.sidecar),
        28 => {
            let check = ctx.policy().cluster_checks.safety_evaluation.as_ref();
            cluster::cluster_or_evidence(
                ctx,
                Obligation::Row(28),
                cluster::recurring_job(ctx, check, "safetyEvaluation"),
            )
        }
        37 => sidecar_row(Msg::LabelingSidecarSee, &facts.sidecar),
        40 => kill_switch::kill_switch(ctx),
        _ => unreachable!("row {row} is not decided from the cluster"),
    }
}

pub(crate) fn decide_measure(ctx: &Ctx, facts: &ControlFacts, measure: Measure) -> Outcome {
    match measure {
        Measure::Isolation => facts.isolation.clone(),
        Measure::AccessControl => facts.access.clone(),
        Measure::ContentSafety => Outcome {
            message: msg!(SidecarPrefixed, message = facts.sidecar.message),
            ..facts.sidecar.clone()
        },
        Measure::Backup => facts.backup.clone(),
        Measure::CodeAudit => {
            let check = ctx.policy().cluster_checks.code_audit.as_ref();
            cluster::cluster_or_evidence(
                ctx,
                Obligation::Measure(Measure::CodeAudit),
                cluster::recurring_job(ctx, check, "codeAudit"),
            )
        }
        Measure::AdversarialDefense => evidence::require(ctx, Obligation::Measure(measure)),
    }
}

/// Rows 27 and 37 rest on the sidecar, whose measure condition says what is missing: the
/// rows name their role of it and point there, so that the status says it once.
fn sidecar_row(role: Msg, outcome: &Outcome) -> Outcome {
    let see = crate::catalog::measure_entry(Measure::ContentSafety).condition_type;
    Outcome {
        message: english(role, &[("condition", &see)]),
        ..outcome.clone()
    }
}

/// Something a control needs is missing. Offline under Enforce the operator will create it
/// once the manifests are applied, so it is an open question rather than a problem.
fn missing_unless_enforced(
    f: &mut Findings,
    mode: EnforcementMode,
    live: bool,
    (reason, message): (&'static str, String),
    (pending_reason, remedy): (&'static str, Msg),
) {
    if mode == EnforcementMode::Enforce && !live {
        f.open(pending_reason, english(remedy, &[("message", &message)]));
    } else {
        f.problem(reason, message);
    }
}
