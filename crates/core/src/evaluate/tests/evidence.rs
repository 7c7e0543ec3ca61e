//! Rows and measures satisfied by ComplianceEvidence: which evidence counts and what the
//! decisions say about it.

use super::*;

#[test]
fn every_evidence_row_is_unmet_without_evidence() {
    let mut ids: Vec<Obligation> = EVIDENCE_ROWS.iter().map(|n| Obligation::Row(*n)).collect();
    ids.push(Obligation::Measure(Measure::AdversarialDefense));
    for id in ids {
        let mut f = Fixture::baseline();
        f.drop_evidence_for(id);
        let eval = f.evaluate();
        let d = eval.decision(id).unwrap();
        assert_decision(
            d,
            State::NonCompliant,
            "EvidenceMissing",
            &["no ComplianceEvidence attests it"],
        );
        assert!(d.evidence.is_empty(), "{id}");
        // Only that obligation changed.
        let others: Vec<&Decision> = eval
            .decisions
            .iter()
            .filter(|o| o.id != id && o.state != State::Compliant)
            .collect();
        assert!(
            others.is_empty(),
            "dropping {id} changed:\n{}",
            describe(others)
        );
    }
}

/// Rows that need evidence on top of what is declared or observed, each with what its message
/// says and its severity when the evidence is missing.
const EVIDENCE_ON_TOP: [(u8, &[&str], Option<Severity>); 4] = [
    (15, &["no ComplianceEvidence attests it"], None),
    (24, &["no ComplianceEvidence"], Some(Severity::Critical)),
    (35, &["no ComplianceEvidence"], None),
    (40, &["procedure: no ComplianceEvidence"], None),
];

#[test]
fn rows_that_need_evidence_on_top_say_so() {
    for (row, fragments, severity) in EVIDENCE_ON_TOP {
        let mut f = Fixture::baseline();
        f.drop_evidence_for(Obligation::Row(row));
        let d = row_of(&f, row);
        assert_decision(&d, State::NonCompliant, "EvidenceMissing", fragments);
        if let Some(severity) = severity {
            assert_eq!(d.severity, severity, "row {row}");
        }
    }
}

/// The baseline without evidence for row 16, plus `evidence`.
fn with_only(evidence: Vec<ComplianceEvidence>) -> Fixture {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Row(16));
    f.evidence.extend(evidence);
    f
}

/// One evidence object for row 16, attested and valid until so many days before `now`
/// (negative: after).
struct Window {
    name: &'static str,
    attested: i64,
    until: i64,
    state: State,
    reason: &'static str,
    fragments: &'static [&'static str],
    /// The valid-until day of the evidence the decision relies on, if any.
    relied_on: Option<&'static str>,
}

/// Evidence counts from `attestedAt` (inclusive) to `validUntil` (exclusive) and warns in its
/// last 30 days.
const WINDOWS: [Window; 7] = [
    Window {
        name: "ip-review-2026",
        attested: 10,
        until: -200,
        state: State::Compliant,
        reason: "EvidenceValid",
        fragments: &[
            "ComplianceEvidence ip-review-2026",
            "valid until 2027-06-19",
        ],
        relied_on: Some("2027-06-19"),
    },
    Window {
        name: "ip-review-2025",
        attested: 400,
        until: 35,
        state: State::NonCompliant,
        reason: "EvidenceExpired",
        fragments: &["ComplianceEvidence ip-review-2025 for row 16 expired on 2026-10-27"],
        relied_on: None,
    },
    Window {
        name: "ip-review-2025",
        attested: 400,
        until: 0,
        state: State::NonCompliant,
        reason: "EvidenceExpired",
        fragments: &["expired on 2026-12-01"],
        relied_on: None,
    },
    Window {
        name: "ip-review-2027",
        attested: -5,
        until: -365,
        state: State::NonCompliant,
        reason: "EvidenceNotYetValid",
        fragments: &["ComplianceEvidence ip-review-2027 for row 16 is attested for 2026-12-06"],
        relied_on: None,
    },
    Window {
        name: "ip-review-now",
        attested: 0,
        until: -365,
        state: State::Compliant,
        reason: "EvidenceValid",
        fragments: &["ip-review-now"],
        relied_on: Some("2027-12-01"),
    },
    Window {
        name: "ip-review-ending",
        attested: 300,
        until: -10,
        state: State::Compliant,
        reason: "EvidenceExpiringSoon",
        fragments: &["ip-review-ending", "expires in 10 days: attest again"],
        relied_on: Some("2026-12-11"),
    },
    Window {
        name: "ip-review-ok",
        attested: 300,
        until: -30,
        state: State::Compliant,
        reason: "EvidenceValid",
        fragments: &["ip-review-ok"],
        relied_on: Some("2026-12-31"),
    },
];

