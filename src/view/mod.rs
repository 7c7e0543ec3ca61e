//! What `check` and `report` show, as one data model, and the renderers of every format.
//!
//! The model is built from what a live cluster holds: a ModelDeployment's status (one
//! condition per row and measure, as the operator writes it), its CompliancePolicy and the
//! ComplianceEvidence objects. `check` computes the status the operator would write from the
//! same evaluation and then takes the same path, so a check of manifests and a report from a
//! cluster holding them print the same table. The status leaves a met row's message empty, so
//! a met row shows the text of its reason and, where evidence met it, that evidence and its
//! validity, read from the ComplianceEvidence objects.

pub mod dossier;
pub mod html;
pub mod render;
pub mod terminal;
pub mod text;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::api::{
    ComplianceEvidence, CompliancePolicy, CompliancePolicySpec, ModelDeployment, RiskLevel,
    Severity,
};
use crate::conditions;
use crate::evaluate::{self, Obligation, State, Summary};
use crate::i18n::{self, Msg};

pub use render::{Format, Options, Views, render, render_to};

/// Where the shown objects were read from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Origin {
    /// Manifest files, evaluated offline by `check`.
    Manifests { files: usize, documents: usize },
    /// A cluster, read by `report`.
    Cluster {
        /// The kubeconfig context, or `in-cluster`.
        context: String,
        /// The namespace read, or none for all namespaces.
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
    },
}

/// What the fleet summary, the table of contents and the totals show: a few figures per
/// deployment, gathered before any deployment is rendered, so that `check` can render the
/// deployments one at a time and keep none of them.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub origin: Origin,
    /// The instant evidence validity is judged at.
    pub now: Timestamp,
    /// Evidence lapsing within this many days is listed.
    pub expiring_days: i64,
    /// Evidence lapsing within `expiring_days`, soonest first.
    pub expiring: Vec<ExpiringEvidence>,
    /// Input problems (`file:line: …`) or objects that could not be shown, in English; shown
    /// through [`text::message_text`].
    pub problems: Vec<String>,
    /// The deployments shown, sorted by namespace, then name.
    pub deployments: Vec<Entry>,
    /// Per obligation in table order, how many deployments do not meet it.
    unmet: Vec<(Obligation, usize)>,
    /// Rows and measures of every deployment by state.
    pub rows: RowCounts,
    /// Deployments shown with a note instead of (or above) their table.
    pub notes: usize,
}

/// One deployment in the fleet: what the summary and the table of contents name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub namespace: String,
    pub name: String,
    pub risk: RiskLevel,
    pub acceptable: bool,
}

/// Rows and measures by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
    pub excepted: usize,
    pub unknown: usize,
}

impl RowCounts {
    pub fn total(&self) -> usize {
        self.compliant + self.non_compliant + self.not_applicable + self.excepted + self.unknown
    }

    fn add(&mut self, state: State) {
        match state {
            State::Compliant => self.compliant += 1,
            State::NonCompliant => self.non_compliant += 1,
            State::NotApplicable => self.not_applicable += 1,
            State::Excepted => self.excepted += 1,
            State::Unknown => self.unknown += 1,
        }
    }
}

impl Fleet {
    /// A fleet of no deployment yet; [`Fleet::add`] each deployment shown, in order.
    pub fn new(
        origin: Origin,
        now: Timestamp,
        expiring_days: i64,
        expiring: Vec<ExpiringEvidence>,
        problems: Vec<String>,
    ) -> Self {
        Fleet {
            origin,
            now,
            expiring_days,
            expiring,
            problems,
            deployments: Vec::new(),
            unmet: evaluate::obligations().map(|id| (id, 0)).collect(),
            rows: RowCounts::default(),
            notes: 0,
        }
    }

    /// Counts one deployment in; only its figures are kept.
    pub fn add(&mut self, d: &DeploymentView) {
        self.deployments.push(Entry {
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            risk: d.risk,
            acceptable: d.acceptable,
        });
        for r in &d.rows {
            self.rows.add(r.state);
            if r.state == State::NonCompliant
                && let Some((_, n)) = self.unmet.iter_mut().find(|(id, _)| *id == r.id)
            {
                *n += 1;
            }
        }
        if d.note.is_some() {
            self.notes += 1;
        }
    }

    /// Whether every deployment's risk is within its policy's acceptance.
    pub fn acceptable(&self) -> bool {
        self.deployments.iter().all(|d| d.acceptable)
    }

    /// The highest risk level in the fleet.
    pub fn highest_risk(&self) -> RiskLevel {
        self.deployments
            .iter()
            .map(|d| d.risk)
            .max()
            .unwrap_or(RiskLevel::None)
    }

