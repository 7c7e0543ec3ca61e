//! Row 19: training data protected, built on isolation, access control and backups.

use super::*;

#[test]
fn row_19_is_unmet_when_any_protection_is() {
    type Bend = fn(&mut Fixture);
    let cases: [(&str, Bend); 3] = [
        ("M81a-TrainingInferenceIsolated", |f| {
            f.ns(TRAINING_NS).network_policies.clear()
        }),
        ("M81a-DataAccessRestricted", |f| {
            f.snapshot.access_reviews[1].allowed = true
        }),
        ("M81e-BackupsCurrent", |f| {
            f.ns(INFERENCE_NS).volume_snapshots.clear()
        }),
    ];
    for (part, bend) in cases {
        let mut f = Fixture::baseline();
        bend(&mut f);
        let eval = f.evaluate();
        let d = eval.row(19);
        assert_eq!(d.state, State::NonCompliant, "{part}: {}", describe([d]));
        assert_eq!(
            d.message,
            format!("see {part}"),
            "the row points at the measure that says what is missing"
        );
        assert!(
            eval.decisions
                .iter()
                .any(|m| m.id.condition_type() == part && m.state == State::NonCompliant),
            "{part}: {}",
            d.message
        );
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(eval.risk, RiskLevel::Critical);
    }
}

#[test]
fn row_19_lists_every_failing_protection() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).network_policies.clear();
    f.ns(INFERENCE_NS).volume_snapshots.clear();
    assert_decision(
        &row_of(&f, 19),
        State::NonCompliant,
        "NetworkPolicyMissing",
        &["see M81a-TrainingInferenceIsolated, M81e-BackupsCurrent"],
    );
}

#[test]
fn row_19_leaves_out_a_measure_the_policy_sets_aside() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots.clear();
    f.ns(TRAINING_NS).volume_snapshots.clear();
    assert_eq!(row_of(&f, 19).state, State::NonCompliant);
    f.policy().measures.push(from_json(json!({
        "measure": "Backup", "applicable": false, "remark": "weights are rebuilt from source"
    })));
    let d = row_of(&f, 19);
    assert_eq!(d.state, State::Compliant, "{}", d.message);
    assert!(!d.message.contains("backups"), "{}", d.message);
}
