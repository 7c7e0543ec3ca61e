//! The formats: terminal table, Markdown, CSV, JSON, JUnit XML and HTML, all from one
//! [`Document`].

use serde::Serialize;

use super::text::{self, labels, message_text, remark, state_label, titles, yes_no};
use super::{DeploymentView, Document, ExpiringEvidence, Origin, RowView, terminal};
use crate::catalog::Lang;
use crate::evaluate::{Obligation, State, Summary};

/// Output formats of `check` and `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Csv,
    Json,
    Junit,
    Html,
}

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub format: Format,
    pub lang: Lang,
    pub terminal: terminal::Terminal,
}

impl Options {
    pub fn new(format: Format, lang: Lang) -> Self {
        Options {
            format,
            lang,
            terminal: terminal::Terminal::plain(),
        }
    }
}

pub fn render(doc: &Document, options: &Options) -> String {
    let lang = options.lang;
    match options.format {
        Format::Table => terminal::table(doc, lang, &options.terminal),
        Format::Markdown => markdown(doc, lang),
        Format::Csv => csv(doc, lang),
        Format::Json => json(doc, lang),
        Format::Junit => junit(doc, lang),
        Format::Html => super::html::page(doc, lang),
    }
}

/// The evaluation instant as shown: RFC 3339 to the second.
pub fn now_text(doc: &Document) -> String {
    doc.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `25 Algorithm filed for the version in service`.
pub fn obligation_text(id: Obligation, lang: Lang) -> String {
    format!("{} {}", id.label(), titles(id, lang).2)
}

/// The fleet's risk levels: `Critical 1, None 1`, levels with no deployment left out.
pub fn by_risk_text(doc: &Document, lang: Lang) -> String {
    let parts: Vec<String> = doc
        .by_risk()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{} {n}", text::risk_name(r, lang)))
        .collect();
    if parts.is_empty() {
        "–".to_owned()
    } else {
        parts.join(", ")
    }
}

pub fn expiring_text(e: &ExpiringEvidence, lang: Lang) -> String {
    let l = labels(lang);
    format!(
        "{}/{} ({} {}; {} {}): {} {} ({} {})",
        e.namespace,
        e.name,
        l.covers,
        e.covers.join(", "),
        l.targets,
        e.targets.join(", "),
        l.valid_until,
        e.valid_until,
        e.days_left,
        l.days_left
    )
}

pub fn finding_text(r: &RowView, lang: Lang) -> String {
    format!(
        "{} [{}] {}: {}",
        text::severity_name(r.severity, lang),
        state_label(r.state, lang),
        r.id.condition_type(),
        message_text(&r.message, lang)
    )
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(doc: &Document, lang: Lang) -> String {
    let l = labels(lang);
    let mut out = format!(
        "# {}\n\n{}\n\n",
        l.title,
        text::origin_line(&doc.origin, doc.deployments.len(), &now_text(doc), lang)
    );
    out.push_str(&format!("## {}\n\n", l.fleet));
    out.push_str(&format!(
        "- {}: {}\n",
        l.risk_levels,
        md_cell(&by_risk_text(doc, lang))
    ));
    let unmet: Vec<String> = doc
        .most_unmet(5)
        .into_iter()
        .map(|(id, n)| format!("{} ({n})", obligation_text(id, lang)))
        .collect();
    out.push_str(&format!(
        "- {}: {}\n",
        l.most_unmet,
        if unmet.is_empty() {
            l.none.to_owned()
        } else {
            md_cell(&unmet.join(", "))
        }
    ));
    out.push_str(&format!(
        "- {}:",
        text::expiring_heading(doc.expiring_days, lang)
    ));
    if doc.expiring.is_empty() {
        out.push_str(&format!(" {}\n", l.none));
    } else {
        out.push('\n');
        for e in &doc.expiring {
            out.push_str(&format!("  - {}\n", md_cell(&expiring_text(e, lang))));
        }
    }
    out.push('\n');
    for d in &doc.deployments {
        out.push_str(&format!("## {}\n\n", md_cell(&text::title(d, lang))));
        out.push_str(&format!("{}\n\n", md_cell(&text::verdict(d, lang))));
        out.push_str(&format!("{}: {}\n\n", l.source, md_cell(&d.source)));
        if let Some(note) = &d.note {
            out.push_str(&format!("> {}\n\n", md_cell(&message_text(note, lang))));
        }
        if !d.findings.is_empty() {
            out.push_str(&format!("### {}\n\n", l.findings));
            for id in &d.findings {
                if let Some(r) = d.row(*id) {
                    out.push_str(&format!("- {}\n", md_cell(&finding_text(r, lang))));
                }
            }
            out.push('\n');
        }
        if d.rows.is_empty() {
            continue;
        }
        out.push_str(&format!("### {}\n\n", l.table));
        let h = text::headers(lang);
        out.push_str(&format!(
            "| {} |\n|{}\n",
            h.join(" | "),
            "---|".repeat(h.len())
        ));
        for r in &d.rows {
            let (level1, level2, obligation) = titles(r.id, lang);
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.id.label(),
                md_cell(level1),
                md_cell(level2),
                md_cell(obligation),
                yes_no(r.applicable(), lang),
                state_label(r.state, lang),
                md_cell(&remark(r, lang))
            ));
        }
        out.push('\n');
    }
    if !doc.problems.is_empty() {
        out.push_str(&format!("## {}\n\n", l.problems));
        for p in &doc.problems {
            out.push_str(&format!("- {}\n", md_cell(&message_text(p, lang))));
        }
        out.push('\n');
    }
    out
}

