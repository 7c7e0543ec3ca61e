//! `ModelDeployment`: one model service, its training and inference environments, and what
//! the provider declares about data, evaluation and the public service.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{RiskLevel, WorkloadRef};

/// A model service under compliance management. The status carries one condition per row of
/// Annex A and per measure of clause 8.1.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "modelcompliance.io",
    version = "v1alpha1",
    kind = "ModelDeployment",
    plural = "modeldeployments",
    shortname = "mdep",
    category = "compliance",
    namespaced,
    status = "ModelDeploymentStatus",
    cel,
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.policyRef"),
    printcolumn(
        name = "Compliant",
        type_ = "string",
        json_path = ".status.summary.compliant"
    ),
    printcolumn(name = "Risk", type_ = "string", json_path = ".status.risk"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    // A string, not a date: kubectl shows a date column as an age, and a future date as
    // `<invalid>`.
    printcolumn(
        name = "Evidence expires",
        type_ = "string",
        json_path = ".status.evidenceExpiry"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ModelDeploymentSpec {
    /// Name of the CompliancePolicy this deployment is held to.
    #[schemars(length(min = 1, max = 253))]
    pub policy_ref: String,
    /// The kill switch (row 40): true cuts all ingress to the inference pods.
    #[serde(default)]
    pub suspend: bool,
    /// The model being served.
    pub model: ModelInfo,
    /// The service offered with it.
    #[serde(default)]
    pub service: ServiceInfo,
    /// Where and with what data the model is trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingEnvironment>,
    /// Where the model is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceEnvironment>,
    /// Recorded safety evaluation results (rows 31 to 33).
    #[serde(default)]
    pub evaluation: EvaluationResults,
}

/// The model being served.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Model name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Model version; a change from the filed version calls for refiling (row 25).
    #[schemars(length(min = 1, max = 128))]
    pub version: String,
    /// What the model generates.
    #[schemars(length(min = 1, max = 4))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub modalities: Vec<Modality>,
    /// How the algorithm works, in words a regulator can follow (row 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub algorithm_description: Option<String>,
}

/// Kinds of content a model generates.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Modality {
    Text,
    Image,
    Audio,
    Video,
}

/// The service offered to users.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// Whether the service is offered to the public (raises rows 24, 25 and 37 to Critical;
    /// row 25 applies only then). Defaults to true.
    #[serde(default = "default_true")]
    pub public: bool,
    /// The service provider's name or code: written as ContentProducer in the implicit
    /// labels of generated content (row 27). The provider is a property of the service, so it
    /// is set here, not in the policy; the injected sidecar needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub provider: Option<String>,
    /// Algorithm filing number (row 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub filing_number: Option<String>,
    /// The model version the filing covers (row 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub filed_model_version: Option<String>,
    /// The security assessment (row 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_assessment: Option<AssessmentRecord>,
    /// Where audiences, occasions and uses are published (row 34).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https?://\S+$"))]
    pub disclosure_url: Option<String>,
    /// Who the service is for; `Minors` makes row 39 apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub audiences: Vec<Audience>,
    /// Minors-protection settings (row 39).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minors_protection: Option<MinorsProtection>,
    /// How long identifiable user input and usage records are kept, in days (row 35).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 36500))]
    pub input_retention_days: Option<i32>,
    /// Where individuals send personal-information requests, and the promised response time (row 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_info_channel: Option<Channel>,
    /// Where users complain and report, and the published response time (row 38).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_channel: Option<Channel>,
}

fn default_true() -> bool {
    true
}

// By hand, so that an omitted `service` is public like an empty one: the stricter reading.
impl Default for ServiceInfo {
    fn default() -> Self {
        ServiceInfo {
            public: default_true(),
            provider: None,
            filing_number: None,
            filed_model_version: None,
            security_assessment: None,
            disclosure_url: None,
            audiences: Vec::new(),
            minors_protection: None,
            input_retention_days: None,
            personal_info_channel: None,
            complaint_channel: None,
        }
    }
}

/// Who a service is for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Audience {
    General,
    Minors,
    Enterprise,
    Developers,
}

/// A completed assessment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentRecord {
    /// Where the assessment report is kept (URI or document number).
    #[schemars(length(min = 1, max = 2048))]
    pub reference: String,
    /// The day the assessment was completed (YYYY-MM-DD).
    #[schemars(length(max = 10), regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub date: String,
}

/// Minors-protection settings (row 39).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MinorsProtection {
    /// A minors mode that restricts content and features.
    #[serde(default)]
    pub minors_mode: bool,
    /// Limits on time of use.
    #[serde(default)]
    pub usage_time_limits: bool,
    /// Content suited to minors is promoted.
    #[serde(default)]
    pub age_appropriate_content: bool,
}

