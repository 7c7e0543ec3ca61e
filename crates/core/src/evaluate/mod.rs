//! The evaluation core: a pure function of (policy, deployment, evidence, observed snapshot,
//! now) that decides every row of Annex A and every measure of clause 8.1. The offline
//! `check` and the controller call the same function, so they cannot disagree.

mod controls;
mod declared;
mod evidence;
pub mod reach;

use std::fmt;

use k8s_openapi::jiff::Timestamp;
use serde::{Serialize, Serializer};

use crate::api::selector;
use crate::api::{
    ComplianceEvidence, CompliancePolicy, Measure, ModelDeployment, RiskLevel, Severity,
    UnknownRows,
};
use crate::catalog::{self, Basis, MeasureEntry, Row};
use crate::i18n::msg;
use crate::snapshot::Snapshot;

pub use evidence::{EvidenceRef, earliest_expiry, met_by_evidence, valid_evidence};

/// What an evaluation is computed from.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub policy: &'a CompliancePolicy,
    pub deployment: &'a ModelDeployment,
    /// ComplianceEvidence objects; only those in the deployment's namespace count.
    pub evidence: &'a [ComplianceEvidence],
    pub snapshot: &'a Snapshot,
    pub now: Timestamp,
}

/// A row of Annex A or a measure of clause 8.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Obligation {
    Row(u8),
    Measure(Measure),
}

impl Obligation {
    /// Condition type: `A37-GeneratedContentLabeled`, `M81e-BackupsCurrent`.
    pub fn condition_type(self) -> String {
        match self {
            Obligation::Row(n) => catalog::row_entry(n).expect("valid row").condition_type(),
            Obligation::Measure(m) => catalog::measure_entry(m).condition_type.to_owned(),
        }
    }

    /// Short label for tables: `37`, `8.1a`.
    pub fn label(self) -> String {
        match self {
            Obligation::Row(n) => n.to_string(),
            Obligation::Measure(m) => catalog::measure_entry(m).clause.to_owned(),
        }
    }

    fn order_key(self) -> (u8, u8) {
        match self {
            Obligation::Row(n) => (0, n),
            Obligation::Measure(m) => (1, m as u8),
        }
    }
}

impl Serialize for Obligation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.condition_type())
    }
}

impl fmt::Display for Obligation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.condition_type())
    }
}

/// The decision about one obligation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum State {
    Compliant,
    NonCompliant,
    NotApplicable,
    Excepted,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Compliant => "Compliant",
            State::NonCompliant => "NonCompliant",
            State::NotApplicable => "NotApplicable",
            State::Excepted => "Excepted",
            State::Unknown => "Unknown",
        }
    }
}

/// One decided obligation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub id: Obligation,
    pub state: State,
    /// CamelCase reason, usable as a condition reason.
    pub reason: &'static str,
    /// What was found, and for an unmet obligation exactly what is missing.
    pub message: String,
    pub severity: Severity,
    /// The policy's remark (备注) for this row, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Evidence relied on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRef>,
}

impl Decision {
    pub fn applicable(&self) -> bool {
        self.state != State::NotApplicable
    }

    /// Open findings: not met, or undecided.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::NonCompliant | State::Unknown)
    }
}

/// Counts of the 42 rows per state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub applicable: u32,
    pub compliant: u32,
    pub non_compliant: u32,
    pub not_applicable: u32,
    pub excepted: u32,
    pub unknown: u32,
}

impl Summary {
    /// `met/applicable`, as shown by `kubectl get mdep`.
    pub fn ratio(&self) -> String {
        format!("{}/{}", self.compliant, self.applicable)
    }
}

/// The result of evaluating one ModelDeployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// The 42 rows in table order, then the six measures.
    pub decisions: Vec<Decision>,
    /// Counts over the 42 rows.
    pub summary: Summary,
    /// Highest severity among open findings that count.
    pub risk: RiskLevel,
    /// Whether `risk` is within the policy's acceptance.
    pub acceptable: bool,
    /// Open findings (rows and measures), most severe first, then by row.
    pub findings: Vec<Obligation>,
}

impl Evaluation {
    /// No decision yet (the deployment cannot be evaluated, e.g. its policy is missing).
    pub fn undecided() -> Self {
        Evaluation {
            decisions: vec![],
            summary: Summary::default(),
            risk: RiskLevel::None,
            acceptable: false,
            findings: vec![],
        }
    }

    pub fn decision(&self, id: Obligation) -> Option<&Decision> {
        self.decisions.iter().find(|d| d.id == id)
    }

    pub fn row(&self, n: u8) -> &Decision {
        &self.decisions[usize::from(n) - 1]
    }

    pub fn measure(&self, m: Measure) -> &Decision {
        self.decision(Obligation::Measure(m))
            .expect("every measure is decided")
    }
}

