//! The labeling sidecar, which rows 27 and 37 and measure 8.1b rest on: present, ready, the
//! expected image, and in the path of the inference Service.

use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::api::EnforcementMode;

/// The inference pod with the named containers removed.
fn without_container(mut pod: Pod, name: &str) -> Pod {
    pod.spec
        .as_mut()
        .unwrap()
        .containers
        .retain(|c| c.name != name);
    if let Some(statuses) = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
    {
        statuses.retain(|c| c.name != name);
    }
    pod
}

#[test]
fn sidecar_missing_in_audit_mode() {
    let mut f = Fixture::baseline();
    f.policy().controls.sidecar.mode = EnforcementMode::Audit;
    f.ns(INFERENCE_NS).pods = vec![without_container(inference_pod("server-0"), "aigc-labeler")];
    let eval = f.evaluate();
    assert_sidecar_rows(
        &eval,
        State::NonCompliant,
        "SidecarMissing",
        "1 of 1 inference pods lack(s) the aigc-labeler container",
    );
    assert_eq!(eval.row(37).severity, Severity::Critical);
    assert_eq!(eval.row(27).severity, Severity::High);
    assert_eq!(eval.risk, RiskLevel::Critical);
}

#[test]
fn without_a_provider_the_missing_sidecar_cannot_be_injected() {
    let mut f = Fixture::baseline();
    f.service().provider = None;
    // Present everywhere: nothing to inject, nothing to say.
    assert_eq!(f.evaluate().row(37).state, State::Compliant);
    f.ns(INFERENCE_NS).pods = vec![without_container(inference_pod("server-0"), "aigc-labeler")];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "ProviderMissing",
        "1 of 1 inference pods lack(s) the aigc-labeler container, and the operator cannot inject it: spec.service.provider",
    );
}

#[test]
fn sidecar_missing_in_a_live_cluster_is_unmet_even_in_enforce_mode() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).pods = vec![without_container(inference_pod("server-0"), "aigc-labeler")];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarMissing",
        "1 of 1 inference pods lack(s) the aigc-labeler container",
    );
}

#[test]
fn sidecar_not_ready() {
    let mut f = Fixture::baseline();
    set_container_ready(f.pod(INFERENCE_NS, "server-0"), "aigc-labeler", false);
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarNotReady",
        "aigc-labeler is not ready in 1 of 1 inference pods",
    );
    // The model container's readiness is not the sidecar's.
    let mut f = Fixture::baseline();
    set_container_ready(f.pod(INFERENCE_NS, "server-0"), "model-server", false);
    assert_eq!(
        measure_of(&f, Measure::ContentSafety).state,
        State::Compliant
    );
}

#[test]
fn sidecar_bypassed_by_the_service() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!(8000))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarBypassed",
        "Service llm-serve/llm port 80 targets 8000, bypassing aigc-labeler on port 8480",
    );
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!("http-model"))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarBypassed",
        "targets http-model",
    );
}

#[test]
fn sidecar_named_target_port_is_followed() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!("http-labeled"))];
    assert_sidecar_rows(
        &f.evaluate(),
        State::Compliant,
        "SidecarInPlace",
        "Service routed through port 8480",
    );
}

#[test]
fn sidecar_image_must_match() {
    let mut f = Fixture::baseline();
    let server = f.pod(INFERENCE_NS, "server-0");
    server.spec.as_mut().unwrap().containers[1].image = Some("example.com/fake-labeler:9".into());
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "SidecarImageMismatch",
        "1 of 1 inference pods run(s) aigc-labeler image example.com/fake-labeler:9 instead of ghcr.io/model-compliance-operator/aigc-labeler:0.1.0",
    );
}

#[test]
fn sidecar_service_and_workload_must_exist_in_the_cluster() {
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).services.clear();
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "ServiceMissing",
        "Service llm-serve/llm does not exist",
    );
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).apps_deployments.clear();
    assert_sidecar_rows(
        &f.evaluate(),
        State::NonCompliant,
        "WorkloadMissing",
        "Deployment llm-serve/server named in spec.inference.workloads does not exist",
    );
}

#[test]
fn named_service_must_select_the_inference_pods() {
    let mut f = Fixture::baseline();
    let mut elsewhere = service(INFERENCE_NS, "llm", json!(8480));
    elsewhere.spec.as_mut().unwrap().selector =
        Some([("app".to_owned(), "something-else".to_owned())].into());
    f.ns(INFERENCE_NS).services = vec![elsewhere];
    assert_decision(
        &measure_of(&f, Measure::ContentSafety),
        State::NonCompliant,
        "ServiceSelectsOtherPods",
        &["Service llm-serve/llm does not select the inference pods"],
    );
}

#[test]
fn sidecar_rows_are_high_for_a_non_public_service() {
    let mut f = Fixture::baseline();
    f.service().public = false;
    f.ns(INFERENCE_NS).services = vec![service(INFERENCE_NS, "llm", json!(8000))];
    let eval = f.evaluate();
    assert_eq!(eval.row(37).severity, Severity::High);
    assert_eq!(eval.risk, RiskLevel::High);
}

/// Pods come and go under generated names: which pod is unready, or how many replicas run,
/// changes no message as long as the decision stays, so it changes no status.
#[test]
fn pods_replaced_or_scaled_change_no_message() {
    let messages = |f: &Fixture| {
        let e = f.evaluate();
        let mut messages = [27u8, 37].map(|r| e.row(r).message.clone()).to_vec();
        messages.push(e.measure(Measure::ContentSafety).message.clone());
        messages
    };
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).pods = ["server-a", "server-b"].map(inference_pod).to_vec();
    let settled = messages(&f);
    f.ns(INFERENCE_NS).pods = ["server-c", "server-d", "server-e"]
        .map(inference_pod)
        .to_vec();
    assert_eq!(messages(&f), settled, "scaled and replaced, all ready");

    let unready = |names: [&str; 3], down: &str| {
        names
            .map(|n| {
                let mut p = inference_pod(n);
                set_container_ready(&mut p, "aigc-labeler", n != down);
                p
            })
            .to_vec()
    };
    f.ns(INFERENCE_NS).pods = unready(["server-a", "server-b", "server-c"], "server-a");
    let one_down = messages(&f);
    assert_ne!(one_down, settled);
    f.ns(INFERENCE_NS).pods = unready(["server-x", "server-b", "server-c"], "server-c");
    assert_eq!(
        messages(&f),
        one_down,
        "another pod unready, one of three still: the same decision and message"
    );
}
