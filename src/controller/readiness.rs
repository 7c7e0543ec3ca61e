//! Which caches have filled once, told to any number of waiters.
//!
//! kube-runtime's `Store::wait_until_ready` rests on a one-shot channel that remembers a
//! single waker: when two tasks wait on the same store (the `Controller`, which gates its
//! runner on the store of its main kind, and anyone else), only the one that polled last is
//! woken and the other waits for ever. That is how the operator hung after restarts in which
//! the ModelDeployment list happened to finish last. So the operator never calls
//! `wait_until_ready` itself: each reflector stream marks its cache here when it sees the
//! end of its first list (`InitDone`), and waiters read a `tokio::sync::watch`, which wakes
//! every one of them.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::watch;

/// The caches still waiting for their first complete list. Clones share the state.
#[derive(Clone, Debug)]
pub struct CacheSync {
    pending: Arc<watch::Sender<BTreeSet<String>>>,
    /// `(API group, resource)` of everything watched, optional APIs included: the reads the
    /// operator's RBAC must allow.
    watched: Arc<std::sync::Mutex<BTreeSet<(String, String)>>>,
}

impl Default for CacheSync {
    fn default() -> Self {
        CacheSync {
            pending: Arc::new(watch::Sender::new(BTreeSet::new())),
            watched: Arc::default(),
        }
    }
}

impl CacheSync {
    /// Records that a watch of `resource` in `group` is made.
    pub fn watches(&self, group: &str, resource: &str) {
        self.watched
            .lock()
            .expect("watched lock")
            .insert((group.to_owned(), resource.to_owned()));
    }

    /// `(API group, resource)` of every watch the caches make.
    pub fn watched(&self) -> BTreeSet<(String, String)> {
        self.watched.lock().expect("watched lock").clone()
    }

    /// Adds a cache that must fill before the operator decides anything; the returned marker
    /// is what its reflector stream calls when the first list is complete.
    pub fn register(&self, cache: impl Into<String>) -> SyncMarker {
        let cache = cache.into();
        self.pending.send_modify(|p| {
            p.insert(cache.clone());
        });
        SyncMarker {
            cache,
            pending: self.pending.clone(),
        }
    }

    /// The caches that have not completed their first list, by name.
    pub fn pending(&self) -> Vec<String> {
        self.pending.borrow().iter().cloned().collect()
    }

    /// Whether every registered cache has filled once.
    pub fn is_synced(&self) -> bool {
        self.pending.borrow().is_empty()
    }

    /// Waits until every registered cache has filled once. Any number of tasks may wait.
    pub async fn wait(&self) {
        let mut pending = self.pending.subscribe();
        // The sender lives in `self`, so this cannot fail while we wait.
        let _ = pending.wait_for(BTreeSet::is_empty).await;
    }
}

/// Marks one cache as filled.
#[derive(Clone, Debug)]
pub struct SyncMarker {
    cache: String,
    pending: Arc<watch::Sender<BTreeSet<String>>>,
}

impl SyncMarker {
    /// The first complete list of the cache has been stored. Later relists call it again,
    /// which changes nothing.
    pub fn synced(&self) {
        self.pending.send_if_modified(|p| p.remove(&self.cache));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_waiter_is_woken_whatever_the_order() {
        let sync = CacheSync::default();
        let a = sync.register("pods");
        let b = sync.register("modeldeployments");
        assert_eq!(sync.pending(), vec!["modeldeployments", "pods"]);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let sync = sync.clone();
                tokio::spawn(async move { sync.wait().await })
            })
            .collect();
        // Let every waiter register before the caches fill.
        tokio::time::sleep(Duration::from_millis(20)).await;
        a.synced();
        assert!(!sync.is_synced());
        assert_eq!(sync.pending(), vec!["modeldeployments"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.synced();
        b.synced();
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .expect("every waiter wakes")
                .unwrap();
        }
        assert!(sync.is_synced());
        // Waiting after the fact returns at once.
        tokio::time::timeout(Duration::from_secs(1), sync.wait())
            .await
            .unwrap();
    }

    /// Documents the behaviour of kube-runtime this module works around: of two tasks waiting
    /// for one store, one is never woken. When this test fails, kube-runtime has fixed it.
    #[tokio::test]
    async fn kube_store_readiness_wakes_only_the_last_waiter() {
        use k8s_openapi::api::core::v1::ConfigMap;
        use kube::runtime::{reflector, watcher};
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let first = {
            let r = reader.clone();
            tokio::spawn(async move { r.wait_until_ready().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = {
            let r = reader.clone();
            tokio::spawn(async move { r.wait_until_ready().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        tokio::time::timeout(Duration::from_secs(1), second)
            .await
            .expect("the last waiter wakes")
            .unwrap()
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), first)
                .await
                .is_err(),
            "the first waiter was woken too: kube-runtime no longer loses wake-ups"
        );
    }
}
