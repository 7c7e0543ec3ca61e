//! The dossier of row 42: what a provider must be able to explain to a regulator about one
//! model service — its training data (sources, scale, kinds), annotation rules and batch
//! sampling, the model and algorithm, the safety evaluation figures against their thresholds,
//! the filing, and the evidence on record. It shows only what is declared in the
//! ModelDeployment, its policy and the ComplianceEvidence objects, and says plainly what is
//! not declared.

use std::fmt::Display;

use k8s_openapi::jiff::Timestamp;

use super::text::{
    DossierTexts, acquisition_name, audience_name, dossier_texts, labels, legal_basis_name,
    message_text, modality_name, reason_text, row_label, state_label, yes_no,
};
use super::{DeploymentView, day};
use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment, SampleResult};
use crate::catalog::{Lang, defaults};
use crate::evaluate::{Obligation, State};

/// A part of the dossier.
#[derive(Clone, Debug, Default)]
pub struct Section {
    pub title: String,
    pub paragraphs: Vec<String>,
    /// Header and rows.
    pub table: Option<(Vec<String>, Vec<Vec<String>>)>,
}

/// The dossier, ready to render as Markdown or HTML.
#[derive(Clone, Debug)]
pub struct Dossier {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
    /// What the regulator may ask for that is not declared.
    pub undeclared: Vec<String>,
    lang: Lang,
}

fn or_dash(v: Option<&str>) -> String {
    v.map(str::to_owned).unwrap_or_else(|| "–".to_owned())
}

fn percent(part: i64, whole: i64, lang: Lang) -> String {
    if whole == 0 {
        labels(lang).no_share.to_owned()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn rate(r: f64) -> String {
    format!("{:.1} %", r * 100.0)
}

/// `template` with each `{name}` replaced by its value.
fn fill(template: &str, values: &[(&str, &dyn Display)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), &value.to_string())
        })
}

/// `what (spec.path)`: what is not declared, and the field that would declare it.
fn field(x: &DossierTexts, what: &str, path: &str) -> String {
    fill(x.field, &[("what", &what), ("path", &path)])
}

/// A table's header.
fn header<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.map(str::to_owned).to_vec()
}

/// A table of declared items: item and value.
fn declared(x: &DossierTexts, items: Vec<(&str, String)>) -> (Vec<String>, Vec<Vec<String>>) {
    (
        header([x.item, x.declared]),
        items
            .into_iter()
            .map(|(item, value)| vec![item.to_owned(), value])
            .collect(),
    )
}

impl Section {
    fn new(title: &str) -> Section {
        Section {
            title: title.to_owned(),
            ..Default::default()
        }
    }
}