    /// How many deployments are at each risk level, highest first.
    pub fn by_risk(&self) -> Vec<(RiskLevel, usize)> {
        [
            RiskLevel::Critical,
            RiskLevel::High,
            RiskLevel::Medium,
            RiskLevel::Low,
            RiskLevel::None,
        ]
        .into_iter()
        .map(|r| (r, self.deployments.iter().filter(|d| d.risk == r).count()))
        .collect()
    }

    /// Obligations not met in the most deployments: (obligation, deployments), most first,
    /// then in table order; at most `limit`.
    pub fn most_unmet(&self, limit: usize) -> Vec<(Obligation, usize)> {
        let mut counts: Vec<(Obligation, usize)> =
            self.unmet.iter().copied().filter(|(_, n)| *n > 0).collect();
        counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        counts.truncate(limit);
        counts
    }
}

/// Everything one run of `report` shows, held at once: the fleet and every deployment.
#[derive(Clone, Debug)]
pub struct Document {
    pub fleet: Fleet,
    /// Sorted by namespace, then name.
    pub deployments: Vec<DeploymentView>,
}

impl Document {
    /// The document of `deployments` (sorted by namespace, then name).
    pub fn new(
        origin: Origin,
        now: Timestamp,
        expiring_days: i64,
        deployments: Vec<DeploymentView>,
        expiring: Vec<ExpiringEvidence>,
        problems: Vec<String>,
    ) -> Self {
        let mut fleet = Fleet::new(origin, now, expiring_days, expiring, problems);
        for d in &deployments {
            fleet.add(d);
        }
        Document { fleet, deployments }
    }
}

/// One ModelDeployment as shown.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentView {
    pub namespace: String,
    pub name: String,
    pub policy: String,
    /// `file:line` of the manifest, or `cluster` for a live object.
    pub source: String,
    /// Why the table is missing or may be out of date (not evaluated yet, stale status), in
    /// English; shown through [`text::message_text`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub risk: RiskLevel,
    pub max_acceptable: RiskLevel,
    pub acceptable: bool,
    /// Counts over the 42 rows.
    pub summary: Summary,
    /// The 42 rows in table order, then the measures of clause 8.1.
    #[serde(skip)]
    pub rows: Vec<RowView>,
    /// Open findings, most severe first, then in table order.
    #[serde(skip)]
    pub findings: Vec<Obligation>,
}

impl DeploymentView {
    pub fn row(&self, id: Obligation) -> Option<&RowView> {
        self.rows.iter().find(|r| r.id == id)
    }
}

/// One row or measure of one deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct RowView {
    pub id: Obligation,
    pub state: State,
    /// The condition's CamelCase reason.
    pub reason: String,
    /// The condition's message: what was found, what is missing. Empty for a met row.
    pub message: String,
    pub severity: Severity,
    /// The policy's remark (备注).
    pub remark: Option<String>,
    /// The evidence a met row relies on.
    pub evidence: Option<EvidenceView>,
}

impl RowView {
    pub fn applicable(&self) -> bool {
        self.state != State::NotApplicable
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, State::NonCompliant | State::Unknown)
    }
}

/// A ComplianceEvidence as a row refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceView {
    pub name: String,
    /// Day the evidence lapses (YYYY-MM-DD, UTC).
    pub valid_until: String,
    pub attested_by: String,
}

impl EvidenceView {
    pub fn of(e: &ComplianceEvidence) -> Self {
        EvidenceView {
            name: e.metadata.name.clone().unwrap_or_default(),
            valid_until: day(e.spec.valid_until.0),
            attested_by: e.spec.attested_by.clone(),
        }
    }
}

/// Evidence that lapses soon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiringEvidence {
    pub namespace: String,
    pub name: String,
    /// Rows (`4`) and measures (`8.1e`) it covers.
    pub covers: Vec<String>,
    pub targets: Vec<String>,
    pub valid_until: String,
    pub days_left: i64,
}

