//! The offline check: read manifests, evaluate every ModelDeployment against its policy with
//! the same core the controller uses, and print the Annex A table. The status the operator
//! would write is computed from the evaluation and shown through the same view as `report`.

pub mod load;

use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::ComplianceEvidence;
use crate::conditions::{self, Progress};
use crate::evaluate::{self, Inputs};
use crate::i18n::{self, Msg};
pub use crate::view::Format;
use crate::view::{self, Document, Origin};
pub use load::{Manifests, Problem, load};

/// Exit codes of `check` and `report`.
pub mod exit {
    /// Every deployment's risk is acceptable.
    pub const OK: u8 = 0;
    /// Some deployment's risk is above its policy's acceptance.
    pub const UNACCEPTABLE: u8 = 1;
    /// Bad usage or bad input.
    pub const INPUT: u8 = 2;
}

/// The result of a check.
#[derive(Debug)]
pub struct Report {
    pub document: Document,
    /// Input problems, each at `file:line`.
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            exit::INPUT
        } else if !self.document.acceptable() {
            exit::UNACCEPTABLE
        } else {
            exit::OK
        }
    }
}

/// Evaluates everything that was read; evidence lapsing within `expiring_days` is listed.
pub fn evaluate_manifests(manifests: Manifests, now: Timestamp, expiring_days: i64) -> Report {
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
    let mut views = Vec::new();
    for located in &model_deployments {
        let deployment = &located.object;
        let policy_name = &deployment.spec.policy_ref;
        let Some(policy) = policies
            .iter()
            .find(|p| p.object.metadata.name.as_deref() == Some(policy_name.as_str()))
        else {
            problems.push(located.problem_at(
                &["spec", "policyRef"],
                i18n::english(
                    Msg::PolicyNotInManifests,
                    &[
                        ("name", &deployment.metadata.name.as_deref().unwrap_or("")),
                        ("policy", policy_name),
                    ],
                ),
            ));
            continue;
        };
        let policy = &policy.object;
        let evaluation = evaluate::evaluate(Inputs {
            policy,
            deployment,
            evidence: &evidence,
            snapshot: &snapshot,
            now,
        });
        // The status the operator would write for it, read back as `report` reads it.
        let progress = Progress::Applied {
            suspended: evaluate::suspended(policy, deployment, &evaluation),
        };
        let mut evaluated = deployment.clone();
        evaluated.status = Some(conditions::status(
            &evaluation,
            &progress,
            deployment.metadata.generation,
            &[],
            &Time(now),
        ));
        views.push(view::deployment_view(
            &evaluated,
            Some(policy),
            &evidence,
            now,
            format!("{}:{}", located.origin.file.display(), located.origin.line),
        ));
    }
    views.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    problems.sort();
    Report {
        document: Document {
            origin: Origin::Manifests { files, documents },
            now,
            expiring_days,
            deployments: views,
            expiring: view::expiring(&evidence, now, expiring_days),
            problems: problems.iter().map(|p| p.to_string()).collect(),
        },
        problems,
    }
}

/// Runs `check` and returns the text for standard output, the problems for standard error,
/// and the exit code.
pub fn run(
    paths: &[PathBuf],
    options: &view::Options,
    now: Timestamp,
    expiring_days: i64,
) -> (String, Vec<String>, u8) {
    let report = evaluate_manifests(load(paths), now, expiring_days);
    let out = view::render(&report.document, options);
    let errors = report
        .problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect();
    (out, errors, report.exit_code())
}
