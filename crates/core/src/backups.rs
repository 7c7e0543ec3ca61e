//! Backups as facts in time, shared by the evaluation and the backup control (8.1e): the
//! cron schedules and their slots, which snapshots are the operator's, and the state of the
//! restore drill as the restored claims show it.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::api::{
    BackupEngine, CompliancePolicy, DrillOutcome, DrillVolume, EnforcementMode, ModelDeployment,
    ModelDeploymentSpec, RestoreDrillStatus,
};
use crate::catalog::defaults as d;
use crate::desired::{object_name, owned_by};
use crate::i18n::msg;
use crate::labels::SLOT;
use crate::snapshot::{NamespaceObjects, Snapshot, VolumeSnapshot};

/// A cron schedule read in a time zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    zone: TimeZone,
}

/// Schedules already parsed, by expression and zone: every reconcile reads its policy's, and
/// parsing a cron expression cost more than the rest of the backup decision. A policy's few
/// expressions are kept; past [`PARSED_KEPT`] distinct ones the memory starts over.
static PARSED: std::sync::LazyLock<std::sync::Mutex<Parsed>> =
    std::sync::LazyLock::new(Default::default);
type Parsed = std::collections::HashMap<(String, String), Result<Schedule, String>>;
const PARSED_KEPT: usize = 64;

impl Schedule {
    /// Parses a five-field cron expression and an IANA time zone.
    pub fn parse(expression: &str, zone: &str) -> Result<Schedule, String> {
        let key = (expression.to_owned(), zone.to_owned());
        if let Some(parsed) = PARSED.lock().expect("schedules lock").get(&key) {
            return parsed.clone();
        }
        let parsed = Self::parse_anew(expression, zone);
        let mut kept = PARSED.lock().expect("schedules lock");
        if kept.len() >= PARSED_KEPT {
            kept.clear();
        }
        kept.insert(key, parsed.clone());
        parsed
    }

    fn parse_anew(expression: &str, zone: &str) -> Result<Schedule, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| {
                msg!(
                    ScheduleNotCron,
                    expression = format!("{expression:?}"),
                    error = e
                )
            })?;
        let zone =
            TimeZone::get(zone).map_err(|_| msg!(TimeZoneUnknown, zone = format!("{zone:?}")))?;
        Ok(Schedule { cron, zone })
    }

    /// The latest scheduled instant at or before `now`.
    pub fn latest(&self, now: Timestamp) -> Option<Timestamp> {
        let at = now.to_zoned(self.zone.clone());
        self.cron
            .find_previous_occurrence(&at, true)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The first scheduled instant after `now`.
    pub fn next(&self, now: Timestamp) -> Option<Timestamp> {
        let at = now.to_zoned(self.zone.clone());
        self.cron
            .find_next_occurrence(&at, false)
            .ok()
            .map(|z| z.timestamp())
    }
}

/// The backup schedule and the drill schedule of a policy; an error names the bad field.
pub fn schedule_of(policy: &CompliancePolicy) -> Result<(Schedule, Option<Schedule>), String> {
    let backup = &policy.spec.controls.backup;
    let zone = backup.time_zone.as_deref().unwrap_or(d::BACKUP_TIME_ZONE);
    let schedule = Schedule::parse(
        backup.schedule.as_deref().unwrap_or(d::BACKUP_SCHEDULE),
        zone,
    )
    .map_err(|e| msg!(InvalidBackupSchedule, error = e))?;
    let drill = match &backup.restore_drill {
        Some(drill) => Some(
            Schedule::parse(&drill.schedule, zone)
                .map_err(|e| msg!(InvalidDrillSchedule, error = e))?,
        ),
        None => None,
    };
    Ok((schedule, drill))
}

/// A scheduled instant, as it appears in names and labels: `20261129t0200z` / `20261129T0200Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot(pub Timestamp);

