//! Rows and measures that cluster objects show met, or evidence attests: platform monitoring
//! (row 2), routine safety evaluation (row 28) and the code audit (8.1c).

use super::*;
use crate::api::ClusterChecks;

#[test]
fn row_2_monitoring_must_exist_and_be_ready() {
    let mut f = Fixture::baseline();
    f.ns(MONITORING_NS).apps_deployments[0]
        .status
        .as_mut()
        .unwrap()
        .ready_replicas = Some(0);
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "MonitoringNotReady",
        &[
            "Deployment monitoring/platform-monitor has no ready replica",
            "or attest it: no ComplianceEvidence",
        ],
    );
    f.ns(MONITORING_NS).apps_deployments.clear();
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "MonitoringMissing",
        &["Deployment monitoring/platform-monitor does not exist"],
    );
    f.policy().cluster_checks.platform_monitoring.clear();
    assert_decision(
        &row_of(&f, 2),
        State::NonCompliant,
        "NothingNamed",
        &["clusterChecks.platformMonitoring"],
    );
    // Valid evidence satisfies the row instead.
    f.evidence.push(evidence(
        "platform-soc-2026",
        &[2],
        &[],
        &[NAME],
        days_ago(1),
        days_ago(-100),
    ));
    let d = row_of(&f, 2);
    assert_decision(
        &d,
        State::Compliant,
        "EvidenceValid",
        &["platform-soc-2026"],
    );
    assert_eq!(d.evidence[0].name, "platform-soc-2026");
}

/// A ComplianceEvidence for `chat` attesting exactly `id`.
fn attesting(
    name: &str,
    id: Obligation,
    attested_at: Timestamp,
    valid_until: Timestamp,
) -> ComplianceEvidence {
    match id {
        Obligation::Row(n) => evidence(name, &[n], &[], &[NAME], attested_at, valid_until),
        Obligation::Measure(m) => evidence(name, &[], &[m], &[NAME], attested_at, valid_until),
    }
}

/// A CronJob the policy names that must have succeeded recently, or evidence instead.
struct RecurringJob {
    id: Obligation,
    /// The CronJob in the jobs namespace, and how the decisions name the obligation.
    job: &'static str,
    what: &'static str,
    /// The field of `clusterChecks` that names it, and how to unname it.
    field: &'static str,
    unname: fn(&mut ClusterChecks),
    max_days: i64,
    /// An obligation whose evidence does not satisfy this one.
    other: Obligation,
}

/// Row 28 (routine safety evaluation, at most 7 days old) and measure 8.1c (code audit, at
/// most 30 days old).
const RECURRING_JOBS: [RecurringJob; 2] = [
    RecurringJob {
        id: Obligation::Row(28),
        job: "safety-eval",
        what: "row 28",
        field: "safetyEvaluation",
        unname: |c| c.safety_evaluation = None,
        max_days: 7,
        other: Obligation::Measure(Measure::CodeAudit),
    },
    RecurringJob {
        id: Obligation::Measure(Measure::CodeAudit),
        job: "code-audit",
        what: "measure CodeAudit",
        field: "codeAudit",
        unname: |c| c.code_audit = None,
        max_days: 30,
        other: Obligation::Row(28),
    },
];

impl RecurringJob {
    fn decision(&self, f: &Fixture) -> Decision {
        f.evaluate().decision(self.id).unwrap().clone()
    }

    /// Replaces the baseline's CronJob with one that last succeeded at `last`.
    fn succeeded(&self, f: &mut Fixture, last: Option<Timestamp>) {
        let jobs = &mut f.ns(JOBS_NS).cron_jobs;
        let job = jobs
            .iter_mut()
            .find(|c| c.metadata.name.as_deref() == Some(self.job))
            .expect("the baseline has the CronJob");
        *job = cron_job(self.job, last);
    }
}

#[test]
fn recurring_jobs_must_have_succeeded_recently_or_be_attested() {
    for j in &RECURRING_JOBS {
        let (job, max) = (j.job, j.max_days);
        let mut f = Fixture::baseline();
        j.succeeded(&mut f, Some(days_ago(max)));
        assert_decision(
            &j.decision(&f),
            State::Compliant,
            "JobRecent",
            &[&format!("succeeded {max} day(s) ago")],
        );
        // The age is not truncated to whole days.
        j.succeeded(&mut f, Some(hours_ago(max * 24 + 23)));
        assert_decision(
            &j.decision(&f),
            State::NonCompliant,
            "JobStale",
            &[&format!("compliance/{job}")],
        );
        j.succeeded(&mut f, Some(days_ago(max + 1)));
        assert_decision(
            &j.decision(&f),
            State::NonCompliant,
            "JobStale",
            &[&format!(
                "CronJob compliance/{job} last succeeded {} days ago (max {max})",
                max + 1
            )],
        );
        j.succeeded(&mut f, None);
        assert_decision(
            &j.decision(&f),
            State::NonCompliant,
            "NeverSucceeded",
            &[&format!("compliance/{job} has never succeeded")],
        );
        f.ns(JOBS_NS)
            .cron_jobs
            .retain(|c| c.metadata.name.as_deref() != Some(job));
        assert_decision(
            &j.decision(&f),
            State::NonCompliant,
            "JobMissing",
            &[&format!("CronJob compliance/{job} does not exist")],
        );

        // Evidence for another obligation does not satisfy this one; evidence for it does.
        f.evidence.push(attesting(
            "other-2026",
            j.other,
            days_ago(1),
            days_ago(-100),
        ));
        assert_decision(&j.decision(&f), State::NonCompliant, "JobMissing", &[]);
        let name = format!("{job}-2026");
        f.evidence
            .push(attesting(&name, j.id, days_ago(1), days_ago(-100)));
        let d = j.decision(&f);
        assert_decision(&d, State::Compliant, "EvidenceValid", &[&name]);
        assert_eq!(d.evidence[0].name, name);

        // Nothing named and the evidence expired: both are reported.
        let mut f = Fixture::baseline();
        (j.unname)(&mut f.policy().cluster_checks);
        let name = format!("{job}-2025");
        f.evidence
            .push(attesting(&name, j.id, days_ago(400), days_ago(35)));
        assert_decision(
            &j.decision(&f),
            State::NonCompliant,
            "NothingNamed",
            &[
                &format!("clusterChecks.{}", j.field),
                &format!(
                    "or attest it: ComplianceEvidence {name} for {} expired",
                    j.what
                ),
            ],
        );
    }
}
