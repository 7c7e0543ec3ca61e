//! Fixture builders for the evaluation tests: a fully compliant baseline (policy, deployment,
//! evidence and a live snapshot at a fixed `now`) and small builders to bend it one way at a
//! time. Compiled only under `#[cfg(test)]`.

use k8s_openapi::api::{
    apps::v1::Deployment,
    batch::v1::CronJob,
    core::v1::{Pod, Service},
    networking::v1::NetworkPolicy,
    rbac::v1::{Role, RoleBinding},
};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Decision, Evaluation, Inputs, Obligation, State, evaluate};
use crate::api::{
    ComplianceEvidence, CompliancePolicy, CompliancePolicySpec, Dataset, InferenceEnvironment,
    Measure, ModelDeployment, ModelDeploymentSpec, ServiceInfo, TrainingEnvironment,
};
use crate::catalog::Lang;
use crate::i18n;
use crate::snapshot::{AccessReview, FactSource, NamespaceObjects, Snapshot, VolumeSnapshot};

/// Every message of `evaluation` is built from the message templates and reads in Chinese
/// without English prose left (the policy's remarks and justifications are its authors'
/// text), and every reason has a human text.
#[track_caller]
pub(crate) fn assert_readable_in_chinese(policy: &CompliancePolicy, evaluation: &Evaluation) {
    let spec = &policy.spec;
    let mut authored: Vec<&str> = spec
        .rows
        .iter()
        .filter_map(|r| r.remark.as_deref())
        .chain(spec.measures.iter().filter_map(|m| m.remark.as_deref()))
        .chain(spec.exceptions.iter().map(|e| e.justification.as_str()))
        .collect();
    authored.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for d in &evaluation.decisions {
        assert!(
            i18n::reason_text(d.reason, Lang::Zh).is_some(),
            "{}: reason {} has no human text",
            d.id,
            d.reason
        );
        let Some(mut zh) = i18n::translate(&d.message) else {
            panic!("{}: no message template reads {:?}", d.id, d.message);
        };
        for text in &authored {
            zh = zh.replace(text, "");
        }
        let left = i18n::english_prose(&zh);
        assert!(left.is_empty(), "{}: {left:?} left in {zh:?}", d.id);
    }
}

/// The fixed evaluation time of every fixture.
pub(crate) const NOW: &str = "2026-12-01T00:00:00Z";
/// Name of the baseline ModelDeployment.
pub(crate) const NAME: &str = "chat";
/// Name of the baseline CompliancePolicy.
pub(crate) const POLICY: &str = "baseline";
/// Namespace of the training pods and data.
pub(crate) const TRAINING_NS: &str = "llm-train";
/// Namespace of the inference pods; the ModelDeployment and its evidence live here too.
pub(crate) const INFERENCE_NS: &str = "llm-serve";
/// Namespace of the policy's platform-monitoring Deployment.
pub(crate) const MONITORING_NS: &str = "monitoring";
/// Namespace of the policy's CronJobs.
pub(crate) const JOBS_NS: &str = "compliance";
/// Name of the baseline's single evidence object.
pub(crate) const BASELINE_EVIDENCE: &str = "chat-attestations-2026";
/// Rows that only (or also) evidence satisfies.
pub(crate) const EVIDENCE_ROWS: [u8; 16] =
    [1, 3, 5, 15, 16, 17, 18, 20, 21, 24, 26, 29, 30, 35, 40, 41];
/// The labeling sidecar's default image.
pub(crate) const SIDECAR_IMAGE: &str = "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0";

/// The fixed `now`.
pub(crate) fn now() -> Timestamp {
    NOW.parse().expect("NOW is a timestamp")
}

/// `now` minus `hours`.
pub(crate) fn hours_ago(hours: i64) -> Timestamp {
    now()
        .checked_sub(SignedDuration::from_hours(hours))
        .expect("in range")
}

/// `now` minus `days` (negative: in the future).
pub(crate) fn days_ago(days: i64) -> Timestamp {
    hours_ago(days * 24)
}

