//! Rows 24, 25 and 42: the security assessment, the filing of the served version and the
//! report to the regulator.

use super::*;

#[test]
fn row_24_security_assessment_age_is_inclusive() {
    let mut f = Fixture::baseline();
    f.service().security_assessment.as_mut().unwrap().date = "2025-12-01".into();
    assert_decision(
        &row_of(&f, 24),
        State::Compliant,
        "EvidenceValid",
        &["of 2025-12-01", BASELINE_EVIDENCE],
    );
    f.service().security_assessment.as_mut().unwrap().date = "2025-11-30".into();
    let d = row_of(&f, 24);
    assert_decision(
        &d,
        State::NonCompliant,
        "AssessmentStale",
        &["security assessment of 2025-11-30 is 366 days old (max 365)"],
    );
    assert_eq!(d.severity, Severity::Critical, "public service");
}

#[test]
fn row_24_missing_future_or_invalid_assessment_is_unmet() {
    let mut f = Fixture::baseline();
    f.service().security_assessment.as_mut().unwrap().date = "2026-12-02".into();
    assert_decision(
        &row_of(&f, 24),
        State::NonCompliant,
        "AssessmentInFuture",
        &["2026-12-02 is in the future"],
    );
    f.service().security_assessment.as_mut().unwrap().date = "yesterday".into();
    assert_decision(
        &row_of(&f, 24),
        State::NonCompliant,
        "AssessmentDateInvalid",
        &["yesterday is not a date"],
    );
    f.service().security_assessment = None;
    assert_decision(
        &row_of(&f, 24),
        State::NonCompliant,
        "AssessmentMissing",
        &["spec.service.securityAssessment"],
    );
}

/// Missing evidence alone is in `evidence::rows_that_need_evidence_on_top_say_so`.
#[test]
fn row_24_without_evidence_is_high_when_not_public() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(24));
    f.service().public = false;
    let d = row_of(&f, 24);
    assert_eq!(d.reason, "EvidenceMissing");
    assert_eq!(d.severity, Severity::High);
}

#[test]
fn row_24_policy_can_tighten_the_assessment_age() {
    let mut f = Fixture::baseline();
    f.policy().parameters.security_assessment_max_age_days = Some(90);
    assert_decision(
        &row_of(&f, 24),
        State::NonCompliant,
        "AssessmentStale",
        &["183 days old (max 90)"],
    );
}

#[test]
fn row_25_filing_covers_the_served_version() {
    let f = Fixture::baseline();
    assert_decision(
        &row_of(&f, 25),
        State::Compliant,
        "Filed",
        &["Beijing-Chat-20250101 covers version 2.1.0"],
    );

    let mut f = Fixture::baseline();
    f.spec().model.version = "2.2.0".into();
    let d = row_of(&f, 25);
    assert_decision(
        &d,
        State::NonCompliant,
        "RefilingRequired",
        &["covers model version 2.1.0 but version 2.2.0 is served"],
    );
    assert_eq!(d.severity, Severity::Critical);

    let mut f = Fixture::baseline();
    f.service().filed_model_version = None;
    assert_decision(
        &row_of(&f, 25),
        State::NonCompliant,
        "FiledVersionMissing",
        &["declares no filedModelVersion"],
    );

    let mut f = Fixture::baseline();
    f.service().filing_number = None;
    assert_decision(
        &row_of(&f, 25),
        State::NonCompliant,
        "FilingMissing",
        &["spec.service.filingNumber"],
    );
}

#[test]
fn row_25_does_not_apply_to_a_non_public_service() {
    let mut f = Fixture::baseline();
    f.service().public = false;
    f.service().filing_number = None;
    let eval = f.evaluate();
    assert_decision(
        eval.row(25),
        State::NotApplicable,
        "NotPublicService",
        &["not offered to the public"],
    );
    assert_eq!(eval.summary.not_applicable, 1);
    assert_eq!(eval.risk, RiskLevel::None);
}

// Found as a bug (omitted service was not public); fixed in 088829f.
#[test]
fn deployment_without_service_is_public() {
    let mut deployment = serde_json::to_value(baseline_deployment()).unwrap();
    deployment["spec"]
        .as_object_mut()
        .unwrap()
        .remove("service");
    let mut f = Fixture::baseline();
    f.deployment = from_json(deployment);
    let eval = f.evaluate();
    assert_decision(
        eval.row(25),
        State::NonCompliant,
        "FilingMissing",
        &["spec.service.filingNumber"],
    );
    assert_eq!(eval.row(37).severity, Severity::Critical);
}

#[test]
fn row_42_regulator_report_needs_algorithm_rules_and_dataset_scale() {
    let mut f = Fixture::baseline();
    f.spec().model.algorithm_description = None;
    assert_decision(
        &row_of(&f, 42),
        State::NonCompliant,
        "ReportIncomplete",
        &["model.algorithmDescription"],
    );

    let mut f = Fixture::baseline();
    f.training().annotation_rules_ref = None;
    f.dataset("licensed-books").records = None;
    let d = row_of(&f, 42);
    assert_decision(
        &d,
        State::NonCompliant,
        "ReportIncomplete",
        &[
            "training.annotationRulesRef",
            "records and source of dataset(s) licensed-books",
        ],
    );
    assert!(!d.message.contains("algorithmDescription"));

    let mut f = Fixture::baseline();
    f.spec().training = None;
    assert_decision(
        &row_of(&f, 42),
        State::NonCompliant,
        "ReportIncomplete",
        &["training (datasets and annotation rules)"],
    );
}
