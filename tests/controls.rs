//! The two controls that write into what users own or keep: the labeling sidecar injected
//! into inference workloads (rows 27, 37; 8.1b) and the scheduled backups with their restore
//! drill (8.1e), through the whole reconcile against the API stand-in.

mod support;

use http::Method;
use serde_json::{Value, json};

use api_stand_in::{FakeApi, Logged};
use support::*;

const WORKLOAD: &str = "/apis/apps/v1/namespaces/serve/deployments/chat";
const KEY: &str = "/api/v1/namespaces/serve/secrets/aigc-labeler-key";
const SNAPSHOTS: &str = "/apis/snapshot.storage.k8s.io/v1/namespaces/train/volumesnapshots";
const CLAIMS: &str = "/api/v1/namespaces/train/persistentvolumeclaims";

fn with_policy(api: &FakeApi, controls: Value) {
    let mut p = policy();
    p["spec"]["controls"] = controls;
    api.insert(POLICY, p);
}

fn with_provider(api: &FakeApi) {
    let mut d = deployment();
    d["spec"]["service"] = json!({"provider": "Example AI Co."});
    api.insert(MDEP, d);
}

/// The stand-in where the inference pods lack the sidecar and the policy asks for it.
fn sidecar_cluster() -> FakeApi {
    let api = cluster();
    with_policy(&api, json!({"backup": {"mode": "Audit"}}));
    with_provider(&api);
    api
}

/// An optional API's flag saying it is not installed.
fn missing() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}

/// One reconcile over caches given by the test.
async fn reconcile_with(
    api: &FakeApi,
    stores: model_compliance_operator::controller::stores::Stores,
) {
    let (_, synced) = tokio::sync::watch::channel(true);
    let ctx = std::sync::Arc::new(
        model_compliance_operator::controller::Context::new(api.client(), stores, synced)
            .with_clock(clock),
    );
    model_compliance_operator::controller::reconcile::reconcile(current(api), ctx)
        .await
        .unwrap();
}

fn non_event_writes(api: &FakeApi) -> Vec<Logged> {
    api.writes().into_iter().filter(|r| !r.is_event()).collect()
}

#[tokio::test]
async fn sidecar_entries_are_applied_under_their_own_field_manager_then_nothing() {
    let api = sidecar_cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();

    let writes = non_event_writes(&api);
    let key = writes
        .iter()
        .find(|r| r.method == Method::POST && r.path.ends_with("/secrets"))
        .expect("the key is created");
    let secret = key.body.as_ref().unwrap();
    assert_eq!(secret["metadata"]["name"], "aigc-labeler-key");
    assert!(
        secret["metadata"].get("ownerReferences").is_none(),
        "a key is never garbage-collected with the deployment: {secret}"
    );
    let data = secret["data"]["key"].as_str().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(bytes.len(), 32, "32 random bytes");

    let inject = writes
        .iter()
        .find(|r| r.path == WORKLOAD)
        .expect("the workload is patched");
    assert_eq!(
        inject.field_manager(),
        Some("model-compliance-operator-sidecar")
    );
    assert!(inject.content_type.starts_with("application/apply-patch"));
    let patch = inject.body.as_ref().unwrap();
    // Exactly the sidecar's fields: two labels, one container, its volume; nothing else.
    let top: Vec<&String> = patch.as_object().unwrap().keys().collect();
    assert_eq!(top, ["apiVersion", "kind", "metadata", "spec"]);
    let mut metadata: Vec<&String> = patch["metadata"].as_object().unwrap().keys().collect();
    metadata.sort();
    assert_eq!(metadata, ["labels", "name", "namespace"]);
    assert_eq!(
        patch["metadata"]["labels"]["modelcompliance.io/deployment-uid"],
        "mdep-uid"
    );
    assert_eq!(
        patch["spec"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["template"]
    );
    assert_eq!(
        patch["spec"]["template"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["spec"]
    );
    let containers = patch["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"], "aigc-labeler");
    assert_eq!(
        c["image"],
        "ghcr.io/model-compliance-operator/aigc-labeler:0.1.0"
    );
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, value) in [
        ("AIGC_LABELER_LISTEN", "0.0.0.0:8480"),
        ("AIGC_LABELER_ADMIN_LISTEN", "0.0.0.0:8481"),
        ("AIGC_LABELER_UPSTREAM", "http://127.0.0.1:8000"),
        ("AIGC_LABELER_PRODUCER", "Example AI Co."),
        ("AIGC_LABELER_KEY_FILE", "/etc/aigc-labeler/key/key"),
    ] {
        assert!(
            env.contains(&(name.to_owned(), value.to_owned())),
            "{name}={value} in {env:?}"
        );
    }
    assert_eq!(
        c["securityContext"],
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"}
        })
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "aigc-admin");
    assert_eq!(c["resources"]["requests"]["memory"], "64Mi");
    assert_eq!(
        patch["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "aigc-labeler-key", "secret": {"secretName": "aigc-labeler-key", "defaultMode": 0o440}}])
    );
    // The key exists before the workload that mounts it is changed.
    let order: Vec<&str> = writes.iter().map(|r| r.path.as_str()).collect();
    let key_at = order.iter().position(|p| p.ends_with("/secrets")).unwrap();
    let workload_at = order.iter().position(|p| *p == WORKLOAD).unwrap();
    assert!(key_at < workload_at, "{order:?}");

    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(api.log(), vec![], "a settled deployment makes no request");
}