/// Deserializes a fixture written as JSON, naming the type when it does not fit.
#[track_caller]
pub(crate) fn from_json<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| {
        panic!(
            "fixture does not deserialize as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Everything `evaluate` reads, owned, so tests can bend any part of it.
#[derive(Clone, Debug)]
pub(crate) struct Fixture {
    pub policy: CompliancePolicy,
    pub deployment: ModelDeployment,
    pub evidence: Vec<ComplianceEvidence>,
    pub snapshot: Snapshot,
    pub now: Timestamp,
}

impl Fixture {
    /// A deployment that meets every row and measure, observed in a live cluster.
    pub fn baseline() -> Self {
        Fixture {
            policy: baseline_policy(),
            deployment: baseline_deployment(),
            evidence: vec![baseline_evidence()],
            snapshot: live_snapshot(),
            now: now(),
        }
    }

    /// The baseline, but read offline from manifests: workloads instead of pods, no
    /// snapshots, readiness, CronJob runs or access reviews.
    pub fn offline() -> Self {
        Fixture {
            snapshot: offline_snapshot(),
            ..Fixture::baseline()
        }
    }

    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            policy: &self.policy,
            deployment: &self.deployment,
            evidence: &self.evidence,
            snapshot: &self.snapshot,
            now: self.now,
        }
    }

    /// Evaluates the fixture; every message and reason it gives must read in Chinese too,
    /// so every scenario of the evaluation tests also proves the message tables cover it.
    pub fn evaluate(&self) -> Evaluation {
        let evaluation = evaluate(self.inputs());
        assert_readable_in_chinese(&self.policy, &evaluation);
        evaluation
    }

    pub fn spec(&mut self) -> &mut ModelDeploymentSpec {
        &mut self.deployment.spec
    }

    pub fn policy(&mut self) -> &mut CompliancePolicySpec {
        &mut self.policy.spec
    }

    pub fn service(&mut self) -> &mut ServiceInfo {
        &mut self.deployment.spec.service
    }

    pub fn training(&mut self) -> &mut TrainingEnvironment {
        self.deployment
            .spec
            .training
            .as_mut()
            .expect("baseline declares training")
    }

    pub fn inference(&mut self) -> &mut InferenceEnvironment {
        self.deployment
            .spec
            .inference
            .as_mut()
            .expect("baseline declares inference")
    }

    /// The declared dataset called `name`.
    pub fn dataset(&mut self, name: &str) -> &mut Dataset {
        self.training()
            .datasets
            .iter_mut()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no dataset {name}"))
    }

    /// The observed objects of `namespace`.
    pub fn ns(&mut self, namespace: &str) -> &mut NamespaceObjects {
        self.snapshot.ns_mut(namespace)
    }

    /// The observed Pod `namespace/name`.
    pub fn pod(&mut self, namespace: &str, name: &str) -> &mut Pod {
        self.ns(namespace)
            .pods
            .iter_mut()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no pod {namespace}/{name}"))
    }

    /// Removes a row or measure from every evidence object, so nothing attests it.
    pub fn drop_evidence_for(&mut self, id: Obligation) {
        for e in &mut self.evidence {
            match id {
                Obligation::Row(n) => e.spec.rows.retain(|r| *r != i32::from(n)),
                Obligation::Measure(m) => e.spec.measures.retain(|x| *x != m),
            }
        }
    }
}

/// Policy `baseline`: catalog thresholds, Enforce controls, alice as the only reader, cluster
/// checks for rows 2, 28 and 8.1c, risk accepted up to Low.
pub(crate) fn baseline_policy() -> CompliancePolicy {
    from_json(json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "CompliancePolicy",
        "metadata": { "name": POLICY },
        "spec": {
            "description": "Public generative services",
            "controls": {
                "isolation": { "mode": "Enforce", "allowedNamespaces": [MONITORING_NS] },
                "accessControl": { "mode": "Enforce", "readers": [{ "kind": "User", "name": "alice" }] },
                "backup": { "mode": "Enforce" },
                "sidecar": { "mode": "Enforce" }
            },
            "clusterChecks": {
                "platformMonitoring": [{ "namespace": MONITORING_NS, "kind": "Deployment", "name": "platform-monitor" }],
                "safetyEvaluation": { "namespace": JOBS_NS, "name": "safety-eval", "maxAgeDays": 7 },
                "codeAudit": { "namespace": JOBS_NS, "name": "code-audit", "maxAgeDays": 30 }
            },
            "riskAcceptance": { "maxAcceptable": "Low", "treatment": "Report", "unknownRows": "Tolerate" }
        }
    }))
}

