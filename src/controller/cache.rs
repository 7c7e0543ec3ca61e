//! A cache of observed objects indexed the way the reconcile reads them: by namespace (a
//! snapshot reads only the namespaces a deployment depends on), and by the deployment uid
//! label of the objects the operator writes (its orphans are found without a scan). A
//! reconcile's cost then follows the size of its own namespaces, not of the cluster.
//!
//! It is filled from a watch's events. A re-list updates the objects in place and drops, at
//! its end, those it did not see: it never holds two copies of the cluster at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;

use crate::labels::{DEPLOYMENT_UID, MANAGED_BY};

/// `(namespace, name)`; cluster-scoped objects have the namespace `""`.
type Key = (String, String);

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
    /// Per namespace, the XOR of the digests of its objects' names and versions: a key for
    /// what is derived from a namespace's objects, kept up to date at each change.
    digests: HashMap<String, u64>,
    /// During a re-list: the objects seen so far.
    relisting: Option<HashSet<Key>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache {
            inner: Arc::new(RwLock::new(Inner {
                by_namespace: HashMap::new(),
                by_owner: HashMap::new(),
                shared: HashMap::new(),
                digests: HashMap::new(),
                relisting: None,
            })),
        }
    }
}

fn key_of<K: Resource>(o: &K) -> Key {
    let meta = o.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// A digest of an object's name and version.
fn version_digest<K: Resource>(o: &K) -> u64 {
    use std::hash::{Hash, Hasher};
    let meta = o.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&meta.name, &meta.resource_version).hash(&mut hasher);
    hasher.finish()
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
        *self.digests.entry(key.0.clone()).or_default() ^= version_digest(&object);
        if let Some(seen) = self.relisting.as_mut() {
            seen.insert(key.clone());
        }
        let owner = owner_of(&object).cloned();
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
        if let Some(previous) = previous.as_deref() {
            *self.digests.entry(key.0.clone()).or_default() ^= version_digest(previous);
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
        if let Some(removed) = removed.as_deref() {
            *self.digests.entry(key.0.clone()).or_default() ^= version_digest(removed);
        }
        if names.is_empty() {
            self.by_namespace.remove(&key.0);
        }
        if let Some(shared) = self.shared.get_mut(&key.0) {
            shared.remove(&key.1);
            if shared.is_empty() {
                self.shared.remove(&key.0);
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
    /// A digest of the names and versions of the objects of `namespace`, with `overrides`
    /// (objects of that namespace at a version the cache may not show yet) in place of the
    /// cached ones of the same name. It costs the overrides, not the namespace's objects.
    pub fn digest_in(&self, namespace: &str, overrides: &[K]) -> u64 {
        let inner = self.inner.read().expect("cache lock");
        let mut digest = inner.digests.get(namespace).copied().unwrap_or_default();
        for o in overrides {
            let name = o.meta().name.as_deref().unwrap_or_default();
            if let Some(cached) = inner.by_namespace.get(namespace).and_then(|n| n.get(name)) {
                digest ^= version_digest(&**cached);
            }
            digest ^= version_digest(o);
        }
        digest
    }

    pub fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let inner = self.inner.read().expect("cache lock");
        inner
            .by_namespace
            .get(namespace)
            .map(|names| names.values().cloned().collect())
            .unwrap_or_default()
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
    /// `uid`, by name. The owned ones are found by the index, so `keep` need not test it.
    pub fn kept_or_owned(
        &self,
        namespace: &str,
        uid: Option<&str>,
        keep: impl Fn(&K) -> bool,
    ) -> Vec<K>
    where
        K: Clone,
    {
        let inner = self.inner.read().expect("cache lock");
        let Some(objects) = inner.by_namespace.get(namespace) else {
            return vec![];
        };
        let mut picked: BTreeMap<&str, &Arc<K>> = objects
            .iter()
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
impl<K: Resource + Clone> From<Store<K>> for Cache<K>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn from(store: Store<K>) -> Self {
        let cache = Cache::default();
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
    fn a_namespaces_digest_follows_its_objects_versions() {
        let versioned = |ns: &str, name: &str, version: &str| {
            let mut o = np(ns, name, None);
            o.metadata.resource_version = Some(version.into());
            o
        };
        let cache = Cache::default();
        let empty = cache.digest_in("a", &[]);
        cache.apply(watcher::Event::Apply(versioned("a", "x", "1")));
        let one = cache.digest_in("a", &[]);
        assert_ne!(one, empty);
        cache.apply(watcher::Event::Apply(versioned("b", "x", "2")));
        assert_eq!(cache.digest_in("a", &[]), one, "another namespace's change");
        // What a reconcile just wrote counts in place of the cached version...
        let written = cache.digest_in("a", &[versioned("a", "x", "3")]);
        assert_ne!(written, one);
        // ...and equals the digest once the cache shows it, in any cache that holds the same.
        cache.apply(watcher::Event::Apply(versioned("a", "x", "3")));
        assert_eq!(cache.digest_in("a", &[]), written);
        let other = Cache::default();
        other.apply(watcher::Event::Apply(versioned("a", "x", "3")));
        assert_eq!(other.digest_in("a", &[]), written);
        cache.apply(watcher::Event::Delete(versioned("a", "x", "3")));
        assert_eq!(cache.digest_in("a", &[]), empty, "nothing left");
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
                cache.kept_or_owned("train", Some("u1"), |o| o.metadata.name.as_deref()
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
