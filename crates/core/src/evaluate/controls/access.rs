//! 8.1a access control: who can read training data (RBAC), and proof by SubjectAccessReview
//! that inference cannot; and row 19, which rests on it, isolation and backups.

use std::collections::BTreeSet;

use k8s_openapi::api::rbac::v1::{PolicyRule, RoleBinding, RoleRef};

use super::pods::{pods_in, selected};
use super::{ControlFacts, missing_unless_enforced};
use crate::api::{AccessControl, InferenceEnvironment, Measure, TrainingEnvironment};
use crate::evaluate::{Ctx, Findings, Obligation, Outcome, State, applicability};
use crate::i18n::{Msg, msg};
use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};
use crate::snapshot::{NamespaceObjects, Snapshot};

/// Row 19: training data is protected by isolation, access control and backups.
pub(super) fn training_data_protected(ctx: &Ctx, facts: &ControlFacts) -> Outcome {
    // A measure the policy sets aside (with its remark) does not hold row 19 back.
    let parts = [
        (Measure::Isolation, "isolation", &facts.isolation),
        (Measure::AccessControl, "access control", &facts.access),
        (Measure::Backup, "backups", &facts.backup),
    ];
    let applying: Vec<(&str, &Outcome)> = parts
        .iter()
        .filter(|(m, _, _)| applicability(ctx, Obligation::Measure(*m)).0)
        .map(|(m, _, outcome)| (crate::catalog::measure_entry(*m).condition_type, *outcome))
        .collect();
    combine(&applying)
}

/// Row 19 rests on several measures: unmet if any is unmet, unknown if any is unknown. Its
/// message names the measures' conditions, which say what is missing: the status says it
/// once.
fn combine(parts: &[(&str, &Outcome)]) -> Outcome {
    let relevant: Vec<&(&str, &Outcome)> = parts
        .iter()
        .filter(|(_, o)| o.state != State::NotApplicable)
        .collect();
    if relevant.is_empty() {
        return Outcome::not_applicable("NoTrainingData", msg!(NoTrainingData));
    }
    let worst = |state: State| relevant.iter().filter(move |(_, o)| o.state == state);
    let describe = |items: Vec<&&(&str, &Outcome)>| {
        let conditions: Vec<&str> = items.into_iter().map(|(c, _)| *c).collect();
        msg!(SeeConditions, conditions = conditions.join(", "))
    };
    if let Some((_, first)) = worst(State::NonCompliant).next() {
        return Outcome::unmet(first.reason, describe(worst(State::NonCompliant).collect()));
    }
    if let Some((_, first)) = worst(State::Unknown).next() {
        return Outcome::unknown(first.reason, describe(worst(State::Unknown).collect()));
    }
    Outcome::met("ProtectionsInPlace", describe(relevant.iter().collect()))
}

pub(super) fn access_control(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let Some(training) = spec.training.as_ref() else {
        return Outcome::not_applicable("NoTrainingEnvironment", msg!(NoTrainingEnvironment));
    };
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let control = &ctx.policy().controls.access_control;
    let mut f = Findings::default();
    let uid = ctx.inputs.deployment.metadata.uid.as_deref();
    let bound = bindings(snapshot, training, control, uid, &mut f);
    readers_bound(control, &bound, live, &mut f);
    if let Some(inference) = spec.inference.as_ref() {
        access_reviews(snapshot, training, inference, &mut f);
    }
    f.passed(msg!(NoOtherBinding));
    f.outcome("AccessRestricted")
}

/// Flags every RoleBinding in the training namespace that grants training data to someone
/// other than a named reader or a training pod; returns the named readers found bound.
///
/// The bindings the operator made for other deployments (`uid` is this one's) are theirs:
/// they go when those deployments go, so this deployment's readers do not rest on them, and
/// they grant only those deployments' readers, so they are not over-broad either. A
/// deployment's decision therefore never reads them, and writing them wakes no other
/// deployment.
fn bindings(
    snapshot: &Snapshot,
    training: &TrainingEnvironment,
    control: &AccessControl,
    uid: Option<&str>,
    f: &mut Findings,
) -> BTreeSet<(String, String)> {
    let objects = snapshot.ns(&training.namespace);
    let training_accounts: BTreeSet<String> = selected(
        &pods_in(snapshot, &training.namespace),
        &training.pod_selector,
    )
    .iter()
    .map(|p| format!("{}/{}", training.namespace, p.service_account()))
    .collect();
    let mut bound_readers = BTreeSet::new();
    for binding in &objects.role_bindings {
        if made_for_another(binding, uid) || !grants_data(objects, &binding.role_ref) {
            continue;
        }
        let managed = is_managed(binding);
        let binding_name = binding.metadata.name.as_deref().unwrap_or("");
        for subject in binding.subjects.iter().flatten() {
            let ns = subject.namespace.as_deref();
            if is_reader(control, training, &subject.kind, &subject.name, ns) {
                bound_readers.insert((subject.kind.clone(), subject.name.clone()));
                continue;
            }
            let account = format!("{}/{}", ns.unwrap_or(&training.namespace), subject.name);
            if managed || (subject.kind == "ServiceAccount" && training_accounts.contains(&account))
            {
                continue;
            }
            f.problem(
                "OverBroadBinding",
                msg!(
                    OverBroadBinding,
                    binding = format!("{}/{binding_name}", training.namespace),
                    kind = subject.kind,
                    subject = subject.name
                ),
            );
        }
    }
    bound_readers
}

