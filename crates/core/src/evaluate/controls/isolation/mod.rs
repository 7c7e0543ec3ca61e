//! 8.1a isolation between training and inference: network policies, shared volumes,
//! shared service accounts and shared nodes; and row 23, which rests on it.

mod accounts;
mod annotations;
mod network;
mod nodes;
mod volumes;

use std::collections::BTreeSet;

use super::pods::{PodView, no_pods, pods_in, selected};
use crate::api::{InferenceEnvironment, TrainingEnvironment};
use crate::evaluate::{Ctx, Findings, Outcome};
use crate::i18n::msg;

pub(super) use annotations::safety_annotations;

/// Both environments and the pods found for each.
struct Sides<'a> {
    training: &'a TrainingEnvironment,
    inference: &'a InferenceEnvironment,
    /// Every pod of the training namespace, training or not.
    training_ns_pods: &'a [PodView<'a>],
    trainers: Vec<&'a PodView<'a>>,
    servers: Vec<&'a PodView<'a>>,
    live: bool,
}

impl Sides<'_> {
    fn same_namespace(&self) -> bool {
        self.inference.namespace == self.training.namespace
    }
}

pub(super) fn isolation(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let (Some(training), Some(inference)) = (spec.training.as_ref(), spec.inference.as_ref())
    else {
        return Outcome::not_applicable("SingleEnvironment", msg!(SingleEnvironment));
    };
    let snapshot = ctx.snapshot();
    let training_ns_pods = pods_in(snapshot, &training.namespace);
    let inference_ns_own;
    let inference_ns_pods = if inference.namespace == training.namespace {
        &training_ns_pods
    } else {
        inference_ns_own = pods_in(snapshot, &inference.namespace);
        &inference_ns_own
    };
    let sides = Sides {
        training,
        inference,
        training_ns_pods: &training_ns_pods,
        trainers: selected(&training_ns_pods, &training.pod_selector),
        servers: selected(inference_ns_pods, &inference.pod_selector),
        live: snapshot.is_live(),
    };
    let control = &ctx.policy().controls.isolation;
    let mut f = Findings::default();
    pods_found(&sides, &mut f);
    volumes::check(&sides, &mut f);
    accounts::check(&sides, &mut f);
    if control.require_separate_nodes {
        nodes::check(&sides, &mut f);
    }
    network::check(ctx, &sides, control, &mut f);
    if !f.has_problems() && !sides.servers.is_empty() && !sides.trainers.is_empty() {
        f.passed(msg!(NothingShared));
    }
    f.outcome("Isolated")
}

/// Both sides have pods, and no pod is on both.
fn pods_found(sides: &Sides, f: &mut Findings) {
    if sides.trainers.is_empty() {
        f.open(
            "NoTrainingPods",
            no_pods("training", &sides.training.namespace, sides.live),
        );
    }
    if sides.servers.is_empty() {
        f.open(
            "NoInferencePods",
            no_pods("inference", &sides.inference.namespace, sides.live),
        );
    }
    if let Some(both) = sides
        .trainers
        .iter()
        .find(|t| sides.servers.iter().any(|s| s.origin == t.origin))
    {
        f.problem(
            "SelectorsOverlap",
            msg!(SelectorsOverlap, pod = both.origin),
        );
    }
}

/// What inference pods have in common with training pods, sorted, each once.
fn in_common<'p>(
    training: impl Iterator<Item = &'p str>,
    inference: impl Iterator<Item = &'p str>,
) -> Vec<&'p str> {
    let training: BTreeSet<&str> = training.collect();
    let mut shared: Vec<&str> = inference.filter(|x| training.contains(x)).collect();
    shared.sort_unstable();
    shared.dedup();
    shared
}
