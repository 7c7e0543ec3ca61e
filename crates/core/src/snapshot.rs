//! The observed facts the Control and Cluster rows are decided from. The offline `check`
//! fills it from manifests; the controller fills it from its caches. Objects are grouped
//! by namespace so that a lookup costs the same whatever the cluster's size.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    batch::v1::CronJob,
    core::v1::{Namespace, PersistentVolumeClaim, Pod, Secret, Service},
    networking::v1::NetworkPolicy,
    rbac::v1::{Role, RoleBinding},
};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the facts come from: decides whether an absent fact is unknown or missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FactSource {
    /// Manifests read offline: pods, readiness and ages are not known; objects outside
    /// the files read may exist.
    #[default]
    Manifests,
    /// A live cluster: what is not observed does not exist.
    Cluster,
}

/// A CSI VolumeSnapshot (snapshot.storage.k8s.io/v1), with the fields backups are judged by.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "snapshot.storage.k8s.io",
    version = "v1",
    kind = "VolumeSnapshot",
    namespaced
)]
#[kube(status = "VolumeSnapshotStatus", derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSpec {
    pub source: VolumeSnapshotSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class_name: Option<String>,
}

/// What a VolumeSnapshot was taken of.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_content_name: Option<String>,
}

/// Observed state of a VolumeSnapshot.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_volume_snapshot_content_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_use: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
}

/// A Velero Schedule (velero.io/v1): backups of whole namespaces on a cron schedule.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Schedule",
    root = "VeleroSchedule",
    namespaced
)]
#[kube(derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// Cron expression; a `CRON_TZ=<zone> ` prefix sets its time zone.
    pub schedule: String,
    pub template: BackupTemplate,
}

/// What each backup of a Velero Schedule covers and how long it is kept.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupTemplate {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_namespaces: Vec<String>,
    /// How long each backup is kept, as a Go duration ("168h0m0s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// A Velero Backup (velero.io/v1), with the fields freshness is judged by. Its Schedule is
/// named by the `velero.io/schedule-name` label.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Backup",
    root = "VeleroBackup",
    namespaced
)]
#[kube(status = "BackupStatus", derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_namespaces: Vec<String>,
}

/// Observed state of a Velero Backup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
}

/// The answer of a SubjectAccessReview: may `service_account` read `resource` in `namespace`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessReview {
    /// `namespace/name` of the service account asked about.
    pub service_account: String,
    /// Namespace of the training data.
    pub namespace: String,
    /// `secrets` or `persistentvolumeclaims`.
    pub resource: String,
    pub allowed: bool,
}

/// Objects of one namespace.
#[derive(Clone, Debug, Default)]
pub struct NamespaceObjects {
    pub namespace: Option<Namespace>,
    /// apps/v1 Deployments (not ModelDeployments).
    pub apps_deployments: Vec<Deployment>,
    pub stateful_sets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub network_policies: Vec<NetworkPolicy>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub volume_snapshots: Vec<VolumeSnapshot>,
    pub cron_jobs: Vec<CronJob>,
    /// Secrets known to exist, by name only: the operator never reads their data.
    pub secrets: Vec<Secret>,
    /// Velero Schedules and Backups (in Velero's namespace).
    pub velero_schedules: Vec<VeleroSchedule>,
    pub velero_backups: Vec<VeleroBackup>,
}

/// Everything observed, by namespace.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub source: FactSource,
    pub namespaces: BTreeMap<String, NamespaceObjects>,
    /// SubjectAccessReview answers (live only).
    pub access_reviews: Vec<AccessReview>,
    /// The VolumeSnapshot API (snapshot.storage.k8s.io/v1) is known not to be installed.
    pub volume_snapshot_api_missing: bool,
    /// Velero's API (velero.io/v1 Schedules and Backups) is known not to be installed.
    pub velero_api_missing: bool,
}

static EMPTY: std::sync::LazyLock<NamespaceObjects> =
    std::sync::LazyLock::new(NamespaceObjects::default);

impl Snapshot {
    pub fn new(source: FactSource) -> Self {
        Snapshot {
            source,
            ..Default::default()
        }
    }

    /// The objects of `namespace` (empty when none were observed).
    pub fn ns(&self, namespace: &str) -> &NamespaceObjects {
        self.namespaces.get(namespace).unwrap_or(&EMPTY)
    }

    /// The objects of `namespace`, for filling.
    pub fn ns_mut(&mut self, namespace: &str) -> &mut NamespaceObjects {
        self.namespaces.entry(namespace.to_owned()).or_default()
    }

    pub fn is_live(&self) -> bool {
        self.source == FactSource::Cluster
    }
}
