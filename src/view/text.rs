//! The words of every format: labels in each language, and the texts of condition messages
//! and reasons.

use crate::api::{Acquisition, Audience, LegalBasis, Modality, RiskLevel, Severity};
use crate::catalog::{self, Lang};
use crate::evaluate::{Obligation, State};
use crate::i18n;

use super::{DeploymentView, Origin, RowView};

/// The text a reader sees for a condition message (what was found, what is missing).
///
/// Messages are written in English by the evaluation, from the templates of [`i18n`]; in
/// Chinese they are read back into their template and filled in from the Chinese one.
pub fn message_text(message: &str, lang: Lang) -> String {
    i18n::message(message, lang).into_owned()
}

/// The text a reader sees for a condition reason (`DatasetsCleaned` → "every dataset
/// cleaned"), from the reason table of [`i18n`].
///
/// A met row's status keeps only its reason, so this text is what the table says about it. A
/// reason the table does not know (written by another version of the operator) is spelt as
/// words in English, and kept as it is in Chinese.
pub fn reason_text(reason: &str, lang: Lang) -> String {
    if let Some(text) = i18n::reason_text(reason, lang) {
        return text.to_owned();
    }
    if lang == Lang::Zh {
        return reason.to_owned();
    }
    let mut out = String::with_capacity(reason.len() + 4);
    for (i, c) in reason.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn state_label(state: State, lang: Lang) -> &'static str {
    match (lang, state) {
        (Lang::En, s) => s.as_str(),
        (Lang::Zh, State::Compliant) => "符合",
        (Lang::Zh, State::NonCompliant) => "不符合",
        (Lang::Zh, State::NotApplicable) => "不适用",
        (Lang::Zh, State::Excepted) => "风险接受",
        (Lang::Zh, State::Unknown) => "待确认",
    }
}

/// A CSS-friendly name of a state.
pub fn state_class(state: State) -> &'static str {
    match state {
        State::Compliant => "compliant",
        State::NonCompliant => "noncompliant",
        State::NotApplicable => "notapplicable",
        State::Excepted => "excepted",
        State::Unknown => "unknown",
    }
}

pub fn risk_class(risk: RiskLevel) -> &'static str {
    match risk {
        RiskLevel::None => "none",
        RiskLevel::Low => "low",
        RiskLevel::Medium => "medium",
        RiskLevel::High => "high",
        RiskLevel::Critical => "critical",
    }
}

pub fn yes_no(applicable: bool, lang: Lang) -> &'static str {
    match (lang, applicable) {
        (Lang::En, true) => "yes",
        (Lang::En, false) => "no",
        (Lang::Zh, true) => "是",
        (Lang::Zh, false) => "否",
    }
}

/// The labels of the report's parts.
pub struct Labels {
    pub title: &'static str,
    pub fleet: &'static str,
    pub risk_levels: &'static str,
    pub deployments: &'static str,
    pub most_unmet: &'static str,
    pub none: &'static str,
    pub findings: &'static str,
    pub table: &'static str,
    pub contents: &'static str,
    pub source: &'static str,
    pub valid_until: &'static str,
    pub days_left: &'static str,
    pub covers: &'static str,
    pub targets: &'static str,
    pub problems: &'static str,
    pub risk: &'static str,
    pub severity: &'static str,
    pub state: &'static str,
    pub not_shown: &'static str,
    pub highest_risk: &'static str,
    pub not_acceptable: &'static str,
    pub policy: &'static str,
    pub selector: &'static str,
    pub no_deployment: &'static str,
    pub not_evaluated: &'static str,
    /// A share of nothing.
    pub no_share: &'static str,
}

