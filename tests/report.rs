//! `report` against the API stand-in: the examples stored as a cluster holds them, each
//! ModelDeployment with the status the operator writes for it, then read back by `report`
//! and compared with `check` of the same manifests, format by format.

use std::path::PathBuf;

use api_stand_in::FakeApi;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use model_compliance_operator::catalog::Lang;
use model_compliance_operator::check::{self, load};
use model_compliance_operator::conditions::{self, Progress};
use model_compliance_operator::evaluate::{self, Inputs};
use model_compliance_operator::report::{self, Output};
use model_compliance_operator::view::{self, Format, Origin};
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T00:00:00Z";
const GROUP: &str = "/apis/modelcompliance.io/v1alpha1";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// A stand-in holding the examples' policies, evidence and ModelDeployments, each deployment
/// with the status the operator writes: the evaluation's conditions, summary and risk.
fn cluster() -> FakeApi {
    let api = FakeApi::new();
    let manifests = load(&[examples()]);
    assert!(manifests.problems.is_empty(), "{:?}", manifests.problems);
    let evidence: Vec<_> = manifests
        .evidence
        .iter()
        .map(|e| e.object.clone())
        .collect();
    for p in &manifests.policies {
        let name = p.object.metadata.name.clone().unwrap();
        api.insert(
            &format!("{GROUP}/compliancepolicies/{name}"),
            serde_json::to_value(&p.object).unwrap(),
        );
    }
    for e in &evidence {
        let (ns, name) = (
            e.metadata.namespace.clone().unwrap(),
            e.metadata.name.clone().unwrap(),
        );
        api.insert(
            &format!("{GROUP}/namespaces/{ns}/complianceevidences/{name}"),
            serde_json::to_value(e).unwrap(),
        );
    }
    for d in &manifests.model_deployments {
        let deployment = &d.object;
        let policy = manifests
            .policies
            .iter()
            .find(|p| p.object.metadata.name.as_deref() == Some(&deployment.spec.policy_ref))
            .map(|p| &p.object)
            .unwrap();
        let evaluation = evaluate::evaluate(Inputs {
            policy,
            deployment,
            evidence: &evidence,
            snapshot: &manifests.snapshot,
            now: now(),
        });
        let progress = Progress::Applied {
            suspended: evaluate::suspended(policy, deployment, &evaluation),
        };
        let status = conditions::status(&evaluation, &progress, None, &[], &Time(now()));
        let mut object = serde_json::to_value(deployment).unwrap();
        object["status"] = serde_json::to_value(&status).unwrap();
        let (ns, name) = (
            deployment.metadata.namespace.clone().unwrap(),
            deployment.metadata.name.clone().unwrap(),
        );
        api.insert(
            &format!("{GROUP}/namespaces/{ns}/modeldeployments/{name}"),
            object,
        );
    }
    api
}

fn origin(namespace: Option<&str>, selector: Option<&str>) -> Origin {
    Origin::Cluster {
        context: "stand-in".into(),
        namespace: namespace.map(str::to_owned),
        selector: selector.map(str::to_owned),
    }
}

