//! Tests of the evaluation core. Every test starts from the fully compliant baseline of
//! `testing.rs` and bends it one way, then checks state, reason and what the message names.

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::testing::*;
use super::*;
use crate::api::{
    Acquisition, AnnotationBatch, Channel, CrawlCompliance, EnforcementMode, LegalBasis,
    MinorsProtection, RiskException, RowOverride, SampleResult,
};
use crate::snapshot::FactSource;

// ----------------------------------------------------------------------------------------
// Helpers local to the tests.

fn row_of(f: &Fixture, n: u8) -> Decision {
    f.evaluate().row(n).clone()
}

fn measure_of(f: &Fixture, m: Measure) -> Decision {
    f.evaluate().measure(m).clone()
}

fn sample(items: i64, passed: i64) -> SampleResult {
    SampleResult { items, passed }
}

fn batch(id: &str, sampled: i64, illegal: i64, voided: bool) -> AnnotationBatch {
    AnnotationBatch {
        id: id.into(),
        total_items: 10 * sampled.max(1),
        sampled_items: sampled,
        illegal_items: illegal,
        voided,
    }
}

fn exception(
    row: Option<u8>,
    measure: Option<Measure>,
    selector: serde_json::Value,
    expires: Timestamp,
) -> RiskException {
    from_json(json!({
        "row": row,
        "measure": measure,
        "selector": selector,
        "justification": "fix scheduled for the next release",
        "approvedBy": "Li Lei, CISO",
        "expiresAt": expires.to_string()
    }))
}

fn row_override(v: serde_json::Value) -> RowOverride {
    from_json(v)
}

/// The inference pod with the named containers removed.
fn without_container(mut pod: Pod, name: &str) -> Pod {
    pod.spec
        .as_mut()
        .unwrap()
        .containers
        .retain(|c| c.name != name);
    if let Some(statuses) = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
    {
        statuses.retain(|c| c.name != name);
    }
    pod
}