pub fn labels(lang: Lang) -> &'static Labels {
    const EN: Labels = Labels {
        title: "Annex A compliance report",
        fleet: "Fleet",
        risk_levels: "Deployments by risk level",
        deployments: "ModelDeployments",
        most_unmet: "Rows most often not met",
        none: "none",
        findings: "Open findings, most severe first",
        table: "Annex A table",
        contents: "Contents",
        source: "source",
        valid_until: "valid until",
        days_left: "days left",
        covers: "covers",
        targets: "for",
        problems: "Problems",
        risk: "Risk",
        severity: "Severity",
        state: "State",
        not_shown: "met or not applicable rows not shown; --all-rows lists every row, --wide every column",
        highest_risk: "Highest risk",
        not_acceptable: "not acceptable",
        policy: "policy",
        selector: "selector",
        no_deployment: "no ModelDeployment",
        not_evaluated: "not evaluated",
        no_share: "n/a",
    };
    const ZH: Labels = Labels {
        title: "附录A 合规报告",
        fleet: "总览",
        risk_levels: "按风险等级统计的部署",
        deployments: "ModelDeployment 数量",
        most_unmet: "最常不符合的条目",
        none: "无",
        findings: "未关闭的问题（按严重程度）",
        table: "附录A 合规义务表",
        contents: "目录",
        source: "来源",
        valid_until: "有效期至",
        days_left: "剩余天数",
        covers: "涵盖",
        targets: "适用于",
        problems: "问题",
        risk: "风险",
        severity: "严重程度",
        state: "状态",
        not_shown: "条符合或不适用的条目未显示；--all-rows 显示全部条目，--wide 显示全部列",
        highest_risk: "最高风险",
        not_acceptable: "不可接受",
        policy: "策略",
        selector: "选择器",
        no_deployment: "没有 ModelDeployment",
        not_evaluated: "未评估",
        no_share: "无",
    };
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// The words of the regulator's dossier (row 42). A text with `{name}` in it is a template,
/// filled in by the dossier.
pub struct DossierTexts {
    pub title: &'static str,
    pub as_of: &'static str,
    /// The header of a table of declared items.
    pub item: &'static str,
    pub declared: &'static str,
    /// `{what} ({path})`: something not declared and the field that would declare it.
    pub field: &'static str,
    /// `{path}` declares nothing.
    pub empty: &'static str,
    /// `{what}` is not declared, `{path}` would declare it.
    pub not_declared: &'static str,
    /// The title of the list of what is not declared.
    pub undeclared: &'static str,

    pub service: &'static str,
    pub model: &'static str,
    pub version: &'static str,
    pub generates: &'static str,
    pub provider: &'static str,
    pub public: &'static str,
    pub audiences: &'static str,
    pub disclosure: &'static str,
    pub no_provider: &'static str,

    pub algorithm: &'static str,
    pub no_algorithm: &'static str,