/// What a rule decided before the policy's applicability, exceptions and severity apply.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Outcome {
    pub state: State,
    pub reason: &'static str,
    pub message: String,
    pub evidence: Vec<EvidenceRef>,
}

impl Outcome {
    pub fn met(reason: &'static str, message: impl Into<String>) -> Self {
        Outcome {
            state: State::Compliant,
            reason,
            message: message.into(),
            evidence: vec![],
        }
    }
    pub fn unmet(reason: &'static str, message: impl Into<String>) -> Self {
        Outcome {
            state: State::NonCompliant,
            reason,
            message: message.into(),
            evidence: vec![],
        }
    }
    pub fn unknown(reason: &'static str, message: impl Into<String>) -> Self {
        Outcome {
            state: State::Unknown,
            reason,
            message: message.into(),
            evidence: vec![],
        }
    }
    pub fn not_applicable(reason: &'static str, message: impl Into<String>) -> Self {
        Outcome {
            state: State::NotApplicable,
            reason,
            message: message.into(),
            evidence: vec![],
        }
    }
    pub fn with_evidence(mut self, evidence: Vec<EvidenceRef>) -> Self {
        self.evidence = evidence;
        self
    }
}

/// Collects what a multi-part check found: problems make it unmet, open questions unknown.
#[derive(Default)]
pub(crate) struct Findings {
    problems: Vec<(&'static str, String)>,
    open: Vec<(&'static str, String)>,
    passed: Vec<String>,
}

impl Findings {
    pub fn problem(&mut self, reason: &'static str, message: impl Into<String>) {
        self.problems.push((reason, message.into()));
    }
    pub fn open(&mut self, reason: &'static str, message: impl Into<String>) {
        self.open.push((reason, message.into()));
    }
    pub fn passed(&mut self, message: impl Into<String>) {
        self.passed.push(message.into());
    }
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Problems win over open questions; the first one's reason is the outcome's reason. An
    /// unmet or unknown outcome says only what is missing or open, not what passed.
    pub fn outcome(self, met_reason: &'static str) -> Outcome {
        if let Some((reason, _)) = self.problems.first() {
            let reason = *reason;
            return Outcome::unmet(reason, join(self.problems.into_iter().map(|(_, m)| m)));
        }
        if let Some((reason, _)) = self.open.first() {
            let reason = *reason;
            return Outcome::unknown(reason, join(self.open.into_iter().map(|(_, m)| m)));
        }
        Outcome::met(met_reason, join(self.passed.into_iter()))
    }
}

/// Joins message parts into one sentence list, bounded so each condition stays small.
pub(crate) fn join(parts: impl Iterator<Item = String>) -> String {
    const LIMIT: usize = 900;
    let mut out = String::new();
    let mut left = 0usize;
    for mut part in parts {
        if out.is_empty() && part.len() > LIMIT {
            // One part alone too long: keep its beginning, which names what is missing.
            let mut end = LIMIT - 8;
            while !part.is_char_boundary(end) {
                end -= 1;
            }
            part.truncate(end);
            part.push_str("...");
        }
        if out.len() + part.len() + 2 > LIMIT {
            left += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&part);
    }
    if left > 0 {
        out.push_str("; ");
        out.push_str(&msg!(AndMore, count = left));
    }
    out
}

/// The context every rule reads.
pub(crate) struct Ctx<'a> {
    pub inputs: Inputs<'a>,
    pub name: &'a str,
    pub namespace: &'a str,
}

impl<'a> Ctx<'a> {
    pub fn spec(&self) -> &'a crate::api::ModelDeploymentSpec {
        &self.inputs.deployment.spec
    }
    pub fn policy(&self) -> &'a crate::api::CompliancePolicySpec {
        &self.inputs.policy.spec
    }
    pub fn snapshot(&self) -> &'a Snapshot {
        self.inputs.snapshot
    }
    pub fn now(&self) -> Timestamp {
        self.inputs.now
    }
}