/// A channel for requests from the public.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// Where requests are received (web form or mailto: address).
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = r"^(https?://|mailto:)\S+$")
    )]
    pub url: String,
    /// The published time within which requests are answered, in days.
    #[schemars(range(min = 0, max = 365))]
    pub response_days: i32,
}

/// Where training runs and what it uses.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrainingEnvironment {
    /// Namespace of the training pods.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Which pods in that namespace are training pods.
    pub pod_selector: LabelSelector,
    /// PersistentVolumeClaims holding training data: isolated, access-controlled, backed up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub data_volumes: Vec<String>,
    /// PersistentVolumeClaims holding safety-annotation data, stored in isolation (row 23).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub safety_annotation_volumes: Vec<String>,
    /// Secrets giving access to training data (e.g. object-store credentials); readable only
    /// by the policy's readers and the training pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub data_secrets: Vec<String>,
    /// Where the annotation rules are kept (rows 21, 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub annotation_rules_ref: Option<String>,
    /// The training datasets (rows 4 to 15, 42).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    #[x_kube(
        validation = Rule::new("self.all(a, self.exists_one(b, b.name == a.name))").message("dataset names must be unique"),
        merge_strategy = ListMerge::Map(vec!["name".into()])
    )]
    pub datasets: Vec<Dataset>,
    /// Records of sampled annotation batches (row 22).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1024))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["id".into()]))]
    pub annotation_batches: Vec<AnnotationBatch>,
}

/// One training dataset.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.source) || has(self.uri)").message("a dataset needs a source or a uri"),
    validation = Rule::new("!has(self.desensitized) || (has(self.containsPersonalInfo) && self.containsPersonalInfo)").message("desensitized only applies to a dataset that containsPersonalInfo"),
    validation = Rule::new("!has(self.crawlCompliance) || (has(self.acquisition) && self.acquisition == 'Crawled')").message("crawlCompliance only applies to a dataset acquired by crawling")
)]
pub struct Dataset {
    /// Name of the dataset, unique within the deployment.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Who or what the data comes from (rows 4, 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub source: Option<String>,
    /// Where the data is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub uri: Option<String>,
    /// How the data was obtained (row 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquisition: Option<Acquisition>,
    /// The legal basis for obtaining and using the data (rows 4, 7, 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// The license the data is used under (row 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub license: Option<String>,
    /// Whether the data contains personal information (rows 7, 9, 15).
    #[serde(default)]
    pub contains_personal_info: bool,
    /// Whether personal information was desensitized before training (row 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desensitized: Option<bool>,
    /// For crawled data: how the crawl respected site rules (row 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawl_compliance: Option<CrawlCompliance>,
    /// How authenticity and accuracy were validated (row 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub validation_method: Option<String>,
    /// How errors and outliers were removed (row 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub cleaning: Option<String>,
    /// The day the dataset was last refreshed, YYYY-MM-DD (row 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10), regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub last_updated: Option<String>,
    /// Where provenance and processing history are recorded (row 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub provenance_ref: Option<String>,
    /// Number of records, for the regulator report (row 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub records: Option<i64>,
}

/// How a dataset was obtained.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Acquisition {
    Licensed,
    Purchased,
    Crawled,
    OpenData,
    UserProvided,
    SelfProduced,
    Synthetic,
}

/// Legal basis for using data.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum LegalBasis {
    /// The individuals consented.
    Consent,
    /// Needed to perform a contract with the individual.
    Contract,
    /// A legal duty or a law provides otherwise.
    LegalDuty,
    /// Information the individual made public, used within reason.
    PubliclyDisclosed,
    /// Licensed from the rights holder.
    License,
    /// Owned by the provider.
    Ownership,
}

/// How a crawl respected the rules of the sites crawled (row 8).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrawlCompliance {
    /// robots.txt was honoured.
    #[serde(default)]
    pub robots_respected: bool,
    /// Sites' terms of use were honoured.
    #[serde(default)]
    pub terms_respected: bool,
    /// Access controls (logins, paywalls) were not circumvented.
    #[serde(default)]
    pub no_access_control_bypass: bool,
}

/// A sampled annotation batch (row 22).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.illegalItems <= self.sampledItems").message("illegalItems cannot exceed sampledItems"),
    validation = Rule::new("self.sampledItems <= self.totalItems").message("sampledItems cannot exceed totalItems")
)]
pub struct AnnotationBatch {
    /// Batch id.
    #[schemars(length(min = 1, max = 128))]
    pub id: String,
    /// Items in the batch.
    #[schemars(range(min = 0))]
    pub total_items: i64,
    /// Items sampled and checked by people.
    #[schemars(range(min = 0))]
    pub sampled_items: i64,
    /// Sampled items found to contain illegal or harmful content.
    #[schemars(range(min = 0))]
    pub illegal_items: i64,
    /// Whether the batch was voided and removed from training.
    #[serde(default)]
    pub voided: bool,
}