/// One training dataset meeting every per-dataset row.
pub(crate) fn dataset_json(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "source": source,
        "uri": format!("s3://datasets/{name}"),
        "acquisition": "Licensed",
        "legalBasis": "License",
        "license": format!("{source}-agreement-2026"),
        "validationMethod": "cross-source fact checks on a 1 % sample",
        "cleaning": "deduplication, language filter, outlier removal",
        "lastUpdated": "2026-09-01",
        "provenanceRef": format!("https://data.example.com/provenance/{name}"),
        "records": 1_000_000
    })
}

/// ModelDeployment `chat`: public text and image service, training in `llm-train`, inference
/// in `llm-serve`, three datasets (crawled, personal, licensed), minors admitted and protected.
pub(crate) fn baseline_deployment() -> ModelDeployment {
    let mut crawled = dataset_json("web-crawl", "public-web");
    crawled["acquisition"] = json!("Crawled");
    crawled["legalBasis"] = json!("PubliclyDisclosed");
    crawled["license"] = json!("CC-BY-4.0");
    crawled["crawlCompliance"] =
        json!({ "robotsRespected": true, "termsRespected": true, "noAccessControlBypass": true });
    let mut personal = dataset_json("user-dialogues", "chat-app-users");
    personal["acquisition"] = json!("UserProvided");
    personal["legalBasis"] = json!("Consent");
    personal["containsPersonalInfo"] = json!(true);
    personal["desensitized"] = json!(true);
    let licensed = dataset_json("licensed-books", "publisher-x");
    from_json(json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {
            "name": NAME,
            "namespace": INFERENCE_NS,
            "labels": { "app.kubernetes.io/part-of": NAME, "tier": "prod" }
        },
        "spec": {
            "policyRef": POLICY,
            "suspend": false,
            "model": {
                "name": NAME,
                "version": "2.1.0",
                "modalities": ["Text", "Image"],
                "algorithmDescription": "Decoder-only transformer fine-tuned with RLHF; safety is a reward signal."
            },
            "service": {
                "public": true,
                "provider": "Example AI Co., Ltd.",
                "filingNumber": "Beijing-Chat-20250101",
                "filedModelVersion": "2.1.0",
                "securityAssessment": {
                    "reference": "https://compliance.example.com/assessments/chat-2.1.0.pdf",
                    "date": "2026-06-01"
                },
                "disclosureUrl": "https://chat.example.com/about/intended-use",
                "audiences": ["General", "Minors"],
                "minorsProtection": { "minorsMode": true, "usageTimeLimits": true, "ageAppropriateContent": true },
                "inputRetentionDays": 30,
                "personalInfoChannel": { "url": "mailto:privacy@example.com", "responseDays": 10 },
                "complaintChannel": { "url": "https://chat.example.com/report", "responseDays": 7 }
            },
            "training": {
                "namespace": TRAINING_NS,
                "podSelector": { "matchLabels": { "app": "llm-train" } },
                "dataVolumes": ["training-data"],
                "safetyAnnotationVolumes": ["safety-annotations"],
                "annotationRulesRef": "https://compliance.example.com/annotation-rules-v3.pdf",
                "datasets": [crawled, personal, licensed],
                "annotationBatches": [
                    { "id": "batch-001", "totalItems": 20000, "sampledItems": 1000, "illegalItems": 12 },
                    { "id": "batch-002", "totalItems": 20000, "sampledItems": 1000, "illegalItems": 80, "voided": true }
                ]
            },
            "inference": {
                "namespace": INFERENCE_NS,
                "podSelector": { "matchLabels": { "app": "llm-serve" } },
                "workloads": [{ "kind": "Deployment", "name": "server" }],
                "service": "llm",
                "port": 8000,
                "modelVolumes": ["model-weights"]
            },
            "evaluation": {
                "corpus": {
                    "corpusSize": 100_000,
                    "manual": { "items": 4000, "passed": 3900 },
                    "automated": { "items": 20_000, "passed": 19_800 },
                    "date": "2026-09-01"
                },
                "generatedContent": {
                    "manual": { "items": 1000, "passed": 950 },
                    "keyword": { "items": 2000, "passed": 1960 },
                    "classifier": { "items": 2000, "passed": 1950 },
                    "date": "2026-09-15"
                },
                "refusal": {
                    "shouldRefuse": { "items": 500, "passed": 490 },
                    "shouldAnswer": { "items": 500, "passed": 495 },
                    "date": "2026-09-15"
                }
            }
        }
    }))
}

