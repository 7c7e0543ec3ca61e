//! The last status of every ModelDeployment, kept beside the cache instead of in it, and
//! compressed.
//!
//! A reconcile recomputes the status from scratch: it reads the previous one only to compare
//! with (nothing is written when they are equal) and to carry transition times over. Held as
//! objects, 1,000 statuses of 52 conditions take about 15 MB; as compressed JSON about 1.4 MB.
//! The ModelDeployment cache therefore holds objects without status, and this table holds,
//! per deployment uid, the status the watch last delivered and the one this process last
//! wrote, until the watch delivers that one too.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flate2::Compression;
use kube::runtime::watcher;

use crate::api::{ModelDeployment, ModelDeploymentStatus};

/// How long a written status is trusted over the one observed: a watch that has not delivered
/// it by then is not lagging; someone else changed the status, and the watch is believed.
pub const WRITTEN_TRUSTED_FOR: Duration = Duration::from_secs(30);

/// Read and write handle of the table; clones share it.
#[derive(Clone, Default)]
pub struct Statuses {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    by_uid: HashMap<String, Entry>,
    /// During a (re-)list: the uids seen so far. At its end the others are dropped.
    listing: Option<HashSet<String>>,
}

#[derive(Default)]
struct Entry {
    /// As the watch last delivered it.
    observed: Option<Packed>,
    /// What this process last wrote, and when, until the watch delivers the same.
    written: Option<(Packed, Instant)>,
}

/// A status as deflated JSON. Serialization of the typed status is canonical (field order is
/// the type's), so two equal statuses pack to equal bytes.
#[derive(Clone, PartialEq, Eq)]
struct Packed(Box<[u8]>);

impl Packed {
    fn pack(status: &ModelDeploymentStatus) -> Packed {
        let json = serde_json::to_vec(status).expect("a status serializes");
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(&json).expect("writing to memory");
        Packed(
            encoder
                .finish()
                .expect("writing to memory")
                .into_boxed_slice(),
        )
    }

    fn unpack(&self) -> ModelDeploymentStatus {
        let mut json = Vec::new();
        flate2::read::DeflateDecoder::new(&*self.0)
            .read_to_end(&mut json)
            .expect("packed by `pack`");
        serde_json::from_slice(&json).expect("packed from a status")
    }
}

fn uid_of(deployment: &ModelDeployment) -> Option<String> {
    deployment.metadata.uid.clone()
}

impl Statuses {
    /// Takes the statuses out of the ModelDeployments a watch delivers, keeps them, and
    /// forgets the deployments deleted or gone from a re-list.
    pub fn observe(&self, event: &mut watcher::Event<ModelDeployment>) {
        let mut inner = self.inner.lock().expect("statuses lock");
        match event {
            watcher::Event::Init => inner.listing = Some(HashSet::new()),
            watcher::Event::InitApply(d) | watcher::Event::Apply(d) => {
                let status = d.status.take();
                let Some(uid) = uid_of(d) else { return };
                if let Some(listing) = inner.listing.as_mut() {
                    listing.insert(uid.clone());
                }
                let entry = inner.by_uid.entry(uid).or_default();
                entry.observed = status.as_ref().map(Packed::pack);
                if entry
                    .written
                    .as_ref()
                    .is_some_and(|(w, _)| Some(w) == entry.observed.as_ref())
                {
                    entry.written = None;
                }
            }
            watcher::Event::Delete(d) => {
                d.status = None;
                if let Some(uid) = uid_of(d) {
                    inner.by_uid.remove(&uid);
                }
            }
            watcher::Event::InitDone => {
                if let Some(listed) = inner.listing.take() {
                    inner.by_uid.retain(|uid, _| listed.contains(uid));
                }
            }
        }
    }

    /// Remembers the status just written for the deployment `uid`.
    pub fn wrote(&self, uid: &str, status: &ModelDeploymentStatus) {
        let packed = Packed::pack(status);
        let mut inner = self.inner.lock().expect("statuses lock");
        let entry = inner.by_uid.entry(uid.to_owned()).or_default();
        entry.written =
            (entry.observed.as_ref() != Some(&packed)).then(|| (packed, Instant::now()));
    }

