//! Step 2, pure: whether inference is to be suspended, and the objects every control needs.

use k8s_openapi::jiff::Timestamp;

use super::dereference::Dereferenced;
use crate::api::ModelDeployment;
use crate::desired::{self, DesiredObjects};
use crate::evaluate::{self, Inputs};

pub struct Plan {
    pub suspend: bool,
    pub desired: DesiredObjects,
}

pub fn plan(inputs: &Dereferenced, deployment: &ModelDeployment, now: Timestamp) -> Plan {
    // Suspension answers an unacceptable risk; the objects this reconcile is about to apply
    // are no risk, so decide as if they were already in place.
    let mut projected = inputs.snapshot.clone();
    desired::overlay(
        &mut projected,
        deployment,
        &desired::desired(&inputs.policy, deployment, &inputs.snapshot, false, now),
    );
    let projected = evaluate::evaluate(Inputs {
        policy: &inputs.policy,
        deployment,
        evidence: &inputs.evidence,
        snapshot: &projected,
        now,
    });
    let suspend = evaluate::suspended(&inputs.policy, deployment, &projected);
    Plan {
        suspend,
        desired: desired::desired(&inputs.policy, deployment, &inputs.snapshot, suspend, now),
    }
}
