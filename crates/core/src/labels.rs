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
