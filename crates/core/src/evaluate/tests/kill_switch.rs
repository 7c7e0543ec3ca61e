//! Row 40, the kill switch: a suspended deployment is cut off by a deny-all NetworkPolicy.

use super::*;

#[test]
fn row_40_suspend_without_deny_all_is_unmet() {
    let mut f = Fixture::baseline();
    f.spec().suspend = true;
    assert_decision(
        &row_of(&f, 40),
        State::NonCompliant,
        "SuspendNotApplied",
        &["no deny-all NetworkPolicy covers the inference pods"],
    );
    f.ns(INFERENCE_NS)
        .network_policies
        .push(deny_all_inference());
    let d = row_of(&f, 40);
    assert_decision(
        &d,
        State::Compliant,
        "KillSwitchReady",
        &[
            "suspended: all ingress to the inference pods is denied",
            BASELINE_EVIDENCE,
        ],
    );
    assert_eq!(d.evidence.len(), 1);
}

#[test]
fn row_40_deny_all_must_select_the_inference_pods() {
    let mut f = Fixture::baseline();
    f.spec().suspend = true;
    let mut np = deny_all_inference();
    np.spec.as_mut().unwrap().pod_selector =
        Some(from_json(json!({ "matchLabels": { "app": "other" } })));
    f.ns(INFERENCE_NS).network_policies.push(np);
    assert_eq!(row_of(&f, 40).reason, "SuspendNotApplied");
}

#[test]
fn row_40_empty_inference_selector_would_cut_everything() {
    let mut f = Fixture::baseline();
    f.inference().pod_selector = Default::default();
    assert_decision(
        &row_of(&f, 40),
        State::NonCompliant,
        "SelectorEmpty",
        &["spec.inference.podSelector is empty"],
    );
}

#[test]
fn row_40_suspend_offline_is_pending() {
    let mut f = Fixture::offline();
    f.spec().suspend = true;
    assert_decision(
        &row_of(&f, 40),
        State::Unknown,
        "SuspendPending",
        &["spec.suspend is true"],
    );
}