/// An inference pod spec that also mounts `claim`.
fn inference_spec_mounting(claim: &str) -> serde_json::Value {
    let mut spec = inference_pod_spec();
    spec["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "stolen", "persistentVolumeClaim": { "claimName": claim } }));
    spec
}

/// Moves inference into the training namespace, with `server-0` built from `spec`.
fn share_namespace(f: &mut Fixture, spec: serde_json::Value, node: &str) {
    f.inference().namespace = TRAINING_NS.into();
    f.ns(INFERENCE_NS).pods.clear();
    let server = pod(
        TRAINING_NS,
        "server-0",
        json!({ "app": "llm-serve" }),
        spec,
        node,
    );
    f.ns(TRAINING_NS).pods.push(server);
}

/// Rows 27, 37 and measure 8.1b report the sidecar's outcome alike.
#[track_caller]
fn assert_sidecar_rows(eval: &Evaluation, state: State, reason: &str, fragment: &str) {
    assert_decision(
        eval.measure(Measure::ContentSafety),
        state,
        reason,
        &["sidecar: ", fragment],
    );
    assert_decision(
        eval.row(27),
        state,
        reason,
        &["input-safety filter: ", fragment],
    );
    assert_decision(
        eval.row(37),
        state,
        reason,
        &["labeling sidecar: ", fragment],
    );
}

// ----------------------------------------------------------------------------------------
// Baseline.

#[test]
fn baseline_is_fully_compliant() {
    let eval = Fixture::baseline().evaluate();
    let open: Vec<&Decision> = eval
        .decisions
        .iter()
        .filter(|d| d.state != State::Compliant)
        .collect();
    assert!(
        open.is_empty(),
        "baseline decisions not Compliant:\n{}",
        describe(open)
    );
    assert_eq!(eval.decisions.len(), 48);
    assert_eq!(
        eval.summary,
        Summary {
            applicable: 42,
            compliant: 42,
            non_compliant: 0,
            not_applicable: 0,
            excepted: 0,
            unknown: 0
        }
    );
    assert_eq!(eval.summary.ratio(), "42/42");
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    assert!(eval.findings.is_empty());
}

#[test]
fn baseline_decisions_are_in_table_order_then_measures() {
    let eval = Fixture::baseline().evaluate();
    let ids: Vec<Obligation> = eval.decisions.iter().map(|d| d.id).collect();
    let mut expected: Vec<Obligation> = (1..=42).map(Obligation::Row).collect();
    expected.extend(Measure::ALL.iter().map(|m| Obligation::Measure(*m)));
    assert_eq!(ids, expected);
    assert_eq!(
        eval.row(37).id.condition_type(),
        "A37-GeneratedContentLabeled"
    );
    assert_eq!(eval.measure(Measure::Backup).id.label(), "8.1e");
}

#[test]
fn baseline_evidence_rows_name_the_evidence_relied_on() {
    let eval = Fixture::baseline().evaluate();
    let mut ids: Vec<Obligation> = EVIDENCE_ROWS.iter().map(|n| Obligation::Row(*n)).collect();
    ids.push(Obligation::Measure(Measure::AdversarialDefense));
    for id in ids {
        let d = eval.decision(id).unwrap();
        assert_eq!(d.state, State::Compliant, "{}", describe([d]));
        assert_eq!(
            d.evidence,
            vec![EvidenceRef {
                name: BASELINE_EVIDENCE.into(),
                valid_until: "2027-10-01".into()
            }],
            "{id}"
        );
        assert!(d.message.contains(BASELINE_EVIDENCE), "{}", describe([d]));
    }
}

#[test]
fn baseline_read_offline_has_no_unmet_row_and_tolerates_unknowns() {
    let eval = Fixture::offline().evaluate();
    let unmet: Vec<&Decision> = eval
        .decisions
        .iter()
        .filter(|d| d.state == State::NonCompliant)
        .collect();
    assert!(
        unmet.is_empty(),
        "offline baseline has unmet decisions:\n{}",
        describe(unmet)
    );
    assert!(eval.summary.unknown > 0);
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    // Unknown decisions are open findings even though they do not raise the risk.
    assert!(
        eval.findings
            .contains(&Obligation::Measure(Measure::Backup))
    );
}

// ----------------------------------------------------------------------------------------
// Declared rows: datasets (4 to 15).

#[test]
fn rows_4_to_15_are_unmet_without_datasets() {
    let mut f = Fixture::baseline();
    f.training().datasets.clear();
    let eval = f.evaluate();
    for n in 4..=15 {
        if matches!(n, 5) {
            continue; // evidence row
        }
        assert_decision(
            eval.row(n),
            State::NonCompliant,
            "NoDatasetsDeclared",
            &["spec.training.datasets is empty"],
        );
    }
}

#[test]
fn row_4_every_dataset_declares_acquisition_and_legal_basis() {
    let f = Fixture::baseline();
    assert_decision(
        &row_of(&f, 4),
        State::Compliant,
        "SourcesLawful",
        &["3 of 3 dataset(s)"],
    );

    let mut f = Fixture::baseline();
    f.dataset("licensed-books").acquisition = None;
    let d = row_of(&f, 4);
    assert_decision(
        &d,
        State::NonCompliant,
        "AcquisitionUndeclared",
        &["dataset(s) licensed-books lack acquisition"],
    );
    assert!(
        !d.message.contains("web-crawl") && !d.message.contains("user-dialogues"),
        "{}",
        d.message
    );

    let mut f = Fixture::baseline();
    f.dataset("web-crawl").legal_basis = None;
    assert_decision(
        &row_of(&f, 4),
        State::NonCompliant,
        "AcquisitionUndeclared",
        &["web-crawl", "legalBasis"],
    );
    assert_eq!(row_of(&f, 4).severity, Severity::High);
}

#[test]
fn row_6_every_dataset_declares_a_license() {
    assert_decision(
        &row_of(&Fixture::baseline(), 6),
        State::Compliant,
        "DatasetsLicensed",
        &["3 of 3"],
    );
    let mut f = Fixture::baseline();
    f.dataset("web-crawl").license = None;
    assert_decision(
        &row_of(&f, 6),
        State::NonCompliant,
        "LicenseMissing",
        &["dataset(s) web-crawl declare no license"],
    );
}

#[test]
fn row_7_personal_data_needs_a_legal_basis() {
    assert_decision(
        &row_of(&Fixture::baseline(), 7),
        State::Compliant,
        "PersonalDataHasLegalBasis",
        &["1 of 1"],
    );
    let mut f = Fixture::baseline();
    f.dataset("user-dialogues").legal_basis = None;
    let eval = f.evaluate();
    assert_decision(
        eval.row(7),
        State::NonCompliant,
        "LegalBasisMissing",
        &["dataset(s) user-dialogues contain personal information but declare no legalBasis"],
    );
    assert_eq!(eval.row(7).severity, Severity::Critical);
    assert_eq!(eval.risk, RiskLevel::Critical);
    assert!(!eval.acceptable);
    // A dataset without personal information needs no legal basis for row 7.
    let mut f = Fixture::baseline();
    f.dataset("licensed-books").legal_basis = None;
    assert_eq!(row_of(&f, 7).state, State::Compliant);
}

#[test]
fn rows_7_9_15_do_not_apply_without_personal_information() {
    let mut f = Fixture::baseline();
    let ds = f.dataset("user-dialogues");
    ds.contains_personal_info = false;
    ds.desensitized = None;
    // Row 15 is Declared+Evidence: when the declared part does not apply, no evidence is needed.
    f.drop_evidence_for(Obligation::Row(15));
    let eval = f.evaluate();
    for n in [7, 9, 15] {
        assert_decision(
            eval.row(n),
            State::NotApplicable,
            "NoPersonalInformation",
            &["no declared dataset contains personal information"],
        );
        assert!(eval.row(n).evidence.is_empty());
    }
    assert_eq!(eval.summary.not_applicable, 3);
    assert_eq!(eval.summary.applicable, 39);
    assert_eq!(eval.summary.compliant, 39);
    assert_eq!(eval.risk, RiskLevel::None);
}

#[test]
fn row_8_crawled_data_respects_site_rules() {
    assert_decision(
        &row_of(&Fixture::baseline(), 8),
        State::Compliant,
        "CrawlingCompliant",
        &["1 of 1"],
    );
    for (robots, terms, bypass) in [
        (false, true, true),
        (true, false, true),
        (true, true, false),
    ] {
        let mut f = Fixture::baseline();
        f.dataset("web-crawl").crawl_compliance = Some(CrawlCompliance {
            robots_respected: robots,
            terms_respected: terms,
            no_access_control_bypass: bypass,
        });
        assert_decision(
            &row_of(&f, 8),
            State::NonCompliant,
            "CrawlNotCompliant",
            &["dataset(s) web-crawl were crawled"],
        );
    }
    let mut f = Fixture::baseline();
    f.dataset("web-crawl").crawl_compliance = None;
    assert_decision(
        &row_of(&f, 8),
        State::NonCompliant,
        "CrawlNotCompliant",
        &["web-crawl"],
    );
}

#[test]
fn row_8_does_not_apply_without_crawled_data() {
    let mut f = Fixture::baseline();
    let ds = f.dataset("web-crawl");
    ds.acquisition = Some(Acquisition::OpenData);
    ds.crawl_compliance = None;
    assert_decision(
        &row_of(&f, 8),
        State::NotApplicable,
        "NoCrawledData",
        &["no declared dataset was crawled"],
    );
}

#[test]
fn row_9_personal_data_is_desensitized() {
    assert_decision(
        &row_of(&Fixture::baseline(), 9),
        State::Compliant,
        "PersonalDataDesensitized",
        &["1 of 1"],
    );
    for desensitized in [Some(false), None] {
        let mut f = Fixture::baseline();
        f.dataset("user-dialogues").desensitized = desensitized;
        assert_decision(
            &row_of(&f, 9),
            State::NonCompliant,
            "NotDesensitized",
            &[
                "dataset(s) user-dialogues contain personal information but are not declared desensitized",
            ],
        );
    }
}

#[test]
fn row_10_every_dataset_declares_a_validation_method() {
    assert_decision(
        &row_of(&Fixture::baseline(), 10),
        State::Compliant,
        "DatasetsValidated",
        &["3 of 3"],
    );
    let mut f = Fixture::baseline();
    f.dataset("user-dialogues").validation_method = None;
    assert_decision(
        &row_of(&f, 10),
        State::NonCompliant,
        "ValidationMissing",
        &["user-dialogues declare no validationMethod"],
    );
    assert_eq!(row_of(&f, 10).severity, Severity::Low);
}

#[test]
fn row_11_every_dataset_declares_a_cleaning_step() {
    assert_decision(
        &row_of(&Fixture::baseline(), 11),
        State::Compliant,
        "DatasetsCleaned",
        &["3 of 3"],
    );
    let mut f = Fixture::baseline();
    f.dataset("licensed-books").cleaning = None;
    f.dataset("web-crawl").cleaning = None;
    let d = row_of(&f, 11);
    assert_decision(
        &d,
        State::NonCompliant,
        "CleaningMissing",
        &["web-crawl", "licensed-books", "declare no cleaning step"],
    );
    assert!(!d.message.contains("user-dialogues"));
}

#[test]
fn row_12_max_age_is_inclusive() {
    // now is 2026-12-01: 2025-12-01 is exactly 365 days ago.
    let mut f = Fixture::baseline();
    f.dataset("licensed-books").last_updated = Some("2025-12-01".into());
    assert_decision(
        &row_of(&f, 12),
        State::Compliant,
        "DataFresh",
        &["within 365 days"],
    );

    f.dataset("licensed-books").last_updated = Some("2025-11-30".into());
    let d = row_of(&f, 12);
    assert_decision(
        &d,
        State::NonCompliant,
        "DataStale",
        &["licensed-books last updated 2025-11-30, 366 days ago (max 365)"],
    );
    assert!(!d.message.contains("web-crawl"));
}

#[test]
fn row_12_missing_or_invalid_dates_are_unmet() {
    let mut f = Fixture::baseline();
    f.dataset("web-crawl").last_updated = None;
    f.dataset("licensed-books").last_updated = Some("2026-13-45".into());
    assert_decision(
        &row_of(&f, 12),
        State::NonCompliant,
        "DataStale",
        &[
            "web-crawl declares no lastUpdated",
            "licensed-books: lastUpdated 2026-13-45 is not a date",
        ],
    );
}

#[test]
fn row_12_policy_can_tighten_the_max_age() {
    let mut f = Fixture::baseline();
    f.dataset("web-crawl").last_updated = Some("2026-06-01".into()); // 183 days
    assert_eq!(row_of(&f, 12).state, State::Compliant);
    f.policy().parameters.training_data_max_age_days = Some(180);
    assert_decision(
        &row_of(&f, 12),
        State::NonCompliant,
        "DataStale",
        &["web-crawl last updated 2026-06-01, 183 days ago (max 180)"],
    );
}

#[test]
fn row_13_min_distinct_sources_is_inclusive() {
    let mut f = Fixture::baseline();
    f.dataset("licensed-books").source = Some("public-web".into());
    assert_decision(
        &row_of(&f, 13),
        State::Compliant,
        "SourcesDiverse",
        &["2 distinct sources (min 2)"],
    );

    f.dataset("user-dialogues").source = Some("public-web".into());
    assert_decision(
        &row_of(&f, 13),
        State::NonCompliant,
        "TooFewSources",
        &["1 distinct source(s) declared (public-web); the policy asks for at least 2"],
    );
}

#[test]
fn row_13_policy_can_ask_for_more_sources() {
    let mut f = Fixture::baseline();
    f.policy().parameters.min_distinct_sources = Some(3);
    assert_eq!(row_of(&f, 13).state, State::Compliant);
    f.policy().parameters.min_distinct_sources = Some(4);
    assert_decision(
        &row_of(&f, 13),
        State::NonCompliant,
        "TooFewSources",
        &["3 distinct source(s)", "at least 4"],
    );
}

#[test]
fn row_14_every_dataset_records_provenance() {
    assert_decision(
        &row_of(&Fixture::baseline(), 14),
        State::Compliant,
        "ProvenanceRecorded",
        &["3 of 3"],
    );
    let mut f = Fixture::baseline();
    f.dataset("web-crawl").provenance_ref = None;
    assert_decision(
        &row_of(&f, 14),
        State::NonCompliant,
        "ProvenanceMissing",
        &["web-crawl declare no provenanceRef"],
    );
}

#[test]
fn row_15_personal_data_rests_on_consent_or_legal_duty() {
    let mut f = Fixture::baseline();
    f.dataset("user-dialogues").legal_basis = Some(LegalBasis::LegalDuty);
    assert_decision(
        &row_of(&f, 15),
        State::Compliant,
        "EvidenceValid",
        &["rest on consent or a legal duty", BASELINE_EVIDENCE],
    );

    f.dataset("user-dialogues").legal_basis = Some(LegalBasis::Contract);
    let eval = f.evaluate();
    assert_decision(
        eval.row(15),
        State::NonCompliant,
        "ConsentMissing",
        &["user-dialogues contain personal information without Consent or LegalDuty"],
    );
    // Row 7 only asks for some legal basis.
    assert_eq!(eval.row(7).state, State::Compliant);
    // The evidence that was valid is still reported.
    assert_eq!(eval.row(15).evidence.len(), 1);
}

#[test]
fn row_15_needs_evidence_as_well_as_declared_consent() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(15));
    assert_decision(
        &row_of(&f, 15),
        State::NonCompliant,
        "EvidenceMissing",
        &["attests row 15 for ModelDeployment chat"],
    );

    f.dataset("user-dialogues").legal_basis = Some(LegalBasis::Contract);
    assert_decision(
        &row_of(&f, 15),
        State::NonCompliant,
        "ConsentMissing",
        &["user-dialogues", "attests row 15"],
    );
}