/// A ComplianceEvidence in the deployment's namespace.
pub(crate) fn evidence(
    name: &str,
    rows: &[u8],
    measures: &[Measure],
    targets: &[&str],
    attested_at: Timestamp,
    valid_until: Timestamp,
) -> ComplianceEvidence {
    from_json(json!({
        "apiVersion": "modelcompliance.io/v1alpha1",
        "kind": "ComplianceEvidence",
        "metadata": { "name": name, "namespace": INFERENCE_NS },
        "spec": {
            "rows": rows,
            "measures": measures,
            "targets": targets,
            "summary": "attested by the compliance office",
            "uri": format!("https://compliance.example.com/evidence/{name}.pdf"),
            "sha256": "a0194332c82c7a02e006ab96f8c88769f7e1ebb6f81a1db476b57b6954f5d4ec",
            "attestedBy": "Wang Fang, Compliance Office",
            "attestedAt": attested_at.to_string(),
            "validUntil": valid_until.to_string()
        }
    }))
}

/// One evidence object attesting every evidence row and measure 8.1d for `chat`, valid from
/// two months ago for ten more months.
pub(crate) fn baseline_evidence() -> ComplianceEvidence {
    evidence(
        BASELINE_EVIDENCE,
        &EVIDENCE_ROWS,
        &[Measure::AdversarialDefense],
        &[NAME],
        days_ago(61),
        days_ago(-304),
    )
}

/// Pod spec of a trainer: its own service account, the training and safety-annotation claims.
pub(crate) fn training_pod_spec() -> Value {
    json!({
        "serviceAccountName": "trainer",
        "containers": [{ "name": "trainer", "image": "registry.example.com/chat/trainer:2.1.0" }],
        "volumes": [
            { "name": "data", "persistentVolumeClaim": { "claimName": "training-data" } },
            { "name": "annotations", "persistentVolumeClaim": { "claimName": "safety-annotations" } }
        ]
    })
}

/// Pod spec of a model server with the labeling sidecar (port `http-labeled` 8480).
pub(crate) fn inference_pod_spec() -> Value {
    json!({
        "serviceAccountName": "server",
        "containers": [
            {
                "name": "model-server",
                "image": "registry.example.com/chat/server:2.1.0",
                "ports": [{ "name": "http-model", "containerPort": 8000 }]
            },
            {
                "name": "aigc-labeler",
                "image": SIDECAR_IMAGE,
                "ports": [{ "name": "http-labeled", "containerPort": 8480 }]
            }
        ],
        "volumes": [{ "name": "weights", "persistentVolumeClaim": { "claimName": "model-weights", "readOnly": true } }]
    })
}

/// A running Pod whose containers are all ready.
pub(crate) fn pod(namespace: &str, name: &str, labels: Value, spec: Value, node: &str) -> Pod {
    let mut spec = spec;
    spec["nodeName"] = json!(node);
    let statuses: Vec<Value> = spec["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .map(|c| {
            json!({
                "name": c["name"], "image": c["image"], "imageID": "", "ready": true,
                "restartCount": 0, "started": true
            })
        })
        .collect();
    from_json(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": namespace, "labels": labels },
        "spec": spec,
        "status": {
            "phase": "Running",
            "conditions": [{ "type": "Ready", "status": "True" }],
            "containerStatuses": statuses
        }
    }))
}

/// Training pod `trainer-0` on node-a.
pub(crate) fn training_pod(name: &str) -> Pod {
    pod(
        TRAINING_NS,
        name,
        json!({ "app": "llm-train" }),
        training_pod_spec(),
        "node-a",
    )
}