    /// The status to decide against: the one this process wrote, while the watch has not
    /// delivered it and for at most [`WRITTEN_TRUSTED_FOR`]; otherwise the one observed;
    /// `None` when there is neither.
    pub fn last(&self, uid: &str) -> Option<ModelDeploymentStatus> {
        let mut inner = self.inner.lock().expect("statuses lock");
        let entry = inner.by_uid.get_mut(uid)?;
        if let Some((written, at)) = &entry.written {
            if at.elapsed() <= WRITTEN_TRUSTED_FOR {
                return Some(written.unpack());
            }
            entry.written = None;
        }
        entry.observed.as_ref().map(Packed::unpack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn deployment(uid: &str, reason: &str) -> ModelDeployment {
        let mut d: ModelDeployment =
            serde_json::from_value(api_stand_in::fixtures::chat_deployment())
                .expect("a deployment");
        d.metadata.uid = Some(uid.into());
        d.status = Some(status(reason));
        d
    }

    fn status(reason: &str) -> ModelDeploymentStatus {
        ModelDeploymentStatus {
            observed_generation: Some(1),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: reason.into(),
                message: String::new(),
                observed_generation: Some(1),
                last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_watch_delivers_objects_without_status_and_the_table_keeps_it() {
        let table = Statuses::default();
        let mut event = watcher::Event::Apply(deployment("u1", "Applied"));
        table.observe(&mut event);
        let watcher::Event::Apply(d) = &event else {
            unreachable!()
        };
        assert!(d.status.is_none(), "the cache gets no status");
        assert_eq!(table.last("u1"), Some(status("Applied")));
        assert_eq!(table.last("u2"), None, "an unknown deployment");
    }

    #[test]
    fn a_written_status_is_believed_until_the_watch_delivers_it() {
        let table = Statuses::default();
        table.observe(&mut watcher::Event::Apply(deployment("u1", "Old")));
        table.wrote("u1", &status("New"));
        // The watch still delivers the old one (another field changed): the write stands.
        table.observe(&mut watcher::Event::Apply(deployment("u1", "Old")));
        assert_eq!(table.last("u1"), Some(status("New")));
        // It delivers the write: the written copy is dropped, and the observed one is the same.
        table.observe(&mut watcher::Event::Apply(deployment("u1", "New")));
        let inner = table.inner.lock().unwrap();
        assert!(inner.by_uid["u1"].written.is_none(), "no second copy kept");
        drop(inner);
        assert_eq!(table.last("u1"), Some(status("New")));
    }

    #[test]
    fn a_written_status_the_watch_never_delivers_gives_way_after_a_while() {
        let table = Statuses::default();
        table.observe(&mut watcher::Event::Apply(deployment("u1", "Theirs")));
        table.wrote("u1", &status("Mine"));
        table
            .inner
            .lock()
            .unwrap()
            .by_uid
            .get_mut("u1")
            .unwrap()
            .written
            .as_mut()
            .unwrap()
            .1 = Instant::now() - WRITTEN_TRUSTED_FOR - Duration::from_secs(1);
        assert_eq!(table.last("u1"), Some(status("Theirs")));
    }

    #[test]
    fn deleted_deployments_and_those_a_relist_misses_are_forgotten() {
        let table = Statuses::default();
        for uid in ["a", "b", "c"] {
            table.observe(&mut watcher::Event::Apply(deployment(uid, "R")));
        }
        table.observe(&mut watcher::Event::Delete(deployment("a", "R")));
        assert_eq!(table.last("a"), None);
        // A re-list that sees only "c": "b" was deleted while the watch was down.
        table.observe(&mut watcher::Event::Init);
        table.observe(&mut watcher::Event::InitApply(deployment("c", "R")));
        table.observe(&mut watcher::Event::InitDone);
        assert_eq!(table.last("b"), None);
        assert!(table.last("c").is_some());
    }

    #[test]
    fn packed_statuses_are_a_fraction_of_their_json() {
        let mut s = status("R");
        for i in 0..52 {
            let mut c = s.conditions[0].clone();
            c.type_ = format!("A{i}-SomeObligationRow");
            c.reason = "EvidenceValid".into();
            s.conditions.push(c);
        }
        let json = serde_json::to_vec(&s).unwrap().len();
        let packed = Packed::pack(&s);
        assert_eq!(packed.unpack(), s, "lossless");
        assert!(
            packed.0.len() * 3 < json,
            "{} of {json} bytes",
            packed.0.len()
        );
    }
}
