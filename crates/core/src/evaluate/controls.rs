//! Rows and measures decided from the observed snapshot: the controls the operator enforces
//! (isolation, access control, backups, sidecars, kill switch) and the cluster objects a
//! policy names. Offline, facts only a live cluster knows leave the decision Unknown.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodSpec, PodStatus};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Ctx, Findings, Obligation, Outcome, State, applicability, evidence, join, selector};
use crate::api::{EnforcementMode, Measure, RecurringJobCheck, WorkloadKind};
use crate::catalog::defaults as d;
use crate::snapshot::Snapshot;

use crate::labels::MANAGED_BY;

/// A pod as the rules see it: a live Pod, or offline the template of a workload.
pub(crate) struct PodView<'a> {
    pub origin: String,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub spec: &'a PodSpec,
    pub status: Option<&'a PodStatus>,
}

impl PodView<'_> {
    fn service_account(&self) -> &str {
        self.spec
            .service_account_name
            .as_deref()
            .unwrap_or("default")
    }

    fn claims(&self) -> impl Iterator<Item = &str> {
        self.spec.volumes.iter().flatten().filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str())
        })
    }

    fn node(&self) -> Option<&str> {
        self.spec.node_name.as_deref()
    }

    fn container_ready(&self, name: &str) -> bool {
        self.status
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.name == name && c.ready))
    }
}

/// Every pod (live) or pod template (offline) of a namespace.
pub(crate) fn pods_in<'a>(snapshot: &'a Snapshot, namespace: &str) -> Vec<PodView<'a>> {
    let objects = snapshot.ns(namespace);
    if snapshot.is_live() {
        return objects
            .pods
            .iter()
            .filter_map(|p| {
                Some(PodView {
                    origin: format!("Pod {namespace}/{}", p.metadata.name.as_deref()?),
                    labels: p.metadata.labels.as_ref(),
                    spec: p.spec.as_ref()?,
                    status: p.status.as_ref(),
                })
            })
            .collect();
    }
    let deployments = objects.apps_deployments.iter().filter_map(|w| {
        let template = &w.spec.as_ref()?.template;
        Some(PodView {
            origin: format!("Deployment {namespace}/{}", w.metadata.name.as_deref()?),
            labels: template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            spec: template.spec.as_ref()?,
            status: None,
        })
    });
    let stateful_sets = objects.stateful_sets.iter().filter_map(|w| {
        let template = &w.spec.as_ref()?.template;
        Some(PodView {
            origin: format!("StatefulSet {namespace}/{}", w.metadata.name.as_deref()?),
            labels: template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            spec: template.spec.as_ref()?,
            status: None,
        })
    });
    deployments.chain(stateful_sets).collect()
}

fn origins(pods: &[&PodView]) -> String {
    let names: Vec<&str> = pods.iter().map(|p| p.origin.as_str()).collect();
    if names.len() <= 4 {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..4].join(", "), names.len() - 4)
    }
}

/// Whether a Service's selector selects a pod.
fn selects(selector: &BTreeMap<String, String>, pod: &PodView) -> bool {
    selector
        .iter()
        .all(|(k, v)| pod.labels.and_then(|l| l.get(k)) == Some(v))
}

fn no_pods(role: &str, namespace: &str, live: bool) -> String {
    format!(
        "no {role} pods match the selector in namespace {namespace}{}",
        offline_hint(live)
    )
}

fn offline_hint(live: bool) -> &'static str {
    if live {
        ""
    } else {
        " (not in the manifests read)"
    }
}

/// Outcomes shared by several rows, computed once per evaluation.
pub(crate) struct ControlFacts {
    isolation: Outcome,
    access: Outcome,
    backup: Outcome,
    sidecar: Outcome,
}

impl ControlFacts {
    pub fn gather(ctx: &Ctx) -> Self {
        ControlFacts {
            isolation: isolation(ctx),
            access: access_control(ctx),
            backup: backup(ctx),
            sidecar: sidecar(ctx),
        }
    }
}

