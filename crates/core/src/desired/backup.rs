//! The backup control (8.1e): VolumeSnapshots of every declared volume on the policy's cron
//! schedule, kept by count and age, and the restore drill that proves they can be recovered.
//!
//! A backup's name is derived from the scheduled instant it belongs to, so a retry, a restart
//! or a second replica writes the same object again instead of a second one, and a slot missed
//! while the operator was down is caught up once: only the latest slot is ever taken.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, TypedLocalObjectReference,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Control, DesiredObjects, OwnedKind, metadata, object_name, whole};
use crate::api::{BackupEngine, CompliancePolicy, EnforcementMode, ModelDeployment};
use crate::backups::{
    Slot, claim_suffix, declared_volumes, drill_claim_name, drill_due, drill_source, ours, ready,
    schedule_of, taken, velero_namespace, velero_namespaces, velero_schedule_name,
};
use crate::catalog::defaults as d;
use crate::labels::SLOT;
use crate::snapshot::{
    BackupTemplate, NamespaceObjects, ScheduleSpec, Snapshot, VeleroSchedule, VolumeSnapshot,
    VolumeSnapshotSource, VolumeSnapshotSpec,
};

impl OwnedKind for VolumeSnapshot {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        whole::in_place(&objects.volume_snapshots, want, |h, w| h.spec == w.spec)
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.volume_snapshots, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.volume_snapshots, owned);
    }
}

impl OwnedKind for VeleroSchedule {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        whole::in_place(&objects.velero_schedules, want, |h, w| h.spec == w.spec)
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.velero_schedules, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.velero_schedules, owned);
    }
}

/// The Velero engine: one Schedule backing up the training and inference namespaces on the
/// policy's schedule, its backups kept as long as retention asks. Velero deletes expired
/// backups itself; the operator never deletes one.
pub(super) fn velero_schedule(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    now: Timestamp,
    out: &mut DesiredObjects,
) {
    let backup = &policy.spec.controls.backup;
    if backup.mode != EnforcementMode::Enforce
        || backup.engine != BackupEngine::Velero
        || snapshot.velero_api_missing
    {
        return;
    }
    let Ok((schedule, _)) = schedule_of(policy) else {
        return;
    };
    let namespaces = velero_namespaces(&deployment.spec);
    if namespaces.is_empty() {
        return;
    }
    let expression = backup.schedule.as_deref().unwrap_or(d::BACKUP_SCHEDULE);
    let zone = backup.time_zone.as_deref().unwrap_or(d::BACKUP_TIME_ZONE);
    let cron = if zone == "UTC" {
        expression.to_owned()
    } else {
        format!("CRON_TZ={zone} {expression}")
    };
    // Kept for `retainMaxAgeDays`, or else for `retainCount` periods of the schedule.
    let keep_hours = match backup.retain_max_age_days {
        Some(days) => i64::from(days) * 24,
        None => {
            let period = schedule
                .latest(now)
                .zip(schedule.next(now))
                .map_or(24, |(a, b)| (b.duration_since(a).as_secs() / 3600).max(1));
            period * i64::from(backup.retain_count.unwrap_or(d::BACKUP_RETAIN_COUNT))
        }
    };
    let velero = velero_namespace(policy);
    let mut meta = metadata(
        deployment,
        velero_schedule_name(policy, deployment),
        velero,
        Control::Backup,
    );
    meta.owner_references = None;
    out.velero_schedules.push(VeleroSchedule {
        metadata: meta,
        spec: ScheduleSpec {
            schedule: cron,
            template: BackupTemplate {
                included_namespaces: namespaces,
                ttl: Some(format!("{keep_hours}h0m0s")),
            },
        },
    });
}

/// Claims restored by a drill.
impl OwnedKind for PersistentVolumeClaim {
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        // A claim's spec is fixed once created; the source tells whether it is this drill's.
        whole::in_place(&objects.pvcs, want, |h, w| {
            h.spec.as_ref().and_then(|s| s.data_source.as_ref())
                == w.spec.as_ref().and_then(|s| s.data_source.as_ref())
        })
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        whole::record(&mut objects.pvcs, object);
    }
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        whole::forget(&mut objects.pvcs, owned);
    }
}

/// The backups to take and to keep. The operator's other snapshots are deleted by the
/// reconcile as no longer needed, which is how retention works; when the control is off or
/// the deployment goes, every snapshot is kept unless the policy says `deleteWithDeployment`.
pub(super) fn snapshots(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    now: Timestamp,
    out: &mut DesiredObjects,
) {
    if snapshot.volume_snapshot_api_missing {
        return;
    }
    let backup = &policy.spec.controls.backup;
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    let enforced =
        backup.mode == EnforcementMode::Enforce && backup.engine == BackupEngine::VolumeSnapshot;
    let schedule = schedule_of(policy).ok().map(|(s, _)| s);
    for (namespace, claim) in declared_volumes(&deployment.spec) {
        let have = ours(snapshot.ns(namespace), uid, claim);
        if !enforced {
            // Off: nothing new is taken, and nothing deleted unless the policy asks for it.
            if !backup.delete_with_deployment {
                out.volume_snapshots.extend(have.into_iter().cloned());
            }
            continue;
        }
        let Some(schedule) = schedule.as_ref() else {
            // A schedule that cannot be read (the row says so): keep everything.
            out.volume_snapshots.extend(have.into_iter().cloned());
            continue;
        };
        let Some(slot) = schedule.latest(now).map(Slot) else {
            out.volume_snapshots.extend(have.into_iter().cloned());
            continue;
        };
        let current = take(deployment, backup, namespace, claim, slot);
        let name = current.metadata.name.clone();
        let current_ready = have.iter().any(|s| s.metadata.name == name && ready(s));
        out.volume_snapshots.extend(retain(
            policy,
            current_ready,
            have.into_iter().filter(|s| s.metadata.name != name),
            now,
        ));
        out.volume_snapshots.push(current);
    }
}