/// Evaluates one ModelDeployment. Same inputs, same output.
pub fn evaluate(inputs: Inputs<'_>) -> Evaluation {
    let namespace = inputs
        .deployment
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("default");
    let name = inputs.deployment.metadata.name.as_deref().unwrap_or("");
    let ctx = Ctx {
        inputs,
        name,
        namespace,
    };

    let controls = controls::ControlFacts::gather(&ctx);
    let mut decisions = Vec::with_capacity(catalog::ROWS.len() + catalog::MEASURES.len());
    for row in &catalog::ROWS {
        let id = Obligation::Row(row.number);
        let outcome = decide_row(&ctx, &controls, row);
        decisions.push(finish(&ctx, id, row_severity(&ctx, row), outcome));
    }
    for entry in &catalog::MEASURES {
        let id = Obligation::Measure(entry.measure);
        let outcome = decide_measure(&ctx, &controls, entry);
        decisions.push(finish(&ctx, id, measure_severity(&ctx, entry), outcome));
    }

    let summary = summarize(&decisions[..catalog::ROWS.len()]);
    let acceptance = &ctx.policy().risk_acceptance;
    let counts = |d: &Decision| match d.state {
        State::NonCompliant => true,
        State::Unknown => acceptance.unknown_rows == UnknownRows::CountAsUnmet,
        _ => false,
    };
    let risk = decisions
        .iter()
        .filter(|d| counts(d))
        .map(|d| RiskLevel::from(d.severity))
        .max()
        .unwrap_or(RiskLevel::None);
    let findings = open_findings(&decisions);

    Evaluation {
        decisions,
        summary,
        risk,
        acceptable: risk <= acceptance.max_acceptable,
        findings,
    }
}

/// Counts the rows' decisions per state.
fn summarize(rows: &[Decision]) -> Summary {
    let mut summary = Summary::default();
    for d in rows {
        match d.state {
            State::Compliant => summary.compliant += 1,
            State::NonCompliant => summary.non_compliant += 1,
            State::NotApplicable => summary.not_applicable += 1,
            State::Excepted => summary.excepted += 1,
            State::Unknown => summary.unknown += 1,
        }
    }
    summary.applicable = rows.len() as u32 - summary.not_applicable;
    summary
}

/// Open findings, most severe first, then in table order.
fn open_findings(decisions: &[Decision]) -> Vec<Obligation> {
    let mut open: Vec<&Decision> = decisions.iter().filter(|d| d.is_open()).collect();
    open.sort_by(|a, b| finding_order((a.severity, a.id), (b.severity, b.id)));
    open.into_iter().map(|d| d.id).collect()
}

/// The severity of an obligation for a deployment under a policy: the policy's override, else
/// the catalog's (for the public where it differs). Reports recompute it from the same inputs,
/// as the status does not carry it.
pub fn severity(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    id: Obligation,
) -> Severity {
    match id {
        Obligation::Row(n) => row_severity_of(
            &policy.spec,
            &deployment.spec,
            catalog::row_entry(n).expect("valid row"),
        ),
        Obligation::Measure(m) => measure_severity_of(&policy.spec, catalog::measure_entry(m)),
    }
}

/// Every obligation in table order: the 42 rows, then the measures of clause 8.1.
pub fn obligations() -> impl Iterator<Item = Obligation> {
    catalog::ROWS
        .iter()
        .map(|r| Obligation::Row(r.number))
        .chain(
            catalog::MEASURES
                .iter()
                .map(|m| Obligation::Measure(m.measure)),
        )
}

/// The order of open findings: most severe first, then table order.
pub fn finding_order(a: (Severity, Obligation), b: (Severity, Obligation)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then(a.1.order_key().cmp(&b.1.order_key()))
}

fn row_severity(ctx: &Ctx, row: &Row) -> Severity {
    row_severity_of(ctx.policy(), ctx.spec(), row)
}

fn row_severity_of(
    policy: &crate::api::CompliancePolicySpec,
    deployment: &crate::api::ModelDeploymentSpec,
    row: &Row,
) -> Severity {
    let overridden = policy
        .rows
        .iter()
        .find(|o| o.row == i32::from(row.number))
        .and_then(|o| o.severity);
    overridden.unwrap_or(match row.public_severity {
        Some(s) if deployment.service.public => s,
        _ => row.severity,
    })
}

fn measure_severity(ctx: &Ctx, entry: &MeasureEntry) -> Severity {
    measure_severity_of(ctx.policy(), entry)
}

fn measure_severity_of(
    policy: &crate::api::CompliancePolicySpec,
    entry: &MeasureEntry,
) -> Severity {
    policy
        .measures
        .iter()
        .find(|o| o.measure == entry.measure)
        .and_then(|o| o.severity)
        .unwrap_or(entry.severity)
}

/// Whether the policy applies `id`, and its remark.
pub(crate) fn applicability(ctx: &Ctx, id: Obligation) -> (bool, Option<String>) {
    policy_applicability(ctx.policy(), id)
}

/// Whether a policy applies `id` (是否适用), and its remark (备注).
pub fn policy_applicability(
    policy: &crate::api::CompliancePolicySpec,
    id: Obligation,
) -> (bool, Option<String>) {
    let found = match id {
        Obligation::Row(n) => policy
            .rows
            .iter()
            .find(|o| o.row == i32::from(n))
            .map(|o| (o.applicable, &o.remark)),
        Obligation::Measure(m) => policy
            .measures
            .iter()
            .find(|o| o.measure == m)
            .map(|o| (o.applicable, &o.remark)),
    };
    found.map_or((true, None), |(applicable, remark)| {
        (applicable.unwrap_or(true), remark.clone())
    })
}