/// Inference pod on node-b.
pub(crate) fn inference_pod(name: &str) -> Pod {
    pod(
        INFERENCE_NS,
        name,
        json!({ "app": "llm-serve" }),
        inference_pod_spec(),
        "node-b",
    )
}

/// Marks container `container` of a pod not ready.
pub(crate) fn set_container_ready(pod: &mut Pod, container: &str, ready: bool) {
    let statuses = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .expect("statuses");
    for s in statuses.iter_mut().filter(|s| s.name == container) {
        s.ready = ready;
    }
}

/// A Deployment with `pod_labels` and `pod_spec` as its template.
pub(crate) fn deployment(
    namespace: &str,
    name: &str,
    pod_labels: Value,
    pod_spec: Value,
    ready: i32,
) -> Deployment {
    from_json(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": pod_labels },
            "template": { "metadata": { "labels": pod_labels }, "spec": pod_spec }
        },
        "status": { "replicas": 1, "readyReplicas": ready }
    }))
}

/// Service `name` selecting the inference pods, port 80 to `target_port`.
pub(crate) fn service(namespace: &str, name: &str, target_port: Value) -> Service {
    from_json(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "selector": { "app": "llm-serve" },
            "ports": [{ "name": "http", "port": 80, "targetPort": target_port }]
        }
    }))
}

/// A NetworkPolicy with the given spec.
pub(crate) fn network_policy(namespace: &str, name: &str, spec: Value) -> NetworkPolicy {
    from_json(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": name, "namespace": namespace },
        "spec": spec
    }))
}

/// Ingress to training pods only from training peers and the monitoring namespace.
pub(crate) fn isolate_training() -> NetworkPolicy {
    network_policy(
        TRAINING_NS,
        "isolate-training",
        json!({
            "podSelector": { "matchLabels": { "app": "llm-train" } },
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [
                    { "podSelector": { "matchLabels": { "app": "llm-train" } } },
                    { "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": MONITORING_NS } } }
                ]
            }]
        }),
    )
}

/// The kill switch's deny-all policy for the inference pods.
pub(crate) fn deny_all_inference() -> NetworkPolicy {
    network_policy(
        INFERENCE_NS,
        "chat-suspend",
        json!({ "podSelector": { "matchLabels": { "app": "llm-serve" } }, "policyTypes": ["Ingress"] }),
    )
}

/// A Role in the training namespace.
pub(crate) fn role(name: &str, rules: Value) -> Role {
    from_json(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": { "name": name, "namespace": TRAINING_NS },
        "rules": rules
    }))
}

/// A RoleBinding in the training namespace.
pub(crate) fn role_binding(
    name: &str,
    role_kind: &str,
    role_name: &str,
    subjects: Value,
) -> RoleBinding {
    from_json(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": { "name": name, "namespace": TRAINING_NS },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name },
        "subjects": subjects
    }))
}

/// A VolumeSnapshot of claim `pvc`, created at `created`.
pub(crate) fn volume_snapshot(
    namespace: &str,
    pvc: &str,
    created: Timestamp,
    ready: bool,
) -> VolumeSnapshot {
    from_json(json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": { "name": format!("{pvc}-{}", created.as_second()), "namespace": namespace },
        "spec": { "source": { "persistentVolumeClaimName": pvc }, "volumeSnapshotClassName": "csi" },
        "status": { "creationTime": created.to_string(), "readyToUse": ready }
    }))
}

/// A CronJob that last succeeded at `last_success`.
pub(crate) fn cron_job(name: &str, last_success: Option<Timestamp>) -> CronJob {
    let status = match last_success {
        Some(t) => {
            json!({ "lastSuccessfulTime": t.to_string(), "lastScheduleTime": t.to_string() })
        }
        None => json!({}),
    };
    from_json(json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": { "name": name, "namespace": JOBS_NS },
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": { "spec": { "template": { "spec": {
                "restartPolicy": "Never",
                "containers": [{ "name": name, "image": "registry.example.com/compliance/jobs:1" }]
            } } } }
        },
        "status": status
    }))
}

/// A SubjectAccessReview answer for an inference service account about training data.
pub(crate) fn access_review(service_account: &str, resource: &str, allowed: bool) -> AccessReview {
    AccessReview {
        service_account: service_account.to_owned(),
        namespace: TRAINING_NS.to_owned(),
        resource: resource.to_owned(),
        allowed,
    }
}

