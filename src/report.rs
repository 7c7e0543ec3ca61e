//! `report`: the Annex A tables of the ModelDeployments in a cluster, read from the status the
//! operator wrote, their policies and the ComplianceEvidence objects, shown through the same
//! view as `check`.

use std::path::PathBuf;

use k8s_openapi::jiff::Timestamp;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::api::{ComplianceEvidence, CompliancePolicy, ModelDeployment};
use crate::check::exit;
use crate::i18n::{self, Msg};
use crate::view::{self, Document, Origin, dossier};

/// Which cluster and which objects.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `None` with `all_namespaces` false: the context's namespace.
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    /// Label selector of the ModelDeployments.
    pub selector: Option<String>,
}

/// What was read from the cluster.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    pub deployments: Vec<ModelDeployment>,
    pub policies: Vec<CompliancePolicy>,
    pub evidence: Vec<ComplianceEvidence>,
}

/// A client for the scope's kubeconfig and context, with the namespace to read (`None`: all).
pub async fn connect(scope: &Scope) -> anyhow::Result<(Client, String, Option<String>)> {
    let options = KubeConfigOptions {
        context: scope.context.clone(),
        ..Default::default()
    };
    let (config, context) = match (&scope.kubeconfig, &scope.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path)?;
            let context = scope
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone())
                .unwrap_or_default();
            (
                Config::from_custom_kubeconfig(kubeconfig, &options).await?,
                context,
            )
        }
        (None, Some(context)) => (Config::from_kubeconfig(&options).await?, context.clone()),
        (None, None) => {
            let context = Kubeconfig::read()
                .ok()
                .and_then(|k| k.current_context)
                .unwrap_or_else(|| "in-cluster".to_owned());
            (Config::infer().await?, context)
        }
    };
    let namespace = if scope.all_namespaces {
        None
    } else {
        Some(
            scope
                .namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    Ok((Client::try_from(config)?, context, namespace))
}

/// Lists the ModelDeployments (by selector), the policies they name and the evidence of
/// their namespaces.
pub async fn read(
    client: &Client,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> anyhow::Result<Objects> {
    let (deployments, evidence): (Api<ModelDeployment>, Api<ComplianceEvidence>) = match namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let mut by_selector = ListParams::default();
    if let Some(s) = selector {
        by_selector = by_selector.labels(s);
    }
    let deployments = deployments.list(&by_selector).await?.items;
    let evidence = evidence.list(&ListParams::default()).await?.items;
    let policies = Api::<CompliancePolicy>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    Ok(Objects {
        deployments,
        policies,
        evidence,
    })
}

/// The document of what was read.
pub fn document(objects: &Objects, origin: Origin, now: Timestamp, expiring_days: i64) -> Document {
    let mut problems = Vec::new();
    let mut views: Vec<_> = objects
        .deployments
        .iter()
        .map(|d| {
            let policy = objects
                .policies
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(d.spec.policy_ref.as_str()));
            if policy.is_none() {
                let name = format!(
                    "{}/{}",
                    d.metadata.namespace.as_deref().unwrap_or(""),
                    d.metadata.name.as_deref().unwrap_or("")
                );
                problems.push(i18n::english(
                    Msg::PolicyMissing,
                    &[("name", &name), ("policy", &d.spec.policy_ref)],
                ));
            }
            view::deployment_view(d, policy, &objects.evidence, now, "cluster".to_owned())
        })
        .collect();
    views.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    // Evidence matters to the fleet only where it is for a deployment shown.
    let shown: Vec<ComplianceEvidence> = objects
        .evidence
        .iter()
        .filter(|e| {
            let ns = e.metadata.namespace.as_deref().unwrap_or("default");
            views
                .iter()
                .any(|d| d.namespace == ns && e.spec.targets.contains(&d.name))
        })
        .cloned()
        .collect();
    Document::new(
        origin,
        now,
        expiring_days,
        views,
        view::expiring(&shown, now, expiring_days),
        problems,
    )
}

/// What `report` prints.
pub enum Output {
    /// The fleet and Annex A tables in a format.
    Tables(view::Options),
    /// The row-42 dossier of one deployment, Markdown or HTML.
    Dossier {
        name: String,
        html: bool,
        lang: crate::catalog::Lang,
    },
}

/// Reads the cluster and renders; returns standard output, errors and the exit code.
pub async fn run(
    client: &Client,
    origin: Origin,
    output: &Output,
    now: Timestamp,
    expiring_days: i64,
) -> (String, Vec<String>, u8) {
    let (namespace, selector) = match &origin {
        Origin::Cluster {
            namespace,
            selector,
            ..
        } => (namespace.clone(), selector.clone()),
        Origin::Manifests { .. } => (None, None),
    };
    let objects = match read(client, namespace.as_deref(), selector.as_deref()).await {
        Ok(o) => o,
        Err(e) => {
            return (
                String::new(),
                vec![format!("error: cannot read from the cluster: {e}")],
                exit::INPUT,
            );
        }
    };
    let doc = document(&objects, origin, now, expiring_days);
    let errors: Vec<String> = doc
        .fleet
        .problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect();
    let code = if !doc.fleet.problems.is_empty() {
        exit::INPUT
    } else if !doc.fleet.acceptable() {
        exit::UNACCEPTABLE
    } else {
        exit::OK
    };
    match output {
        Output::Tables(options) => (view::render(&doc, options), errors, code),
        Output::Dossier { name, html, lang } => {
            let (ns, name) = match name.split_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (namespace.as_deref(), name.as_str()),
            };
            let found = objects.deployments.iter().find(|d| {
                d.metadata.name.as_deref() == Some(name)
                    && ns.is_none_or(|ns| d.metadata.namespace.as_deref() == Some(ns))
            });
            let Some(deployment) = found else {
                return (
                    String::new(),
                    vec![format!(
                        "error: no ModelDeployment {name} in {}",
                        ns.unwrap_or("any namespace")
                    )],
                    exit::INPUT,
                );
            };
            let view = doc
                .deployments
                .iter()
                .find(|v| {
                    Some(v.name.as_str()) == deployment.metadata.name.as_deref()
                        && Some(v.namespace.as_str()) == deployment.metadata.namespace.as_deref()
                })
                .expect("every deployment read has a view");
            let policy = objects
                .policies
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(deployment.spec.policy_ref.as_str()));
            let dossier =
                dossier::Dossier::build(deployment, policy, &objects.evidence, view, now, *lang);
            let text = if *html {
                dossier.html()
            } else {
                dossier.markdown()
            };
            (text, errors, code)
        }
    }
}
