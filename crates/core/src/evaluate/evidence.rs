//! Rows satisfied by ComplianceEvidence: a valid, unexpired attestation that names the row
//! and this deployment.

use serde::Serialize;

use super::{Ctx, Obligation, Outcome, State, date_of};
use crate::api::ComplianceEvidence;
use crate::catalog::defaults::EVIDENCE_EXPIRY_WARNING_DAYS;
use crate::i18n::msg;

/// Evidence a decision relied on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRef {
    pub name: String,
    /// Day the evidence lapses.
    pub valid_until: String,
}

enum Lookup<'a> {
    Valid(&'a ComplianceEvidence),
    Expired(&'a ComplianceEvidence),
    NotYetValid(&'a ComplianceEvidence),
    /// Nothing names this deployment; the names of evidence for the row that target others.
    Missing(Vec<&'a str>),
}

fn covers(e: &ComplianceEvidence, id: Obligation) -> bool {
    match id {
        Obligation::Row(n) => e.spec.rows.contains(&i32::from(n)),
        Obligation::Measure(m) => e.spec.measures.contains(&m),
    }
}

fn lookup<'a>(ctx: &Ctx<'a>, id: Obligation) -> Lookup<'a> {
    lookup_in(ctx.inputs.evidence, ctx.namespace, ctx.name, id, ctx.now())
}

/// The evidence a met obligation of the deployment `namespace/name` relies on at `now`: the
/// valid attestation that names it and the obligation, the one valid longest among several.
/// Reports read it from the cluster's ComplianceEvidence objects, which the status does not
/// repeat.
pub fn valid_evidence<'a>(
    evidence: &'a [ComplianceEvidence],
    namespace: &str,
    name: &str,
    id: Obligation,
    now: k8s_openapi::jiff::Timestamp,
) -> Option<&'a ComplianceEvidence> {
    match lookup_in(evidence, namespace, name, id, now) {
        Lookup::Valid(e) => Some(e),
        _ => None,
    }
}

/// When the earliest of `evidence` (the objects of the deployment's namespace) that names the
/// deployment `name` as a target lapses, lapsed or not: what the status and the metrics show
/// as the deployment's next evidence expiry.
pub fn earliest_expiry(
    evidence: &[ComplianceEvidence],
    name: &str,
) -> Option<k8s_openapi::jiff::Timestamp> {
    evidence
        .iter()
        .filter(|e| e.spec.targets.iter().any(|t| t == name))
        .map(|e| e.spec.valid_until.0)
        .min()
}

/// Whether `reason` is one a decision met by evidence carries.
pub fn met_by_evidence(reason: &str) -> bool {
    matches!(reason, "EvidenceValid" | "EvidenceExpiringSoon")
}

fn lookup_in<'a>(
    evidence: &'a [ComplianceEvidence],
    namespace: &str,
    name: &str,
    id: Obligation,
    now: k8s_openapi::jiff::Timestamp,
) -> Lookup<'a> {
    let mut valid: Option<&ComplianceEvidence> = None;
    let mut expired: Option<&ComplianceEvidence> = None;
    let mut early: Option<&ComplianceEvidence> = None;
    let mut elsewhere = Vec::new();
    let candidates = evidence.iter().filter(|e| {
        e.metadata.namespace.as_deref().unwrap_or("default") == namespace && covers(e, id)
    });
    // Among several, the one valid longest wins; ties go to the name, so the choice is stable.
    let later = |a: &ComplianceEvidence, b: &ComplianceEvidence| {
        (&a.spec.valid_until.0, &a.metadata.name) > (&b.spec.valid_until.0, &b.metadata.name)
    };
    for e in candidates {
        if !e.spec.targets.iter().any(|t| t == name) {
            elsewhere.push(e.metadata.name.as_deref().unwrap_or(""));
            continue;
        }
        let slot = if e.spec.valid_until.0 <= now {
            &mut expired
        } else if e.spec.attested_at.0 > now {
            &mut early
        } else {
            &mut valid
        };
        if slot.is_none_or(|b| later(e, b)) {
            *slot = Some(e);
        }
    }
    match (valid, expired, early) {
        (Some(e), _, _) => Lookup::Valid(e),
        (None, Some(e), _) => Lookup::Expired(e),
        (None, None, Some(e)) => Lookup::NotYetValid(e),
        (None, None, None) => {
            elsewhere.sort_unstable();
            Lookup::Missing(elsewhere)
        }
    }
}

fn reference(e: &ComplianceEvidence) -> EvidenceRef {
    EvidenceRef {
        name: e.metadata.name.clone().unwrap_or_default(),
        valid_until: date_of(e.spec.valid_until.0),
    }
}

/// Decides an obligation that only evidence satisfies.
pub(crate) fn require(ctx: &Ctx, id: Obligation) -> Outcome {
    let what = match id {
        Obligation::Row(n) => msg!(EvidenceRow, row = n),
        Obligation::Measure(m) => msg!(EvidenceMeasure, measure = m.as_str()),
    };
    match lookup(ctx, id) {
        Lookup::Valid(e) => {
            let name = e.metadata.name.as_deref().unwrap_or("");
            let days_left = (e.spec.valid_until.0 - ctx.now()).get_seconds() / 86_400;
            let mut message = msg!(
                EvidenceValid,
                attester = e.spec.attested_by,
                evidence = name,
                date = date_of(e.spec.valid_until.0)
            );
            let reason = if days_left < EVIDENCE_EXPIRY_WARNING_DAYS {
                message.push_str("; ");
                message.push_str(&msg!(EvidenceExpiresSoon, days = days_left));
                "EvidenceExpiringSoon"
            } else {
                "EvidenceValid"
            };
            Outcome::met(reason, message).with_evidence(vec![reference(e)])
        }
        Lookup::Expired(e) => Outcome::unmet(
            "EvidenceExpired",
            msg!(
                EvidenceExpired,
                evidence = e.metadata.name.as_deref().unwrap_or(""),
                obligation = what,
                date = date_of(e.spec.valid_until.0)
            ),
        ),
        Lookup::NotYetValid(e) => Outcome::unmet(
            "EvidenceNotYetValid",
            msg!(
                EvidenceNotYetValid,
                evidence = e.metadata.name.as_deref().unwrap_or(""),
                obligation = what,
                date = date_of(e.spec.attested_at.0)
            ),
        ),
        Lookup::Missing(elsewhere) => {
            let message = if elsewhere.is_empty() {
                msg!(EvidenceMissing)
            } else {
                msg!(
                    EvidenceMissingElsewhere,
                    evidence = elsewhere.join(", "),
                    obligation = what
                )
            };
            Outcome::unmet("EvidenceMissing", message)
        }
    }
}

/// Decides an obligation that needs both declared facts and evidence.
pub(crate) fn and_declared(ctx: &Ctx, id: Obligation, declared: Outcome) -> Outcome {
    // A declared outcome that is not applicable needs no evidence either.
    if declared.state == State::NotApplicable {
        return declared;
    }
    let evidence = require(ctx, id);
    match (declared.state, evidence.state) {
        (State::Compliant, State::Compliant) => Outcome {
            state: State::Compliant,
            reason: evidence.reason,
            message: format!("{}; {}", declared.message, evidence.message),
            evidence: evidence.evidence,
        },
        (State::Compliant, _) => evidence,
        (_, State::Compliant) => declared.with_evidence(evidence.evidence),
        _ => Outcome {
            message: format!("{}; {}", declared.message, evidence.message),
            ..declared
        },
    }
}
