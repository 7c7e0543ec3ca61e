//! `ComplianceEvidence`: an attestation by the compliance team for rows only people can attest.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::Measure;

/// An attestation that named rows of Annex A (or measures of clause 8.1) are met for named
/// ModelDeployments in the same namespace, until `validUntil`. The spec cannot be changed
/// after creation: to correct or renew, create a new object.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "modelcompliance.io",
    version = "v1alpha1",
    kind = "ComplianceEvidence",
    plural = "complianceevidences",
    singular = "complianceevidence",
    shortname = "cev",
    category = "compliance",
    namespaced,
    status = "ComplianceEvidenceStatus",
    cel,
    // Lists show as JSON arrays (`[4,21]`, `["chat"]`): a JSONPath with `[*]` would show only
    // the first item. Valid until is a string: a date column would show a future date as
    // `<invalid>`.
    printcolumn(name = "Rows", type_ = "string", json_path = ".spec.rows"),
    printcolumn(name = "Measures", type_ = "string", json_path = ".spec.measures", priority = 1),
    printcolumn(name = "Targets", type_ = "string", json_path = ".spec.targets"),
    printcolumn(name = "Valid until", type_ = "string", json_path = ".spec.validUntil"),
    printcolumn(name = "Attested by", type_ = "string", json_path = ".spec.attestedBy", priority = 1),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self == oldSelf").message("evidence is immutable: create a new ComplianceEvidence instead of changing this one"),
    validation = Rule::new("size(self.rows) + size(self.measures) > 0").message("evidence must cover at least one row or measure"),
    validation = Rule::new("self.validUntil > self.attestedAt").message("validUntil must be after attestedAt")
)]
pub struct ComplianceEvidenceSpec {
    /// Row numbers of Annex A (1 to 42) that this evidence attests.
    #[serde(default)]
    #[schemars(length(max = 42))]
    #[x_kube(
        validation = Rule::new("self.all(r, r >= 1 && r <= 42)").message("rows are numbered 1 to 42"),
        merge_strategy = ListMerge::Set
    )]
    pub rows: Vec<i32>,
    /// Measures of clause 8.1 that this evidence attests.
    #[serde(default)]
    #[schemars(length(max = 6))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub measures: Vec<Measure>,
    /// Names of the ModelDeployments in this namespace the evidence is for.
    #[schemars(length(min = 1, max = 64), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub targets: Vec<String>,
    /// What the evidence shows, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub summary: Option<String>,
    /// Where the evidence document is kept.
    #[schemars(length(min = 1, max = 2048))]
    pub uri: String,
    /// SHA-256 of the document, 64 lowercase hex digits, so it cannot be swapped unnoticed.
    #[schemars(length(min = 64, max = 64), regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Who attests.
    #[schemars(length(min = 1, max = 253))]
    pub attested_by: String,
    /// When the attestation was made.
    pub attested_at: Time,
    /// When the attestation lapses.
    pub valid_until: Time,
}

/// Observed state of a ComplianceEvidence.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceEvidenceStatus {
    /// Valid (True while attestedAt <= now < validUntil) and other conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}
