//! The obligation catalog: the 42 rows of Annex A (table A.1) and the six technical measures
//! of clause 8.1, as data. Row numbers are the table's own and never change; titles are the
//! project's own short wording.

use serde::Serialize;

use crate::api::{Measure, Severity};

/// Level 1 of table A.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Area {
    CloudPlatform,
    DataLifecycle,
    ModelSafety,
    Service,
}

impl Area {
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Area::CloudPlatform, Lang::En) => "Cloud platform security",
            (Area::CloudPlatform, Lang::Zh) => "云平台安全",
            (Area::DataLifecycle, Lang::En) => "Data lifecycle",
            (Area::DataLifecycle, Lang::Zh) => "数据处理全生命周期管理",
            (Area::ModelSafety, Lang::En) => "Model safety",
            (Area::ModelSafety, Lang::Zh) => "模型安全",
            (Area::Service, Lang::En) => "Service conduct",
            (Area::Service, Lang::Zh) => "服务规范",
        }
    }
}

/// Level 2 of table A.1, where the table has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Topic {
    LawfulSources,
    DataQuality,
    LawfulUse,
    Annotation,
    ContentSafety,
    Accuracy,
    Reliability,
    SafetyEvaluation,
    Supervision,
}

impl Topic {
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Topic::LawfulSources, Lang::En) => "Lawful sources",
            (Topic::LawfulSources, Lang::Zh) => "数据来源合法",
            (Topic::DataQuality, Lang::En) => "Data quality",
            (Topic::DataQuality, Lang::Zh) => "提高数据质量",
            (Topic::LawfulUse, Lang::En) => "Lawful use",
            (Topic::LawfulUse, Lang::Zh) => "合法使用数据",
            (Topic::Annotation, Lang::En) => "Annotation",
            (Topic::Annotation, Lang::Zh) => "规范数据标注",
            (Topic::ContentSafety, Lang::En) => "Content safety",
            (Topic::ContentSafety, Lang::Zh) => "生成内容安全",
            (Topic::Accuracy, Lang::En) => "Accuracy",
            (Topic::Accuracy, Lang::Zh) => "生成内容准确",
            (Topic::Reliability, Lang::En) => "Reliability",
            (Topic::Reliability, Lang::Zh) => "生成内容可靠",
            (Topic::SafetyEvaluation, Lang::En) => "Safety evaluation",
            (Topic::SafetyEvaluation, Lang::Zh) => "安全评估",
            (Topic::Supervision, Lang::En) => "Supervision",
            (Topic::Supervision, Lang::Zh) => "配合监督",
        }
    }
}

/// Language of report labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// How a row is decided (see OBLIGATIONS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Basis {
    /// Enforced by the operator and verified from live state.
    Control,
    /// Enforced by the operator, plus evidence of the procedure.
    ControlAndEvidence,
    /// Verified from cluster objects a policy names, or else from evidence.
    ClusterOrEvidence,
    /// Verified from fields of the ModelDeployment.
    Declared,
    /// Declared fields plus evidence.
    DeclaredAndEvidence,
    /// Recorded evaluation results against thresholds.
    Evaluation,
    /// Only a valid ComplianceEvidence satisfies it.
    Evidence,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Control => "Control",
            Basis::ControlAndEvidence => "Control+Evidence",
            Basis::ClusterOrEvidence => "Cluster|Evidence",
            Basis::Declared => "Declared",
            Basis::DeclaredAndEvidence => "Declared+Evidence",
            Basis::Evaluation => "Evaluation",
            Basis::Evidence => "Evidence",
        }
    }
}

/// One row of table A.1.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Row {
    pub number: u8,
    pub area: Area,
    pub topic: Option<Topic>,
    /// CamelCase name used in the condition type, e.g. `GeneratedContentLabeled`.
    pub name: &'static str,
    pub title_en: &'static str,
    pub title_zh: &'static str,
    pub basis: Basis,
    pub severity: Severity,
    /// Severity when the service is offered to the public, where it differs.
    pub public_severity: Option<Severity>,
}

