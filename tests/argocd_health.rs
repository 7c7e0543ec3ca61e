//! The Argo CD health check of `deploy/gitops/argocd-health.lua`, run by a Lua 5.1
//! interpreter (the language of Argo CD's gopher-lua) on statuses the operator's own code
//! writes (`conditions::status`, with each kind of progress) and on the cases around them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use mlua::{Lua, Table};
use model_compliance_operator::api::{RiskLevel, Severity};
use model_compliance_operator::conditions::{self, Progress};
use model_compliance_operator::evaluate::{Decision, Evaluation, Obligation, State, Summary};
use serde_json::{Value, json};

const SCRIPT: &str = "deploy/gitops/argocd-health.lua";

fn script() -> String {
    std::fs::read_to_string(SCRIPT).expect("the health check exists")
}

/// JSON as Argo CD hands it to the script: objects and arrays as tables, null as nil.
fn to_lua(lua: &Lua, value: &Value) -> mlua::Value {
    match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap()),
        Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let table = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                table.set(i + 1, to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table().unwrap();
            for (k, v) in map {
                table.set(k.as_str(), to_lua(lua, v)).unwrap();
            }
            mlua::Value::Table(table)
        }
    }
}

/// The health status and message the script gives `object`.
fn health(object: &Value) -> (String, String) {
    let lua = Lua::new();
    lua.globals().set("obj", to_lua(&lua, object)).unwrap();
    let hs: Table = lua
        .load(script())
        .set_name(SCRIPT)
        .eval()
        .unwrap_or_else(|e| panic!("the health check fails on {object}:\n{e}"));
    let status: String = hs.get("status").unwrap();
    let message: String = hs.get("message").unwrap();
    (status, message)
}

fn evaluation(acceptable: bool) -> Evaluation {
    let decision = |n, state, reason: &'static str| Decision {
        id: Obligation::Row(n),
        state,
        reason,
        message: format!("row {n}"),
        severity: Severity::High,
        remark: None,
        evidence: vec![],
    };
    Evaluation {
        decisions: vec![
            decision(1, State::Compliant, "EvidenceValid"),
            decision(6, State::NonCompliant, "LicenseMissing"),
        ],
        summary: Summary {
            applicable: 2,
            compliant: 1,
            non_compliant: 1,
            ..Default::default()
        },
        risk: RiskLevel::High,
        acceptable,
        findings: vec![Obligation::Row(6)],
    }
}

/// A ModelDeployment at `generation` whose status the operator wrote for `observed`.
fn deployment(
    generation: i64,
    observed: i64,
    evaluation: &Evaluation,
    progress: Progress,
) -> Value {
    let now = Time("2026-12-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let status = conditions::status(evaluation, &progress, Some(observed), &[], &now);
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "chat", "namespace": "chat", "generation": generation},
        "spec": {"policyRef": "public-service"},
        "status": serde_json::to_value(status).unwrap(),
    })
}

fn applied() -> Progress {
    Progress::Applied { suspended: false }
}

#[test]
fn controls_applied_is_healthy_whatever_the_risk() {
    for acceptable in [true, false] {
        let (status, message) = health(&deployment(3, 3, &evaluation(acceptable), applied()));
        assert_eq!(status, "Healthy");
        assert!(message.starts_with("ControlsApplied: "), "{message}");
        let compliance = if acceptable {
            "RiskAcceptable"
        } else {
            "RiskUnacceptable"
        };
        assert!(message.contains(compliance), "{message}");
    }
}

#[test]
fn suspended_inference_is_suspended() {
    let object = deployment(
        2,
        2,
        &evaluation(true),
        Progress::Applied { suspended: true },
    );
    let (status, message) = health(&object);
    assert_eq!(status, "Suspended");
    assert!(message.starts_with("InferenceSuspended: "), "{message}");
}

#[test]
fn a_missing_policy_is_degraded() {
    let stalled = Progress::Stalled {
        reason: "PolicyNotFound".into(),
        message: "CompliancePolicy public-service does not exist; waiting for it to be created"
            .into(),
    };
    let object = deployment(1, 1, &Evaluation::undecided(), stalled);
    let (status, message) = health(&object);
    assert_eq!(status, "Degraded");
    assert!(
        message.starts_with("PolicyNotFound: CompliancePolicy public-service"),
        "{message}"
    );

    // Ready=False for that reason is enough, even without a Stalled condition.
    let mut object = object;
    let conditions = object["status"]["conditions"].as_array_mut().unwrap();
    conditions.retain(|c| c["type"] != "Stalled");
    assert_eq!(health(&object).0, "Degraded");
}