#[tokio::test]
async fn rules_come_from_a_mounted_config_map_directory() {
    let api = sidecar_cluster();
    with_policy(
        &api,
        json!({"backup": {"mode": "Audit"}, "sidecar": {"rulesConfigMap": "safety-rules", "port": 9000}}),
    );
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    let patch = writes
        .iter()
        .find(|r| r.path == WORKLOAD)
        .unwrap()
        .body
        .clone()
        .unwrap();
    let c = &patch["spec"]["template"]["spec"]["containers"][0];
    let rules_mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "aigc-labeler-rules")
        .cloned()
        .unwrap();
    assert_eq!(rules_mount["mountPath"], "/etc/aigc-labeler/rules");
    assert!(
        rules_mount.get("subPath").is_none(),
        "a subPath mount never sees ConfigMap updates"
    );
    assert!(c["env"].as_array().unwrap().contains(
        &json!({"name": "AIGC_LABELER_RULES_FILE", "value": "/etc/aigc-labeler/rules/rules.yaml"})
    ));
    assert!(
        c["env"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "AIGC_LABELER_ADMIN_LISTEN", "value": "0.0.0.0:9001"}))
    );
    assert_eq!(c["ports"][0]["containerPort"], 9000);
    let volumes = patch["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        volumes.contains(
            &json!({"name": "aigc-labeler-rules", "configMap": {"name": "safety-rules"}})
        )
    );
}

#[tokio::test]
async fn removing_the_requirement_withdraws_only_the_sidecar_fields_and_keeps_the_key() {
    let api = sidecar_cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(KEY).is_some());

    with_policy(
        &api,
        json!({"backup": {"mode": "Audit"}, "sidecar": {"mode": "Audit"}}),
    );
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    let withdraw = writes
        .iter()
        .find(|r| r.path == WORKLOAD)
        .expect("the entries are withdrawn");
    assert_eq!(
        withdraw.field_manager(),
        Some("model-compliance-operator-sidecar")
    );
    assert_eq!(
        withdraw.body,
        Some(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "chat", "namespace": "serve"}})),
        "an apply of nothing under the sidecar's manager gives up exactly its fields"
    );
    assert!(
        writes.iter().all(|r| r.method != Method::DELETE),
        "nothing is deleted: the workload is the user's and the key is kept: {writes:#?}"
    );
    assert!(api.object(KEY).is_some());
    let events: Vec<String> = api
        .events()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(events.contains(&"Withdrawn".to_owned()), "{events:?}");
}

#[tokio::test]
async fn deleting_the_deployment_withdraws_the_sidecar_but_never_deletes_the_key() {
    let api = sidecar_cluster();
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    api.insert(MDEP, deleting);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    assert!(
        writes.iter().any(|r| r.path == WORKLOAD
            && r.field_manager() == Some("model-compliance-operator-sidecar")),
        "{writes:#?}"
    );
    assert!(api.object(KEY).is_some());
    assert!(
        writes
            .iter()
            .all(|r| !(r.method == Method::DELETE && r.path.contains("/secrets")))
    );
}

#[tokio::test]
async fn an_existing_key_is_never_overwritten() {
    let api = sidecar_cluster();
    let theirs = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "aigc-labeler-key", "namespace": "serve"},
        "data": {"key": "dXNlci1wcm92aWRlZC1rZXktMDEyMzQ1Njc4OQ=="}});
    api.insert(KEY, theirs.clone());
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    let to_key: Vec<&Logged> = writes
        .iter()
        .filter(|r| r.path.contains("/secrets"))
        .collect();
    assert_eq!(to_key.len(), 1, "one create, refused: {to_key:#?}");
    assert_eq!(to_key[0].method, Method::POST);
    assert_eq!(api.object(KEY).unwrap()["data"], theirs["data"]);
    // Known to exist from now on: not asked again.
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(api.log(), vec![]);
}

#[tokio::test]
async fn service_bypass_and_an_unready_sidecar_are_reported() {
    let api = sidecar_cluster();
    api.insert(
        "/api/v1/namespaces/serve/services/chat",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat", "namespace": "serve"},
               "spec": {"selector": {"app": "chat"}, "ports": [{"port": 80, "targetPort": "http-model"}]}}),
    );
    let mut pod = api.object("/api/v1/namespaces/serve/pods/chat-0").unwrap();
    pod["status"]["containerStatuses"][1]["ready"] = json!(false);
    api.insert("/api/v1/namespaces/serve/pods/chat-0", pod);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let row = condition(&api, "A37-GeneratedContentLabeled");
    assert_eq!(row["status"], "False");
    assert_eq!(
        row["message"],
        "labeling sidecar: see M81b-ContentSafetyFiltered"
    );
    let measure = condition(&api, "M81b-ContentSafetyFiltered");
    let message = measure["message"].as_str().unwrap();
    assert!(
        message.contains("Service serve/chat port 80 targets http-model, bypassing aigc-labeler"),
        "{message}"
    );
    assert!(
        message.contains("aigc-labeler is not ready in 1 of 1 inference pods"),
        "{message}"
    );

    // Targeting the sidecar's port by name resolves.
    api.insert(
        "/api/v1/namespaces/serve/services/chat",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat", "namespace": "serve"},
               "spec": {"selector": {"app": "chat"}, "ports": [{"port": 80, "targetPort": "http-labeled"}]}}),
    );
    let mut pod = api.object("/api/v1/namespaces/serve/pods/chat-0").unwrap();
    pod["status"]["containerStatuses"][1]["ready"] = json!(true);
    api.insert("/api/v1/namespaces/serve/pods/chat-0", pod);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        condition(&api, "A37-GeneratedContentLabeled")["status"],
        "True"
    );
}

