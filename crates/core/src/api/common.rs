//! Types shared by the three resources.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How serious an unmet obligation is. The highest severity among open findings is the
/// deployment's risk level (clause 6.3 d).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// A risk level: `None` when no finding is open, otherwise the highest open severity.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum RiskLevel {
    #[default]
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::None => "None",
            RiskLevel::Low => "Low",
            RiskLevel::Medium => "Medium",
            RiskLevel::High => "High",
            RiskLevel::Critical => "Critical",
        }
    }
}

impl From<Severity> for RiskLevel {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Low => RiskLevel::Low,
            Severity::Medium => RiskLevel::Medium,
            Severity::High => RiskLevel::High,
            Severity::Critical => RiskLevel::Critical,
        }
    }
}

/// The technical measures of clause 8.1, each reported as its own condition.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Measure {
    /// 8.1 a: training and inference environments isolated.
    Isolation,
    /// 8.1 a: access to training data restricted to named readers.
    AccessControl,
    /// 8.1 b: input safety checks and output labeling on the inference path.
    ContentSafety,
    /// 8.1 c: frameworks and code audited regularly.
    CodeAudit,
    /// 8.1 d: protection against adversarial attacks.
    AdversarialDefense,
    /// 8.1 e: backups and a recovery strategy.
    Backup,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Isolation,
        Measure::AccessControl,
        Measure::ContentSafety,
        Measure::CodeAudit,
        Measure::AdversarialDefense,
        Measure::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Isolation => "Isolation",
            Measure::AccessControl => "AccessControl",
            Measure::ContentSafety => "ContentSafety",
            Measure::CodeAudit => "CodeAudit",
            Measure::AdversarialDefense => "AdversarialDefense",
            Measure::Backup => "Backup",
        }
    }
}

/// Whether the operator changes the cluster for a control or only reports on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EnforcementMode {
    /// Create and patch the objects that implement the control, then verify them.
    #[default]
    Enforce,
    /// Only verify what others created; missing objects are findings.
    Audit,
}

/// A Deployment or StatefulSet in the same namespace as the environment that names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRef {
    /// Kind of the workload.
    pub kind: WorkloadKind,
    /// Name of the workload.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Kinds of workload that can carry the required sidecars.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        }
    }
}

/// A workload in any namespace (used by the policy for cluster-wide checks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedWorkloadRef {
    /// Namespace of the workload.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Kind of the workload.
    pub kind: WorkloadKind,
    /// Name of the workload.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}
