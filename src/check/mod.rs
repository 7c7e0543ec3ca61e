//! The offline check: read manifests, evaluate every ModelDeployment against its policy with
//! the same core the controller uses, and print the Annex A table.

pub mod load;
pub mod render;

use std::path::PathBuf;

use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

use crate::api::{ComplianceEvidence, RiskLevel};
use crate::catalog::Lang;
use crate::evaluate::{self, Evaluation, Inputs};
pub use load::{Manifests, Problem, load};

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Junit,
}

/// Exit codes of `check`.
pub mod exit {
    /// Every deployment's risk is acceptable.
    pub const OK: u8 = 0;
    /// Some deployment's risk is above its policy's acceptance.
    pub const UNACCEPTABLE: u8 = 1;
    /// Bad usage or bad input.
    pub const INPUT: u8 = 2;
}

/// One evaluated ModelDeployment.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentReport {
    pub namespace: String,
    pub name: String,
    pub policy: String,
    /// `file:line` of the ModelDeployment.
    pub source: String,
    pub risk: RiskLevel,
    pub max_acceptable: RiskLevel,
    #[serde(skip)]
    pub evaluation: Evaluation,
}

/// The result of a check.
#[derive(Debug)]
pub struct Report {
    pub now: Timestamp,
    pub deployments: Vec<DeploymentReport>,
    pub problems: Vec<Problem>,
    pub files: usize,
    pub documents: usize,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            exit::INPUT
        } else if self.deployments.iter().any(|d| !d.evaluation.acceptable) {
            exit::UNACCEPTABLE
        } else {
            exit::OK
        }
    }
}

/// Evaluates everything that was read.
pub fn evaluate_manifests(manifests: Manifests, now: Timestamp) -> Report {
    let Manifests {
        policies,
        model_deployments,
        evidence,
        snapshot,
        mut problems,
        files,
        documents,
        ..
    } = manifests;
    let evidence: Vec<ComplianceEvidence> = evidence.into_iter().map(|e| e.object).collect();
    let mut reports = Vec::new();
    for located in &model_deployments {
        let deployment = &located.object;
        let policy_name = &deployment.spec.policy_ref;
        let Some(policy) = policies
            .iter()
            .find(|p| p.object.metadata.name.as_deref() == Some(policy_name.as_str()))
        else {
            problems.push(located.problem_at(
                &["spec", "policyRef"],
                format!(
                    "ModelDeployment {} references CompliancePolicy {policy_name}, which is not in the manifests read",
                    deployment.metadata.name.as_deref().unwrap_or("")
                ),
            ));
            continue;
        };
        let namespace = deployment
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let evaluation = evaluate::evaluate(Inputs {
            policy: &policy.object,
            deployment,
            evidence: &evidence,
            snapshot: &snapshot,
            now,
        });
        reports.push(DeploymentReport {
            name: deployment.metadata.name.clone().unwrap_or_default(),
            namespace,
            policy: policy_name.clone(),
            source: format!("{}:{}", located.origin.file.display(), located.origin.line),
            risk: evaluation.risk,
            max_acceptable: policy.object.spec.risk_acceptance.max_acceptable,
            evaluation,
        });
    }
    reports.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    problems.sort();
    Report {
        now,
        deployments: reports,
        problems,
        files,
        documents,
    }
}

/// Runs `check` and returns the text for standard output, the problems for standard error,
/// and the exit code.
pub fn run(
    paths: &[PathBuf],
    format: Format,
    lang: Lang,
    now: Timestamp,
) -> (String, Vec<String>, u8) {
    let report = evaluate_manifests(load(paths), now);
    let out = render::render(&report, format, lang);
    let errors = report
        .problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect();
    (out, errors, report.exit_code())
}