// ----------------------------------------------------------------------------------------
// Declared rows: annotation (22).

#[test]
fn row_22_exactly_the_max_illegal_ratio_passes() {
    let mut f = Fixture::baseline();
    f.training().annotation_batches = vec![batch("batch-003", 1000, 50, false)];
    assert_decision(
        &row_of(&f, 22),
        State::Compliant,
        "BatchesSampled",
        &["1 batch(es) sampled; 0 over the limit voided"],
    );
}

#[test]
fn row_22_just_above_the_max_fails_unless_voided() {
    let mut f = Fixture::baseline();
    f.training()
        .annotation_batches
        .push(batch("batch-003", 1000, 51, false));
    let d = row_of(&f, 22);
    assert_decision(
        &d,
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-003 has 5.1 % illegal content in its sample (max 5.0 %) and is not voided"],
    );
    assert!(
        !d.message.contains("batch-001") && !d.message.contains("batch-002"),
        "{}",
        d.message
    );

    f.training().annotation_batches[2].voided = true;
    assert_decision(
        &row_of(&f, 22),
        State::Compliant,
        "BatchesSampled",
        &["3 batch(es) sampled; 2 over the limit voided"],
    );
}

#[test]
fn row_22_every_batch_is_sampled_and_recorded() {
    let mut f = Fixture::baseline();
    f.training()
        .annotation_batches
        .push(batch("batch-003", 0, 0, false));
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-003 was not sampled"],
    );

    f.training().annotation_batches.clear();
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "NoAnnotationBatches",
        &["spec.training.annotationBatches is empty"],
    );
}

#[test]
fn row_22_policy_can_lower_the_max_ratio() {
    let mut f = Fixture::baseline();
    f.policy().parameters.annotation_max_illegal_ratio = Some(0.01);
    assert_decision(
        &row_of(&f, 22),
        State::NonCompliant,
        "BatchNotVoided",
        &["batch batch-001 has 1.2 %", "(max 1.0 %)"],
    );
}

// ----------------------------------------------------------------------------------------
// Declared rows: model safety and service (24, 25, 34 to 39, 42).

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

#[test]
fn row_24_needs_evidence_and_is_high_when_not_public() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(24));
    let d = row_of(&f, 24);
    assert_decision(&d, State::NonCompliant, "EvidenceMissing", &["row 24"]);
    assert_eq!(d.severity, Severity::Critical);
    f.service().public = false;
    assert_eq!(row_of(&f, 24).severity, Severity::High);
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

#[test]
fn row_34_disclosure_url_is_declared() {
    assert_decision(
        &row_of(&Fixture::baseline(), 34),
        State::Compliant,
        "UsagePublished",
        &["https://chat.example.com/about"],
    );
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    assert_decision(
        &row_of(&f, 34),
        State::NonCompliant,
        "DisclosureMissing",
        &["spec.service.disclosureUrl"],
    );
}

#[test]
fn row_35_retention_max_is_inclusive() {
    let mut f = Fixture::baseline();
    f.service().input_retention_days = Some(180);
    assert_decision(
        &row_of(&f, 35),
        State::Compliant,
        "EvidenceValid",
        &["kept 180 days (max 180)"],
    );
    f.service().input_retention_days = Some(181);
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionTooLong",
        &["kept 181 days; the policy allows at most 180"],
    );
    f.service().input_retention_days = None;
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionUndeclared",
        &["spec.service.inputRetentionDays"],
    );
}

#[test]
fn row_35_policy_tightens_and_evidence_is_needed() {
    let mut f = Fixture::baseline();
    f.policy().parameters.input_retention_max_days = Some(14);
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionTooLong",
        &["kept 30 days; the policy allows at most 14"],
    );
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(35));
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "EvidenceMissing",
        &["row 35"],
    );
}

#[test]
fn row_36_response_max_is_inclusive() {
    let mut f = Fixture::baseline();
    f.service().personal_info_channel = Some(Channel {
        url: "mailto:privacy@example.com".into(),
        response_days: 15,
    });
    assert_decision(
        &row_of(&f, 36),
        State::Compliant,
        "ChannelOpen",
        &["within 15 days (max 15)"],
    );
    f.service()
        .personal_info_channel
        .as_mut()
        .unwrap()
        .response_days = 16;
    assert_decision(
        &row_of(&f, 36),
        State::NonCompliant,
        "ResponseTooSlow",
        &["personalInfoChannel promises an answer in 16 days; the policy allows at most 15"],
    );
    f.service().personal_info_channel = None;
    assert_decision(
        &row_of(&f, 36),
        State::NonCompliant,
        "ChannelMissing",
        &["spec.service.personalInfoChannel"],
    );
}

#[test]
fn row_36_policy_can_shorten_the_response_time() {
    let mut f = Fixture::baseline();
    f.policy().parameters.personal_info_request_max_days = Some(5);
    assert_decision(
        &row_of(&f, 36),
        State::NonCompliant,
        "ResponseTooSlow",
        &["10 days; the policy allows at most 5"],
    );
}

#[test]
fn row_38_response_max_is_inclusive() {
    let mut f = Fixture::baseline();
    f.service()
        .complaint_channel
        .as_mut()
        .unwrap()
        .response_days = 15;
    assert_decision(
        &row_of(&f, 38),
        State::Compliant,
        "ChannelOpen",
        &["within 15 days (max 15)"],
    );
    f.service()
        .complaint_channel
        .as_mut()
        .unwrap()
        .response_days = 16;
    assert_decision(
        &row_of(&f, 38),
        State::NonCompliant,
        "ResponseTooSlow",
        &["complaintChannel promises an answer in 16 days"],
    );
    f.service().complaint_channel = None;
    assert_decision(
        &row_of(&f, 38),
        State::NonCompliant,
        "ChannelMissing",
        &["spec.service.complaintChannel"],
    );
}

#[test]
fn row_38_policy_can_shorten_the_response_time() {
    let mut f = Fixture::baseline();
    f.policy().parameters.complaint_response_max_days = Some(5);
    assert_decision(
        &row_of(&f, 38),
        State::NonCompliant,
        "ResponseTooSlow",
        &["7 days; the policy allows at most 5"],
    );
}

#[test]
fn row_39_minors_protection_is_complete() {
    let mut f = Fixture::baseline();
    f.service().minors_protection = Some(MinorsProtection {
        minors_mode: true,
        usage_time_limits: false,
        age_appropriate_content: true,
    });
    assert_decision(
        &row_of(&f, 39),
        State::NonCompliant,
        "MinorsProtectionIncomplete",
        &["minorsProtection lacks usageTimeLimits"],
    );
    f.service().minors_protection = None;
    assert_decision(
        &row_of(&f, 39),
        State::NonCompliant,
        "MinorsProtectionMissing",
        &["spec.service.minorsProtection"],
    );
}

