//! The formats: terminal table, Markdown, CSV, JSON, JUnit XML and HTML. Each writes the
//! [`Fleet`] first and then the deployments one at a time as they come, so that `check` of a
//! large fleet holds one deployment's view at a time, not the whole report.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Write};

use serde::Serialize;
use serde::ser::SerializeSeq;

use super::text::{self, labels, message_text, remark, state_label, titles, yes_no};
use super::{DeploymentView, Document, ExpiringEvidence, Fleet, Origin, RowView, terminal};
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

/// The deployments to render, in order, each made when it is needed.
pub type Views<'a> = dyn Iterator<Item = Cow<'a, DeploymentView>> + 'a;

/// Renders a document held in memory.
pub fn render(doc: &Document, options: &Options) -> String {
    let mut out = Vec::new();
    render_to(
        &doc.fleet,
        &mut doc.deployments.iter().map(Cow::Borrowed),
        options,
        &mut out,
    )
    .expect("write to memory");
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// Writes the fleet, then each deployment as `views` yields it.
pub fn render_to(
    fleet: &Fleet,
    views: &mut Views<'_>,
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let lang = options.lang;
    match options.format {
        Format::Table => terminal::table(fleet, views, lang, &options.terminal, out),
        Format::Markdown => markdown(fleet, views, lang, out),
        Format::Csv => csv(views, lang, out),
        Format::Json => json(fleet, views, lang, out),
        Format::Junit => junit(fleet, views, lang, out),
        Format::Html => super::html::page(fleet, views, lang, out),
    }
}

/// The evaluation instant as shown: RFC 3339 to the second.
pub fn now_text(fleet: &Fleet) -> String {
    fleet.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `25 Algorithm filed for the version in service`.
pub fn obligation_text(id: Obligation, lang: Lang) -> String {
    format!("{} {}", id.label(), titles(id, lang).2)
}

/// The fleet's risk levels: `Critical 1, None 1`, levels with no deployment left out.
pub fn by_risk_text(fleet: &Fleet, lang: Lang) -> String {
    let parts: Vec<String> = fleet
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

fn markdown(
    fleet: &Fleet,
    views: &mut Views<'_>,
    lang: Lang,
    out: &mut dyn Write,
) -> io::Result<()> {
    let l = labels(lang);
    let mut head = format!(
        "# {}\n\n{}\n\n",
        l.title,
        text::origin_line(
            &fleet.origin,
            fleet.deployments.len(),
            &now_text(fleet),
            lang
        )
    );
    head.push_str(&format!("## {}\n\n", l.fleet));
    head.push_str(&format!(
        "- {}: {}\n",
        l.risk_levels,
        md_cell(&by_risk_text(fleet, lang))
    ));
    let unmet: Vec<String> = fleet
        .most_unmet(5)
        .into_iter()
        .map(|(id, n)| format!("{} ({n})", obligation_text(id, lang)))
        .collect();
    head.push_str(&format!(
        "- {}: {}\n",
        l.most_unmet,
        if unmet.is_empty() {
            l.none.to_owned()
        } else {
            md_cell(&unmet.join(", "))
        }
    ));
    head.push_str(&format!(
        "- {}:",
        text::expiring_heading(fleet.expiring_days, lang)
    ));
    if fleet.expiring.is_empty() {
        head.push_str(&format!(" {}\n", l.none));
    } else {
        head.push('\n');
        for e in &fleet.expiring {
            head.push_str(&format!("  - {}\n", md_cell(&expiring_text(e, lang))));
        }
    }
    head.push('\n');
    out.write_all(head.as_bytes())?;
    for d in views {
        out.write_all(markdown_deployment(&d, lang).as_bytes())?;
    }
    if !fleet.problems.is_empty() {
        let mut tail = format!("## {}\n\n", l.problems);
        for p in &fleet.problems {
            tail.push_str(&format!("- {}\n", md_cell(&message_text(p, lang))));
        }
        tail.push('\n');
        out.write_all(tail.as_bytes())?;
    }
    Ok(())
}

fn markdown_deployment(d: &DeploymentView, lang: Lang) -> String {
    let l = labels(lang);
    let mut out = format!("## {}\n\n", md_cell(&text::title(d, lang)));
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
        return out;
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

fn csv(views: &mut Views<'_>, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for d in views {
        for r in &d.rows {
            let (level1, level2, obligation) = titles(r.id, lang);
            writer.write_record([
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
            ])?;
        }
    }
    writer.flush()
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
    /// The view, its note in the reader's language.
    #[serde(flatten)]
    deployment: Cow<'a, DeploymentView>,
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
struct JsonReport<'a, 'v> {
    origin: &'a Origin,
    evaluated_at: String,
    acceptable: bool,
    fleet: JsonFleet,
    expiring: &'a [ExpiringEvidence],
    deployments: JsonDeployments<'a, 'v>,
    problems: Vec<String>,
}

/// The deployments, serialized one at a time as the views come.
struct JsonDeployments<'a, 'v> {
    views: RefCell<&'a mut Views<'v>>,
    lang: Lang,
}

impl Serialize for JsonDeployments<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut views = self.views.borrow_mut();
        let mut seq = serializer.serialize_seq(None)?;
        for d in &mut **views {
            seq.serialize_element(&json_deployment(&d, self.lang))?;
        }
        seq.end()
    }
}

fn json_deployment(d: &DeploymentView, lang: Lang) -> JsonDeployment<'_> {
    let deployment = match &d.note {
        Some(note) => Cow::Owned(DeploymentView {
            note: Some(message_text(note, lang)),
            ..d.clone()
        }),
        None => Cow::Borrowed(d),
    };
    JsonDeployment {
        deployment,
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
    }
}

fn json(fleet: &Fleet, views: &mut Views<'_>, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    let report = JsonReport {
        origin: &fleet.origin,
        evaluated_at: now_text(fleet),
        acceptable: fleet.acceptable(),
        fleet: JsonFleet {
            by_risk: fleet
                .by_risk()
                .into_iter()
                .map(|(r, n)| (r.as_str().to_owned(), n.into()))
                .collect(),
            most_unmet: fleet
                .most_unmet(10)
                .into_iter()
                .map(|(id, n)| JsonUnmet {
                    condition: id.condition_type(),
                    deployments: n,
                })
                .collect(),
            expiring_within_days: fleet.expiring_days,
        },
        expiring: &fleet.expiring,
        deployments: JsonDeployments {
            views: RefCell::new(views),
            lang,
        },
        problems: fleet
            .problems
            .iter()
            .map(|p| message_text(p, lang))
            .collect(),
    };
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &report)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The JUnit report, written a suite at a time: quick-junit writes the whole document, so
/// the root element (whose totals come from the fleet) and each suite are cut from documents
/// of their own.
fn junit(fleet: &Fleet, views: &mut Views<'_>, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let name = match fleet.origin {
        Origin::Manifests { .. } => "model-compliance-operator check",
        Origin::Cluster { .. } => "model-compliance-operator report",
    };
    let problems = fleet.problems.len();
    let mut root = Report::new(name);
    root.tests = fleet.rows.total() + fleet.notes + problems;
    root.failures = fleet.rows.non_compliant;
    root.skipped = fleet.rows.not_applicable + fleet.rows.unknown;
    root.errors = fleet.notes + problems;
    let root = to_xml(&root)?;
    let (head, tail) = split_root(&root);
    out.write_all(head.as_bytes())?;
    let mut suite_xml = |suite: TestSuite| -> io::Result<()> {
        let mut one = Report::new(name);
        one.add_test_suite(suite);
        let xml = to_xml(&one)?;
        let (head, tail) = split_root(&xml);
        out.write_all(&xml.as_bytes()[head.len()..xml.len() - tail.len()])
    };
    for d in views {
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
        suite_xml(suite)?;
    }
    if problems > 0 {
        let mut suite = TestSuite::new("input");
        for (i, p) in fleet.problems.iter().enumerate() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(message_text(p, lang)).set_type("InputError");
            suite.add_test_case(TestCase::new(format!("problem-{}", i + 1), s));
        }
        suite_xml(suite)?;
    }
    out.write_all(tail.as_bytes())
}

fn to_xml(report: &quick_junit::Report) -> io::Result<String> {
    report.to_string().map_err(io::Error::other)
}

/// A JUnit document's text up to the end of the `<testsuites …>` tag, and from the line break
/// before `</testsuites>` on: what lies between is its suites.
fn split_root(xml: &str) -> (&str, &str) {
    let open = xml.find("<testsuites").unwrap_or(0);
    let head = xml[open..].find('>').map_or(xml.len(), |n| open + n + 1);
    let mut tail = xml.rfind("</testsuites>").unwrap_or(xml.len()).max(head);
    if tail > head && xml[..tail].ends_with('\n') {
        tail -= 1;
    }
    (&xml[..head], &xml[tail..])
}
