//! The sidecar control (rows 27, 37; 8.1b): the labeler's container entry and the volumes it
//! mounts, applied into each inference workload under a field manager of their own, and the
//! labeling key Secret they mount.
//!
//! Only those entries are written: a GitOps tool that owns the rest of the workload never
//! fights the operator, and giving them up (Audit mode, another policy, the ModelDeployment
//! deleted) is an apply of nothing under the same manager, which removes exactly them.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, HTTPGetAction,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, Secret, SecretVolumeSource,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::{ByteString, NamespaceResourceScope};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Control, OwnedKind, Release, Write, metadata, whole};
use crate::api::{
    CompliancePolicy, EnforcementMode, InferenceEnvironment, ModelDeployment, WorkloadKind,
};
use crate::catalog::defaults as d;
use crate::labels::{DEPLOYMENT_UID, KEY_ENTRY, SIDECAR_DIGEST, SIDECAR_FIELD_MANAGER};
use crate::snapshot::{NamespaceObjects, Snapshot};

/// Where the key and the rules are mounted in the sidecar.
const KEY_DIR: &str = "/etc/aigc-labeler/key";
const RULES_DIR: &str = "/etc/aigc-labeler/rules";
/// Name of the sidecar's proxy port, which a Service may target instead of the number.
pub const PORT_NAME: &str = "aigc-labeler";
const ADMIN_PORT_NAME: &str = "aigc-admin";
/// User the sidecar runs as when the image does not say (the distroless non-root user).
const RUN_AS_USER: i64 = 65532;

/// A workload kind the sidecar is injected into.
pub trait Workload:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    fn observed(objects: &NamespaceObjects) -> &Vec<Self>;
    fn observed_mut(objects: &mut NamespaceObjects) -> &mut Vec<Self>;
    fn template(&self) -> Option<&PodTemplateSpec>;
    fn template_mut(&mut self) -> Option<&mut PodTemplateSpec>;
}

impl Workload for Deployment {
    fn observed(objects: &NamespaceObjects) -> &Vec<Self> {
        &objects.apps_deployments
    }
    fn observed_mut(objects: &mut NamespaceObjects) -> &mut Vec<Self> {
        &mut objects.apps_deployments
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
    fn template_mut(&mut self) -> Option<&mut PodTemplateSpec> {
        self.spec.as_mut().map(|s| &mut s.template)
    }
}

impl Workload for StatefulSet {
    fn observed(objects: &NamespaceObjects) -> &Vec<Self> {
        &objects.stateful_sets
    }
    fn observed_mut(objects: &mut NamespaceObjects) -> &mut Vec<Self> {
        &mut objects.stateful_sets
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().map(|s| &s.template)
    }
    fn template_mut(&mut self) -> Option<&mut PodTemplateSpec> {
        self.spec.as_mut().map(|s| &mut s.template)
    }
}

/// The fields of a workload `W` the sidecar control owns: two labels on the workload, the
/// sidecar's container entry and its volumes in the pod template. Serialized, it is the
/// server-side apply patch; the API's answer (the whole workload) reads back into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound = "")]
pub struct Injected<W> {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: InjectedSpec,
    #[serde(skip)]
    workload: PhantomData<fn() -> W>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedSpec {
    #[serde(default)]
    pub template: InjectedTemplate,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedTemplate {
    #[serde(default)]
    pub spec: InjectedPodSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedPodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

impl<W: Workload> Resource for Injected<W> {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
        W::kind(dt)
    }
    fn group(dt: &()) -> std::borrow::Cow<'_, str> {
        W::group(dt)
    }
    fn version(dt: &()) -> std::borrow::Cow<'_, str> {
        W::version(dt)
    }
    fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
        W::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<W: Workload> Injected<W> {
    fn new(metadata: ObjectMeta, containers: Vec<Container>, volumes: Vec<Volume>) -> Self {
        Injected {
            api_version: W::api_version(&()).into_owned(),
            kind: W::kind(&()).into_owned(),
            metadata,
            spec: InjectedSpec {
                template: InjectedTemplate {
                    spec: InjectedPodSpec {
                        containers,
                        volumes,
                    },
                },
            },
            workload: PhantomData,
        }
    }

    /// The sidecar's container entry.
    pub fn container(&self) -> Option<&Container> {
        self.spec.template.spec.containers.first()
    }
}

impl<W: Workload> OwnedKind for Injected<W> {
    const FIELD_MANAGER: &'static str = SIDECAR_FIELD_MANAGER;
    const RELEASE: Release = Release::Withdraw;

    /// In place when the workload carries the digest of these entries and still runs the
    /// container with this image (someone may have edited or removed it since).
    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        let Some(have) = W::observed(objects)
            .iter()
            .find(|w| w.meta().name == want.metadata.name)
        else {
            return false;
        };
        let Some(container) = want.container() else {
            return false;
        };
        super::labels_in_place(have.meta(), &want.metadata)
            && have
                .template()
                .and_then(|t| t.spec.as_ref())
                .is_some_and(|spec| {
                    spec.containers
                        .iter()
                        .any(|c| c.name == container.name && c.image == container.image)
                })
    }