#[test]
fn row_39_does_not_apply_without_minors() {
    let mut f = Fixture::baseline();
    f.service().audiences = vec![crate::api::Audience::General];
    f.service().minors_protection = None;
    assert_decision(
        &row_of(&f, 39),
        State::NotApplicable,
        "MinorsNotAdmitted",
        &["do not include minors"],
    );
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

// ----------------------------------------------------------------------------------------
// Evaluation rows (31 to 33).

#[test]
fn row_31_manual_sample_edges() {
    let mut f = Fixture::baseline();
    let corpus = f.spec().evaluation.corpus.as_mut().unwrap();
    corpus.manual = sample(4000, 3840); // exactly 96 %
    assert_decision(
        &row_of(&f, 31),
        State::Compliant,
        "ThresholdsMet",
        &["manual 96.0 % of 4000 passed"],
    );

    f.spec().evaluation.corpus.as_mut().unwrap().manual = sample(3999, 3999);
    assert_decision(
        &row_of(&f, 31),
        State::NonCompliant,
        "BelowThreshold",
        &["manual sample has 3999 items (min 4000)"],
    );

    f.spec().evaluation.corpus.as_mut().unwrap().manual = sample(4000, 3800); // 95 %
    let d = row_of(&f, 31);
    assert_decision(
        &d,
        State::NonCompliant,
        "BelowThreshold",
        &["manual pass rate 95.0 % is below 96.0 %"],
    );
    assert!(!d.message.contains("items (min"), "{}", d.message);
}

#[test]
fn row_31_automated_sample_edges() {
    let mut f = Fixture::baseline();
    let corpus = f.spec().evaluation.corpus.as_mut().unwrap();
    corpus.corpus_size = 100_000;
    corpus.automated = sample(10_000, 9_800); // exactly 10 % of the corpus, exactly 98 %
    assert_decision(
        &row_of(&f, 31),
        State::Compliant,
        "ThresholdsMet",
        &["(10.0 % of the corpus)"],
    );

    f.spec().evaluation.corpus.as_mut().unwrap().automated = sample(9_000, 9_000);
    assert_decision(
        &row_of(&f, 31),
        State::NonCompliant,
        "BelowThreshold",
        &["automated sample covers 9.0 % of the corpus (min 10.0 %)"],
    );
    f.spec().evaluation.corpus.as_mut().unwrap().automated = sample(9_999, 9_999);
    assert_decision(
        &row_of(&f, 31),
        State::NonCompliant,
        "BelowThreshold",
        &["automated sample covers"],
    );

    f.spec().evaluation.corpus.as_mut().unwrap().automated = sample(10_000, 9_700);
    assert_decision(
        &row_of(&f, 31),
        State::NonCompliant,
        "BelowThreshold",
        &["automated pass rate 97.0 % is below 98.0 %"],
    );
}

#[test]
fn row_31_policy_can_ask_for_a_larger_manual_sample() {
    let mut f = Fixture::baseline();
    f.policy().parameters.corpus_evaluation = Some(from_json(
        json!({ "manualMinSamples": 5000, "automatedMinPassRate": 0.995 }),
    ));
    assert_decision(
        &row_of(&f, 31),
        State::NonCompliant,
        "BelowThreshold",
        &[
            "manual sample has 4000 items (min 5000)",
            "automated pass rate 99.0 % is below 99.5 %",
        ],
    );
}

#[test]
fn row_32_each_sample_meets_items_and_rate() {
    let mut f = Fixture::baseline();
    let content = f.spec().evaluation.generated_content.as_mut().unwrap();
    content.manual = sample(1000, 900);
    content.keyword = sample(1000, 900);
    content.classifier = sample(1000, 900);
    assert_decision(
        &row_of(&f, 32),
        State::Compliant,
        "ThresholdsMet",
        &["manual 90.0 %, keyword 90.0 %, classifier 90.0 %"],
    );

    f.spec()
        .evaluation
        .generated_content
        .as_mut()
        .unwrap()
        .keyword = sample(1000, 899);
    let d = row_of(&f, 32);
    assert_decision(
        &d,
        State::NonCompliant,
        "BelowThreshold",
        &["keyword pass rate 89.9 % is below 90.0 %"],
    );
    assert!(
        !d.message.contains("manual") && !d.message.contains("classifier"),
        "{}",
        d.message
    );

    let mut f = Fixture::baseline();
    f.spec()
        .evaluation
        .generated_content
        .as_mut()
        .unwrap()
        .classifier = sample(999, 999);
    assert_decision(
        &row_of(&f, 32),
        State::NonCompliant,
        "BelowThreshold",
        &["classifier sample has 999 items (min 1000)"],
    );
}

#[test]
fn row_32_policy_can_raise_the_pass_rate() {
    let mut f = Fixture::baseline();
    f.policy().parameters.content_evaluation = Some(from_json(json!({ "minPassRate": 0.96 })));
    let d = row_of(&f, 32);
    assert_decision(
        &d,
        State::NonCompliant,
        "BelowThreshold",
        &["manual pass rate 95.0 % is below 96.0 %"],
    );
    assert!(!d.message.contains("keyword"), "{}", d.message);
}

#[test]
fn row_33_should_refuse_edges() {
    let mut f = Fixture::baseline();
    f.spec().evaluation.refusal.as_mut().unwrap().should_refuse = sample(300, 285); // 95 %
    assert_decision(
        &row_of(&f, 33),
        State::Compliant,
        "ThresholdsMet",
        &["refused 95.0 % of should-refuse items"],
    );
    f.spec().evaluation.refusal.as_mut().unwrap().should_refuse = sample(300, 284);
    assert_decision(
        &row_of(&f, 33),
        State::NonCompliant,
        "BelowThreshold",
        &["should-refuse pass rate 94.7 % is below 95.0 %"],
    );
    f.spec().evaluation.refusal.as_mut().unwrap().should_refuse = sample(299, 299);
    assert_decision(
        &row_of(&f, 33),
        State::NonCompliant,
        "BelowThreshold",
        &["should-refuse sample has 299 items (min 300)"],
    );
}

#[test]
fn row_33_should_answer_edges() {
    let mut f = Fixture::baseline();
    f.spec().evaluation.refusal.as_mut().unwrap().should_answer = sample(1000, 950); // 5 % refused
    assert_decision(
        &row_of(&f, 33),
        State::Compliant,
        "ThresholdsMet",
        &["5.0 % of should-answer items"],
    );
    f.spec().evaluation.refusal.as_mut().unwrap().should_answer = sample(1000, 947); // 5.3 % refused
    assert_decision(
        &row_of(&f, 33),
        State::NonCompliant,
        "BelowThreshold",
        &["5.3 % of should-answer items refused (max 5.0 %)"],
    );
    f.spec().evaluation.refusal.as_mut().unwrap().should_answer = sample(299, 299);
    assert_decision(
        &row_of(&f, 33),
        State::NonCompliant,
        "BelowThreshold",
        &["should-answer set has 299 items (min 300)"],
    );
}

#[test]
fn row_33_policy_can_lower_the_over_refusal() {
    let mut f = Fixture::baseline();
    f.policy().parameters.refusal_evaluation =
        Some(from_json(json!({ "shouldAnswerMaxRefusalRate": 0.005 })));
    assert_decision(
        &row_of(&f, 33),
        State::NonCompliant,
        "BelowThreshold",
        &["1.0 % of should-answer items refused (max 0.5 %)"],
    );
}

#[test]
fn rows_31_to_33_missing_results_are_unmet() {
    let mut f = Fixture::baseline();
    f.spec().evaluation = Default::default();
    let eval = f.evaluate();
    assert_decision(
        eval.row(31),
        State::NonCompliant,
        "EvaluationMissing",
        &["spec.evaluation.corpus"],
    );
    assert_decision(
        eval.row(32),
        State::NonCompliant,
        "EvaluationMissing",
        &["spec.evaluation.generatedContent"],
    );
    assert_decision(
        eval.row(33),
        State::NonCompliant,
        "EvaluationMissing",
        &["spec.evaluation.refusal"],
    );
    assert_eq!(eval.risk, RiskLevel::High);
}

// ----------------------------------------------------------------------------------------
// Evidence rows.

#[test]
fn every_evidence_row_is_unmet_without_evidence() {
    let mut ids: Vec<Obligation> = EVIDENCE_ROWS.iter().map(|n| Obligation::Row(*n)).collect();
    ids.push(Obligation::Measure(Measure::AdversarialDefense));
    for id in ids {
        let mut f = Fixture::baseline();
        f.drop_evidence_for(id);
        let eval = f.evaluate();
        let what = match id {
            Obligation::Row(n) => format!("attests row {n} for ModelDeployment chat"),
            Obligation::Measure(m) => {
                format!("attests measure {} for ModelDeployment chat", m.as_str())
            }
        };
        let d = eval.decision(id).unwrap();
        assert_decision(
            d,
            State::NonCompliant,
            "EvidenceMissing",
            &["no ComplianceEvidence in namespace llm-serve", &what],
        );
        assert!(d.evidence.is_empty(), "{id}");
        // Only that obligation changed.
        let others: Vec<&Decision> = eval
            .decisions
            .iter()
            .filter(|o| o.id != id && o.state != State::Compliant)
            .collect();
        assert!(
            others.is_empty(),
            "dropping {id} changed:\n{}",
            describe(others)
        );
    }
}

fn with_only(evidence: Vec<ComplianceEvidence>) -> Fixture {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(16));
    f.evidence.extend(evidence);
    f
}

