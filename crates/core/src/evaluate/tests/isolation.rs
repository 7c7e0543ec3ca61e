//! Measure 8.1a, isolation: training pods fenced off by NetworkPolicy, and no volumes, service
//! accounts or (when asked) nodes shared with inference.

use super::*;

/// An inference pod spec that also mounts `claim`.
fn inference_spec_mounting(claim: &str) -> Value {
    let mut spec = inference_pod_spec();
    spec["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "stolen", "persistentVolumeClaim": { "claimName": claim } }));
    spec
}

#[test]
fn isolation_network_policy_missing() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).network_policies.clear();
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::Isolation),
        State::NonCompliant,
        "NetworkPolicyMissing",
        &["no NetworkPolicy restricts ingress to Pod llm-train/trainer-0"],
    );
    assert_decision(
        eval.row(19),
        State::NonCompliant,
        "NetworkPolicyMissing",
        &["see M81a-TrainingInferenceIsolated"],
    );
    assert_decision(
        eval.row(23),
        State::NonCompliant,
        "TrainingNotIsolated",
        &["training environment not isolated"],
    );
}

#[test]
fn isolation_network_policy_for_other_pods_does_not_count() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).network_policies[0]
        .spec
        .as_mut()
        .unwrap()
        .pod_selector = Some(from_json(
        json!({ "matchLabels": { "app": "something-else" } }),
    ));
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "NetworkPolicyMissing",
        &["trainer-0"],
    );
}

#[test]
fn isolation_ingress_open_beyond_training_is_too_broad() {
    let from_serving = json!({ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": INFERENCE_NS } } });
    let too_broad = [
        (
            json!([{}]),
            "NetworkPolicy llm-train/isolate-training allows ingress from any source",
        ),
        (
            json!([{ "from": [from_serving] }]),
            "allows ingress from namespace llm-serve",
        ),
    ];
    for (ingress, fragment) in too_broad {
        let mut f = Fixture::baseline();
        f.ns(TRAINING_NS).network_policies = vec![network_policy(
            TRAINING_NS,
            "isolate-training",
            json!({
                "podSelector": { "matchLabels": { "app": "llm-train" } },
                "policyTypes": ["Ingress"],
                "ingress": ingress
            }),
        )];
        let eval = f.evaluate();
        assert_decision(
            eval.measure(Measure::Isolation),
            State::NonCompliant,
            "IngressTooBroad",
            &[fragment],
        );
        assert_eq!(eval.row(19).reason, "IngressTooBroad", "{fragment}");
    }
}

#[test]
fn isolation_inference_pod_mounting_a_training_claim_in_a_shared_namespace() {
    let mut f = Fixture::baseline();
    share_namespace(&mut f, inference_spec_mounting("training-data"), "node-b");
    let d = measure_of(&f, Measure::Isolation);
    assert_decision(
        &d,
        State::NonCompliant,
        "SharedVolume",
        &["Pod llm-train/server-0 mounts training volume(s) training-data"],
    );
    assert!(!d.message.contains("trainer-0 mounts"), "{}", d.message);
}

#[test]
fn isolation_shared_namespace_without_sharing_is_met() {
    let mut f = Fixture::baseline();
    share_namespace(&mut f, inference_pod_spec(), "node-b");
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::Compliant,
        "Isolated",
        &["no shared volumes or service accounts"],
    );
}

#[test]
fn isolation_inference_pod_mounting_a_claim_named_as_training_data() {
    let mut f = Fixture::baseline();
    let server = pod(
        INFERENCE_NS,
        "server-0",
        json!({ "app": "llm-serve" }),
        inference_spec_mounting("training-data"),
        "node-b",
    );
    f.ns(INFERENCE_NS).pods = vec![server];
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "SharedVolume",
        &["Pod llm-serve/server-0 mounts claim(s) training-data named as training data volumes"],
    );
}

#[test]
fn isolation_shared_service_account() {
    let mut f = Fixture::baseline();
    let mut spec = inference_pod_spec();
    spec["serviceAccountName"] = json!("trainer");
    share_namespace(&mut f, spec, "node-b");
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "SharedServiceAccount",
        &["training and inference pods share service account(s) trainer"],
    );
}

#[test]
fn shared_service_accounts_are_listed_once() {
    let mut f = Fixture::baseline();
    let mut helper = training_pod("trainer-1");
    helper.spec.as_mut().unwrap().service_account_name = Some("helper".into());
    f.ns(TRAINING_NS).pods.push(helper);
    f.inference().namespace = TRAINING_NS.into();
    f.ns(INFERENCE_NS).pods.clear();
    for (i, account) in ["trainer", "helper", "trainer"].iter().enumerate() {
        let mut spec = inference_pod_spec();
        spec["serviceAccountName"] = json!(account);
        let server = pod(
            TRAINING_NS,
            &format!("server-{i}"),
            json!({ "app": "llm-serve" }),
            spec,
            "node-b",
        );
        f.ns(TRAINING_NS).pods.push(server);
    }
    let d = measure_of(&f, Measure::Isolation);
    assert_eq!(d.reason, "SharedServiceAccount");
    assert_eq!(d.message.matches("trainer").count(), 1, "{}", d.message);
}

#[test]
fn isolation_separate_nodes_when_the_policy_asks() {
    let mut f = Fixture::baseline();
    f.policy().controls.isolation.require_separate_nodes = true;
    assert_eq!(measure_of(&f, Measure::Isolation).state, State::Compliant);
    f.pod(INFERENCE_NS, "server-0")
        .spec
        .as_mut()
        .unwrap()
        .node_name = Some("node-a".into());
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "SharedNode",
        &["training and inference pods share node(s) node-a"],
    );
    // Without the policy's request, a shared node is fine.
    f.policy().controls.isolation.require_separate_nodes = false;
    assert_eq!(measure_of(&f, Measure::Isolation).state, State::Compliant);
}

#[test]
fn isolation_does_not_apply_without_both_environments() {
    let mut f = Fixture::baseline();
    f.spec().inference = None;
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NotApplicable,
        "SingleEnvironment",
        &[],
    );
}
