//! Rows decided from what the ModelDeployment declares, and rows 31 to 33 from recorded
//! evaluation results.

use k8s_openapi::jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{Ctx, Outcome, as_percent, join, percent, rate_at_least, rate_at_most};
use crate::api::{Acquisition, Audience, Dataset, LegalBasis, SampleResult};
use crate::catalog::defaults as d;
use crate::i18n::{Msg, english, msg};

pub(crate) fn decide(ctx: &Ctx, row: u8) -> Outcome {
    match row {
        4..=15 => datasets(ctx, row),
        22 => annotation_batches(ctx),
        24 => security_assessment(ctx),
        25 => filing(ctx),
        34 => disclosure(ctx),
        35 => input_retention(ctx),
        36 => channel(ctx, 36),
        38 => channel(ctx, 38),
        39 => minors(ctx),
        42 => supervision(ctx),
        _ => unreachable!("row {row} is not decided from declared fields"),
    }
}

pub(crate) fn decide_evaluation(ctx: &Ctx, row: u8) -> Outcome {
    match row {
        31 => corpus_evaluation(ctx),
        32 => content_evaluation(ctx),
        33 => refusal_evaluation(ctx),
        _ => unreachable!("row {row} is not decided from evaluation results"),
    }
}

/// Days from a `YYYY-MM-DD` day (UTC midnight) to `now`; `None` if the text is not a date.
fn age_days(day: &str, now: Timestamp) -> Option<i64> {
    let date: Date = day.parse().ok()?;
    let start = date.to_zoned(TimeZone::UTC).ok()?.timestamp();
    Some((now - start).get_seconds().div_euclid(86_400))
}

