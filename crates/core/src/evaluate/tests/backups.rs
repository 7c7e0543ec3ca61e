//! Measure 8.1e: a recent, ready VolumeSnapshot of every declared volume.

use super::*;

#[test]
fn backup_none_is_unmet() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).volume_snapshots.clear();
    let eval = f.evaluate();
    let d = eval.measure(Measure::Backup);
    assert_decision(
        d,
        State::NonCompliant,
        "NoBackup",
        &["no ready VolumeSnapshot of llm-train/training-data, llm-train/safety-annotations"],
    );
    assert!(!d.message.contains("model-weights"), "{}", d.message);
    assert_decision(
        eval.row(19),
        State::NonCompliant,
        "NoBackup",
        &["see M81e-BackupsCurrent"],
    );
}

/// Volumes without a backup are one finding naming a few of them and counting the rest: the
/// message, and the status, do not grow with the volumes declared.
#[test]
fn volumes_without_backup_are_named_once_and_counted() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).volume_snapshots.clear();
    f.training().data_volumes = (0..20).map(|i| format!("shard-{i:02}")).collect();
    let d = f.evaluate().measure(Measure::Backup).clone();
    assert_eq!(d.reason, "NoBackup");
    assert_eq!(
        d.message.matches("no ready VolumeSnapshot").count(),
        1,
        "{}",
        d.message
    );
    assert!(
        d.message.contains("llm-train/shard-00, llm-train/shard-01"),
        "{}",
        d.message
    );
    assert!(d.message.ends_with("and 13 more"), "{}", d.message);
}

#[test]
fn backup_age_edges() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(26),
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::Compliant,
        "BackupsCurrent",
        &["younger than 26 h"],
    );
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(27),
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["newest backup of llm-serve/model-weights is 27 h old (max 26 h)"],
    );
}

#[test]
fn backup_newest_ready_snapshot_counts() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots = vec![
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(1), false),
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(30), true),
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(50), true),
    ];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["model-weights is 30 h old"],
    );
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(1),
        false,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoBackup",
        &["llm-serve/model-weights"],
    );
    // A snapshot of another claim does not count either.
    f.ns(INFERENCE_NS).volume_snapshots =
        vec![volume_snapshot(INFERENCE_NS, "scratch", hours_ago(1), true)];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoBackup",
        &["llm-serve/model-weights"],
    );
}

#[test]
fn backup_policy_can_shorten_the_max_age() {
    let mut f = Fixture::baseline();
    f.policy().controls.backup.max_age_hours = Some(1);
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["2 h old (max 1 h)", "3 h old (max 1 h)"],
    );
}

#[test]
fn backup_without_declared_volumes_is_unmet() {
    let mut f = Fixture::baseline();
    f.training().data_volumes.clear();
    f.training().safety_annotation_volumes.clear();
    f.inference().model_volumes.clear();
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoVolumesDeclared",
        &["training.dataVolumes"],
    );
}

#[test]
fn backup_age_is_not_truncated_to_whole_hours() {
    let mut f = Fixture::baseline();
    let created = now()
        .checked_sub(k8s_openapi::jiff::SignedDuration::from_mins(26 * 60 + 59))
        .unwrap();
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        created,
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["model-weights"],
    );
}