#[tokio::test]
async fn audit_mode_reports_and_never_patches() {
    let api = sidecar_cluster();
    with_policy(
        &api,
        json!({"backup": {"mode": "Audit"}, "sidecar": {"mode": "Audit"}}),
    );
    let mut pod = api.object("/api/v1/namespaces/serve/pods/chat-0").unwrap();
    pod["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    pod["status"]["containerStatuses"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    api.insert("/api/v1/namespaces/serve/pods/chat-0", pod);
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    assert!(
        writes
            .iter()
            .all(|r| r.path != WORKLOAD && !r.path.contains("/secrets")),
        "{writes:#?}"
    );
    let row = condition(&api, "A37-GeneratedContentLabeled");
    assert_eq!(row["reason"], "SidecarMissing");
}

// Backups.

fn snapshot_of(
    name: &str,
    claim: &str,
    slot: Option<&str>,
    ready: bool,
    uid: Option<&str>,
) -> Value {
    let mut labels = json!({});
    if let Some(uid) = uid {
        labels["modelcompliance.io/deployment-uid"] = json!(uid);
        labels["app.kubernetes.io/managed-by"] = json!("model-compliance-operator");
    }
    if let Some(slot) = slot {
        labels["modelcompliance.io/slot"] = json!(slot);
    }
    json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
           "metadata": {"name": name, "namespace": "train", "labels": labels,
                        "creationTimestamp": "2026-11-01T00:00:00Z"},
           "spec": {"source": {"persistentVolumeClaimName": claim}},
           "status": {"readyToUse": ready, "creationTime": "2026-11-01T00:00:00Z"}})
}

fn backup_cluster(backup: Value) -> FakeApi {
    let api = cluster();
    with_policy(&api, json!({"backup": backup}));
    api
}

fn snapshot_writes(api: &FakeApi) -> Vec<(Method, String)> {
    api.writes()
        .into_iter()
        .filter(|r| r.path.starts_with(SNAPSHOTS))
        .map(|r| (r.method, r.path.trim_start_matches(SNAPSHOTS).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_backup_is_taken_at_its_slot_once_and_the_next_at_the_next_slot() {
    let api = backup_cluster(json!({"schedule": "0 2 * * *"}));
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        snapshot_writes(&api),
        [(
            Method::PATCH,
            "/mco-serve.chat-corpus-20261130t0200z".to_owned()
        )],
        "the latest slot (yesterday 02:00 UTC) is taken at once"
    );
    let taken = api
        .object(&format!("{SNAPSHOTS}/mco-serve.chat-corpus-20261130t0200z"))
        .unwrap();
    assert_eq!(
        taken["spec"]["source"]["persistentVolumeClaimName"],
        "corpus"
    );
    assert_eq!(
        taken["metadata"]["labels"]["modelcompliance.io/slot"],
        "20261130T0200Z"
    );
    assert!(
        taken["metadata"].get("ownerReferences").is_none(),
        "backups are never garbage-collected with the deployment"
    );

    for later in ["2026-12-01T00:00:30Z", "2026-12-01T01:59:00Z"] {
        set_now(later);
        api.clear_log();
        reconcile_once(&api, &mut ctx).await.unwrap();
        assert_eq!(
            snapshot_writes(&api),
            [],
            "same slot at {later}: nothing new"
        );
    }
    // A second replica or a restart (a fresh context) writes the same name, never a second one.
    let mut other = context(&api);
    api.clear_log();
    reconcile_once(&api, &mut other).await.unwrap();
    assert_eq!(snapshot_writes(&api), []);

    set_now("2026-12-01T02:00:05Z");
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        snapshot_writes(&api),
        [(
            Method::PATCH,
            "/mco-serve.chat-corpus-20261201t0200z".to_owned()
        )]
    );
}

#[tokio::test]
async fn slots_missed_while_down_are_caught_up_once() {
    let api = backup_cluster(json!({"schedule": "0 */6 * * *"}));
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    set_now("2026-12-03T13:00:00Z");
    api.clear_log();
    let mut restarted = context(&api);
    reconcile_once(&api, &mut restarted).await.unwrap();
    assert_eq!(
        snapshot_writes(&api),
        [(
            Method::PATCH,
            "/mco-serve.chat-corpus-20261203t1200z".to_owned()
        )],
        "nine slots were missed; only the latest is taken"
    );
}

#[tokio::test]
async fn schedules_are_read_in_their_time_zone_and_the_reconcile_wakes_at_the_next_slot() {
    let api = backup_cluster(json!({"schedule": "30 2 * * *", "timeZone": "Asia/Shanghai"}));
    // 02:30 in Shanghai is 18:30 UTC: the latest slot was yesterday's, the next is in 10 min.
    set_now("2026-12-01T18:20:00Z");
    let ctx = context(&api);
    let action = model_compliance_operator::controller::reconcile::reconcile(current(&api), ctx)
        .await
        .unwrap();
    assert_eq!(
        snapshot_writes(&api),
        [(
            Method::PATCH,
            "/mco-serve.chat-corpus-20261130t1830z".to_owned()
        )]
    );
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(601))
        ),
        "one second past the next slot"
    );
}