pub(crate) fn decide_row(ctx: &Ctx, facts: &ControlFacts, row: u8) -> Outcome {
    match row {
        2 => cluster_or_evidence(ctx, Obligation::Row(2), platform_monitoring(ctx)),
        19 => {
            // A measure the policy sets aside (with its remark) does not hold row 19 back.
            let parts = [
                (Measure::Isolation, "isolation", &facts.isolation),
                (Measure::AccessControl, "access control", &facts.access),
                (Measure::Backup, "backups", &facts.backup),
            ];
            let applying: Vec<(&str, &Outcome)> = parts
                .iter()
                .filter(|(m, _, _)| applicability(ctx, Obligation::Measure(*m)).0)
                .map(|(_, what, outcome)| (*what, *outcome))
                .collect();
            combine(&applying)
        }
        23 => safety_annotations(ctx, &facts.isolation),
        27 => prefixed("input-safety filter", &facts.sidecar),
        28 => {
            let check = ctx.policy().cluster_checks.safety_evaluation.as_ref();
            cluster_or_evidence(
                ctx,
                Obligation::Row(28),
                recurring_job(ctx, check, "safetyEvaluation"),
            )
        }
        37 => prefixed("labeling sidecar", &facts.sidecar),
        40 => kill_switch(ctx),
        _ => unreachable!("row {row} is not decided from the cluster"),
    }
}

pub(crate) fn decide_measure(ctx: &Ctx, facts: &ControlFacts, measure: Measure) -> Outcome {
    match measure {
        Measure::Isolation => facts.isolation.clone(),
        Measure::AccessControl => facts.access.clone(),
        Measure::ContentSafety => prefixed("sidecar", &facts.sidecar),
        Measure::Backup => facts.backup.clone(),
        Measure::CodeAudit => {
            let check = ctx.policy().cluster_checks.code_audit.as_ref();
            cluster_or_evidence(
                ctx,
                Obligation::Measure(Measure::CodeAudit),
                recurring_job(ctx, check, "codeAudit"),
            )
        }
        Measure::AdversarialDefense => evidence::require(ctx, Obligation::Measure(measure)),
    }
}

fn prefixed(what: &str, outcome: &Outcome) -> Outcome {
    Outcome {
        message: format!("{what}: {}", outcome.message),
        ..outcome.clone()
    }
}

/// Row 19 rests on several measures: unmet if any is unmet, unknown if any is unknown.
fn combine(parts: &[(&str, &Outcome)]) -> Outcome {
    let relevant: Vec<&(&str, &Outcome)> = parts
        .iter()
        .filter(|(_, o)| o.state != State::NotApplicable)
        .collect();
    if relevant.is_empty() {
        return Outcome::not_applicable(
            "NoTrainingData",
            "no training data is declared for this deployment",
        );
    }
    let worst = |state: State| relevant.iter().filter(move |(_, o)| o.state == state);
    let describe = |items: Vec<&&(&str, &Outcome)>| {
        join(
            items
                .into_iter()
                .map(|(w, o)| format!("{w}: {}", o.message)),
        )
    };
    if let Some((_, first)) = worst(State::NonCompliant).next() {
        return Outcome::unmet(first.reason, describe(worst(State::NonCompliant).collect()));
    }
    if let Some((_, first)) = worst(State::Unknown).next() {
        return Outcome::unknown(first.reason, describe(worst(State::Unknown).collect()));
    }
    Outcome::met("ProtectionsInPlace", describe(relevant.iter().collect()))
}