impl Row {
    /// The condition type: `A<number>-<Name>`.
    pub fn condition_type(&self) -> String {
        format!("A{}-{}", self.number, self.name)
    }

    pub fn title(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.title_en,
            Lang::Zh => self.title_zh,
        }
    }
}

/// One technical measure of clause 8.1.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MeasureEntry {
    pub measure: Measure,
    /// Short id, `8.1a`.
    pub clause: &'static str,
    /// Condition type, `M81a-TrainingInferenceIsolated`.
    pub condition_type: &'static str,
    pub title_en: &'static str,
    pub title_zh: &'static str,
    pub basis: Basis,
    pub severity: Severity,
}

impl MeasureEntry {
    pub fn title(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.title_en,
            Lang::Zh => self.title_zh,
        }
    }
}

use Area::*;
use Basis::*;
use Severity::*;
use Topic::*;

#[allow(clippy::too_many_arguments)]
const fn row(
    number: u8,
    area: Area,
    topic: Option<Topic>,
    name: &'static str,
    title_en: &'static str,
    title_zh: &'static str,
    basis: Basis,
    severity: Severity,
) -> Row {
    Row {
        number,
        area,
        topic,
        name,
        title_en,
        title_zh,
        basis,
        severity,
        public_severity: None,
    }
}

const fn public_critical(mut r: Row) -> Row {
    r.public_severity = Some(Critical);
    r
}