impl Slot {
    pub fn label(self) -> String {
        self.0.strftime("%Y%m%dT%H%MZ").to_string()
    }
    pub fn name_part(self) -> String {
        self.label().to_lowercase()
    }
    pub fn parse(label: &str) -> Option<Slot> {
        let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%MZ", label).ok()?;
        at.to_zoned(TimeZone::UTC).ok().map(|z| Slot(z.timestamp()))
    }
}

/// `(namespace, claim)` of every volume the deployment declares: training data, safety
/// annotations and models.
pub fn declared_volumes(spec: &ModelDeploymentSpec) -> Vec<(&str, &str)> {
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

/// The backup a drill of `slot` restores `claim` from when it starts: the newest ready one
/// of the operator's taken at or before the slot. Once its claim exists, the claim's source
/// stands (a claim's source cannot change).
pub fn drill_source<'s>(
    objects: &'s NamespaceObjects,
    uid: &str,
    claim: &str,
    slot: Slot,
) -> Option<&'s VolumeSnapshot> {
    ours(objects, uid, claim)
        .into_iter()
        .find(|s| ready(s) && taken(s).is_some_and(|t| t <= slot.0))
}

/// Namespace of Velero's Schedules and Backups.
pub fn velero_namespace(policy: &CompliancePolicy) -> &str {
    policy
        .spec
        .controls
        .backup
        .velero_namespace
        .as_deref()
        .unwrap_or(d::VELERO_NAMESPACE)
}

/// Name of the Velero Schedule of a deployment (in Velero's namespace).
pub fn velero_schedule_name(policy: &CompliancePolicy, deployment: &ModelDeployment) -> String {
    object_name(deployment, velero_namespace(policy), "backups")
}

/// The namespaces a Velero Schedule of the deployment backs up: training and inference.
pub fn velero_namespaces(spec: &ModelDeploymentSpec) -> Vec<String> {
    let mut out: Vec<String> = spec
        .training
        .iter()
        .map(|t| t.namespace.clone())
        .chain(spec.inference.iter().map(|i| i.namespace.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a snapshot is ready to restore from.
pub fn ready(s: &VolumeSnapshot) -> bool {
    s.status.as_ref().and_then(|st| st.ready_to_use) == Some(true)
}

/// When a snapshot was taken: its slot for the operator's, else its creation.
pub fn taken(s: &VolumeSnapshot) -> Option<Timestamp> {
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SLOT))
        .and_then(|l| Slot::parse(l))
        .map(|s| s.0)
        .or_else(|| {
            s.status
                .as_ref()
                .and_then(|st| st.creation_time.as_ref())
                .or(s.metadata.creation_timestamp.as_ref())
                .map(|t| t.0)
        })
}

/// The operator's snapshots of one claim, newest first.
pub fn ours<'s>(objects: &'s NamespaceObjects, uid: &str, claim: &str) -> Vec<&'s VolumeSnapshot> {
    let mut out: Vec<&VolumeSnapshot> = objects
        .volume_snapshots
        .iter()
        .filter(|s| owned_by(&s.metadata, uid))
        .filter(|s| s.spec.source.persistent_volume_claim_name.as_deref() == Some(claim))
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(taken(s)));
    out
}

/// The drill due now: its slot, if the policy has a drill and its latest slot is not yet
/// decided in the deployment's status.
pub fn drill_due(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    now: Timestamp,
) -> Option<Slot> {
    let backup = &policy.spec.controls.backup;
    if backup.mode != EnforcementMode::Enforce || backup.engine != BackupEngine::VolumeSnapshot {
        return None;
    }
    let (_, drill) = schedule_of(policy).ok()?;
    let slot = Slot(drill?.latest(now)?);
    // A drill scheduled before the deployment existed is not owed.
    if deployment
        .metadata
        .creation_timestamp
        .as_ref()
        .is_some_and(|created| slot.0 < created.0)
    {
        return None;
    }
    let done = deployment
        .status
        .as_ref()
        .and_then(|s| s.backup.as_ref())
        .and_then(|b| b.restore_drill.as_ref())
        .is_some_and(|d| d.slot.0 == slot.0 && d.outcome != DrillOutcome::Running);
    (!done).then_some(slot)
}