/// Names for a message: at most 8, and at most about 400 bytes of them.
pub(crate) fn list(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    const BYTES: usize = 400;
    let mut out = String::new();
    let mut shown = 0;
    for name in names.iter().take(SHOWN) {
        if shown > 0 && out.len() + name.len() > BYTES {
            break;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        shown += 1;
    }
    if shown < names.len() {
        out.push(' ');
        out.push_str(&msg!(AndMore, count = names.len() - shown));
    }
    out
}

/// A row that asks one thing of every dataset it concerns.
struct DatasetRule {
    row: u8,
    /// Which datasets the row concerns; `None`: every one.
    concerns: Option<Concern>,
    /// How a dataset fails the row; `None` when it meets it.
    fails: fn(&Dataset, &Ctx) -> Option<Failure>,
    /// Reason and message when every dataset concerned meets the row.
    met: (&'static str, Met),
    /// Reason when some dataset fails, and how the failures are told.
    unmet: (&'static str, Told),
}

/// A kind of dataset some rows are about, and what is said when there is none.
struct Concern {
    applies: fn(&Dataset) -> bool,
    none: (&'static str, Msg),
}

enum Met {
    /// "n of n dataset(s) ...", a message with a `count` and a `total`.
    Counted(Msg),
    /// A message of its own, e.g. naming a policy parameter.
    Said(fn(&Ctx) -> String),
}

/// How a dataset fails a row.
#[derive(PartialEq)]
enum Failure {
    /// A way of failing told for all such datasets at once, by a message with `datasets`.
    Shared(Msg),
    /// A sentence of its own, naming the dataset.
    Own(String),
}

enum Told {
    /// Datasets failing the same way are named together: "dataset(s) a, b <why>".
    ByName,
    /// Each failure is a sentence of its own, naming its dataset.
    Each,
}

const PERSONAL: Option<Concern> = Some(Concern {
    applies: |ds| ds.contains_personal_info,
    none: ("NoPersonalInformation", Msg::NoPersonalData),
});

const CRAWLED: Option<Concern> = Some(Concern {
    applies: |ds| ds.acquisition == Some(Acquisition::Crawled),
    none: ("NoCrawledData", Msg::NoCrawledData),
});

/// `why` unless the dataset meets the row.
fn unless(ok: bool, why: Msg) -> Option<Failure> {
    (!ok).then_some(Failure::Shared(why))
}

/// Rows 4 to 15, except 5 (evidence only) and 13 (judged over all datasets together).
const DATASET_RULES: &[DatasetRule] = &[
    DatasetRule {
        row: 4,
        concerns: None,
        fails: |ds, _| {
            unless(
                ds.acquisition.is_some() && ds.legal_basis.is_some(),
                Msg::DatasetsAcquisitionMissing,
            )
        },
        met: (
            "SourcesLawful",
            Met::Counted(Msg::DatasetsAcquisitionDeclared),
        ),
        unmet: ("AcquisitionUndeclared", Told::ByName),
    },
    DatasetRule {
        row: 6,
        concerns: None,
        fails: |ds, _| unless(ds.license.is_some(), Msg::DatasetsLicenseMissing),
        met: ("DatasetsLicensed", Met::Counted(Msg::DatasetsLicensed)),
        unmet: ("LicenseMissing", Told::ByName),
    },
    DatasetRule {
        row: 7,
        concerns: PERSONAL,
        fails: |ds, _| unless(ds.legal_basis.is_some(), Msg::PersonalDataLegalBasisMissing),
        met: (
            "PersonalDataHasLegalBasis",
            Met::Counted(Msg::PersonalDataHasLegalBasis),
        ),
        unmet: ("LegalBasisMissing", Told::ByName),
    },
    DatasetRule {
        row: 8,
        concerns: CRAWLED,
        fails: |ds, _| {
            let compliant = ds.crawl_compliance.as_ref().is_some_and(|c| {
                c.robots_respected && c.terms_respected && c.no_access_control_bypass
            });
            unless(compliant, Msg::CrawlingNotCompliant)
        },
        met: ("CrawlingCompliant", Met::Counted(Msg::CrawlingCompliant)),
        unmet: ("CrawlNotCompliant", Told::ByName),
    },
    DatasetRule {
        row: 9,
        concerns: PERSONAL,
        fails: |ds, _| {
            unless(
                ds.desensitized == Some(true),
                Msg::PersonalDataNotDesensitized,
            )
        },
        met: (
            "PersonalDataDesensitized",
            Met::Counted(Msg::PersonalDataDesensitized),
        ),
        unmet: ("NotDesensitized", Told::ByName),
    },
    DatasetRule {
        row: 10,
        concerns: None,
        fails: |ds, _| {
            unless(
                ds.validation_method.is_some(),
                Msg::DatasetsValidationMissing,
            )
        },
        met: ("DatasetsValidated", Met::Counted(Msg::DatasetsValidated)),
        unmet: ("ValidationMissing", Told::ByName),
    },
    DatasetRule {
        row: 11,
        concerns: None,
        fails: |ds, _| unless(ds.cleaning.is_some(), Msg::DatasetsCleaningMissing),
        met: ("DatasetsCleaned", Met::Counted(Msg::DatasetsCleaned)),
        unmet: ("CleaningMissing", Told::ByName),
    },
    DatasetRule {
        row: 12,
        concerns: None,
        fails: stale,
        met: (
            "DataFresh",
            Met::Said(|ctx| msg!(DatasetsFresh, days = training_data_max_age(ctx))),
        ),
        unmet: ("DataStale", Told::Each),
    },
    DatasetRule {
        row: 14,
        concerns: None,
        fails: |ds, _| unless(ds.provenance_ref.is_some(), Msg::ProvenanceMissing),
        met: ("ProvenanceRecorded", Met::Counted(Msg::ProvenanceRecorded)),
        unmet: ("ProvenanceMissing", Told::ByName),
    },
    DatasetRule {
        row: 15,
        concerns: PERSONAL,
        fails: |ds, _| {
            unless(
                matches!(
                    ds.legal_basis,
                    Some(LegalBasis::Consent | LegalBasis::LegalDuty)
                ),
                Msg::PersonalDataConsentMissing,
            )
        },
        met: (
            "PersonalDataConsented",
            Met::Counted(Msg::PersonalDataConsented),
        ),
        unmet: ("ConsentMissing", Told::ByName),
    },
];

fn training_data_max_age(ctx: &Ctx) -> i32 {
    ctx.policy()
        .parameters
        .training_data_max_age_days
        .unwrap_or(d::TRAINING_DATA_MAX_AGE_DAYS)
}

/// Row 12: why a dataset is not fresh enough.
fn stale(ds: &Dataset, ctx: &Ctx) -> Option<Failure> {
    let max = training_data_max_age(ctx);
    let dataset = &ds.name;
    let Some(day) = ds.last_updated.as_deref() else {
        return Some(Failure::Own(msg!(
            DatasetUpdateUndeclared,
            dataset = dataset
        )));
    };
    let why = match age_days(day, ctx.now()) {
        None => msg!(DatasetUpdateNotADate, dataset = dataset, date = day),
        Some(age) if age < 0 => msg!(DatasetUpdateInFuture, dataset = dataset, date = day),
        Some(age) if age > i64::from(max) => msg!(
            DatasetStale,
            dataset = dataset,
            date = day,
            age = age,
            max = max
        ),
        Some(_) => return None,
    };
    Some(Failure::Own(why))
}

fn datasets(ctx: &Ctx, row: u8) -> Outcome {
    let Some(datasets) = ctx
        .spec()
        .training
        .as_ref()
        .map(|t| t.datasets.as_slice())
        .filter(|d| !d.is_empty())
    else {
        return Outcome::unmet("NoDatasetsDeclared", msg!(DeclareDatasets));
    };
    if row == 13 {
        return sources_diverse(ctx, datasets);
    }
    let rule = DATASET_RULES
        .iter()
        .find(|r| r.row == row)
        .unwrap_or_else(|| unreachable!("row {row} asks nothing of each dataset"));
    each_dataset(ctx, datasets, rule)
}

/// Walks one row of [`DATASET_RULES`] over the declared datasets.
fn each_dataset(ctx: &Ctx, datasets: &[Dataset], rule: &DatasetRule) -> Outcome {
    let relevant: Vec<&Dataset> = datasets
        .iter()
        .filter(|ds| rule.concerns.as_ref().is_none_or(|c| (c.applies)(ds)))
        .collect();
    if let (Some(concern), true) = (&rule.concerns, relevant.is_empty()) {
        return Outcome::not_applicable(concern.none.0, english(concern.none.1, &[]));
    }
    let failing: Vec<(&str, Failure)> = relevant
        .iter()
        .filter_map(|ds| Some((ds.name.as_str(), (rule.fails)(ds, ctx)?)))
        .collect();
    let (met_reason, met) = &rule.met;
    let (unmet_reason, told) = &rule.unmet;
    if failing.is_empty() {
        let message = match met {
            Met::Counted(what) => english(
                *what,
                &[("count", &relevant.len()), ("total", &relevant.len())],
            ),
            Met::Said(say) => say(ctx),
        };
        return Outcome::met(met_reason, message);
    }
    let message = match told {
        Told::ByName => by_name(&failing),
        Told::Each => join(failing.into_iter().map(|(_, why)| match why {
            Failure::Own(text) => text,
            Failure::Shared(why) => english(why, &[]),
        })),
    };
    Outcome::unmet(unmet_reason, message)
}

/// "dataset(s) a, b <why>" for each way datasets fail, in the order first met.
fn by_name(failing: &[(&str, Failure)]) -> String {
    let mut groups: Vec<(&Failure, Vec<&str>)> = Vec::new();
    for (name, why) in failing {
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(name),
            None => groups.push((why, vec![name])),
        }
    }
    let mut parts: Vec<String> = groups
        .into_iter()
        .map(|(why, names)| match why {
            Failure::Shared(why) => english(*why, &[("datasets", &list(&names))]),
            Failure::Own(text) => text.clone(),
        })
        .collect();
    // A single sentence is told whole: joining cuts one that is very long.
    if parts.len() == 1 {
        return parts.remove(0);
    }
    join(parts.into_iter())
}

/// Row 13: the datasets come from enough distinct sources.
fn sources_diverse(ctx: &Ctx, datasets: &[Dataset]) -> Outcome {
    let min = ctx
        .policy()
        .parameters
        .min_distinct_sources
        .unwrap_or(d::MIN_DISTINCT_SOURCES);
    let mut sources: Vec<&str> = datasets
        .iter()
        .filter_map(|ds| ds.source.as_deref())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.len() as i64 >= i64::from(min) {
        Outcome::met(
            "SourcesDiverse",
            msg!(SourcesDiverse, count = sources.len(), min = min),
        )
    } else {
        Outcome::unmet(
            "TooFewSources",
            msg!(
                TooFewSources,
                count = sources.len(),
                sources = list(&sources),
                min = min
            ),
        )
    }
}

fn annotation_batches(ctx: &Ctx) -> Outcome {
    let batches = ctx
        .spec()
        .training
        .as_ref()
        .map(|t| t.annotation_batches.as_slice())
        .unwrap_or(&[]);
    if batches.is_empty() {
        return Outcome::unmet("NoAnnotationBatches", msg!(NoAnnotationBatches));
    }
    let max = ctx
        .policy()
        .parameters
        .annotation_max_illegal_ratio
        .unwrap_or(d::ANNOTATION_MAX_ILLEGAL_RATIO);
    let mut problems = Vec::new();
    let mut voided = 0;
    for b in batches {
        if b.sampled_items == 0 {
            problems.push(msg!(BatchNotSampled, batch = b.id));
        } else if !rate_at_most(b.illegal_items, b.sampled_items, max) {
            if b.voided {
                voided += 1;
            } else {
                problems.push(msg!(
                    BatchNotVoided,
                    batch = b.id,
                    ratio = percent(b.illegal_items, b.sampled_items),
                    max = as_percent(max)
                ));
            }
        }
    }
    if problems.is_empty() {
        Outcome::met(
            "BatchesSampled",
            msg!(BatchesSampled, count = batches.len(), voided = voided),
        )
    } else {
        Outcome::unmet("BatchNotVoided", join(problems.into_iter()))
    }
}

fn security_assessment(ctx: &Ctx) -> Outcome {
    let Some(a) = ctx.spec().service.security_assessment.as_ref() else {
        return Outcome::unmet("AssessmentMissing", msg!(AssessmentMissing));
    };
    let max = ctx
        .policy()
        .parameters
        .security_assessment_max_age_days
        .unwrap_or(d::SECURITY_ASSESSMENT_MAX_AGE_DAYS);
    match age_days(&a.date, ctx.now()) {
        None => Outcome::unmet(
            "AssessmentDateInvalid",
            msg!(AssessmentDateInvalid, date = a.date),
        ),
        Some(age) if age > i64::from(max) => Outcome::unmet(
            "AssessmentStale",
            msg!(AssessmentStale, date = a.date, age = age, max = max),
        ),
        Some(age) if age < 0 => Outcome::unmet(
            "AssessmentInFuture",
            msg!(AssessmentInFuture, date = a.date),
        ),
        Some(_) => Outcome::met(
            "AssessmentCurrent",
            msg!(AssessmentCurrent, reference = a.reference, date = a.date),
        ),
    }
}

fn filing(ctx: &Ctx) -> Outcome {
    let service = &ctx.spec().service;
    if !service.public {
        return Outcome::not_applicable("NotPublicService", msg!(NotPublicService));
    }
    let Some(number) = service.filing_number.as_deref() else {
        return Outcome::unmet("FilingMissing", msg!(FilingMissing));
    };
    let version = &ctx.spec().model.version;
    match service.filed_model_version.as_deref() {
        None => Outcome::unmet(
            "FiledVersionMissing",
            msg!(FiledVersionMissing, filing = number),
        ),
        Some(filed) if filed != version => Outcome::unmet(
            "RefilingRequired",
            msg!(
                RefilingRequired,
                filing = number,
                filed = filed,
                version = version
            ),
        ),
        Some(_) => Outcome::met("Filed", msg!(Filed, filing = number, version = version)),
    }
}

fn disclosure(ctx: &Ctx) -> Outcome {
    match ctx.spec().service.disclosure_url.as_deref() {
        Some(url) => Outcome::met("UsagePublished", msg!(UsagePublished, url = url)),
        None => Outcome::unmet("DisclosureMissing", msg!(DisclosureMissing)),
    }
}

fn input_retention(ctx: &Ctx) -> Outcome {
    let max = ctx
        .policy()
        .parameters
        .input_retention_max_days
        .unwrap_or(d::INPUT_RETENTION_MAX_DAYS);
    match ctx.spec().service.input_retention_days {
        None => Outcome::unmet("RetentionUndeclared", msg!(RetentionUndeclared)),
        Some(days) if days > max => Outcome::unmet(
            "RetentionTooLong",
            msg!(RetentionTooLong, days = days, max = max),
        ),
        Some(days) => Outcome::met(
            "RetentionLimited",
            msg!(RetentionLimited, days = days, max = max),
        ),
    }
}

fn channel(ctx: &Ctx, row: u8) -> Outcome {
    let service = &ctx.spec().service;
    let params = &ctx.policy().parameters;
    let (channel, (field, undeclared), max) = if row == 36 {
        (
            service.personal_info_channel.as_ref(),
            ("personalInfoChannel", Msg::PersonalInfoChannelMissing),
            params
                .personal_info_request_max_days
                .unwrap_or(d::PERSONAL_INFO_REQUEST_MAX_DAYS),
        )
    } else {
        (
            service.complaint_channel.as_ref(),
            ("complaintChannel", Msg::ComplaintChannelMissing),
            params
                .complaint_response_max_days
                .unwrap_or(d::COMPLAINT_RESPONSE_MAX_DAYS),
        )
    };
    match channel {
        None => Outcome::unmet("ChannelMissing", english(undeclared, &[])),
        Some(c) if c.response_days > max => Outcome::unmet(
            "ResponseTooSlow",
            msg!(
                ResponseTooSlow,
                channel = field,
                days = c.response_days,
                max = max
            ),
        ),
        Some(c) => Outcome::met(
            "ChannelOpen",
            msg!(ChannelOpen, url = c.url, days = c.response_days, max = max),
        ),
    }
}

fn minors(ctx: &Ctx) -> Outcome {
    let service = &ctx.spec().service;
    if !service.audiences.contains(&Audience::Minors) {
        return Outcome::not_applicable("MinorsNotAdmitted", msg!(MinorsNotAdmitted));
    }
    let Some(p) = service.minors_protection.as_ref() else {
        return Outcome::unmet("MinorsProtectionMissing", msg!(MinorsProtectionMissing));
    };
    let mut missing = Vec::new();
    if !p.minors_mode {
        missing.push("minorsMode");
    }
    if !p.usage_time_limits {
        missing.push("usageTimeLimits");
    }
    if !p.age_appropriate_content {
        missing.push("ageAppropriateContent");
    }
    if missing.is_empty() {
        Outcome::met("MinorsProtected", msg!(MinorsProtected))
    } else {
        Outcome::unmet(
            "MinorsProtectionIncomplete",
            msg!(MinorsProtectionIncomplete, fields = missing.join(", ")),
        )
    }
}

fn supervision(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let mut missing = Vec::new();
    let mut unsized_sets: Vec<&str> = Vec::new();
    if spec.model.algorithm_description.is_none() {
        missing.push("model.algorithmDescription".to_owned());
    }
    match spec.training.as_ref() {
        None => missing.push(msg!(TrainingUndeclared)),
        Some(t) => {
            if t.annotation_rules_ref.is_none() {
                missing.push("training.annotationRulesRef".to_owned());
            }
            if t.datasets.is_empty() {
                missing.push("training.datasets".to_owned());
            }
            unsized_sets = t
                .datasets
                .iter()
                .filter(|ds| ds.records.is_none() || ds.source.is_none())
                .map(|ds| ds.name.as_str())
                .collect();
        }
    }
    let fields = missing.join(", ");
    let message = match (missing.is_empty(), unsized_sets.is_empty()) {
        (true, true) => return Outcome::met("ReportComplete", msg!(ReportComplete)),
        (false, true) => msg!(ReportLacks, fields = fields),
        (true, false) => msg!(ReportLacksRecords, datasets = list(&unsized_sets)),
        (false, false) => msg!(
            ReportLacksFieldsAndRecords,
            fields = fields,
            datasets = list(&unsized_sets)
        ),
    };
    Outcome::unmet("ReportIncomplete", message)
}

fn sample_check(
    problems: &mut Vec<String>,
    what: Msg,
    s: &SampleResult,
    min_items: i64,
    min_rate: f64,
) {
    let sample = english(what, &[]);
    if s.items < min_items {
        problems.push(msg!(
            SampleTooSmall,
            sample = sample,
            items = s.items,
            min = min_items
        ));
    }
    if !rate_at_least(s.passed, s.items, min_rate) {
        problems.push(msg!(
            PassRateTooLow,
            sample = sample,
            rate = percent(s.passed, s.items),
            min = as_percent(min_rate)
        ));
    }
}

fn evaluation_outcome(problems: Vec<String>, met: String) -> Outcome {
    if problems.is_empty() {
        Outcome::met("ThresholdsMet", met)
    } else {
        Outcome::unmet("BelowThreshold", join(problems.into_iter()))
    }
}

fn corpus_evaluation(ctx: &Ctx) -> Outcome {
    let Some(e) = ctx.spec().evaluation.corpus.as_ref() else {
        return Outcome::unmet("EvaluationMissing", msg!(CorpusEvaluationMissing));
    };
    let t = ctx
        .policy()
        .parameters
        .corpus_evaluation
        .clone()
        .unwrap_or_default();
    let manual_min = t.manual_min_samples.unwrap_or(d::CORPUS_MANUAL_MIN_SAMPLES);
    let manual_rate = t
        .manual_min_pass_rate
        .unwrap_or(d::CORPUS_MANUAL_MIN_PASS_RATE);
    let auto_ratio = t
        .automated_min_sample_ratio
        .unwrap_or(d::CORPUS_AUTOMATED_MIN_SAMPLE_RATIO);
    let auto_rate = t
        .automated_min_pass_rate
        .unwrap_or(d::CORPUS_AUTOMATED_MIN_PASS_RATE);
    let mut problems = Vec::new();
    let (manual, automated) = (Msg::SampleManual, Msg::SampleAutomated);
    sample_check(&mut problems, manual, &e.manual, manual_min, manual_rate);
    if !rate_at_least(e.automated.items, e.corpus_size, auto_ratio) {
        problems.push(msg!(
            AutomatedCoverageTooLow,
            ratio = percent(e.automated.items, e.corpus_size),
            min = as_percent(auto_ratio)
        ));
    }
    sample_check(&mut problems, automated, &e.automated, 0, auto_rate);
    evaluation_outcome(
        problems,
        msg!(
            CorpusEvaluated,
            manual_rate = percent(e.manual.passed, e.manual.items),
            manual_items = e.manual.items,
            automated_rate = percent(e.automated.passed, e.automated.items),
            automated_items = e.automated.items,
            coverage = percent(e.automated.items, e.corpus_size),
            date = e.date
        ),
    )
}

fn content_evaluation(ctx: &Ctx) -> Outcome {
    let Some(e) = ctx.spec().evaluation.generated_content.as_ref() else {
        return Outcome::unmet("EvaluationMissing", msg!(ContentEvaluationMissing));
    };
    let t = ctx
        .policy()
        .parameters
        .content_evaluation
        .clone()
        .unwrap_or_default();
    let min = t.min_items.unwrap_or(d::CONTENT_MIN_ITEMS);
    let rate = t.min_pass_rate.unwrap_or(d::CONTENT_MIN_PASS_RATE);
    let mut problems = Vec::new();
    sample_check(&mut problems, Msg::SampleManual, &e.manual, min, rate);
    sample_check(&mut problems, Msg::SampleKeyword, &e.keyword, min, rate);
    sample_check(
        &mut problems,
        Msg::SampleClassifier,
        &e.classifier,
        min,
        rate,
    );
    evaluation_outcome(
        problems,
        msg!(
            ContentEvaluated,
            manual = percent(e.manual.passed, e.manual.items),
            keyword = percent(e.keyword.passed, e.keyword.items),
            classifier = percent(e.classifier.passed, e.classifier.items),
            date = e.date
        ),
    )
}

fn refusal_evaluation(ctx: &Ctx) -> Outcome {
    let Some(e) = ctx.spec().evaluation.refusal.as_ref() else {
        return Outcome::unmet("EvaluationMissing", msg!(RefusalEvaluationMissing));
    };
    let t = ctx
        .policy()
        .parameters
        .refusal_evaluation
        .clone()
        .unwrap_or_default();
    let min = t.min_items.unwrap_or(d::REFUSAL_MIN_ITEMS);
    let refuse_rate = t
        .should_refuse_min_rate
        .unwrap_or(d::REFUSAL_SHOULD_REFUSE_MIN_RATE);
    let over_refusal = t
        .should_answer_max_refusal_rate
        .unwrap_or(d::REFUSAL_SHOULD_ANSWER_MAX_RATE);
    let mut problems = Vec::new();
    sample_check(
        &mut problems,
        Msg::SampleShouldRefuse,
        &e.should_refuse,
        min,
        refuse_rate,
    );
    let answered = &e.should_answer;
    if answered.items < min {
        problems.push(msg!(
            ShouldAnswerTooSmall,
            items = answered.items,
            min = min
        ));
    }
    let refused = answered.items - answered.passed;
    if !rate_at_most(refused, answered.items, over_refusal) {
        problems.push(msg!(
            OverRefusal,
            rate = percent(refused, answered.items),
            max = as_percent(over_refusal)
        ));
    }
    evaluation_outcome(
        problems,
        msg!(
            RefusalEvaluated,
            refused = percent(e.should_refuse.passed, e.should_refuse.items),
            over_refused = percent(refused, answered.items),
            date = e.date
        ),
    )
}