#[tokio::test]
async fn retention_keeps_the_newest_by_count_and_age_and_only_touches_the_operators() {
    let api = backup_cluster(json!({"schedule": "0 2 * * *", "retainCount": 3}));
    for (day, ready) in [
        ("26", true),
        ("27", true),
        ("28", false),
        ("29", true),
        ("30", true),
    ] {
        let name = format!("mco-serve.chat-corpus-202611{day}t0200z");
        api.insert(
            &format!("{SNAPSHOTS}/{name}"),
            snapshot_of(
                &name,
                "corpus",
                Some(&format!("202611{day}T0200Z")),
                ready,
                Some("mdep-uid"),
            ),
        );
    }
    api.insert(
        &format!("{SNAPSHOTS}/users-own"),
        snapshot_of("users-own", "corpus", None, true, None),
    );
    api.insert(
        &format!("{SNAPSHOTS}/other-deployment"),
        snapshot_of(
            "other-deployment",
            "corpus",
            Some("20261101T0200Z"),
            true,
            Some("someone-else"),
        ),
    );
    set_now("2026-12-01T03:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut deleted: Vec<String> = snapshot_writes(&api)
        .into_iter()
        .filter(|(m, _)| *m == Method::DELETE)
        .map(|(_, p)| p)
        .collect();
    deleted.sort();
    // Kept: today's (in progress), the three newest ready (30, 29, 27) and the unready 28
    // among them.
    assert_eq!(deleted, ["/mco-serve.chat-corpus-20261126t0200z"]);
    assert!(api.object(&format!("{SNAPSHOTS}/users-own")).is_some());
    assert!(
        api.object(&format!("{SNAPSHOTS}/other-deployment"))
            .is_some()
    );

    // By age: nothing older than a day, except the newest ready one while today's is not
    // ready: it is the only one to restore from.
    with_policy(
        &api,
        json!({"backup": {"schedule": "0 2 * * *", "retainCount": 3, "retainMaxAgeDays": 1}}),
    );
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut deleted: Vec<String> = snapshot_writes(&api)
        .into_iter()
        .filter(|(m, _)| *m == Method::DELETE)
        .map(|(_, p)| p)
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            "/mco-serve.chat-corpus-20261127t0200z",
            "/mco-serve.chat-corpus-20261128t0200z",
            "/mco-serve.chat-corpus-20261129t0200z"
        ]
    );
    assert!(
        api.object(&format!("{SNAPSHOTS}/mco-serve.chat-corpus-20261130t0200z"))
            .is_some()
    );
}

#[tokio::test]
async fn deletion_and_audit_keep_every_backup_unless_the_policy_says_otherwise() {
    let api = backup_cluster(json!({"schedule": "0 2 * * *"}));
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let name = format!("{SNAPSHOTS}/mco-serve.chat-corpus-20261130t0200z");
    assert!(api.object(&name).is_some());

    with_policy(&api, json!({"backup": {"mode": "Audit"}}));
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(snapshot_writes(&api), [], "switched off: kept");

    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    api.insert(MDEP, deleting.clone());
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(snapshot_writes(&api), [], "deleted: kept");
    assert!(api.object(&name).is_some());

    // Asked for: deleted with the deployment.
    let api = backup_cluster(json!({"schedule": "0 2 * * *", "deleteWithDeployment": true}));
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    api.insert(MDEP, deleting);
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        snapshot_writes(&api),
        [(
            Method::DELETE,
            "/mco-serve.chat-corpus-20261130t0200z".to_owned()
        )]
    );
}

#[tokio::test]
async fn without_the_snapshot_api_the_row_says_so_and_nothing_is_written() {
    let api = backup_cluster(json!({"schedule": "0 2 * * *"}));
    set_now("2026-12-01T00:00:00Z");
    let mut s = stores(&api);
    s.volume_snapshot_api = missing();
    reconcile_with(&api, s).await;
    assert_eq!(snapshot_writes(&api), []);
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["status"], "False");
    assert_eq!(row["reason"], "SnapshotApiMissing");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed")
    );
}

// The restore drill.

fn drill_cluster(timeout: i32) -> FakeApi {
    let api = backup_cluster(json!({
        "schedule": "0 2 * * *",
        "restoreDrill": {"schedule": "0 4 * * *", "timeoutSeconds": timeout}
    }));
    let name = "mco-serve.chat-corpus-20261130t0200z";
    let mut ready = snapshot_of(
        name,
        "corpus",
        Some("20261130T0200Z"),
        true,
        Some("mdep-uid"),
    );
    ready["status"]["restoreSize"] = json!("5Gi");
    api.insert(&format!("{SNAPSHOTS}/{name}"), ready);
    api.insert(
        &format!("{CLAIMS}/corpus"),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "corpus", "namespace": "train"},
               "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "fast",
                        "resources": {"requests": {"storage": "4Gi"}}},
               "status": {"phase": "Bound"}}),
    );
    api
}

const DRILL_CLAIM: &str = "mco-serve.chat-drill-corpus-20261201t0400z";