/// The objects both snapshots share: policies, RBAC, the Service and the named workloads.
fn common_objects(snapshot: &mut Snapshot, with_status: bool) {
    let ready = if with_status { 1 } else { 0 };
    let training = snapshot.ns_mut(TRAINING_NS);
    training.network_policies.push(isolate_training());
    training.roles.push(role(
        "training-data-reader",
        json!([{ "apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list"] }]),
    ));
    training.role_bindings.push(role_binding(
        "training-data-readers",
        "Role",
        "training-data-reader",
        json!([{ "kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io" }]),
    ));
    let serving = snapshot.ns_mut(INFERENCE_NS);
    serving.apps_deployments.push(deployment(
        INFERENCE_NS,
        "server",
        json!({ "app": "llm-serve" }),
        inference_pod_spec(),
        ready,
    ));
    serving
        .services
        .push(service(INFERENCE_NS, "llm", json!(8480)));
    snapshot.ns_mut(MONITORING_NS).apps_deployments.push(deployment(
        MONITORING_NS,
        "platform-monitor",
        json!({ "app": "platform-monitor" }),
        json!({ "containers": [{ "name": "exporter", "image": "registry.example.com/falco-exporter:1" }] }),
        ready,
    ));
}

/// The live cluster the baseline runs in.
pub(crate) fn live_snapshot() -> Snapshot {
    let mut s = Snapshot::new(FactSource::Cluster);
    common_objects(&mut s, true);
    let training = s.ns_mut(TRAINING_NS);
    training.pods.push(training_pod("trainer-0"));
    training.volume_snapshots.push(volume_snapshot(
        TRAINING_NS,
        "training-data",
        hours_ago(2),
        true,
    ));
    training.volume_snapshots.push(volume_snapshot(
        TRAINING_NS,
        "safety-annotations",
        hours_ago(2),
        true,
    ));
    let serving = s.ns_mut(INFERENCE_NS);
    serving.pods.push(inference_pod("server-0"));
    serving.volume_snapshots.push(volume_snapshot(
        INFERENCE_NS,
        "model-weights",
        hours_ago(3),
        true,
    ));
    let jobs = s.ns_mut(JOBS_NS);
    jobs.cron_jobs
        .push(cron_job("safety-eval", Some(days_ago(1))));
    jobs.cron_jobs
        .push(cron_job("code-audit", Some(days_ago(3))));
    s.access_reviews = vec![
        access_review("llm-serve/server", "secrets", false),
        access_review("llm-serve/server", "persistentvolumeclaims", false),
    ];
    s
}

/// The baseline's manifests read offline: a trainer Deployment instead of pods.
pub(crate) fn offline_snapshot() -> Snapshot {
    let mut s = Snapshot::new(FactSource::Manifests);
    common_objects(&mut s, false);
    s.ns_mut(TRAINING_NS).apps_deployments.push(deployment(
        TRAINING_NS,
        "trainer",
        json!({ "app": "llm-train" }),
        training_pod_spec(),
        0,
    ));
    s.ns_mut(JOBS_NS)
        .cron_jobs
        .push(cron_job("safety-eval", None));
    s.ns_mut(JOBS_NS)
        .cron_jobs
        .push(cron_job("code-audit", None));
    s
}

/// One line per decision, for assertion messages.
pub(crate) fn describe<'a>(decisions: impl IntoIterator<Item = &'a Decision>) -> String {
    decisions
        .into_iter()
        .map(|d| {
            format!(
                "{} {:?} {} [{:?}]: {}",
                d.id, d.state, d.reason, d.severity, d.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts state, reason and that the message contains every fragment.
#[track_caller]
pub(crate) fn assert_decision(d: &Decision, state: State, reason: &str, fragments: &[&str]) {
    assert_eq!(
        (d.state, d.reason),
        (state, reason),
        "unexpected decision:\n{}",
        describe([d])
    );
    for fragment in fragments {
        assert!(
            d.message.contains(fragment),
            "{} message lacks {fragment:?}:\n{}",
            d.id,
            d.message
        );
    }
}