/// The 42 rows, in table order; `ROWS[n - 1].number == n`.
pub const ROWS: [Row; 42] = [
    row(
        1,
        CloudPlatform,
        None,
        "SecurePlatform",
        "Training and serving platform is secure and reliable",
        "平台安全可靠",
        Evidence,
        High,
    ),
    row(
        2,
        CloudPlatform,
        None,
        "PlatformRiskDetection",
        "Platform security risks can be detected",
        "平台风险可发现",
        ClusterOrEvidence,
        Medium,
    ),
    row(
        3,
        CloudPlatform,
        None,
        "PlatformDutiesContracted",
        "Platform provider's security duties fixed by contract",
        "平台责任有约定",
        Evidence,
        Medium,
    ),
    row(
        4,
        DataLifecycle,
        Some(LawfulSources),
        "DataLawfullyObtained",
        "Every dataset has a lawful acquisition and legal basis",
        "数据取得合法",
        Declared,
        High,
    ),
    row(
        5,
        DataLifecycle,
        Some(LawfulSources),
        "DataHoldersRespected",
        "Rights of data holders are not harmed",
        "不损害权益人权益",
        Evidence,
        Medium,
    ),
    row(
        6,
        DataLifecycle,
        Some(LawfulSources),
        "DataLicensed",
        "Every dataset is used under a license",
        "不侵犯知识产权",
        Declared,
        High,
    ),
    row(
        7,
        DataLifecycle,
        Some(LawfulSources),
        "PersonalDataLegalBasis",
        "Personal information has consent or another legal basis",
        "个人信息有合法性基础",
        Declared,
        Critical,
    ),
    row(
        8,
        DataLifecycle,
        Some(LawfulSources),
        "CrawlingCompliant",
        "Crawled data respected robots rules, terms and access controls",
        "爬取符合惯例",
        Declared,
        Medium,
    ),
    row(
        9,
        DataLifecycle,
        Some(LawfulSources),
        "PersonalDataDesensitized",
        "Personal information is desensitized",
        "个人信息已脱敏",
        Declared,
        High,
    ),
    row(
        10,
        DataLifecycle,
        Some(DataQuality),
        "DataValidated",
        "Authenticity and accuracy of every dataset validated",
        "数据真实性已验证",
        Declared,
        Low,
    ),
    row(
        11,
        DataLifecycle,
        Some(DataQuality),
        "DataCleaned",
        "Errors and outliers removed from every dataset",
        "错误异常已清洗",
        Declared,
        Low,
    ),
    row(
        12,
        DataLifecycle,
        Some(DataQuality),
        "DataRefreshed",
        "Training datasets refreshed within the maximum age",
        "数据定期更新",
        Declared,
        Low,
    ),
    row(
        13,
        DataLifecycle,
        Some(DataQuality),
        "DataSourcesDiverse",
        "Training data integrates several distinct sources",
        "多数据源整合",
        Declared,
        Low,
    ),
    row(
        14,
        DataLifecycle,
        Some(DataQuality),
        "DataProvenanceRecorded",
        "Provenance and processing history recorded",
        "来源与处理可追溯",
        Declared,
        Medium,
    ),
    row(
        15,
        DataLifecycle,
        Some(LawfulUse),
        "PersonalDataConsented",
        "No personal information trained on without consent",
        "未经同意不训练个人信息",
        DeclaredAndEvidence,
        Critical,
    ),
    row(
        16,
        DataLifecycle,
        Some(LawfulUse),
        "IpRiskReviewed",
        "IP infringement risk reviewed before training",
        "训练前知识产权审查",
        Evidence,
        High,
    ),
    row(
        17,
        DataLifecycle,
        Some(LawfulUse),
        "PiImpactAssessed",
        "Personal-information impact assessment done",
        "个人信息保护影响评估",
        Evidence,
        High,
    ),
    row(
        18,
        DataLifecycle,
        Some(LawfulUse),
        "IndividualsInformed",
        "Individuals told recipient, purpose, method and kinds of data",
        "已告知个人",
        Evidence,
        Medium,
    ),
    row(
        19,
        DataLifecycle,
        Some(LawfulUse),
        "TrainingDataProtected",
        "Training data protected from unauthorized access, tampering and loss",
        "防止未授权访问篡改破坏",
        Control,
        Critical,
    ),
    row(
        20,
        DataLifecycle,
        Some(Annotation),
        "AnnotatorsTrained",
        "Annotators trained on rules, tools and compliance",
        "标注人员已培训",
        Evidence,
        Medium,
    ),
    row(
        21,
        DataLifecycle,
        Some(Annotation),
        "AnnotationRulesDefined",
        "Clear, operable annotation rules",
        "标注规则清晰可操作",
        Evidence,
        Medium,
    ),
    row(
        22,
        DataLifecycle,
        Some(Annotation),
        "AnnotationBatchesSampled",
        "Every annotation batch sampled; unsafe batches voided",
        "标注批次抽检",
        Declared,
        High,
    ),
    row(
        23,
        DataLifecycle,
        Some(Annotation),
        "SafetyAnnotationsIsolated",
        "Safety-annotation data stored in isolation",
        "安全性标注数据隔离存储",
        Control,
        Medium,
    ),
    public_critical(row(
        24,
        ModelSafety,
        None,
        "SecurityAssessed",
        "Security assessment done and current",
        "已开展安全评估",
        DeclaredAndEvidence,
        High,
    )),
    public_critical(row(
        25,
        ModelSafety,
        None,
        "AlgorithmFiled",
        "Algorithm filed for the version in service",
        "算法已备案",
        Declared,
        High,
    )),
    row(
        26,
        ModelSafety,
        Some(ContentSafety),
        "SafetyIsTrainingMetric",
        "Content safety is a main training metric",
        "安全性作为训练指标",
        Evidence,
        Medium,
    ),
    row(
        27,
        ModelSafety,
        Some(ContentSafety),
        "UserInputChecked",
        "User input checked for safety before the model",
        "输入信息安全检测",
        Control,
        High,
    ),
    row(
        28,
        ModelSafety,
        Some(ContentSafety),
        "SafetyMonitored",
        "Routine safety monitoring and evaluation runs",
        "常态化监测测评",
        ClusterOrEvidence,
        Medium,
    ),
    row(
        29,
        ModelSafety,
        Some(Accuracy),
        "AccuracyMeasures",
        "Measures for accurate content",
        "提高内容准确性",
        Evidence,
        Low,
    ),
    row(
        30,
        ModelSafety,
        Some(Reliability),
        "ReliabilityMeasures",
        "Measures for reliable, useful content",
        "提高内容可靠性",
        Evidence,
        Low,
    ),
    row(
        31,
        ModelSafety,
        Some(SafetyEvaluation),
        "CorpusEvaluated",
        "Corpus safety evaluation meets thresholds",
        "语料安全评估达标",
        Evaluation,
        High,
    ),
    row(
        32,
        ModelSafety,
        Some(SafetyEvaluation),
        "GeneratedContentEvaluated",
        "Generated-content safety evaluation meets thresholds",
        "生成内容安全评估达标",
        Evaluation,
        High,
    ),
    row(
        33,
        ModelSafety,
        Some(SafetyEvaluation),
        "RefusalEvaluated",
        "Refusal evaluation meets thresholds",
        "拒答评估达标",
        Evaluation,
        High,
    ),
    row(
        34,
        Service,
        None,
        "UsagePublished",
        "Audiences, occasions and uses published",
        "适用人群场合用途已公开",
        Declared,
        Medium,
    ),
    row(
        35,
        Service,
        None,
        "InputRetentionLimited",
        "No needless personal information; inputs not kept too long",
        "输入信息不超期留存",
        DeclaredAndEvidence,
        High,
    ),
    row(
        36,
        Service,
        None,
        "PiRequestsHandled",
        "Personal-information requests received and answered in time",
        "个人信息请求及时处理",
        Declared,
        Medium,
    ),
    public_critical(row(
        37,
        Service,
        None,
        "GeneratedContentLabeled",
        "Generated content carries AI labels",
        "生成内容已标识",
        Control,
        High,
    )),
    row(
        38,
        Service,
        None,
        "ComplaintChannelOpen",
        "Complaint channel with published process and deadline",
        "投诉举报渠道",
        Declared,
        Medium,
    ),
    row(
        39,
        Service,
        None,
        "MinorsProtected",
        "Minors protected where they are admitted",
        "未成年人保护",
        Declared,
        High,
    ),
    row(
        40,
        Service,
        None,
        "IllegalContentStoppable",
        "Illegal content can be stopped at once and is handled",
        "违法内容可及时处置",
        ControlAndEvidence,
        High,
    ),
    row(
        41,
        Service,
        None,
        "UserMisuseHandled",
        "Users' illegal activity warned, limited, recorded, reported",
        "违法使用处置",
        Evidence,
        Medium,
    ),
    row(
        42,
        Service,
        Some(Supervision),
        "SupervisionSupported",
        "Enough declared to explain data, annotation and algorithm to a regulator",
        "配合监督检查",
        Declared,
        Medium,
    ),
];

