//! Offline checks of manifests: what only the cluster can tell is Unknown, not unmet, unless
//! the operator would not fix it.

use super::*;
use crate::api::EnforcementMode;
use crate::snapshot::FactSource;

#[test]
fn offline_backups_are_unknown() {
    let eval = Fixture::offline().evaluate();
    assert_decision(
        eval.measure(Measure::Backup),
        State::Unknown,
        "BackupAgeUnknown",
        &[
            "llm-train/training-data",
            "llm-serve/model-weights",
            "only known in the cluster (max 26 h)",
        ],
    );
    assert_eq!(eval.row(19).state, State::Unknown);
}

#[test]
fn offline_sidecar_in_template_has_unknown_readiness() {
    let eval = Fixture::offline().evaluate();
    assert_sidecar_rows(
        &eval,
        State::Unknown,
        "ReadinessUnknown",
        "readiness of aigc-labeler is only known in the cluster",
    );
}

#[test]
fn offline_missing_sidecar_in_enforce_mode_is_pending_injection() {
    let mut f = Fixture::offline();
    let template = f.ns(INFERENCE_NS).apps_deployments[0]
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap();
    template.containers.retain(|c| c.name != "aigc-labeler");
    let eval = f.evaluate();
    assert_sidecar_rows(
        &eval,
        State::Unknown,
        "PendingInjection",
        "Deployment llm-serve/server lack(s) the aigc-labeler container; the operator injects it (Enforce mode)",
    );
    f.policy().controls.sidecar.mode = EnforcementMode::Audit;
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarMissing",
        "Deployment llm-serve/server",
    );
}

#[test]
fn offline_network_policy_absent_depends_on_the_mode() {
    let mut f = Fixture::offline();
    f.ns(TRAINING_NS).network_policies.clear();
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::Unknown,
        "PendingEnforcement",
        &[
            "no NetworkPolicy restricts ingress to Deployment llm-train/trainer; the operator creates it (Enforce mode)",
        ],
    );
    f.policy().controls.isolation.mode = EnforcementMode::Audit;
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "NetworkPolicyMissing",
        &["Deployment llm-train/trainer"],
    );
}

#[test]
fn offline_access_review_and_node_placement_are_unknown() {
    let mut f = Fixture::offline();
    f.policy().controls.isolation.require_separate_nodes = true;
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::AccessControl),
        State::Unknown,
        "AccessReviewPending",
        &["SubjectAccessReview"],
    );
    assert_decision(
        eval.measure(Measure::Isolation),
        State::Unknown,
        "NodePlacementUnknown",
        &["node placement"],
    );
}

#[test]
fn offline_cluster_checks_are_unknown_but_evidence_still_decides() {
    let mut f = Fixture::offline();
    assert_decision(
        &row_of(&f, 2),
        State::Unknown,
        "ReadinessUnknown",
        &["Deployment monitoring/platform-monitor"],
    );
    assert_decision(
        &row_of(&f, 28),
        State::Unknown,
        "LastRunUnknown",
        &["CronJob compliance/safety-eval"],
    );
    f.evidence.push(evidence(
        "monitoring-report",
        &[2, 28],
        &[],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    assert_eq!(row_of(&f, 2).state, State::Compliant);
    assert_eq!(row_of(&f, 28).state, State::Compliant);
}

#[test]
fn fact_source_decides_what_absence_means() {
    // The same objects, minus the inference Service: missing live, unknown offline.
    let mut live = Fixture::baseline();
    live.ns(INFERENCE_NS).services.clear();
    assert_eq!(
        measure_of(&live, Measure::ContentSafety).reason,
        "ServiceMissing"
    );
    let mut offline = Fixture::offline();
    offline.ns(INFERENCE_NS).services.clear();
    assert_eq!(offline.snapshot.source, FactSource::Manifests);
    let d = measure_of(&offline, Measure::ContentSafety);
    assert_eq!(d.state, State::Unknown, "{}", describe([&d]));
    assert!(d.message.contains("in the manifests read"), "{}", d.message);
}
