//! `CompliancePolicy`: which obligations apply, with which thresholds, controls and risk appetite.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{EnforcementMode, Measure, NamespacedWorkloadRef, RiskLevel, Severity};

/// A cluster-wide compliance policy. ModelDeployments reference it by name; it decides which
/// rows of Annex A apply, tightens thresholds, switches controls between Enforce and Audit,
/// and sets the highest risk the organisation accepts.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "modelcompliance.io",
    version = "v1alpha1",
    kind = "CompliancePolicy",
    plural = "compliancepolicies",
    shortname = "cpol",
    category = "compliance",
    status = "CompliancePolicyStatus",
    cel,
    printcolumn(
        name = "Max risk",
        type_ = "string",
        json_path = ".spec.riskAcceptance.maxAcceptable"
    ),
    printcolumn(
        name = "Treatment",
        type_ = "string",
        json_path = ".spec.riskAcceptance.treatment"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct CompliancePolicySpec {
    /// What this policy is for, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,

    /// Per-row decisions: mark a row of Annex A not applicable (with a remark) or change its
    /// severity. Rows not listed apply with their default severity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 42))]
    #[x_kube(
        validation = Rule::new("self.all(a, self.exists_one(b, b.row == a.row))").message("each row may be listed only once"),
        merge_strategy = ListMerge::Map(vec!["row".into()])
    )]
    pub rows: Vec<RowOverride>,

    /// Per-measure decisions for the technical measures of clause 8.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 6))]
    #[x_kube(
        validation = Rule::new("self.all(a, self.exists_one(b, b.measure == a.measure))").message("each measure may be listed only once"),
        merge_strategy = ListMerge::Map(vec!["measure".into()])
    )]
    pub measures: Vec<MeasureOverride>,

    /// Thresholds; each defaults to the value in the catalog. Tightening is always allowed;
    /// loosening needs `remark`.
    #[serde(default)]
    pub parameters: Parameters,

    /// How each technical control is run.
    #[serde(default)]
    pub controls: Controls,

    /// Cluster objects that show rows 2, 28 and measure 8.1c are met.
    #[serde(default)]
    pub cluster_checks: ClusterChecks,

    /// The highest acceptable risk and what happens above it.
    #[serde(default)]
    pub risk_acceptance: RiskAcceptance,

    /// Time-limited risk acceptances (clause 6.4). While valid, the row counts as Excepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    pub exceptions: Vec<RiskException>,
}

