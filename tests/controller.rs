//! The reconcile path of the controller, through a real `kube::Client`, against an in-process
//! API stand-in (`support/fake_api.rs`) that logs every request. The caches are filled from
//! the stand-in's objects, as the watches would.

mod support;

use std::sync::Arc;

use api_stand_in::Logged;
use http::Method;
use model_compliance_operator::controller::{Context, error_policy};
use serde_json::{Value, json};
use tokio::sync::watch;

use support::*;

#[tokio::test]
async fn first_reconcile_creates_exactly_the_controls_then_nothing() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();

    let writes = api.writes();
    let applied: Vec<&Logged> = writes
        .iter()
        .filter(|r| r.content_type.starts_with("application/apply-patch"))
        .collect();
    let applied_paths: Vec<&str> = applied.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        applied_paths,
        [
            ISOLATION_NP,
            READER_ROLE,
            READER_BINDING,
            &format!("{MDEP}/status")
        ],
        "{writes:#?}"
    );
    for r in &applied {
        assert_eq!(
            r.field_manager(),
            Some("model-compliance-operator"),
            "{r:?}"
        );
        assert!(r.query.contains("force=true"), "{r:?}");
    }
    let reviews = paths(&writes, Method::POST);
    assert_eq!(
        reviews,
        ["/apis/authorization.k8s.io/v1/subjectaccessreviews"],
        "one review: chat's account on corpus"
    );
    assert_eq!(writes.len(), 5, "{writes:#?}");
    assert_eq!(condition(&api, "Ready")["status"], "True");
    assert_eq!(
        condition(&api, "M81a-TrainingInferenceIsolated")["status"],
        "True"
    );
    assert_eq!(
        condition(&api, "A37-GeneratedContentLabeled")["status"],
        "True"
    );
    let np = api.object(ISOLATION_NP).unwrap();
    assert_eq!(
        np["spec"]["podSelector"],
        json!({"matchLabels": {"role": "trainer"}})
    );
    assert!(
        !api.events().is_empty(),
        "an Evaluated event and Applied events"
    );

    // The watches deliver what was written; a second reconcile finds nothing to do.
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        api.log(),
        vec![],
        "a settled deployment makes no request at all"
    );
}

/// Deployments sharing a training namespace each get a binding for their own trainers; that
/// binding grants the serving account of another nothing, so its answer is reused: the second
/// deployment, served by the same account on the same volume, asks no review. A binding that
/// names a group of the account's token makes the next reconcile ask again.
#[tokio::test]
async fn a_neighbours_binding_does_not_make_the_same_question_asked_again() {
    let api = cluster();
    let mut second = deployment();
    second["metadata"]["name"] = json!("chat-2");
    second["metadata"]["uid"] = json!("mdep-uid-2");
    second["spec"]["training"]["podSelector"] = json!({"matchLabels": {"role": "trainer-2"}});
    let second_path = MDEP.replace("/chat", "/chat-2");
    api.insert(&second_path, second);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let reviews = |api: &api_stand_in::FakeApi| {
        paths(&api.writes(), Method::POST)
            .iter()
            .filter(|p| p.ends_with("/subjectaccessreviews"))
            .count()
    };
    assert_eq!(reviews(&api), 1, "chat's account on corpus");
    api.clear_log();
    reconcile_at(&api, &mut ctx, &second_path).await.unwrap();
    let bindings: Vec<String> = paths(&api.writes(), Method::PATCH)
        .into_iter()
        .filter(|p| p.contains("/rolebindings/"))
        .collect();
    assert_eq!(bindings.len(), 1, "chat-2's own binding: {bindings:?}");
    assert_eq!(
        reviews(&api),
        0,
        "the same question, nothing that can change its answer"
    );

    api.insert(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/train/rolebindings/everyone-reads",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "everyone-reads", "namespace": "train", "resourceVersion": "900"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "Group", "name": "system:serviceaccounts:serve"}]}),
    );
    api.clear_log();
    reconcile_at(&api, &mut ctx, &second_path).await.unwrap();
    assert_eq!(reviews(&api), 1, "a binding to every account of serve");
}

