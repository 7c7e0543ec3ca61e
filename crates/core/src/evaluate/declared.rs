//! Rows decided from what the ModelDeployment declares, and rows 31 to 33 from recorded
//! evaluation results.

use k8s_openapi::jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{Ctx, Outcome, as_percent, join, percent, rate_at_least, rate_at_most};
use crate::api::{Audience, Dataset, LegalBasis, SampleResult};
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

/// Rows that ask one thing of every dataset (or of every dataset of a kind).
fn per_dataset(
    datasets: &[Dataset],
    applies: impl Fn(&Dataset) -> bool,
    ok: impl Fn(&Dataset) -> bool,
    none_apply: (&'static str, &'static str),
    met: (&'static str, &'static str),
    unmet: (&'static str, &'static str),
) -> Outcome {
    let relevant: Vec<&Dataset> = datasets.iter().filter(|ds| applies(ds)).collect();
    if relevant.is_empty() {
        return Outcome::not_applicable(none_apply.0, none_apply.1);
    }
    let failing: Vec<&str> = relevant
        .iter()
        .filter(|ds| !ok(ds))
        .map(|ds| ds.name.as_str())
        .collect();
    if failing.is_empty() {
        Outcome::met(
            met.0,
            format!(
                "{} of {} dataset(s) {}",
                relevant.len(),
                relevant.len(),
                met.1
            ),
        )
    } else {
        Outcome::unmet(
            unmet.0,
            format!("dataset(s) {} {}", list(&failing), unmet.1),
        )
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
        return Outcome::unmet(
            "NoDatasetsDeclared",
            "spec.training.datasets is empty: declare the training datasets",
        );
    };
    let all = |_: &Dataset| true;
    let personal = |ds: &Dataset| ds.contains_personal_info;
    const NO_PI: (&str, &str) = (
        "NoPersonalInformation",
        "no declared dataset contains personal information",
    );
    const NONE: (&str, &str) = ("", "");
    match row {
        4 => per_dataset(
            datasets,
            all,
            |ds| ds.acquisition.is_some() && ds.legal_basis.is_some(),
            NONE,
            (
                "SourcesLawful",
                "declare how they were acquired and on what legal basis",
            ),
            ("AcquisitionUndeclared", "lack acquisition or legalBasis"),
        ),
        6 => per_dataset(
            datasets,
            all,
            |ds| ds.license.is_some(),
            NONE,
            ("DatasetsLicensed", "declare a license"),
            ("LicenseMissing", "declare no license"),
        ),
        7 => per_dataset(
            datasets,
            personal,
            |ds| ds.legal_basis.is_some(),
            NO_PI,
            (
                "PersonalDataHasLegalBasis",
                "with personal information declare a legal basis",
            ),
            (
                "LegalBasisMissing",
                "contain personal information but declare no legalBasis",
            ),
        ),
        8 => per_dataset(
            datasets,
            |ds| ds.acquisition == Some(crate::api::Acquisition::Crawled),
            |ds| {
                ds.crawl_compliance.as_ref().is_some_and(|c| {
                    c.robots_respected && c.terms_respected && c.no_access_control_bypass
                })
            },
            ("NoCrawledData", "no declared dataset was crawled"),
            (
                "CrawlingCompliant",
                "crawled respected robots rules, terms and access controls",
            ),
            (
                "CrawlNotCompliant",
                "were crawled without declaring robotsRespected, termsRespected and noAccessControlBypass all true",
            ),
        ),
        9 => per_dataset(
            datasets,
            personal,
            |ds| ds.desensitized == Some(true),
            NO_PI,
            (
                "PersonalDataDesensitized",
                "with personal information are desensitized",
            ),
            (
                "NotDesensitized",
                "contain personal information but are not declared desensitized",
            ),
        ),
        10 => per_dataset(
            datasets,
            all,
            |ds| ds.validation_method.is_some(),
            NONE,
            ("DatasetsValidated", "declare a validation method"),
            ("ValidationMissing", "declare no validationMethod"),
        ),
        11 => per_dataset(
            datasets,
            all,
            |ds| ds.cleaning.is_some(),
            NONE,
            ("DatasetsCleaned", "declare a cleaning step"),
            ("CleaningMissing", "declare no cleaning step"),
        ),
        12 => {
            let max = ctx
                .policy()
                .parameters
                .training_data_max_age_days
                .unwrap_or(d::TRAINING_DATA_MAX_AGE_DAYS);
            let now = ctx.now();
            let mut problems = Vec::new();
            for ds in datasets {
                match ds
                    .last_updated
                    .as_deref()
                    .map(|day| (day, age_days(day, now)))
                {
                    None => problems.push(format!("{} declares no lastUpdated", ds.name)),
                    Some((day, None)) => {
                        problems.push(format!("{}: lastUpdated {day} is not a date", ds.name))
                    }
                    Some((day, Some(age))) if age < 0 => {
                        problems.push(format!("{}: lastUpdated {day} is in the future", ds.name))
                    }
                    Some((day, Some(age))) if age > i64::from(max) => problems.push(format!(
                        "{} last updated {day}, {age} days ago (max {max})",
                        ds.name
                    )),
                    Some(_) => {}
                }
            }
            if problems.is_empty() {
                Outcome::met(
                    "DataFresh",
                    format!("every dataset updated within {max} days"),
                )
            } else {
                Outcome::unmet("DataStale", join(problems.into_iter()))
            }
        }
        13 => {
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
        14 => per_dataset(
            datasets,
            all,
            |ds| ds.provenance_ref.is_some(),
            NONE,
            ("ProvenanceRecorded", "declare a provenance record"),
            ("ProvenanceMissing", "declare no provenanceRef"),
        ),
        15 => per_dataset(
            datasets,
            personal,
            |ds| {
                matches!(
                    ds.legal_basis,
                    Some(LegalBasis::Consent | LegalBasis::LegalDuty)
                )
            },
            NO_PI,
            (
                "PersonalDataConsented",
                "with personal information rest on consent or a legal duty",
            ),
            (
                "ConsentMissing",
                "contain personal information without Consent or LegalDuty as legalBasis",
            ),
        ),
        _ => unreachable!(),
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