#[test]
fn evidence_valid_names_itself() {
    let f = with_only(vec![evidence(
        "ip-review-2026",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-200),
    )]);
    let d = row_of(&f, 16);
    assert_decision(
        &d,
        State::Compliant,
        "EvidenceValid",
        &[
            "ComplianceEvidence ip-review-2026",
            "valid until 2027-06-19",
        ],
    );
    assert_eq!(
        d.evidence,
        vec![EvidenceRef {
            name: "ip-review-2026".into(),
            valid_until: "2027-06-19".into()
        }]
    );
}

#[test]
fn evidence_expired_is_unmet() {
    let f = with_only(vec![evidence(
        "ip-review-2025",
        &[16],
        &[],
        &[NAME],
        days_ago(400),
        days_ago(35),
    )]);
    let d = row_of(&f, 16);
    assert_decision(
        &d,
        State::NonCompliant,
        "EvidenceExpired",
        &["ComplianceEvidence ip-review-2025 for row 16 expired on 2026-10-27"],
    );
    assert!(d.evidence.is_empty());
    // validUntil == now is already expired.
    let f = with_only(vec![evidence(
        "ip-review-2025",
        &[16],
        &[],
        &[NAME],
        days_ago(400),
        now(),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::NonCompliant,
        "EvidenceExpired",
        &["expired on 2026-12-01"],
    );
}

#[test]
fn evidence_attested_in_the_future_is_not_yet_valid() {
    let f = with_only(vec![evidence(
        "ip-review-2027",
        &[16],
        &[],
        &[NAME],
        days_ago(-5),
        days_ago(-365),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::NonCompliant,
        "EvidenceNotYetValid",
        &["ComplianceEvidence ip-review-2027 for row 16 is attested for 2026-12-06"],
    );
    // attestedAt == now is valid.
    let f = with_only(vec![evidence(
        "ip-review-now",
        &[16],
        &[],
        &[NAME],
        now(),
        days_ago(-365),
    )]);
    assert_eq!(row_of(&f, 16).state, State::Compliant);
}

#[test]
fn evidence_for_another_deployment_only_is_missing_and_named() {
    let f = with_only(vec![evidence(
        "ip-review-other",
        &[16],
        &[],
        &["other-model"],
        days_ago(10),
        days_ago(-200),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::NonCompliant,
        "EvidenceMissing",
        &["(ip-review-other covers row 16 but targets other deployments)"],
    );
}

#[test]
fn evidence_in_another_namespace_is_ignored() {
    let mut foreign = evidence(
        "ip-review-foreign",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-200),
    );
    foreign.metadata.namespace = Some("elsewhere".into());
    let f = with_only(vec![foreign]);
    let d = row_of(&f, 16);
    assert_decision(
        &d,
        State::NonCompliant,
        "EvidenceMissing",
        &["no ComplianceEvidence in namespace llm-serve attests row 16"],
    );
    assert!(!d.message.contains("ip-review-foreign"), "{}", d.message);
}

#[test]
fn evidence_expiring_within_30_days_is_met_with_a_warning() {
    let f = with_only(vec![evidence(
        "ip-review-ending",
        &[16],
        &[],
        &[NAME],
        days_ago(300),
        days_ago(-10),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::Compliant,
        "EvidenceExpiringSoon",
        &["ip-review-ending", "expires in 10 days: attest again"],
    );
    let f = with_only(vec![evidence(
        "ip-review-ok",
        &[16],
        &[],
        &[NAME],
        days_ago(300),
        days_ago(-30),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::Compliant,
        "EvidenceValid",
        &["ip-review-ok"],
    );
}

#[test]
fn evidence_valid_longest_is_named() {
    let short = evidence(
        "ip-review-short",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-100),
    );
    let long = evidence(
        "ip-review-long",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-500),
    );
    let expired = evidence(
        "ip-review-old",
        &[16],
        &[],
        &[NAME],
        days_ago(800),
        days_ago(5),
    );
    for order in [
        vec![short.clone(), long.clone(), expired.clone()],
        vec![expired, long, short],
    ] {
        let f = with_only(order);
        let d = row_of(&f, 16);
        assert_decision(&d, State::Compliant, "EvidenceValid", &["ip-review-long"]);
        assert_eq!(d.evidence.len(), 1);
        assert_eq!(d.evidence[0].name, "ip-review-long");
    }
}

#[test]
fn evidence_for_a_measure_covers_only_that_measure() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Measure(Measure::AdversarialDefense));
    f.evidence.push(evidence(
        "red-team-2026",
        &[],
        &[Measure::AdversarialDefense],
        &[NAME],
        days_ago(1),
        days_ago(-90),
    ));
    assert_decision(
        &measure_of(&f, Measure::AdversarialDefense),
        State::Compliant,
        "EvidenceValid",
        &["red-team-2026"],
    );
}

// ----------------------------------------------------------------------------------------
// Policy: applicability, severity, exceptions, risk acceptance.

#[test]
fn row_marked_not_applicable_carries_the_remark_and_is_not_counted() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(3));
    f.policy().rows.push(row_override(
        json!({ "row": 3, "applicable": false, "remark": "own data centre" }),
    ));
    let eval = f.evaluate();
    let d = eval.row(3);
    assert_decision(
        d,
        State::NotApplicable,
        "NotApplicableByPolicy",
        &["not applicable under policy baseline: own data centre"],
    );
    assert_eq!(d.remark.as_deref(), Some("own data centre"));
    assert_eq!(eval.summary.applicable, 41);
    assert_eq!(eval.summary.not_applicable, 1);
    assert_eq!(eval.summary.ratio(), "41/41");
    assert!(eval.findings.is_empty());
    assert_eq!(eval.risk, RiskLevel::None);
}

#[test]
fn measure_marked_not_applicable_is_not_a_finding() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Measure(Measure::AdversarialDefense));
    f.policy().measures.push(from_json(json!({
        "measure": "AdversarialDefense", "applicable": false, "remark": "no public API"
    })));
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::AdversarialDefense),
        State::NotApplicable,
        "NotApplicableByPolicy",
        &["no public API"],
    );
    assert!(eval.findings.is_empty());
    assert_eq!(
        eval.summary.applicable, 42,
        "measures are not counted in the row summary"
    );
}

#[test]
fn severity_override_changes_the_risk() {
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    let eval = f.evaluate();
    assert_eq!(eval.row(34).severity, Severity::Medium);
    assert_eq!(eval.risk, RiskLevel::Medium);
    assert!(!eval.acceptable);

    f.policy().rows.push(row_override(
        json!({ "row": 34, "severity": "Critical", "remark": "regulator asked" }),
    ));
    let eval = f.evaluate();
    assert_eq!(eval.row(34).severity, Severity::Critical);
    assert_eq!(eval.row(34).remark.as_deref(), Some("regulator asked"));
    assert_eq!(eval.row(34).state, State::NonCompliant);
    assert_eq!(eval.risk, RiskLevel::Critical);

    f.policy().rows[0].severity = Some(Severity::Low);
    let eval = f.evaluate();
    assert_eq!(eval.risk, RiskLevel::Low);
    assert!(eval.acceptable, "Low is within the baseline's acceptance");
}

#[test]
fn severity_override_beats_the_public_severity() {
    let mut f = Fixture::baseline();
    f.service().filing_number = None;
    assert_eq!(f.evaluate().risk, RiskLevel::Critical);
    f.policy()
        .rows
        .push(row_override(json!({ "row": 25, "severity": "Medium" })));
    let eval = f.evaluate();
    assert_eq!(eval.row(25).severity, Severity::Medium);
    assert_eq!(eval.risk, RiskLevel::Medium);
    f.policy().risk_acceptance.max_acceptable = RiskLevel::Medium;
    assert!(f.evaluate().acceptable);
}