/// The snapshot of `claim` for `slot`.
fn take(
    deployment: &ModelDeployment,
    backup: &crate::api::BackupControl,
    namespace: &str,
    claim: &str,
    slot: Slot,
) -> VolumeSnapshot {
    let mut meta = metadata(
        deployment,
        object_name(
            deployment,
            namespace,
            &claim_suffix(claim, &slot.name_part()),
        ),
        namespace,
        Control::Backup,
    );
    // Backups are data: never garbage-collected with the ModelDeployment.
    meta.owner_references = None;
    meta.labels
        .get_or_insert_default()
        .insert(SLOT.to_owned(), slot.label());
    VolumeSnapshot {
        metadata: meta,
        spec: VolumeSnapshotSpec {
            source: VolumeSnapshotSource {
                persistent_volume_claim_name: Some(claim.to_owned()),
                volume_snapshot_content_name: None,
            },
            volume_snapshot_class_name: backup.volume_snapshot_class_name.clone(),
        },
        status: None,
    }
}

/// Of the operator's earlier snapshots of one claim (newest first), those retention keeps:
/// the `retainCount` newest ready ones (the current slot's counts once it is ready) with the
/// ones in progress among them, none older than `retainMaxAgeDays` except the newest ready
/// one, which is never deleted while it is the only one to restore from.
fn retain<'s>(
    policy: &CompliancePolicy,
    current_ready: bool,
    earlier: impl Iterator<Item = &'s VolumeSnapshot>,
    now: Timestamp,
) -> Vec<VolumeSnapshot> {
    let backup = &policy.spec.controls.backup;
    let count = usize::try_from(backup.retain_count.unwrap_or(d::BACKUP_RETAIN_COUNT))
        .unwrap_or(1)
        .max(1);
    let oldest = backup
        .retain_max_age_days
        .map(|days| now - jiff::SignedDuration::from_hours(i64::from(days) * 24));
    let mut ready_kept = usize::from(current_ready);
    let mut out = Vec::new();
    for s in earlier {
        if ready_kept >= count {
            break;
        }
        let newest_ready = ready_kept == 0 && ready(s);
        let too_old = oldest.is_some_and(|oldest| taken(s).is_some_and(|t| t < oldest));
        if too_old && !newest_ready {
            continue;
        }
        if ready(s) {
            ready_kept += 1;
        }
        out.push(s.clone());
    }
    out
}

/// The claims a due drill restores: one per declared volume with a ready snapshot of the
/// operator's, from the newest, in the volume's namespace.
pub(super) fn drill_claims(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    now: Timestamp,
    out: &mut DesiredObjects,
) {
    if snapshot.volume_snapshot_api_missing {
        return;
    }
    let Some(slot) = drill_due(policy, deployment, now) else {
        return;
    };
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    for (namespace, claim) in declared_volumes(&deployment.spec) {
        let objects = snapshot.ns(namespace);
        let name = drill_claim_name(deployment, namespace, claim, slot);
        if let Some(restoring) = objects
            .pvcs
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name.as_str()))
        {
            // Started: kept as it is until the drill is decided.
            out.persistent_volume_claims.push(restoring.clone());
            continue;
        }
        let Some(source) = drill_source(objects, uid, claim, slot) else {
            continue;
        };
        out.persistent_volume_claims
            .push(restore(deployment, objects, namespace, claim, source, slot));
    }
}

fn restore(
    deployment: &ModelDeployment,
    objects: &NamespaceObjects,
    namespace: &str,
    claim: &str,
    source: &VolumeSnapshot,
    slot: Slot,
) -> PersistentVolumeClaim {
    let original = objects
        .pvcs
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(claim))
        .and_then(|p| p.spec.as_ref());
    let size = source
        .status
        .as_ref()
        .and_then(|s| s.restore_size.clone())
        .or_else(|| {
            original
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage").cloned())
        })
        .unwrap_or_else(|| k8s_openapi::apimachinery::pkg::api::resource::Quantity("1Gi".into()));
    let mut meta = metadata(
        deployment,
        drill_claim_name(deployment, namespace, claim, slot),
        namespace,
        Control::RestoreDrill,
    );
    meta.labels
        .get_or_insert_default()
        .insert(SLOT.to_owned(), slot.label());
    PersistentVolumeClaim {
        metadata: meta,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(
                original
                    .and_then(|s| s.access_modes.clone())
                    .unwrap_or_else(|| vec!["ReadWriteOnce".into()]),
            ),
            storage_class_name: original.and_then(|s| s.storage_class_name.clone()),
            data_source: Some(TypedLocalObjectReference {
                api_group: Some("snapshot.storage.k8s.io".into()),
                kind: "VolumeSnapshot".into(),
                name: source.metadata.name.clone().unwrap_or_default(),
            }),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), size)])),
                limits: None,
            }),
            ..Default::default()
        }),
        status: None,
    }
}