#[tokio::test]
async fn a_drill_restores_the_newest_backup_records_the_result_then_cleans_up() {
    let api = drill_cluster(600);
    set_now("2026-12-01T04:00:10Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let claim = api
        .object(&format!("{CLAIMS}/{DRILL_CLAIM}"))
        .expect("a claim restored from the newest backup");
    assert_eq!(
        claim["spec"]["dataSource"],
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
               "name": "mco-serve.chat-corpus-20261130t0200z"})
    );
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "5Gi");
    assert_eq!(claim["spec"]["storageClassName"], "fast");
    assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteMany"]));
    assert_eq!(condition(&api, "M81e-RestoreVerified")["status"], "Unknown");

    // A newer backup becoming ready meanwhile changes nothing: a claim's source is fixed.
    let newer = "mco-serve.chat-corpus-20261201t0200z";
    api.insert(
        &format!("{SNAPSHOTS}/{newer}"),
        snapshot_of(
            newer,
            "corpus",
            Some("20261201T0200Z"),
            true,
            Some("mdep-uid"),
        ),
    );
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(
        api.writes().iter().all(|r| !r.path.starts_with(CLAIMS)),
        "{:#?}",
        api.writes()
    );
    let claim = api.object(&format!("{CLAIMS}/{DRILL_CLAIM}")).unwrap();

    // It binds (a CSI driver would set this) 25 s after it was created.
    let mut bound = claim;
    bound["metadata"]["creationTimestamp"] = json!("2026-12-01T04:00:10Z");
    bound["status"] = json!({"phase": "Bound"});
    api.insert(&format!("{CLAIMS}/{DRILL_CLAIM}"), bound);
    set_now("2026-12-01T04:00:35Z");
    reconcile_once(&api, &mut ctx).await.unwrap();
    let verified = condition(&api, "M81e-RestoreVerified");
    assert_eq!(verified["status"], "True", "{verified}");
    let drill = &api.object(MDEP).unwrap()["status"]["backup"]["restoreDrill"];
    assert_eq!(drill["outcome"], "Succeeded");
    assert_eq!(drill["slot"], "2026-12-01T04:00:00Z");
    assert_eq!(drill["volumes"][0]["secondsToBind"], 25);
    assert_eq!(
        drill["volumes"][0]["snapshot"],
        "mco-serve.chat-corpus-20261130t0200z"
    );

    // Recorded: the restored claim goes, the result stays.
    set_now("2026-12-01T04:01:00Z");
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(
        paths(&api.writes(), Method::DELETE),
        [format!("{CLAIMS}/{DRILL_CLAIM}")]
    );
    assert_eq!(condition(&api, "M81e-RestoreVerified")["status"], "True");
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(api.log(), vec![], "nothing more until the next drill");
}

#[tokio::test]
async fn a_drill_that_does_not_bind_in_time_fails_naming_the_snapshot() {
    let api = drill_cluster(60);
    set_now("2026-12-01T04:00:10Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(&format!("{CLAIMS}/{DRILL_CLAIM}")).is_some());
    set_now("2026-12-01T04:01:30Z");
    reconcile_once(&api, &mut ctx).await.unwrap();
    let verified = condition(&api, "M81e-RestoreVerified");
    assert_eq!(verified["status"], "False");
    assert_eq!(verified["reason"], "RestoreFailed");
    let message = verified["message"].as_str().unwrap();
    assert!(
        message.contains(
            "restored from mco-serve.chat-corpus-20261130t0200z did not bind within 60 s"
        ),
        "{message}"
    );
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["status"], "False", "a failed drill is a finding: {row}");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("did not bind within 60 s")
    );
    // The claim is cleaned up; the failure stays until the next drill.
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(&format!("{CLAIMS}/{DRILL_CLAIM}")).is_none());
    assert_eq!(condition(&api, "M81e-RestoreVerified")["status"], "False");
}

#[tokio::test]
async fn a_drill_without_a_ready_backup_fails_at_once() {
    let api = drill_cluster(600);
    let mut unready = api
        .object(&format!("{SNAPSHOTS}/mco-serve.chat-corpus-20261130t0200z"))
        .unwrap();
    unready["status"]["readyToUse"] = json!(false);
    api.insert(
        &format!("{SNAPSHOTS}/mco-serve.chat-corpus-20261130t0200z"),
        unready,
    );
    set_now("2026-12-01T04:00:10Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert!(api.object(&format!("{CLAIMS}/{DRILL_CLAIM}")).is_none());
    let verified = condition(&api, "M81e-RestoreVerified");
    assert_eq!(verified["status"], "False");
    assert!(
        verified["message"]
            .as_str()
            .unwrap()
            .contains("no ready backup of train/corpus to restore")
    );
}

/// The compliant example writes the sidecar entry into its GitOps source: it must be exactly
/// what the operator injects, or the GitOps tool and the operator would each keep rewriting
/// the fields they disagree on.
#[test]
fn the_example_carries_exactly_the_entries_the_operator_injects() {
    use k8s_openapi::api::apps::v1::Deployment;
    use model_compliance_operator::api::{CompliancePolicy, ModelDeployment};
    use model_compliance_operator::snapshot::Snapshot;
    use serde::Deserialize;

    fn documents(path: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(path).unwrap();
        serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).unwrap())
            .filter(|v| !v.is_null())
            .collect()
    }
    let policy: CompliancePolicy =
        serde_json::from_value(documents("examples/policies/public-service.yaml").remove(0))
            .unwrap();
    let mut deployment: ModelDeployment =
        serde_json::from_value(documents("examples/compliant/modeldeployment.yaml").remove(0))
            .unwrap();
    deployment.metadata.uid = Some("uid".into());
    let workload: Deployment = serde_json::from_value(
        documents("examples/compliant/inference.yaml")
            .into_iter()
            .find(|d| d["kind"] == "Deployment")
            .unwrap(),
    )
    .unwrap();
    let namespace = workload.metadata.namespace.clone().unwrap();
    let mut snapshot = Snapshot {
        volume_snapshot_api_missing: true,
        ..Default::default()
    };
    snapshot
        .ns_mut(&namespace)
        .apps_deployments
        .push(workload.clone());
    let desired = model_compliance_operator::desired::desired(
        &policy,
        &deployment,
        &snapshot,
        false,
        k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
    );
    let injected = &desired.deployment_sidecars[0].spec.template.spec;
    let pod = workload.spec.unwrap().template.spec.unwrap();
    let written = pod
        .containers
        .iter()
        .find(|c| c.name == "aigc-labeler")
        .unwrap();
    assert_eq!(
        serde_json::to_value(written).unwrap(),
        serde_json::to_value(&injected.containers[0]).unwrap()
    );
    for volume in &injected.volumes {
        let theirs = pod.volumes.iter().flatten().find(|v| v.name == volume.name);
        assert_eq!(theirs, Some(volume));
    }
}