/// Where the model is served.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InferenceEnvironment {
    /// Namespace of the inference pods.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Which pods in that namespace serve the model.
    pub pod_selector: LabelSelector,
    /// Workloads that must carry the labeling sidecar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub workloads: Vec<WorkloadRef>,
    /// The Service users reach the model through; it must target the sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service: Option<String>,
    /// Port of the model server inside the pod (the sidecar's upstream).
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// PersistentVolumeClaims holding model weights, backed up with the training data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub model_volumes: Vec<String>,
}

/// Recorded safety evaluations (rows 31 to 33). Counts, not rates: rates are computed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResults {
    /// Row 31: corpus safety evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<CorpusEvaluation>,
    /// Row 32: generated-content safety evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_content: Option<GeneratedContentEvaluation>,
    /// Row 33: refusal evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalEvaluation>,
}

/// A sample and how many items in it passed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.passed <= self.items").message("passed cannot exceed items"))]
pub struct SampleResult {
    /// Items in the sample.
    #[schemars(range(min = 0))]
    pub items: i64,
    /// Items that passed.
    #[schemars(range(min = 0))]
    pub passed: i64,
}

/// Row 31.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.automated.items <= self.corpusSize").message("the automated sample cannot exceed corpusSize"))]
pub struct CorpusEvaluation {
    /// Items in the whole training corpus.
    #[schemars(range(min = 0))]
    pub corpus_size: i64,
    /// The sample checked by people.
    pub manual: SampleResult,
    /// The sample checked by keywords or classifiers.
    pub automated: SampleResult,
    /// The day the evaluation finished, YYYY-MM-DD.
    #[schemars(length(max = 10), regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub date: String,
}

/// Row 32.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedContentEvaluation {
    /// Test items judged by people.
    pub manual: SampleResult,
    /// Test items judged by keyword matching.
    pub keyword: SampleResult,
    /// Test items judged by classifiers.
    pub classifier: SampleResult,
    /// The day the evaluation finished, YYYY-MM-DD.
    #[schemars(length(max = 10), regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub date: String,
}

/// Row 33: `passed` counts items the model refused (should-refuse) or answered (should-answer).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RefusalEvaluation {
    /// Questions the model should refuse; `passed` = refused.
    pub should_refuse: SampleResult,
    /// Questions the model should answer; `passed` = answered.
    pub should_answer: SampleResult,
    /// The day the evaluation finished, YYYY-MM-DD.
    #[schemars(length(max = 10), regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub date: String,
}

/// Observed state of a ModelDeployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelDeploymentStatus {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One condition per row (`A<n>-…`) and measure (`M81<x>-…`), plus Ready, Compliant,
    /// Reconciling and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Counts per state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<StatusSummary>,
    /// Highest severity among open findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    /// Whether the risk is within the policy's acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptable: Option<bool>,
    /// What the backup control last did (8.1e).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupStatus>,
    /// When the earliest ComplianceEvidence naming this deployment lapses (or lapsed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_expiry: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
}

/// What the backup control last did.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// The newest restore drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_drill: Option<RestoreDrillStatus>,
}

/// A restore drill: each declared volume restored from its newest ready snapshot.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreDrillStatus {
    /// The scheduled instant the drill belongs to.
    pub slot: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    /// Running until every volume is decided, then Succeeded or Failed.
    pub outcome: DrillOutcome,
    /// One entry per volume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 96))]
    pub volumes: Vec<DrillVolume>,
}

/// The restore of one volume in a drill.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DrillVolume {
    /// The claim backed up, `namespace/name`.
    pub volume: String,
    /// The snapshot restored from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Seconds from the restored claim's creation until it was seen bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_to_bind: Option<i64>,
    pub outcome: DrillOutcome,
    /// Why the restore failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// State of a drill or of one volume's restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum DrillOutcome {
    Running,
    Succeeded,
    Failed,
}

/// Counts of rows per state.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusSummary {
    /// Rows met of rows applicable, e.g. "38/42".
    pub compliant: String,
    /// Rows that apply.
    pub applicable: i32,
    /// Rows met.
    pub met: i32,
    /// Rows not met.
    pub not_met: i32,
    /// Rows not applicable under the policy.
    pub not_applicable: i32,
    /// Rows under a valid risk acceptance.
    pub excepted: i32,
    /// Rows that cannot be decided yet.
    pub unknown: i32,
}