#[test]
fn reconciling_and_unobserved_generations_are_progressing() {
    let busy = Progress::Reconciling {
        reason: "Applying".into(),
        message: "creating NetworkPolicies".into(),
    };
    let (status, message) = health(&deployment(4, 4, &evaluation(true), busy));
    assert_eq!(status, "Progressing");
    assert_eq!(message, "Applying: creating NetworkPolicies");

    // A spec changed after the last status: whatever the status said, it is not about now.
    let (status, message) = health(&deployment(5, 4, &evaluation(true), applied()));
    assert_eq!(status, "Progressing");
    assert_eq!(message, "generation 5 not yet observed (status is of 4)");
    let stalled = Progress::Stalled {
        reason: "PolicyNotFound".into(),
        message: "gone".into(),
    };
    assert_eq!(
        health(&deployment(5, 4, &Evaluation::undecided(), stalled)).0,
        "Progressing"
    );

    // Ready=False for a reason the operator is still working on.
    let mut object = deployment(2, 2, &evaluation(true), applied());
    object["status"]["conditions"][0]["status"] = json!("False");
    object["status"]["conditions"][0]["reason"] = json!("Applying");
    assert_eq!(health(&object).0, "Progressing");
    object["status"]["conditions"][0]["status"] = json!("Unknown");
    assert_eq!(health(&object).0, "Progressing");
}

#[test]
fn a_deployment_without_status_waits_for_the_operator() {
    let mut object = deployment(1, 1, &evaluation(true), applied());
    object.as_object_mut().unwrap().remove("status");
    assert_eq!(
        health(&object),
        (
            "Progressing".to_owned(),
            "waiting for the operator to report the status".to_owned()
        )
    );
    object["status"] = json!({});
    assert_eq!(health(&object).0, "Progressing");
    // Conditions without any generation said are not trusted to be current.
    object["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "ControlsApplied", "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"}]});
    assert_eq!(health(&object).0, "Progressing");
}

#[test]
fn policies_and_evidence_are_healthy_unless_their_status_says_otherwise() {
    let policy = json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "CompliancePolicy",
        "metadata": {"name": "public-service", "generation": 7},
        "spec": {}
    });
    assert_eq!(
        health(&policy),
        ("Healthy".to_owned(), "no status reported".to_owned())
    );
    let mut ready_policy = policy.clone();
    ready_policy["status"] = json!({"observedGeneration": 7, "conditions": [
        {"type": "Ready", "status": "True", "reason": "Accepted", "message": "", "lastTransitionTime": "2026-12-01T00:00:00Z"}]});
    assert_eq!(health(&ready_policy).0, "Healthy");
    ready_policy["status"]["observedGeneration"] = json!(6);
    assert_eq!(health(&ready_policy).0, "Progressing");

    let evidence = json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ComplianceEvidence",
        "metadata": {"name": "pia-2026", "namespace": "chat", "generation": 1},
        "spec": {"rows": [17], "targets": ["chat"]}
    });
    assert_eq!(health(&evidence).0, "Healthy");
    let with_validity = |valid: &str| {
        let mut e = evidence.clone();
        e["status"] = json!({"conditions": [{"type": "Valid", "status": valid, "reason": "EvidenceExpired",
            "message": "lapsed on 2026-11-30", "observedGeneration": 1, "lastTransitionTime": "2026-12-01T00:00:00Z"}]});
        e
    };
    assert_eq!(
        health(&with_validity("False")),
        (
            "Degraded".to_owned(),
            "EvidenceExpired: lapsed on 2026-11-30".to_owned()
        )
    );
    assert_eq!(health(&with_validity("True")).0, "Healthy");
}

#[test]
fn the_argocd_configmap_carries_the_same_script_for_each_kind() {
    let text = std::fs::read_to_string("deploy/gitops/argocd-cm.yaml").unwrap();
    let cm: Value = serde_yaml_ng::from_str(&text).unwrap();
    let data = cm["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "resource.customizations.health.modelcompliance.io_ModelDeployment",
            "resource.customizations.health.modelcompliance.io_CompliancePolicy",
            "resource.customizations.health.modelcompliance.io_ComplianceEvidence",
        ]
    );
    let script = script();
    for (key, value) in data {
        assert_eq!(
            value.as_str(),
            Some(script.as_str()),
            "{key} differs from {SCRIPT}"
        );
    }
}