    /// Merges the entries into the same-named workload, as the apply does.
    fn record(objects: &mut NamespaceObjects, object: Self) {
        let Some(have) = W::observed_mut(objects)
            .iter_mut()
            .find(|w| w.meta().name == object.metadata.name)
        else {
            return;
        };
        have.meta_mut()
            .labels
            .get_or_insert_default()
            .extend(object.metadata.labels.into_iter().flatten());
        let Some(spec) = have.template_mut().map(|t| t.spec.get_or_insert_default()) else {
            return;
        };
        let InjectedPodSpec {
            containers,
            volumes,
        } = object.spec.template.spec;
        for c in containers {
            spec.containers.retain(|x| x.name != c.name);
            spec.containers.push(c);
        }
        let have_volumes = spec.volumes.get_or_insert_default();
        for v in volumes {
            have_volumes.retain(|x| x.name != v.name);
            have_volumes.push(v);
        }
    }

    /// The workload stays; only the marks of the operator's entries are dropped.
    fn forget(objects: &mut NamespaceObjects, owned: &dyn Fn(&ObjectMeta) -> bool) {
        for w in W::observed_mut(objects) {
            if owned(w.meta())
                && let Some(labels) = w.meta_mut().labels.as_mut()
            {
                labels.remove(DEPLOYMENT_UID);
                labels.remove(SIDECAR_DIGEST);
            }
        }
    }
}

/// The labeling key: created once with 32 random bytes when missing, then never written
/// again and never deleted, so that content labeled with it stays verifiable.
impl OwnedKind for Secret {
    const WRITE: Write = Write::Create;
    const RELEASE: Release = Release::Keep;

    fn in_place(objects: &NamespaceObjects, want: &Self) -> bool {
        objects
            .secrets
            .iter()
            .any(|s| s.metadata.name == want.metadata.name)
    }
    fn record(objects: &mut NamespaceObjects, object: Self) {
        // Only the name is kept: the operator never holds key material beyond creating it.
        let name_only = Secret {
            metadata: ObjectMeta {
                name: object.metadata.name,
                namespace: object.metadata.namespace,
                ..Default::default()
            },
            ..Default::default()
        };
        whole::record(&mut objects.secrets, name_only);
    }
    fn forget(_: &mut NamespaceObjects, _: &dyn Fn(&ObjectMeta) -> bool) {}
    fn on_create(&mut self) {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        self.data
            .get_or_insert_default()
            .insert(KEY_ENTRY.to_owned(), ByteString(key.to_vec()));
    }
}

/// What the policy asks of the sidecar.
pub(crate) struct SidecarSpec<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub port: i32,
    pub admin_port: i32,
    pub key_secret: &'a str,
}

impl<'a> SidecarSpec<'a> {
    pub(crate) fn of(policy: &'a CompliancePolicy) -> Self {
        let c = &policy.spec.controls.sidecar;
        let port = c.port.unwrap_or(d::SIDECAR_PORT);
        SidecarSpec {
            name: c.name.as_deref().unwrap_or(d::SIDECAR_NAME),
            image: c.image.as_deref().unwrap_or(d::SIDECAR_IMAGE),
            port,
            admin_port: c.admin_port.unwrap_or(port.saturating_add(1).min(65535)),
            key_secret: c
                .key_secret_name
                .as_deref()
                .unwrap_or(d::SIDECAR_KEY_SECRET),
        }
    }
}

/// The sidecar's entries in every inference workload that exists, and the key Secret they
/// mount, in Enforce mode. Nothing when the deployment names no provider: the sidecar cannot
/// label without one, and the row says so.
pub(super) fn sidecars(
    policy: &CompliancePolicy,
    deployment: &ModelDeployment,
    snapshot: &Snapshot,
    out: &mut super::DesiredObjects,
) {
    let control = &policy.spec.controls.sidecar;
    let Some(inference) = deployment.spec.inference.as_ref() else {
        return;
    };
    let Some(provider) = deployment.spec.service.provider.as_deref() else {
        return;
    };
    if control.mode != EnforcementMode::Enforce || inference.workloads.is_empty() {
        return;
    }
    let wanted = SidecarSpec::of(policy);
    let (container, volumes) = entries(policy, inference, provider, &wanted);
    let digest = digest(&container, &volumes);
    let objects = snapshot.ns(&inference.namespace);
    for w in &inference.workloads {
        let exists = match w.kind {
            WorkloadKind::Deployment => named(&objects.apps_deployments, &w.name),
            WorkloadKind::StatefulSet => named(&objects.stateful_sets, &w.name),
        };
        if !exists {
            // Applying entries alone would try to create a workload; the row reports it.
            continue;
        }
        let metadata = ObjectMeta {
            name: Some(w.name.clone()),
            namespace: Some(inference.namespace.clone()),
            labels: Some(BTreeMap::from([
                (
                    DEPLOYMENT_UID.to_owned(),
                    deployment.metadata.uid.clone().unwrap_or_default(),
                ),
                (SIDECAR_DIGEST.to_owned(), digest.clone()),
            ])),
            ..Default::default()
        };
        let (c, v) = (vec![container.clone()], volumes.clone());
        match w.kind {
            WorkloadKind::Deployment => out.deployment_sidecars.push(Injected::new(metadata, c, v)),
            WorkloadKind::StatefulSet => out
                .stateful_set_sidecars
                .push(Injected::new(metadata, c, v)),
        }
    }
    if !out.deployment_sidecars.is_empty() || !out.stateful_set_sidecars.is_empty() {
        let mut meta = metadata(
            deployment,
            wanted.key_secret.to_owned(),
            &inference.namespace,
            Control::Sidecar,
        );
        // Never owned by the ModelDeployment: the garbage collector would delete the key.
        meta.owner_references = None;
        out.secrets.push(Secret {
            metadata: meta,
            type_: Some("Opaque".into()),
            ..Default::default()
        });
    }
}

