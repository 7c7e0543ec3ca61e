//! Rows 2, 28 and 8.1c: cluster objects the policy names, whose state shows the row is met;
//! valid evidence may stand in for them.

use crate::api::{NamespacedWorkloadRef, RecurringJobCheck, WorkloadKind};
use crate::evaluate::{Ctx, Findings, Obligation, Outcome, State, evidence};
use crate::i18n::msg;
use crate::snapshot::NamespaceObjects;

/// Row 2: the policy's platform-monitoring workloads exist and are ready.
pub(super) fn platform_monitoring(ctx: &Ctx) -> Outcome {
    let named = &ctx.policy().cluster_checks.platform_monitoring;
    if named.is_empty() {
        return Outcome::unmet("NothingNamed", msg!(NoMonitoringNamed));
    }
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let mut f = Findings::default();
    for w in named {
        let ready = ready_replicas(snapshot.ns(&w.namespace), w);
        let what = format!("{} {}/{}", w.kind.as_str(), w.namespace, w.name);
        match (ready, live) {
            (None, true) => f.problem("MonitoringMissing", msg!(ObjectMissing, object = what)),
            (None, false) => f.open("NotInManifests", msg!(NotInManifests, object = what)),
            (Some(_), false) => f.open("ReadinessUnknown", msg!(ReadinessOnlyLive, object = what)),
            (Some(0), true) => {
                f.problem("MonitoringNotReady", msg!(NoReadyReplica, workload = what))
            }
            (Some(n), true) => f.passed(msg!(ReadyReplicas, workload = what, count = n)),
        }
    }
    f.outcome("MonitoringReady")
}

/// Ready replicas of a named workload; `None` if it is not there.
fn ready_replicas(objects: &NamespaceObjects, w: &NamespacedWorkloadRef) -> Option<i32> {
    let named = |name: Option<&str>| name == Some(w.name.as_str());
    match w.kind {
        WorkloadKind::Deployment => objects
            .apps_deployments
            .iter()
            .find(|o| named(o.metadata.name.as_deref()))
            .map(|o| {
                o.status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0)
            }),
        WorkloadKind::StatefulSet => objects
            .stateful_sets
            .iter()
            .find(|o| named(o.metadata.name.as_deref()))
            .map(|o| {
                o.status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0)
            }),
    }
}

/// Row 28 and 8.1c: a CronJob that succeeded recently.
pub(super) fn recurring_job(ctx: &Ctx, check: Option<&RecurringJobCheck>, field: &str) -> Outcome {
    let Some(check) = check else {
        return Outcome::unmet("NothingNamed", msg!(NoJobNamed, field = field));
    };
    let snapshot = ctx.snapshot();
    let what = format!("CronJob {}/{}", check.namespace, check.name);
    let job = snapshot
        .ns(&check.namespace)
        .cron_jobs
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(&check.name));
    match (job, snapshot.is_live()) {
        (None, true) => Outcome::unmet("JobMissing", msg!(ObjectMissing, object = what)),
        (None, false) => Outcome::unknown("NotInManifests", msg!(NotInManifests, object = what)),
        (Some(_), false) => Outcome::unknown("LastRunUnknown", msg!(LastRunOnlyLive, job = what)),
        (Some(job), true) => match job
            .status
            .as_ref()
            .and_then(|s| s.last_successful_time.as_ref())
        {
            None => Outcome::unmet("NeverSucceeded", msg!(JobNeverSucceeded, job = what)),
            Some(t) => {
                let seconds = (ctx.now() - t.0).get_seconds();
                let days = seconds / 86_400;
                if seconds > i64::from(check.max_age_days) * 86_400 {
                    Outcome::unmet(
                        "JobStale",
                        msg!(JobStale, job = what, days = days, max = check.max_age_days),
                    )
                } else {
                    Outcome::met("JobRecent", msg!(JobRecent, job = what, days = days))
                }
            }
        },
    }
}

/// Cluster facts decide; valid evidence also satisfies the row.
pub(super) fn cluster_or_evidence(ctx: &Ctx, id: Obligation, cluster: Outcome) -> Outcome {
    if cluster.state == State::Compliant {
        return cluster;
    }
    let evidence = evidence::require(ctx, id);
    if evidence.state == State::Compliant {
        return evidence;
    }
    Outcome {
        message: msg!(
            OrAttest,
            cluster = cluster.message,
            evidence = evidence.message
        ),
        ..cluster
    }
}
