//! How the operator marks what it writes: its field manager, and the labels and annotation of
//! every object it creates, by which it finds them again.

/// Field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "model-compliance-operator";
/// Label on every object the operator creates, so that they can be listed and cleaned up.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "model-compliance-operator");
/// Label naming the ModelDeployment (by uid: names can be longer than a label value).
pub const DEPLOYMENT_UID: &str = "modelcompliance.io/deployment-uid";
/// Label naming the control an object implements.
pub const CONTROL: &str = "modelcompliance.io/control";
/// Annotation with `namespace/name` of the ModelDeployment, for people.
pub const DEPLOYMENT_ANNOTATION: &str = "modelcompliance.io/deployment";
/// Field manager of the sidecar's entries in inference workloads: its own, so that the
/// entries can be withdrawn by applying nothing under it, leaving every other field alone.
pub const SIDECAR_FIELD_MANAGER: &str = "model-compliance-operator-sidecar";
/// Label on an inference workload: a digest of the sidecar entries last applied to it.
pub const SIDECAR_DIGEST: &str = "modelcompliance.io/sidecar-digest";
/// Label on a backup or a drill claim: the claim it is of.
pub const VOLUME: &str = "modelcompliance.io/volume";
/// Label on a backup or a drill claim: the scheduled instant it belongs to, `YYYYMMDDTHHMMZ`.
pub const SLOT: &str = "modelcompliance.io/slot";
/// Entry of the labeling key Secret holding the key.
pub const KEY_ENTRY: &str = "key";
