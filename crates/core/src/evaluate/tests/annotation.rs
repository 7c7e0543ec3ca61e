//! Annotation: the sampled batches of row 22 and the isolated safety annotations of row 23.

use super::*;

#[test]
fn row_22_exactly_the_max_illegal_ratio_passes() {
    let mut f = Fixture::baseline();
    f.training().annotation_batches = vec![batch("batch-003", 1000, 50, false)];
    assert_decision(
        &row_of(&f, 22),
        State::Compliant,
        "BatchesSampled",
        &["1 batch(es) sampled; 0 over the limit voided"],
    );
}

#[test]
fn row_22_just_above_the_max_fails_unless_voided() {
    let mut f = Fixture::baseline();
    f.training()
        .annotation_batches
        .push(batch("batch-003", 1000, 51, false));
    let d = row_of(&f, 22);
    assert_decision(
        &d,
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-003 has 5.1 % illegal content in its sample (max 5.0 %) and is not voided"],
    );
    assert!(
        !d.message.contains("batch-001") && !d.message.contains("batch-002"),
        "{}",
        d.message
    );

    f.training().annotation_batches[2].voided = true;
    assert_decision(
        &row_of(&f, 22),
        State::Compliant,
        "BatchesSampled",
        &["3 batch(es) sampled; 2 over the limit voided"],
    );
}

#[test]
fn row_22_every_batch_is_sampled_and_recorded() {
    let mut f = Fixture::baseline();
    f.training()
        .annotation_batches
        .push(batch("batch-003", 0, 0, false));
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-003 was not sampled"],
    );

    f.training().annotation_batches.clear();
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "NoAnnotationBatches",
        &["spec.training.annotationBatches is empty"],
    );
}

#[test]
fn row_22_policy_can_lower_the_max_ratio() {
    let mut f = Fixture::baseline();
    f.policy().parameters.annotation_max_illegal_ratio = Some(0.01);
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-001 has 1.2 %", "(max 1.0 %)"],
    );
}

#[test]
fn row_23_safety_annotations_mounted_outside_training() {
    let mut f = Fixture::baseline();
    let debug = pod(
        TRAINING_NS,
        "debug",
        json!({ "app": "debug" }),
        json!({
            "containers": [{ "name": "shell", "image": "busybox" }],
            "volumes": [{ "name": "a", "persistentVolumeClaim": { "claimName": "safety-annotations" } }]
        }),
        "node-a",
    );
    f.ns(TRAINING_NS).pods.push(debug);
    let eval = f.evaluate();
    assert_decision(
        eval.row(23),
        State::NonCompliant,
        "MountedOutsideTraining",
        &["Pod llm-train/debug is not a training pod but mounts safety-annotations"],
    );
    assert_eq!(eval.measure(Measure::Isolation).state, State::Compliant);
}

#[test]
fn row_23_needs_declared_safety_annotation_volumes() {
    let mut f = Fixture::baseline();
    f.training().safety_annotation_volumes.clear();
    assert_decision(
        &row_of(&f, 23),
        State::NonCompliant,
        "VolumesNotDeclared",
        &["spec.training.safetyAnnotationVolumes"],
    );
}