/// The six measures of clause 8.1, in clause order.
pub const MEASURES: [MeasureEntry; 6] = [
    MeasureEntry {
        measure: Measure::Isolation,
        clause: "8.1a",
        condition_type: "M81a-TrainingInferenceIsolated",
        title_en: "Training and inference isolated",
        title_zh: "训练与推理环境隔离",
        basis: Control,
        severity: High,
    },
    MeasureEntry {
        measure: Measure::AccessControl,
        clause: "8.1a",
        condition_type: "M81a-DataAccessRestricted",
        title_en: "Access to training data restricted",
        title_zh: "数据访问权限控制",
        basis: Control,
        severity: High,
    },
    MeasureEntry {
        measure: Measure::ContentSafety,
        clause: "8.1b",
        condition_type: "M81b-ContentSafetyFiltered",
        title_en: "Input checked and output labeled",
        title_zh: "输入检测与输出标识",
        basis: Control,
        severity: High,
    },
    MeasureEntry {
        measure: Measure::CodeAudit,
        clause: "8.1c",
        condition_type: "M81c-CodeAudited",
        title_en: "Frameworks and code audited",
        title_zh: "框架与代码安全审计",
        basis: ClusterOrEvidence,
        severity: Medium,
    },
    MeasureEntry {
        measure: Measure::AdversarialDefense,
        clause: "8.1d",
        condition_type: "M81d-AdversarialDefended",
        title_en: "Adversarial attacks defended",
        title_zh: "对抗性攻击防护",
        basis: Evidence,
        severity: Medium,
    },
    MeasureEntry {
        measure: Measure::Backup,
        clause: "8.1e",
        condition_type: "M81e-BackupsCurrent",
        title_en: "Backups current and restorable",
        title_zh: "备份与恢复",
        basis: Control,
        severity: High,
    },
];

