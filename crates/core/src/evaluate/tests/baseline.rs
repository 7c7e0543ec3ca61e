//! The fully compliant baseline, live and offline.

use super::*;

#[test]
fn baseline_is_fully_compliant() {
    let eval = Fixture::baseline().evaluate();
    let open: Vec<&Decision> = eval
        .decisions
        .iter()
        .filter(|d| d.state != State::Compliant)
        .collect();
    assert!(
        open.is_empty(),
        "baseline decisions not Compliant:\n{}",
        describe(open)
    );
    assert_eq!(eval.decisions.len(), 48);
    assert_eq!(
        eval.summary,
        Summary {
            applicable: 42,
            compliant: 42,
            non_compliant: 0,
            not_applicable: 0,
            excepted: 0,
            unknown: 0
        }
    );
    assert_eq!(eval.summary.ratio(), "42/42");
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    assert!(eval.findings.is_empty());
}

#[test]
fn baseline_decisions_are_in_table_order_then_measures() {
    let eval = Fixture::baseline().evaluate();
    let ids: Vec<Obligation> = eval.decisions.iter().map(|d| d.id).collect();
    let mut expected: Vec<Obligation> = (1..=42).map(Obligation::Row).collect();
    expected.extend(Measure::ALL.iter().map(|m| Obligation::Measure(*m)));
    assert_eq!(ids, expected);
    assert_eq!(
        eval.row(37).id.condition_type(),
        "A37-GeneratedContentLabeled"
    );
    assert_eq!(eval.measure(Measure::Backup).id.label(), "8.1e");
}

#[test]
fn baseline_evidence_rows_name_the_evidence_relied_on() {
    let eval = Fixture::baseline().evaluate();
    let mut ids: Vec<Obligation> = EVIDENCE_ROWS.iter().map(|n| Obligation::Row(*n)).collect();
    ids.push(Obligation::Measure(Measure::AdversarialDefense));
    for id in ids {
        let d = eval.decision(id).unwrap();
        assert_eq!(d.state, State::Compliant, "{}", describe([d]));
        assert_eq!(
            d.evidence,
            vec![EvidenceRef {
                name: BASELINE_EVIDENCE.into(),
                valid_until: "2027-10-01".into()
            }],
            "{id}"
        );
        assert!(d.message.contains(BASELINE_EVIDENCE), "{}", describe([d]));
    }
}

#[test]
fn baseline_read_offline_has_no_unmet_row_and_tolerates_unknowns() {
    let eval = Fixture::offline().evaluate();
    let unmet: Vec<&Decision> = eval
        .decisions
        .iter()
        .filter(|d| d.state == State::NonCompliant)
        .collect();
    assert!(
        unmet.is_empty(),
        "offline baseline has unmet decisions:\n{}",
        describe(unmet)
    );
    assert!(eval.summary.unknown > 0);
    assert_eq!(eval.risk, RiskLevel::None);
    assert!(eval.acceptable);
    // Unknown decisions are open findings even though they do not raise the risk.
    assert!(
        eval.findings
            .contains(&Obligation::Measure(Measure::Backup))
    );
}