/// 8.1a isolation: network policies, shared volumes, service accounts and nodes.
fn isolation(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let (Some(training), Some(inference)) = (spec.training.as_ref(), spec.inference.as_ref())
    else {
        return Outcome::not_applicable(
            "SingleEnvironment",
            "training and inference are not both declared, so there is nothing to isolate",
        );
    };
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let control = &ctx.policy().controls.isolation;
    let training_all = pods_in(snapshot, &training.namespace);
    let inference_all;
    let inference_pods_src = if inference.namespace == training.namespace {
        &training_all
    } else {
        inference_all = pods_in(snapshot, &inference.namespace);
        &inference_all
    };
    let trainers: Vec<&PodView> = training_all
        .iter()
        .filter(|p| selector::matches(&training.pod_selector, p.labels))
        .collect();
    let servers: Vec<&PodView> = inference_pods_src
        .iter()
        .filter(|p| selector::matches(&inference.pod_selector, p.labels))
        .collect();
    let mut f = Findings::default();
    if trainers.is_empty() {
        f.open(
            "NoTrainingPods",
            no_pods("training", &training.namespace, live),
        );
    }
    if servers.is_empty() {
        f.open(
            "NoInferencePods",
            no_pods("inference", &inference.namespace, live),
        );
    }
    if let Some(both) = trainers
        .iter()
        .find(|t| servers.iter().any(|s| s.origin == t.origin))
    {
        f.problem(
            "SelectorsOverlap",
            format!(
                "{} matches both the training and the inference selector",
                both.origin
            ),
        );
    }

    if inference.namespace == training.namespace {
        let training_claims: BTreeSet<&str> = trainers
            .iter()
            .flat_map(|p| p.claims())
            .chain(training.data_volumes.iter().map(String::as_str))
            .collect();
        for server in &servers {
            let shared: Vec<&str> = server
                .claims()
                .filter(|c| training_claims.contains(c))
                .collect();
            if !shared.is_empty() {
                f.problem(
                    "SharedVolume",
                    format!(
                        "{} mounts training volume(s) {}",
                        server.origin,
                        shared.join(", ")
                    ),
                );
            }
        }
        let training_accounts: BTreeSet<&str> =
            trainers.iter().map(|p| p.service_account()).collect();
        let mut shared_accounts: Vec<&str> = servers
            .iter()
            .map(|p| p.service_account())
            .filter(|sa| training_accounts.contains(sa))
            .collect();
        shared_accounts.sort_unstable();
        shared_accounts.dedup();
        if !shared_accounts.is_empty() {
            f.problem(
                "SharedServiceAccount",
                format!(
                    "training and inference pods share service account(s) {}",
                    shared_accounts.join(", ")
                ),
            );
        }
    } else {
        // A claim can only be mounted in its own namespace; a declared training volume in the
        // inference namespace would be a copy under the same name.
        for server in &servers {
            let shared: Vec<&str> = server
                .claims()
                .filter(|c| training.data_volumes.iter().any(|v| v == c))
                .collect();
            if !shared.is_empty() {
                f.problem(
                    "SharedVolume",
                    format!(
                        "{} mounts claim(s) {} named as training data volumes",
                        server.origin,
                        shared.join(", ")
                    ),
                );
            }
        }
    }
    if control.require_separate_nodes {
        if live {
            let training_nodes: BTreeSet<&str> = trainers.iter().filter_map(|p| p.node()).collect();
            let mut shared: Vec<&str> = servers
                .iter()
                .filter_map(|p| p.node())
                .filter(|n| training_nodes.contains(n))
                .collect();
            shared.sort_unstable();
            shared.dedup();
            if !shared.is_empty() {
                f.problem(
                    "SharedNode",
                    format!(
                        "training and inference pods share node(s) {}",
                        shared.join(", ")
                    ),
                );
            }
        } else {
            f.open(
                "NodePlacementUnknown",
                "node placement is only known in the cluster",
            );
        }
    }

    if !trainers.is_empty() {
        let policies = &snapshot.ns(&training.namespace).network_policies;
        let allowed: BTreeSet<&str> = control
            .allowed_namespaces
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(training.namespace.as_str()))
            .collect();
        let mut unprotected = Vec::new();
        // Each policy selecting any training pod is judged once, however many pods it selects.
        let mut selecting: BTreeSet<usize> = BTreeSet::new();
        for trainer in &trainers {
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
        for i in selecting {
            let leaks = ingress_leaks(
                ctx,
                &policies[i],
                &training.namespace,
                &allowed,
                &trainers,
                &training_all,
            );
            for leak in leaks {
                f.problem("IngressTooBroad", leak);
            }
        }
        if !unprotected.is_empty() {
            let message = format!(
                "no NetworkPolicy restricts ingress to {}",
                origins(&unprotected)
            );
            if control.mode == EnforcementMode::Enforce && !live {
                f.open(
                    "PendingEnforcement",
                    format!("{message}; the operator creates it (Enforce mode)"),
                );
            } else {
                f.problem("NetworkPolicyMissing", message);
            }
        } else {
            f.passed(format!(
                "ingress to {} training pod(s) only from training peers and namespace(s) {}",
                trainers.len(),
                allowed.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if !f.has_problems() && !servers.is_empty() && !trainers.is_empty() {
        f.passed("no shared volumes or service accounts");
    }
    f.outcome("Isolated")
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
    training_ns: &str,
    allowed: &BTreeSet<&str>,
    trainers: &[&PodView],
    training_ns_pods: &[PodView],
) -> Vec<String> {
    let name = np.metadata.name.as_deref().unwrap_or("");
    let mut leaks = Vec::new();
    for rule in np
        .spec
        .as_ref()
        .and_then(|s| s.ingress.as_ref())
        .into_iter()
        .flatten()
    {
        let Some(peers) = rule.from.as_ref().filter(|p| !p.is_empty()) else {
            leaks.push(format!(
                "NetworkPolicy {training_ns}/{name} allows ingress from any source"
            ));
            continue;
        };
        for peer in peers {
            if let Some(block) = &peer.ip_block {
                leaks.push(format!(
                    "NetworkPolicy {training_ns}/{name} allows ingress from ipBlock {}",
                    block.cidr
                ));
                continue;
            }
            let namespaces: Vec<String> = match &peer.namespace_selector {
                None => vec![training_ns.to_owned()],
                Some(sel) => namespaces_matching(ctx, sel),
            };
            if peer
                .namespace_selector
                .as_ref()
                .is_some_and(selector::is_empty)
            {
                leaks.push(format!(
                    "NetworkPolicy {training_ns}/{name} allows ingress from every namespace"
                ));
                continue;
            }
            for ns in namespaces
                .iter()
                .filter(|ns| !allowed.contains(ns.as_str()))
            {
                leaks.push(format!(
                    "NetworkPolicy {training_ns}/{name} allows ingress from namespace {ns}"
                ));
            }
            if namespaces.iter().any(|ns| ns == training_ns) {
                let pod_selector = peer.pod_selector.clone().unwrap_or_default();
                let strangers: Vec<&PodView> = training_ns_pods
                    .iter()
                    .filter(|p| selector::matches(&pod_selector, p.labels))
                    .filter(|p| !trainers.iter().any(|t| t.origin == p.origin))
                    .collect();
                if !strangers.is_empty() {
                    leaks.push(format!(
                        "NetworkPolicy {training_ns}/{name} admits non-training pods {}",
                        origins(&strangers)
                    ));
                }
            }
        }
    }
    leaks
}

/// Namespaces a namespace selector picks among those known, with each namespace's
/// automatic `kubernetes.io/metadata.name` label.
fn namespaces_matching(
    ctx: &Ctx,
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) -> Vec<String> {
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

fn grants_data_read(rule: &PolicyRule) -> bool {
    let any = |list: &Option<Vec<String>>, wanted: &[&str]| {
        list.as_ref()
            .is_some_and(|l| l.iter().any(|x| wanted.contains(&x.as_str())))
    };
    any(&rule.api_groups, &["", "*"])
        && any(&rule.resources, &["secrets", "persistentvolumeclaims", "*"])
        && any(&Some(rule.verbs.clone()), &["get", "list", "watch", "*"])
}

/// 8.1a access control: who can read training data, and proof that inference cannot.
fn access_control(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let Some(training) = spec.training.as_ref() else {
        return Outcome::not_applicable(
            "NoTrainingEnvironment",
            "no training environment is declared",
        );
    };
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let control = &ctx.policy().controls.access_control;
    let objects = snapshot.ns(&training.namespace);
    let training_accounts: BTreeSet<String> = pods_in(snapshot, &training.namespace)
        .iter()
        .filter(|p| selector::matches(&training.pod_selector, p.labels))
        .map(|p| format!("{}/{}", training.namespace, p.service_account()))
        .collect();
    let is_reader = |kind: &str, name: &str, ns: Option<&str>| {
        control.readers.iter().any(|r| {
            r.kind.as_str() == kind
                && r.name == name
                && (kind != "ServiceAccount"
                    || r.namespace.as_deref() == ns.or(Some(&training.namespace)))
        })
    };
    let mut f = Findings::default();
    let mut bound_readers: BTreeSet<(String, String)> = BTreeSet::new();
    for binding in &objects.role_bindings {
        let managed = binding
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(MANAGED_BY.0))
            .is_some_and(|v| v == MANAGED_BY.1);
        let role = &binding.role_ref;
        let grants = match role.kind.as_str() {
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
        };
        if !grants {
            continue;
        }
        let binding_name = binding.metadata.name.as_deref().unwrap_or("");
        for subject in binding.subjects.iter().flatten() {
            let ns = subject.namespace.as_deref();
            if is_reader(&subject.kind, &subject.name, ns) {
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
                format!(
                    "RoleBinding {}/{binding_name} grants training data to {} {} who is not a named reader",
                    training.namespace, subject.kind, subject.name
                ),
            );
        }
    }
    let unbound: Vec<String> = control
        .readers
        .iter()
        .filter(|r| !bound_readers.contains(&(r.kind.as_str().to_owned(), r.name.clone())))
        .map(|r| format!("{} {}", r.kind.as_str(), r.name))
        .collect();
    if !unbound.is_empty() {
        let message = format!(
            "reader(s) {} have no RoleBinding to training data",
            unbound.join(", ")
        );
        if control.mode == EnforcementMode::Enforce && !live {
            f.open(
                "PendingEnforcement",
                format!("{message}; the operator creates it (Enforce mode)"),
            );
        } else {
            f.problem("ReaderBindingMissing", message);
        }
    } else if !control.readers.is_empty() {
        f.passed(format!("{} named reader(s) bound", control.readers.len()));
    }
    if let Some(inference) = spec.inference.as_ref() {
        let accounts: BTreeSet<String> = pods_in(snapshot, &inference.namespace)
            .iter()
            .filter(|p| selector::matches(&inference.pod_selector, p.labels))
            .map(|p| format!("{}/{}", inference.namespace, p.service_account()))
            .collect();
        if !live {
            f.open(
                "AccessReviewPending",
                "that inference service accounts cannot read training data is proven by SubjectAccessReview in the cluster",
            );
        } else {
            for account in &accounts {
                let reviews: Vec<_> = snapshot
                    .access_reviews
                    .iter()
                    .filter(|r| &r.service_account == account && r.namespace == training.namespace)
                    .collect();
                if reviews.is_empty() {
                    f.open(
                        "AccessReviewPending",
                        format!("no SubjectAccessReview answer yet for {account}"),
                    );
                }
                for r in reviews.iter().filter(|r| r.allowed) {
                    f.problem(
                        "InferenceCanReadTrainingData",
                        format!(
                            "inference service account {account} can read {} in namespace {}",
                            r.resource, r.namespace
                        ),
                    );
                }
            }
            if !accounts.is_empty() && !f.has_problems() {
                f.passed(format!(
                    "SubjectAccessReview denies {} inference service account(s)",
                    accounts.len()
                ));
            }
        }
    }
    f.passed("no other binding grants training data");
    f.outcome("AccessRestricted")
}

/// 8.1e backups: the newest ready snapshot of every declared volume is recent enough.
fn backup(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let mut volumes: Vec<(&str, &str)> = Vec::new();
    if let Some(t) = spec.training.as_ref() {
        volumes.extend(
            t.data_volumes
                .iter()
                .chain(&t.safety_annotation_volumes)
                .map(|v| (t.namespace.as_str(), v.as_str())),
        );
    }
    if let Some(i) = spec.inference.as_ref() {
        volumes.extend(
            i.model_volumes
                .iter()
                .map(|v| (i.namespace.as_str(), v.as_str())),
        );
    }
    if volumes.is_empty() {
        return Outcome::unmet(
            "NoVolumesDeclared",
            "declare training.dataVolumes or inference.modelVolumes so that they are backed up",
        );
    }
    let snapshot = ctx.snapshot();
    let max_hours = i64::from(
        ctx.policy()
            .controls
            .backup
            .max_age_hours
            .unwrap_or(d::BACKUP_MAX_AGE_HOURS),
    );
    let names = || {
        volumes
            .iter()
            .map(|(ns, v)| format!("{ns}/{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !snapshot.is_live() {
        return Outcome::unknown(
            "BackupAgeUnknown",
            format!(
                "the age of the newest backup of {} is only known in the cluster (max {max_hours} h)",
                names()
            ),
        );
    }
    let mut f = Findings::default();
    for (ns, volume) in &volumes {
        let newest = snapshot
            .ns(ns)
            .volume_snapshots
            .iter()
            .filter(|s| s.spec.source.persistent_volume_claim_name.as_deref() == Some(*volume))
            .filter(|s| s.status.as_ref().and_then(|st| st.ready_to_use) == Some(true))
            .filter_map(|s| {
                s.status
                    .as_ref()
                    .and_then(|st| st.creation_time.as_ref())
                    .or(s.metadata.creation_timestamp.as_ref())
                    .map(|t| t.0)
            })
            .max();
        match newest {
            None => f.problem(
                "NoBackup",
                format!("no ready VolumeSnapshot of {ns}/{volume}"),
            ),
            Some(t) => {
                let seconds = (ctx.now() - t).get_seconds();
                let hours = seconds / 3600;
                if seconds > max_hours * 3600 {
                    f.problem(
                        "BackupTooOld",
                        format!(
                            "newest backup of {ns}/{volume} is {hours} h old (max {max_hours} h)"
                        ),
                    );
                }
            }
        }
    }
    f.passed(format!(
        "every declared volume ({}) has a ready backup younger than {max_hours} h",
        names()
    ));
    f.outcome("BackupsCurrent")
}

/// Rows 27, 37 and 8.1b: the sidecar is in every inference pod and the Service goes through it.
fn sidecar(ctx: &Ctx) -> Outcome {
    let Some(inference) = ctx.spec().inference.as_ref() else {
        return Outcome::not_applicable(
            "NoInferenceEnvironment",
            "no inference environment is declared",
        );
    };
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let control = &ctx.policy().controls.sidecar;
    let name = control.name.as_deref().unwrap_or(d::SIDECAR_NAME);
    let image = control.image.as_deref().unwrap_or(d::SIDECAR_IMAGE);
    let port = control.port.unwrap_or(d::SIDECAR_PORT);
    let pods = pods_in(snapshot, &inference.namespace);
    let servers: Vec<&PodView> = pods
        .iter()
        .filter(|p| selector::matches(&inference.pod_selector, p.labels))
        .collect();
    let mut f = Findings::default();
    if servers.is_empty() {
        f.open(
            "NoInferencePods",
            no_pods("inference", &inference.namespace, live),
        );
    }
    for w in &inference.workloads {
        let objects = snapshot.ns(&inference.namespace);
        let found = match w.kind {
            WorkloadKind::Deployment => objects
                .apps_deployments
                .iter()
                .any(|o| o.metadata.name.as_deref() == Some(&w.name)),
            WorkloadKind::StatefulSet => objects
                .stateful_sets
                .iter()
                .any(|o| o.metadata.name.as_deref() == Some(&w.name)),
        };
        if !found {
            let message = format!(
                "{} {}/{} named in spec.inference.workloads does not exist",
                w.kind.as_str(),
                inference.namespace,
                w.name
            );
            if live {
                f.problem("WorkloadMissing", message)
            } else {
                f.open(
                    "WorkloadNotInManifests",
                    format!("{message} in the manifests read"),
                )
            }
        }
    }
    let mut missing = Vec::new();
    let mut sidecar_ports: BTreeSet<String> = BTreeSet::new();
    for pod in &servers {
        let Some(container) = pod.spec.containers.iter().find(|c| c.name == name) else {
            missing.push(*pod);
            continue;
        };
        sidecar_ports.extend(
            container
                .ports
                .iter()
                .flatten()
                .filter_map(|p| p.name.clone()),
        );
        if container.image.as_deref() != Some(image) {
            f.problem(
                "SidecarImageMismatch",
                format!(
                    "{} runs {name} image {} instead of {image}",
                    pod.origin,
                    container.image.as_deref().unwrap_or("(none)")
                ),
            );
        }
        if live && !pod.container_ready(name) {
            f.problem(
                "SidecarNotReady",
                format!("{name} is not ready in {}", pod.origin),
            );
        }
    }
    if !missing.is_empty() {
        let message = format!("{} lack(s) the {name} container", origins(&missing));
        if control.mode == EnforcementMode::Enforce && !live {
            f.open(
                "PendingInjection",
                format!("{message}; the operator injects it (Enforce mode)"),
            );
        } else {
            f.problem("SidecarMissing", message);
        }
    }
    if !live && !servers.is_empty() {
        f.open(
            "ReadinessUnknown",
            format!("readiness of {name} is only known in the cluster"),
        );
    }

    let services = &snapshot.ns(&inference.namespace).services;
    let routing: Vec<_> = match inference.service.as_deref() {
        Some(wanted) => {
            let found: Vec<_> = services
                .iter()
                .filter(|s| s.metadata.name.as_deref() == Some(wanted))
                .collect();
            for service in &found {
                let selects_servers = service
                    .spec
                    .as_ref()
                    .and_then(|sp| sp.selector.as_ref())
                    .is_some_and(|sel| servers.iter().any(|p| selects(sel, p)));
                if !selects_servers && !servers.is_empty() {
                    f.problem(
                        "ServiceSelectsOtherPods",
                        format!(
                            "Service {}/{wanted} does not select the inference pods",
                            inference.namespace
                        ),
                    );
                }
            }
            if found.is_empty() {
                let message = format!("Service {}/{wanted} does not exist", inference.namespace);
                if live {
                    f.problem("ServiceMissing", message)
                } else {
                    f.open(
                        "ServiceNotInManifests",
                        format!("{message} in the manifests read"),
                    )
                }
            }
            found
        }
        None => services
            .iter()
            .filter(|s| {
                let selector = s.spec.as_ref().and_then(|sp| sp.selector.as_ref());
                selector.is_some_and(|sel| servers.iter().any(|p| selects(sel, p)))
            })
            .collect(),
    };
    if routing.is_empty() && inference.service.is_none() {
        f.open(
            "NoService",
            format!(
                "no Service in namespace {} routes to the inference pods",
                inference.namespace
            ),
        );
    }
    for service in routing {
        let service_name = service.metadata.name.as_deref().unwrap_or("");
        for p in service
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
        {
            let through_sidecar = match &p.target_port {
                None => p.port == port,
                Some(IntOrString::Int(n)) => *n == port,
                Some(IntOrString::String(s)) => sidecar_ports.contains(s),
            };
            if !through_sidecar {
                let target = match &p.target_port {
                    None => p.port.to_string(),
                    Some(IntOrString::Int(n)) => n.to_string(),
                    Some(IntOrString::String(s)) => s.clone(),
                };
                f.problem(
                    "SidecarBypassed",
                    format!(
                        "Service {}/{service_name} port {} targets {target}, bypassing {name} on port {port}",
                        inference.namespace, p.port
                    ),
                );
            }
        }
    }
    if !servers.is_empty() {
        f.passed(format!(
            "{name} in {} inference pod(s), Service routed through port {port}",
            servers.len()
        ));
    }
    f.outcome("SidecarInPlace")
}

/// Row 23: only training pods mount safety-annotation data, and training is isolated.
fn safety_annotations(ctx: &Ctx, isolation: &Outcome) -> Outcome {
    let Some(training) = ctx.spec().training.as_ref() else {
        return Outcome::not_applicable(
            "NoTrainingEnvironment",
            "no training environment is declared",
        );
    };
    if training.safety_annotation_volumes.is_empty() {
        return Outcome::unmet(
            "VolumesNotDeclared",
            "spec.training.safetyAnnotationVolumes is empty: declare where safety-annotation data is stored",
        );
    }
    let mut f = Findings::default();
    for pod in pods_in(ctx.snapshot(), &training.namespace) {
        if selector::matches(&training.pod_selector, pod.labels) {
            continue;
        }
        let mounted: Vec<&str> = pod
            .claims()
            .filter(|c| training.safety_annotation_volumes.iter().any(|v| v == c))
            .collect();
        if !mounted.is_empty() {
            f.problem(
                "MountedOutsideTraining",
                format!(
                    "{} is not a training pod but mounts {}",
                    pod.origin,
                    mounted.join(", ")
                ),
            );
        }
    }
    match isolation.state {
        State::NonCompliant => f.problem(
            "TrainingNotIsolated",
            format!("training environment not isolated: {}", isolation.message),
        ),
        State::Unknown => f.open(isolation.reason, isolation.message.clone()),
        _ => {}
    }
    f.passed(format!(
        "{} mounted only by training pods",
        training.safety_annotation_volumes.join(", ")
    ));
    f.outcome("StoredInIsolation")
}

/// Row 40: the kill switch can cut inference ingress, and the procedure is attested.
fn kill_switch(ctx: &Ctx) -> Outcome {
    let spec = ctx.spec();
    let Some(inference) = spec.inference.as_ref() else {
        return Outcome::not_applicable(
            "NoInferenceEnvironment",
            "no inference environment is declared",
        );
    };
    let mut f = Findings::default();
    if selector::is_empty(&inference.pod_selector) {
        f.problem("SelectorEmpty", "spec.inference.podSelector is empty: the kill switch would cut every pod in the namespace");
    } else if spec.suspend {
        let snapshot = ctx.snapshot();
        let cut = snapshot
            .ns(&inference.namespace)
            .network_policies
            .iter()
            .any(|np| is_deny_all_for(np, &inference.pod_selector));
        match (cut, snapshot.is_live()) {
            (true, _) => f.passed("suspended: all ingress to the inference pods is denied"),
            (false, true) => f.problem("SuspendNotApplied", "spec.suspend is true but no deny-all NetworkPolicy covers the inference pods yet"),
            (false, false) => f.open("SuspendPending", "spec.suspend is true; the operator applies the deny-all NetworkPolicy in the cluster"),
        }
    } else {
        f.passed("kill switch armed: spec.suspend cuts ingress to the inference pods");
    }
    let evidence = evidence::require(ctx, Obligation::Row(40));
    let refs = evidence.evidence.clone();
    match evidence.state {
        State::Compliant => f.passed(format!("procedure {}", evidence.message)),
        _ => f.problem(evidence.reason, format!("procedure: {}", evidence.message)),
    }
    f.outcome("KillSwitchReady").with_evidence(refs)
}

fn is_deny_all_for(
    np: &NetworkPolicy,
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) -> bool {
    np.spec.as_ref().is_some_and(|s| {
        s.pod_selector.as_ref() == Some(selector)
            && s.policy_types
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "Ingress"))
            && s.ingress.as_ref().is_none_or(|i| i.is_empty())
    })
}

/// Row 2: the policy's platform-monitoring workloads exist and are ready.
fn platform_monitoring(ctx: &Ctx) -> Outcome {
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
        let objects = snapshot.ns(&w.namespace);
        let ready = match w.kind {
            WorkloadKind::Deployment => objects
                .apps_deployments
                .iter()
                .find(|o| o.metadata.name.as_deref() == Some(&w.name))
                .map(|o| {
                    o.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0)
                }),
            WorkloadKind::StatefulSet => objects
                .stateful_sets
                .iter()
                .find(|o| o.metadata.name.as_deref() == Some(&w.name))
                .map(|o| {
                    o.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0)
                }),
        };
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

/// Row 28 and 8.1c: a CronJob that succeeded recently.
fn recurring_job(ctx: &Ctx, check: Option<&RecurringJobCheck>, field: &str) -> Outcome {
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
fn cluster_or_evidence(ctx: &Ctx, id: Obligation, cluster: Outcome) -> Outcome {
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