// The Velero engine.

const VELERO_SCHEDULE: &str =
    "/apis/velero.io/v1/namespaces/velero/schedules/mco-serve.chat-backups";

fn velero_backup(name: &str, completed: &str, namespaces: Value) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Backup",
           "metadata": {"name": name, "namespace": "velero",
                        "labels": {"velero.io/schedule-name": "mco-serve.chat-backups"}},
           "spec": {"includedNamespaces": namespaces},
           "status": {"phase": "Completed", "completionTimestamp": completed}})
}

#[tokio::test]
async fn the_velero_engine_owns_one_schedule_and_judges_its_newest_backup() {
    let api = backup_cluster(json!({
        "engine": "Velero", "schedule": "0 2 * * *", "timeZone": "Asia/Shanghai", "retainCount": 7
    }));
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let applied = api
        .writes()
        .into_iter()
        .find(|r| r.path == VELERO_SCHEDULE)
        .expect("the Schedule is applied");
    assert_eq!(applied.field_manager(), Some("model-compliance-operator"));
    let schedule = api.object(VELERO_SCHEDULE).unwrap();
    assert_eq!(
        schedule["spec"],
        json!({"schedule": "CRON_TZ=Asia/Shanghai 0 2 * * *",
               "template": {"includedNamespaces": ["serve", "train"], "ttl": "168h0m0s"}})
    );
    assert!(
        snapshot_writes(&api).is_empty(),
        "no VolumeSnapshots with Velero"
    );
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["reason"], "NoBackup", "{row}");

    // Velero ran it: a completed backup of both namespaces three hours ago.
    api.insert(
        "/apis/velero.io/v1/namespaces/velero/backups/b1",
        velero_backup("b1", "2026-11-30T21:00:00Z", json!(["serve", "train"])),
    );
    reconcile_once(&api, &mut ctx).await.unwrap();
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["status"], "True", "{row}");
    assert_eq!(row["reason"], "BackupsCurrent", "{row}");
    assert_eq!(row["message"], "", "a met row's reason says it: {row}");

    // A day and a half later without a new one: too old.
    set_now("2026-12-02T09:00:00Z");
    reconcile_once(&api, &mut ctx).await.unwrap();
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["reason"], "BackupTooOld", "{row}");

    // Back to VolumeSnapshots: the Schedule goes (Velero's backups stay Velero's).
    with_policy(&api, json!({"backup": {"schedule": "0 2 * * *"}}));
    api.clear_log();
    reconcile_once(&api, &mut ctx).await.unwrap();
    assert_eq!(paths(&api.writes(), Method::DELETE), [VELERO_SCHEDULE]);
    assert!(
        api.object("/apis/velero.io/v1/namespaces/velero/backups/b1")
            .is_some()
    );
}

#[tokio::test]
async fn without_velero_the_row_says_so() {
    let api = backup_cluster(json!({"engine": "Velero"}));
    let mut s = stores(&api);
    s.velero_backup_api = missing();
    reconcile_with(&api, s).await;
    assert!(api.writes().iter().all(|r| !r.path.contains("velero.io")));
    let row = condition(&api, "M81e-BackupsCurrent");
    assert_eq!(row["reason"], "VeleroMissing");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("Velero (velero.io/v1 Schedules and Backups) is not installed")
    );
}