/// The calendar day (UTC) of an instant.
pub fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// Builds the view of one deployment from its status, its policy (if found) and the evidence
/// in the cluster or manifests.
pub fn deployment_view(
    deployment: &ModelDeployment,
    policy: Option<&CompliancePolicy>,
    evidence: &[ComplianceEvidence],
    now: Timestamp,
    source: String,
) -> DeploymentView {
    let namespace = deployment
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let fallback;
    let policy_spec: &CompliancePolicySpec = match policy {
        Some(p) => &p.spec,
        None => {
            fallback = CompliancePolicySpec::default();
            &fallback
        }
    };
    let status = deployment.status.clone().unwrap_or_default();
    let condition = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_);
    let mut rows = Vec::new();
    let evaluated = status.conditions.iter().any(|c| c.type_.starts_with("A1-"));
    if evaluated {
        for id in evaluate::obligations() {
            let severity = match policy {
                Some(p) => evaluate::severity(p, deployment, id),
                None => evaluate::severity(
                    &CompliancePolicy::new("", policy_spec.clone()),
                    deployment,
                    id,
                ),
            };
            let remark = evaluate::policy_applicability(policy_spec, id).1;
            let (state, reason, message) = match condition(&id.condition_type()) {
                Some(c) => (conditions::state_of(c), c.reason.clone(), c.message.clone()),
                None => (
                    State::Unknown,
                    "NotInStatus".to_owned(),
                    i18n::english(Msg::NotInStatus, &[]),
                ),
            };
            let evidence = (state == State::Compliant && evaluate::met_by_evidence(&reason))
                .then(|| evaluate::valid_evidence(evidence, &namespace, &name, id, now))
                .flatten()
                .map(EvidenceView::of);
            rows.push(RowView {
                id,
                state,
                reason,
                message,
                severity,
                remark,
                evidence,
            });
        }
    }
    let mut findings: Vec<(Severity, Obligation)> = rows
        .iter()
        .filter(|r| r.is_open())
        .map(|r| (r.severity, r.id))
        .collect();
    findings.sort_by(|a, b| evaluate::finding_order(*a, *b));
    let note = note(
        deployment,
        evaluated,
        condition("Ready"),
        condition("Stalled"),
    );
    DeploymentView {
        summary: summarize(&rows),
        namespace,
        policy: deployment.spec.policy_ref.clone(),
        source,
        note,
        risk: status.risk.unwrap_or_default(),
        max_acceptable: policy_spec.risk_acceptance.max_acceptable,
        acceptable: evaluated && status.acceptable.unwrap_or(false),
        rows,
        findings: findings.into_iter().map(|(_, id)| id).collect(),
        name,
    }
}

fn note(
    deployment: &ModelDeployment,
    evaluated: bool,
    ready: Option<&Condition>,
    stalled: Option<&Condition>,
) -> Option<String> {
    if !evaluated {
        let why = [stalled, ready]
            .into_iter()
            .flatten()
            .find(|c| c.status == "True" && c.type_ == "Stalled" || c.status == "False");
        return Some(match why {
            Some(c) => i18n::english(
                Msg::NotEvaluatedYetBecause,
                &[("message", &c.message), ("reason", &c.reason)],
            ),
            None => i18n::english(Msg::NotEvaluatedYet, &[]),
        });
    }
    let observed = deployment.status.as_ref()?.observed_generation?;
    let generation = deployment.metadata.generation?;
    (observed < generation).then(|| {
        i18n::english(
            Msg::StatusBehind,
            &[("observed", &observed), ("generation", &generation)],
        )
    })
}

fn summarize(rows: &[RowView]) -> Summary {
    let mut s = Summary::default();
    let annex = rows.iter().filter(|r| matches!(r.id, Obligation::Row(_)));
    for r in annex {
        match r.state {
            State::Compliant => s.compliant += 1,
            State::NonCompliant => s.non_compliant += 1,
            State::NotApplicable => s.not_applicable += 1,
            State::Excepted => s.excepted += 1,
            State::Unknown => s.unknown += 1,
        }
    }
    let total = rows
        .iter()
        .filter(|r| matches!(r.id, Obligation::Row(_)))
        .count() as u32;
    s.applicable = total - s.not_applicable;
    s
}

/// Evidence lapsing after `now` and within `days`, soonest first.
pub fn expiring(
    evidence: &[ComplianceEvidence],
    now: Timestamp,
    days: i64,
) -> Vec<ExpiringEvidence> {
    let horizon = now + SignedDuration::from_hours(24 * days);
    let mut out: Vec<(Timestamp, ExpiringEvidence)> = evidence
        .iter()
        .filter(|e| e.spec.valid_until.0 > now && e.spec.valid_until.0 <= horizon)
        .map(|e| {
            let until = e.spec.valid_until.0;
            let covers = e
                .spec
                .rows
                .iter()
                .map(|r| r.to_string())
                .chain(
                    e.spec
                        .measures
                        .iter()
                        .map(|m| Obligation::Measure(*m).label()),
                )
                .collect();
            (
                until,
                ExpiringEvidence {
                    namespace: e
                        .metadata
                        .namespace
                        .clone()
                        .unwrap_or_else(|| "default".into()),
                    name: e.metadata.name.clone().unwrap_or_default(),
                    covers,
                    targets: e.spec.targets.clone(),
                    valid_until: day(until),
                    days_left: until.duration_since(now).as_secs() / 86_400,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1.namespace, &a.1.name).cmp(&(b.0, &b.1.namespace, &b.1.name)));
    out.into_iter().map(|(_, e)| e).collect()
}
