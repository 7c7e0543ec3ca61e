//! 8.1e backups: the newest ready backup of every declared volume is recent enough, and the
//! newest restore drill recovered every volume.

use k8s_openapi::jiff::Timestamp;

use crate::api::{BackupEngine, DrillOutcome, EnforcementMode};
use crate::backups::{self, declared_volumes};
use crate::catalog::defaults as d;
use crate::evaluate::{Ctx, Findings, Outcome};
use crate::i18n::msg;
use crate::snapshot::Snapshot;

pub(super) fn backup(ctx: &Ctx) -> Outcome {
    let volumes = declared_volumes(ctx.spec());
    if volumes.is_empty() {
        return Outcome::unmet("NoVolumesDeclared", msg!(NoVolumesDeclared));
    }
    let control = &ctx.policy().controls.backup;
    if let Err(e) = backups::schedule_of(ctx.inputs.policy) {
        return Outcome::unmet("InvalidSchedule", e);
    }
    let snapshot = ctx.snapshot();
    let max_hours = i64::from(control.max_age_hours.unwrap_or(d::BACKUP_MAX_AGE_HOURS));
    let names = volumes
        .iter()
        .map(|(ns, v)| format!("{ns}/{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if !snapshot.is_live() {
        return Outcome::unknown(
            "BackupAgeUnknown",
            msg!(BackupAgeOnlyLive, volumes = names, max = max_hours),
        );
    }
    if control.engine == BackupEngine::Velero {
        return velero(ctx, max_hours);
    }
    if snapshot.volume_snapshot_api_missing {
        return Outcome::unmet(
            "SnapshotApiMissing",
            msg!(SnapshotApiMissing, volumes = names),
        );
    }
    let mut f = Findings::default();
    // The volumes without any backup are named in one finding, at most a few of them.
    let mut unsaved = Vec::new();
    for (ns, volume) in &volumes {
        match newest_backup(snapshot, ns, volume) {
            None => unsaved.push(format!("{ns}/{volume}")),
            Some(t) => {
                let seconds = (ctx.now() - t).get_seconds();
                let hours = seconds / 3600;
                if seconds > max_hours * 3600 {
                    f.problem(
                        "BackupTooOld",
                        msg!(
                            BackupTooOld,
                            volume = format!("{ns}/{volume}"),
                            hours = hours,
                            max = max_hours
                        ),
                    );
                }
            }
        }
    }
    if !unsaved.is_empty() {
        let names: Vec<&str> = unsaved.iter().map(String::as_str).collect();
        f.problem(
            "NoBackup",
            msg!(
                NoReadySnapshot,
                volumes = crate::evaluate::declared::list(&names)
            ),
        );
    }
    if control.mode == EnforcementMode::Enforce {
        let drill = backups::drill_status(
            ctx.inputs.policy,
            ctx.inputs.deployment,
            snapshot,
            ctx.now(),
        );
        for volume in drill
            .iter()
            .filter(|d| d.outcome == DrillOutcome::Failed)
            .flat_map(|d| &d.volumes)
            .filter(|v| v.outcome == DrillOutcome::Failed)
        {
            f.problem(
                "RestoreDrillFailed",
                volume.message.clone().unwrap_or_default(),
            );
        }
    }
    f.passed(msg!(BackupsCurrent, volumes = names, max = max_hours));
    f.outcome("BackupsCurrent")
}

/// When the newest ready VolumeSnapshot of a claim was taken.
fn newest_backup(snapshot: &Snapshot, ns: &str, volume: &str) -> Option<Timestamp> {
    snapshot
        .ns(ns)
        .volume_snapshots
        .iter()
        .filter(|s| s.spec.source.persistent_volume_claim_name.as_deref() == Some(volume))
        .filter(|s| backups::ready(s))
        .filter_map(|s| {
            s.status
                .as_ref()
                .and_then(|st| st.creation_time.as_ref())
                .or(s.metadata.creation_timestamp.as_ref())
                .map(|t| t.0)
        })
        .max()
}

/// The Velero engine: the newest completed Velero Backup covering the training and inference
/// namespaces is recent enough.
fn velero(ctx: &Ctx, max_hours: i64) -> Outcome {
    let snapshot = ctx.snapshot();
    let velero_ns = backups::velero_namespace(ctx.inputs.policy);
    let namespaces = backups::velero_namespaces(ctx.spec());
    let covered = namespaces.join(", ");
    if snapshot.velero_api_missing {
        return Outcome::unmet("VeleroMissing", msg!(VeleroMissing, namespaces = covered));
    }
    let newest = snapshot
        .ns(velero_ns)
        .velero_backups
        .iter()
        .filter(|b| {
            let included = &b.spec.included_namespaces;
            included.iter().any(|n| n == "*") || namespaces.iter().all(|n| included.contains(n))
        })
        .filter(|b| b.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Completed"))
        .filter_map(|b| {
            let done = b.status.as_ref()?.completion_timestamp.as_ref()?.0;
            Some((done, b.metadata.name.clone().unwrap_or_default()))
        })
        .max();
    let Some((done, name)) = newest else {
        return Outcome::unmet(
            "NoBackup",
            msg!(
                NoVeleroBackup,
                velero_namespace = velero_ns,
                namespaces = covered,
                schedule = format!(
                    "{velero_ns}/{}",
                    backups::velero_schedule_name(ctx.inputs.policy, ctx.inputs.deployment)
                )
            ),
        );
    };
    let hours = (ctx.now() - done).get_seconds() / 3600;
    if (ctx.now() - done).get_seconds() > max_hours * 3600 {
        return Outcome::unmet(
            "BackupTooOld",
            msg!(
                VeleroBackupTooOld,
                backup = format!("{velero_ns}/{name}"),
                namespaces = covered,
                hours = hours,
                max = max_hours
            ),
        );
    }
    Outcome::met(
        "BackupsCurrent",
        msg!(
            VeleroBackupCurrent,
            backup = format!("{velero_ns}/{name}"),
            namespaces = covered,
            hours = hours,
            max = max_hours
        ),
    )
}