fn named<K: Resource>(objects: &[K], name: &str) -> bool {
    objects
        .iter()
        .any(|o| o.meta().name.as_deref() == Some(name))
}

/// The container entry and its volumes: complete, hardened, every setting through the
/// labeler's `AIGC_LABELER_*` environment.
fn entries(
    policy: &CompliancePolicy,
    inference: &InferenceEnvironment,
    provider: &str,
    wanted: &SidecarSpec,
) -> (Container, Vec<Volume>) {
    let control = &policy.spec.controls.sidecar;
    let env = |name: &str, value: String| EnvVar {
        name: format!("AIGC_LABELER_{name}"),
        value: Some(value),
        value_from: None,
    };
    let key_volume = volume_name(wanted.name, "key");
    let rules_volume = volume_name(wanted.name, "rules");
    let mut environment = vec![
        env("LISTEN", format!("0.0.0.0:{}", wanted.port)),
        env("ADMIN_LISTEN", format!("0.0.0.0:{}", wanted.admin_port)),
        env("UPSTREAM", format!("http://127.0.0.1:{}", inference.port)),
        env("PRODUCER", provider.to_owned()),
        env("KEY_FILE", format!("{KEY_DIR}/{KEY_ENTRY}")),
        env("JSON_LOGS", "true".into()),
    ];
    let mut mounts = vec![VolumeMount {
        name: key_volume.clone(),
        mount_path: KEY_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    }];
    let mut volumes = vec![Volume {
        name: key_volume,
        secret: Some(SecretVolumeSource {
            secret_name: Some(wanted.key_secret.to_owned()),
            default_mode: Some(0o440),
            ..Default::default()
        }),
        ..Default::default()
    }];
    if let Some(config_map) = control.rules_config_map.as_deref() {
        // A directory mount, not subPath: the kubelet swaps the file in place on updates and
        // the labeler's reload picks them up.
        environment.push(env("RULES_FILE", format!("{RULES_DIR}/rules.yaml")));
        mounts.push(VolumeMount {
            name: rules_volume.clone(),
            mount_path: RULES_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name: rules_volume,
            config_map: Some(ConfigMapVolumeSource {
                name: config_map.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(ADMIN_PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    };
    let container = Container {
        name: wanted.name.to_owned(),
        image: Some(wanted.image.to_owned()),
        ports: Some(vec![
            ContainerPort {
                name: Some(PORT_NAME.into()),
                container_port: wanted.port,
                protocol: Some("TCP".into()),
                ..Default::default()
            },
            ContainerPort {
                name: Some(ADMIN_PORT_NAME.into()),
                container_port: wanted.admin_port,
                protocol: Some("TCP".into()),
                ..Default::default()
            },
        ]),
        env: Some(environment),
        volume_mounts: Some(mounts),
        readiness_probe: Some(probe("/readyz")),
        liveness_probe: Some(probe("/healthz")),
        resources: Some(control.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(hardened()),
        ..Default::default()
    };
    (container, volumes)
}

fn volume_name(container: &str, what: &str) -> String {
    let room = 63 - what.len() - 1;
    let base: String = container.chars().take(room).collect();
    format!("{}-{what}", base.trim_end_matches('-'))
}

fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("50m".into())),
            ("memory".to_owned(), Quantity("64Mi".into())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("256Mi".into()),
        )])),
        ..Default::default()
    }
}

fn hardened() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

/// A short digest of the entries, kept as a label on the workload: a change of policy or
/// deployment changes it, and the entries are applied again.
fn digest(container: &Container, volumes: &[Volume]) -> String {
    let bytes = serde_json::to_vec(&(container, volumes)).expect("entries serialize");
    let sum = Sha256::digest(bytes);
    sum[..8].iter().map(|b| format!("{b:02x}")).collect()
}
