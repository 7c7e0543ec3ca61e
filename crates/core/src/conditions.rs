//! Turning an evaluation into the status of a ModelDeployment: one `metav1.Condition` per row
//! and measure, plus the summary conditions GitOps tools read (`Ready`, `Compliant`, and
//! kstatus's abnormal-true `Reconciling` / `Stalled`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::{DrillOutcome, ModelDeploymentStatus, RestoreDrillStatus, StatusSummary};
use crate::evaluate::{Evaluation, State};
use crate::i18n::msg;

/// Longest message kept in a condition; the API allows 32 KiB, status stays small with 1 KiB.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Where the operator is with this generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The controls for this generation are applied; `suspended` when the kill switch cuts
    /// inference.
    Applied { suspended: bool },
    /// Still applying (objects created but not yet observed, or a transient error).
    Reconciling { reason: String, message: String },
    /// A problem that waits for a change of the inputs, e.g. a missing policy.
    Stalled { reason: String, message: String },
}

/// Cuts `message` to at most `MAX_MESSAGE_BYTES` at a character boundary.
pub fn bounded(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// Whether `reason` matches the API's pattern `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`.
pub fn valid_reason(reason: &str) -> bool {
    let bytes = reason.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b',' | b':');
    match bytes {
        [] => false,
        [first] => first.is_ascii_alphabetic(),
        [first, middle @ .., last] => {
            first.is_ascii_alphabetic()
                && middle.iter().all(inner)
                && (last.is_ascii_alphanumeric() || *last == b'_')
        }
    }
}

