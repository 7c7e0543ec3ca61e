//! The dossier of row 42: what a provider must be able to explain to a regulator about one
//! model service — its training data (sources, scale, kinds), annotation rules and batch
//! sampling, the model and algorithm, the safety evaluation figures against their thresholds,
//! the filing, and the evidence on record. It shows only what is declared in the
//! ModelDeployment, its policy and the ComplianceEvidence objects, and says plainly what is
//! not declared.

use k8s_openapi::jiff::Timestamp;

use super::text::{
    acquisition_name, audience_name, labels, legal_basis_name, message_text, modality_name,
    reason_text, row_label, state_label,
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

fn t(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
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

impl Dossier {
    pub fn build(
        deployment: &ModelDeployment,
        policy: Option<&CompliancePolicy>,
        evidence: &[ComplianceEvidence],
        view: &DeploymentView,
        now: Timestamp,
        lang: Lang,
    ) -> Dossier {
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
            t(lang, "Regulator dossier (row 42)", "监管说明材料（第42项）"),
            view.namespace,
            view.name
        );
        let intro = vec![
            format!(
                "{}: {} — {}",
                t(lang, "As of", "时间"),
                now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                super::text::verdict(view, lang)
            ),
            row_state(42),
        ];

        // The service and the model.
        let mut service = Section {
            title: t(lang, "Service and model", "服务与模型"),
            ..Default::default()
        };
        let modalities: Vec<String> = spec
            .model
            .modalities
            .iter()
            .map(|m| modality_name(*m, lang).to_owned())
            .collect();
        let audiences: Vec<String> = spec
            .service
            .audiences
            .iter()
            .map(|a| audience_name(*a, lang).to_owned())
            .collect();
        if spec.service.provider.is_none() {
            undeclared.push(t(
                lang,
                "the service provider (spec.service.provider)",
                "服务提供者（spec.service.provider）",
            ));
        }
        service.table = Some((
            vec![t(lang, "Item", "项目"), t(lang, "Declared", "声明")],
            vec![
                vec![t(lang, "Model", "模型"), spec.model.name.clone()],
                vec![t(lang, "Version", "版本"), spec.model.version.clone()],
                vec![t(lang, "Generates", "生成内容"), modalities.join(", ")],
                vec![
                    t(lang, "Provider", "提供者"),
                    or_dash(spec.service.provider.as_deref()),
                ],
                vec![
                    t(lang, "Offered to the public", "面向公众"),
                    super::text::yes_no(spec.service.public, lang).to_owned(),
                ],
                vec![
                    t(lang, "Audiences", "服务对象"),
                    if audiences.is_empty() {
                        "–".to_owned()
                    } else {
                        audiences.join(", ")
                    },
                ],
                vec![
                    t(lang, "Disclosure", "公开说明"),
                    or_dash(spec.service.disclosure_url.as_deref()),
                ],
            ],
        ));

        // The algorithm.
        let mut algorithm = Section {
            title: t(lang, "Model and algorithm", "模型与算法"),
            ..Default::default()
        };
        match &spec.model.algorithm_description {
            Some(text) => algorithm.paragraphs.push(text.clone()),
            None => {
                algorithm.paragraphs.push(t(
                    lang,
                    "Not declared: spec.model.algorithmDescription is empty.",
                    "未声明：spec.model.algorithmDescription 为空。",
                ));
                undeclared.push(t(
                    lang,
                    "the description of the model and algorithm (spec.model.algorithmDescription)",
                    "模型与算法说明（spec.model.algorithmDescription）",
                ));
            }
        }

        // Training data.
        let mut data = Section {
            title: t(
                lang,
                "Training data: sources, scale and kinds (rows 4–15)",
                "训练数据：来源、规模与类型（第4–15项）",
            ),
            ..Default::default()
        };
        let datasets = spec
            .training
            .as_ref()
            .map(|t| t.datasets.as_slice())
            .unwrap_or(&[]);
        if datasets.is_empty() {
            data.paragraphs
                .push(t(lang, "No dataset is declared.", "未声明任何数据集。"));
            undeclared.push(t(
                lang,
                "the training datasets (spec.training.datasets)",
                "训练数据集（spec.training.datasets）",
            ));
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
                .map(|d| {
                    d.acquisition
                        .map(|a| acquisition_name(a, lang).to_owned())
                        .unwrap_or_else(|| "–".into())
                })
                .collect();
            kinds.sort();
            kinds.dedup();
            data.paragraphs.push(match lang {
                Lang::En => format!(
                    "{} dataset(s) from {} distinct source(s); {} record(s) declared over {} of them; obtained as: {}.",
                    datasets.len(),
                    sources.len(),
                    with_records.iter().sum::<i64>(),
                    with_records.len(),
                    kinds.join(", ")
                ),
                Lang::Zh => format!(
                    "{} 个数据集，{} 个不同来源；其中 {} 个声明了记录数，共 {} 条；获取方式：{}。",
                    datasets.len(),
                    sources.len(),
                    with_records.len(),
                    with_records.iter().sum::<i64>(),
                    kinds.join(", ")
                ),
            });
            if !without.is_empty() {
                undeclared.push(format!(
                    "{}: {}",
                    t(lang, "the number of records of dataset(s)", "数据集记录数"),
                    without.join(", ")
                ));
            }
            undeclared.push(t(
                lang,
                "the kind of content of each dataset (text, image, audio, video): the ModelDeployment API has no field for it",
                "各数据集的内容类型（文本、图像、音频、视频）：ModelDeployment API 没有该字段",
            ));
            let header = [
                t(lang, "Dataset", "数据集"),
                t(lang, "Source", "来源"),
                t(lang, "Obtained", "获取方式"),
                t(lang, "Legal basis", "合法性基础"),
                t(lang, "License", "许可"),
                t(lang, "Personal info", "个人信息"),
                t(lang, "Records", "记录数"),
                t(lang, "Last updated", "最近更新"),
                t(lang, "Provenance", "来源记录"),
            ]
            .to_vec();
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
                            (false, _) => t(lang, "none", "无"),
                            (true, Some(true)) => t(lang, "desensitized", "已去标识化"),
                            (true, _) => t(lang, "yes", "有"),
                        },
                        d.records
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| "–".into()),
                        or_dash(d.last_updated.as_deref()),
                        or_dash(d.provenance_ref.as_deref()),
                    ]
                })
                .collect();
            data.table = Some((header, rows));
        }
        for n in [4, 6, 7, 13, 14] {
            data.paragraphs.push(row_state(n));
        }

        // Annotation.
        let mut annotation = Section {
            title: t(
                lang,
                "Annotation rules and batch sampling (rows 20–22)",
                "标注规则与批次抽检（第20–22项）",
            ),
            ..Default::default()
        };
        let training = spec.training.as_ref();
        match training.and_then(|t| t.annotation_rules_ref.as_deref()) {
            Some(r) => annotation
                .paragraphs
                .push(format!("{}: {r}", t(lang, "Annotation rules", "标注规则"))),
            None => {
                annotation.paragraphs.push(t(
                    lang,
                    "Annotation rules: not declared (spec.training.annotationRulesRef).",
                    "标注规则：未声明（spec.training.annotationRulesRef）。",
                ));
                undeclared.push(t(
                    lang,
                    "where the annotation rules are kept (spec.training.annotationRulesRef)",
                    "标注规则存放位置（spec.training.annotationRulesRef）",
                ));
            }
        }
        let limit = policy
            .and_then(|p| p.spec.parameters.annotation_max_illegal_ratio)
            .unwrap_or(defaults::ANNOTATION_MAX_ILLEGAL_RATIO);
        let batches = training
            .map(|t| t.annotation_batches.as_slice())
            .unwrap_or(&[]);
        if batches.is_empty() {
            undeclared.push(t(
                lang,
                "annotation batch sampling records (spec.training.annotationBatches)",
                "标注批次抽检记录（spec.training.annotationBatches）",
            ));
        } else {
            annotation.table = Some((
                [
                    t(lang, "Batch", "批次"),
                    t(lang, "Items", "条目"),
                    t(lang, "Sampled", "抽检"),
                    t(lang, "Illegal", "违法不良"),
                    t(lang, "Share", "比例"),
                    t(lang, "Limit", "上限"),
                    t(lang, "Voided", "已作废"),
                ]
                .to_vec(),
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
                            super::text::yes_no(b.voided, lang).to_owned(),
                        ]
                    })
                    .collect(),
            ));
        }
        for n in [20, 21, 22] {
            annotation.paragraphs.push(row_state(n));
        }

        // Safety evaluation against thresholds.
        let mut safety = Section {
            title: t(
                lang,
                "Safety evaluation against thresholds (rows 31–33)",
                "安全评估结果与阈值（第31–33项）",
            ),
            ..Default::default()
        };
        let params = policy
            .map(|p| p.spec.parameters.clone())
            .unwrap_or_default();
        let mut figures: Vec<Vec<String>> = Vec::new();
        let mut check = |what: String, figure: String, threshold: String, met: bool| {
            figures.push(vec![
                what,
                figure,
                threshold,
                super::text::yes_no(met, lang).to_owned(),
            ]);
        };
        let sample = |label: &str,
                      s: &SampleResult,
                      min_items: i64,
                      min_rate: f64,
                      check: &mut dyn FnMut(String, String, String, bool)| {
            check(
                format!("{label}: {}", t(lang, "items", "样本数")),
                s.items.to_string(),
                format!(">= {min_items}"),
                s.items >= min_items,
            );
            check(
                format!("{label}: {}", t(lang, "pass rate", "合格率")),
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
                let l31 = format!(
                    "31 {} ({})",
                    t(lang, "corpus, manual", "语料 人工抽检"),
                    c.date
                );
                sample(&l31, &c.manual, manual_min, manual_rate, &mut check);
                let l31a = format!(
                    "31 {} ({})",
                    t(lang, "corpus, automated", "语料 技术抽检"),
                    c.date
                );
                check(
                    format!("{l31a}: {}", t(lang, "share of corpus", "占语料比例")),
                    percent(c.automated.items, c.corpus_size, lang),
                    format!(">= {}", rate(ratio)),
                    c.corpus_size > 0
                        && c.automated.items as f64 + 1e-9 >= ratio * c.corpus_size as f64,
                );
                check(
                    format!("{l31a}: {}", t(lang, "pass rate", "合格率")),
                    percent(c.automated.passed, c.automated.items, lang),
                    format!(">= {}", rate(auto_rate)),
                    c.automated.items > 0
                        && c.automated.passed as f64 + 1e-9 >= auto_rate * c.automated.items as f64,
                );
            }
            None => undeclared.push(t(
                lang,
                "the corpus safety evaluation (spec.evaluation.corpus)",
                "语料安全评估（spec.evaluation.corpus）",
            )),
        }
        match &eval.generated_content {
            Some(g) => {
                let th = params.content_evaluation.clone().unwrap_or_default();
                let min = th.min_items.unwrap_or(defaults::CONTENT_MIN_ITEMS);
                let r = th.min_pass_rate.unwrap_or(defaults::CONTENT_MIN_PASS_RATE);
                for (what, s) in [
                    (t(lang, "generated, manual", "生成内容 人工抽检"), &g.manual),
                    (
                        t(lang, "generated, keyword", "生成内容 关键词抽检"),
                        &g.keyword,
                    ),
                    (
                        t(lang, "generated, classifier", "生成内容 分类模型抽检"),
                        &g.classifier,
                    ),
                ] {
                    sample(&format!("32 {what} ({})", g.date), s, min, r, &mut check);
                }
            }
            None => undeclared.push(t(
                lang,
                "the generated-content safety evaluation (spec.evaluation.generatedContent)",
                "生成内容安全评估（spec.evaluation.generatedContent）",
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
                    &format!(
                        "33 {} ({})",
                        t(lang, "should refuse, refused", "应拒答 拒答"),
                        r.date
                    ),
                    &r.should_refuse,
                    min,
                    refuse,
                    &mut check,
                );
                let s = &r.should_answer;
                let refused = s.items - s.passed;
                check(
                    format!(
                        "33 {} ({}): {}",
                        t(lang, "should answer", "非拒答"),
                        r.date,
                        t(lang, "items", "样本数")
                    ),
                    s.items.to_string(),
                    format!(">= {min}"),
                    s.items >= min,
                );
                check(
                    format!(
                        "33 {} ({}): {}",
                        t(lang, "should answer", "非拒答"),
                        r.date,
                        t(lang, "refusal rate", "拒答率")
                    ),
                    percent(refused, s.items, lang),
                    format!("<= {}", rate(answer_max)),
                    s.items > 0 && refused as f64 <= answer_max * s.items as f64 + 1e-9,
                );
            }
            None => undeclared.push(t(
                lang,
                "the refusal evaluation (spec.evaluation.refusal)",
                "拒答评估（spec.evaluation.refusal）",
            )),
        }
        if !figures.is_empty() {
            safety.table = Some((
                [
                    t(lang, "Evaluation", "评估"),
                    t(lang, "Figure", "结果"),
                    t(lang, "Threshold", "阈值"),
                    t(lang, "Met", "达标"),
                ]
                .to_vec(),
                figures,
            ));
        }
        for n in [31, 32, 33] {
            safety.paragraphs.push(row_state(n));
        }

        // Filing and assessment.
        let mut filing = Section {
            title: t(
                lang,
                "Filing and security assessment (rows 24, 25)",
                "备案与安全评估（第24、25项）",
            ),
            ..Default::default()
        };
        let s = &spec.service;
        filing.table = Some((
            vec![t(lang, "Item", "项目"), t(lang, "Declared", "声明")],
            vec![
                vec![
                    t(lang, "Filing number", "备案号"),
                    or_dash(s.filing_number.as_deref()),
                ],
                vec![
                    t(lang, "Filed model version", "备案模型版本"),
                    or_dash(s.filed_model_version.as_deref()),
                ],
                vec![
                    t(lang, "Model version in service", "在用模型版本"),
                    spec.model.version.clone(),
                ],
                vec![
                    t(lang, "Security assessment", "安全评估"),
                    s.security_assessment
                        .as_ref()
                        .map(|a| format!("{} ({})", a.reference, a.date))
                        .unwrap_or_else(|| "–".into()),
                ],
            ],
        ));
        if s.public && s.filing_number.is_none() {
            undeclared.push(t(
                lang,
                "the algorithm filing number (spec.service.filingNumber)",
                "算法备案号（spec.service.filingNumber）",
            ));
        }
        filing.paragraphs.push(row_state(24));
        filing.paragraphs.push(row_state(25));

        // Evidence on record.
        let mut record = Section {
            title: t(lang, "Evidence on record", "证据清单"),
            ..Default::default()
        };
        let mut mine: Vec<&ComplianceEvidence> = evidence
            .iter()
            .filter(|e| {
                e.metadata.namespace.as_deref().unwrap_or("default") == view.namespace
                    && e.spec.targets.contains(&view.name)
            })
            .collect();
        mine.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        if mine.is_empty() {
            record.paragraphs.push(t(
                lang,
                "No ComplianceEvidence names this deployment.",
                "没有任何 ComplianceEvidence 指向该部署。",
            ));
        } else {
            let l = labels(lang);
            record.table = Some((
                [
                    t(lang, "Evidence", "证据"),
                    t(lang, "Covers", "涵盖"),
                    t(lang, "Summary", "摘要"),
                    "URI".to_owned(),
                    "SHA-256".to_owned(),
                    t(lang, "Attested by", "证明人"),
                    t(lang, "Attested", "证明日期"),
                    l.valid_until.to_owned(),
                    t(lang, "Validity", "有效性"),
                ]
                .to_vec(),
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
                            t(lang, "expired", "已过期")
                        } else if e.spec.attested_at.0 > now {
                            t(lang, "not yet valid", "尚未生效")
                        } else {
                            t(lang, "valid", "有效")
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
                            validity,
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

    fn undeclared_title(&self) -> String {
        t(self.lang, "Not declared", "未声明的内容")
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
            e(&self.undeclared_title())
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
            e(&self.undeclared_title())
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