/// With all five controls on (isolation, access control, backups with a drill, the sidecar,
/// and the kill switch engaged), a settled deployment makes no request between slots.
#[tokio::test]
async fn with_all_five_controls_a_settled_deployment_makes_no_request() {
    let api = cluster();
    with_policy(
        &api,
        json!({
            "isolation": {"allowedNamespaces": ["monitoring"]},
            "accessControl": {"readers": [{"kind": "Group", "name": "stewards"}]},
            "backup": {"schedule": "0 2 * * *", "restoreDrill": {"schedule": "0 4 * * 0"}},
            "sidecar": {"mode": "Enforce"}
        }),
    );
    let mut d = deployment();
    d["spec"]["service"] = json!({"provider": "Example AI Co."});
    d["spec"]["suspend"] = json!(true);
    d["metadata"]["creationTimestamp"] = json!("2026-12-01T09:00:00Z");
    api.insert(MDEP, d);
    set_now("2026-12-01T10:00:00Z");
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let written: Vec<String> = non_event_writes(&api)
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    for part in [
        "networkpolicies/mco-serve.chat-isolate-training",
        "networkpolicies/mco-chat-suspend",
        "roles/mco-serve.chat-training-data-reader",
        "/secrets",
        "deployments/chat",
        "volumesnapshots/mco-serve.chat-corpus-20261201t0200z",
    ] {
        assert!(
            written.iter().any(|w| w.contains(part)),
            "{part} in {written:#?}"
        );
    }
    let conditions = api.object(MDEP).unwrap()["status"]["conditions"].clone();
    assert!(
        conditions
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] != "M81e-RestoreVerified"),
        "the last drill slot (Sunday) came before the deployment existed: none is owed yet"
    );
    for later in ["2026-12-01T10:00:05Z", "2026-12-01T23:59:00Z"] {
        set_now(later);
        api.clear_log();
        reconcile_once(&api, &mut ctx).await.unwrap();
        assert_eq!(api.log(), vec![], "settled at {later}: not one request");
    }
}

#[tokio::test]
async fn stateful_sets_get_the_same_entries_and_missing_workloads_are_skipped() {
    let api = sidecar_cluster();
    let mut d = api.object(MDEP).unwrap();
    d["spec"]["inference"]["workloads"] = json!([
        {"kind": "StatefulSet", "name": "chat-cache"},
        {"kind": "Deployment", "name": "not-there"}
    ]);
    api.insert(MDEP, d);
    api.insert(
        "/apis/apps/v1/namespaces/serve/statefulsets/chat-cache",
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "chat-cache", "namespace": "serve"},
               "spec": {"selector": {"matchLabels": {"app": "chat"}}, "serviceName": "chat",
                        "template": {"metadata": {"labels": {"app": "chat"}},
                                     "spec": {"containers": [{"name": "model", "image": "m"}]}}}}),
    );
    let mut ctx = context(&api);
    reconcile_once(&api, &mut ctx).await.unwrap();
    let writes = non_event_writes(&api);
    let patched: Vec<&str> = writes
        .iter()
        .filter(|r| r.path.starts_with("/apis/apps/"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        patched,
        ["/apis/apps/v1/namespaces/serve/statefulsets/chat-cache"],
        "a workload that does not exist is never created by an apply of entries alone"
    );
    let patch = writes
        .iter()
        .find(|r| r.path.ends_with("/chat-cache"))
        .unwrap();
    assert_eq!(
        patch.field_manager(),
        Some("model-compliance-operator-sidecar")
    );
    assert_eq!(patch.body.as_ref().unwrap()["kind"], "StatefulSet");
    let measure = condition(&api, "M81b-ContentSafetyFiltered");
    assert!(
        measure["message"].as_str().unwrap().contains(
            "Deployment serve/not-there named in spec.inference.workloads does not exist"
        ),
        "{measure}"
    );
}

/// `(API group, resource, verb)`.
type Grant = (String, String, String);

/// What an API request needs: `(group, resource, verb)`. A server-side apply that creates its
/// object (absent from `before`) needs `create` as well as `patch`.
fn needs(r: &Logged, before: &std::collections::BTreeSet<String>) -> Vec<Grant> {
    let (group, rest) = match r.path.strip_prefix("/api/v1/") {
        Some(rest) => ("", rest),
        None => {
            let rest = r.path.strip_prefix("/apis/").expect("an API path");
            let mut parts = rest.splitn(3, '/');
            let group = parts.next().unwrap();
            parts.next();
            (group, parts.next().unwrap_or(""))
        }
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (resource, name, sub) = match segments.as_slice() {
        ["namespaces", _, resource, tail @ ..] | [resource, tail @ ..] => {
            (*resource, tail.first().copied(), tail.get(1).copied())
        }
        _ => panic!("unexpected path {}", r.path),
    };
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_owned(),
    };
    let verbs: Vec<&str> = match r.method {
        Method::POST => vec!["create"],
        Method::DELETE => vec!["delete"],
        Method::PATCH if sub.is_none() && !before.contains(&r.path) => vec!["patch", "create"],
        Method::PATCH => vec!["patch"],
        Method::GET if name.is_some() => vec!["get"],
        Method::GET => vec!["list"],
        ref m => panic!("unexpected method {m}"),
    };
    verbs
        .into_iter()
        .map(|v| (group.to_owned(), resource.clone(), v.to_owned()))
        .collect()
}

/// Reconciles once and adds what its requests needed to `grants`.
async fn reconcile_recording(
    api: &FakeApi,
    ctx: &mut std::sync::Arc<model_compliance_operator::controller::Context>,
    grants: &mut std::collections::BTreeSet<Grant>,
) {
    let before: std::collections::BTreeSet<String> = api.paths().into_iter().collect();
    api.clear_log();
    reconcile_once(api, ctx).await.unwrap();
    for r in api.log() {
        grants.extend(needs(&r, &before));
    }
}

