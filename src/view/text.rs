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
}