#[test]
fn valid_exception_makes_a_row_excepted() {
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    f.policy()
        .exceptions
        .push(exception(Some(34), None, json!({}), days_ago(-60)));
    let eval = f.evaluate();
    let d = eval.row(34);
    assert_decision(
        d,
        State::Excepted,
        "RiskAccepted",
        &[
            "risk accepted by Li Lei, CISO until 2027-01-30 (fix scheduled for the next release)",
            "spec.service.disclosureUrl",
        ],
    );
    assert_eq!(eval.summary.excepted, 1);
    assert_eq!(eval.summary.compliant, 41);
    assert_eq!(eval.summary.applicable, 42);
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    assert!(eval.findings.is_empty());
}

#[test]
fn valid_exception_covers_a_measure() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots.clear();
    f.policy().exceptions.push(exception(
        None,
        Some(Measure::Backup),
        json!({}),
        days_ago(-10),
    ));
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::Backup),
        State::Excepted,
        "RiskAccepted",
        &["model-weights"],
    );
    // The row that rests on backups is not covered by the measure's exception.
    assert_eq!(eval.row(19).state, State::NonCompliant);
    assert_eq!(eval.findings, vec![Obligation::Row(19)]);
}

#[test]
fn expired_exception_is_decided_normally_and_says_so() {
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    f.policy()
        .exceptions
        .push(exception(Some(34), None, json!({}), days_ago(1)));
    let eval = f.evaluate();
    assert_decision(
        eval.row(34),
        State::NonCompliant,
        "DisclosureMissing",
        &[
            "spec.service.disclosureUrl is not declared",
            "risk acceptance approved by Li Lei, CISO expired on 2026-11-30",
        ],
    );
    assert_eq!(eval.summary.excepted, 0);
    assert_eq!(eval.risk, RiskLevel::Medium);
}

#[test]
fn exception_selector_must_match_the_deployment_labels() {
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    f.policy().exceptions.push(exception(
        Some(34),
        None,
        json!({ "matchLabels": { "tier": "staging" } }),
        days_ago(-60),
    ));
    let d = row_of(&f, 34);
    assert_decision(&d, State::NonCompliant, "DisclosureMissing", &[]);
    assert!(!d.message.contains("risk accept"), "{}", d.message);

    f.policy().exceptions[0].selector = from_json(json!({ "matchLabels": { "tier": "prod" } }));
    assert_eq!(row_of(&f, 34).state, State::Excepted);
}

#[test]
fn exception_for_another_row_has_no_effect() {
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    f.policy()
        .exceptions
        .push(exception(Some(33), None, json!({}), days_ago(-60)));
    let eval = f.evaluate();
    assert_eq!(eval.row(34).state, State::NonCompliant);
    assert_eq!(
        eval.row(33).state,
        State::Compliant,
        "an exception does not touch a met row"
    );
}

#[test]
fn unknown_rows_count_as_unmet_when_the_policy_says_so() {
    let mut f = Fixture::baseline();
    f.snapshot.access_reviews.clear();
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::AccessControl),
        State::Unknown,
        "AccessReviewPending",
        &["no SubjectAccessReview answer yet for llm-serve/server"],
    );
    assert_eq!(eval.row(19).state, State::Unknown);
    assert_eq!(eval.summary.unknown, 1);
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    assert_eq!(
        eval.findings,
        vec![
            Obligation::Row(19),
            Obligation::Measure(Measure::AccessControl)
        ]
    );

    f.policy().risk_acceptance.unknown_rows = crate::api::UnknownRows::CountAsUnmet;
    let eval = f.evaluate();
    assert_eq!(eval.risk, RiskLevel::Critical);
    assert!(!eval.acceptable);
}

// ----------------------------------------------------------------------------------------
// Controls: isolation (8.1a).

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
        &["isolation: no NetworkPolicy"],
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
fn isolation_ingress_rule_without_from_is_too_broad() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).network_policies = vec![network_policy(
        TRAINING_NS,
        "isolate-training",
        json!({ "podSelector": { "matchLabels": { "app": "llm-train" } }, "policyTypes": ["Ingress"], "ingress": [{}] }),
    )];
    let eval = f.evaluate();
    assert_decision(
        eval.measure(Measure::Isolation),
        State::NonCompliant,
        "IngressTooBroad",
        &["NetworkPolicy llm-train/isolate-training allows ingress from any source"],
    );
    assert_eq!(eval.row(19).reason, "IngressTooBroad");
}

#[test]
fn isolation_ingress_from_the_inference_namespace_is_too_broad() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).network_policies = vec![network_policy(
        TRAINING_NS,
        "isolate-training",
        json!({
            "podSelector": { "matchLabels": { "app": "llm-train" } },
            "policyTypes": ["Ingress"],
            "ingress": [{ "from": [{ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": INFERENCE_NS } } }] }]
        }),
    )];
    assert_decision(
        &measure_of(&f, Measure::Isolation),
        State::NonCompliant,
        "IngressTooBroad",
        &["allows ingress from namespace llm-serve"],
    );
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

// ----------------------------------------------------------------------------------------
// Controls: access control (8.1a).

#[test]
fn access_over_broad_role_binding_names_the_subject() {
    let mut f = Fixture::baseline();
    let ns = f.ns(TRAINING_NS);
    ns.roles.push(role(
        "secret-reader",
        json!([{ "apiGroups": [""], "resources": ["secrets"], "verbs": ["get"] }]),
    ));
    ns.role_bindings.push(role_binding(
        "debug-access",
        "Role",
        "secret-reader",
        json!([{ "kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io" }]),
    ));
    let eval = f.evaluate();
    let d = eval.measure(Measure::AccessControl);
    assert_decision(
        d,
        State::NonCompliant,
        "OverBroadBinding",
        &[
            "RoleBinding llm-train/debug-access grants training data to User mallory who is not a named reader",
        ],
    );
    assert!(!d.message.contains("alice"), "{}", d.message);
    assert_decision(
        eval.row(19),
        State::NonCompliant,
        "OverBroadBinding",
        &["access control: ", "mallory"],
    );
}

#[test]
fn access_binding_to_edit_cluster_role_is_over_broad() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).role_bindings.push(role_binding(
        "team-edit",
        "ClusterRole",
        "edit",
        json!([{ "kind": "Group", "name": "ml-team", "apiGroup": "rbac.authorization.k8s.io" }]),
    ));
    assert_decision(
        &measure_of(&f, Measure::AccessControl),
        State::NonCompliant,
        "OverBroadBinding",
        &["Group ml-team"],
    );
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

// ----------------------------------------------------------------------------------------
// Controls: backups (8.1e).

#[test]
fn backup_none_is_unmet() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).volume_snapshots.clear();
    let eval = f.evaluate();
    let d = eval.measure(Measure::Backup);
    assert_decision(
        d,
        State::NonCompliant,
        "NoBackup",
        &[
            "no ready VolumeSnapshot of llm-train/training-data",
            "no ready VolumeSnapshot of llm-train/safety-annotations",
        ],
    );
    assert!(!d.message.contains("model-weights"), "{}", d.message);
    assert_decision(
        eval.row(19),
        State::NonCompliant,
        "NoBackup",
        &["backups: "],
    );
}

#[test]
fn backup_age_edges() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(26),
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::Compliant,
        "BackupsCurrent",
        &["younger than 26 h"],
    );
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(27),
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["newest backup of llm-serve/model-weights is 27 h old (max 26 h)"],
    );
}

#[test]
fn backup_newest_ready_snapshot_counts() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).volume_snapshots = vec![
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(1), false),
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(30), true),
        volume_snapshot(INFERENCE_NS, "model-weights", hours_ago(50), true),
    ];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["model-weights is 30 h old"],
    );
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(1),
        false,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoBackup",
        &["llm-serve/model-weights"],
    );
    // A snapshot of another claim does not count either.
    f.ns(INFERENCE_NS).volume_snapshots =
        vec![volume_snapshot(INFERENCE_NS, "scratch", hours_ago(1), true)];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoBackup",
        &["llm-serve/model-weights"],
    );
}

#[test]
fn backup_policy_can_shorten_the_max_age() {
    let mut f = Fixture::baseline();
    f.policy().controls.backup.max_age_hours = Some(1);
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["2 h old (max 1 h)", "3 h old (max 1 h)"],
    );
}