/// The operator's ClusterRole in the chart, as `(group, resource, verb)`.
fn chart_grants() -> std::collections::BTreeSet<Grant> {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/model-compliance-operator/templates/clusterrole-operator.yaml"
    ))
    .unwrap();
    // The ClusterRole is the first document; its rules hold no template expressions.
    let role: String = template
        .split("\n---")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.contains("{{"))
        .collect::<Vec<_>>()
        .join("\n");
    let role: Value = serde_yaml_ng::from_str(&role).unwrap();
    let mut grants = std::collections::BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    grants.insert((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    grants
}

/// The chart grants the operator exactly what its code asks of the API: the requests of
/// reconciles that use every control (applying, creating once, releasing, deleting, the
/// restore drill, both backup engines, cleanup on deletion), and `get`, `list` and `watch` of
/// every kind its caches watch (recorded by the caches as they are built). Two grants follow
/// from the API server's rules rather than from a request: `escalate` and `bind` on Roles,
/// because the operator writes Roles granting what it does not hold itself and binds them;
/// and `patch` on Events, with which the event recorder counts a repeated Event in its series.
#[tokio::test]
async fn the_chart_grants_exactly_the_calls_the_operator_makes() {
    use std::collections::BTreeSet;
    let mut grants: BTreeSet<Grant> = BTreeSet::new();

    // The sidecar (in a Deployment and a StatefulSet), isolation, access control; then the
    // deployment is deleted.
    let api = cluster();
    with_provider(&api);
    let mut d = api.object(MDEP).unwrap();
    d["spec"]["inference"]["workloads"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kind": "StatefulSet", "name": "chat-cache"}));
    api.insert(MDEP, d);
    api.insert(
        "/apis/apps/v1/namespaces/serve/statefulsets/chat-cache",
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "chat-cache", "namespace": "serve"},
               "spec": {"selector": {"matchLabels": {"app": "chat"}}, "serviceName": "chat",
                        "template": {"metadata": {"labels": {"app": "chat"}},
                                     "spec": {"containers": [{"name": "model", "image": "m"}]}}}}),
    );
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_recording(&api, &mut ctx, &mut grants).await;
    let mut deleting = api.object(MDEP).unwrap();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:01:00Z");
    api.insert(MDEP, deleting);
    reconcile_recording(&api, &mut ctx, &mut grants).await;

    // Snapshots taken and released by retention.
    let api = backup_cluster(json!({"schedule": "0 2 * * *", "retainCount": 1}));
    for (name, slot) in [
        ("mco-serve.chat-corpus-20261128t0200z", "20261128T0200Z"),
        ("mco-serve.chat-corpus-20261129t0200z", "20261129T0200Z"),
    ] {
        api.insert(
            &format!("{SNAPSHOTS}/{name}"),
            snapshot_of(name, "corpus", Some(slot), true, Some("mdep-uid")),
        );
    }
    let mut ctx = context(&api);
    reconcile_recording(&api, &mut ctx, &mut grants).await;

    // A restore drill: its claim created, then deleted once recorded.
    let api = drill_cluster(600);
    set_now("2026-12-01T04:00:10Z");
    let mut ctx = context(&api);
    reconcile_recording(&api, &mut ctx, &mut grants).await;
    let claim = format!("{CLAIMS}/{DRILL_CLAIM}");
    let mut bound = api.object(&claim).expect("the drill's claim");
    bound["metadata"]["creationTimestamp"] = json!("2026-12-01T04:00:10Z");
    bound["status"] = json!({"phase": "Bound"});
    api.insert(&claim, bound);
    set_now("2026-12-01T04:00:35Z");
    reconcile_recording(&api, &mut ctx, &mut grants).await;
    set_now("2026-12-01T04:01:00Z");
    reconcile_recording(&api, &mut ctx, &mut grants).await;
    assert!(api.object(&claim).is_none(), "the drill's claim is deleted");

    // Velero: its Schedule applied, then released when the engine changes.
    let api = backup_cluster(json!({"engine": "Velero", "schedule": "0 2 * * *"}));
    set_now("2026-12-01T00:00:00Z");
    let mut ctx = context(&api);
    reconcile_recording(&api, &mut ctx, &mut grants).await;
    with_policy(&api, json!({"backup": {"schedule": "0 2 * * *"}}));
    reconcile_recording(&api, &mut ctx, &mut grants).await;

    // What the caches watch, as they register it when built.
    let sync = model_compliance_operator::controller::readiness::CacheSync::default();
    let _caches = model_compliance_operator::controller::stores::all(
        &FakeApi::new().client(),
        &sync,
        &Default::default(),
    );
    for (group, resource) in sync.watched() {
        for verb in ["get", "list", "watch"] {
            grants.insert((group.clone(), resource.clone(), verb.to_owned()));
        }
    }
    // Rules of the API server, not requests (see above).
    let rbac = "rbac.authorization.k8s.io";
    if grants.contains(&(rbac.into(), "roles".into(), "create".into())) {
        grants.insert((rbac.into(), "roles".into(), "escalate".into()));
        grants.insert((rbac.into(), "roles".into(), "bind".into()));
    }
    grants.insert(("events.k8s.io".into(), "events".into(), "patch".into()));

    let chart = chart_grants();
    let missing: Vec<&Grant> = grants.difference(&chart).collect();
    let unused: Vec<&Grant> = chart.difference(&grants).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "the chart's ClusterRole differs from what the operator uses.\nmissing: {missing:#?}\nnot used: {unused:#?}"
    );
    // Secrets: only created, never read, changed or deleted.
    let secrets: Vec<&str> = grants
        .iter()
        .filter(|(g, r, _)| g.is_empty() && r == "secrets")
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert_eq!(secrets, ["create"]);
    assert!(
        chart
            .iter()
            .all(|(g, r, v)| g != "*" && r != "*" && v != "*"),
        "no wildcard"
    );
}