/// The operator's own bindings are the ones it creates for the named readers.
fn is_managed(binding: &RoleBinding) -> bool {
    binding
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY.0))
        .is_some_and(|v| v == MANAGED_BY.1)
}

/// Whether the operator made `binding` for a deployment other than the one of `uid`.
pub(crate) fn made_for_another(binding: &RoleBinding, uid: Option<&str>) -> bool {
    let labels = binding.metadata.labels.as_ref();
    is_managed(binding)
        && labels
            .and_then(|l| l.get(DEPLOYMENT_UID))
            .is_some_and(|owner| Some(owner.as_str()) != uid)
}

/// Whether the bound role reads volume claims or secrets.
fn grants_data(objects: &NamespaceObjects, role: &RoleRef) -> bool {
    match role.kind.as_str() {
        "Role" => objects
            .roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(&role.name))
            .is_some_and(|r| r.rules.iter().flatten().any(grants_data_read)),
        // The built-in roles that read volume claims or secrets (`view` reads claims).
        "ClusterRole" => matches!(
            role.name.as_str(),
            "cluster-admin" | "admin" | "edit" | "view"
        ),
        _ => false,
    }
}

fn grants_data_read(rule: &PolicyRule) -> bool {
    let any = |list: &Option<Vec<String>>, wanted: &[&str]| {
        list.as_ref()
            .is_some_and(|l| l.iter().any(|x| wanted.contains(&x.as_str())))
    };
    any(&rule.api_groups, &["", "*"])
        && any(&rule.resources, &["secrets", "persistentvolumeclaims", "*"])
        && any(&Some(rule.verbs.clone()), &["get", "list", "watch", "*"])
}

/// Whether a binding subject is one of the policy's readers; a service account without a
/// namespace is in the training namespace.
fn is_reader(
    control: &AccessControl,
    training: &TrainingEnvironment,
    kind: &str,
    name: &str,
    ns: Option<&str>,
) -> bool {
    control.readers.iter().any(|r| {
        r.kind.as_str() == kind
            && r.name == name
            && (kind != "ServiceAccount"
                || r.namespace.as_deref() == ns.or(Some(&training.namespace)))
    })
}

/// Every named reader has a binding to training data.
fn readers_bound(
    control: &AccessControl,
    bound: &BTreeSet<(String, String)>,
    live: bool,
    f: &mut Findings,
) {
    let unbound: Vec<String> = control
        .readers
        .iter()
        .filter(|r| !bound.contains(&(r.kind.as_str().to_owned(), r.name.clone())))
        .map(|r| format!("{} {}", r.kind.as_str(), r.name))
        .collect();
    if !unbound.is_empty() {
        let message = msg!(ReaderBindingMissing, readers = unbound.join(", "));
        missing_unless_enforced(
            f,
            control.mode,
            live,
            ("ReaderBindingMissing", message),
            ("PendingEnforcement", Msg::EnforceCreates),
        );
    } else if !control.readers.is_empty() {
        f.passed(msg!(ReadersBound, count = control.readers.len()));
    }
}

/// SubjectAccessReview answers show that no inference service account reads training data.
fn access_reviews(
    snapshot: &Snapshot,
    training: &TrainingEnvironment,
    inference: &InferenceEnvironment,
    f: &mut Findings,
) {
    let accounts: BTreeSet<String> = selected(
        &pods_in(snapshot, &inference.namespace),
        &inference.pod_selector,
    )
    .iter()
    .map(|p| format!("{}/{}", inference.namespace, p.service_account()))
    .collect();
    if !snapshot.is_live() {
        f.open("AccessReviewPending", msg!(AccessReviewOnlyLive));
        return;
    }
    for account in &accounts {
        let reviews: Vec<_> = snapshot
            .access_reviews
            .iter()
            .filter(|r| &r.service_account == account && r.namespace == training.namespace)
            .collect();
        if reviews.is_empty() {
            f.open(
                "AccessReviewPending",
                msg!(AccessReviewPending, account = account),
            );
        }
        for r in reviews.iter().filter(|r| r.allowed) {
            f.problem(
                "InferenceCanReadTrainingData",
                msg!(
                    InferenceCanRead,
                    account = account,
                    resource = r.resource,
                    namespace = r.namespace
                ),
            );
        }
    }
    if !accounts.is_empty() && !f.has_problems() {
        f.passed(msg!(AccessDenied, count = accounts.len()));
    }
}