/// Name of the claim a drill of `slot` restores `claim` into.
pub fn drill_claim_name(
    deployment: &ModelDeployment,
    namespace: &str,
    claim: &str,
    slot: Slot,
) -> String {
    object_name(
        deployment,
        namespace,
        &format!("drill-{}", claim_suffix(claim, &slot.name_part())),
    )
}

/// `<claim>-<part>`, with the claim shortened to a digest when the name would be too long.
pub fn claim_suffix(claim: &str, part: &str) -> String {
    if claim.len() <= 180 {
        format!("{claim}-{part}")
    } else {
        use sha2::{Digest, Sha256};
        let sum = Sha256::digest(claim.as_bytes());
        let short: String = sum[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{short}-{part}")
    }
}

/// The drill's state as the claims show it now, for the status; the previous status is kept
/// once its drill is decided and no new one is due.
pub fn drill_status(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    now: Timestamp,
) -> Option<RestoreDrillStatus> {
    let previous = deployment
        .status
        .as_ref()
        .and_then(|s| s.backup.as_ref())
        .and_then(|b| b.restore_drill.clone());
    let Some(slot) = drill_due(policy, deployment, now) else {
        return previous;
    };
    if snapshot.volume_snapshot_api_missing {
        return previous;
    }
    let timeout = i64::from(
        policy
            .spec
            .controls
            .backup
            .restore_drill
            .as_ref()
            .and_then(|d| d.timeout_seconds)
            .unwrap_or(d::RESTORE_DRILL_TIMEOUT_SECONDS),
    );
    let drill = Drill {
        deployment,
        slot,
        timeout,
        waited: now.duration_since(slot.0).as_secs(),
        now,
    };
    let volumes: Vec<DrillVolume> = declared_volumes(&deployment.spec)
        .into_iter()
        .map(|(namespace, claim)| drill.volume(snapshot.ns(namespace), namespace, claim))
        .collect();
    if volumes.is_empty() {
        return previous;
    }
    // Earlier answers stand: a volume's time to bind is measured once.
    let volumes = match previous.as_ref().filter(|p| p.slot.0 == slot.0) {
        Some(p) => volumes
            .into_iter()
            .map(|v| {
                p.volumes
                    .iter()
                    .find(|old| old.volume == v.volume && old.outcome != DrillOutcome::Running)
                    .cloned()
                    .unwrap_or(v)
            })
            .collect(),
        None => volumes,
    };
    let outcome = if volumes.iter().any(|v| v.outcome == DrillOutcome::Running) {
        DrillOutcome::Running
    } else if volumes.iter().all(|v| v.outcome == DrillOutcome::Succeeded) {
        DrillOutcome::Succeeded
    } else {
        DrillOutcome::Failed
    };
    Some(RestoreDrillStatus {
        slot: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(slot.0),
        outcome,
        volumes,
    })
}

/// When the backup control next has something to do: the next backup slot, the next drill,
/// or soon while a drill runs.
pub fn next_wake(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    now: Timestamp,
) -> Option<Timestamp> {
    let backup = &policy.spec.controls.backup;
    if backup.mode != EnforcementMode::Enforce {
        return None;
    }
    let (schedule, drill) = schedule_of(policy).ok()?;
    let mut wake = vec![schedule.next(now)];
    if backup.engine == BackupEngine::VolumeSnapshot {
        wake.push(drill.as_ref().and_then(|d| d.next(now)));
        if drill_due(policy, deployment, now).is_some() {
            wake.push(Some(now + jiff::SignedDuration::from_secs(10)));
        }
    }
    wake.into_iter().flatten().min()
}

/// One drill, as the restore of each volume is judged.
struct Drill<'a> {
    deployment: &'a ModelDeployment,
    slot: Slot,
    timeout: i64,
    /// Seconds since the drill's slot.
    waited: i64,
    now: Timestamp,
}

