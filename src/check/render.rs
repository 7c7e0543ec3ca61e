//! The Annex A table in four formats: terminal table, Markdown, JSON and JUnit XML.

use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::{DeploymentReport, Format, Report};
use crate::catalog::{self, Lang};
use crate::evaluate::{Decision, Obligation, State};
use crate::i18n;

/// One line of the obligation table, as every format shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableRow {
    /// `37` or `8.1a`.
    pub row: String,
    pub condition: String,
    pub level1: String,
    pub level2: String,
    pub obligation: String,
    pub applicable: bool,
    pub state: State,
    pub reason: &'static str,
    pub severity: &'static str,
    /// Remark, evidence, or what is missing.
    pub remark: String,
}

fn state_label(state: State, lang: Lang) -> &'static str {
    match (lang, state) {
        (Lang::En, s) => s.as_str(),
        (Lang::Zh, State::Compliant) => "符合",
        (Lang::Zh, State::NonCompliant) => "不符合",
        (Lang::Zh, State::NotApplicable) => "不适用",
        (Lang::Zh, State::Excepted) => "风险接受",
        (Lang::Zh, State::Unknown) => "待确认",
    }
}

fn yes_no(applicable: bool, lang: Lang) -> &'static str {
    match (lang, applicable) {
        (Lang::En, true) => "yes",
        (Lang::En, false) => "no",
        (Lang::Zh, true) => "是",
        (Lang::Zh, false) => "否",
    }
}

/// The remark column: the policy's remark, then the evidence relied on or what was found, or
/// else why the row is decided as it is.
fn remark(d: &Decision, lang: Lang) -> String {
    let detail = if d.state == State::Compliant && !d.evidence.is_empty() {
        let refs: Vec<String> = d
            .evidence
            .iter()
            .map(|e| format!("{} (until {})", e.name, e.valid_until))
            .collect();
        format!("evidence: {}", refs.join(", "))
    } else if d.state == State::NotApplicable && d.remark.is_some() {
        String::new()
    } else if d.message.is_empty() {
        i18n::reason(d.reason, lang).into_owned()
    } else {
        d.message.clone()
    };
    let detail = i18n::message(&detail, lang).into_owned();
    match (&d.remark, detail.is_empty()) {
        (Some(r), true) => r.clone(),
        (Some(r), false) => format!("{r} — {detail}"),
        (None, _) => detail,
    }
}

pub fn rows(d: &DeploymentReport, lang: Lang) -> Vec<TableRow> {
    d.evaluation
        .decisions
        .iter()
        .map(|decision| {
            let (level1, level2, obligation) = match decision.id {
                Obligation::Row(n) => {
                    let row = catalog::row_entry(n).expect("valid row");
                    (
                        row.area.title(lang).to_owned(),
                        row.topic.map(|t| t.title(lang)).unwrap_or("–").to_owned(),
                        row.title(lang).to_owned(),
                    )
                }
                Obligation::Measure(m) => {
                    let entry = catalog::measure_entry(m);
                    let level1 = match lang {
                        Lang::En => "Technical measures (8.1)",
                        Lang::Zh => "安全技术措施（8.1）",
                    };
                    (
                        level1.to_owned(),
                        entry.clause.to_owned(),
                        entry.title(lang).to_owned(),
                    )
                }
            };
            TableRow {
                row: decision.id.label(),
                condition: decision.id.condition_type(),
                level1,
                level2,
                obligation,
                applicable: decision.applicable(),
                state: decision.state,
                reason: decision.reason,
                severity: decision.severity.as_str(),
                remark: remark(decision, lang),
            }
        })
        .collect()
}

fn headers(lang: Lang) -> [&'static str; 7] {
    match lang {
        Lang::En => [
            "Row",
            "Level 1",
            "Level 2",
            "Obligation",
            "Applicable",
            "State",
            "Remark / evidence",
        ],
        Lang::Zh => [
            "序号",
            "合规义务（一级）",
            "合规义务（二级）",
            "义务要点",
            "是否适用",
            "状态",
            "备注 / 证据",
        ],
    }
}

fn heading(d: &DeploymentReport, lang: Lang) -> String {
    let s = &d.evaluation.summary;
    let verdict = match (lang, d.evaluation.acceptable) {
        (Lang::En, true) => "acceptable",
        (Lang::En, false) => "NOT acceptable",
        (Lang::Zh, true) => "可接受",
        (Lang::Zh, false) => "不可接受",
    };
    match lang {
        Lang::En => format!(
            "ModelDeployment {}/{} (policy {}, {}): {} rows met; {} not met, {} unknown, {} excepted, {} not applicable; risk {} — {verdict} (max {})",
            d.namespace,
            d.name,
            d.policy,
            d.source,
            s.ratio(),
            s.non_compliant,
            s.unknown,
            s.excepted,
            s.not_applicable,
            d.risk.as_str(),
            d.max_acceptable.as_str()
        ),
        Lang::Zh => format!(
            "ModelDeployment {}/{}（策略 {}，{}）：符合 {}；不符合 {}，待确认 {}，风险接受 {}，不适用 {}；风险等级 {} — {verdict}（上限 {}）",
            d.namespace,
            d.name,
            d.policy,
            d.source,
            s.ratio(),
            s.non_compliant,
            s.unknown,
            s.excepted,
            s.not_applicable,
            i18n::risk_level(d.risk, lang),
            i18n::risk_level(d.max_acceptable, lang)
        ),
    }
}

