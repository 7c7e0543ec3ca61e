//! Row 23: safety-annotation data is stored in isolation.

use crate::api::selector;
use crate::evaluate::controls::pods::pods_in;
use crate::evaluate::{Ctx, Findings, Outcome, State};
use crate::i18n::msg;

/// Only training pods mount safety-annotation data, and training is isolated.
pub(in crate::evaluate::controls) fn safety_annotations(ctx: &Ctx, isolation: &Outcome) -> Outcome {
    let Some(training) = ctx.spec().training.as_ref() else {
        return Outcome::not_applicable("NoTrainingEnvironment", msg!(NoTrainingEnvironment));
    };
    if training.safety_annotation_volumes.is_empty() {
        return Outcome::unmet("VolumesNotDeclared", msg!(AnnotationVolumesUndeclared));
    }
    let mut f = Findings::default();
    for pod in pods_in(ctx.snapshot(), &training.namespace) {
        if selector::matches(&training.pod_selector, pod.labels) {
            continue;
        }
        let mounted: Vec<&str> = pod
            .claims()
            .filter(|c| training.safety_annotation_volumes.iter().any(|v| v == c))
            .collect();
        if !mounted.is_empty() {
            f.problem(
                "MountedOutsideTraining",
                msg!(
                    MountedOutsideTraining,
                    pod = pod.origin,
                    volumes = mounted.join(", ")
                ),
            );
        }
    }
    // What isolation lacks is said once, by its own condition.
    let see = crate::catalog::measure_entry(crate::api::Measure::Isolation).condition_type;
    match isolation.state {
        State::NonCompliant => f.problem(
            "TrainingNotIsolated",
            msg!(TrainingNotIsolated, condition = see),
        ),
        State::Unknown => f.open(isolation.reason, msg!(IsolationSee, condition = see)),
        _ => {}
    }
    f.passed(msg!(
        AnnotationsIsolated,
        volumes = training.safety_annotation_volumes.join(", ")
    ));
    f.outcome("StoredInIsolation")
}