    pub data: &'static str,
    pub no_dataset: &'static str,
    pub no_datasets: &'static str,
    /// `{datasets}` datasets from `{sources}` sources, `{records}` records over
    /// `{with_records}` of them, obtained as `{kinds}`.
    pub data_summary: &'static str,
    pub no_records: &'static str,
    pub no_content_kind: &'static str,
    pub dataset_header: [&'static str; 9],
    pub personal_none: &'static str,
    pub personal_desensitized: &'static str,
    pub personal_yes: &'static str,

    pub annotation: &'static str,
    pub annotation_rules: &'static str,
    pub no_annotation_rules: &'static str,
    pub no_batches: &'static str,
    pub batch_header: [&'static str; 7],

    pub safety: &'static str,
    pub items: &'static str,
    pub pass_rate: &'static str,
    pub share_of_corpus: &'static str,
    pub refusal_rate: &'static str,
    pub corpus_manual: &'static str,
    pub corpus_automated: &'static str,
    pub generated_manual: &'static str,
    pub generated_keyword: &'static str,
    pub generated_classifier: &'static str,
    pub should_refuse: &'static str,
    pub should_answer: &'static str,
    pub no_corpus_evaluation: &'static str,
    pub no_content_evaluation: &'static str,
    pub no_refusal_evaluation: &'static str,
    pub figures_header: [&'static str; 4],

    pub filing: &'static str,
    pub filing_number: &'static str,
    pub filed_version: &'static str,
    pub version_in_service: &'static str,
    pub security_assessment: &'static str,
    pub no_filing_number: &'static str,

    pub record: &'static str,
    pub no_evidence: &'static str,
    pub evidence: &'static str,
    pub covers: &'static str,
    pub summary: &'static str,
    pub attested_by: &'static str,
    pub attested: &'static str,
    pub validity: &'static str,
    pub expired: &'static str,
    pub not_yet_valid: &'static str,
    pub valid: &'static str,
}

pub fn dossier_texts(lang: Lang) -> &'static DossierTexts {
    const EN: DossierTexts = DossierTexts {
        title: "Regulator dossier (row 42)",
        as_of: "As of",
        item: "Item",
        declared: "Declared",
        field: "{what} ({path})",
        empty: "Not declared: {path} is empty.",
        not_declared: "{what}: not declared ({path}).",
        undeclared: "Not declared",

        service: "Service and model",
        model: "Model",
        version: "Version",
        generates: "Generates",
        provider: "Provider",
        public: "Offered to the public",
        audiences: "Audiences",
        disclosure: "Disclosure",
        no_provider: "the service provider",

        algorithm: "Model and algorithm",
        no_algorithm: "the description of the model and algorithm",

        data: "Training data: sources, scale and kinds (rows 4–15)",
        no_dataset: "No dataset is declared.",
        no_datasets: "the training datasets",
        data_summary: "{datasets} dataset(s) from {sources} distinct source(s); {records} record(s) declared over {with_records} of them; obtained as: {kinds}.",
        no_records: "the number of records of dataset(s)",
        no_content_kind: "the kind of content of each dataset (text, image, audio, video): the ModelDeployment API has no field for it",
        dataset_header: [
            "Dataset",
            "Source",
            "Obtained",
            "Legal basis",
            "License",
            "Personal info",
            "Records",
            "Last updated",
            "Provenance",
        ],
        personal_none: "none",
        personal_desensitized: "desensitized",
        personal_yes: "yes",

        annotation: "Annotation rules and batch sampling (rows 20–22)",
        annotation_rules: "Annotation rules",
        no_annotation_rules: "where the annotation rules are kept",
        no_batches: "annotation batch sampling records",
        batch_header: [
            "Batch", "Items", "Sampled", "Illegal", "Share", "Limit", "Voided",
        ],

        safety: "Safety evaluation against thresholds (rows 31–33)",
        items: "items",
        pass_rate: "pass rate",
        share_of_corpus: "share of corpus",
        refusal_rate: "refusal rate",
        corpus_manual: "corpus, manual",
        corpus_automated: "corpus, automated",
        generated_manual: "generated, manual",
        generated_keyword: "generated, keyword",
        generated_classifier: "generated, classifier",
        should_refuse: "should refuse, refused",
        should_answer: "should answer",
        no_corpus_evaluation: "the corpus safety evaluation",
        no_content_evaluation: "the generated-content safety evaluation",
        no_refusal_evaluation: "the refusal evaluation",
        figures_header: ["Evaluation", "Figure", "Threshold", "Met"],

        filing: "Filing and security assessment (rows 24, 25)",
        filing_number: "Filing number",
        filed_version: "Filed model version",
        version_in_service: "Model version in service",
        security_assessment: "Security assessment",
        no_filing_number: "the algorithm filing number",

        record: "Evidence on record",
        no_evidence: "No ComplianceEvidence names this deployment.",
        evidence: "Evidence",
        covers: "Covers",
        summary: "Summary",
        attested_by: "Attested by",
        attested: "Attested",
        validity: "Validity",
        expired: "expired",
        not_yet_valid: "not yet valid",
        valid: "valid",
    };
    const ZH: DossierTexts = DossierTexts {
        title: "监管说明材料（第42项）",
        as_of: "时间",
        item: "项目",
        declared: "声明",
        field: "{what}（{path}）",
        empty: "未声明：{path} 为空。",
        not_declared: "{what}：未声明（{path}）。",
        undeclared: "未声明的内容",

        service: "服务与模型",
        model: "模型",
        version: "版本",
        generates: "生成内容",
        provider: "提供者",
        public: "面向公众",
        audiences: "适用人群",
        disclosure: "公开说明",
        no_provider: "服务提供者",

        algorithm: "模型与算法",
        no_algorithm: "模型与算法说明",

        data: "训练数据：来源、规模与类型（第4–15项）",
        no_dataset: "未声明任何数据集。",
        no_datasets: "训练数据集",
        data_summary: "{datasets} 个数据集，{sources} 个不同来源；其中 {with_records} 个声明了记录数，共 {records} 条；获取方式：{kinds}。",
        no_records: "数据集记录数",
        no_content_kind: "各数据集的内容类型（文本、图片、音频、视频）：ModelDeployment API 没有该字段",
        dataset_header: [
            "数据集",
            "来源",
            "获取方式",
            "合法性基础",
            "许可",
            "个人信息",
            "记录数",
            "最近更新",
            "来源记录",
        ],
        personal_none: "无",
        personal_desensitized: "已脱敏",
        personal_yes: "有",

        annotation: "标注规则与批次抽检（第20–22项）",
        annotation_rules: "标注规则",
        no_annotation_rules: "标注规则存放位置",
        no_batches: "标注批次抽检记录",
        batch_header: ["批次", "条目", "抽检", "违法不良", "比例", "上限", "已作废"],

        safety: "安全评估结果与阈值（第31–33项）",
        items: "样本数",
        pass_rate: "合格率",
        share_of_corpus: "占语料比例",
        refusal_rate: "拒答率",
        corpus_manual: "语料 人工抽检",
        corpus_automated: "语料 技术抽检",
        generated_manual: "生成内容 人工抽检",
        generated_keyword: "生成内容 关键词抽检",
        generated_classifier: "生成内容 分类模型抽检",
        should_refuse: "应拒答 拒答",
        should_answer: "非拒答",
        no_corpus_evaluation: "语料安全评估",
        no_content_evaluation: "生成内容安全评估",
        no_refusal_evaluation: "拒答评估",
        figures_header: ["评估", "结果", "阈值", "达标"],

        filing: "备案与安全评估（第24、25项）",
        filing_number: "备案号",
        filed_version: "备案模型版本",
        version_in_service: "在用模型版本",
        security_assessment: "安全评估",
        no_filing_number: "算法备案号",

        record: "证据清单",
        no_evidence: "没有任何 ComplianceEvidence 指向该部署。",
        evidence: "证据",
        covers: "涵盖",
        summary: "摘要",
        attested_by: "证明人",
        attested: "证明日期",
        validity: "有效性",
        expired: "已过期",
        not_yet_valid: "尚未生效",
        valid: "有效",
    };
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// The name of a risk level: `Critical`, 严重.
pub fn risk_name(risk: RiskLevel, lang: Lang) -> &'static str {
    i18n::risk_level(risk, lang)
}

/// The name of a severity: `High`, 高.
pub fn severity_name(severity: Severity, lang: Lang) -> &'static str {
    i18n::severity(severity, lang)
}

/// A kind of content a model generates: `Image`, 图片 (the guideline's words for what a
/// service generates: 文本、图片、音频、视频).
pub fn modality_name(modality: Modality, lang: Lang) -> &'static str {
    match lang {
        Lang::En => match modality {
            Modality::Text => "Text",
            Modality::Image => "Image",
            Modality::Audio => "Audio",
            Modality::Video => "Video",
        },
        Lang::Zh => match modality {
            Modality::Text => "文本",
            Modality::Image => "图片",
            Modality::Audio => "音频",
            Modality::Video => "视频",
        },
    }
}

