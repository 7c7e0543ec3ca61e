//! A cache of observed objects indexed the way the reconcile reads them: by namespace (a
//! snapshot reads only the namespaces a deployment depends on), and by the deployment uid
//! label of the objects the operator writes (its orphans are found without a scan), and for
//! some kinds by terms (labels, claims, subjects: see [`Term`]) so that a reconcile finds its
//! own among many in a shared namespace by lookups. A reconcile's cost then follows the size
//! of its own objects, not of the cluster or of its namespaces.
//!
//! It is filled from a watch's events. A re-list updates the objects in place and drops, at
//! its end, those it did not see: it never holds two copies of the cluster at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;

use super::stores::Trim;
use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};

/// `(namespace, name)`; cluster-scoped objects have the namespace `""`.
type Key = (String, String);

/// What a cache of a kind that has an index (see [`Trim::TERMS`]) finds its objects by,
/// besides namespace and owner: a label the object carries, or a volume claim it reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Label(String, String),
    /// A claim a pod mounts, or of which a VolumeSnapshot is a ready backup.
    Claim(String),
    /// A claim of which a VolumeSnapshot is not (yet) a ready backup: such a snapshot reaches
    /// no deployment but the one that took it, which finds it by the owner index. No lookup
    /// asks for it, so that the pending backups other deployments take of a claim they share
    /// are not visited.
    Pending(String),
    /// A subject a binding names: `ServiceAccount:<namespace>:<name>`, `User:<name>` or
    /// `Group:<name>`.
    Subject(String),
}

/// Terms of which every object `selector` selects carries one: the first of its
/// `matchLabels`, else the values of its first `In` expression. `None` when there are no
/// such terms (an empty selector, or one of only `NotIn`, `Exists` and `DoesNotExist`).
pub fn narrowing(selector: &LabelSelector) -> Option<Vec<Term>> {
    if let Some(first) = first_label(selector) {
        return Some(vec![first]);
    }
    let first_in = selector
        .match_expressions
        .iter()
        .flatten()
        .find(|e| e.operator == "In")?;
    Some(
        first_in
            .values
            .iter()
            .flatten()
            .map(|v| Term::Label(first_in.key.clone(), v.clone()))
            .collect(),
    )
}

/// The first label `selector` requires, by `matchLabels`: NetworkPolicies are indexed by it,
/// and found by it.
pub fn first_label(selector: &LabelSelector) -> Option<Term> {
    let (key, value) = selector.match_labels.iter().flatten().next()?;
    Some(Term::Label(key.clone(), value.clone()))
}

/// The index of one namespace's objects by their terms.
#[derive(Default)]
struct Terms {
    names: HashMap<Term, BTreeSet<String>>,
    /// The objects without a term: every lookup finds them.
    untermed: BTreeSet<String>,
}

impl Terms {
    fn add(&mut self, name: &str, terms: Vec<Term>) {
        if terms.is_empty() {
            self.untermed.insert(name.to_owned());
        }
        for term in terms {
            self.names.entry(term).or_default().insert(name.to_owned());
        }
    }

