//! The wake-up rules of `reach` against the evaluation itself: whenever adding or removing an
//! object changes a decision, the rule for its kind must say that it reaches the deployment.
//! The candidates include objects that do reach it, so the test cannot pass vacuously.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;

use super::*;
use crate::evaluate::reach;
use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};

const UID: &str = "chat-uid";

/// The baseline (with its uid), and variants whose pods or suspension make other objects
/// matter: a second group of trainers, and a suspended service.
fn fixtures() -> Vec<Fixture> {
    let mut base = Fixture::baseline();
    base.deployment.metadata.uid = Some(UID.into());
    let mut crowded = base.clone();
    let mut other = training_pod("other-trainer");
    other.metadata.labels = Some([("app".to_owned(), "etl".to_owned())].into());
    crowded.ns(TRAINING_NS).pods.push(other);
    let mut suspended = base.clone();
    suspended.spec().suspend = true;
    let mut unprotected = base.clone();
    unprotected.ns(TRAINING_NS).network_policies.clear();
    vec![base, crowded, suspended, unprotected]
}

fn decisions(f: &Fixture) -> Vec<(Obligation, State, &'static str, String)> {
    f.evaluate()
        .decisions
        .into_iter()
        .map(|d| (d.id, d.state, d.reason, d.message))
        .collect()
}

fn policies() -> Vec<(&'static str, NetworkPolicy)> {
    let deny = |ns: &str, labels: Value| {
        network_policy(
            ns,
            "deny",
            json!({ "podSelector": { "matchLabels": labels }, "policyTypes": ["Ingress"] }),
        )
    };
    let open = |ns: &str, selector: Value| {
        network_policy(
            ns,
            "open",
            json!({ "podSelector": selector, "policyTypes": ["Ingress"], "ingress": [{}] }),
        )
    };
    vec![
        (
            "open to the trainers",
            open(
                TRAINING_NS,
                json!({ "matchLabels": { "app": "llm-train" } }),
            ),
        ),
        (
            "open to every training-namespace pod",
            open(TRAINING_NS, json!({})),
        ),
        (
            "open to other pods",
            open(TRAINING_NS, json!({ "matchLabels": { "app": "etl" } })),
        ),
        (
            "open to pods that do not exist",
            open(TRAINING_NS, json!({ "matchLabels": { "app": "none" } })),
        ),
        (
            "deny-all of the inference pods",
            deny(INFERENCE_NS, json!({ "app": "llm-serve" })),
        ),
        (
            "deny-all of others in the serving namespace",
            deny(INFERENCE_NS, json!({ "app": "web" })),
        ),
        ("isolating the trainers", isolate_training()),
    ]
}

