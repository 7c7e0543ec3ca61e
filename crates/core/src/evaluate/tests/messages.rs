//! Messages stay under 1 KiB however many things fail, and still name what is missing.

use super::*;

#[test]
fn messages_stay_under_1_kib_with_200_failing_datasets() {
    let mut f = Fixture::baseline();
    f.training().datasets = (0..200)
        .map(|i| {
            from_json(json!({
                "name": format!("scraped-forum-dump-{i:03}"),
                "uri": format!("s3://datasets/scraped-forum-dump-{i:03}"),
                "acquisition": "Crawled",
                "containsPersonalInfo": true,
                "lastUpdated": "2019-01-01"
            }))
        })
        .collect();
    f.training().annotation_batches = (0..200)
        .map(|i| batch(&format!("batch-{i:03}"), 100, 50, false))
        .collect();
    let eval = f.evaluate();
    for n in [4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 22, 42] {
        assert_eq!(
            eval.row(n).state,
            State::NonCompliant,
            "{}",
            describe([eval.row(n)])
        );
    }
    for d in &eval.decisions {
        assert!(
            d.message.len() < 1024,
            "{} message is {} bytes:\n{}",
            d.id,
            d.message.len(),
            d.message
        );
    }
    assert!(
        eval.row(6).message.contains("scraped-forum-dump-000"),
        "{}",
        eval.row(6).message
    );
    assert!(
        eval.row(6).message.contains("and 192 more"),
        "{}",
        eval.row(6).message
    );
    assert!(
        eval.row(12).message.contains("more"),
        "{}",
        eval.row(12).message
    );
}

#[test]
fn messages_stay_under_1_kib_with_long_dataset_names() {
    let mut f = Fixture::baseline();
    f.training().datasets = (0..200)
        .map(|i| {
            from_json(
                json!({ "name": format!("{i:03}-{}", "x".repeat(240)), "uri": "s3://datasets/x" }),
            )
        })
        .collect();
    let eval = f.evaluate();
    for d in &eval.decisions {
        assert!(
            d.message.len() < 1024,
            "{} message is {} bytes",
            d.id,
            d.message.len()
        );
    }
}

#[test]
fn join_keeps_parts_within_the_limit() {
    let parts = (0..100).map(|i| format!("part number {i:03} of a long list"));
    let joined = join(parts);
    assert!(joined.len() < 1024, "{}", joined.len());
    assert!(joined.starts_with("part number 000"));
    assert!(joined.ends_with(" more"), "{joined}");
}

#[test]
fn a_single_long_finding_still_names_what_is_missing() {
    assert!(join(std::iter::once("x".repeat(950))).contains('x'));
    // In an evaluation: one inference pod that mounts many long-named training claims.
    let mut f = Fixture::baseline();
    let claims: Vec<String> = (0..20)
        .map(|i| format!("training-shard-{i:02}-of-the-2026-pretraining-corpus"))
        .collect();
    f.training().data_volumes = claims.clone();
    let mut spec = inference_pod_spec();
    for c in &claims {
        spec["volumes"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "name": c, "persistentVolumeClaim": { "claimName": c } }));
    }
    share_namespace(&mut f, spec, "node-b");
    let eval = f.evaluate();
    let d = eval.measure(Measure::Isolation);
    assert_eq!(d.reason, "SharedVolume");
    assert!(d.message.contains("server-0"), "{}", d.message);
    assert!(
        eval.row(19)
            .message
            .starts_with("see M81a-TrainingInferenceIsolated"),
        "the row points at the measure, which names the pod: {}",
        eval.row(19).message
    );
}

/// The status of a deployment with many open findings stays within 8 KiB, every condition kept:
/// the bytes a write and every watcher of ModelDeployments pay for.
#[test]
fn status_bytes_stay_bounded() {
    use crate::conditions::{Progress, status};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let mut f = Fixture::baseline();
    f.ns(INFERENCE_NS).pods.clear();
    f.training().datasets.clear();
    let e = f.evaluate();
    let mut s = status(
        &e,
        &Progress::Applied { suspended: false },
        Some(7),
        &[],
        &Time(f.now),
    );
    // The operator adds when the earliest evidence lapses.
    s.evidence_expiry = Some(Time(f.now));
    let bytes = serde_json::to_vec(&s).unwrap().len();
    let open = e.findings.len();
    println!(
        "status of {} conditions and {open} findings: {bytes} bytes",
        s.conditions.len()
    );
    assert!(open >= 10, "a status with many findings: {open}");
    assert!(bytes <= 8_192, "{bytes} bytes");
}