    fn forget(&mut self, name: &str, terms: Vec<Term>) {
        if terms.is_empty() {
            self.untermed.remove(name);
        }
        for term in terms {
            if let Some(names) = self.names.get_mut(&term) {
                names.remove(name);
                if names.is_empty() {
                    self.names.remove(&term);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.untermed.is_empty()
    }
}

/// Read and write handle of one cache; clones share it.
pub struct Cache<K> {
    inner: Arc<RwLock<Inner<K>>>,
}

impl<K> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Cache {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<K> {
    by_namespace: HashMap<String, BTreeMap<String, Arc<K>>>,
    /// Objects carrying the deployment uid label, by that uid.
    by_owner: HashMap<String, BTreeSet<Key>>,
    /// Per namespace, the names of the objects the operator did not make for one deployment
    /// (see [`made_for`]): those a deployment's rules may read besides its own.
    shared: HashMap<String, BTreeSet<String>>,
    /// During a re-list: the objects seen so far.
    relisting: Option<HashSet<Key>>,
    /// How the kind is indexed by terms, if it is (see [`Trim::TERMS`]).
    index: Option<fn(&K) -> Vec<Term>>,
    /// Per namespace, its objects by term.
    terms: HashMap<String, Terms>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache::with_index(None)
    }
}

impl<K> Cache<K> {
    fn with_index(index: Option<fn(&K) -> Vec<Term>>) -> Self {
        Cache {
            inner: Arc::new(RwLock::new(Inner {
                by_namespace: HashMap::new(),
                by_owner: HashMap::new(),
                shared: HashMap::new(),
                relisting: None,
                index,
                terms: HashMap::new(),
            })),
        }
    }
}

impl<K: Trim> Cache<K> {
    /// An empty cache, indexed by terms if the kind has them (see [`Trim::TERMS`]).
    pub fn for_kind() -> Self {
        Cache::with_index(K::TERMS)
    }
}

fn key_of<K: Resource>(o: &K) -> Key {
    let meta = o.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn owner_of<K: Resource>(o: &K) -> Option<&String> {
    o.meta().labels.as_ref()?.get(DEPLOYMENT_UID)
}

/// The deployment the operator made an object for: its uid label, on an object that carries
/// the operator's managed-by label as well.
fn made_for<K: Resource>(o: &K) -> Option<&String> {
    let labels = o.meta().labels.as_ref()?;
    (labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1))
        .then(|| labels.get(DEPLOYMENT_UID))
        .flatten()
}

impl<K: Resource> Inner<K> {
    fn insert(&mut self, object: K) {
        let key = key_of(&object);
        if let Some(seen) = self.relisting.as_mut() {
            seen.insert(key.clone());
        }
        let owner = owner_of(&object).cloned();
        let terms = self.index.map(|index| index(&object));
        if made_for(&object).is_none() {
            let shared = self.shared.entry(key.0.clone()).or_default();
            shared.insert(key.1.clone());
        } else if let Some(shared) = self.shared.get_mut(&key.0) {
            shared.remove(&key.1);
        }
        let previous = self
            .by_namespace
            .entry(key.0.clone())
            .or_default()
            .insert(key.1.clone(), Arc::new(object));
        if let (Some(index), Some(terms)) = (self.index, terms) {
            let indexed = self.terms.entry(key.0.clone()).or_default();
            if let Some(previous) = previous.as_deref() {
                indexed.forget(&key.1, index(previous));
            }
            indexed.add(&key.1, terms);
        }
        let previous_owner = previous.as_deref().and_then(owner_of);
        if previous_owner != owner.as_ref() {
            if let Some(uid) = previous_owner.cloned() {
                self.forget_owner(&uid, &key);
            }
            if let Some(uid) = owner {
                self.by_owner.entry(uid).or_default().insert(key);
            }
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Arc<K>> {
        let names = self.by_namespace.get_mut(&key.0)?;
        let removed = names.remove(&key.1);
        if names.is_empty() {
            self.by_namespace.remove(&key.0);
        }
        if let Some(shared) = self.shared.get_mut(&key.0) {
            shared.remove(&key.1);
            if shared.is_empty() {
                self.shared.remove(&key.0);
            }
        }
        if let (Some(index), Some(removed)) = (self.index, removed.as_deref())
            && let Some(indexed) = self.terms.get_mut(&key.0)
        {
            indexed.forget(&key.1, index(removed));
            if indexed.is_empty() {
                self.terms.remove(&key.0);
            }
        }
        if let Some(uid) = removed.as_deref().and_then(owner_of).cloned() {
            self.forget_owner(&uid, key);
        }
        removed
    }

    /// Names of the objects of `namespace` carrying the uid label `uid`.
    fn owned_in<'a>(
        &'a self,
        namespace: &'a str,
        uid: Option<&str>,
    ) -> impl Iterator<Item = &'a str> {
        uid.and_then(|uid| self.by_owner.get(uid))
            .into_iter()
            .flatten()
            .filter(move |(ns, _)| ns == namespace)
            .map(|(_, name)| name.as_str())
    }

    /// Names of the objects of `namespace` that carry one of `terms` or none, when the kind is
    /// indexed and `terms` are given; `None`: every object may be one of them.
    fn carrying(&self, namespace: &str, terms: Option<&BTreeSet<Term>>) -> Option<BTreeSet<&str>> {
        self.index?;
        let terms = terms?;
        let Some(indexed) = self.terms.get(namespace) else {
            return Some(BTreeSet::new());
        };
        let mut names: BTreeSet<&str> = indexed.untermed.iter().map(String::as_str).collect();
        for term in terms {
            names.extend(
                indexed
                    .names
                    .get(term)
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
            );
        }
        Some(names)
    }

    /// The objects of `namespace` that [`carrying`](Self::carrying) finds, by name.
    fn candidates<'a>(
        &'a self,
        namespace: &str,
        terms: Option<&BTreeSet<Term>>,
    ) -> Box<dyn Iterator<Item = (&'a String, &'a Arc<K>)> + 'a> {
        let Some(objects) = self.by_namespace.get(namespace) else {
            return Box::new(std::iter::empty());
        };
        match self.carrying(namespace, terms) {
            Some(names) => Box::new(
                names
                    .into_iter()
                    .filter_map(|name| objects.get_key_value(name)),
            ),
            None => Box::new(objects.iter()),
        }
    }

    /// Copies of the objects of `namespace` of these names that `keep` admits, by name.
    fn picked(&self, namespace: &str, names: BTreeSet<&str>, keep: impl Fn(&K) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let Some(objects) = self.by_namespace.get(namespace) else {
            return vec![];
        };
        names
            .into_iter()
            .filter_map(|name| objects.get(name))
            .filter(|o| keep(o))
            .map(|o| (**o).clone())
            .collect()
    }

    fn forget_owner(&mut self, uid: &str, key: &Key) {
        if let Some(keys) = self.by_owner.get_mut(uid) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_owner.remove(uid);
            }
        }
    }
}

