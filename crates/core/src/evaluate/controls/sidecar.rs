//! Rows 27, 37 and 8.1b: the labeling and input-safety sidecar is in every inference pod and
//! the inference Service goes through it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::missing_unless_enforced;
use super::pods::{PodView, no_pods, origins, pods_in, selected};
use crate::api::{EnforcementMode, InferenceEnvironment, WorkloadKind};
use crate::catalog::defaults as d;
use crate::evaluate::{Ctx, Findings, Outcome};
use crate::i18n::{Msg, msg};
use crate::snapshot::Snapshot;

/// The sidecar the policy asks for.
struct Wanted<'a> {
    name: &'a str,
    image: &'a str,
    port: i32,
}

pub(super) fn sidecar(ctx: &Ctx) -> Outcome {
    let Some(inference) = ctx.spec().inference.as_ref() else {
        return Outcome::not_applicable("NoInferenceEnvironment", msg!(NoInferenceEnvironment));
    };
    let snapshot = ctx.snapshot();
    let live = snapshot.is_live();
    let control = &ctx.policy().controls.sidecar;
    let wanted = Wanted {
        name: control.name.as_deref().unwrap_or(d::SIDECAR_NAME),
        image: control.image.as_deref().unwrap_or(d::SIDECAR_IMAGE),
        port: control.port.unwrap_or(d::SIDECAR_PORT),
    };
    let pods = pods_in(snapshot, &inference.namespace);
    let servers = selected(&pods, &inference.pod_selector);
    let mut f = Findings::default();
    if servers.is_empty() {
        f.open(
            "NoInferencePods",
            no_pods("inference", &inference.namespace, live),
        );
    }
    workloads_exist(snapshot, inference, &mut f);
    let injectable = ctx.spec().service.provider.is_some();
    let sidecar_ports = containers(&servers, &wanted, (control.mode, injectable), live, &mut f);
    if !live && !servers.is_empty() {
        f.open(
            "ReadinessUnknown",
            msg!(ReadinessOnlyLive, object = wanted.name),
        );
    }
    for service in routing(snapshot, inference, &servers, &mut f) {
        not_bypassed(
            service,
            &inference.namespace,
            &wanted,
            &sidecar_ports,
            &mut f,
        );
    }
    if !servers.is_empty() {
        f.passed(msg!(
            SidecarInPlace,
            sidecar = wanted.name,
            port = wanted.port
        ));
    }
    f.outcome("SidecarInPlace")
}

/// The workloads named in `spec.inference.workloads` exist.
fn workloads_exist(snapshot: &Snapshot, inference: &InferenceEnvironment, f: &mut Findings) {
    let objects = snapshot.ns(&inference.namespace);
    for w in &inference.workloads {
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
        if found {
            continue;
        }
        let workload = format!("{} {}/{}", w.kind.as_str(), inference.namespace, w.name);
        if snapshot.is_live() {
            f.problem(
                "WorkloadMissing",
                msg!(WorkloadMissing, workload = workload),
            )
        } else {
            f.open(
                "WorkloadNotInManifests",
                msg!(WorkloadMissingOffline, workload = workload),
            )
        }
    }
}

