//! Row 40: the kill switch can cut inference ingress, and the procedure is attested.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::api::selector;
use crate::evaluate::{Ctx, Findings, Obligation, Outcome, State, evidence};
use crate::i18n::msg;

pub(super) fn kill_switch(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let Some(inference) = spec.inference.as_ref() else {
        return Outcome::not_applicable("NoInferenceEnvironment", msg!(NoInferenceEnvironment));
    };
    let mut f = Findings::default();
    if selector::is_empty(&inference.pod_selector) {
        f.problem("SelectorEmpty", msg!(SelectorEmpty));
    } else if spec.suspend {
        let snapshot = ctx.snapshot();
        let cut = snapshot
            .ns(&inference.namespace)
            .network_policies
            .iter()
            .any(|np| is_deny_all_for(np, &inference.pod_selector));
        match (cut, snapshot.is_live()) {
            (true, _) => f.passed(msg!(Suspended)),
            (false, true) => f.problem("SuspendNotApplied", msg!(SuspendNotApplied)),
            (false, false) => f.open("SuspendPending", msg!(SuspendPending)),
        }
    } else {
        f.passed(msg!(KillSwitchArmed));
    }
    let evidence = evidence::require(ctx, Obligation::Row(40));
    let refs = evidence.evidence.clone();
    match evidence.state {
        State::Compliant => f.passed(msg!(ProcedureAttested, evidence = evidence.message)),
        _ => f.problem(
            evidence.reason,
            msg!(ProcedureMissing, evidence = evidence.message),
        ),
    }
    f.outcome("KillSwitchReady").with_evidence(refs)
}

fn is_deny_all_for(np: &NetworkPolicy, selector: &LabelSelector) -> bool {
    np.spec.as_ref().is_some_and(|s| {
        s.pod_selector.as_ref() == Some(selector)
            && s.policy_types
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "Ingress"))
            && s.ingress.as_ref().is_none_or(|i| i.is_empty())
    })
}
