//! Measure 8.1a, access control: only the named readers are bound to training data, and the
//! inference service account cannot read it.

use super::*;

/// A RoleBinding added to the training namespace that grants training data to a subject the
/// policy does not name.
struct OverBroad {
    binding: &'static str,
    role_kind: &'static str,
    role: &'static str,
    /// The rules of `role` when it is a Role of its own.
    rules: Option<Value>,
    subject_kind: &'static str,
    subject: &'static str,
    fragment: &'static str,
}

#[test]
fn access_over_broad_bindings_name_the_subject() {
    let cases = [
        OverBroad {
            binding: "debug-access",
            role_kind: "Role",
            role: "secret-reader",
            rules: Some(json!([{ "apiGroups": [""], "resources": ["secrets"], "verbs": ["get"] }])),
            subject_kind: "User",
            subject: "mallory",
            fragment: "RoleBinding llm-train/debug-access grants training data to User mallory who is not a named reader",
        },
        OverBroad {
            binding: "team-edit",
            role_kind: "ClusterRole",
            role: "edit",
            rules: None,
            subject_kind: "Group",
            subject: "ml-team",
            fragment: "Group ml-team",
        },
        OverBroad {
            binding: "everyone-views",
            role_kind: "ClusterRole",
            role: "view",
            rules: None,
            subject_kind: "Group",
            subject: "system:authenticated",
            fragment: "RoleBinding llm-train/everyone-views grants training data to Group system:authenticated",
        },
    ];
    for case in cases {
        let mut f = Fixture::baseline();
        let ns = f.ns(TRAINING_NS);
        if let Some(rules) = case.rules {
            ns.roles.push(role(case.role, rules));
        }
        ns.role_bindings.push(role_binding(
            case.binding,
            case.role_kind,
            case.role,
            json!([{ "kind": case.subject_kind, "name": case.subject, "apiGroup": "rbac.authorization.k8s.io" }]),
        ));
        let eval = f.evaluate();
        let d = eval.measure(Measure::AccessControl);
        assert_decision(d, State::NonCompliant, "OverBroadBinding", &[case.fragment]);
        assert!(!d.message.contains("alice"), "{}", d.message);
        assert_decision(
            eval.row(19),
            State::NonCompliant,
            "OverBroadBinding",
            &["see M81a-DataAccessRestricted"],
        );
    }
}

#[test]
fn access_binding_that_grants_nothing_to_data_is_fine() {
    let mut f = Fixture::baseline();
    let ns = f.ns(TRAINING_NS);
    ns.roles.push(role(
        "pod-viewer",
        json!([{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"] }]),
    ));
    ns.role_bindings.push(role_binding(
        "pod-viewers",
        "Role",
        "pod-viewer",
        json!([{ "kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io" }]),
    ));
    assert_eq!(
        measure_of(&f, Measure::AccessControl).state,
        State::Compliant
    );
}

#[test]
fn access_review_allowing_the_inference_account_is_unmet() {
    let mut f = Fixture::baseline();
    f.snapshot.access_reviews[0].allowed = true;
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::AccessControl),
        State::NonCompliant,
        "InferenceCanReadTrainingData",
        &["inference service account llm-serve/server can read secrets in namespace llm-train"],
    );
    assert_eq!(eval.row(19).state, State::NonCompliant);
}

#[test]
fn access_named_reader_without_binding_is_unmet_in_the_cluster() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).role_bindings.clear();
    assert_decision(
        &measure_of(&f, Measure::AccessControl),
        State::NonCompliant,
        "ReaderBindingMissing",
        &["reader(s) User alice have no RoleBinding to training data"],
    );
}
