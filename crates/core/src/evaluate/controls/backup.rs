//! 8.1e backups: the newest ready snapshot of every declared volume is recent enough.

use k8s_openapi::jiff::Timestamp;

use crate::api::ModelDeploymentSpec;
use crate::catalog::defaults as d;
use crate::evaluate::{Ctx, Findings, Outcome};
use crate::snapshot::Snapshot;

pub(super) fn backup(ctx: &Ctx) -> Outcome {
    let volumes = declared_volumes(ctx.spec());
    if volumes.is_empty() {
        return Outcome::unmet(
            "NoVolumesDeclared",
            "declare training.dataVolumes or inference.modelVolumes so that they are backed up",
        );
    }
    let snapshot = ctx.snapshot();
    let max_hours = i64::from(
        ctx.policy()
            .controls
            .backup
            .max_age_hours
            .unwrap_or(d::BACKUP_MAX_AGE_HOURS),
    );
    let names = volumes
        .iter()
        .map(|(ns, v)| format!("{ns}/{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if !snapshot.is_live() {
        return Outcome::unknown(
            "BackupAgeUnknown",
            format!(
                "the age of the newest backup of {names} is only known in the cluster (max {max_hours} h)"
            ),
        );
    }
    let mut f = Findings::default();
    for (ns, volume) in &volumes {
        match newest_backup(snapshot, ns, volume) {
            None => f.problem(
                "NoBackup",
                format!("no ready VolumeSnapshot of {ns}/{volume}"),
            ),
            Some(t) => {
                let seconds = (ctx.now() - t).get_seconds();
                let hours = seconds / 3600;
                if seconds > max_hours * 3600 {
                    f.problem(
                        "BackupTooOld",
                        format!(
                            "newest backup of {ns}/{volume} is {hours} h old (max {max_hours} h)"
                        ),
                    );
                }
            }
        }
    }
    f.passed(format!(
        "every declared volume ({names}) has a ready backup younger than {max_hours} h"
    ));
    f.outcome("BackupsCurrent")
}

/// `(namespace, claim)` of every volume the deployment declares: training data, safety
/// annotations and models.
fn declared_volumes(spec: &ModelDeploymentSpec) -> Vec<(&str, &str)> {
    let mut volumes = Vec::new();
    if let Some(t) = spec.training.as_ref() {
        volumes.extend(
            t.data_volumes
                .iter()
                .chain(&t.safety_annotation_volumes)
                .map(|v| (t.namespace.as_str(), v.as_str())),
        );
    }
    if let Some(i) = spec.inference.as_ref() {
        volumes.extend(
            i.model_volumes
                .iter()
                .map(|v| (i.namespace.as_str(), v.as_str())),
        );
    }
    volumes
}

/// When the newest ready VolumeSnapshot of a claim was taken.
fn newest_backup(snapshot: &Snapshot, ns: &str, volume: &str) -> Option<Timestamp> {
    snapshot
        .ns(ns)
        .volume_snapshots
        .iter()
        .filter(|s| s.spec.source.persistent_volume_claim_name.as_deref() == Some(volume))
        .filter(|s| s.status.as_ref().and_then(|st| st.ready_to_use) == Some(true))
        .filter_map(|s| {
            s.status
                .as_ref()
                .and_then(|st| st.creation_time.as_ref())
                .or(s.metadata.creation_timestamp.as_ref())
                .map(|t| t.0)
        })
        .max()
}
