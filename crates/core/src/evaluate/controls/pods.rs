//! Pods as the controls see them, live or read from manifests.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::api::selector;
use crate::i18n::{Msg, english, msg};
use crate::snapshot::Snapshot;

/// A pod as the rules see it: a live Pod, or offline the template of a workload.
pub(super) struct PodView<'a> {
    pub origin: Origin<'a>,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub spec: &'a PodSpec,
    pub status: Option<&'a PodStatus>,
}

/// Where a pod comes from (`Pod ns/name`, or offline `Deployment ns/name`), written out only
/// when a message names it: every reconcile looks at every pod of its namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Origin<'a> {
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
}

impl std::fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

impl PodView<'_> {
    pub(super) fn service_account(&self) -> &str {
        self.spec
            .service_account_name
            .as_deref()
            .unwrap_or("default")
    }

    pub(super) fn claims(&self) -> impl Iterator<Item = &str> {
        self.spec.volumes.iter().flatten().filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str())
        })
    }

    pub(super) fn node(&self) -> Option<&str> {
        self.spec.node_name.as_deref()
    }

    pub(super) fn container_ready(&self, name: &str) -> bool {
        self.status
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.name == name && c.ready))
    }
}

/// Every pod (live) or pod template (offline) of a namespace.
pub(super) fn pods_in<'a>(snapshot: &'a Snapshot, namespace: &'a str) -> Vec<PodView<'a>> {
    let objects = snapshot.ns(namespace);
    if snapshot.is_live() {
        return objects
            .pods
            .iter()
            .filter_map(|p| {
                Some(PodView {
                    origin: Origin {
                        kind: Pod::KIND,
                        namespace,
                        name: p.metadata.name.as_deref()?,
                    },
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
            origin: Origin {
                kind: Deployment::KIND,
                namespace,
                name: w.metadata.name.as_deref()?,
            },
            labels: template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            spec: template.spec.as_ref()?,
            status: None,
        })
    });
    let stateful_sets = objects.stateful_sets.iter().filter_map(|w| {
        let template = &w.spec.as_ref()?.template;
        Some(PodView {
            origin: Origin {
                kind: StatefulSet::KIND,
                namespace,
                name: w.metadata.name.as_deref()?,
            },
            labels: template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            spec: template.spec.as_ref()?,
            status: None,
        })
    });
    deployments.chain(stateful_sets).collect()
}

/// The pods a label selector picks.
pub(super) fn selected<'p, 'a>(
    pods: &'p [PodView<'a>],
    pod_selector: &LabelSelector,
) -> Vec<&'p PodView<'a>> {
    pods.iter()
        .filter(|p| selector::matches(pod_selector, p.labels))
        .collect()
}

/// Where pods come from, for messages: the first four, then how many more.
pub(super) fn origins(pods: &[&PodView]) -> String {
    let names: Vec<String> = pods.iter().take(4).map(|p| p.origin.to_string()).collect();
    match pods.len() {
        0..=4 => names.join(", "),
        n => format!("{} {}", names.join(", "), msg!(AndMore, count = n - 4)),
    }
}

pub(super) fn no_pods(role: &str, namespace: &str, live: bool) -> String {
    let id = if live {
        Msg::NoPodsMatch
    } else {
        Msg::NoPodsMatchOffline
    };
    english(id, &[("namespace", &namespace), ("role", &role)])
}