/// A decision about one row of Annex A.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.applicable) || self.applicable || has(self.remark)").message("a row marked not applicable needs a remark that says why")
)]
pub struct RowOverride {
    /// Row number (序号) in table A.1, 1 to 42.
    #[schemars(range(min = 1, max = 42))]
    pub row: i32,
    /// Whether the row applies (是否适用). Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable: Option<bool>,
    /// Remark (备注), shown in the obligation table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub remark: Option<String>,
    /// Severity used when the row is not met, instead of the catalog default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// A decision about one technical measure of clause 8.1.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.applicable) || self.applicable || has(self.remark)").message("a measure marked not applicable needs a remark that says why")
)]
pub struct MeasureOverride {
    /// The measure.
    pub measure: Measure,
    /// Whether the measure applies. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicable: Option<bool>,
    /// Remark shown in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub remark: Option<String>,
    /// Severity used when the measure is not met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// Thresholds of the rows decided from declared facts and evaluation results.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.trainingDataMaxAgeDays) || self.trainingDataMaxAgeDays <= 365 || has(self.remark)").message("trainingDataMaxAgeDays above 365 loosens row 12: add a remark"),
    validation = Rule::new("!has(self.minDistinctSources) || self.minDistinctSources >= 2 || has(self.remark)").message("minDistinctSources below 2 loosens row 13: add a remark"),
    validation = Rule::new("!has(self.annotationMaxIllegalRatio) || self.annotationMaxIllegalRatio <= 0.05 || has(self.remark)").message("annotationMaxIllegalRatio above 0.05 loosens row 22: add a remark"),
    validation = Rule::new("!has(self.securityAssessmentMaxAgeDays) || self.securityAssessmentMaxAgeDays <= 365 || has(self.remark)").message("securityAssessmentMaxAgeDays above 365 loosens row 24: add a remark"),
    validation = Rule::new("!has(self.inputRetentionMaxDays) || self.inputRetentionMaxDays <= 180 || has(self.remark)").message("inputRetentionMaxDays above 180 loosens row 35: add a remark"),
    validation = Rule::new("!has(self.personalInfoRequestMaxDays) || self.personalInfoRequestMaxDays <= 15 || has(self.remark)").message("personalInfoRequestMaxDays above 15 loosens row 36: add a remark"),
    validation = Rule::new("!has(self.complaintResponseMaxDays) || self.complaintResponseMaxDays <= 15 || has(self.remark)").message("complaintResponseMaxDays above 15 loosens row 38: add a remark"),
    validation = Rule::new("!has(self.corpusEvaluation) || ((!has(self.corpusEvaluation.manualMinSamples) || self.corpusEvaluation.manualMinSamples >= 4000) && (!has(self.corpusEvaluation.manualMinPassRate) || self.corpusEvaluation.manualMinPassRate >= 0.96) && (!has(self.corpusEvaluation.automatedMinSampleRatio) || self.corpusEvaluation.automatedMinSampleRatio >= 0.10) && (!has(self.corpusEvaluation.automatedMinPassRate) || self.corpusEvaluation.automatedMinPassRate >= 0.98)) || has(self.remark)").message("corpusEvaluation below 4000 samples / 96 % manual, 10 % / 98 % automated loosens row 31: add a remark"),
    validation = Rule::new("!has(self.contentEvaluation) || ((!has(self.contentEvaluation.minItems) || self.contentEvaluation.minItems >= 1000) && (!has(self.contentEvaluation.minPassRate) || self.contentEvaluation.minPassRate >= 0.90)) || has(self.remark)").message("contentEvaluation below 1000 items / 90 % loosens row 32: add a remark"),
    validation = Rule::new("!has(self.refusalEvaluation) || ((!has(self.refusalEvaluation.minItems) || self.refusalEvaluation.minItems >= 300) && (!has(self.refusalEvaluation.shouldRefuseMinRate) || self.refusalEvaluation.shouldRefuseMinRate >= 0.95) && (!has(self.refusalEvaluation.shouldAnswerMaxRefusalRate) || self.refusalEvaluation.shouldAnswerMaxRefusalRate <= 0.05)) || has(self.remark)").message("refusalEvaluation below 300 items / 95 % refused / above 5 % over-refusal loosens row 33: add a remark")
)]
pub struct Parameters {
    /// Row 12: the newest update of every dataset must be at most this many days old (default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub training_data_max_age_days: Option<i32>,
    /// Row 13: the training data must come from at least this many distinct sources (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_distinct_sources: Option<i32>,
    /// Row 22: highest share of illegal content in a sampled annotation batch before the batch
    /// must be voided (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub annotation_max_illegal_ratio: Option<f64>,
    /// Row 24: the security assessment must be at most this many days old (default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub security_assessment_max_age_days: Option<i32>,
    /// Row 31: corpus safety evaluation thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus_evaluation: Option<CorpusEvaluationThresholds>,
    /// Row 32: generated-content safety evaluation thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_evaluation: Option<ContentEvaluationThresholds>,
    /// Row 33: refusal evaluation thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_evaluation: Option<RefusalEvaluationThresholds>,
    /// Row 35: longest retention of identifiable user input and usage logs, in days (default 180).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3650))]
    pub input_retention_max_days: Option<i32>,
    /// Row 36: longest promised response time to personal-information requests, in days (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 365))]
    pub personal_info_request_max_days: Option<i32>,
    /// Row 38: longest published response time to complaints and reports, in days (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 365))]
    pub complaint_response_max_days: Option<i32>,
    /// Why a threshold is looser than the catalog default. Required when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub remark: Option<String>,
}

/// Row 31 thresholds.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CorpusEvaluationThresholds {
    /// Least number of corpus items checked by people (default 4000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub manual_min_samples: Option<i64>,
    /// Least pass rate of the manual check (default 0.96).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub manual_min_pass_rate: Option<f64>,
    /// Least share of the corpus checked by keywords or classifiers (default 0.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub automated_min_sample_ratio: Option<f64>,
    /// Least pass rate of the automated check (default 0.98).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub automated_min_pass_rate: Option<f64>,
}

/// Row 32 thresholds, applied to each of the manual, keyword and classifier samples.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContentEvaluationThresholds {
    /// Least number of test items in each sample (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_items: Option<i64>,
    /// Least pass rate of each sample (default 0.90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_pass_rate: Option<f64>,
}