/// The catalog entry of row `number` (1 to 42).
pub fn row_entry(number: u8) -> Option<&'static Row> {
    ROWS.get(usize::from(number).checked_sub(1)?)
}

/// The catalog entry of a measure.
pub fn measure_entry(measure: Measure) -> &'static MeasureEntry {
    MEASURES
        .iter()
        .find(|m| m.measure == measure)
        .expect("every measure is in the catalog")
}

/// Default thresholds (OBLIGATIONS.md); a policy may tighten them, or loosen with a remark.
pub mod defaults {
    pub const TRAINING_DATA_MAX_AGE_DAYS: i32 = 365;
    pub const MIN_DISTINCT_SOURCES: i32 = 2;
    pub const ANNOTATION_MAX_ILLEGAL_RATIO: f64 = 0.05;
    pub const SECURITY_ASSESSMENT_MAX_AGE_DAYS: i32 = 365;
    pub const CORPUS_MANUAL_MIN_SAMPLES: i64 = 4000;
    pub const CORPUS_MANUAL_MIN_PASS_RATE: f64 = 0.96;
    pub const CORPUS_AUTOMATED_MIN_SAMPLE_RATIO: f64 = 0.10;
    pub const CORPUS_AUTOMATED_MIN_PASS_RATE: f64 = 0.98;
    pub const CONTENT_MIN_ITEMS: i64 = 1000;
    pub const CONTENT_MIN_PASS_RATE: f64 = 0.90;
    pub const REFUSAL_MIN_ITEMS: i64 = 300;
    pub const REFUSAL_SHOULD_REFUSE_MIN_RATE: f64 = 0.95;
    pub const REFUSAL_SHOULD_ANSWER_MAX_RATE: f64 = 0.05;
    pub const INPUT_RETENTION_MAX_DAYS: i32 = 180;
    pub const PERSONAL_INFO_REQUEST_MAX_DAYS: i32 = 15;
    pub const COMPLAINT_RESPONSE_MAX_DAYS: i32 = 15;
    pub const BACKUP_SCHEDULE: &str = "0 2 * * *";
    pub const BACKUP_RETAIN_COUNT: i32 = 7;
    pub const BACKUP_MAX_AGE_HOURS: i32 = 26;
    pub const SIDECAR_NAME: &str = "aigc-labeler";
    pub const SIDECAR_IMAGE: &str = "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0";
    pub const SIDECAR_PORT: i32 = 8480;
    pub const SIDECAR_KEY_SECRET: &str = "aigc-labeler-key";
    pub const BACKUP_TIME_ZONE: &str = "UTC";
    pub const RESTORE_DRILL_TIMEOUT_SECONDS: i32 = 600;
    pub const VELERO_NAMESPACE: &str = "velero";
    /// Evidence expiring within this many days is flagged in messages.
    pub const EVIDENCE_EXPIRY_WARNING_DAYS: i64 = 30;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_in_order_and_names_are_unique() {
        for (i, r) in ROWS.iter().enumerate() {
            assert_eq!(usize::from(r.number), i + 1);
            assert!(
                r.name.chars().next().unwrap().is_ascii_uppercase(),
                "{}",
                r.name
            );
        }
        let mut names: Vec<_> = ROWS.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 42);
    }

    #[test]
    fn condition_types_carry_row_and_measure_ids() {
        assert_eq!(
            row_entry(37).unwrap().condition_type(),
            "A37-GeneratedContentLabeled"
        );
        assert_eq!(
            measure_entry(Measure::Backup).condition_type,
            "M81e-BackupsCurrent"
        );
        assert!(row_entry(0).is_none());
        assert!(row_entry(43).is_none());
    }

    #[test]
    fn severities_follow_the_table() {
        assert_eq!(row_entry(7).unwrap().severity, Severity::Critical);
        assert_eq!(row_entry(19).unwrap().severity, Severity::Critical);
        assert_eq!(row_entry(10).unwrap().severity, Severity::Low);
        for n in [24, 25, 37] {
            assert_eq!(
                row_entry(n).unwrap().public_severity,
                Some(Severity::Critical)
            );
        }
    }
}