impl<K: Resource> Cache<K> {
    /// Applies one event of a watch; returns the objects it removed: the deleted one, or at
    /// the end of a re-list those the list did not show (deleted while the watch was down).
    pub fn apply(&self, event: watcher::Event<K>) -> Vec<Arc<K>> {
        let mut inner = self.inner.write().expect("cache lock");
        match event {
            watcher::Event::Init => {
                inner.relisting = Some(HashSet::new());
                vec![]
            }
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                inner.insert(o);
                vec![]
            }
            watcher::Event::Delete(o) => inner.remove(&key_of(&o)).into_iter().collect(),
            watcher::Event::InitDone => {
                let Some(seen) = inner.relisting.take() else {
                    return vec![];
                };
                let gone: Vec<Key> = inner
                    .by_namespace
                    .iter()
                    .flat_map(|(ns, names)| names.keys().map(move |n| (ns.clone(), n.clone())))
                    .filter(|k| !seen.contains(k))
                    .collect();
                gone.iter().filter_map(|key| inner.remove(key)).collect()
            }
        }
    }

    /// The objects of `namespace`, by name.
    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let inner = self.inner.read().expect("cache lock");
        inner
            .by_namespace
            .get(namespace)
            .map(|names| names.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The objects of `namespace` that carry one of `terms`, and those that carry none, by name:
    /// with the terms of the selectors a caller tests (see [`narrowing`]), a superset of what
    /// they select, found without visiting the others. Every object of the namespace when
    /// `terms` is `None` or the kind has no index.
    pub fn among(&self, namespace: &str, terms: Option<&BTreeSet<Term>>) -> Vec<Arc<K>> {
        let inner = self.inner.read().expect("cache lock");
        inner
            .candidates(namespace, terms)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Copies of the objects of `namespace`, by name.
    pub fn cloned_in(&self, namespace: &str) -> Vec<K>
    where
        K: Clone,
    {
        self.kept_in(namespace, |_| true)
    }

    /// Copies of the objects of `namespace` that `keep` admits, by name; the others are
    /// neither copied nor counted.
    pub fn kept_in(&self, namespace: &str, keep: impl Fn(&K) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.inner.read().expect("cache lock");
        inner
            .by_namespace
            .get(namespace)
            .map(|names| {
                names
                    .values()
                    .filter(|o| keep(o))
                    .map(|o| (**o).clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Copies of the objects of `namespace` that `keep` admits, by name, among those made for
    /// the deployment `uid` and those made for no deployment (see [`made_for`]): the objects
    /// the operator made for the other deployments of a shared namespace are not visited.
    pub fn kept_for(&self, namespace: &str, uid: Option<&str>, keep: impl Fn(&K) -> bool) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.inner.read().expect("cache lock");
        let mut names: BTreeSet<&str> = inner
            .shared
            .get(namespace)
            .map(|names| names.iter().map(String::as_str).collect())
            .unwrap_or_default();
        names.extend(inner.owned_in(namespace, uid));
        inner.picked(namespace, names, keep)
    }

    /// Copies of the objects of `namespace` that `keep` admits or that carry the uid label
    /// `uid`, by name. The owned ones are found by the index, so `keep` need not test it; of
    /// the others, it is asked only about those [`among`](Self::among) `terms` finds.
    pub fn kept_or_owned(
        &self,
        namespace: &str,
        uid: Option<&str>,
        terms: Option<&BTreeSet<Term>>,
        keep: impl Fn(&K) -> bool,
    ) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.inner.read().expect("cache lock");
        let Some(objects) = inner.by_namespace.get(namespace) else {
            return vec![];
        };
        let mut picked: BTreeMap<&str, &Arc<K>> = inner
            .candidates(namespace, terms)
            .filter(|(_, o)| keep(o))
            .map(|(name, o)| (name.as_str(), o))
            .collect();
        for name in inner.owned_in(namespace, uid) {
            if let Some(o) = objects.get(name) {
                picked.insert(name, o);
            }
        }
        picked.into_values().map(|o| (**o).clone()).collect()
    }

    /// Copies of the objects of `namespace` named in `names` or made for the deployment `uid`
    /// that `keep` admits, by name.
    pub fn named_or_owned<'a>(
        &self,
        namespace: &str,
        names: impl IntoIterator<Item = &'a str>,
        uid: Option<&str>,
        keep: impl Fn(&K) -> bool,
    ) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.inner.read().expect("cache lock");
        let mut picked: BTreeSet<&str> = names.into_iter().collect();
        picked.extend(inner.owned_in(namespace, uid));
        inner.picked(namespace, picked, keep)
    }

    /// One object; cluster-scoped objects are in the namespace `""`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let inner = self.inner.read().expect("cache lock");
        inner.by_namespace.get(namespace)?.get(name).cloned()
    }

    /// `(namespace, name)` of the objects labeled as written for the deployment `uid`.
    pub fn owned_by(&self, uid: &str) -> Vec<(String, String)> {
        let inner = self.inner.read().expect("cache lock");
        inner
            .by_owner
            .get(uid)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        let inner = self.inner.read().expect("cache lock");
        inner.by_namespace.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A cache holding what a kube-runtime store holds (tests and benchmarks fill stores).
impl<K: Resource + Clone + Trim> From<Store<K>> for Cache<K>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn from(store: Store<K>) -> Self {
        let cache = Cache::for_kind();
        for o in store.state() {
            let _ = cache.apply(watcher::Event::Apply((*o).clone()));
        }
        cache
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::NetworkPolicy;

    fn np(ns: &str, name: &str, owner: Option<&str>) -> NetworkPolicy {
        let mut o = NetworkPolicy::default();
        o.metadata.namespace = Some(ns.into());
        o.metadata.name = Some(name.into());
        if let Some(uid) = owner {
            o.metadata.labels = Some([(DEPLOYMENT_UID.to_owned(), uid.to_owned())].into());
        }
        o
    }

    fn names(objects: Vec<Arc<NetworkPolicy>>) -> Vec<String> {
        objects
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect()
    }

    #[test]
    fn reads_by_namespace_and_by_owner() {
        let cache = Cache::default();
        cache.apply(watcher::Event::Apply(np("train", "b", Some("u1"))));
        cache.apply(watcher::Event::Apply(np("train", "a", None)));
        cache.apply(watcher::Event::Apply(np("serve", "c", Some("u1"))));
        cache.apply(watcher::Event::Apply(np("serve", "d", Some("u2"))));
        assert_eq!(names(cache.in_namespace("train")), ["a", "b"]);
        assert_eq!(names(cache.in_namespace("other")), Vec::<String>::new());
        assert_eq!(
            cache.owned_by("u1"),
            [("serve".into(), "c".into()), ("train".into(), "b".into())]
        );
        // The label moves to another deployment, then the object goes.
        cache.apply(watcher::Event::Apply(np("serve", "c", Some("u2"))));
        assert_eq!(cache.owned_by("u1"), [("train".into(), "b".into())]);
        assert_eq!(cache.owned_by("u2").len(), 2);
        let removed = cache.apply(watcher::Event::Delete(np("serve", "c", Some("u2"))));
        assert_eq!(names(removed), ["c"]);
        assert_eq!(cache.owned_by("u2"), [("serve".into(), "d".into())]);
        assert!(cache.get("serve", "c").is_none());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn what_the_operator_made_for_other_deployments_is_not_visited() {
        let made_for = |name: &str, uid: &str| {
            let mut o = np("train", name, Some(uid));
            o.metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
            o
        };
        let cache = Cache::default();
        cache.apply(watcher::Event::Apply(made_for("mine", "u1")));
        cache.apply(watcher::Event::Apply(made_for("theirs", "u2")));
        cache.apply(watcher::Event::Apply(np("train", "users", None)));
        // The uid label alone, without the operator's managed-by label: anyone's to read.
        cache.apply(watcher::Event::Apply(np("train", "labelled", Some("u2"))));
        cache.apply(watcher::Event::Apply(np("serve", "elsewhere", None)));
        let visited = std::cell::RefCell::new(Vec::new());
        let keep = |o: &NetworkPolicy| {
            visited.borrow_mut().push(o.metadata.name.clone().unwrap());
            true
        };
        let kept = |objects: Vec<NetworkPolicy>| -> Vec<String> {
            objects
                .into_iter()
                .map(|o| o.metadata.name.unwrap())
                .collect()
        };
        assert_eq!(
            kept(cache.kept_for("train", Some("u1"), keep)),
            ["labelled", "mine", "users"]
        );
        assert_eq!(
            *visited.borrow(),
            ["labelled", "mine", "users"],
            "theirs not visited"
        );
        assert_eq!(
            kept(cache.kept_for("train", None, |_| true)),
            ["labelled", "users"]
        );
        // What `keep` admits and the deployment's own, without asking `keep` about those.
        assert_eq!(
            kept(
                cache.kept_or_owned("train", Some("u1"), None, |o| o.metadata.name.as_deref()
                    == Some("users"))
            ),
            ["mine", "users"]
        );
        // Named ones, whoever they were made for, and the deployment's own.
        assert_eq!(
            kept(cache.named_or_owned("train", ["theirs", "absent"], Some("u1"), |_| true)),
            ["mine", "theirs"]
        );
        // An object the operator takes over for a deployment leaves the shared ones, and
        // comes back when released; a deleted one is gone from both.
        cache.apply(watcher::Event::Apply(made_for("users", "u2")));
        assert_eq!(
            kept(cache.kept_for("train", Some("u1"), |_| true)),
            ["labelled", "mine"]
        );
        cache.apply(watcher::Event::Apply(np("train", "users", None)));
        cache.apply(watcher::Event::Delete(np("train", "labelled", Some("u2"))));
        assert_eq!(
            kept(cache.kept_for("train", Some("u1"), |_| true)),
            ["mine", "users"]
        );
    }

    #[test]
    fn narrowing_gives_a_term_every_selected_object_carries() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
        let label = |k: &str, v: &str| Term::Label(k.into(), v.into());
        let expression = |operator: &str, values: &[&str]| LabelSelectorRequirement {
            key: "tier".into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        let selector =
            |labels: &[(&str, &str)], expressions: Vec<LabelSelectorRequirement>| LabelSelector {
                match_labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                match_expressions: Some(expressions),
            };
        assert_eq!(
            narrowing(&selector(&[("b", "2"), ("a", "1")], vec![])),
            Some(vec![label("a", "1")])
        );
        assert_eq!(
            narrowing(&selector(
                &[],
                vec![expression("NotIn", &["x"]), expression("In", &["t", "e"])]
            )),
            Some(vec![label("tier", "t"), label("tier", "e")])
        );
        // `In` of no value selects nothing: no term to find.
        assert_eq!(
            narrowing(&selector(&[], vec![expression("In", &[])])),
            Some(vec![])
        );
        for unnarrowed in [
            selector(&[], vec![]),
            selector(&[], vec![expression("NotIn", &["x"])]),
            selector(&[], vec![expression("Exists", &[])]),
            LabelSelector::default(),
        ] {
            assert_eq!(narrowing(&unnarrowed), None, "{unnarrowed:?}");
        }
    }

    #[test]
    fn an_index_follows_labels_and_claims_through_changes_and_relists() {
        use crate::controller::slim::SlimPod;
        let pod = |name: &str, labels: serde_json::Value, claim: Option<&str>| -> SlimPod {
            let volumes: Vec<_> = claim
                .map(
                    |c| serde_json::json!({"name": "v", "persistentVolumeClaim": {"claimName": c}}),
                )
                .into_iter()
                .collect();
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "train", "labels": labels},
                "spec": {"containers": [], "volumes": volumes}
            }))
            .unwrap()
        };
        let names = |pods: Vec<Arc<SlimPod>>| -> Vec<String> {
            pods.iter()
                .map(|p| p.metadata.name.clone().unwrap())
                .collect()
        };
        let terms = |terms: &[Term]| -> BTreeSet<Term> { terms.iter().cloned().collect() };
        let role = |v: &str| Term::Label("role".into(), v.into());
        let cache: Cache<SlimPod> = Cache::for_kind();
        cache.apply(watcher::Event::Apply(pod(
            "t-0",
            serde_json::json!({"role": "t"}),
            None,
        )));
        cache.apply(watcher::Event::Apply(pod(
            "t-1",
            serde_json::json!({"role": "t"}),
            Some("corpus"),
        )));
        cache.apply(watcher::Event::Apply(pod(
            "u-0",
            serde_json::json!({"role": "u"}),
            None,
        )));
        cache.apply(watcher::Event::Apply(pod(
            "bare",
            serde_json::json!({}),
            None,
        )));
        // Those carrying a term, and those carrying none, which no term can exclude.
        assert_eq!(
            names(cache.among("train", Some(&terms(&[role("t")])))),
            ["bare", "t-0", "t-1"]
        );
        assert_eq!(
            names(cache.among(
                "train",
                Some(&terms(&[Term::Claim("corpus".into()), role("u")]))
            )),
            ["bare", "t-1", "u-0"]
        );
        assert_eq!(
            names(cache.among("train", None)),
            ["bare", "t-0", "t-1", "u-0"]
        );
        assert_eq!(
            names(cache.among("serve", Some(&terms(&[role("t")])))),
            Vec::<String>::new()
        );
        // A relabelled pod moves between terms; a deleted one leaves them.
        cache.apply(watcher::Event::Apply(pod(
            "t-0",
            serde_json::json!({"role": "u"}),
            None,
        )));
        cache.apply(watcher::Event::Delete(pod(
            "t-1",
            serde_json::json!({"role": "t"}),
            Some("corpus"),
        )));
        assert_eq!(
            names(cache.among("train", Some(&terms(&[role("t")])))),
            ["bare"]
        );
        assert_eq!(
            names(cache.among("train", Some(&terms(&[role("u")])))),
            ["bare", "t-0", "u-0"]
        );
        assert_eq!(
            names(cache.among("train", Some(&terms(&[Term::Claim("corpus".into())])))),
            ["bare"]
        );
        // A relist that no longer shows a pod drops it from the index at its end.
        cache.apply(watcher::Event::Init);
        cache.apply(watcher::Event::InitApply(pod(
            "u-0",
            serde_json::json!({"role": "u"}),
            None,
        )));
        cache.apply(watcher::Event::InitDone);
        assert_eq!(
            names(cache.among("train", Some(&terms(&[role("u")])))),
            ["u-0"]
        );
        cache.apply(watcher::Event::Delete(pod(
            "u-0",
            serde_json::json!({"role": "u"}),
            None,
        )));
        assert!(
            cache.inner.read().unwrap().terms.is_empty(),
            "nothing left indexed"
        );
        // A kind without an index finds every object, whatever the terms.
        let plain: Cache<NetworkPolicy> = Cache::default();
        plain.apply(watcher::Event::Apply(np("train", "a", None)));
        assert_eq!(plain.among("train", Some(&BTreeSet::new())).len(), 1);
    }

    #[test]
    fn a_snapshot_is_found_by_its_claim_once_ready_and_by_its_owner_always() {
        use crate::snapshot::VolumeSnapshot;
        let snapshot = |name: &str, owner: &str, ready: bool| -> VolumeSnapshot {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "train",
                             "labels": {MANAGED_BY.0: MANAGED_BY.1, DEPLOYMENT_UID: owner}},
                "spec": {"source": {"persistentVolumeClaimName": "corpus"}},
                "status": {"readyToUse": ready}
            }))
            .unwrap()
        };
        let claim: BTreeSet<Term> = [Term::Claim("corpus".into())].into();
        let found = |cache: &Cache<VolumeSnapshot>, uid: &str| -> Vec<String> {
            let picked = cache.kept_or_owned("train", Some(uid), Some(&claim), |_| true);
            picked
                .iter()
                .map(|s| s.metadata.name.clone().unwrap())
                .collect()
        };
        let cache: Cache<VolumeSnapshot> = Cache::for_kind();
        cache.apply(watcher::Event::Apply(snapshot("a-0", "uid-a", false)));
        cache.apply(watcher::Event::Apply(snapshot("b-0", "uid-b", false)));
        // Pending: each deployment sees its own, by the owner index, and not the other's.
        assert_eq!(found(&cache, "uid-a"), ["a-0"]);
        assert_eq!(found(&cache, "uid-b"), ["b-0"]);
        assert_eq!(cache.among("train", Some(&claim)).len(), 0);
        // Ready, b's backup is one of the claim's for every deployment; pending again, it is not.
        cache.apply(watcher::Event::Apply(snapshot("b-0", "uid-b", true)));
        assert_eq!(found(&cache, "uid-a"), ["a-0", "b-0"]);
        cache.apply(watcher::Event::Apply(snapshot("b-0", "uid-b", false)));
        assert_eq!(found(&cache, "uid-a"), ["a-0"]);
        assert_eq!(found(&cache, "uid-b"), ["b-0"]);
    }

    #[test]
    fn a_relist_drops_what_it_did_not_see_only_at_its_end() {
        let cache = Cache::default();
        cache.apply(watcher::Event::Apply(np("train", "kept", Some("u1"))));
        cache.apply(watcher::Event::Apply(np("train", "gone", Some("u1"))));
        cache.apply(watcher::Event::Init);
        cache.apply(watcher::Event::InitApply(np("train", "kept", Some("u1"))));
        cache.apply(watcher::Event::InitApply(np("serve", "new", None)));
        // Until the list ends, what it has not listed yet is still there.
        assert!(cache.get("train", "gone").is_some());
        let removed = cache.apply(watcher::Event::InitDone);
        assert_eq!(names(removed), ["gone"]);
        assert!(cache.get("train", "gone").is_none());
        assert!(cache.get("train", "kept").is_some());
        assert!(cache.get("serve", "new").is_some());
        assert_eq!(cache.owned_by("u1"), [("train".into(), "kept".into())]);
        assert_eq!(cache.len(), 2);
    }
}
