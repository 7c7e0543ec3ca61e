//! Declared rows on the training datasets: 4 to 15.

use super::*;
use crate::api::{Acquisition, CrawlCompliance, LegalBasis};

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
            &["declare spec.training.datasets"],
        );
    }
}

/// One case of a row that every dataset it concerns must meet.
struct PerDataset {
    row: u8,
    what: &'static str,
    /// How the baseline's datasets are bent; the baseline meets every such row.
    bend: fn(&mut Fixture),
    state: State,
    reason: &'static str,
    fragments: &'static [&'static str],
    /// Datasets (or anything else) the message must leave out.
    absent: &'static [&'static str],
    severity: Option<Severity>,
    /// The evaluation's risk and whether it is acceptable.
    risk: Option<(RiskLevel, bool)>,
}

impl PerDataset {
    const MET: PerDataset = PerDataset {
        row: 0,
        what: "",
        bend: |_| {},
        state: State::Compliant,
        reason: "",
        fragments: &[],
        absent: &[],
        severity: None,
        risk: None,
    };
}

/// Declared crawl compliance: robots rules, terms, no access-control bypass.
fn crawled(robots: bool, terms: bool, bypass: bool) -> Option<CrawlCompliance> {
    Some(CrawlCompliance {
        robots_respected: robots,
        terms_respected: terms,
        no_access_control_bypass: bypass,
    })
}

