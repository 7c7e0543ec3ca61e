//! A report in Chinese says everything in Chinese: no English sentence is left in the table
//! or the Markdown of `check --lang zh`, and every message and reason of every deployment in
//! the examples and the fixtures, and of the status written for it, has its Chinese text.
//!
//! What counts as English left is `i18n::english_prose`: two or more lowercase English words
//! in a row, or a lone English function word, outside identifiers (names, field paths,
//! condition types) and backticks. Text the policy's authors wrote (remarks, justifications)
//! is theirs, in whatever language they wrote it, and is not checked.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use model_compliance_operator::catalog::Lang;
use model_compliance_operator::check::{self, Format, Report, load};
use model_compliance_operator::conditions::{self, Progress};
use model_compliance_operator::i18n;

const NOW: &str = "2026-12-01T00:00:00Z";

/// Every folder of valid manifests the tests read.
const INPUTS: &[&str] = &[
    "examples",
    "tests/fixtures/e2e-controller",
    "tests/fixtures/nulls",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The report of one folder, and the texts its policies' authors wrote.
fn report(input: &str) -> (Report, Vec<String>) {
    let manifests = load(&[root().join(input)]);
    assert!(
        manifests.problems.is_empty(),
        "{input}: {:?}",
        manifests.problems
    );
    let mut authored = Vec::new();
    for p in &manifests.policies {
        let spec = &p.object.spec;
        authored.extend(spec.rows.iter().filter_map(|r| r.remark.clone()));
        authored.extend(spec.measures.iter().filter_map(|m| m.remark.clone()));
        for e in &spec.exceptions {
            authored.push(e.justification.clone());
            authored.push(e.approved_by.clone());
        }
    }
    // Longest first, so that a remark containing another is removed whole.
    authored.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let now: Timestamp = NOW.parse().expect("valid instant");
    (check::evaluate_manifests(manifests, now), authored)
}

/// The lines of `text` that still hold English prose, with what was found.
fn english_lines(text: &str, authored: &[String]) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut ours = line.to_owned();
            for a in authored {
                ours = ours.replace(a.as_str(), "");
            }
            let found = i18n::english_prose(&ours);
            (!found.is_empty()).then(|| format!("{found:?} in: {}", line.trim()))
        })
        .collect()
}

#[test]
fn a_chinese_report_has_no_english_sentence() {
    let mut failures = Vec::new();
    for input in INPUTS {
        let (report, authored) = report(input);
        assert!(!report.deployments.is_empty(), "{input}");
        for format in [Format::Table, Format::Markdown] {
            let text = check::render::render(&report, format, Lang::Zh);
            for line in english_lines(&text, &authored) {
                failures.push(format!("{input} ({format:?}): {line}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} line(s) of a Chinese report still in English:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_message_and_reason_has_its_chinese_text() {
    let mut messages = std::collections::BTreeSet::new();
    let mut reasons = std::collections::BTreeSet::new();
    let mut authored = Vec::new();
    let now = Time(NOW.parse().expect("valid instant"));
    for input in INPUTS {
        let (report, texts) = report(input);
        authored.extend(texts);
        for d in &report.deployments {
            for decision in &d.evaluation.decisions {
                messages.insert(decision.message.clone());
                reasons.insert(decision.reason.to_owned());
            }
            for progress in [
                Progress::Applied { suspended: false },
                Progress::Applied { suspended: true },
            ] {
                for c in conditions::conditions(&d.evaluation, &progress, Some(1), &[], &now) {
                    messages.insert(c.message);
                    reasons.insert(c.reason);
                }
            }
        }
    }
    messages.remove("");
    authored.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let untranslated: Vec<&String> = messages
        .iter()
        .filter(|m| i18n::translate(m).is_none_or(|zh| !english_lines(&zh, &authored).is_empty()))
        .collect();
    let unknown: Vec<&String> = reasons
        .iter()
        .filter(|r| i18n::reason_text(r, Lang::Zh).is_none())
        .collect();
    assert!(
        untranslated.is_empty() && unknown.is_empty(),
        "of {} messages, not translated:\n{untranslated:#?}\nof {} reasons, without a text: {unknown:?}",
        messages.len(),
        reasons.len()
    );
    eprintln!(
        "{} distinct messages and {} distinct reasons translated",
        messages.len(),
        reasons.len()
    );
}