/// Every inference pod runs the wanted sidecar, ready; returns the names of its ports, which a
/// Service may target instead of the number. Live pods come and go under generated names, so
/// they are counted, not named: a status changes when a decision does, not when a pod does.
fn containers(
    servers: &[&PodView],
    wanted: &Wanted,
    (mode, injectable): (EnforcementMode, bool),
    live: bool,
    f: &mut Findings,
) -> BTreeSet<String> {
    let name = wanted.name;
    let total = servers.len();
    let mut missing = Vec::new();
    let mut not_ready = 0;
    let mut other_images: BTreeMap<&str, Vec<&PodView>> = BTreeMap::new();
    let mut sidecar_ports = BTreeSet::new();
    for pod in servers {
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
        let image = container.image.as_deref().unwrap_or("(none)");
        if image != wanted.image {
            other_images.entry(image).or_default().push(*pod);
        }
        if live && !pod.container_ready(name) {
            not_ready += 1;
        }
    }
    let which = |pods: &[&PodView]| {
        if live {
            msg!(PodsOfTotal, count = pods.len(), total = total)
        } else {
            origins(pods)
        }
    };
    for (image, pods) in &other_images {
        f.problem(
            "SidecarImageMismatch",
            msg!(
                SidecarImageMismatch,
                pods = which(pods),
                sidecar = name,
                image = image,
                wanted = wanted.image
            ),
        );
    }
    if not_ready > 0 {
        f.problem(
            "SidecarNotReady",
            msg!(
                SidecarNotReady,
                sidecar = name,
                count = not_ready,
                total = total
            ),
        );
    }
    if !missing.is_empty() {
        let message = msg!(SidecarMissing, pods = which(&missing), sidecar = name);
        if mode == EnforcementMode::Enforce && !injectable {
            f.problem("ProviderMissing", msg!(ProviderMissing, message = message));
            return sidecar_ports;
        }
        missing_unless_enforced(
            f,
            mode,
            live,
            ("SidecarMissing", message),
            ("PendingInjection", Msg::EnforceInjects),
        );
    }
    sidecar_ports
}

/// The Services that route to the inference pods: the one named in `spec.inference.service`,
/// or else every Service selecting an inference pod.
fn routing<'s>(
    snapshot: &'s Snapshot,
    inference: &InferenceEnvironment,
    servers: &[&PodView],
    f: &mut Findings,
) -> Vec<&'s Service> {
    let services = &snapshot.ns(&inference.namespace).services;
    let Some(wanted) = inference.service.as_deref() else {
        let routing: Vec<&Service> = services
            .iter()
            .filter(|s| {
                let selector = s.spec.as_ref().and_then(|sp| sp.selector.as_ref());
                selector.is_some_and(|sel| servers.iter().any(|p| selects(sel, p)))
            })
            .collect();
        if routing.is_empty() {
            f.open(
                "NoService",
                msg!(NoService, namespace = inference.namespace),
            );
        }
        return routing;
    };
    let found: Vec<&Service> = services
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
                msg!(
                    ServiceSelectsOtherPods,
                    service = format!("{}/{wanted}", inference.namespace)
                ),
            );
        }
    }
    if found.is_empty() {
        let service = format!("Service {}/{wanted}", inference.namespace);
        if snapshot.is_live() {
            f.problem("ServiceMissing", msg!(ObjectMissing, object = service))
        } else {
            f.open(
                "ServiceNotInManifests",
                msg!(ObjectMissingOffline, object = service),
            )
        }
    }
    found
}

/// Whether a Service's selector selects a pod.
fn selects(selector: &BTreeMap<String, String>, pod: &PodView) -> bool {
    selector
        .iter()
        .all(|(k, v)| pod.labels.and_then(|l| l.get(k)) == Some(v))
}

/// Every port of a routing Service targets the sidecar, by number or by one of its port names.
fn not_bypassed(
    service: &Service,
    namespace: &str,
    wanted: &Wanted,
    sidecar_ports: &BTreeSet<String>,
    f: &mut Findings,
) {
    let service_name = service.metadata.name.as_deref().unwrap_or("");
    let port = wanted.port;
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
        if through_sidecar {
            continue;
        }
        let target = match &p.target_port {
            None => p.port.to_string(),
            Some(IntOrString::Int(n)) => n.to_string(),
            Some(IntOrString::String(s)) => s.clone(),
        };
        f.problem(
            "SidecarBypassed",
            msg!(
                SidecarBypassed,
                service = format!("{namespace}/{service_name}"),
                port = p.port,
                target = target,
                sidecar = wanted.name,
                sidecar_port = port
            ),
        );
    }
}