#[tokio::test]
async fn policy_change_propagates() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut changed = policy();
    changed["spec"]["controls"]["isolation"]["mode"] = json!("Audit");
    api.insert(POLICY, changed);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        paths(&api.writes(), Method::DELETE),
        [ISOLATION_NP],
        "Audit mode: the operator's policy goes"
    );
    let isolated = condition(&api, "M81a-TrainingInferenceIsolated");
    assert_eq!(isolated["status"], "False");
    assert_eq!(isolated["reason"], "NetworkPolicyMissing");
}

#[tokio::test]
async fn deleted_network_policy_is_restored() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let client = api.client();
    let nps: kube::Api<k8s_openapi::api::networking::v1::NetworkPolicy> =
        kube::Api::namespaced(client, "train");
    nps.delete("mco-serve.chat-isolate-training", &Default::default())
        .await
        .unwrap();
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let applied: Vec<String> = api
        .writes()
        .into_iter()
        .filter(|r| r.method == Method::PATCH && !r.path.ends_with("/status"))
        .map(|r| r.path)
        .collect();
    assert_eq!(applied, [ISOLATION_NP]);
    assert!(api.object(ISOLATION_NP).is_some());
    // Nothing else changed, so no status write either.
    assert!(
        api.writes().iter().all(|r| !r.path.ends_with("/status")),
        "{:#?}",
        api.writes()
    );
}

#[tokio::test]
async fn evidence_expiry_flips_its_row() {
    let api = cluster();
    api.insert(
        "/apis/modelcompliance.io/v1alpha1/namespaces/serve/complianceevidences/platform",
        evidence("2026-12-01T12:00:00Z"),
    );
    let mut ctx = Arc::new(
        Context::new(api.client(), stores(&api), watch::channel(true).1)
            .with_clock(|| "2026-12-01T11:00:00Z".parse().unwrap()),
    );
    model_compliance_operator::controller::reconcile::reconcile(current(&api), ctx.clone())
        .await
        .unwrap();
    let row = condition(&api, "A1-SecurePlatform");
    assert_eq!(
        (row["status"].as_str(), row["reason"].as_str()),
        (Some("True"), Some("EvidenceExpiringSoon"))
    );
    // The status says which evidence lapses next, for `kubectl get mdep`.
    assert_eq!(
        api.object(MDEP).unwrap()["status"]["evidenceExpiry"],
        "2026-12-01T12:00:00Z"
    );

    ctx = Arc::new(
        Context::new(api.client(), stores(&api), watch::channel(true).1)
            .with_clock(|| "2026-12-01T12:00:01Z".parse().unwrap()),
    );
    api.clear_log();
    model_compliance_operator::controller::reconcile::reconcile(current(&api), ctx)
        .await
        .unwrap();
    let row = condition(&api, "A1-SecurePlatform");
    assert_eq!(
        (row["status"].as_str(), row["reason"].as_str()),
        (Some("False"), Some("EvidenceExpired"))
    );
    assert_eq!(
        paths(&api.writes(), Method::PATCH),
        [format!("{MDEP}/status")]
    );
    assert!(
        api.events().iter().any(|e| e["note"]
            .as_str()
            .is_some_and(|n| n.contains("A1-SecurePlatform is now False"))),
        "{:#?}",
        api.events()
    );
}

#[tokio::test]
async fn conflict_and_server_error_are_survived() {
    let api = cluster();
    let mut ctx = context(&api);
    api.fail_next(Method::PATCH, "/networkpolicies/", 409);
    let failure = reconcile_fresh(&api, &mut ctx).await.unwrap_err();
    let error = failure.to_string();
    assert!(
        error.contains("409") || error.contains("Conflict"),
        "{error}"
    );
    assert_eq!(failure.label(), "apply", "the failure names its step");
    // The error policy retries with backoff rather than giving up, and counts the step.
    let action = error_policy(current(&api), &failure, ctx.clone());
    assert!(
        format!("{action:?}").contains("requeue_after: Some("),
        "{action:?}"
    );
    assert!(
        ctx.metrics
            .render()
            .contains("model_compliance_operator_reconcile_failures_total{error=\"apply\"} 1"),
        "{}",
        ctx.metrics.render()
    );
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(ISOLATION_NP).is_some());

    api.fail_next(Method::PATCH, "/status", 500);
    let mut changed = deployment();
    changed["metadata"]["generation"] = json!(2);
    api.insert(MDEP, changed);
    let failure = reconcile_fresh(&api, &mut ctx).await.unwrap_err();
    assert_eq!(failure.label(), "report");
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(api.object(MDEP).unwrap()["status"]["observedGeneration"], 2);
}

