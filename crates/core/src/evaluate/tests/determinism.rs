//! The same inputs give the same bytes, whatever the order of the evidence; findings are
//! ordered by severity.

use super::*;

/// A fixture with open findings of every severity, from rows and measures.
fn mixed_failures() -> Fixture {
    let mut f = Fixture::baseline();
    f.dataset("user-dialogues").legal_basis = None; // rows 4 (High), 7 and 15 (Critical)
    f.ns(INFERENCE_NS).volume_snapshots.clear(); // 8.1e (High), row 19 (Critical)
    f.service().disclosure_url = None; // row 34 (Medium)
    f.ns(JOBS_NS)
        .cron_jobs
        .retain(|c| c.metadata.name.as_deref() != Some("code-audit")); // 8.1c (Medium)
    f.dataset("web-crawl").cleaning = None; // row 11 (Low)
    f
}

#[test]
fn same_inputs_give_the_same_output() {
    for f in [Fixture::baseline(), mixed_failures(), Fixture::offline()] {
        let a = f.evaluate();
        let b = f.evaluate();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        // A copy of the inputs gives the same bytes too.
        let c = f.clone().evaluate();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&c).unwrap()
        );
    }
}

#[test]
fn evidence_order_does_not_change_the_output() {
    let mut f = mixed_failures();
    f.evidence.push(evidence(
        "a-extra",
        &[16, 17],
        &[],
        &[NAME],
        days_ago(2),
        days_ago(-304),
    ));
    f.evidence.push(evidence(
        "z-extra",
        &[16, 17],
        &[],
        &[NAME],
        days_ago(2),
        days_ago(-304),
    ));
    let forward = serde_json::to_string(&f.evaluate()).unwrap();
    f.evidence.reverse();
    let backward = serde_json::to_string(&f.evaluate()).unwrap();
    assert_eq!(forward, backward);
}

#[test]
fn findings_are_sorted_by_severity_then_rows_then_measures() {
    let eval = mixed_failures().evaluate();
    use Obligation::{Measure as M, Row as R};
    assert_eq!(
        eval.findings,
        vec![
            R(7),
            R(15),
            R(19),
            R(4),
            M(Measure::Backup),
            R(34),
            M(Measure::CodeAudit),
            R(11)
        ],
        "\n{}",
        describe(eval.decisions.iter().filter(|d| d.is_open()))
    );
    let severities: Vec<Severity> = eval
        .findings
        .iter()
        .map(|id| eval.decision(*id).unwrap().severity)
        .collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "{severities:?}"
    );
    assert_eq!(eval.risk, RiskLevel::Critical);
    assert!(!eval.acceptable);
    assert_eq!(eval.summary.non_compliant, 6);
}

#[test]
fn serialized_evaluation_uses_condition_types() {
    let eval = mixed_failures().evaluate();
    let v = serde_json::to_value(&eval).unwrap();
    assert_eq!(v["findings"][0], json!("A7-PersonalDataLegalBasis"));
    assert_eq!(
        v["decisions"][36]["id"],
        json!("A37-GeneratedContentLabeled")
    );
    assert_eq!(v["decisions"][47]["id"], json!("M81e-BackupsCurrent"));
    assert_eq!(v["decisions"][6]["state"], json!("NonCompliant"));
    assert_eq!(v["summary"]["nonCompliant"], json!(6));
    assert!(v["decisions"][0].get("remark").is_none());
}