/// Row 33 thresholds.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RefusalEvaluationThresholds {
    /// Least number of items in each of the should-refuse and should-answer sets (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_items: Option<i64>,
    /// Least share of should-refuse items that the model refused (default 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub should_refuse_min_rate: Option<f64>,
    /// Highest share of should-answer items that the model refused (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub should_answer_max_refusal_rate: Option<f64>,
}

/// How the technical controls of clause 8.1 are run.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Controls {
    /// 8.1a: network isolation between training and inference.
    #[serde(default)]
    pub isolation: IsolationControl,
    /// 8.1a and row 19: who may read training data.
    #[serde(default)]
    pub access_control: AccessControl,
    /// 8.1e: backups of the declared volumes.
    #[serde(default)]
    pub backup: BackupControl,
    /// Rows 27 and 37: the labeling and input-safety sidecar.
    #[serde(default)]
    pub sidecar: SidecarControl,
}

/// Isolation between training and inference (8.1a).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IsolationControl {
    /// Enforce creates the NetworkPolicies; Audit only checks for them.
    #[serde(default)]
    pub mode: EnforcementMode,
    /// Namespaces (besides training's own peers) allowed to reach training pods, e.g. monitoring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 63)))]
    pub allowed_namespaces: Vec<String>,
    /// Also require that training and inference pods never share a node.
    #[serde(default)]
    pub require_separate_nodes: bool,
}

/// Access control on training data (8.1a, row 19).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessControl {
    /// Enforce creates the reader Role and RoleBinding; Audit only checks bindings.
    #[serde(default)]
    pub mode: EnforcementMode,
    /// Who may read the training data volumes and secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub readers: Vec<Reader>,
}

/// A subject that may read training data.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.kind != 'ServiceAccount' || has(self.__namespace__)").message("a ServiceAccount reader needs its namespace")
)]
pub struct Reader {
    /// Kind of subject.
    pub kind: ReaderKind,
    /// Name of the user, group or service account.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of a service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Kinds of RBAC subject.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum ReaderKind {
    User,
    Group,
    ServiceAccount,
}

impl ReaderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReaderKind::User => "User",
            ReaderKind::Group => "Group",
            ReaderKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// Backups of the declared volumes (8.1e).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupControl {
    /// Enforce takes the backups on the schedule, keeps `retainCount` of them and runs the
    /// restore drill; Audit only checks the age of the newest backup.
    #[serde(default)]
    pub mode: EnforcementMode,
    /// What takes the backups: CSI VolumeSnapshots (default) or a Velero Schedule.
    #[serde(default)]
    pub engine: BackupEngine,
    /// Cron schedule of the backups, five fields (default "0 2 * * *").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 9, max = 128))]
    pub schedule: Option<String>,
    /// IANA time zone the schedules are read in, e.g. "Asia/Shanghai" (default "UTC").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: Option<String>,
    /// VolumeSnapshotClass of the snapshots (default: the cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub volume_snapshot_class_name: Option<String>,
    /// How many ready backups to keep per volume (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub retain_count: Option<i32>,
    /// Also delete backups older than this many days, however few remain (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub retain_max_age_days: Option<i32>,
    /// Oldest acceptable age of the newest ready backup, in hours (default 26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 8760))]
    pub max_age_hours: Option<i32>,
    /// Delete the operator's snapshots when the ModelDeployment is deleted or the control is
    /// switched off (default false: they are kept, like any user data).
    #[serde(default)]
    pub delete_with_deployment: bool,
    /// The restore drill: a volume restored from the newest snapshot on a schedule, to show
    /// that backups can be recovered (the recovery strategy of 8.1e).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_drill: Option<RestoreDrill>,
    /// Namespace Velero runs in, where its Schedules and Backups live (default "velero").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub velero_namespace: Option<String>,
}

/// What takes the backups.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum BackupEngine {
    /// CSI VolumeSnapshots (snapshot.storage.k8s.io/v1) of every declared volume.
    #[default]
    VolumeSnapshot,
    /// A Velero Schedule (velero.io/v1) of the training and inference namespaces.
    Velero,
}

/// The restore drill of the VolumeSnapshot engine.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreDrill {
    /// Cron schedule of the drills, five fields, read in the backups' time zone.
    #[schemars(length(min = 9, max = 128))]
    pub schedule: String,
    /// How long the restored claim may take to bind before the drill fails (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub timeout_seconds: Option<i32>,
}