fn findings_text(d: &DeploymentReport, lang: Lang) -> String {
    d.evaluation
        .findings
        .iter()
        .filter_map(|id| d.evaluation.decision(*id))
        .map(|f| {
            format!(
                "  {} [{}] {}: {}\n",
                i18n::severity(f.severity, lang),
                state_label(f.state, lang),
                f.id,
                i18n::message(&f.message, lang)
            )
        })
        .collect()
}

pub fn render(report: &Report, format: Format, lang: Lang) -> String {
    match format {
        Format::Table => table(report, lang),
        Format::Markdown => markdown(report, lang),
        Format::Json => json(report, lang),
        Format::Junit => junit(report),
    }
}

fn table(report: &Report, lang: Lang) -> String {
    let mut out = String::new();
    for d in &report.deployments {
        out.push_str(&heading(d, lang));
        out.push('\n');
        let mut t = Table::new();
        t.set_content_arrangement(ContentArrangement::Dynamic);
        t.set_header(headers(lang));
        for r in rows(d, lang) {
            t.add_row([
                r.row,
                r.level1,
                r.level2,
                r.obligation,
                yes_no(r.applicable, lang).to_owned(),
                state_label(r.state, lang).to_owned(),
                r.remark,
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
        if !d.evaluation.findings.is_empty() {
            out.push_str(match lang {
                Lang::En => "Open findings, most severe first:\n",
                Lang::Zh => "未关闭的问题（按严重程度）：\n",
            });
            out.push_str(&findings_text(d, lang));
        }
        out.push('\n');
    }
    if report.deployments.is_empty() {
        out.push_str("no ModelDeployment evaluated\n");
    }
    out
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(report: &Report, lang: Lang) -> String {
    let mut out = String::new();
    for d in &report.deployments {
        out.push_str(&format!("## {}\n\n", md_cell(&heading(d, lang))));
        let h = headers(lang);
        out.push_str(&format!(
            "| {} |\n|{}\n",
            h.join(" | "),
            "---|".repeat(h.len())
        ));
        for r in rows(d, lang) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.row,
                md_cell(&r.level1),
                md_cell(&r.level2),
                md_cell(&r.obligation),
                yes_no(r.applicable, lang),
                state_label(r.state, lang),
                md_cell(&r.remark)
            ));
        }
        out.push('\n');
    }
    if !report.problems.is_empty() {
        out.push_str("## Input problems\n\n");
        for p in &report.problems {
            out.push_str(&format!("- {}\n", md_cell(&p.to_string())));
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonDeployment<'a> {
    #[serde(flatten)]
    deployment: &'a DeploymentReport,
    acceptable: bool,
    summary: &'a crate::evaluate::Summary,
    compliant: String,
    findings: Vec<String>,
    rows: Vec<TableRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    evaluated_at: String,
    acceptable: bool,
    deployments: Vec<JsonDeployment<'a>>,
    problems: Vec<String>,
}

fn json(report: &Report, lang: Lang) -> String {
    let doc = JsonReport {
        evaluated_at: report.now.to_string(),
        acceptable: report.deployments.iter().all(|d| d.evaluation.acceptable),
        deployments: report
            .deployments
            .iter()
            .map(|d| JsonDeployment {
                deployment: d,
                acceptable: d.evaluation.acceptable,
                summary: &d.evaluation.summary,
                compliant: d.evaluation.summary.ratio(),
                findings: d
                    .evaluation
                    .findings
                    .iter()
                    .map(|f| f.condition_type())
                    .collect(),
                rows: rows(d, lang),
            })
            .collect(),
        problems: report.problems.iter().map(|p| p.to_string()).collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("report serializes");
    text.push('\n');
    text
}

fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut out = JReport::new("model-compliance-operator check");
    for d in &report.deployments {
        let mut suite = TestSuite::new(format!("{}/{}", d.namespace, d.name));
        for decision in &d.evaluation.decisions {
            let status = match decision.state {
                State::Compliant | State::Excepted => TestCaseStatus::success(),
                State::NonCompliant => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(decision.message.clone())
                        .set_type(decision.reason);
                    s
                }
                State::NotApplicable | State::Unknown => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(decision.message.clone())
                        .set_type(decision.reason);
                    s
                }
            };
            let mut case = TestCase::new(decision.id.condition_type(), status);
            case.set_classname(format!("{}.{}", d.namespace, d.name));
            if decision.state == State::Excepted {
                case.set_system_out(decision.message.clone());
            }
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    if !report.problems.is_empty() {
        let mut suite = TestSuite::new("input");
        for (i, p) in report.problems.iter().enumerate() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(p.to_string()).set_type("InputError");
            suite.add_test_case(TestCase::new(format!("problem-{}", i + 1), s));
        }
        out.add_test_suite(suite);
    }
    out.to_string().expect("JUnit report serializes")
}
