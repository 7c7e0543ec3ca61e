//! Rows 2, 28 and 8.1c: cluster objects the policy names, whose state shows the row is met;
//! valid evidence may stand in for them.

use crate::api::{NamespacedWorkloadRef, RecurringJobCheck, WorkloadKind};
use crate::evaluate::{Ctx, Findings, Obligation, Outcome, State, evidence};
use crate::snapshot::NamespaceObjects;

/// Row 2: the policy's platform-monitoring workloads exist and are ready.
pub(super) fn platform_monitoring(ctx: &Ctx) -> Outcome {
    let named = &ctx.policy().cluster_checks.platform_monitoring;
    if named.is_empty() {
        return Outcome::unmet(
            "NothingNamed",
            "the policy names no clusterChecks.platformMonitoring workload",
        );
    }
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let mut f = Findings::default();
    for w in named {
        let ready = ready_replicas(snapshot.ns(&w.namespace), w);
        let what = format!("{} {}/{}", w.kind.as_str(), w.namespace, w.name);
        match (ready, live) {
            (None, true) => f.problem("MonitoringMissing", format!("{what} does not exist")),
            (None, false) => f.open(
                "NotInManifests",
                format!("{what} is not in the manifests read"),
            ),
            (Some(_), false) => f.open(
                "ReadinessUnknown",
                format!("readiness of {what} is only known in the cluster"),
            ),
            (Some(0), true) => {
                f.problem("MonitoringNotReady", format!("{what} has no ready replica"))
            }
            (Some(n), true) => f.passed(format!("{what} has {n} ready replica(s)")),
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
        return Outcome::unmet(
            "NothingNamed",
            format!("the policy names no clusterChecks.{field} CronJob"),
        );
    };
    let snapshot = ctx.snapshot();
    let what = format!("CronJob {}/{}", check.namespace, check.name);
    let job = snapshot
        .ns(&check.namespace)
        .cron_jobs
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(&check.name));
    match (job, snapshot.is_live()) {
        (None, true) => Outcome::unmet("JobMissing", format!("{what} does not exist")),
        (None, false) => Outcome::unknown(
            "NotInManifests",
            format!("{what} is not in the manifests read"),
        ),
        (Some(_), false) => Outcome::unknown(
            "LastRunUnknown",
            format!("the last successful run of {what} is only known in the cluster"),
        ),
        (Some(job), true) => match job
            .status
            .as_ref()
            .and_then(|s| s.last_successful_time.as_ref())
        {
            None => Outcome::unmet("NeverSucceeded", format!("{what} has never succeeded")),
            Some(t) => {
                let seconds = (ctx.now() - t.0).get_seconds();
                let days = seconds / 86_400;
                if seconds > i64::from(check.max_age_days) * 86_400 {
                    Outcome::unmet(
                        "JobStale",
                        format!(
                            "{what} last succeeded {days} days ago (max {})",
                            check.max_age_days
                        ),
                    )
                } else {
                    Outcome::met("JobRecent", format!("{what} succeeded {days} day(s) ago"))
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
        message: format!("{}; or attest it: {}", cluster.message, evidence.message),
        ..cluster
    }
}
