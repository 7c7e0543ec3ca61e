//! The offline check: read manifests, evaluate every ModelDeployment against its policy with
//! the same core the controller uses, and print the Annex A table. The status the operator
//! would write is computed from the evaluation and shown through the same view as `report`.

pub mod load;

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use crate::conditions::{self, Progress};
use crate::evaluate::{self, Inputs};
use crate::i18n::{self, Msg};
use crate::snapshot::Snapshot;
pub use crate::view::Format;
use crate::view::{self, DeploymentView, Fleet, Origin};
pub use load::{Located, Manifests, Problem, load};

/// Exit codes of `check` and `report`.
pub mod exit {
    /// Every deployment's risk is acceptable.
    pub const OK: u8 = 0;
    /// Some deployment's risk is above its policy's acceptance.
    pub const UNACCEPTABLE: u8 = 1;
    /// Bad usage or bad input.
    pub const INPUT: u8 = 2;
}

/// A check of manifests, evaluated once to gather the fleet's figures and the input
/// problems; [`Check::render`] then evaluates each deployment again and writes it, so that no
/// more than one deployment's view is held at a time however many there are.
pub struct Check {
    policies: Vec<CompliancePolicy>,
    /// The deployments shown (those whose policy was read), sorted by namespace, then name,
    /// each with the index of its policy.
    deployments: Vec<(Located<ModelDeployment>, usize)>,
    evidence: Vec<ComplianceEvidence>,
    snapshot: Snapshot,
    now: Timestamp,
    fleet: Fleet,
    /// Input problems, each at `file:line`, sorted.
    pub problems: Vec<Problem>,
}

impl Check {
    /// Evaluates everything that was read; evidence lapsing within `expiring_days` is listed.
    pub fn new(manifests: Manifests, now: Timestamp, expiring_days: i64) -> Check {
        let Manifests {
            policies,
            mut model_deployments,
            evidence,
            snapshot,
            mut problems,
            files,
            documents,
            ..
        } = manifests;
        let policies: Vec<CompliancePolicy> = policies.into_iter().map(|p| p.object).collect();
        let evidence: Vec<ComplianceEvidence> = evidence.into_iter().map(|e| e.object).collect();
        // Stable, so deployments of the same name keep the order they were read in.
        model_deployments.sort_by_cached_key(|d| {
            (
                d.object
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".into()),
                d.object.metadata.name.clone().unwrap_or_default(),
            )
        });
        let mut deployments = Vec::with_capacity(model_deployments.len());
        for located in model_deployments {
            let deployment = &located.object;
            let policy_name = &deployment.spec.policy_ref;
            match policies
                .iter()
                .position(|p| p.metadata.name.as_deref() == Some(policy_name.as_str()))
            {
                Some(policy) => deployments.push((located, policy)),
                None => problems.push(located.problem_at(
                    &["spec", "policyRef"],
                    i18n::english(
                        Msg::PolicyNotInManifests,
                        &[
                            ("name", &deployment.metadata.name.as_deref().unwrap_or("")),
                            ("policy", policy_name),
                        ],
                    ),
                )),
            }
        }
        problems.sort();
        let fleet = Fleet::new(
            Origin::Manifests { files, documents },
            now,
            expiring_days,
            view::expiring(&evidence, now, expiring_days),
            problems.iter().map(|p| p.to_string()).collect(),
        );
        let mut check = Check {
            policies,
            deployments,
            evidence,
            snapshot,
            now,
            fleet,
            problems,
        };
        // The first pass: each deployment's figures; its view is dropped at once.
        let mut fleet = check.fleet.clone();
        for d in check.views() {
            fleet.add(&d);
        }
        check.fleet = fleet;
        check
    }

    /// The fleet's figures.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            exit::INPUT
        } else if !self.fleet.acceptable() {
            exit::UNACCEPTABLE
        } else {
            exit::OK
        }
    }

    /// The view of each deployment shown, in order, evaluated as it is taken.
    pub fn views(&self) -> impl Iterator<Item = DeploymentView> + '_ {
        self.deployments
            .iter()
            .map(|(located, policy)| self.view(located, &self.policies[*policy]))
    }

    fn view(
        &self,
        located: &Located<ModelDeployment>,
        policy: &CompliancePolicy,
    ) -> DeploymentView {
        let deployment = &located.object;
        let evaluation = evaluate::evaluate(Inputs {
            policy,
            deployment,
            evidence: &self.evidence,
            snapshot: &self.snapshot,
            now: self.now,
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
            &Time(self.now),
        ));
        view::deployment_view(
            &evaluated,
            Some(policy),
            &self.evidence,
            self.now,
            format!("{}:{}", located.origin.file.display(), located.origin.line),
        )
    }

    /// Writes the fleet and then every deployment in the format asked for.
    pub fn render(&self, options: &view::Options, out: &mut dyn Write) -> io::Result<()> {
        view::render_to(&self.fleet, &mut self.views().map(Cow::Owned), options, out)
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
    let check = Check::new(load(paths), now, expiring_days);
    let mut out = Vec::new();
    check.render(options, &mut out).expect("write to memory");
    (
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out"),
        errors(&check),
        check.exit_code(),
    )
}

/// The problems as `check` prints them on standard error.
pub fn errors(check: &Check) -> Vec<String> {
    check
        .problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect()
}