/// Applies the policy's applicability, then a valid exception, to a rule's outcome.
fn finish(ctx: &Ctx, id: Obligation, severity: Severity, outcome: Outcome) -> Decision {
    let (applicable, remark) = applicability(ctx, id);
    if !applicable {
        let message = msg!(
            NotApplicableByPolicy,
            policy = ctx.inputs.policy.metadata.name.as_deref().unwrap_or(""),
            remark = remark.as_deref().unwrap_or("")
        );
        return Decision {
            id,
            state: State::NotApplicable,
            reason: "NotApplicableByPolicy",
            message,
            severity,
            remark,
            evidence: vec![],
        };
    }
    let mut decision = Decision {
        id,
        state: outcome.state,
        reason: outcome.reason,
        message: outcome.message,
        severity,
        remark,
        evidence: outcome.evidence,
    };
    if matches!(decision.state, State::NonCompliant | State::Unknown) {
        apply_exception(ctx, &mut decision);
    }
    decision
}

fn apply_exception(ctx: &Ctx, decision: &mut Decision) {
    let labels = ctx.inputs.deployment.metadata.labels.as_ref();
    let mut lapsed: Option<String> = None;
    let covering = ctx
        .policy()
        .exceptions
        .iter()
        .filter(|e| match decision.id {
            Obligation::Row(n) => e.row == Some(i32::from(n)),
            Obligation::Measure(m) => e.measure == Some(m),
        });
    let mut best: Option<&crate::api::RiskException> = None;
    for exception in covering {
        if !selector::matches(&exception.selector, labels) {
            continue;
        }
        if exception.expires_at.0 > ctx.now() {
            if best.is_none_or(|b| exception.expires_at.0 > b.expires_at.0) {
                best = Some(exception);
            }
        } else {
            lapsed = Some(msg!(
                RiskAcceptanceExpired,
                approver = exception.approved_by,
                date = date_of(exception.expires_at.0)
            ));
        }
    }
    if let Some(e) = best {
        decision.message = msg!(
            RiskAccepted,
            approver = e.approved_by,
            date = date_of(e.expires_at.0),
            justification = e.justification,
            message = decision.message
        );
        decision.state = State::Excepted;
        decision.reason = "RiskAccepted";
    } else if let Some(lapsed) = lapsed {
        decision.message = format!("{}; {lapsed}", decision.message);
    }
}

/// The calendar day (UTC) of a timestamp.
pub(crate) fn date_of(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

fn decide_row(ctx: &Ctx, controls: &controls::ControlFacts, row: &Row) -> Outcome {
    let n = row.number;
    match row.basis {
        Basis::Evidence => evidence::require(ctx, Obligation::Row(n)),
        Basis::Declared | Basis::DeclaredAndEvidence => {
            let declared = declared::decide(ctx, n);
            if row.basis == Basis::DeclaredAndEvidence {
                evidence::and_declared(ctx, Obligation::Row(n), declared)
            } else {
                declared
            }
        }
        Basis::Evaluation => declared::decide_evaluation(ctx, n),
        Basis::Control | Basis::ControlAndEvidence | Basis::ClusterOrEvidence => {
            controls::decide_row(ctx, controls, n)
        }
    }
}

fn decide_measure(ctx: &Ctx, controls: &controls::ControlFacts, entry: &MeasureEntry) -> Outcome {
    match entry.basis {
        Basis::Evidence => evidence::require(ctx, Obligation::Measure(entry.measure)),
        _ => controls::decide_measure(ctx, controls, entry.measure),
    }
}

/// `part/whole` as a percentage with one decimal, for messages.
pub(crate) fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "n/a".to_owned();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

/// A rate such as 0.96 as a percentage with one decimal, for messages.
pub(crate) fn as_percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

/// Whether `part/whole >= rate`, robust to the rounding of decimal rates.
pub(crate) fn rate_at_least(part: i64, whole: i64, rate: f64) -> bool {
    whole > 0 && part as f64 + 1e-9 >= rate * whole as f64
}

/// Whether `part/whole <= rate`.
pub(crate) fn rate_at_most(part: i64, whole: i64, rate: f64) -> bool {
    whole > 0 && part as f64 <= rate * whole as f64 + 1e-9
}

#[cfg(test)]
pub(crate) mod testing;

/// Whether inference is to be cut: the kill switch, or an unacceptable risk under
/// `SuspendInference`.
pub fn suspended(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    evaluation: &Evaluation,
) -> bool {
    deployment.spec.suspend
        || (policy.spec.risk_acceptance.treatment == crate::api::RiskTreatment::SuspendInference
            && !evaluation.acceptable)
}

#[cfg(test)]
mod tests;
