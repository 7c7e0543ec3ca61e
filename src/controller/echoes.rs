//! The versions of objects this process wrote, and for which deployment.
//!
//! A reconcile decides from what it wrote (the API's answer to each write goes into its
//! snapshot), so when the watch delivers that same version back, the deployment that wrote it
//! learns nothing new. That echo still wakes the other deployments the object reaches, but not
//! the writer: without this, every deployment was reconciled a second time, woken by its own
//! writes, and its second reconcile asked the API for the access reviews again.
//!
//! A version is recognised by its `resourceVersion`, which the API changes on every write. The
//! echo often arrives before the write's answer (the API server sends both at once), so a write
//! is announced before it is sent ([`Echoes::writing`]), and an event of an object with a write
//! in flight waits for that write's answer ([`Echoes::answered`]) before it is told apart: an
//! echo, or someone else's change, which wakes the writer too. A write whose answer does not
//! come within [`ANSWER_AWAITED`] is not waited for longer: the event then wakes the writer,
//! which costs a reconcile and never loses one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::Resource;

/// Written versions whose echo has not arrived after this long are forgotten: the watch
/// delivered a later version instead (both changes were coalesced), or none at all.
const FORGOTTEN_AFTER: Duration = Duration::from_secs(120);

/// How long an event waits for the answer to a write of its object in flight.
pub const ANSWER_AWAITED: Duration = Duration::from_secs(1);

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
    /// Writes sent and not answered yet: their receiver is told when they are (the sender is
    /// dropped).
    in_flight: HashMap<Key, tokio::sync::watch::Receiver<()>>,
    /// The size at which old entries are swept next.
    sweep_at: usize,
}

fn key_of<K: Resource>(namespace: Option<&str>, name: &str) -> Key
where
    K::DynamicType: Default,
{
    (
        K::kind(&K::DynamicType::default()).into_owned(),
        namespace.unwrap_or_default().to_owned(),
        name.to_owned(),
    )
}

fn key<K: Resource>(object: &K) -> Option<(Key, &str)>
where
    K::DynamicType: Default,
{
    let meta = object.meta();
    let version = meta.resource_version.as_deref()?;
    Some((
        key_of::<K>(meta.namespace.as_deref(), meta.name.as_deref()?),
        version,
    ))
}

/// A write in flight, from before it is sent until its answer is remembered (or it failed):
/// events of its object wait for it meanwhile.
pub struct InFlight {
    echoes: Echoes,
    key: Key,
    answered: tokio::sync::watch::Sender<()>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.echoes.inner.lock().expect("echoes lock");
        if inner
            .in_flight
            .get(&self.key)
            .is_some_and(|r| r.same_channel(&self.answered.subscribe()))
        {
            inner.in_flight.remove(&self.key);
        }
        // Dropping the sender (after this) wakes those waiting.
    }
}

impl Echoes {
    /// Announces a write of the object `namespace/name` of kind `K`, to be held until its
    /// answer is remembered with [`Echoes::wrote`] (or the write failed).
    pub fn writing<K: Resource>(&self, namespace: Option<&str>, name: &str) -> InFlight
    where
        K::DynamicType: Default,
    {
        let key = key_of::<K>(namespace, name);
        let (answered, receiver) = tokio::sync::watch::channel(());
        self.inner
            .lock()
            .expect("echoes lock")
            .in_flight
            .insert(key.clone(), receiver);
        InFlight {
            echoes: self.clone(),
            key,
            answered,
        }
    }

    /// Resolves once no write of `object` is in flight any more, or after [`ANSWER_AWAITED`]:
    /// then [`Echoes::writer_of`] can tell its echo from someone else's change.
    pub fn answered<K: Resource>(
        &self,
        object: &K,
    ) -> impl std::future::Future<Output = ()> + Send + use<K>
    where
        K::DynamicType: Default,
    {
        let meta = object.meta();
        let waiting = meta.name.as_deref().and_then(|name| {
            let key = key_of::<K>(meta.namespace.as_deref(), name);
            let inner = self.inner.lock().expect("echoes lock");
            inner.in_flight.get(&key).cloned()
        });
        async move {
            if let Some(mut answer) = waiting {
                // Err: the sender is gone, the write answered or failed.
                let _ = tokio::time::timeout(ANSWER_AWAITED, answer.changed()).await;
            }
        }
    }

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

    /// Versions remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().expect("echoes lock").written.len()
    }

    #[cfg(test)]
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

    #[tokio::test]
    async fn an_echo_that_beats_the_answer_waits_for_it() {
        let echoes = Echoes::default();
        let in_flight = echoes.writing::<NetworkPolicy>(Some("serve"), "deny");
        // The watch delivers the write before its answer is read.
        let answered = echoes.answered(&policy("7"));
        let writer = {
            let echoes = echoes.clone();
            tokio::spawn(async move {
                answered.await;
                echoes.writer_of(&policy("7"))
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_finished(), "waits while the write is in flight");
        echoes.wrote(&policy("7"), "uid-a");
        drop(in_flight);
        assert_eq!(writer.await.unwrap().as_deref(), Some("uid-a"));
        // With nothing in flight, nothing is waited for.
        tokio::time::timeout(Duration::from_millis(10), echoes.answered(&policy("8")))
            .await
            .expect("no wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_is_never_answered_is_waited_for_only_so_long() {
        let echoes = Echoes::default();
        let _in_flight = echoes.writing::<NetworkPolicy>(Some("serve"), "deny");
        let started = tokio::time::Instant::now();
        echoes.answered(&policy("7")).await;
        assert_eq!(started.elapsed(), ANSWER_AWAITED);
        assert_eq!(
            echoes.writer_of(&policy("7")),
            None,
            "then it is someone's change"
        );
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