async fn report_of(api: &FakeApi, origin: Origin, format: Format, lang: Lang) -> (String, u8) {
    let (out, errors, code) = report::run(
        &api.client(),
        origin,
        &Output::Tables(view::Options::new(format, lang)),
        now(),
        30,
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    (out, code)
}

fn check_of(format: Format, lang: Lang) -> (String, u8) {
    let (out, errors, code) =
        check::run(&[examples()], &view::Options::new(format, lang), now(), 30);
    assert!(errors.is_empty(), "{errors:?}");
    (out, code)
}

/// The output without what names where it was read from: the origin line, each deployment's
/// source, and the JUnit report's name.
fn without_origin(format: Format, text: &str) -> String {
    match format {
        Format::Json => {
            let mut v: Value = serde_json::from_str(text).unwrap();
            v.as_object_mut().unwrap().remove("origin");
            for d in v["deployments"].as_array_mut().unwrap() {
                d.as_object_mut().unwrap().remove("source");
            }
            serde_json::to_string_pretty(&v).unwrap()
        }
        _ => text
            .lines()
            .filter(|l| {
                !(l.starts_with("Checked ")
                    || l.starts_with("Read ")
                    || l.starts_with("已检查")
                    || l.starts_with("已从")
                    || l.contains("<p class=\"origin\">")
                    || l.contains("source: ")
                    || l.contains("来源: ")
                    || l.contains("<p class=\"source\">"))
            })
            .map(|l| {
                l.replace(
                    "model-compliance-operator report",
                    "model-compliance-operator check",
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[tokio::test]
async fn report_from_the_cluster_prints_what_check_prints_for_the_same_manifests() {
    let api = cluster();
    for lang in [Lang::En, Lang::Zh] {
        for format in [
            Format::Table,
            Format::Markdown,
            Format::Csv,
            Format::Json,
            Format::Junit,
            Format::Html,
        ] {
            let (reported, report_code) = report_of(&api, origin(None, None), format, lang).await;
            let (checked, check_code) = check_of(format, lang);
            assert_eq!(report_code, check_code, "{format:?}");
            assert_eq!(report_code, check::exit::UNACCEPTABLE);
            let (r, c) = (
                without_origin(format, &reported),
                without_origin(format, &checked),
            );
            assert!(
                r == c,
                "report and check differ in {format:?} ({lang:?}):\n{}",
                first_difference(&c, &r)
            );
            // Not vacuous: both name both deployments.
            assert!(r.contains("qwen-chat") && r.contains("sketch-studio"));
        }
    }
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n- {e}\n+ {a}", i + 1);
        }
    }
    format!(
        "{} lines against {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

#[tokio::test]
async fn a_met_row_shows_its_reason_and_the_evidence_read_from_the_cluster() {
    let api = cluster();
    let (out, _) = report_of(&api, origin(None, None), Format::Json, Lang::En).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    let qwen = &v["deployments"][0];
    assert_eq!(qwen["name"], "qwen-chat");
    let row1 = &qwen["rows"][0];
    assert_eq!(row1["state"], "Compliant");
    assert_eq!(
        row1["remark"],
        "attested by valid evidence: qwen-chat-platform-2026 (valid until 2027-09-30)"
    );
    assert_eq!(
        row1["evidence"]["attestedBy"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true)
    );
    // A met row that rests on declared facts shows its reason's text.
    let row25 = qwen["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"] == "25")
        .unwrap();
    assert_eq!(row25["state"], "Compliant");
    assert_eq!(row25["remark"], "the served version is filed");
}

#[tokio::test]
async fn the_report_reads_the_live_status_not_a_fresh_evaluation() {
    let api = cluster();
    let path = format!("{GROUP}/namespaces/chat-serve/modeldeployments/qwen-chat");
    let mut object = api.object(&path).unwrap();
    for c in object["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "A25-AlgorithmFiled" {
            c["status"] = json!("False");
            c["reason"] = json!("RefilingRequired");
            c["message"] = json!("model version 2.2.0 is not the filed version 2.1.0");
        }
    }
    object["status"]["risk"] = json!("Critical");
    object["status"]["acceptable"] = json!(false);
    api.insert(&path, object);
    let (out, code) = report_of(
        &api,
        origin(Some("chat-serve"), None),
        Format::Json,
        Lang::En,
    )
    .await;
    assert_eq!(code, check::exit::UNACCEPTABLE);
    let v: Value = serde_json::from_str(&out).unwrap();
    let qwen = &v["deployments"][0];
    assert_eq!(qwen["risk"], "Critical");
    // Critical findings first, in table order: row 19 (unknown offline), then row 25.
    assert_eq!(
        qwen["findings"][1], "A25-AlgorithmFiled",
        "{}",
        qwen["findings"]
    );
    let row25 = qwen["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"] == "25")
        .unwrap();
    assert_eq!(row25["state"], "NonCompliant");
    assert_eq!(
        row25["severity"], "Critical",
        "public service: row 25 is Critical"
    );
    assert_eq!(
        row25["remark"],
        "model version 2.2.0 is not the filed version 2.1.0"
    );
}

#[tokio::test]
async fn namespace_and_selector_narrow_what_is_read() {
    let api = cluster();
    let path = format!("{GROUP}/namespaces/draw-serve/modeldeployments/sketch-studio");
    let mut sketch = api.object(&path).unwrap();
    sketch["metadata"]["labels"]["team"] = json!("draw");
    api.insert(&path, sketch);
    let names = |out: &str| -> Vec<String> {
        let v: Value = serde_json::from_str(out).unwrap();
        v["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d["namespace"].as_str().unwrap(),
                    d["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    let (all, _) = report_of(&api, origin(None, None), Format::Json, Lang::En).await;
    assert_eq!(
        names(&all),
        ["chat-serve/qwen-chat", "draw-serve/sketch-studio"]
    );
    let (one_ns, code) = report_of(
        &api,
        origin(Some("chat-serve"), None),
        Format::Json,
        Lang::En,
    )
    .await;
    assert_eq!(names(&one_ns), ["chat-serve/qwen-chat"]);
    assert_eq!(code, check::exit::OK, "qwen-chat alone is acceptable");
    let (selected, _) = report_of(
        &api,
        origin(None, Some("team=draw")),
        Format::Json,
        Lang::En,
    )
    .await;
    assert_eq!(names(&selected), ["draw-serve/sketch-studio"]);
    let (none, _) = report_of(
        &api,
        origin(Some("elsewhere"), None),
        Format::Table,
        Lang::En,
    )
    .await;
    assert!(none.ends_with("\nno ModelDeployment\n"), "{none}");
}

#[tokio::test]
async fn a_deployment_the_operator_has_not_evaluated_says_so() {
    let api = cluster();
    let path = format!("{GROUP}/namespaces/chat-serve/modeldeployments/qwen-chat");
    let mut object = api.object(&path).unwrap();
    object.as_object_mut().unwrap().remove("status");
    api.insert(&path, object);
    let (out, code) = report_of(
        &api,
        origin(Some("chat-serve"), None),
        Format::Table,
        Lang::En,
    )
    .await;
    assert!(out.contains("! not evaluated by the operator yet"), "{out}");
    assert_eq!(
        code,
        check::exit::UNACCEPTABLE,
        "not evaluated is not acceptable"
    );
}

#[tokio::test]
async fn evidence_lapsing_soon_is_listed_in_the_fleet_summary() {
    let api = cluster();
    // The examples' evidence lapses on 2027-09-30: within 400 days of NOW, not within 30.
    let read = |days: i64| {
        let api = api.clone();
        async move {
            let (out, _, _) = report::run(
                &api.client(),
                origin(None, None),
                &Output::Tables(view::Options::new(Format::Json, Lang::En)),
                now(),
                days,
            )
            .await;
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };
    assert_eq!(read(30).await["expiring"], json!([]));
    let soon = read(400).await;
    let expiring = soon["expiring"].as_array().unwrap();
    assert!(!expiring.is_empty());
    assert!(
        expiring
            .iter()
            .all(|e| e["validUntil"].as_str().unwrap() <= "2027-09-30"
                && e["daysLeft"].as_i64().unwrap() <= 400),
        "{expiring:?}"
    );
}

#[tokio::test]
async fn the_regulator_dossier_shows_what_is_declared_and_names_what_is_not() {
    let api = cluster();
    let dossier = |name: &str, html: bool| {
        let api = api.clone();
        let name = name.to_owned();
        async move {
            report::run(
                &api.client(),
                origin(None, None),
                &Output::Dossier {
                    name,
                    html,
                    lang: Lang::En,
                },
                now(),
                30,
            )
            .await
        }
    };
    let (md, errors, _) = dossier("chat-serve/qwen-chat", false).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        md.starts_with("# Regulator dossier (row 42) — ModelDeployment chat-serve/qwen-chat\n"),
        "{md}"
    );
    for part in [
        "## Training data: sources, scale and kinds (rows 4–15)",
        "## Annotation rules and batch sampling (rows 20–22)",
        "## Safety evaluation against thresholds (rows 31–33)",
        "## Filing and security assessment (rows 24, 25)",
        "## Evidence on record",
        "## Not declared",
        "| 31 corpus, manual",
        ">= 4000",
        ">= 96.0 %",
        "Beijing-QwenChat-20250101",
    ] {
        assert!(md.contains(part), "the dossier lacks {part:?}:\n{md}");
    }
    // The evidence is listed with its digest, attester and validity.
    let manifests = load(&[examples().join("compliant")]);
    for e in &manifests.evidence {
        let line = md
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "| {} |",
                    e.object.metadata.name.as_deref().unwrap()
                ))
            })
            .unwrap_or_else(|| panic!("no line for {:?}", e.object.metadata.name));
        assert!(line.contains(&e.object.spec.sha256), "{line}");
        assert!(line.contains(&e.object.spec.attested_by), "{line}");
        assert!(line.ends_with("| valid |"), "{line}");
    }
    // What the API cannot declare is said, not invented.
    assert!(md.contains("- the kind of content of each dataset"), "{md}");

    let (html, _, _) = dossier("qwen-chat", true).await;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<h2>Evidence on record</h2>"));
    let (_, errors, code) = dossier("no-such", false).await;
    assert_eq!(code, check::exit::INPUT);
    assert_eq!(
        errors,
        ["error: no ModelDeployment no-such in any namespace"]
    );
}
