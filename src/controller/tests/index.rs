//! The caches' indexes by label and claim change what a snapshot visits, never what it holds:
//! for generated namespaces of pods, policies and snapshots, and deployments with selectors of
//! every form, a snapshot read through the indexes equals one read by visiting every object.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Resource;
use kube::runtime::watcher;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::api::{CompliancePolicy, ModelDeployment};
use crate::controller::cache::Cache;
use crate::controller::slim::SlimPod;
use crate::controller::stores::{Stores, Trim};
use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};
use crate::snapshot::VolumeSnapshot;

/// A label selector of any form over a small alphabet, so that objects often match.
fn selector() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec!["role", "app"]);
    let values = || prop::sample::select(vec!["a", "b", "c"]);
    let pairs = prop::collection::btree_map(keys.clone(), values(), 0..=2);
    let operator = prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]);
    let expression = (keys, operator, prop::collection::vec(values(), 0..=2)).prop_map(
        |(key, operator, values)| match operator {
            "Exists" | "DoesNotExist" => json!({"key": key, "operator": operator}),
            _ => json!({"key": key, "operator": operator, "values": values}),
        },
    );
    (pairs, prop::option::of(expression)).prop_map(|(pairs, expression)| {
        let mut s = json!({});
        if !pairs.is_empty() {
            s["matchLabels"] = json!(pairs);
        }
        if let Some(e) = expression {
            s["matchExpressions"] = json!([e]);
        }
        s
    })
}

fn labels() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec!["role", "app"]);
    let values = prop::sample::select(vec!["a", "b", "c"]);
    prop::collection::btree_map(keys, values, 0..=2).prop_map(|l| json!(l))
}

fn claim() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["corpus", "labels", "scratch", "weights"])
}

/// `ipBlock` peers, peers of every pod, of selected pods, and of pods of other namespaces.
fn peer() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"ipBlock": {"cidr": "10.0.0.0/8"}})),
        Just(json!({})),
        selector().prop_map(|s| json!({ "podSelector": s })),
        selector().prop_map(|s| json!({
            "podSelector": s,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "elsewhere"}}
        })),
    ]
}

/// Whose pods a policy selects: pods of a generated selector, or exactly those of the
/// deployment's own training or inference selector (a deny-all of its servers).
#[derive(Clone, Copy, Debug)]
enum Own {
    No,
    Training,
    Inference,
}

#[derive(Debug)]
struct World {
    training: Value,
    inference: Value,
    pods: Vec<(Value, &'static str, &'static str)>,
    /// Selector (replaced by the training or inference selector for `Own`), peers, whether
    /// made for this deployment, namespace.
    policies: Vec<(Value, Own, Vec<Value>, bool, &'static str)>,
    snapshots: Vec<(&'static str, bool, bool)>,
}

fn world() -> impl Strategy<Value = World> {
    let namespace = prop::sample::select(vec!["train", "serve"]);
    (
        selector(),
        selector(),
        prop::collection::vec((labels(), claim(), namespace.clone()), 0..32),
        prop::collection::vec(
            (
                selector(),
                prop::sample::select(vec![Own::No, Own::No, Own::Training, Own::Inference]),
                prop::collection::vec(peer(), 0..3),
                any::<bool>(),
                namespace,
            ),
            0..8,
        ),
        prop::collection::vec((claim(), any::<bool>(), any::<bool>()), 0..8),
    )
        .prop_map(|(training, inference, pods, policies, snapshots)| World {
            training,
            inference,
            pods,
            policies,
            snapshots,
        })
}

fn object<K: serde::de::DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).unwrap()
}

/// The same objects in caches with their kinds' indexes, and in caches without any.
fn stores(world: &World, indexed: bool) -> Stores {
    fn cache<K: Resource + Trim>(objects: Vec<K>, indexed: bool) -> Cache<K> {
        let cache = if indexed {
            Cache::for_kind()
        } else {
            Cache::default()
        };
        for o in objects {
            cache.apply(watcher::Event::Apply(o));
        }
        cache
    }
    let made_for = |i: usize, mine: bool| {
        let uid = if mine { "mdep-uid" } else { "other-uid" };
        json!({ MANAGED_BY.0: MANAGED_BY.1, DEPLOYMENT_UID: uid, "n": i.to_string() })
    };
    let pods: Vec<SlimPod> = world
        .pods
        .iter()
        .enumerate()
        .map(|(i, (labels, claim, ns))| {
            object(json!({
                "metadata": {"name": format!("pod-{i}"), "namespace": ns, "labels": labels},
                "spec": {"containers": [{"name": "c", "image": "i"}],
                         "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim}}]}
            }))
        })
        .collect();
    let policies: Vec<NetworkPolicy> = world
        .policies
        .iter()
        .enumerate()
        .map(|(i, (selector, own, peers, mine, ns))| {
            let selector = match own {
                Own::No => selector,
                Own::Training => &world.training,
                Own::Inference => &world.inference,
            };
            object(json!({
                "metadata": {"name": format!("np-{i}"), "namespace": ns,
                             "labels": if i % 2 == 0 { made_for(i, *mine) } else { json!({}) }},
                "spec": {"podSelector": selector, "ingress": [{"from": peers}]}
            }))
        })
        .collect();
    let snapshots: Vec<VolumeSnapshot> = world
        .snapshots
        .iter()
        .enumerate()
        .map(|(i, (claim, ready, mine))| {
            object(json!({
                "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": format!("vs-{i}"), "namespace": "train",
                             "labels": made_for(i, *mine)},
                "spec": {"source": {"persistentVolumeClaimName": claim}},
                "status": {"readyToUse": ready}
            }))
        })
        .collect();
    let mut stores = Stores::empty();
    stores.pods = cache(pods, indexed);
    stores.network_policies = cache(policies, indexed);
    stores.volume_snapshots = cache(snapshots, indexed);
    stores
}

fn names<K: Resource>(objects: &[K]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_snapshot_through_the_indexes_equals_one_that_visits_everything(world in world()) {
        let mut deployment = api_stand_in::fixtures::chat_deployment();
        deployment["metadata"]["uid"] = json!("mdep-uid");
        deployment["spec"]["training"]["podSelector"] = world.training.clone();
        deployment["spec"]["training"]["safetyAnnotationVolumes"] = json!(["labels"]);
        deployment["spec"]["training"]["dataVolumes"] = json!(["corpus"]);
        deployment["spec"]["inference"]["podSelector"] = world.inference.clone();
        let deployment: ModelDeployment = object(deployment);
        let policy: CompliancePolicy = object(json!({
            "apiVersion": "modelcompliance.io/v1alpha1", "kind": "CompliancePolicy",
            "metadata": {"name": "p"}, "spec": {}
        }));
        let fast = stores(&world, true).snapshot(&policy, &deployment);
        let full = stores(&world, false).snapshot(&policy, &deployment);
        for ns in ["train", "serve"] {
            let (fast, full) = (fast.ns(ns), full.ns(ns));
            prop_assert_eq!(names(&fast.pods), names(&full.pods), "pods of {}", ns);
            prop_assert_eq!(
                names(&fast.network_policies),
                names(&full.network_policies),
                "policies of {}", ns
            );
            prop_assert_eq!(
                names(&fast.volume_snapshots),
                names(&full.volume_snapshots),
                "snapshots of {}", ns
            );
        }
    }
}