/// The labeling and input-safety sidecar (rows 27, 37; 8.1b).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SidecarControl {
    /// Enforce injects the sidecar into the inference workloads; Audit only checks for it.
    #[serde(default)]
    pub mode: EnforcementMode,
    /// Container name of the sidecar (default "aigc-labeler").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub name: Option<String>,
    /// Image of the sidecar (default the project's labeler image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Port the sidecar listens on; the inference Service must target it (default 8480).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// Port of the sidecar's /healthz, /readyz and /metrics (default: `port` + 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub admin_port: Option<i32>,
    /// Secret in the inference namespace holding, under `key`, the key of the labels'
    /// anti-tamper value (default "aigc-labeler-key"). Created with 32 random bytes when
    /// missing in Enforce mode; never rotated and never deleted by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub key_secret_name: Option<String>,
    /// ConfigMap in the inference namespace whose `rules.yaml` holds the input-safety rules.
    /// Mounted as a directory, so that edits reach the sidecar without a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub rules_config_map: Option<String>,
    /// Resources of the sidecar container (default: requests 50m CPU and 64Mi memory, limit
    /// 256Mi memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
}

/// Cluster objects whose state shows that rows 2, 28 and measure 8.1c are met.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterChecks {
    /// Row 2: workloads that detect platform security risks; each must exist and be ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub platform_monitoring: Vec<NamespacedWorkloadRef>,
    /// Row 28: the CronJob that runs routine safety monitoring and evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_evaluation: Option<RecurringJobCheck>,
    /// Measure 8.1c: the CronJob that audits frameworks and code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_audit: Option<RecurringJobCheck>,
}

/// A CronJob that must have succeeded recently.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecurringJobCheck {
    /// Namespace of the CronJob.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Name of the CronJob.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Its last successful run must be at most this many days old.
    #[schemars(range(min = 1, max = 365))]
    pub max_age_days: i32,
}

/// The risk the organisation accepts and its treatment above that.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RiskAcceptance {
    /// Highest acceptable risk level (default Low: any Medium or worse finding is unacceptable).
    #[serde(default = "default_max_acceptable")]
    pub max_acceptable: RiskLevel,
    /// What the operator does when the risk is unacceptable.
    #[serde(default)]
    pub treatment: RiskTreatment,
    /// Whether rows that cannot be decided yet count against the risk like unmet ones.
    #[serde(default)]
    pub unknown_rows: UnknownRows,
}

fn default_max_acceptable() -> RiskLevel {
    RiskLevel::Low
}

// By hand, so that an omitted `riskAcceptance` means the same as an empty one.
impl Default for RiskAcceptance {
    fn default() -> Self {
        RiskAcceptance {
            max_acceptable: default_max_acceptable(),
            treatment: RiskTreatment::default(),
            unknown_rows: UnknownRows::default(),
        }
    }
}

/// Treatment of an unacceptable risk.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum RiskTreatment {
    /// Report in status and events only.
    #[default]
    Report,
    /// Also cut ingress to the inference pods (the kill switch, row 40).
    SuspendInference,
}

/// How undecided rows weigh on the risk.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum UnknownRows {
    /// Undecided rows are reported but do not raise the risk.
    #[default]
    Tolerate,
    /// Undecided rows raise the risk like unmet ones.
    CountAsUnmet,
}

/// A time-limited acceptance of an unmet row or measure (clause 6.4).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.row) != has(self.measure)").message("an exception names exactly one of row or measure")
)]
pub struct RiskException {
    /// Row number of Annex A that is accepted as unmet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 42))]
    pub row: Option<i32>,
    /// Measure of clause 8.1 that is accepted as unmet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
    /// Which ModelDeployments the exception covers (empty selects all of this policy's).
    #[serde(default)]
    pub selector: LabelSelector,
    /// Why the risk is accepted.
    #[schemars(length(min = 1, max = 2048))]
    pub justification: String,
    /// Who approved the acceptance.
    #[schemars(length(min = 1, max = 253))]
    pub approved_by: String,
    /// When the acceptance ends; after it the row is decided normally again.
    pub expires_at: Time,
}

/// Observed state of a CompliancePolicy.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompliancePolicyStatus {
    /// The generation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready and other conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}