#[tokio::test]
async fn suspend_cuts_ingress_and_lifting_it_restores() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut suspended = api.object(MDEP).unwrap();
    suspended["spec"]["suspend"] = json!(true);
    api.insert(MDEP, suspended);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let np = api.object(SUSPEND_NP).expect("deny-all policy applied");
    assert_eq!(
        np["spec"],
        json!({"podSelector": {"matchLabels": {"app": "chat"}}, "policyTypes": ["Ingress"]})
    );
    assert_eq!(condition(&api, "Ready")["reason"], "InferenceSuspended");
    assert!(
        api.events().iter().any(|e| e["reason"] == "Suspended"),
        "{:#?}",
        api.events()
    );
    assert_eq!(
        condition(&api, "A40-IllegalContentStoppable")["reason"],
        "EvidenceMissing",
        "suspension itself is in place"
    );

    let mut resumed = api.object(MDEP).unwrap();
    resumed["spec"]["suspend"] = json!(false);
    api.insert(MDEP, resumed);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(paths(&api.writes(), Method::DELETE), [SUSPEND_NP]);
    assert_eq!(condition(&api, "Ready")["reason"], "ControlsApplied");
    assert!(
        api.events().iter().any(|e| e["reason"] == "Resumed"),
        "{:#?}",
        api.events()
    );
}

#[tokio::test]
async fn finalizer_first_then_cleanup_removes_only_what_the_operator_made() {
    let api = cluster();
    let mut fresh = deployment();
    fresh["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("finalizers");
    api.insert(MDEP, fresh);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = api.writes();
    // The finalizer first, by server-side apply; then, in the same reconcile, the controls.
    assert_eq!(writes[0].path, MDEP, "{writes:#?}");
    assert!(
        writes[0]
            .content_type
            .starts_with("application/apply-patch"),
        "{:?}",
        writes[0]
    );
    assert_eq!(
        api.object(MDEP).unwrap()["metadata"]["finalizers"],
        json!(["modelcompliance.io/cleanup"])
    );
    assert!(api.object(ISOLATION_NP).is_some());
    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    api.insert(MDEP, deleting);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut deleted = paths(&api.writes(), Method::DELETE);
    deleted.sort();
    assert_eq!(deleted, [ISOLATION_NP, READER_BINDING, READER_ROLE]);
    assert!(
        api.object("/api/v1/namespaces/train/pods/trainer-0")
            .is_some(),
        "user workloads are never touched"
    );
    assert_eq!(
        api.object(MDEP).unwrap()["metadata"]["finalizers"],
        json!([]),
        "finalizer removed"
    );
}

#[tokio::test]
async fn missing_policy_stalls_and_waits() {
    let api = cluster();
    let mut orphan = deployment();
    orphan["spec"]["policyRef"] = json!("nope");
    api.insert(MDEP, orphan);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let stalled = condition(&api, "Stalled");
    assert_eq!(
        (stalled["status"].as_str(), stalled["reason"].as_str()),
        (Some("True"), Some("PolicyNotFound"))
    );
    assert!(
        stalled["message"]
            .as_str()
            .unwrap()
            .contains("CompliancePolicy nope does not exist")
    );
    assert_eq!(condition(&api, "Ready")["status"], "False");
    assert!(
        api.writes()
            .iter()
            .all(|r| !r.path.contains("networkpolicies")),
        "nothing enforced without a policy"
    );
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(api.writes(), vec![], "no loop while waiting for the policy");
}

#[tokio::test]
async fn own_pending_controls_do_not_suspend_inference() {
    // A policy under which the only open gap is the isolation the operator itself applies.
    let api = cluster();
    let mut strict = policy();
    let rows: Vec<Value> = (1..=42)
        .filter(|r| *r != 19)
        .map(|r| json!({"row": r, "applicable": false, "remark": "out of scope of this test"}))
        .collect();
    let measures: Vec<Value> = [
        "AccessControl",
        "ContentSafety",
        "CodeAudit",
        "AdversarialDefense",
        "Backup",
    ]
    .iter()
    .map(|m| json!({"measure": m, "applicable": false, "remark": "out of scope of this test"}))
    .collect();
    strict["spec"]["rows"] = json!(rows);
    strict["spec"]["measures"] = json!(measures);
    strict["spec"]["riskAcceptance"] =
        json!({"maxAcceptable": "Low", "treatment": "SuspendInference"});
    api.insert(POLICY, strict);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(ISOLATION_NP).is_some());
    assert!(
        api.object(SUSPEND_NP).is_none(),
        "inference was suspended for a gap the operator was closing"
    );
    assert_eq!(condition(&api, "Ready")["reason"], "ControlsApplied");
    assert_eq!(
        condition(&api, "Compliant")["status"],
        "True",
        "{}",
        condition(&api, "Compliant")
    );

    // A real gap (isolation switched to Audit with no policy of the user's) does suspend.
    let mut audit = api.object(POLICY).unwrap();
    audit["spec"]["controls"]["isolation"]["mode"] = json!("Audit");
    api.insert(POLICY, audit);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(
        api.object(SUSPEND_NP).is_some(),
        "an unacceptable risk under SuspendInference cuts ingress"
    );
    assert_eq!(condition(&api, "Ready")["reason"], "InferenceSuspended");
}

