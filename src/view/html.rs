//! One self-contained HTML page: inline CSS, no script, no external asset; the fleet's risk at
//! the top, a table of contents, and per deployment its findings and coloured Annex A table.
//! It prints on A4.

use quick_xml::escape::escape;

use std::io::{self, Write};

use super::render::{Views, by_risk_text, expiring_text, finding_text, now_text, obligation_text};
use super::text::{
    self, labels, remark, risk_class, risk_name, state_class, state_label, titles, yes_no,
};
use super::{DeploymentView, Fleet};
use crate::catalog::Lang;

/// The colours of the states and risk levels; the screenshot test samples these exact values.
pub const STYLE: &str = r#"
:root { --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Segoe UI", Arial, sans-serif; color: var(--ink);
  margin: 24px auto; max-width: 1200px; padding: 0 16px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; padding-top: 8px; border-top: 2px solid var(--rule); }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.origin, p.source { color: var(--muted); margin: 2px 0; }
.risk { display: inline-block; padding: 6px 14px; border-radius: 4px; font-weight: 700; color: #ffffff; margin: 8px 0; }
.risk-critical { background: #b71c1c; }
.risk-high { background: #e65100; }
.risk-medium { background: #f9a825; color: #1f2328; }
.risk-low { background: #1565c0; }
.risk-none { background: #2e7d32; }
nav ol { margin: 4px 0; padding-left: 22px; }
nav.toc { font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--rule); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #37474f; color: #ffffff; font-weight: 600; }
td.row { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.state { font-weight: 600; white-space: nowrap; }
.state-compliant { background: #c8e6c9; }
.state-noncompliant { background: #ffcdd2; }
.state-unknown { background: #ffe082; }
.state-excepted { background: #d1c4e9; }
.state-notapplicable { background: #e0e0e0; }
ul.findings li { margin: 2px 0; padding-left: 6px; border-left: 6px solid var(--rule); list-style: none; }
ul.findings { padding-left: 8px; }
li.finding-noncompliant { border-left-color: #c62828; }
li.finding-unknown { border-left-color: #f9a825; }
table.fleet { width: auto; min-width: 320px; }
table.fleet .risk { margin: 0; padding: 1px 10px; }
.note { border-left: 4px solid #e65100; padding: 4px 8px; background: #fff3e0; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-before: page; border-top: none; }
  h2:first-of-type { break-before: auto; }
  tr, li { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn e(text: &str) -> String {
    escape(text).into_owned()
}

/// The anchor of a deployment's section.
fn anchor(namespace: &str, name: &str) -> String {
    format!("{namespace}-{name}")
}

/// The page: the header, the table of contents and the fleet from `fleet`, then each
/// deployment's section as `views` yields it.
pub fn page(
    fleet: &Fleet,
    views: &mut Views<'_>,
    lang: Lang,
    out: &mut dyn Write,
) -> io::Result<()> {
    let l = labels(lang);
    let html_lang = match lang {
        Lang::En => "en",
        Lang::Zh => "zh-CN",
    };
    let mut head = format!(
        "<!DOCTYPE html>\n<html lang=\"{html_lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"origin\">{}</p>\n",
        e(l.title),
        e(l.title),
        e(&text::origin_line(
            &fleet.origin,
            fleet.deployments.len(),
            &now_text(fleet),
            lang
        ))
    );
    let risk = fleet.highest_risk();
    let unacceptable = fleet.deployments.iter().filter(|d| !d.acceptable).count();
    head.push_str(&format!(
        "<div class=\"risk risk-{}\">{}: {} — {} {}/{}</div>\n</header>\n",
        risk_class(risk),
        e(l.highest_risk),
        risk_name(risk, lang),
        e(l.not_acceptable),
        unacceptable,
        fleet.deployments.len()
    ));

    // Table of contents: the fleet, then each deployment with its risk.
    head.push_str(&format!(
        "<nav>\n<h3>{}</h3>\n<ol>\n<li><a href=\"#fleet\">{}</a></li>\n",
        e(l.contents),
        e(l.fleet)
    ));
    for d in &fleet.deployments {
        head.push_str(&format!(
            "<li><a href=\"#{}\">{}/{}</a> — <span class=\"risk-text\">{} {}</span></li>\n",
            e(&anchor(&d.namespace, &d.name)),
            e(&d.namespace),
            e(&d.name),
            e(l.risk),
            risk_name(d.risk, lang)
        ));
    }
    head.push_str("</ol>\n</nav>\n");

    // The fleet.
    head.push_str(&format!(
        "<section id=\"fleet\">\n<h2>{}</h2>\n<table class=\"fleet\">\n<thead><tr><th>{}</th><th>{}</th></tr></thead>\n<tbody>\n",
        e(l.fleet),
        e(l.risk),
        e(l.deployments)
    ));
    for (r, n) in fleet.by_risk() {
        head.push_str(&format!(
            "<tr><td><span class=\"risk risk-{}\">{}</span></td><td>{n}</td></tr>\n",
            risk_class(r),
            risk_name(r, lang)
        ));
    }
    head.push_str("</tbody>\n</table>\n");
    head.push_str(&format!("<h3>{}</h3>\n", e(l.most_unmet)));
    let unmet = fleet.most_unmet(5);
    if unmet.is_empty() {
        head.push_str(&format!("<p>{}</p>\n", e(l.none)));
    } else {
        head.push_str("<ol>\n");
        for (id, n) in unmet {
            head.push_str(&format!(
                "<li>{} ({n})</li>\n",
                e(&obligation_text(id, lang))
            ));
        }
        head.push_str("</ol>\n");
    }
    head.push_str(&format!(
        "<h3>{}</h3>\n",
        e(&text::expiring_heading(fleet.expiring_days, lang))
    ));
    if fleet.expiring.is_empty() {
        head.push_str(&format!("<p>{}</p>\n", e(l.none)));
    } else {
        head.push_str("<ul>\n");
        for x in &fleet.expiring {
            head.push_str(&format!("<li>{}</li>\n", e(&expiring_text(x, lang))));
        }
        head.push_str("</ul>\n");
    }
    head.push_str(&format!(
        "<p>{}: {}</p>\n</section>\n",
        e(l.risk_levels),
        e(&by_risk_text(fleet, lang))
    ));
    out.write_all(head.as_bytes())?;

    for d in views {
        let mut section = String::new();
        deployment(&mut section, &d, lang);
        out.write_all(section.as_bytes())?;
    }
    let mut tail = String::new();
    if !fleet.problems.is_empty() {
        tail.push_str(&format!("<section>\n<h2>{}</h2>\n<ul>\n", e(l.problems)));
        for p in &fleet.problems {
            tail.push_str(&format!("<li>{}</li>\n", e(&text::message_text(p, lang))));
        }
        tail.push_str("</ul>\n</section>\n");
    }
    tail.push_str("</body>\n</html>\n");
    out.write_all(tail.as_bytes())
}

fn deployment(out: &mut String, d: &DeploymentView, lang: Lang) {
    let l = labels(lang);
    let id = anchor(&d.namespace, &d.name);
    out.push_str(&format!(
        "<section class=\"deployment\" id=\"{}\">\n<h2>{}</h2>\n<div class=\"risk risk-{}\">{}</div>\n<p class=\"source\">{}: {}</p>\n",
        e(&id),
        e(&text::title(d, lang)),
        risk_class(d.risk),
        e(&text::verdict(d, lang)),
        e(l.source),
        e(&d.source)
    ));
    if let Some(note) = &d.note {
        out.push_str(&format!(
            "<p class=\"note\">{}</p>\n",
            e(&text::message_text(note, lang))
        ));
    }
    out.push_str(&format!(
        "<nav class=\"toc\">{}: <a href=\"#{id}-findings\">{}</a> · <a href=\"#{id}-table\">{}</a></nav>\n",
        e(l.contents),
        e(l.findings),
        e(l.table),
        id = e(&id)
    ));
    out.push_str(&format!(
        "<h3 id=\"{}-findings\">{}</h3>\n",
        e(&id),
        e(l.findings)
    ));
    if d.findings.is_empty() {
        out.push_str(&format!("<p>{}</p>\n", e(l.none)));
    } else {
        out.push_str("<ul class=\"findings\">\n");
        for f in &d.findings {
            if let Some(r) = d.row(*f) {
                out.push_str(&format!(
                    "<li class=\"finding finding-{}\">{}</li>\n",
                    state_class(r.state),
                    e(&finding_text(r, lang))
                ));
            }
        }
        out.push_str("</ul>\n");
    }
    if d.rows.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    out.push_str(&format!(
        "<h3 id=\"{}-table\">{}</h3>\n<table class=\"annex\">\n<thead><tr>",
        e(&id),
        e(l.table)
    ));
    for h in text::headers(lang) {
        out.push_str(&format!("<th>{}</th>", e(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &d.rows {
        let (level1, level2, obligation) = titles(r.id, lang);
        out.push_str(&format!(
            "<tr id=\"{}-{}\"><td class=\"row\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"state state-{}\">{}</td><td>{}</td></tr>\n",
            e(&id),
            e(&r.id.condition_type()),
            e(&r.id.label()),
            e(level1),
            e(level2),
            e(obligation),
            yes_no(r.applicable(), lang),
            state_class(r.state),
            state_label(r.state, lang),
            e(&remark(r, lang))
        ));
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