/// Who a service is for: `Minors`, 未成年人.
pub fn audience_name(audience: Audience, lang: Lang) -> &'static str {
    match lang {
        Lang::En => match audience {
            Audience::General => "General",
            Audience::Minors => "Minors",
            Audience::Enterprise => "Enterprise",
            Audience::Developers => "Developers",
        },
        Lang::Zh => match audience {
            Audience::General => "公众",
            Audience::Minors => "未成年人",
            Audience::Enterprise => "企业用户",
            Audience::Developers => "开发者",
        },
    }
}

/// How a dataset was obtained: `Crawled`, 爬取.
pub fn acquisition_name(acquisition: Acquisition, lang: Lang) -> &'static str {
    match lang {
        Lang::En => match acquisition {
            Acquisition::Licensed => "Licensed",
            Acquisition::Purchased => "Purchased",
            Acquisition::Crawled => "Crawled",
            Acquisition::OpenData => "OpenData",
            Acquisition::UserProvided => "UserProvided",
            Acquisition::SelfProduced => "SelfProduced",
            Acquisition::Synthetic => "Synthetic",
        },
        Lang::Zh => match acquisition {
            Acquisition::Licensed => "授权取得",
            Acquisition::Purchased => "购买",
            Acquisition::Crawled => "爬取",
            Acquisition::OpenData => "开放数据",
            Acquisition::UserProvided => "使用者提供",
            Acquisition::SelfProduced => "自行制作",
            Acquisition::Synthetic => "合成数据",
        },
    }
}