#[test]
fn evidence_counts_within_its_validity_window() {
    for w in &WINDOWS {
        println!(
            "{} attested {} and valid until {} day(s) ago",
            w.name, w.attested, w.until
        );
        let f = with_only(vec![evidence(
            w.name,
            &[16],
            &[],
            &[NAME],
            days_ago(w.attested),
            days_ago(w.until),
        )]);
        let d = row_of(&f, 16);
        assert_decision(&d, w.state, w.reason, w.fragments);
        let relied_on: Vec<EvidenceRef> = w
            .relied_on
            .iter()
            .map(|until| EvidenceRef {
                name: w.name.into(),
                valid_until: (*until).into(),
            })
            .collect();
        assert_eq!(d.evidence, relied_on, "{}", w.name);
    }
}

#[test]
fn evidence_for_another_deployment_only_is_missing_and_named() {
    let f = with_only(vec![evidence(
        "ip-review-other",
        &[16],
        &[],
        &["other-model"],
        days_ago(10),
        days_ago(-200),
    )]);
    assert_decision(
        &row_of(&f, 16),
        State::NonCompliant,
        "EvidenceMissing",
        &["(ip-review-other covers row 16 but targets other deployments)"],
    );
}

#[test]
fn evidence_in_another_namespace_is_ignored() {
    let mut foreign = evidence(
        "ip-review-foreign",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-200),
    );
    foreign.metadata.namespace = Some("elsewhere".into());
    let f = with_only(vec![foreign]);
    let d = row_of(&f, 16);
    assert_decision(
        &d,
        State::NonCompliant,
        "EvidenceMissing",
        &["no ComplianceEvidence attests it"],
    );
    assert!(!d.message.contains("ip-review-foreign"), "{}", d.message);
}

#[test]
fn evidence_valid_longest_is_named() {
    let short = evidence(
        "ip-review-short",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-100),
    );
    let long = evidence(
        "ip-review-long",
        &[16],
        &[],
        &[NAME],
        days_ago(10),
        days_ago(-500),
    );
    let expired = evidence(
        "ip-review-old",
        &[16],
        &[],
        &[NAME],
        days_ago(800),
        days_ago(5),
    );
    for order in [
        vec![short.clone(), long.clone(), expired.clone()],
        vec![expired, long, short],
    ] {
        let f = with_only(order);
        let d = row_of(&f, 16);
        assert_decision(&d, State::Compliant, "EvidenceValid", &["ip-review-long"]);
        assert_eq!(d.evidence.len(), 1);
        assert_eq!(d.evidence[0].name, "ip-review-long");
    }
}

#[test]
fn evidence_for_a_measure_covers_only_that_measure() {
    let mut f = Fixture::baseline();
    f.drop_evidence_for(Obligation::Measure(Measure::AdversarialDefense));
    f.evidence.push(evidence(
        "red-team-2026",
        &[],
        &[Measure::AdversarialDefense],
        &[NAME],
        days_ago(1),
        days_ago(-90),
    ));
    assert_decision(
        &measure_of(&f, Measure::AdversarialDefense),
        State::Compliant,
        "EvidenceValid",
        &["red-team-2026"],
    );
}