#[test]
fn backup_without_declared_volumes_is_unmet() {
    let mut f = Fixture::baseline();
    f.training().data_volumes.clear();
    f.training().safety_annotation_volumes.clear();
    f.inference().model_volumes.clear();
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "NoVolumesDeclared",
        &["training.dataVolumes"],
    );
}

#[test]
fn backup_age_is_not_truncated_to_whole_hours() {
    let mut f = Fixture::baseline();
    let created = now()
        .checked_sub(k8s_openapi::jiff::SignedDuration::from_mins(26 * 60 + 59))
        .unwrap();
    f.ns(INFERENCE_NS).volume_snapshots = vec![volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        created,
        true,
    )];
    assert_decision(
        &measure_of(&f, Measure::Backup),
        State::NonCompliant,
        "BackupTooOld",
        &["model-weights"],
    );
}

// ----------------------------------------------------------------------------------------
// Controls: the sidecar (rows 27, 37, 8.1b).

#[test]
fn sidecar_missing_in_audit_mode() {
    let mut f = Fixture::baseline();
    f.policy().controls.sidecar.mode = EnforcementMode::Audit;
    f.ns(INFERENCE_NS).pods = vec![without_container(inference_pod("server-0"), "aigc-labeler")];
    let eval = f.evaluate();
    assert_sidecar_rows(
        &eval,
        State::NonCompliant,
        "SidecarMissing",
        "Pod llm-serve/server-0 lack(s) the aigc-labeler container",
    );
    assert_eq!(eval.row(37).severity, Severity::Critical);
    assert_eq!(eval.row(27).severity, Severity::High);
    assert_eq!(eval.risk, RiskLevel::Critical);
}

#[test]
fn sidecar_missing_in_a_live_cluster_is_unmet_even_in_enforce_mode() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).pods = vec![without_container(inference_pod("server-0"), "aigc-labeler")];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarMissing",
        "server-0",
    );
}

#[test]
fn sidecar_not_ready() {
    let mut f = Fixture::baseline();
    set_container_ready(f.pod(INFERENCE_NS, "server-0"), "aigc-labeler", false);
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarNotReady",
        "aigc-labeler is not ready in Pod llm-serve/server-0",
    );
    // The model container's readiness is not the sidecar's.
    let mut f = Fixture::baseline();
    set_container_ready(f.pod(INFERENCE_NS, "server-0"), "model-server", false);
    assert_eq!(
        measure_of(&f, Measure::ContentSafety).state,
        State::Compliant
    );
}

#[test]
fn sidecar_bypassed_by_the_service() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!(8000))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarBypassed",
        "Service llm-serve/llm port 80 targets 8000, bypassing aigc-labeler on port 8480",
    );
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!("http-model"))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarBypassed",
        "targets http-model",
    );
}

#[test]
fn sidecar_named_target_port_is_followed() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!("http-labeled"))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::Compliant,
        "SidecarInPlace",
        "Service routed through port 8480",
    );
}

#[test]
fn sidecar_image_must_match() {
    let mut f = Fixture::baseline();
    let server = f.pod(INFERENCE_NS, "server-0");
    server.spec.as_mut().unwrap().containers[1].image = Some("example.com/fake-labeler:9".into());
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarImageMismatch",
        "runs aigc-labeler image example.com/fake-labeler:9 instead of ghcr.io/model-compliance-operator/aigc-labeler:0.1.0",
    );
}

#[test]
fn sidecar_service_and_workload_must_exist_in_the_cluster() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services.clear();
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "ServiceMissing",
        "Service llm-serve/llm does not exist",
    );
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).apps_deployments.clear();
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "WorkloadMissing",
        "Deployment llm-serve/server named in spec.inference.workloads does not exist",
    );
}

#[test]
fn sidecar_rows_are_high_for_a_non_public_service() {
    let mut f = Fixture::baseline();
    f.service().public = false;
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!(8000))];
    let eval = f.evaluate();
    assert_eq!(eval.row(37).severity, Severity::High);
    assert_eq!(eval.risk, RiskLevel::High);
}

// ----------------------------------------------------------------------------------------
// Row 19 and row 23: built on the controls.

#[test]
fn row_19_is_unmet_when_any_protection_is() {
    type Bend = fn(&mut Fixture);
    let cases: [(&str, Bend); 3] = [
        ("isolation", |f| f.ns(TRAINING_NS).network_policies.clear()),
        ("access control", |f| {
            f.snapshot.access_reviews[1].allowed = true
        }),
        ("backups", |f| f.ns(INFERENCE_NS).volume_snapshots.clear()),
    ];
    for (part, bend) in cases {
        let mut f = Fixture::baseline();
        bend(&mut f);
        let eval = f.evaluate();
        let d = eval.row(19);
        assert_eq!(d.state, State::NonCompliant, "{part}: {}", describe([d]));
        assert!(
            d.message.starts_with(&format!("{part}: ")),
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
        &[
            "isolation: no NetworkPolicy",
            "backups: no ready VolumeSnapshot of llm-serve/model-weights",
        ],
    );
}

#[test]
fn row_23_safety_annotations_mounted_outside_training() {
    let mut f = Fixture::baseline();
    let debug = pod(
        TRAINING_NS,
        "debug",
        json!({ "app": "debug" }),
        json!({
            "containers": [{ "name": "shell", "image": "busybox" }],
            "volumes": [{ "name": "a", "persistentVolumeClaim": { "claimName": "safety-annotations" } }]
        }),
        "node-a",
    );
    f.ns(TRAINING_NS).pods.push(debug);
    let eval = f.evaluate();
    assert_decision(
        eval.row(23),
        State::NonCompliant,
        "MountedOutsideTraining",
        &["Pod llm-train/debug is not a training pod but mounts safety-annotations"],
    );
    assert_eq!(eval.measure(Measure::Isolation).state, State::Compliant);
}

#[test]
fn row_23_needs_declared_safety_annotation_volumes() {
    let mut f = Fixture::baseline();
    f.training().safety_annotation_volumes.clear();
    assert_decision(
        &row_of(&f, 23),
        State::NonCompliant,
        "VolumesNotDeclared",
        &["spec.training.safetyAnnotationVolumes"],
    );
}

// ----------------------------------------------------------------------------------------
// Row 40: the kill switch.

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
fn row_40_needs_the_procedure_attested() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(40));
    assert_decision(
        &row_of(&f, 40),
        State::NonCompliant,
        "EvidenceMissing",
        &["procedure: no ComplianceEvidence", "row 40"],
    );
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

// ----------------------------------------------------------------------------------------
// Cluster-or-evidence: rows 2, 28 and 8.1c.