/// Rows 4, 6 to 11 and 14: the baseline's count of qualifying datasets, then each way a
/// dataset falls short, named without the datasets that do not.
const PER_DATASET: [PerDataset; 22] = [
    PerDataset {
        row: 4,
        what: "every dataset declares acquisition and legal basis",
        reason: "SourcesLawful",
        fragments: &["3 of 3 dataset(s)"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 4,
        what: "a dataset without acquisition",
        bend: |f| f.dataset("licensed-books").acquisition = None,
        state: State::NonCompliant,
        reason: "AcquisitionUndeclared",
        fragments: &["dataset(s) licensed-books lack acquisition"],
        absent: &["web-crawl", "user-dialogues"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 4,
        what: "a dataset without legal basis",
        bend: |f| f.dataset("web-crawl").legal_basis = None,
        state: State::NonCompliant,
        reason: "AcquisitionUndeclared",
        fragments: &["web-crawl", "legalBasis"],
        severity: Some(Severity::High),
        ..PerDataset::MET
    },
    PerDataset {
        row: 6,
        what: "every dataset declares a license",
        reason: "DatasetsLicensed",
        fragments: &["3 of 3"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 6,
        what: "a dataset without license",
        bend: |f| f.dataset("web-crawl").license = None,
        state: State::NonCompliant,
        reason: "LicenseMissing",
        fragments: &["dataset(s) web-crawl declare no license"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 7,
        what: "personal data has a legal basis",
        reason: "PersonalDataHasLegalBasis",
        fragments: &["1 of 1"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 7,
        what: "personal data without legal basis",
        bend: |f| f.dataset("user-dialogues").legal_basis = None,
        state: State::NonCompliant,
        reason: "LegalBasisMissing",
        fragments: &[
            "dataset(s) user-dialogues contain personal information but declare no legalBasis",
        ],
        severity: Some(Severity::Critical),
        risk: Some((RiskLevel::Critical, false)),
        ..PerDataset::MET
    },
    PerDataset {
        row: 7,
        what: "a dataset without personal information needs no legal basis",
        bend: |f| f.dataset("licensed-books").legal_basis = None,
        reason: "PersonalDataHasLegalBasis",
        fragments: &["1 of 1"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 8,
        what: "crawled data respects site rules",
        reason: "CrawlingCompliant",
        fragments: &["1 of 1"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 8,
        what: "crawled against robots rules",
        bend: |f| f.dataset("web-crawl").crawl_compliance = crawled(false, true, true),
        state: State::NonCompliant,
        reason: "CrawlNotCompliant",
        fragments: &["dataset(s) web-crawl were crawled"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 8,
        what: "crawled against the terms",
        bend: |f| f.dataset("web-crawl").crawl_compliance = crawled(true, false, true),
        state: State::NonCompliant,
        reason: "CrawlNotCompliant",
        fragments: &["dataset(s) web-crawl were crawled"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 8,
        what: "crawled past access controls",
        bend: |f| f.dataset("web-crawl").crawl_compliance = crawled(true, true, false),
        state: State::NonCompliant,
        reason: "CrawlNotCompliant",
        fragments: &["dataset(s) web-crawl were crawled"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 8,
        what: "crawled without declared crawl compliance",
        bend: |f| f.dataset("web-crawl").crawl_compliance = None,
        state: State::NonCompliant,
        reason: "CrawlNotCompliant",
        fragments: &["web-crawl"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 9,
        what: "personal data is desensitized",
        reason: "PersonalDataDesensitized",
        fragments: &["1 of 1"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 9,
        what: "personal data declared not desensitized",
        bend: |f| f.dataset("user-dialogues").desensitized = Some(false),
        state: State::NonCompliant,
        reason: "NotDesensitized",
        fragments: &[
            "dataset(s) user-dialogues contain personal information but are not declared desensitized",
        ],
        ..PerDataset::MET
    },
    PerDataset {
        row: 9,
        what: "personal data with desensitization undeclared",
        bend: |f| f.dataset("user-dialogues").desensitized = None,
        state: State::NonCompliant,
        reason: "NotDesensitized",
        fragments: &[
            "dataset(s) user-dialogues contain personal information but are not declared desensitized",
        ],
        ..PerDataset::MET
    },
    PerDataset {
        row: 10,
        what: "every dataset declares a validation method",
        reason: "DatasetsValidated",
        fragments: &["3 of 3"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 10,
        what: "a dataset without validation method",
        bend: |f| f.dataset("user-dialogues").validation_method = None,
        state: State::NonCompliant,
        reason: "ValidationMissing",
        fragments: &["user-dialogues declare no validationMethod"],
        severity: Some(Severity::Low),
        ..PerDataset::MET
    },
    PerDataset {
        row: 11,
        what: "every dataset declares a cleaning step",
        reason: "DatasetsCleaned",
        fragments: &["3 of 3"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 11,
        what: "two datasets without cleaning step",
        bend: |f| {
            f.dataset("licensed-books").cleaning = None;
            f.dataset("web-crawl").cleaning = None;
        },
        state: State::NonCompliant,
        reason: "CleaningMissing",
        fragments: &["web-crawl", "licensed-books", "declare no cleaning step"],
        absent: &["user-dialogues"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 14,
        what: "every dataset records provenance",
        reason: "ProvenanceRecorded",
        fragments: &["3 of 3"],
        ..PerDataset::MET
    },
    PerDataset {
        row: 14,
        what: "a dataset without provenance",
        bend: |f| f.dataset("web-crawl").provenance_ref = None,
        state: State::NonCompliant,
        reason: "ProvenanceMissing",
        fragments: &["web-crawl declare no provenanceRef"],
        ..PerDataset::MET
    },
];

#[test]
fn per_dataset_rows_name_the_datasets_that_fall_short() {
    for case in &PER_DATASET {
        println!("row {}: {}", case.row, case.what);
        let mut f = Fixture::baseline();
        (case.bend)(&mut f);
        let eval = f.evaluate();
        let d = eval.row(case.row);
        assert_decision(d, case.state, case.reason, case.fragments);
        for absent in case.absent {
            assert!(!d.message.contains(absent), "{}: {}", case.what, d.message);
        }
        if let Some(severity) = case.severity {
            assert_eq!(d.severity, severity, "{}", case.what);
        }
        if let Some((risk, acceptable)) = case.risk {
            assert_eq!(eval.risk, risk, "{}", case.what);
            assert_eq!(eval.acceptable, acceptable, "{}", case.what);
        }
    }
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

/// Missing evidence alone is in `evidence::rows_that_need_evidence_on_top_say_so`.
#[test]
fn row_15_needs_evidence_as_well_as_declared_consent() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(15));
    f.dataset("user-dialogues").legal_basis = Some(LegalBasis::Contract);
    assert_decision(
        &row_of(&f, 15),
        State::NonCompliant,
        "ConsentMissing",
        &["user-dialogues", "no ComplianceEvidence attests it"],
    );
}