/// The legal basis for using a dataset: `Consent`, 个人同意 (row 7: 取得了个人信息主体同意或者
/// 获得其他合法性基础), in the words the findings use for it.
pub fn legal_basis_name(basis: LegalBasis, lang: Lang) -> &'static str {
    match lang {
        Lang::En => match basis {
            LegalBasis::Consent => "Consent",
            LegalBasis::Contract => "Contract",
            LegalBasis::LegalDuty => "LegalDuty",
            LegalBasis::PubliclyDisclosed => "PubliclyDisclosed",
            LegalBasis::License => "License",
            LegalBasis::Ownership => "Ownership",
        },
        Lang::Zh => match basis {
            LegalBasis::Consent => "个人同意",
            LegalBasis::Contract => "履行合同所必需",
            LegalBasis::LegalDuty => "法定义务",
            LegalBasis::PubliclyDisclosed => "已合法公开的信息",
            LegalBasis::License => "权利人授权",
            LegalBasis::Ownership => "自有数据",
        },
    }
}

/// `row 42`, 第42项.
pub fn row_label(n: u8, lang: Lang) -> String {
    match lang {
        Lang::En => format!("row {n}"),
        Lang::Zh => format!("第{n}项"),
    }
}

/// `Evidence expiring within 30 days`.
pub fn expiring_heading(days: i64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("Evidence expiring within {days} days"),
        Lang::Zh => format!("{days} 天内到期的证据"),
    }
}

