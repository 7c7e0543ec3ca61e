//! A report in Chinese says everything in Chinese: no English sentence is left in any format
//! of `check --lang zh` (table, Markdown, CSV, JSON, JUnit, HTML) nor in the regulator's
//! dossier, and every message and reason of every deployment in the examples and the
//! fixtures, and of the status written for it, has its Chinese text.
//!
//! What counts as English left is `i18n::english_prose`: two or more lowercase English words
//! in a row, or a lone English function word, outside identifiers (names, field paths,
//! condition types) and backticks. Text the policy's authors wrote (remarks, justifications)
//! is theirs, in whatever language they wrote it, and is not checked; nor are the keys and
//! identifiers that tools read (JSON keys, CSV header, HTML markup). A value of an API enum
//! (`Image`, `Crawled`, `Consent`) looks like an identifier, so the dossier, which shows the
//! declared values, is also checked for those by name.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use model_compliance_operator::api::{
    Acquisition, Audience, CompliancePolicy, LegalBasis, Modality, ModelDeployment,
};
use model_compliance_operator::catalog::Lang;
use model_compliance_operator::check::{Check, Manifests, load};
use model_compliance_operator::conditions::{self, Progress};
use model_compliance_operator::evaluate::{self, Evaluation, Inputs};
use model_compliance_operator::i18n;
use model_compliance_operator::view::dossier::Dossier;
use model_compliance_operator::view::{self, Format, Options, text};

const NOW: &str = "2026-12-01T00:00:00Z";

/// Every folder of valid manifests the tests read.
const INPUTS: &[&str] = &[
    "examples",
    "tests/fixtures/e2e-controller",
    "tests/fixtures/nulls",
];

/// Folders whose manifests have problems, which the report lists.
const INVALID: &[&str] = &["tests/fixtures/invalid-input", "tests/fixtures/invalid-crs"];

