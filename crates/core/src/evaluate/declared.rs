//! Rows decided from what the ModelDeployment declares, and rows 31 to 33 from recorded
//! evaluation results.

use k8s_openapi::jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{Ctx, Outcome, as_percent, join, percent, rate_at_least, rate_at_most};
use crate::api::{Acquisition, Audience, Dataset, LegalBasis, SampleResult};
use crate::catalog::defaults as d;

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
fn list(names: &[&str]) -> String {
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
        out.push_str(&format!(" and {} more", names.len() - shown));
    }
    out
}

/// A row that asks one thing of every dataset it concerns.
struct DatasetRule {
    row: u8,
    /// Which datasets the row concerns; `None`: every one.
    concerns: Option<Concern>,
    /// Why a dataset fails the row; `None` when it meets it.
    fails: fn(&Dataset, &Ctx) -> Option<String>,
    /// Reason and message when every dataset concerned meets the row.
    met: (&'static str, Met),
    /// Reason when some dataset fails, and how the failures are told.
    unmet: (&'static str, Told),
}

/// A kind of dataset some rows are about, and what is said when there is none.
struct Concern {
    applies: fn(&Dataset) -> bool,
    none: (&'static str, &'static str),
}

enum Met {
    /// "n of n dataset(s) ..." followed by this.
    Counted(&'static str),
    /// A message of its own, e.g. naming a policy parameter.
    Said(fn(&Ctx) -> String),
}

enum Told {
    /// Datasets failing the same way are named together: "dataset(s) a, b <why>".
    ByName,
    /// Each failure is a sentence of its own, naming its dataset.
    Each,
}

const PERSONAL: Option<Concern> = Some(Concern {
    applies: |ds| ds.contains_personal_info,
    none: (
        "NoPersonalInformation",
        "no declared dataset contains personal information",
    ),
});

const CRAWLED: Option<Concern> = Some(Concern {
    applies: |ds| ds.acquisition == Some(Acquisition::Crawled),
    none: ("NoCrawledData", "no declared dataset was crawled"),
});

/// `why` unless the dataset meets the row.
fn unless(ok: bool, why: &str) -> Option<String> {
    (!ok).then(|| why.to_owned())
}

/// Rows 4 to 15, except 5 (evidence only) and 13 (judged over all datasets together).
const DATASET_RULES: &[DatasetRule] = &[
    DatasetRule {
        row: 4,
        concerns: None,
        fails: |ds, _| {
            unless(
                ds.acquisition.is_some() && ds.legal_basis.is_some(),
                "lack acquisition or legalBasis",
            )
        },
        met: (
            "SourcesLawful",
            Met::Counted("declare how they were acquired and on what legal basis"),
        ),
        unmet: ("AcquisitionUndeclared", Told::ByName),
    },
    DatasetRule {
        row: 6,
        concerns: None,
        fails: |ds, _| unless(ds.license.is_some(), "declare no license"),
        met: ("DatasetsLicensed", Met::Counted("declare a license")),
        unmet: ("LicenseMissing", Told::ByName),
    },
    DatasetRule {
        row: 7,
        concerns: PERSONAL,
        fails: |ds, _| {
            unless(
                ds.legal_basis.is_some(),
                "contain personal information but declare no legalBasis",
            )
        },
        met: (
            "PersonalDataHasLegalBasis",
            Met::Counted("with personal information declare a legal basis"),
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
            unless(
                compliant,
                "were crawled without declaring robotsRespected, termsRespected and noAccessControlBypass all true",
            )
        },
        met: (
            "CrawlingCompliant",
            Met::Counted("crawled respected robots rules, terms and access controls"),
        ),
        unmet: ("CrawlNotCompliant", Told::ByName),
    },
    DatasetRule {
        row: 9,
        concerns: PERSONAL,
        fails: |ds, _| {
            unless(
                ds.desensitized == Some(true),
                "contain personal information but are not declared desensitized",
            )
        },
        met: (
            "PersonalDataDesensitized",
            Met::Counted("with personal information are desensitized"),
        ),
        unmet: ("NotDesensitized", Told::ByName),
    },
    DatasetRule {
        row: 10,
        concerns: None,
        fails: |ds, _| {
            unless(
                ds.validation_method.is_some(),
                "declare no validationMethod",
            )
        },
        met: (
            "DatasetsValidated",
            Met::Counted("declare a validation method"),
        ),
        unmet: ("ValidationMissing", Told::ByName),
    },
    DatasetRule {
        row: 11,
        concerns: None,
        fails: |ds, _| unless(ds.cleaning.is_some(), "declare no cleaning step"),
        met: ("DatasetsCleaned", Met::Counted("declare a cleaning step")),
        unmet: ("CleaningMissing", Told::ByName),
    },
    DatasetRule {
        row: 12,
        concerns: None,
        fails: stale,
        met: (
            "DataFresh",
            Met::Said(|ctx| {
                format!(
                    "every dataset updated within {} days",
                    training_data_max_age(ctx)
                )
            }),
        ),
        unmet: ("DataStale", Told::Each),
    },
    DatasetRule {
        row: 14,
        concerns: None,
        fails: |ds, _| unless(ds.provenance_ref.is_some(), "declare no provenanceRef"),
        met: (
            "ProvenanceRecorded",
            Met::Counted("declare a provenance record"),
        ),
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
                "contain personal information without Consent or LegalDuty as legalBasis",
            )
        },
        met: (
            "PersonalDataConsented",
            Met::Counted("with personal information rest on consent or a legal duty"),
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
fn stale(ds: &Dataset, ctx: &Ctx) -> Option<String> {
    let max = training_data_max_age(ctx);
    let Some(day) = ds.last_updated.as_deref() else {
        return Some(format!("{} declares no lastUpdated", ds.name));
    };
    match age_days(day, ctx.now()) {
        None => Some(format!("{}: lastUpdated {day} is not a date", ds.name)),
        Some(age) if age < 0 => Some(format!("{}: lastUpdated {day} is in the future", ds.name)),
        Some(age) if age > i64::from(max) => Some(format!(
            "{} last updated {day}, {age} days ago (max {max})",
            ds.name
        )),
        Some(_) => None,
    }
}

fn datasets(ctx: &Ctx, row: u8) -> Outcome {
    let Some(datasets) = ctx
        .spec()
        .training
        .as_ref()
        .map(|t| t.datasets.as_slice())
        .filter(|d| !d.is_empty())
    else {
        return Outcome::unmet("NoDatasetsDeclared", "declare spec.training.datasets");
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
        return Outcome::not_applicable(concern.none.0, concern.none.1);
    }
    let failing: Vec<(&str, String)> = relevant
        .iter()
        .filter_map(|ds| Some((ds.name.as_str(), (rule.fails)(ds, ctx)?)))
        .collect();
    let (met_reason, met) = &rule.met;
    let (unmet_reason, told) = &rule.unmet;
    if failing.is_empty() {
        let message = match met {
            Met::Counted(what) => {
                format!("{} of {} dataset(s) {what}", relevant.len(), relevant.len())
            }
            Met::Said(say) => say(ctx),
        };
        return Outcome::met(met_reason, message);
    }
    let message = match told {
        Told::ByName => by_name(&failing),
        Told::Each => join(failing.into_iter().map(|(_, why)| why)),
    };
    Outcome::unmet(unmet_reason, message)
}

/// "dataset(s) a, b <why>" for each way datasets fail, in the order first met.
fn by_name(failing: &[(&str, String)]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, why) in failing {
        match groups.iter_mut().find(|(w, _)| w == why) {
            Some((_, names)) => names.push(name),
            None => groups.push((why, vec![name])),
        }
    }
    let mut parts: Vec<String> = groups
        .into_iter()
        .map(|(why, names)| format!("dataset(s) {} {why}", list(&names)))
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
            format!("{} distinct sources (min {min})", sources.len()),
        )
    } else {
        Outcome::unmet(
            "TooFewSources",
            format!(
                "{} distinct source(s) declared ({}); the policy asks for at least {min}",
                sources.len(),
                list(&sources)
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
        return Outcome::unmet(
            "NoAnnotationBatches",
            "spec.training.annotationBatches is empty: record the sampling of every annotation batch",
        );
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
            problems.push(format!("batch {} was not sampled", b.id));
        } else if !rate_at_most(b.illegal_items, b.sampled_items, max) {
            if b.voided {
                voided += 1;
            } else {
                problems.push(format!(
                    "batch {} has {} illegal content in its sample (max {}) and is not voided",
                    b.id,
                    percent(b.illegal_items, b.sampled_items),
                    as_percent(max)
                ));
            }
        }
    }
    if problems.is_empty() {
        Outcome::met(
            "BatchesSampled",
            format!(
                "{} batch(es) sampled; {voided} over the limit voided",
                batches.len()
            ),
        )
    } else {
        Outcome::unmet("BatchNotVoided", join(problems.into_iter()))
    }
}

fn security_assessment(ctx: &Ctx) -> Outcome {
    let Some(a) = ctx.spec().service.security_assessment.as_ref() else {
        return Outcome::unmet(
            "AssessmentMissing",
            "spec.service.securityAssessment is not declared",
        );
    };
    let max = ctx
        .policy()
        .parameters
        .security_assessment_max_age_days
        .unwrap_or(d::SECURITY_ASSESSMENT_MAX_AGE_DAYS);
    match age_days(&a.date, ctx.now()) {
        None => Outcome::unmet(
            "AssessmentDateInvalid",
            format!("securityAssessment.date {} is not a date", a.date),
        ),
        Some(age) if age > i64::from(max) => Outcome::unmet(
            "AssessmentStale",
            format!(
                "security assessment of {} is {age} days old (max {max}): assess again",
                a.date
            ),
        ),
        Some(age) if age < 0 => Outcome::unmet(
            "AssessmentInFuture",
            format!("security assessment date {} is in the future", a.date),
        ),
        Some(_) => Outcome::met(
            "AssessmentCurrent",
            format!("assessment {} of {}", a.reference, a.date),
        ),
    }
}

fn filing(ctx: &Ctx) -> Outcome {
    let service = &ctx.spec().service;
    if !service.public {
        return Outcome::not_applicable(
            "NotPublicService",
            "the service is not offered to the public",
        );
    }
    let Some(number) = service.filing_number.as_deref() else {
        return Outcome::unmet("FilingMissing", "spec.service.filingNumber is not declared");
    };
    let version = &ctx.spec().model.version;
    match service.filed_model_version.as_deref() {
        None => Outcome::unmet(
            "FiledVersionMissing",
            format!(
                "filing {number} declares no filedModelVersion: state which model version the filing covers"
            ),
        ),
        Some(filed) if filed != version => Outcome::unmet(
            "RefilingRequired",
            format!(
                "filing {number} covers model version {filed} but version {version} is served: file the change"
            ),
        ),
        Some(_) => Outcome::met("Filed", format!("filing {number} covers version {version}")),
    }
}

fn disclosure(ctx: &Ctx) -> Outcome {
    match ctx.spec().service.disclosure_url.as_deref() {
        Some(url) => Outcome::met("UsagePublished", format!("published at {url}")),
        None => Outcome::unmet(
            "DisclosureMissing",
            "spec.service.disclosureUrl is not declared",
        ),
    }
}

fn input_retention(ctx: &Ctx) -> Outcome {
    let max = ctx
        .policy()
        .parameters
        .input_retention_max_days
        .unwrap_or(d::INPUT_RETENTION_MAX_DAYS);
    match ctx.spec().service.input_retention_days {
        None => Outcome::unmet(
            "RetentionUndeclared",
            "spec.service.inputRetentionDays is not declared",
        ),
        Some(days) if days > max => Outcome::unmet(
            "RetentionTooLong",
            format!("user input is kept {days} days; the policy allows at most {max}"),
        ),
        Some(days) => Outcome::met(
            "RetentionLimited",
            format!("user input kept {days} days (max {max})"),
        ),
    }
}

fn channel(ctx: &Ctx, row: u8) -> Outcome {
    let service = &ctx.spec().service;
    let params = &ctx.policy().parameters;
    let (channel, field, max) = if row == 36 {
        (
            service.personal_info_channel.as_ref(),
            "personalInfoChannel",
            params
                .personal_info_request_max_days
                .unwrap_or(d::PERSONAL_INFO_REQUEST_MAX_DAYS),
        )
    } else {
        (
            service.complaint_channel.as_ref(),
            "complaintChannel",
            params
                .complaint_response_max_days
                .unwrap_or(d::COMPLAINT_RESPONSE_MAX_DAYS),
        )
    };
    match channel {
        None => Outcome::unmet(
            "ChannelMissing",
            format!("spec.service.{field} is not declared"),
        ),
        Some(c) if c.response_days > max => Outcome::unmet(
            "ResponseTooSlow",
            format!(
                "{field} promises an answer in {} days; the policy allows at most {max}",
                c.response_days
            ),
        ),
        Some(c) => Outcome::met(
            "ChannelOpen",
            format!(
                "{} answers within {} days (max {max})",
                c.url, c.response_days
            ),
        ),
    }
}

fn minors(ctx: &Ctx) -> Outcome {
    let service = &ctx.spec().service;
    if !service.audiences.contains(&Audience::Minors) {
        return Outcome::not_applicable(
            "MinorsNotAdmitted",
            "the declared audiences do not include minors",
        );
    }
    let Some(p) = service.minors_protection.as_ref() else {
        return Outcome::unmet(
            "MinorsProtectionMissing",
            "audiences include Minors but spec.service.minorsProtection is not declared",
        );
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
        Outcome::met(
            "MinorsProtected",
            "minors mode, time limits and age-appropriate content enabled",
        )
    } else {
        Outcome::unmet(
            "MinorsProtectionIncomplete",
            format!("minorsProtection lacks {}", missing.join(", ")),
        )
    }
}

fn supervision(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let mut missing = Vec::new();
    if spec.model.algorithm_description.is_none() {
        missing.push("model.algorithmDescription".to_owned());
    }
    match spec.training.as_ref() {
        None => missing.push("training (datasets and annotation rules)".to_owned()),
        Some(t) => {
            if t.annotation_rules_ref.is_none() {
                missing.push("training.annotationRulesRef".to_owned());
            }
            if t.datasets.is_empty() {
                missing.push("training.datasets".to_owned());
            }
            let unsized_sets: Vec<&str> = t
                .datasets
                .iter()
                .filter(|ds| ds.records.is_none() || ds.source.is_none())
                .map(|ds| ds.name.as_str())
                .collect();
            if !unsized_sets.is_empty() {
                missing.push(format!(
                    "records and source of dataset(s) {}",
                    list(&unsized_sets)
                ));
            }
        }
    }
    if missing.is_empty() {
        Outcome::met(
            "ReportComplete",
            "sources, scale, annotation rules and algorithm declared for the regulator report",
        )
    } else {
        Outcome::unmet(
            "ReportIncomplete",
            format!("the regulator report lacks {}", missing.join(", ")),
        )
    }
}

fn sample_check(
    problems: &mut Vec<String>,
    what: &str,
    s: &SampleResult,
    min_items: i64,
    min_rate: f64,
) {
    if s.items < min_items {
        problems.push(format!(
            "{what} sample has {} items (min {min_items})",
            s.items
        ));
    }
    if !rate_at_least(s.passed, s.items, min_rate) {
        problems.push(format!(
            "{what} pass rate {} is below {}",
            percent(s.passed, s.items),
            as_percent(min_rate)
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
        return Outcome::unmet(
            "EvaluationMissing",
            "no corpus safety evaluation recorded in spec.evaluation.corpus",
        );
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
    sample_check(&mut problems, "manual", &e.manual, manual_min, manual_rate);
    if !rate_at_least(e.automated.items, e.corpus_size, auto_ratio) {
        problems.push(format!(
            "automated sample covers {} of the corpus (min {})",
            percent(e.automated.items, e.corpus_size),
            as_percent(auto_ratio)
        ));
    }
    sample_check(&mut problems, "automated", &e.automated, 0, auto_rate);
    evaluation_outcome(
        problems,
        format!(
            "manual {} of {} passed, automated {} of {} ({} of the corpus) on {}",
            percent(e.manual.passed, e.manual.items),
            e.manual.items,
            percent(e.automated.passed, e.automated.items),
            e.automated.items,
            percent(e.automated.items, e.corpus_size),
            e.date
        ),
    )
}

fn content_evaluation(ctx: &Ctx) -> Outcome {
    let Some(e) = ctx.spec().evaluation.generated_content.as_ref() else {
        return Outcome::unmet(
            "EvaluationMissing",
            "no generated-content safety evaluation recorded in spec.evaluation.generatedContent",
        );
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
    sample_check(&mut problems, "manual", &e.manual, min, rate);
    sample_check(&mut problems, "keyword", &e.keyword, min, rate);
    sample_check(&mut problems, "classifier", &e.classifier, min, rate);
    evaluation_outcome(
        problems,
        format!(
            "manual {}, keyword {}, classifier {} passed on {}",
            percent(e.manual.passed, e.manual.items),
            percent(e.keyword.passed, e.keyword.items),
            percent(e.classifier.passed, e.classifier.items),
            e.date
        ),
    )
}

fn refusal_evaluation(ctx: &Ctx) -> Outcome {
    let Some(e) = ctx.spec().evaluation.refusal.as_ref() else {
        return Outcome::unmet(
            "EvaluationMissing",
            "no refusal evaluation recorded in spec.evaluation.refusal",
        );
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
        "should-refuse",
        &e.should_refuse,
        min,
        refuse_rate,
    );
    let answered = &e.should_answer;
    if answered.items < min {
        problems.push(format!(
            "should-answer set has {} items (min {min})",
            answered.items
        ));
    }
    let refused = answered.items - answered.passed;
    if !rate_at_most(refused, answered.items, over_refusal) {
        problems.push(format!(
            "{} of should-answer items refused (max {})",
            percent(refused, answered.items),
            as_percent(over_refusal)
        ));
    }
    evaluation_outcome(
        problems,
        format!(
            "refused {} of should-refuse items and {} of should-answer items on {}",
            percent(e.should_refuse.passed, e.should_refuse.items),
            percent(refused, answered.items),
            e.date
        ),
    )
}