fn condition(
    type_: String,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Condition {
    // lastTransitionTime moves only when the status flips.
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    debug_assert!(valid_reason(reason), "invalid condition reason {reason}");
    Condition {
        type_,
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: bounded(message),
        observed_generation: generation,
        last_transition_time,
    }
}

/// All conditions: the summary ones first, then rows and measures in catalog order.
pub fn conditions(
    evaluation: &Evaluation,
    progress: &Progress,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Vec<Condition> {
    let rows = evaluation.decisions.iter().map(|d| {
        debug_assert!(
            d.state == State::Compliant || !d.message.is_empty(),
            "only a met row's condition has no message, so `state_of` can tell met from not applicable"
        );
        let status = match d.state {
            State::Compliant | State::NotApplicable => "True",
            State::NonCompliant | State::Excepted => "False",
            State::Unknown => "Unknown",
        };
        // A met row's reason says why it is met; the evaluation (the `check` output and the
        // reports) keeps the full explanation. Leaving its message empty keeps the status
        // small, and stable: it changes only when a decision does.
        let message = if d.state == State::Compliant {
            String::new()
        } else {
            d.message.clone()
        };
        (d.id.condition_type(), status, d.reason, message)
    });
    // The generation is said once per status (`status.observedGeneration`) and on the summary
    // conditions tools read; repeating it on every row would only make the status bigger.
    let summary = summary_conditions(evaluation, progress).into_iter().map(
        |(type_, status, reason, message)| {
            condition(type_, status, reason, &message, generation, previous, now)
        },
    );
    let rows = rows.map(|(type_, status, reason, message)| {
        condition(type_, status, reason, &message, None, previous, now)
    });
    summary.chain(rows).collect()
}

/// The decision a row's or measure's condition records, the inverse of [`conditions`]: True
/// is met, or not applicable (the only True conditions with a message); False is not met, or
/// excepted under a risk acceptance (`RiskAccepted`); Unknown is undecided.
pub fn state_of(condition: &Condition) -> State {
    match condition.status.as_str() {
        "True" if condition.message.is_empty() => State::Compliant,
        "True" => State::NotApplicable,
        "False" if condition.reason == "RiskAccepted" => State::Excepted,
        "False" => State::NonCompliant,
        _ => State::Unknown,
    }
}

/// `Ready`, `Compliant`, `Reconciling` and `Stalled`: type, status, reason and message.
fn summary_conditions<'a>(
    evaluation: &Evaluation,
    progress: &'a Progress,
) -> [(String, &'static str, &'a str, String); 4] {
    let ready = match progress {
        Progress::Applied { suspended: false } => {
            ("True", "ControlsApplied", msg!(ControlsApplied))
        }
        Progress::Applied { suspended: true } => {
            ("True", "InferenceSuspended", msg!(ControlsAppliedSuspended))
        }
        Progress::Reconciling { reason, message } | Progress::Stalled { reason, message } => {
            ("False", reason.as_str(), message.clone())
        }
    };
    let mut summary = msg!(
        RiskSummary,
        risk = evaluation.risk.as_str(),
        ratio = evaluation.summary.ratio(),
        not_met = evaluation.summary.non_compliant,
        unknown = evaluation.summary.unknown,
        excepted = evaluation.summary.excepted
    );
    summary.push_str(&most_severe(evaluation));
    let (compliant, compliant_reason) = if evaluation.decisions.is_empty() {
        ("Unknown", "NotEvaluated")
    } else if evaluation.acceptable {
        ("True", "RiskAcceptable")
    } else {
        ("False", "RiskUnacceptable")
    };
    let reconciling = match progress {
        Progress::Reconciling { reason, message } => ("True", reason.as_str(), message.clone()),
        _ => ("False", "Settled", msg!(NothingToApply)),
    };
    let stalled = match progress {
        Progress::Stalled { reason, message } => ("True", reason.as_str(), message.clone()),
        _ => ("False", "Progressing", msg!(NoPermanentProblem)),
    };
    [
        ("Ready".into(), ready.0, ready.1, ready.2),
        ("Compliant".into(), compliant, compliant_reason, summary),
        (
            "Reconciling".into(),
            reconciling.0,
            reconciling.1,
            reconciling.2,
        ),
        ("Stalled".into(), stalled.0, stalled.1, stalled.2),
    ]
}

/// How many open findings the `Compliant` message names; the rest are counted.
const NAMED_FINDINGS: usize = 3;

/// `; most severe open: A4, A6, M81a and 9 more` (the ids of their conditions' types), or
/// nothing when no finding is open.
fn most_severe(evaluation: &Evaluation) -> String {
    let Some(top) = evaluation
        .findings
        .first()
        .and_then(|id| evaluation.decision(*id))
        .map(|d| d.severity)
    else {
        return String::new();
    };
    let at_top: Vec<String> = evaluation
        .findings
        .iter()
        .filter_map(|id| evaluation.decision(*id))
        .filter(|d| d.severity == top)
        .map(|d| {
            let type_ = d.id.condition_type();
            type_
                .split_once('-')
                .map_or(type_.clone(), |(id, _)| id.to_owned())
        })
        .collect();
    let mut named = at_top[..at_top.len().min(NAMED_FINDINGS)].join(", ");
    let rest = evaluation.findings.len() - at_top.len().min(NAMED_FINDINGS);
    if rest > 0 {
        named.push(' ');
        named.push_str(&msg!(AndMore, count = rest));
    }
    format!("; {}", msg!(MostSevereOpen, conditions = named))
}

/// The whole status of a ModelDeployment.
pub fn status(
    evaluation: &Evaluation,
    progress: &Progress,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> ModelDeploymentStatus {
    let s = &evaluation.summary;
    ModelDeploymentStatus {
        observed_generation: generation,
        conditions: conditions(evaluation, progress, generation, previous, now),
        summary: Some(StatusSummary {
            compliant: s.ratio(),
            applicable: s.applicable as i32,
            met: s.compliant as i32,
            not_met: s.non_compliant as i32,
            not_applicable: s.not_applicable as i32,
            excepted: s.excepted as i32,
            unknown: s.unknown as i32,
        }),
        risk: Some(evaluation.risk),
        acceptable: Some(evaluation.acceptable),
        backup: None,
        evidence_expiry: None,
    }
}

/// Type of the condition saying whether the newest restore drill recovered every volume.
pub const RESTORE_VERIFIED: &str = "M81e-RestoreVerified";

/// The restore drill's condition: True when every volume was restored, False naming the
/// volumes and snapshots that were not, Unknown while the drill runs.
pub fn restore_verified(
    drill: &RestoreDrillStatus,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Condition {
    let slot = drill.slot.0;
    let (status, reason, message) = match drill.outcome {
        DrillOutcome::Running => ("Unknown", "RestoreRunning", msg!(DrillRunning, slot = slot)),
        DrillOutcome::Succeeded => (
            "True",
            "RestoreSucceeded",
            msg!(
                DrillSucceeded,
                slot = slot,
                volumes = drill
                    .volumes
                    .iter()
                    .map(|v| msg!(
                        VolumeRestored,
                        volume = v.volume,
                        snapshot = v.snapshot.as_deref().unwrap_or("?"),
                        seconds = v.seconds_to_bind.unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        DrillOutcome::Failed => (
            "False",
            "RestoreFailed",
            msg!(
                DrillFailed,
                slot = slot,
                volumes = drill
                    .volumes
                    .iter()
                    .filter_map(|v| v.message.as_deref())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    };
    condition(
        RESTORE_VERIFIED.to_owned(),
        status,
        reason,
        &message,
        generation,
        previous,
        now,
    )
}

/// Whether two condition lists say the same thing, ignoring `lastTransitionTime`: the
/// controller writes status only when this is false.
pub fn same_conditions(a: &[Condition], b: &[Condition]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.type_ == y.type_
                && x.status == y.status
                && x.reason == y.reason
                && x.message == y.message
                && x.observed_generation == y.observed_generation
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{RiskLevel, Severity};
    use crate::evaluate::{Decision, Obligation, Summary};
    use k8s_openapi::jiff::Timestamp;

    fn evaluation(states: &[(u8, State, &'static str)]) -> Evaluation {
        let decisions = states
            .iter()
            .map(|(n, state, reason)| Decision {
                id: Obligation::Row(*n),
                state: *state,
                reason,
                message: format!("row {n}"),
                severity: Severity::High,
                remark: None,
                evidence: vec![],
            })
            .collect();
        Evaluation {
            decisions,
            summary: Summary {
                applicable: 2,
                compliant: 1,
                non_compliant: 1,
                ..Default::default()
            },
            risk: RiskLevel::High,
            acceptable: false,
            findings: vec![Obligation::Row(2)],
        }
    }

    fn at(s: &str) -> Time {
        Time(s.parse::<Timestamp>().unwrap())
    }

    #[test]
    fn one_condition_per_decision_plus_summary() {
        let e = evaluation(&[
            (1, State::Compliant, "EvidenceValid"),
            (2, State::NonCompliant, "LicenseMissing"),
            (3, State::Unknown, "BackupAgeUnknown"),
            (4, State::NotApplicable, "NotApplicableByPolicy"),
            (5, State::Excepted, "RiskAccepted"),
        ]);
        let c = conditions(
            &e,
            &Progress::Applied { suspended: false },
            Some(3),
            &[],
            &at("2026-12-01T00:00:00Z"),
        );
        let types: Vec<&str> = c.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            &types[..4],
            ["Ready", "Compliant", "Reconciling", "Stalled"]
        );
        assert_eq!(types[4], "A1-SecurePlatform");
        let status: Vec<&str> = c[4..].iter().map(|c| c.status.as_str()).collect();
        assert_eq!(status, ["True", "False", "Unknown", "True", "False"]);
        assert_eq!(c[1].status, "False");
        assert_eq!(c[1].reason, "RiskUnacceptable");
        assert!(c.iter().all(|c| valid_reason(&c.reason)));
        assert!(c[..4].iter().all(|c| c.observed_generation == Some(3)));
        assert!(c[4..].iter().all(|c| c.observed_generation.is_none()));
    }

    #[test]
    fn state_of_reads_back_every_state_the_conditions_record() {
        let states = [
            (1, State::Compliant, "EvidenceValid"),
            (2, State::NonCompliant, "LicenseMissing"),
            (3, State::Unknown, "BackupAgeUnknown"),
            (4, State::NotApplicable, "NotApplicableByPolicy"),
            (5, State::Excepted, "RiskAccepted"),
            (6, State::NotApplicable, "NoCrawledData"),
        ];
        let c = conditions(
            &evaluation(&states),
            &Progress::Applied { suspended: false },
            None,
            &[],
            &at("2026-12-01T00:00:00Z"),
        );
        let read: Vec<State> = c[4..].iter().map(state_of).collect();
        let written: Vec<State> = states.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(read, written);
    }

    #[test]
    fn transition_time_kept_unless_status_flips() {
        let e = evaluation(&[
            (1, State::Compliant, "EvidenceValid"),
            (2, State::NonCompliant, "LicenseMissing"),
        ]);
        let first = conditions(
            &e,
            &Progress::Applied { suspended: false },
            Some(1),
            &[],
            &at("2026-12-01T00:00:00Z"),
        );
        let again = conditions(
            &e,
            &Progress::Applied { suspended: false },
            Some(1),
            &first,
            &at("2026-12-02T00:00:00Z"),
        );
        assert_eq!(first, again);
        assert!(same_conditions(&first, &again));
        let flipped = evaluation(&[
            (1, State::NonCompliant, "EvidenceExpired"),
            (2, State::NonCompliant, "LicenseMissing"),
        ]);
        let later = conditions(
            &flipped,
            &Progress::Applied { suspended: false },
            Some(1),
            &first,
            &at("2026-12-03T00:00:00Z"),
        );
        assert_eq!(later[4].last_transition_time, at("2026-12-03T00:00:00Z"));
        assert_eq!(later[5].last_transition_time, at("2026-12-01T00:00:00Z"));
        assert!(!same_conditions(&first, &later));
    }

    #[test]
    fn stalled_and_reconciling_are_abnormal_true() {
        let e = evaluation(&[(1, State::Compliant, "EvidenceValid")]);
        let now = at("2026-12-01T00:00:00Z");
        let stalled = Progress::Stalled {
            reason: "PolicyNotFound".into(),
            message: "CompliancePolicy x does not exist".into(),
        };
        let c = conditions(&e, &stalled, Some(2), &[], &now);
        assert_eq!(
            (c[0].status.as_str(), c[0].reason.as_str()),
            ("False", "PolicyNotFound")
        );
        assert_eq!(
            (c[3].status.as_str(), c[3].reason.as_str()),
            ("True", "PolicyNotFound")
        );
        assert_eq!(c[2].status, "False");
        let busy = Progress::Reconciling {
            reason: "Applying".into(),
            message: "creating NetworkPolicies".into(),
        };
        let c = conditions(&e, &busy, Some(2), &[], &now);
        assert_eq!(c[2].status, "True");
        assert_eq!(c[0].status, "False");
    }

    #[test]
    fn messages_are_bounded_on_char_boundaries() {
        let long = "数".repeat(1000);
        let b = bounded(&long);
        assert!(b.len() <= MAX_MESSAGE_BYTES);
        assert!(b.ends_with("..."));
        assert_eq!(bounded("short"), "short");
    }

    #[test]
    fn reason_pattern() {
        assert!(valid_reason("EvidenceValid"));
        assert!(valid_reason("A"));
        assert!(valid_reason("Reason_1,x:y"));
        assert!(!valid_reason(""));
        assert!(!valid_reason("1Bad"));
        assert!(!valid_reason("Bad-Reason"));
        assert!(!valid_reason("Trailing,"));
    }

    #[test]
    fn status_summary_names_the_most_severe_findings() {
        let e = evaluation(&[
            (1, State::Compliant, "EvidenceValid"),
            (2, State::NonCompliant, "LicenseMissing"),
        ]);
        let s = status(
            &e,
            &Progress::Applied { suspended: false },
            Some(1),
            &[],
            &at("2026-12-01T00:00:00Z"),
        );
        assert_eq!(s.summary.as_ref().unwrap().compliant, "1/2");
        assert_eq!(s.risk, Some(RiskLevel::High));
        let compliant = s
            .conditions
            .iter()
            .find(|c| c.type_ == "Compliant")
            .unwrap();
        assert!(
            compliant.message.ends_with("; most severe open: A2"),
            "{}",
            compliant.message
        );
        let met = s.conditions.iter().find(|c| c.type_ == "A1-SecurePlatform");
        assert_eq!(met.unwrap().message, "", "a met row's reason says it");
        let open = s
            .conditions
            .iter()
            .find(|c| c.type_ == "A2-PlatformRiskDetection");
        assert!(!open.unwrap().message.is_empty());
    }
}