/// The cache has not caught up with the status just written (as under load): the next
/// reconcile compares with what it wrote, so it writes nothing and announces nothing again.
#[tokio::test]
async fn a_lagging_cache_causes_no_second_status_write_or_event() {
    let api = cluster();
    let ctx = context(&api);
    let stale = current(&api);
    model_compliance_operator::controller::reconcile::reconcile(stale.clone(), ctx.clone())
        .await
        .unwrap();
    let status_writes = |api: &api_stand_in::FakeApi| {
        api.writes()
            .iter()
            .filter(|r| r.path.ends_with("/status"))
            .count()
    };
    assert_eq!(status_writes(&api), 1);
    let events = api.events().len();
    // Same caches, same (stale) object: nothing new to say.
    for _ in 0..3 {
        model_compliance_operator::controller::reconcile::reconcile(stale.clone(), ctx.clone())
            .await
            .unwrap();
    }
    assert_eq!(status_writes(&api), 1, "{:#?}", api.writes());
    // (The stale cache does not show the objects applied either, so they are applied again;
    // the status and its transitions are not.)
    let evaluated = api
        .events()
        .iter()
        .filter(|e| e["note"].as_str().unwrap_or("").contains("evaluated: "))
        .count();
    assert_eq!(
        evaluated,
        1,
        "no duplicate Evaluated note: {:#?}",
        api.events()
    );
    assert!(api.events().len() >= events);
}

/// The finalizer is added by server-side apply of that one entry: another controller's
/// finalizer added at the same moment is kept, and nothing fails.
#[tokio::test]
async fn the_finalizer_is_added_without_a_conflict() {
    let api = cluster();
    let mut fresh = deployment();
    fresh["metadata"]["finalizers"] = json!([]);
    api.insert(MDEP, fresh);
    let ctx = context(&api);
    let read = current(&api);
    // Someone else adds theirs after the operator read the object.
    let mut raced = api.object(MDEP).unwrap();
    raced["metadata"]["finalizers"] = json!(["example.com/other"]);
    api.insert(MDEP, raced);
    model_compliance_operator::controller::reconcile::reconcile(read, ctx)
        .await
        .unwrap();
    let writes = api.writes();
    let to_object: Vec<&Logged> = writes.iter().filter(|r| r.path == MDEP).collect();
    assert_eq!(to_object.len(), 1, "{to_object:#?}");
    assert!(
        to_object[0]
            .content_type
            .starts_with("application/apply-patch")
    );
    assert_eq!(
        to_object[0].field_manager(),
        Some("model-compliance-operator")
    );
    assert_eq!(
        to_object[0].body.as_ref().unwrap()["metadata"]["finalizers"],
        json!(["modelcompliance.io/cleanup"])
    );
    assert_eq!(
        api.object(MDEP).unwrap()["metadata"]["finalizers"],
        json!(["example.com/other", "modelcompliance.io/cleanup"])
    );
    // And the status was written in the same reconcile: no wait for another event.
    assert!(writes.iter().any(|r| r.path == format!("{MDEP}/status")));
}

