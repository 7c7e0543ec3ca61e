//! NetworkPolicies admit to training pods only training peers and the allowed namespaces.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::Sides;
use crate::api::{IsolationControl, selector};
use crate::evaluate::controls::missing_unless_enforced;
use crate::evaluate::controls::pods::{PodView, origins};
use crate::evaluate::{Ctx, Findings};
use crate::i18n::{Msg, msg};

pub(super) fn check(ctx: &Ctx, sides: &Sides, control: &IsolationControl, f: &mut Findings) {
    if sides.trainers.is_empty() {
        return;
    }
    let training_ns = sides.training.namespace.as_str();
    let policies = &ctx.snapshot().ns(training_ns).network_policies;
    let allowed: BTreeSet<&str> = control
        .allowed_namespaces
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(training_ns))
        .collect();
    let (selecting, unprotected) = coverage(policies, &sides.trainers);
    // Each policy selecting any training pod is judged once, however many pods it selects.
    for i in selecting {
        for leak in ingress_leaks(ctx, &policies[i], sides, &allowed) {
            f.problem("IngressTooBroad", leak);
        }
    }
    if !unprotected.is_empty() {
        let message = msg!(NetworkPolicyMissing, pods = origins(&unprotected));
        missing_unless_enforced(
            f,
            control.mode,
            sides.live,
            ("NetworkPolicyMissing", message),
            ("PendingEnforcement", Msg::EnforceCreates),
        );
    } else {
        f.passed(msg!(
            IngressRestricted,
            count = sides.trainers.len(),
            namespaces = allowed.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
}

/// The policies (by index) that restrict ingress to some training pod, and the training pods
/// no policy restricts.
fn coverage<'p, 'a>(
    policies: &[NetworkPolicy],
    trainers: &[&'p PodView<'a>],
) -> (BTreeSet<usize>, Vec<&'p PodView<'a>>) {
    let mut selecting = BTreeSet::new();
    let mut unprotected = Vec::new();
    for trainer in trainers {
        let mut isolated = false;
        for (i, np) in policies.iter().enumerate() {
            if isolates_ingress(np, trainer) {
                selecting.insert(i);
                isolated = true;
            }
        }
        if !isolated {
            unprotected.push(*trainer);
        }
    }
    (selecting, unprotected)
}

fn isolates_ingress(np: &NetworkPolicy, pod: &PodView) -> bool {
    let Some(spec) = np.spec.as_ref() else {
        return false;
    };
    let ingress_type = spec
        .policy_types
        .as_ref()
        .is_none_or(|t| t.is_empty() || t.iter().any(|t| t == "Ingress"));
    ingress_type && selector::matches(&spec.pod_selector.clone().unwrap_or_default(), pod.labels)
}

/// Ways a NetworkPolicy lets other than training peers and allowed namespaces in.
fn ingress_leaks(
    ctx: &Ctx,
    np: &NetworkPolicy,
    sides: &Sides,
    allowed: &BTreeSet<&str>,
) -> Vec<String> {
    let policy = format!(
        "NetworkPolicy {}/{}",
        sides.training.namespace,
        np.metadata.name.as_deref().unwrap_or("")
    );
    let mut leaks = Vec::new();
    for rule in np
        .spec
        .as_ref()
        .and_then(|s| s.ingress.as_ref())
        .into_iter()
        .flatten()
    {
        let Some(peers) = rule.from.as_ref().filter(|p| !p.is_empty()) else {
            leaks.push(msg!(IngressFromAnySource, policy = policy));
            continue;
        };
        for peer in peers {
            peer_leaks(ctx, &policy, peer, sides, allowed, &mut leaks);
        }
    }
    leaks
}

/// Ways one `from` peer of an ingress rule of `policy` lets strangers in.
fn peer_leaks(
    ctx: &Ctx,
    policy: &str,
    peer: &NetworkPolicyPeer,
    sides: &Sides,
    allowed: &BTreeSet<&str>,
    leaks: &mut Vec<String>,
) {
    let training_ns = sides.training.namespace.as_str();
    if let Some(block) = &peer.ip_block {
        leaks.push(msg!(IngressFromIpBlock, policy = policy, cidr = block.cidr));
        return;
    }
    if peer
        .namespace_selector
        .as_ref()
        .is_some_and(selector::is_empty)
    {
        leaks.push(msg!(IngressFromEveryNamespace, policy = policy));
        return;
    }
    let namespaces: Vec<String> = match &peer.namespace_selector {
        None => vec![training_ns.to_owned()],
        Some(sel) => namespaces_matching(ctx, sel),
    };
    for ns in namespaces
        .iter()
        .filter(|ns| !allowed.contains(ns.as_str()))
    {
        leaks.push(msg!(IngressFromNamespace, policy = policy, namespace = ns));
    }
    if namespaces.iter().any(|ns| ns == training_ns) {
        let pod_selector = peer.pod_selector.clone().unwrap_or_default();
        let strangers: Vec<&PodView> = sides
            .training_ns_pods
            .iter()
            .filter(|p| selector::matches(&pod_selector, p.labels))
            .filter(|p| !sides.trainers.iter().any(|t| t.origin == p.origin))
            .collect();
        if !strangers.is_empty() {
            leaks.push(msg!(
                IngressFromStrangers,
                policy = policy,
                pods = origins(&strangers)
            ));
        }
    }
}

/// Namespaces a namespace selector picks among those known, with each namespace's
/// automatic `kubernetes.io/metadata.name` label.
fn namespaces_matching(ctx: &Ctx, sel: &LabelSelector) -> Vec<String> {
    let spec = ctx.spec();
    let mut known: BTreeSet<&str> = ctx
        .snapshot()
        .namespaces
        .keys()
        .map(String::as_str)
        .collect();
    known.extend(spec.training.iter().map(|t| t.namespace.as_str()));
    known.extend(spec.inference.iter().map(|i| i.namespace.as_str()));
    known
        .into_iter()
        .filter(|ns| {
            let mut labels = ctx
                .snapshot()
                .ns(ns)
                .namespace
                .as_ref()
                .and_then(|n| n.metadata.labels.clone())
                .unwrap_or_default();
            labels.insert("kubernetes.io/metadata.name".into(), ns.to_string());
            selector::matches(sel, Some(&labels))
        })
        .map(str::to_owned)
        .collect()
}