/// The seven columns of the Annex A table.
pub fn headers(lang: Lang) -> [&'static str; 7] {
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

/// Level 1, level 2 and the obligation's title.
pub fn titles(id: Obligation, lang: Lang) -> (&'static str, &'static str, &'static str) {
    match id {
        Obligation::Row(n) => {
            let row = catalog::row_entry(n).expect("valid row");
            (
                row.area.title(lang),
                row.topic.map(|t| t.title(lang)).unwrap_or("–"),
                row.title(lang),
            )
        }
        Obligation::Measure(m) => {
            let entry = catalog::measure_entry(m);
            let level1 = match lang {
                Lang::En => "Technical measures (8.1)",
                Lang::Zh => "安全技术措施（8.1）",
            };
            (level1, entry.clause, entry.title(lang))
        }
    }
}

/// The remark column: the policy's remark, then what the row rests on — for a met row the
/// text of its reason and the evidence with its validity, otherwise the condition message.
pub fn remark(row: &RowView, lang: Lang) -> String {
    let detail = match row.state {
        State::NotApplicable if row.remark.is_some() => String::new(),
        State::Compliant => {
            let mut text = reason_text(&row.reason, lang);
            if let Some(e) = &row.evidence {
                text.push_str(&format!(
                    ": {} ({} {})",
                    e.name,
                    labels(lang).valid_until,
                    e.valid_until
                ));
            }
            text
        }
        _ => message_text(&row.message, lang),
    };
    match (&row.remark, detail.is_empty()) {
        (Some(r), true) => r.clone(),
        (Some(r), false) => format!("{r} — {detail}"),
        (None, _) => detail,
    }
}

/// `ModelDeployment ns/name (policy P)`.
pub fn title(d: &DeploymentView, lang: Lang) -> String {
    let policy = labels(lang).policy;
    match lang {
        Lang::En => format!(
            "ModelDeployment {}/{} ({policy} {})",
            d.namespace, d.name, d.policy
        ),
        Lang::Zh => format!(
            "ModelDeployment {}/{}（{policy} {}）",
            d.namespace, d.name, d.policy
        ),
    }
}

/// `risk Critical — NOT acceptable (max Low); 34/40 rows met; 0 not met, …`.
pub fn verdict(d: &DeploymentView, lang: Lang) -> String {
    let s = &d.summary;
    let verdict = match (lang, d.acceptable) {
        (Lang::En, true) => "acceptable",
        (Lang::En, false) => "NOT acceptable",
        (Lang::Zh, true) => "可接受",
        (Lang::Zh, false) => "不可接受",
    };
    match lang {
        Lang::En => format!(
            "risk {} — {verdict} (max {}); {} rows met; {} not met, {} unknown, {} excepted, {} not applicable",
            risk_name(d.risk, lang),
            risk_name(d.max_acceptable, lang),
            s.ratio(),
            s.non_compliant,
            s.unknown,
            s.excepted,
            s.not_applicable,
        ),
        Lang::Zh => format!(
            "风险等级 {} — {verdict}（上限 {}）；符合 {}；不符合 {}，待确认 {}，风险接受 {}，不适用 {}",
            risk_name(d.risk, lang),
            risk_name(d.max_acceptable, lang),
            s.ratio(),
            s.non_compliant,
            s.unknown,
            s.excepted,
            s.not_applicable,
        ),
    }
}

/// The first line: what was read, and when.
pub fn origin_line(origin: &Origin, deployments: usize, now: &str, lang: Lang) -> String {
    match (origin, lang) {
        (Origin::Manifests { files, documents }, Lang::En) => format!(
            "Checked {deployments} ModelDeployment(s) in {files} file(s), {documents} document(s), as of {now}"
        ),
        (Origin::Manifests { files, documents }, Lang::Zh) => format!(
            "已检查 {files} 个文件（{documents} 个文档）中的 {deployments} 个 ModelDeployment，时间 {now}"
        ),
        (
            Origin::Cluster {
                context,
                namespace,
                selector,
            },
            lang,
        ) => {
            let scope = match (namespace, lang) {
                (Some(ns), Lang::En) => format!("namespace {ns}"),
                (None, Lang::En) => "all namespaces".to_owned(),
                (Some(ns), Lang::Zh) => format!("命名空间 {ns}"),
                (None, Lang::Zh) => "所有命名空间".to_owned(),
            };
            let selector = selector
                .as_deref()
                .map(|s| {
                    let label = labels(lang).selector;
                    match lang {
                        Lang::En => format!(", {label} {s}"),
                        Lang::Zh => format!("，{label} {s}"),
                    }
                })
                .unwrap_or_default();
            match lang {
                Lang::En => format!(
                    "Read {deployments} ModelDeployment(s) from context {context}, {scope}{selector}, as of {now}"
                ),
                Lang::Zh => format!(
                    "已从上下文 {context}（{scope}{selector}）读取 {deployments} 个 ModelDeployment，时间 {now}"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_from_the_table_or_as_words() {
        assert_eq!(
            reason_text("EvidenceValid", Lang::En),
            "attested by valid evidence"
        );
        assert_eq!(reason_text("EvidenceValid", Lang::Zh), "已有有效证据证明");
        assert_eq!(reason_text("SomeNewReason", Lang::En), "Some new reason");
        assert_eq!(reason_text("SomeNewReason", Lang::Zh), "SomeNewReason");
        assert_eq!(reason_text("X", Lang::En), "X");
    }

    #[test]
    fn dossier_templates_have_the_same_placeholders_in_each_language() {
        fn slots(template: &str) -> Vec<&str> {
            let mut slots: Vec<&str> = template
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(name, _)| name))
                .collect();
            slots.sort_unstable();
            slots
        }
        let (en, zh) = (dossier_texts(Lang::En), dossier_texts(Lang::Zh));
        for (en, zh) in [
            (en.field, zh.field),
            (en.empty, zh.empty),
            (en.not_declared, zh.not_declared),
            (en.data_summary, zh.data_summary),
        ] {
            assert!(!slots(en).is_empty(), "{en}");
            assert_eq!(slots(en), slots(zh), "{en} / {zh}");
        }
    }
}
