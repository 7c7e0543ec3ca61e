//! The versions of objects this process wrote, and for which deployment.
//!
//! A reconcile decides from what it wrote (the API's answer to each write goes into its
//! snapshot), so when the watch delivers that same version back, the deployment that wrote it
//! learns nothing new. That echo still wakes the other deployments the object reaches, but not
//! the writer: without this, every deployment was reconciled a second time, woken by its own
//! writes, and its second reconcile asked the API for the access reviews again.
//!
//! A version is recognised by its `resourceVersion`, which the API changes on every write. An
//! echo that arrives before the write's answer is not recognised and wakes the writer as
//! before: the cost of a reconcile, never a missed one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Resource;

/// Written versions whose echo has not arrived after this long are forgotten: the watch
/// delivered a later version instead (both changes were coalesced), or none at all.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(120);

/// Read and write handle of the registry; clones share it.
#[derive(Clone, Default)]
pub struct Echoes {
    inner: Arc<Mutex<Inner>>,
}

/// `(kind, namespace, name)`.
type Key = (String, String, String);

#[derive(Default)]
struct Inner {
    /// The version written and by which deployment (uid), and when.
    written: HashMap<Key, (String, String, Instant)>,
    /// The size at which old entries are swept next.
    sweep_at: usize,
}

fn key<K: Resource>(object: &K) -> Option<(Key, &str)>
where
    K::DynamicType: Default,
{
    let meta = object.meta();
    let version = meta.resource_version.as_deref()?;
    Some((
        (
            K::kind(&K::DynamicType::default()).into_owned(),
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone()?,
        ),
        version,
    ))
}

impl Echoes {
    /// Remembers `object`, as the API answered a write of it, as written for the deployment
    /// `writer` (its uid).
    pub fn wrote<K: Resource>(&self, object: &K, writer: &str)
    where
        K::DynamicType: Default,
    {
        let Some((key, version)) = key(object) else {
            return;
        };
        let mut inner = self.inner.lock().expect("echoes lock");
        if inner.written.len() >= inner.sweep_at {
            inner
                .written
                .retain(|_, (_, _, at)| at.elapsed() < FORGOTTEN_AFTER);
            inner.sweep_at = (inner.written.len() * 2).max(1024);
        }
        inner
            .written
            .insert(key, (version.to_owned(), writer.to_owned(), Instant::now()));
    }

    /// The deployment (uid) that wrote `object` at exactly this version, if this process did;
    /// the version is forgotten once it came back.
    pub fn writer_of<K: Resource>(&self, object: &K) -> Option<String>
    where
        K::DynamicType: Default,
    {
        let (key, version) = key(object)?;
        let mut inner = self.inner.lock().expect("echoes lock");
        let (written, _, _) = inner.written.get(&key)?;
        if written != version {
            return None;
        }
        inner.written.remove(&key).map(|(_, writer, _)| writer)
    }

    /// Versions remembered (for tests and benchmarks).
    pub fn len(&self) -> usize {
        self.inner.lock().expect("echoes lock").written.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn policy(version: &str) -> NetworkPolicy {
        NetworkPolicy {
            metadata: ObjectMeta {
                name: Some("deny".into()),
                namespace: Some("serve".into()),
                resource_version: Some(version.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_the_written_version_is_an_echo_and_only_once() {
        let echoes = Echoes::default();
        echoes.wrote(&policy("7"), "uid-a");
        assert_eq!(echoes.writer_of(&policy("6")), None, "an older version");
        assert_eq!(
            echoes.writer_of(&policy("8")),
            None,
            "someone's later change"
        );
        assert_eq!(echoes.writer_of(&policy("7")).as_deref(), Some("uid-a"));
        assert_eq!(
            echoes.writer_of(&policy("7")),
            None,
            "forgotten once it came back"
        );
        assert!(echoes.is_empty());
    }

    #[test]
    fn versions_whose_echo_never_comes_are_swept() {
        let echoes = Echoes::default();
        echoes.wrote(&policy("1"), "uid-a");
        echoes
            .inner
            .lock()
            .unwrap()
            .written
            .values_mut()
            .for_each(|(_, _, at)| *at = Instant::now() - FORGOTTEN_AFTER);
        echoes.inner.lock().unwrap().sweep_at = 0;
        let mut other = policy("2");
        other.metadata.name = Some("other".into());
        echoes.wrote(&other, "uid-b");
        assert_eq!(echoes.len(), 1, "only the fresh one is kept");
        assert_eq!(echoes.writer_of(&other).as_deref(), Some("uid-b"));
    }
}