impl Drill<'_> {
    /// The restore of `claim`: bound (how fast), failed (why, naming the snapshot), or running.
    fn volume(&self, objects: &NamespaceObjects, namespace: &str, claim: &str) -> DrillVolume {
        let (deployment, slot, timeout, waited, now) = (
            self.deployment,
            self.slot,
            self.timeout,
            self.waited,
            self.now,
        );
        let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
        let volume = format!("{namespace}/{claim}");
        let name = drill_claim_name(deployment, namespace, claim, slot);
        let restored = objects
            .pvcs
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name.as_str()));
        let source_name = match restored {
            Some(r) => r
                .spec
                .as_ref()
                .and_then(|s| s.data_source.as_ref())
                .map(|d| d.name.clone()),
            None => drill_source(objects, uid, claim, slot).and_then(|s| s.metadata.name.clone()),
        };
        let Some(source_name) = source_name else {
            let message = msg!(NoBackupToRestore, volume = volume);
            return DrillVolume {
                volume,
                snapshot: None,
                seconds_to_bind: None,
                outcome: DrillOutcome::Failed,
                message: Some(message),
            };
        };
        let bound = restored
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Bound");
        let source_name = Some(source_name);
        if bound {
            let created = restored
                .and_then(|p| p.metadata.creation_timestamp.as_ref())
                .map_or(slot.0, |t| t.0);
            return DrillVolume {
                volume,
                snapshot: source_name,
                seconds_to_bind: Some(now.duration_since(created).as_secs().max(0)),
                outcome: DrillOutcome::Succeeded,
                message: None,
            };
        }
        if waited > timeout {
            return DrillVolume {
                volume,
                snapshot: source_name.clone(),
                seconds_to_bind: None,
                outcome: DrillOutcome::Failed,
                message: Some(msg!(
                    RestoreDidNotBind,
                    claim = format!("{namespace}/{name}"),
                    snapshot = source_name.as_deref().unwrap_or_default(),
                    timeout = timeout
                )),
            };
        }
        DrillVolume {
            volume,
            snapshot: source_name,
            seconds_to_bind: None,
            outcome: DrillOutcome::Running,
            message: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schedule read again comes from memory and answers as the first did, errors
    /// included; past the kept number of expressions the answers stay the same.
    #[test]
    fn parsed_schedules_are_remembered_with_their_answers() {
        let now: Timestamp = "2026-12-01T10:30:00Z".parse().unwrap();
        let first = Schedule::parse("0 */6 * * *", "UTC").unwrap();
        let again = Schedule::parse("0 */6 * * *", "UTC").unwrap();
        assert_eq!(first.latest(now), again.latest(now));
        assert_eq!(
            first.latest(now),
            Some("2026-12-01T06:00:00Z".parse().unwrap())
        );
        // The same expression in another zone is another schedule.
        let shanghai = Schedule::parse("0 */6 * * *", "Asia/Shanghai").unwrap();
        assert_eq!(
            shanghai.latest(now),
            Some("2026-12-01T10:00:00Z".parse().unwrap())
        );
        let bad = Schedule::parse("every day", "UTC").unwrap_err();
        assert_eq!(Schedule::parse("every day", "UTC").unwrap_err(), bad);
        assert!(Schedule::parse("0 3 * * *", "Mars/Olympus").is_err());
        for minute in 0..(PARSED_KEPT + 5) {
            let expression = format!("{} 1 * * *", minute % 60);
            let zone = if minute < 60 { "UTC" } else { "Asia/Tokyo" };
            assert!(Schedule::parse(&expression, zone).is_ok(), "{expression}");
        }
        assert!(PARSED.lock().unwrap().len() <= PARSED_KEPT);
        assert_eq!(
            Schedule::parse("0 */6 * * *", "UTC").unwrap().latest(now),
            first.latest(now)
        );
    }
}