#[test]
fn row_2_monitoring_must_exist_and_be_ready() {
    let mut f = Fixture::baseline();
    f.ns(MONITORING_NS).apps_deployments[0]
        .status
        .as_mut()
        .unwrap()
        .ready_replicas = Some(0);
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "MonitoringNotReady",
        &[
            "Deployment monitoring/platform-monitor has no ready replica",
            "or attest it: no ComplianceEvidence",
        ],
    );
    f.ns(MONITORING_NS).apps_deployments.clear();
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "MonitoringMissing",
        &["Deployment monitoring/platform-monitor does not exist"],
    );
    f.policy().cluster_checks.platform_monitoring.clear();
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "NothingNamed",
        &["clusterChecks.platformMonitoring"],
    );
    // Valid evidence satisfies the row instead.
    f.evidence.push(evidence(
        "platform-soc-2026",
        &[2],
        &[],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    let d = row_of(&f, 2);
    assert_decision(
        &d,
        State::Compliant,
        "EvidenceValid",
        &["platform-soc-2026"],
    );
    assert_eq!(d.evidence[0].name, "platform-soc-2026");
}

#[test]
fn row_28_safety_evaluation_job_must_have_run_recently() {
    let mut f = Fixture::baseline();
    let set = |f: &mut Fixture, last: Option<Timestamp>| {
        f.ns(JOBS_NS).cron_jobs[0] = cron_job("safety-eval", last);
    };
    set(&mut f, Some(days_ago(7)));
    assert_decision(
        &row_of(&f, 28),
        State::Compliant,
        "JobRecent",
        &["succeeded 7 day(s) ago"],
    );
    set(&mut f, Some(days_ago(8)));
    assert_decision(
        &row_of(&f, 28),
        State::NonCompliant,
        "JobStale",
        &["CronJob compliance/safety-eval last succeeded 8 days ago (max 7)"],
    );
    set(&mut f, None);
    assert_decision(
        &row_of(&f, 28),
        State::NonCompliant,
        "NeverSucceeded",
        &["compliance/safety-eval has never succeeded"],
    );
    f.ns(JOBS_NS).cron_jobs.remove(0);
    assert_decision(
        &row_of(&f, 28),
        State::NonCompliant,
        "JobMissing",
        &["CronJob compliance/safety-eval does not exist"],
    );
    f.evidence.push(evidence(
        "monitoring-report",
        &[28],
        &[],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    assert_decision(
        &row_of(&f, 28),
        State::Compliant,
        "EvidenceValid",
        &["monitoring-report"],
    );
}

#[test]
fn measure_code_audit_job_must_have_run_recently() {
    let mut f = Fixture::baseline();
    f.ns(JOBS_NS).cron_jobs[1] = cron_job("code-audit", Some(days_ago(31)));
    assert_decision(
        &measure_of(&f, Measure::CodeAudit),
        State::NonCompliant,
        "JobStale",
        &["CronJob compliance/code-audit last succeeded 31 days ago (max 30)"],
    );
    // Evidence for a row does not satisfy the measure; evidence for the measure does.
    f.evidence.push(evidence(
        "audit-row",
        &[28],
        &[],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    assert_eq!(
        measure_of(&f, Measure::CodeAudit).state,
        State::NonCompliant
    );
    f.evidence.push(evidence(
        "code-audit-2026",
        &[],
        &[Measure::CodeAudit],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    assert_decision(
        &measure_of(&f, Measure::CodeAudit),
        State::Compliant,
        "EvidenceValid",
        &["code-audit-2026"],
    );
}

#[test]
fn cluster_or_evidence_with_expired_evidence_reports_both() {
    let mut f = Fixture::baseline();
    f.policy().cluster_checks.code_audit = None;
    f.evidence.push(evidence(
        "code-audit-2025",
        &[],
        &[Measure::CodeAudit],
        &[NAME],
        days_ago(400),
        days_ago(35),
    ));
    assert_decision(
        &measure_of(&f, Measure::CodeAudit),
        State::NonCompliant,
        "NothingNamed",
        &[
            "clusterChecks.codeAudit",
            "or attest it: ComplianceEvidence code-audit-2025 for measure CodeAudit expired",
        ],
    );
}

// ----------------------------------------------------------------------------------------
// Offline (manifests).

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

// ----------------------------------------------------------------------------------------
// Determinism and ordering.

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

// ----------------------------------------------------------------------------------------
// Message size.

#[test]
fn messages_stay_under_1_kib_with_200_failing_datasets() {
    let mut f = Fixture::baseline();
    f.training().datasets = (0..200)
        .map(|i| {
            from_json(json!({
                "name": format!("scraped-forum-dump-{i:03}"),
                "uri": format!("s3://datasets/scraped-forum-dump-{i:03}"),
                "acquisition": "Crawled",
                "containsPersonalInfo": true,
                "lastUpdated": "2019-01-01"
            }))
        })
        .collect();
    f.training().annotation_batches = (0..200)
        .map(|i| batch(&format!("batch-{i:03}"), 100, 50, false))
        .collect();
    let eval = f.evaluate();
    for n in [4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 22, 42] {
        assert_eq!(
            eval.row(n).state,
            State::NonCompliant,
            "{}",
            describe([eval.row(n)])
        );
    }
    for d in &eval.decisions {
        assert!(
            d.message.len() < 1024,
            "{} message is {} bytes:\n{}",
            d.id,
            d.message.len(),
            d.message
        );
    }
    assert!(
        eval.row(6).message.contains("scraped-forum-dump-000"),
        "{}",
        eval.row(6).message
    );
    assert!(
        eval.row(6).message.contains("and 192 more"),
        "{}",
        eval.row(6).message
    );
    assert!(
        eval.row(12).message.contains("more"),
        "{}",
        eval.row(12).message
    );
}

#[test]
fn messages_stay_under_1_kib_with_long_dataset_names() {
    let mut f = Fixture::baseline();
    f.training().datasets = (0..200)
        .map(|i| {
            from_json(
                json!({ "name": format!("{i:03}-{}", "x".repeat(240)), "uri": "s3://datasets/x" }),
            )
        })
        .collect();
    let eval = f.evaluate();
    for d in &eval.decisions {
        assert!(
            d.message.len() < 1024,
            "{} message is {} bytes",
            d.id,
            d.message.len()
        );
    }
}

#[test]
fn join_keeps_parts_within_the_limit() {
    let parts = (0..100).map(|i| format!("part number {i:03} of a long list"));
    let joined = join(parts);
    assert!(joined.len() < 1024, "{}", joined.len());
    assert!(joined.starts_with("part number 000"));
    assert!(joined.ends_with(" more"), "{joined}");
}

// ----------------------------------------------------------------------------------------
// Regressions and bugs found while writing these tests (bugs ignored until fixed).

// Found as a bug (omitted riskAcceptance gave maxAcceptable None); fixed in 088829f.
#[test]
fn policy_without_risk_acceptance_accepts_low_risk() {
    let mut policy = serde_json::to_value(baseline_policy()).unwrap();
    policy["spec"]
        .as_object_mut()
        .unwrap()
        .remove("riskAcceptance");
    let mut f = Fixture::baseline();
    f.policy = from_json(policy);
    f.dataset("web-crawl").cleaning = None; // row 11, Low
    let eval = f.evaluate();
    assert_eq!(eval.risk, RiskLevel::Low);
    assert!(
        eval.acceptable,
        "the documented default maxAcceptable is Low"
    );
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
fn a_single_long_finding_still_names_what_is_missing() {
    assert!(join(std::iter::once("x".repeat(950))).contains('x'));
    // In an evaluation: one inference pod that mounts many long-named training claims.
    let mut f = Fixture::baseline();
    let claims: Vec<String> = (0..20)
        .map(|i| format!("training-shard-{i:02}-of-the-2026-pretraining-corpus"))
        .collect();
    f.training().data_volumes = claims.clone();
    let mut spec = inference_pod_spec();
    for c in &claims {
        spec["volumes"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "name": c, "persistentVolumeClaim": { "claimName": c } }));
    }
    share_namespace(&mut f, spec, "node-b");
    let eval = f.evaluate();
    let d = eval.measure(Measure::Isolation);
    assert_eq!(d.reason, "SharedVolume");
    assert!(d.message.contains("server-0"), "{}", d.message);
    assert!(
        eval.row(19).message.contains("server-0"),
        "{}",
        eval.row(19).message
    );
}

#[test]
fn cron_job_age_is_not_truncated_to_whole_days() {
    let mut f = Fixture::baseline();
    f.ns(JOBS_NS).cron_jobs[0] = cron_job("safety-eval", Some(hours_ago(7 * 24 + 23)));
    assert_decision(
        &row_of(&f, 28),
        State::NonCompliant,
        "JobStale",
        &["compliance/safety-eval"],
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

#[test]
fn row_12_rejects_a_refresh_date_in_the_future() {
    let mut f = Fixture::baseline();
    f.dataset("licensed-books").last_updated = Some("2026-12-02".into());
    assert_decision(
        &row_of(&f, 12),
        State::NonCompliant,
        "DataStale",
        &["licensed-books: lastUpdated 2026-12-02 is in the future"],
    );
}

#[test]
fn named_service_must_select_the_inference_pods() {
    let mut f = Fixture::baseline();
    let mut elsewhere = service(INFERENCE_NS, "llm", json!(8480));
    elsewhere.spec.as_mut().unwrap().selector =
        Some([("app".to_owned(), "something-else".to_owned())].into());
    f.ns(INFERENCE_NS).services = vec![elsewhere];
    assert_decision(
        &measure_of(&f, Measure::ContentSafety),
        State::NonCompliant,
        "ServiceSelectsOtherPods",
        &["Service llm-serve/llm does not select the inference pods"],
    );
}

#[test]
fn binding_the_view_cluster_role_grants_training_claims() {
    let mut f = Fixture::baseline();
    f.ns(TRAINING_NS).role_bindings.push(role_binding(
        "everyone-views",
        "ClusterRole",
        "view",
        json!([{ "kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io" }]),
    ));
    assert_decision(
        &measure_of(&f, Measure::AccessControl),
        State::NonCompliant,
        "OverBroadBinding",
        &[
            "RoleBinding llm-train/everyone-views grants training data to Group system:authenticated",
        ],
    );
}
