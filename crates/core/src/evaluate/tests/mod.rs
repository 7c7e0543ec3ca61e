//! Tests of the evaluation core, one module per concern. Every test starts from the fully
//! compliant baseline of `testing.rs` and bends it one way, then checks state, reason and what
//! the message names. Rows decided alike with different fields share one table of cases.
//!
//! Each module starts with `use super::*;`: the fixtures of `testing.rs`, the evaluation's own
//! items and the helpers below.

mod access_control;
mod annotation;
mod backups;
mod baseline;
mod cluster_checks;
mod data_protection;
mod datasets;
mod determinism;
mod evaluations;
mod evidence;
mod filing;
mod isolation;
mod kill_switch;
mod messages;
mod offline;
mod policy;
mod public_service;
mod reach;
mod sidecar;

use serde_json::{Value, json};

use super::testing::*;
use super::*;
use crate::api::AnnotationBatch;

/// The decision on row `n`.
fn row_of(f: &Fixture, n: u8) -> Decision {
    f.evaluate().row(n).clone()
}

/// The decision on measure `m`.
fn measure_of(f: &Fixture, m: Measure) -> Decision {
    f.evaluate().measure(m).clone()
}

/// An annotation batch of ten times `sampled` items with `illegal` of the sample illegal.
fn batch(id: &str, sampled: i64, illegal: i64, voided: bool) -> AnnotationBatch {
    AnnotationBatch {
        id: id.into(),
        total_items: 10 * sampled.max(1),
        sampled_items: sampled,
        illegal_items: illegal,
        voided,
    }
}

/// Moves inference into the training namespace, with `server-0` built from `spec`.
fn share_namespace(f: &mut Fixture, spec: Value, node: &str) {
    f.inference().namespace = TRAINING_NS.into();
    f.ns(INFERENCE_NS).pods.clear();
    let server = pod(
        TRAINING_NS,
        "server-0",
        json!({ "app": "llm-serve" }),
        spec,
        node,
    );
    f.ns(TRAINING_NS).pods.push(server);
}

/// Rows 27, 37 and measure 8.1b report the sidecar's outcome alike; what is missing is said
/// by 8.1b, to which the rows point.
#[track_caller]
fn assert_sidecar_rows(eval: &Evaluation, state: State, reason: &str, fragment: &str) {
    assert_decision(
        eval.measure(Measure::ContentSafety),
        state,
        reason,
        &["sidecar: ", fragment],
    );
    for (row, role) in [(27, "input-safety filter"), (37, "labeling sidecar")] {
        assert_decision(eval.row(row), state, reason, &[role]);
        if state != State::Compliant {
            assert_eq!(
                eval.row(row).message,
                format!("{role}: see M81b-ContentSafetyFiltered")
            );
        }
    }
}
