use super::testing::*;
use super::*;

#[test]
fn baseline_is_fully_compliant() {
    let eval = Fixture::baseline().evaluate();
    let open: Vec<&Decision> = eval.decisions.iter().filter(|d| d.state != State::Compliant).collect();
    assert!(open.is_empty(), "baseline decisions not Compliant:\n{}", describe(open));
    println!("{}", describe(&eval.decisions));
}