const FORMATS: [Format; 6] = [
    Format::Table,
    Format::Markdown,
    Format::Csv,
    Format::Json,
    Format::Junit,
    Format::Html,
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn now() -> Timestamp {
    NOW.parse().expect("valid instant")
}

/// The texts the authors of the manifests wrote, longest first, so that a text containing
/// another is removed whole: the policies' remarks and exceptions, and the prose declared in
/// ModelDeployments and ComplianceEvidence (descriptions, sources, licences, summaries).
fn authored(manifests: &Manifests) -> Vec<String> {
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
    let mut declared = Vec::new();
    for d in &manifests.model_deployments {
        json_strings(
            &serde_json::to_value(&d.object.spec).expect("JSON"),
            &mut declared,
        );
    }
    for e in &manifests.evidence {
        json_strings(
            &serde_json::to_value(&e.object.spec).expect("JSON"),
            &mut declared,
        );
    }
    // A value of one word is never prose; a text of several lines is shown whole, on one
    // line, or line by line.
    for text in declared.into_iter().filter(|t| t.trim().contains(' ')) {
        authored.extend(text.lines().map(str::to_owned));
        authored.push(text.replace('\n', " "));
        authored.push(text);
    }
    authored.retain(|t| !t.trim().is_empty());
    authored.sort_by_key(|t| std::cmp::Reverse(t.len()));
    authored.dedup();
    authored
}

/// The report of one folder of valid manifests, and the texts its policies' authors wrote.
fn report(input: &str) -> (Check, Vec<String>) {
    let manifests = load(&[root().join(input)]);
    assert!(
        manifests.problems.is_empty(),
        "{input}: {:?}",
        manifests.problems
    );
    let authored = authored(&manifests);
    (Check::new(manifests, now(), 30), authored)
}

/// The check in Chinese, in `format`.
fn rendered(check: &Check, format: Format) -> String {
    let mut out = Vec::new();
    check
        .render(&Options::new(format, Lang::Zh), &mut out)
        .expect("write to memory");
    String::from_utf8(out).expect("UTF-8")
}

/// Each deployment of a folder with its policy, its evaluation and the status the operator
/// writes for it.
fn evaluated(manifests: &Manifests) -> Vec<(ModelDeployment, CompliancePolicy, Evaluation)> {
    let evidence: Vec<_> = manifests
        .evidence
        .iter()
        .map(|e| e.object.clone())
        .collect();
    manifests
        .model_deployments
        .iter()
        .map(|d| {
            let policy = manifests
                .policies
                .iter()
                .find(|p| p.object.metadata.name.as_deref() == Some(&d.object.spec.policy_ref))
                .map(|p| p.object.clone())
                .expect("the policy is in the folder");
            let evaluation = evaluate::evaluate(Inputs {
                policy: &policy,
                deployment: &d.object,
                evidence: &evidence,
                snapshot: &manifests.snapshot,
                now: now(),
            });
            let progress = Progress::Applied {
                suspended: evaluate::suspended(&policy, &d.object, &evaluation),
            };
            let mut deployment = d.object.clone();
            deployment.status = Some(conditions::status(
                &evaluation,
                &progress,
                None,
                &[],
                &Time(now()),
            ));
            (deployment, policy, evaluation)
        })
        .collect()
}

/// Each string of a JSON document, keys left out: what a reader of the values sees.
fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

/// The text of an HTML page as a reader sees it: the style sheet and the markup left out,
/// each element's text on a line of its own.
fn html_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    if let (Some(a), Some(b)) = (rest.find("<style>"), rest.find("</style>")) {
        text.push_str(&rest[..a]);
        text.push('\n');
        rest = &rest[b..];
    }
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push('\n');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(&text)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// What a reader sees of a rendering, line by line.
fn readable(format: Format, text: &str) -> String {
    match format {
        Format::Table | Format::Markdown => text.to_owned(),
        Format::Html => html_text(text),
        Format::Junit => unescape(text),
        Format::Json => {
            let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
            let mut strings = Vec::new();
            json_strings(&value, &mut strings);
            strings.join("\n")
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .records()
                .flat_map(|r| {
                    r.expect("CSV")
                        .iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
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
fn a_chinese_report_has_no_english_sentence_in_any_format() {
    let mut failures = Vec::new();
    for input in INPUTS {
        let (report, authored) = report(input);
        assert!(!report.fleet().deployments.is_empty(), "{input}");
        for format in FORMATS {
            let text = rendered(&report, format);
            for line in english_lines(&readable(format, &text), &authored) {
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
fn a_chinese_report_of_invalid_input_lists_its_problems_in_chinese() {
    let mut failures = Vec::new();
    for input in INVALID {
        let manifests = load(&[root().join(input)]);
        assert!(!manifests.problems.is_empty(), "{input}");
        let authored = authored(&manifests);
        let report = Check::new(manifests, now(), 30);
        for format in FORMATS {
            let text = rendered(&report, format);
            for line in english_lines(&readable(format, &text), &authored) {
                failures.push(format!("{input} ({format:?}): {line}"));
            }
        }
    }
    let empty = Check::new(load(&[]), now(), 30);
    let text = rendered(&empty, Format::Table);
    for line in english_lines(&text, &[]) {
        failures.push(format!("no input: {line}"));
    }
    assert!(
        failures.is_empty(),
        "{} line(s) of a Chinese report still in English:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A Chinese dossier of a deployment of the examples or the fixtures.
struct ChineseDossier {
    /// `input ns/name`.
    label: String,
    deployment: ModelDeployment,
    /// The texts the authors of the manifests wrote, as [`authored`] lists them.
    authored: Vec<String>,
    /// What a reader sees of the Markdown and of the HTML.
    readable: Vec<(Format, String)>,
}

/// The Chinese dossier of every deployment of [`INPUTS`].
fn chinese_dossiers() -> Vec<ChineseDossier> {
    let mut dossiers = Vec::new();
    for input in INPUTS {
        let manifests = load(&[root().join(input)]);
        let authored = authored(&manifests);
        let evidence: Vec<_> = manifests
            .evidence
            .iter()
            .map(|e| e.object.clone())
            .collect();
        for (deployment, policy, _) in evaluated(&manifests) {
            let view = view::deployment_view(
                &deployment,
                Some(&policy),
                &evidence,
                now(),
                "cluster".to_owned(),
            );
            let dossier = Dossier::build(
                &deployment,
                Some(&policy),
                &evidence,
                &view,
                now(),
                Lang::Zh,
            );
            dossiers.push(ChineseDossier {
                label: format!("{input} {}/{}", view.namespace, view.name),
                deployment,
                authored: authored.clone(),
                readable: [
                    (Format::Markdown, dossier.markdown()),
                    (Format::Html, dossier.html()),
                ]
                .into_iter()
                .map(|(format, text)| (format, readable(format, &text)))
                .collect(),
            });
        }
    }
    assert!(!dossiers.is_empty());
    dossiers
}

#[test]
fn a_chinese_dossier_has_no_english_sentence() {
    let mut failures = Vec::new();
    for d in chinese_dossiers() {
        for (format, text) in &d.readable {
            for line in english_lines(text, &d.authored) {
                failures.push(format!("{} ({format:?}): {line}", d.label));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} line(s) of a Chinese dossier still in English:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every value of an API enum as manifests spell it, read from its schema: the `enum` list
/// of a plain enum, or the `const` of each variant of a documented one.
fn api_values<T: schemars::JsonSchema>() -> Vec<String> {
    fn collect(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(o) => {
                for (key, v) in o {
                    match (key.as_str(), v) {
                        ("const", serde_json::Value::String(s)) => out.push(s.clone()),
                        ("enum", serde_json::Value::Array(a)) => {
                            out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)))
                        }
                        _ => collect(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(&schemars::schema_for!(T).to_value(), &mut out);
    assert!(
        !out.is_empty(),
        "no values in the schema of {}",
        std::any::type_name::<T>()
    );
    out
}

/// The words of a text: its stretches of ASCII letters and digits, `.` kept inside so that a
/// field path (`spec.training.datasets`) is one word, not several.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
}

/// The values a text shows on their own: the items of its lists, table cells and sentence
/// parts, so that 公众 is found as a value and not inside 面向公众.
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '|', ',', '、', '，', '：', '；', '。'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
}

#[test]
fn a_chinese_dossier_names_the_declared_api_values_in_chinese() {
    let api_names: Vec<String> = [
        api_values::<Modality>(),
        api_values::<Audience>(),
        api_values::<Acquisition>(),
        api_values::<LegalBasis>(),
    ]
    .concat();
    let mut failures = Vec::new();
    let mut declared_values = 0;
    for d in chinese_dossiers() {
        let spec = &d.deployment.spec;
        let datasets = spec
            .training
            .as_ref()
            .map(|t| t.datasets.as_slice())
            .unwrap_or(&[]);
        let chinese: Vec<&str> = spec
            .model
            .modalities
            .iter()
            .map(|m| text::modality_name(*m, Lang::Zh))
            .chain(
                spec.service
                    .audiences
                    .iter()
                    .map(|a| text::audience_name(*a, Lang::Zh)),
            )
            .chain(
                datasets
                    .iter()
                    .filter_map(|ds| ds.acquisition)
                    .map(|a| text::acquisition_name(a, Lang::Zh)),
            )
            .chain(
                datasets
                    .iter()
                    .filter_map(|ds| ds.legal_basis)
                    .map(|b| text::legal_basis_name(b, Lang::Zh)),
            )
            .collect();
        declared_values += chinese.len();
        for (format, text) in &d.readable {
            let mut ours = text.clone();
            for a in &d.authored {
                ours = ours.replace(a.as_str(), "");
            }
            let english: Vec<&str> = words(&ours)
                .filter(|w| api_names.iter().any(|n| n == w))
                .collect();
            if !english.is_empty() {
                failures.push(format!("{} ({format:?}): API values {english:?}", d.label));
            }
            for zh in &chinese {
                if !zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
                    failures.push(format!("{}: {zh:?} is not Chinese", d.label));
                } else if !items(&ours).any(|i| i == *zh) {
                    failures.push(format!("{} ({format:?}): {zh:?} not shown", d.label));
                }
            }
        }
    }
    assert!(declared_values > 0);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_message_and_reason_has_its_chinese_text() {
    let mut messages = std::collections::BTreeSet::new();
    let mut reasons = std::collections::BTreeSet::new();
    let mut authored_all = Vec::new();
    let time = Time(now());
    for input in INPUTS {
        let manifests = load(&[root().join(input)]);
        authored_all.extend(authored(&manifests));
        for (_, _, evaluation) in evaluated(&manifests) {
            for decision in &evaluation.decisions {
                messages.insert(decision.message.clone());
                reasons.insert(decision.reason.to_owned());
            }
            for progress in [
                Progress::Applied { suspended: false },
                Progress::Applied { suspended: true },
            ] {
                for c in conditions::conditions(&evaluation, &progress, Some(1), &[], &time) {
                    messages.insert(c.message);
                    reasons.insert(c.reason);
                }
            }
        }
    }
    messages.remove("");
    authored_all.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let untranslated: Vec<&String> = messages
        .iter()
        .filter(|m| {
            i18n::translate(m).is_none_or(|zh| !english_lines(&zh, &authored_all).is_empty())
        })
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