impl Dossier {
    pub fn build(
        deployment: &ModelDeployment,
        policy: Option<&CompliancePolicy>,
        evidence: &[ComplianceEvidence],
        view: &DeploymentView,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
        let x = dossier_texts(lang);
        let spec = &deployment.spec;
        let mut undeclared = Vec::new();
        let row_state = |n: u8| -> String {
            view.row(Obligation::Row(n))
                .map(|r| {
                    let detail = if r.state == State::Compliant {
                        reason_text(&r.reason, lang)
                    } else {
                        message_text(&r.message, lang)
                    };
                    format!(
                        "{}: {} — {detail}",
                        row_label(n, lang),
                        state_label(r.state, lang)
                    )
                })
                .unwrap_or_else(|| {
                    format!("{}: {}", row_label(n, lang), labels(lang).not_evaluated)
                })
        };

        let title = format!(
            "{} — ModelDeployment {}/{}",
            x.title, view.namespace, view.name
        );
        let intro = vec![
            format!(
                "{}: {} — {}",
                x.as_of,
                now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                super::text::verdict(view, lang)
            ),
            row_state(42),
        ];

        // The service and the model.
        let mut service = Section::new(x.service);
        let modalities: Vec<&str> = spec
            .model
            .modalities
            .iter()
            .map(|m| modality_name(*m, lang))
            .collect();
        let audiences: Vec<&str> = spec
            .service
            .audiences
            .iter()
            .map(|a| audience_name(*a, lang))
            .collect();
        if spec.service.provider.is_none() {
            undeclared.push(field(x, x.no_provider, "spec.service.provider"));
        }
        service.table = Some(declared(
            x,
            vec![
                (x.model, spec.model.name.clone()),
                (x.version, spec.model.version.clone()),
                (x.generates, modalities.join(", ")),
                (x.provider, or_dash(spec.service.provider.as_deref())),
                (x.public, yes_no(spec.service.public, lang).to_owned()),
                (
                    x.audiences,
                    if audiences.is_empty() {
                        "–".to_owned()
                    } else {
                        audiences.join(", ")
                    },
                ),
                (
                    x.disclosure,
                    or_dash(spec.service.disclosure_url.as_deref()),
                ),
            ],
        ));

        // The algorithm.
        let mut algorithm = Section::new(x.algorithm);
        match &spec.model.algorithm_description {
            Some(text) => algorithm.paragraphs.push(text.clone()),
            None => {
                let path = "spec.model.algorithmDescription";
                algorithm.paragraphs.push(fill(x.empty, &[("path", &path)]));
                undeclared.push(field(x, x.no_algorithm, path));
            }
        }

        // Training data.
        let mut data = Section::new(x.data);
        let datasets = spec
            .training
            .as_ref()
            .map(|t| t.datasets.as_slice())
            .unwrap_or(&[]);
        if datasets.is_empty() {
            data.paragraphs.push(x.no_dataset.to_owned());
            undeclared.push(field(x, x.no_datasets, "spec.training.datasets"));
        } else {
            let mut sources: Vec<&str> = datasets
                .iter()
                .filter_map(|d| d.source.as_deref())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            let with_records: Vec<i64> = datasets.iter().filter_map(|d| d.records).collect();
            let without: Vec<&str> = datasets
                .iter()
                .filter(|d| d.records.is_none())
                .map(|d| d.name.as_str())
                .collect();
            let mut kinds: Vec<String> = datasets
                .iter()
                .map(|d| or_dash(d.acquisition.map(|a| acquisition_name(a, lang))))
                .collect();
            kinds.sort();
            kinds.dedup();
            data.paragraphs.push(fill(
                x.data_summary,
                &[
                    ("datasets", &datasets.len()),
                    ("sources", &sources.len()),
                    ("records", &with_records.iter().sum::<i64>()),
                    ("with_records", &with_records.len()),
                    ("kinds", &kinds.join(", ")),
                ],
            ));
            if !without.is_empty() {
                undeclared.push(format!("{}: {}", x.no_records, without.join(", ")));
            }
            undeclared.push(x.no_content_kind.to_owned());
            let rows = datasets
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        or_dash(d.source.as_deref().or(d.uri.as_deref())),
                        or_dash(d.acquisition.map(|a| acquisition_name(a, lang))),
                        or_dash(d.legal_basis.map(|b| legal_basis_name(b, lang))),
                        or_dash(d.license.as_deref()),
                        match (d.contains_personal_info, d.desensitized) {
                            (false, _) => x.personal_none,
                            (true, Some(true)) => x.personal_desensitized,
                            (true, _) => x.personal_yes,
                        }
                        .to_owned(),
                        or_dash(d.records.map(|r| r.to_string()).as_deref()),
                        or_dash(d.last_updated.as_deref()),
                        or_dash(d.provenance_ref.as_deref()),
                    ]
                })
                .collect();
            data.table = Some((header(x.dataset_header), rows));
        }
        for n in [4, 6, 7, 13, 14] {
            data.paragraphs.push(row_state(n));
        }

        // Annotation.
        let mut annotation = Section::new(x.annotation);
        let training = spec.training.as_ref();
        match training.and_then(|t| t.annotation_rules_ref.as_deref()) {
            Some(r) => annotation
                .paragraphs
                .push(format!("{}: {r}", x.annotation_rules)),
            None => {
                let path = "spec.training.annotationRulesRef";
                annotation.paragraphs.push(fill(
                    x.not_declared,
                    &[("what", &x.annotation_rules), ("path", &path)],
                ));
                undeclared.push(field(x, x.no_annotation_rules, path));
            }
        }
        let limit = policy
            .and_then(|p| p.spec.parameters.annotation_max_illegal_ratio)
            .unwrap_or(defaults::ANNOTATION_MAX_ILLEGAL_RATIO);
        let batches = training
            .map(|t| t.annotation_batches.as_slice())
            .unwrap_or(&[]);
        if batches.is_empty() {
            undeclared.push(field(x, x.no_batches, "spec.training.annotationBatches"));
        } else {
            annotation.table = Some((
                header(x.batch_header),
                batches
                    .iter()
                    .map(|b| {
                        vec![
                            b.id.clone(),
                            b.total_items.to_string(),
                            b.sampled_items.to_string(),
                            b.illegal_items.to_string(),
                            percent(b.illegal_items, b.sampled_items, lang),
                            rate(limit),
                            yes_no(b.voided, lang).to_owned(),
                        ]
                    })
                    .collect(),
            ));
        }
        for n in [20, 21, 22] {
            annotation.paragraphs.push(row_state(n));
        }

        // Safety evaluation against thresholds.
        let mut safety = Section::new(x.safety);
        let params = policy
            .map(|p| p.spec.parameters.clone())
            .unwrap_or_default();
        let mut figures: Vec<Vec<String>> = Vec::new();
        let mut check = |what: String, figure: String, threshold: String, met: bool| {
            figures.push(vec![what, figure, threshold, yes_no(met, lang).to_owned()]);
        };
        let sample = |label: &str,
                      s: &SampleResult,
                      min_items: i64,
                      min_rate: f64,
                      check: &mut dyn FnMut(String, String, String, bool)| {
            check(
                format!("{label}: {}", x.items),
                s.items.to_string(),
                format!(">= {min_items}"),
                s.items >= min_items,
            );
            check(
                format!("{label}: {}", x.pass_rate),
                percent(s.passed, s.items, lang),
                format!(">= {}", rate(min_rate)),
                s.items > 0 && s.passed as f64 + 1e-9 >= min_rate * s.items as f64,
            );
        };
        let eval = &spec.evaluation;
        match &eval.corpus {
            Some(c) => {
                let th = params.corpus_evaluation.clone().unwrap_or_default();
                let manual_min = th
                    .manual_min_samples
                    .unwrap_or(defaults::CORPUS_MANUAL_MIN_SAMPLES);
                let manual_rate = th
                    .manual_min_pass_rate
                    .unwrap_or(defaults::CORPUS_MANUAL_MIN_PASS_RATE);
                let ratio = th
                    .automated_min_sample_ratio
                    .unwrap_or(defaults::CORPUS_AUTOMATED_MIN_SAMPLE_RATIO);
                let auto_rate = th
                    .automated_min_pass_rate
                    .unwrap_or(defaults::CORPUS_AUTOMATED_MIN_PASS_RATE);
                let l31 = format!("31 {} ({})", x.corpus_manual, c.date);
                sample(&l31, &c.manual, manual_min, manual_rate, &mut check);
                let l31a = format!("31 {} ({})", x.corpus_automated, c.date);
                check(
                    format!("{l31a}: {}", x.share_of_corpus),
                    percent(c.automated.items, c.corpus_size, lang),
                    format!(">= {}", rate(ratio)),
                    c.corpus_size > 0
                        && c.automated.items as f64 + 1e-9 >= ratio * c.corpus_size as f64,
                );
                check(
                    format!("{l31a}: {}", x.pass_rate),
                    percent(c.automated.passed, c.automated.items, lang),
                    format!(">= {}", rate(auto_rate)),
                    c.automated.items > 0
                        && c.automated.passed as f64 + 1e-9 >= auto_rate * c.automated.items as f64,
                );
            }
            None => undeclared.push(field(x, x.no_corpus_evaluation, "spec.evaluation.corpus")),
        }
        match &eval.generated_content {
            Some(g) => {
                let th = params.content_evaluation.clone().unwrap_or_default();
                let min = th.min_items.unwrap_or(defaults::CONTENT_MIN_ITEMS);
                let r = th.min_pass_rate.unwrap_or(defaults::CONTENT_MIN_PASS_RATE);
                for (what, s) in [
                    (x.generated_manual, &g.manual),
                    (x.generated_keyword, &g.keyword),
                    (x.generated_classifier, &g.classifier),
                ] {
                    sample(&format!("32 {what} ({})", g.date), s, min, r, &mut check);
                }
            }
            None => undeclared.push(field(
                x,
                x.no_content_evaluation,
                "spec.evaluation.generatedContent",
            )),
        }
        match &eval.refusal {
            Some(r) => {
                let th = params.refusal_evaluation.clone().unwrap_or_default();
                let min = th.min_items.unwrap_or(defaults::REFUSAL_MIN_ITEMS);
                let refuse = th
                    .should_refuse_min_rate
                    .unwrap_or(defaults::REFUSAL_SHOULD_REFUSE_MIN_RATE);
                let answer_max = th
                    .should_answer_max_refusal_rate
                    .unwrap_or(defaults::REFUSAL_SHOULD_ANSWER_MAX_RATE);
                sample(
                    &format!("33 {} ({})", x.should_refuse, r.date),
                    &r.should_refuse,
                    min,
                    refuse,
                    &mut check,
                );
                let s = &r.should_answer;
                let refused = s.items - s.passed;
                let l33 = format!("33 {} ({})", x.should_answer, r.date);
                check(
                    format!("{l33}: {}", x.items),
                    s.items.to_string(),
                    format!(">= {min}"),
                    s.items >= min,
                );
                check(
                    format!("{l33}: {}", x.refusal_rate),
                    percent(refused, s.items, lang),
                    format!("<= {}", rate(answer_max)),
                    s.items > 0 && refused as f64 <= answer_max * s.items as f64 + 1e-9,
                );
            }
            None => undeclared.push(field(x, x.no_refusal_evaluation, "spec.evaluation.refusal")),
        }
        if !figures.is_empty() {
            safety.table = Some((header(x.figures_header), figures));
        }
        for n in [31, 32, 33] {
            safety.paragraphs.push(row_state(n));
        }

        // Filing and assessment.
        let mut filing = Section::new(x.filing);
        let s = &spec.service;
        filing.table = Some(declared(
            x,
            vec![
                (x.filing_number, or_dash(s.filing_number.as_deref())),
                (x.filed_version, or_dash(s.filed_model_version.as_deref())),
                (x.version_in_service, spec.model.version.clone()),
                (
                    x.security_assessment,
                    or_dash(
                        s.security_assessment
                            .as_ref()
                            .map(|a| format!("{} ({})", a.reference, a.date))
                            .as_deref(),
                    ),
                ),
            ],
        ));
        if s.public && s.filing_number.is_none() {
            undeclared.push(field(x, x.no_filing_number, "spec.service.filingNumber"));
        }
        filing.paragraphs.push(row_state(24));
        filing.paragraphs.push(row_state(25));

        // Evidence on record.
        let mut record = Section::new(x.record);
        let mut mine: Vec<&ComplianceEvidence> = evidence
            .iter()
            .filter(|e| {
                e.metadata.namespace.as_deref().unwrap_or("default") == view.namespace
                    && e.spec.targets.contains(&view.name)
            })
            .collect();
        mine.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        if mine.is_empty() {
            record.paragraphs.push(x.no_evidence.to_owned());
        } else {
            record.table = Some((
                header([
                    x.evidence,
                    x.covers,
                    x.summary,
                    "URI",
                    "SHA-256",
                    x.attested_by,
                    x.attested,
                    labels(lang).valid_until,
                    x.validity,
                ]),
                mine.iter()
                    .map(|e| {
                        let covers: Vec<String> = e
                            .spec
                            .rows
                            .iter()
                            .map(|r| r.to_string())
                            .chain(
                                e.spec
                                    .measures
                                    .iter()
                                    .map(|m| Obligation::Measure(*m).label()),
                            )
                            .collect();
                        let validity = if e.spec.valid_until.0 <= now {
                            x.expired
                        } else if e.spec.attested_at.0 > now {
                            x.not_yet_valid
                        } else {
                            x.valid
                        };
                        vec![
                            e.metadata.name.clone().unwrap_or_default(),
                            covers.join(", "),
                            or_dash(e.spec.summary.as_deref()),
                            e.spec.uri.clone(),
                            e.spec.sha256.clone(),
                            e.spec.attested_by.clone(),
                            day(e.spec.attested_at.0),
                            day(e.spec.valid_until.0),
                            validity.to_owned(),
                        ]
                    })
                    .collect(),
            ));
        }

        Dossier {
            title,
            intro,
            sections: vec![service, algorithm, data, annotation, safety, filing, record],
            undeclared,
            lang,
        }
    }

    fn undeclared_title(&self) -> &'static str {
        dossier_texts(self.lang).undeclared
    }

    pub fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!("# {}\n\n", self.title);
        for p in &self.intro {
            out.push_str(&format!("{}\n\n", cell(p)));
        }
        for s in &self.sections {
            out.push_str(&format!("## {}\n\n", s.title));
            if let Some((header, rows)) = &s.table {
                out.push_str(&format!(
                    "| {} |\n|{}\n",
                    header.join(" | "),
                    "---|".repeat(header.len())
                ));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                out.push('\n');
            }
            for p in &s.paragraphs {
                out.push_str(&format!("- {}\n", cell(p)));
            }
            out.push('\n');
        }
        out.push_str(&format!("## {}\n\n", self.undeclared_title()));
        if self.undeclared.is_empty() {
            out.push_str(&format!("- {}\n", labels(self.lang).none));
        }
        for u in &self.undeclared {
            out.push_str(&format!("- {}\n", cell(u)));
        }
        out
    }

    pub fn html(&self) -> String {
        let e = |s: &str| quick_xml::escape::escape(s).into_owned();
        let lang = match self.lang {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        };
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            e(&self.title),
            super::html::STYLE,
            e(&self.title)
        );
        for p in &self.intro {
            out.push_str(&format!("<p class=\"origin\">{}</p>\n", e(p)));
        }
        out.push_str(&format!(
            "<nav><h3>{}</h3><ol>\n",
            e(labels(self.lang).contents)
        ));
        for (i, s) in self.sections.iter().enumerate() {
            out.push_str(&format!("<li><a href=\"#s{i}\">{}</a></li>\n", e(&s.title)));
        }
        out.push_str(&format!(
            "<li><a href=\"#undeclared\">{}</a></li>\n</ol></nav>\n",
            e(self.undeclared_title())
        ));
        for (i, s) in self.sections.iter().enumerate() {
            out.push_str(&format!(
                "<section id=\"s{i}\">\n<h2>{}</h2>\n",
                e(&s.title)
            ));
            if let Some((header, rows)) = &s.table {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    out.push_str(&format!("<th>{}</th>", e(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        out.push_str(&format!("<td>{}</td>", e(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            if !s.paragraphs.is_empty() {
                out.push_str("<ul>\n");
                for p in &s.paragraphs {
                    out.push_str(&format!("<li>{}</li>\n", e(p)));
                }
                out.push_str("</ul>\n");
            }
            out.push_str("</section>\n");
        }
        out.push_str(&format!(
            "<section id=\"undeclared\">\n<h2>{}</h2>\n<ul>\n",
            e(self.undeclared_title())
        ));
        if self.undeclared.is_empty() {
            out.push_str(&format!("<li>{}</li>\n", e(labels(self.lang).none)));
        }
        for u in &self.undeclared {
            out.push_str(&format!("<li>{}</li>\n", e(u)));
        }
        out.push_str("</ul>\n</section>\n</body>\n</html>\n");
        out
    }
}