/// A deployment that carries the finalizer from its creation (the chart's admission policy
/// adds it) is written only for its status: its first reconcile sends nothing else to it.
#[tokio::test]
async fn a_deployment_admitted_with_the_finalizer_gets_only_its_status() {
    let api = cluster();
    let mut admitted = deployment();
    admitted["metadata"]["finalizers"] = json!(["modelcompliance.io/cleanup"]);
    api.insert(MDEP, admitted);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = api.writes();
    let to_deployment: Vec<&str> = writes
        .iter()
        .filter(|r| r.path.starts_with(MDEP))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(to_deployment, [format!("{MDEP}/status")], "{writes:#?}");
    assert!(api.object(ISOLATION_NP).is_some(), "the controls applied");
}

/// One Event per reconcile that changed something, naming every object it applied and what it
/// found; a reconcile that changes nothing records none.
#[tokio::test]
async fn one_event_per_reconcile_names_everything_it_changed() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let events = api.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let note = events[0]["note"].as_str().unwrap();
    for part in [
        "applied NetworkPolicy train/mco-serve.chat-isolate-training",
        "applied Role train/mco-serve.chat-training-data-reader",
        "applied RoleBinding train/mco-serve.chat-training-data-reader",
        "evaluated: ",
    ] {
        assert!(note.contains(part), "{part:?} in {note}");
    }
    assert_eq!(events[0]["reason"], "Applied");

    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(
        api.log().iter().all(|r| !r.is_event()),
        "nothing changed, nothing to tell"
    );

    // A switch to Audit deletes the policy and flips the row: one Event says both.
    let mut audit = policy();
    audit["spec"]["controls"]["isolation"]["mode"] = json!("Audit");
    api.insert(POLICY, audit);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let posted: Vec<Logged> = api.log().into_iter().filter(|r| r.is_event()).collect();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let note = posted[0].body.as_ref().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.contains("deleted NetworkPolicy train/mco-serve.chat-isolate-training"),
        "{note}"
    );
    assert!(
        note.contains("M81a-TrainingInferenceIsolated is now False"),
        "{note}"
    );
    assert_eq!(posted[0].body.as_ref().unwrap()["type"], "Warning");
}

/// `/metrics` shows, per deployment, its rows by state, its risk and when its earliest
/// evidence lapses (what an alert a week before expiry reads); the series go with the
/// deployment.
#[tokio::test]
async fn metrics_show_each_deployments_rows_risk_and_evidence_expiry() {
    let api = cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let status = api.object(MDEP).unwrap()["status"].clone();
    let text = ctx.metrics.render();
    let series = |metric: &str, extra: &str| {
        let prefix = format!(
            "model_compliance_operator_{metric}{{namespace=\"serve\",name=\"chat\"{extra}}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
            .parse::<i64>()
            .unwrap()
    };
    let summary = &status["summary"];
    for (state, field) in [
        ("Compliant", "met"),
        ("NonCompliant", "notMet"),
        ("Unknown", "unknown"),
        ("Excepted", "excepted"),
        ("NotApplicable", "notApplicable"),
    ] {
        assert_eq!(
            series("deployment_rows", &format!(",state=\"{state}\"")),
            summary[field].as_i64().unwrap(),
            "{state}"
        );
    }
    let risk = ["None", "Low", "Medium", "High", "Critical"]
        .iter()
        .position(|r| status["risk"] == *r)
        .unwrap();
    assert_eq!(series("deployment_risk", ""), risk as i64);
    let expiry: k8s_openapi::jiff::Timestamp = "2027-09-30T00:00:00Z".parse().unwrap();
    assert_eq!(
        series("deployment_evidence_expiry_timestamp_seconds", ""),
        expiry.as_second()
    );
    // The status shows the same instant as the metric.
    assert_eq!(status["evidenceExpiry"], "2027-09-30T00:00:00Z");

    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    api.insert(MDEP, deleting);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let text = ctx.metrics.render();
    assert!(
        !text.contains("name=\"chat\""),
        "a deleted deployment's series are gone:\n{text}"
    );
}