fn bindings() -> Vec<(&'static str, RoleBinding)> {
    let owned_by = |mut b: RoleBinding, uid: &str| {
        b.metadata.labels = Some(
            [
                (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
                (DEPLOYMENT_UID.to_owned(), uid.to_owned()),
            ]
            .into(),
        );
        b
    };
    let to = |name: &str, role: &str, who: &str| {
        role_binding(
            name,
            "Role",
            role,
            json!([{ "kind": "User", "name": who, "apiGroup": "rbac.authorization.k8s.io" }]),
        )
    };
    vec![
        (
            "the user's, to a stranger",
            to("extra", "training-data-reader", "mallory"),
        ),
        (
            "the user's, to a named reader",
            to("extra", "training-data-reader", "alice"),
        ),
        (
            "the operator's for this deployment",
            owned_by(to("mine", "training-data-reader", "mallory"), UID),
        ),
        (
            "the operator's for another deployment",
            owned_by(to("theirs", "training-data-reader", "alice"), "other-uid"),
        ),
        (
            "the operator's for another, to a stranger",
            owned_by(to("theirs", "training-data-reader", "mallory"), "other-uid"),
        ),
    ]
}

/// Whether adding `object` to a fixture (or removing it, when it is the fixture's own)
/// changes a decision.
fn changes<T: Clone>(
    f: &Fixture,
    list: impl Fn(&mut Fixture) -> &mut Vec<T>,
    object: &T,
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    let mut with = f.clone();
    let mut without = f.clone();
    list(&mut with).retain(|o| !same(o, object));
    list(&mut with).push(object.clone());
    list(&mut without).retain(|o| !same(o, object));
    decisions(&with) != decisions(&without)
}

/// Counts, over the candidates of one rule, those that changed a decision and those the rule
/// pruned; fails at once on a candidate that changed a decision the rule says it cannot reach.
#[derive(Default)]
struct Tally {
    reaching: usize,
    pruned: usize,
}

impl Tally {
    fn record(&mut self, what: &str, changed: bool, reaches: bool) {
        assert!(
            !changed || reaches,
            "{what}: changes a decision but is said not to reach it"
        );
        self.reaching += usize::from(changed);
        self.pruned += usize::from(!reaches);
    }

    /// Neither vacuous nor waking everything.
    fn check(self, reaching: usize, pruned: usize) {
        let Tally {
            reaching: r,
            pruned: p,
        } = self;
        assert!(r >= reaching, "the candidates change decisions ({r} did)");
        assert!(p >= pruned, "the rule wakes fewer than all ({p} pruned)");
    }
}

fn same_name<T: kube::Resource>(a: &T, b: &T) -> bool {
    a.meta().name == b.meta().name && a.meta().namespace == b.meta().namespace
}

#[test]
fn a_network_policy_that_changes_a_decision_reaches_the_deployment() {
    let mut tally = Tally::default();
    for f in fixtures() {
        for (what, np) in policies() {
            let ns = np.metadata.namespace.clone().unwrap();
            let ns_for: &str = &ns;
            let labels: Vec<_> = f
                .snapshot
                .ns(ns_for)
                .pods
                .iter()
                .map(|p| p.metadata.labels.as_ref())
                .collect();
            let selector = np
                .spec
                .as_ref()
                .unwrap()
                .pod_selector
                .clone()
                .unwrap_or_default();
            let reaches = reach::network_policy(&f.deployment.spec, ns_for, &selector, &labels);
            // Narrowed to the deployment's pods or to the policy's, the rule says the same.
            let own = reach::own_pods(&f.deployment.spec, ns_for, labels.iter().copied());
            let selected = reach::selected(&selector, labels.iter().copied());
            for (narrowed, pods) in [("own", &own), ("selected", &selected)] {
                assert_eq!(
                    reach::network_policy(&f.deployment.spec, ns_for, &selector, pods),
                    reaches,
                    "{what}: narrowed to the {narrowed} pods"
                );
            }
            let changed = changes(
                &f,
                |f| &mut f.snapshot.ns_mut(ns_for).network_policies,
                &np,
                same_name,
            );
            tally.record(what, changed, reaches);
        }
    }
    tally.check(4, 4);
}

#[test]
fn a_role_binding_that_changes_a_decision_reaches_the_deployment() {
    let mut tally = Tally::default();
    for f in fixtures() {
        for (what, binding) in bindings() {
            let reaches = reach::role_binding(&f.deployment.spec, Some(UID), TRAINING_NS, &binding);
            // The shortcut the controller takes: a binding that cannot reach others reaches no
            // deployment it was not made for.
            if !reach::role_binding_reaches_others(std::iter::once(&binding)) {
                assert!(
                    !reaches || crate::desired::owned_by(&binding.metadata, UID),
                    "{what}: reaches a deployment it was not made for"
                );
            }
            let changed = changes(
                &f,
                |f| &mut f.snapshot.ns_mut(TRAINING_NS).role_bindings,
                &binding,
                same_name,
            );
            tally.record(what, changed, reaches);
        }
        // Without its own binding, a deployment's reader is not bound by another's.
        let mut alone = f.clone();
        alone.ns(TRAINING_NS).role_bindings.clear();
        let (_, theirs) = &bindings()[3];
        assert!(!changes(
            &alone,
            |f| &mut f.snapshot.ns_mut(TRAINING_NS).role_bindings,
            theirs,
            same_name
        ));
    }
    tally.check(4, 4);
}

#[test]
fn a_role_reaches_the_deployment_only_through_a_binding_it_reads() {
    let reader = || {
        role(
            "training-data-reader",
            json!([{ "apiGroups": [""], "resources": ["secrets"], "verbs": ["get"] }]),
        )
    };
    let mut reaching = 0;
    for f in fixtures() {
        for (what, binding) in bindings() {
            let mut f = f.clone();
            f.ns(TRAINING_NS).role_bindings = vec![binding.clone()];
            let referring = [&binding];
            let reaches = reach::role(&f.deployment.spec, Some(UID), TRAINING_NS, &referring);
            let changed = changes(
                &f,
                |f| &mut f.snapshot.ns_mut(TRAINING_NS).roles,
                &reader(),
                same_name,
            );
            assert!(
                !changed || reaches,
                "the role bound by {what}: changes a decision but is said not to reach it"
            );
            reaching += usize::from(changed);
        }
        assert!(
            !reach::role(&f.deployment.spec, Some(UID), TRAINING_NS, &[]),
            "no binding names it"
        );
    }
    assert!(
        reaching >= 2,
        "the candidates change decisions ({reaching} did)"
    );
}

#[test]
fn a_pod_that_changes_a_decision_reaches_the_deployment() {
    let labelled = |ns: &str, name: &str, app: &str, claim: &str| {
        let mut p = pod(
            ns,
            name,
            json!({ "app": app }),
            json!({ "containers": [{ "name": "c", "image": "i" }],
                    "volumes": [{ "name": "v", "persistentVolumeClaim": { "claimName": claim } }] }),
            "node-a",
        );
        set_container_ready(&mut p, "c", true);
        p
    };
    let candidates = [
        (
            "a trainer",
            labelled(TRAINING_NS, "t", "llm-train", "training-data"),
        ),
        (
            "a stranger mounting training data",
            labelled(TRAINING_NS, "s", "etl", "safety-annotations"),
        ),
        (
            "a stranger next to the trainers",
            labelled(TRAINING_NS, "x", "etl", "scratch"),
        ),
        (
            "another deployment's trainer",
            labelled(TRAINING_NS, "o", "other-train", "other-data"),
        ),
        (
            "a server",
            labelled(INFERENCE_NS, "srv", "llm-serve", "model-weights"),
        ),
        (
            "a server mounting training data",
            labelled(INFERENCE_NS, "srv2", "llm-serve", "training-data"),
        ),
        (
            "another service's pod",
            labelled(INFERENCE_NS, "web", "web", "training-data"),
        ),
        (
            "a pod elsewhere",
            labelled("elsewhere", "e", "llm-serve", "training-data"),
        ),
    ];
    // Besides the fixtures, one whose trainers' policy lets the `etl` pods in: they are
    // strangers admitted next to the trainers.
    let mut variants = fixtures();
    let mut admitting = variants[0].clone();
    let mut open = isolate_training();
    open.spec.as_mut().unwrap().ingress.as_mut().unwrap()[0]
        .from
        .as_mut()
        .unwrap()
        .push(
            serde_json::from_value(json!({ "podSelector": { "matchLabels": { "app": "etl" } } }))
                .unwrap(),
        );
    admitting.ns(TRAINING_NS).network_policies = vec![open];
    variants.push(admitting);
    let mut tally = Tally::default();
    let mut admitted_strangers = 0;
    for f in variants {
        for (what, p) in &candidates {
            let ns = p.metadata.namespace.clone().unwrap();
            // As the controller's snapshot decides it: the peers of the policies that reach
            // the deployment through its own pods.
            let objects = f.snapshot.ns(&ns);
            let own = reach::own_pods(
                &f.deployment.spec,
                &ns,
                objects.pods.iter().map(|p| p.metadata.labels.as_ref()),
            );
            let reaching = objects.network_policies.iter().filter(|np| {
                let selector = np.spec.as_ref().and_then(|s| s.pod_selector.clone());
                reach::network_policy(&f.deployment.spec, &ns, &selector.unwrap_or_default(), &own)
            });
            let peers = reach::peers_of(reaching, &ns, objects.namespace.as_ref());
            let labels = p.metadata.labels.as_ref();
            let admitted = reach::admitted(&peers, labels);
            let claims = p
                .spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .filter_map(|v| v.persistent_volume_claim.as_ref())
                .map(|c| c.claim_name.as_str());
            let reaches = reach::pod(&f.deployment.spec, &ns, labels, claims, admitted);
            let changed = changes(&f, |f| &mut f.snapshot.ns_mut(&ns).pods, p, same_name);
            admitted_strangers +=
                usize::from(admitted && changed && *what == "a stranger next to the trainers");
            tally.record(what, changed, reaches);
        }
    }
    assert!(
        admitted_strangers > 0,
        "a stranger let in changes a decision and reaches"
    );
    tally.check(4, 4);
}

#[test]
fn a_volume_snapshot_that_changes_a_decision_reaches_the_deployment() {
    use crate::evaluate::testing::volume_snapshot;
    let owned_by = |mut s: crate::snapshot::VolumeSnapshot, uid: &str| {
        s.metadata.name = Some(format!("{}-{uid}", s.metadata.name.unwrap_or_default()));
        s.metadata.labels = Some([(DEPLOYMENT_UID.to_owned(), uid.to_owned())].into());
        s
    };
    let fresh = hours_ago(1);
    let candidates = [
        (
            "a ready backup of the training data",
            volume_snapshot(TRAINING_NS, "training-data", fresh, true),
        ),
        (
            "a backup of the training data not ready yet",
            volume_snapshot(TRAINING_NS, "training-data", fresh, false),
        ),
        (
            "a ready backup of the model",
            volume_snapshot(INFERENCE_NS, "model-weights", fresh, true),
        ),
        (
            "a ready backup of a claim not declared",
            volume_snapshot(TRAINING_NS, "scratch", fresh, true),
        ),
        (
            "a ready backup taken for another deployment",
            owned_by(
                volume_snapshot(TRAINING_NS, "training-data", fresh, true),
                "other-uid",
            ),
        ),
        (
            "another deployment's backup not ready yet",
            owned_by(
                volume_snapshot(TRAINING_NS, "training-data", fresh, false),
                "other-uid",
            ),
        ),
        (
            "a ready backup elsewhere",
            volume_snapshot("elsewhere", "training-data", fresh, true),
        ),
    ];
    // Besides the fixtures, ones whose backups are too old or missing, where a new one
    // decides the row.
    let mut variants = fixtures();
    for f in fixtures() {
        let mut stale = f.clone();
        for ns in [TRAINING_NS, INFERENCE_NS] {
            for s in &mut stale.ns(ns).volume_snapshots {
                *s = volume_snapshot(
                    ns,
                    s.spec
                        .source
                        .persistent_volume_claim_name
                        .as_deref()
                        .unwrap(),
                    hours_ago(200),
                    true,
                );
            }
        }
        let mut none = f.clone();
        none.ns(TRAINING_NS).volume_snapshots.clear();
        none.ns(INFERENCE_NS).volume_snapshots.clear();
        variants.extend([stale, none]);
    }
    let mut tally = Tally::default();
    for f in variants {
        for (what, s) in &candidates {
            let ns = s.metadata.namespace.clone().unwrap();
            let reaches = reach::volume_snapshot(&f.deployment.spec, Some(UID), &ns, s);
            // What the controller's snapshot keeps: the deployment's own (found by their
            // label) and, of the rest, the ready backups of its volumes: the same ones.
            let own = crate::desired::owned_by(&s.metadata, UID);
            let declared = s
                .spec
                .source
                .persistent_volume_claim_name
                .as_deref()
                .is_some_and(|claim| {
                    crate::backups::declared_volumes(&f.deployment.spec)
                        .contains(&(ns.as_str(), claim))
                });
            assert_eq!(
                reaches,
                (own && declared) || reach::ready_backup(&f.deployment.spec, &ns, s),
                "{what}"
            );
            // The shortcut the controller takes: a snapshot that cannot reach others reaches
            // no deployment it was not taken for.
            if !reach::volume_snapshot_reaches_others(std::iter::once(s)) {
                assert!(
                    !reaches || crate::desired::owned_by(&s.metadata, UID),
                    "{what}: reaches a deployment it was not taken for"
                );
            }
            let changed = changes(
                &f,
                |f| &mut f.snapshot.ns_mut(&ns).volume_snapshots,
                s,
                same_name,
            );
            tally.record(what, changed, reaches);
        }
    }
    tally.check(4, 4);
}