/// The columns of the CSV export: one line per deployment and obligation.
pub const CSV_HEADER: [&str; 13] = [
    "namespace",
    "name",
    "row",
    "condition",
    "level1",
    "level2",
    "obligation",
    "applicable",
    "state",
    "severity",
    "reason",
    "remark",
    "evidenceValidUntil",
];

fn csv(doc: &Document, lang: Lang) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER).expect("write to memory");
    for d in &doc.deployments {
        for r in &d.rows {
            let (level1, level2, obligation) = titles(r.id, lang);
            writer
                .write_record([
                    d.namespace.as_str(),
                    d.name.as_str(),
                    &r.id.label(),
                    &r.id.condition_type(),
                    level1,
                    level2,
                    obligation,
                    yes_no(r.applicable(), lang),
                    state_label(r.state, lang),
                    text::severity_name(r.severity, lang),
                    &r.reason,
                    &remark(r, lang),
                    r.evidence
                        .as_ref()
                        .map(|e| e.valid_until.as_str())
                        .unwrap_or(""),
                ])
                .expect("write to memory");
        }
    }
    String::from_utf8(writer.into_inner().expect("flush to memory")).expect("UTF-8 in, UTF-8 out")
}

/// One line of the obligation table in JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRow<'a> {
    /// `37` or `8.1a`.
    row: String,
    condition: String,
    level1: &'static str,
    level2: &'static str,
    obligation: &'static str,
    applicable: bool,
    state: State,
    reason: &'a str,
    severity: &'static str,
    /// Remark, evidence, or what is missing.
    remark: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a super::EvidenceView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonDeployment<'a> {
    #[serde(flatten)]
    deployment: DeploymentView,
    compliant: String,
    findings: Vec<String>,
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFleet {
    by_risk: serde_json::Map<String, serde_json::Value>,
    most_unmet: Vec<JsonUnmet>,
    expiring_within_days: i64,
}

#[derive(Serialize)]
struct JsonUnmet {
    condition: String,
    deployments: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    origin: &'a Origin,
    evaluated_at: String,
    acceptable: bool,
    fleet: JsonFleet,
    expiring: &'a [ExpiringEvidence],
    deployments: Vec<JsonDeployment<'a>>,
    problems: Vec<String>,
}

fn json(doc: &Document, lang: Lang) -> String {
    let report = JsonReport {
        origin: &doc.origin,
        evaluated_at: now_text(doc),
        acceptable: doc.acceptable(),
        fleet: JsonFleet {
            by_risk: doc
                .by_risk()
                .into_iter()
                .map(|(r, n)| (r.as_str().to_owned(), n.into()))
                .collect(),
            most_unmet: doc
                .most_unmet(10)
                .into_iter()
                .map(|(id, n)| JsonUnmet {
                    condition: id.condition_type(),
                    deployments: n,
                })
                .collect(),
            expiring_within_days: doc.expiring_days,
        },
        expiring: &doc.expiring,
        deployments: doc
            .deployments
            .iter()
            .map(|d| JsonDeployment {
                deployment: DeploymentView {
                    note: d.note.as_ref().map(|n| message_text(n, lang)),
                    ..d.clone()
                },
                compliant: Summary::ratio(&d.summary),
                findings: d.findings.iter().map(|f| f.condition_type()).collect(),
                rows: d
                    .rows
                    .iter()
                    .map(|r| {
                        let (level1, level2, obligation) = titles(r.id, lang);
                        JsonRow {
                            row: r.id.label(),
                            condition: r.id.condition_type(),
                            level1,
                            level2,
                            obligation,
                            applicable: r.applicable(),
                            state: r.state,
                            reason: &r.reason,
                            severity: r.severity.as_str(),
                            remark: remark(r, lang),
                            evidence: r.evidence.as_ref(),
                        }
                    })
                    .collect(),
            })
            .collect(),
        problems: doc.problems.iter().map(|p| message_text(p, lang)).collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).expect("report serializes");
    text.push('\n');
    text
}

fn junit(doc: &Document, lang: Lang) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let name = match doc.origin {
        Origin::Manifests { .. } => "model-compliance-operator check",
        Origin::Cluster { .. } => "model-compliance-operator report",
    };
    let mut out = Report::new(name);
    for d in &doc.deployments {
        let mut suite = TestSuite::new(format!("{}/{}", d.namespace, d.name));
        for r in &d.rows {
            let message = message_text(&r.message, lang);
            let status = match r.state {
                State::Compliant | State::Excepted => TestCaseStatus::success(),
                State::NonCompliant => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(message.clone()).set_type(r.reason.clone());
                    s
                }
                State::NotApplicable | State::Unknown => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(message.clone()).set_type(r.reason.clone());
                    s
                }
            };
            let mut case = TestCase::new(r.id.condition_type(), status);
            case.set_classname(format!("{}.{}", d.namespace, d.name));
            match r.state {
                State::Excepted => {
                    case.set_system_out(message);
                }
                State::Compliant => {
                    case.set_system_out(remark(r, lang));
                }
                _ => {}
            }
            suite.add_test_case(case);
        }
        if let Some(note) = &d.note {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(message_text(note, lang))
                .set_type("NotEvaluated");
            suite.add_test_case(TestCase::new("Evaluated", s));
        }
        out.add_test_suite(suite);
    }
    if !doc.problems.is_empty() {
        let mut suite = TestSuite::new("input");
        for (i, p) in doc.problems.iter().enumerate() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(message_text(p, lang)).set_type("InputError");
            suite.add_test_case(TestCase::new(format!("problem-{}", i + 1), s));
        }
        out.add_test_suite(suite);
    }
    out.to_string().expect("JUnit report serializes")
}
