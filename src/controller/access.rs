//! SubjectAccessReviews proving that inference service accounts cannot read training data,
//! cached so that a steady cluster sees no requests: an answer is reused until the RBAC
//! objects of the training namespace change, or for at most `MAX_AGE`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

use super::stores::Stores;
use crate::api::ModelDeployment;
use crate::api::selector;
use crate::snapshot::{AccessReview, Snapshot};

/// Longest time an answer is reused (ClusterRoleBindings are not watched).
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// What one review asks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Question {
    service_account: (String, String),
    namespace: String,
    resource: &'static str,
    name: String,
}

struct Answer {
    allowed: bool,
    rbac: u64,
    at: Instant,
}

/// The cache of answers.
#[derive(Default)]
pub struct Reviews {
    answers: Mutex<BTreeMap<Question, Answer>>,
}

/// A fingerprint of the RBAC objects of a namespace: every Role and RoleBinding the cache
/// holds there, at the version the snapshot holds where it has one (what this reconcile
/// applied, which the cache may not show yet). The snapshot alone would not do: it keeps only
/// the objects that reach the deployment, and a binding made for another deployment can still
/// change what a service account may read. The caches keep each namespace's digest up to
/// date, so this costs the snapshot's few objects, not every binding of a namespace a fleet
/// shares.
fn rbac_fingerprint(stores: &Stores, snapshot: &Snapshot, namespace: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let objects = snapshot.ns(namespace);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        stores.roles.digest_in(namespace, &objects.roles),
        stores
            .role_bindings
            .digest_in(namespace, &objects.role_bindings),
    )
        .hash(&mut hasher);
    hasher.finish()
}

fn questions(deployment: &ModelDeployment, snapshot: &Snapshot) -> Vec<Question> {
    let spec = &deployment.spec;
    let (Some(training), Some(inference)) = (spec.training.as_ref(), spec.inference.as_ref())
    else {
        return vec![];
    };
    let accounts: BTreeSet<(String, String)> = snapshot
        .ns(&inference.namespace)
        .pods
        .iter()
        .filter(|p| selector::matches(&inference.pod_selector, p.metadata.labels.as_ref()))
        .map(|p| {
            let sa = p.spec.as_ref().and_then(|s| s.service_account_name.clone());
            (
                inference.namespace.clone(),
                sa.unwrap_or_else(|| "default".into()),
            )
        })
        .collect();
    let mut out = Vec::new();
    for account in accounts {
        let claims = training
            .data_volumes
            .iter()
            .chain(&training.safety_annotation_volumes);
        let targets = claims
            .map(|c| ("persistentvolumeclaims", c))
            .chain(training.data_secrets.iter().map(|s| ("secrets", s)));
        for (resource, name) in targets {
            out.push(Question {
                service_account: account.clone(),
                namespace: training.namespace.clone(),
                resource,
                name: name.clone(),
            });
        }
    }
    out
}

impl Reviews {
    /// The answers already known for `deployment`, however old, without asking anything.
    pub fn known(&self, deployment: &ModelDeployment, snapshot: &Snapshot) -> Vec<AccessReview> {
        let answers = self.answers.lock().expect("cache lock");
        questions(deployment, snapshot)
            .into_iter()
            .filter_map(|q| answers.get(&q).map(|a| review(&q, a.allowed)))
            .collect()
    }

    /// The answers for `deployment`'s inference service accounts, asking the API server only
    /// what is not cached.
    pub async fn answer(
        &self,
        client: &Client,
        stores: &Stores,
        deployment: &ModelDeployment,
        snapshot: &Snapshot,
    ) -> Result<Vec<AccessReview>, kube::Error> {
        let mut out = Vec::new();
        let mut fingerprints: BTreeMap<String, u64> = BTreeMap::new();
        for q in questions(deployment, snapshot) {
            let rbac = *fingerprints
                .entry(q.namespace.clone())
                .or_insert_with(|| rbac_fingerprint(stores, snapshot, &q.namespace));
            let cached = self
                .answers
                .lock()
                .expect("cache lock")
                .get(&q)
                .filter(|a| a.rbac == rbac && a.at.elapsed() < MAX_AGE)
                .map(|a| a.allowed);
            let allowed = match cached {
                Some(allowed) => allowed,
                None => {
                    let allowed = ask(client, &q).await?;
                    let answer = Answer {
                        allowed,
                        rbac,
                        at: Instant::now(),
                    };
                    self.answers
                        .lock()
                        .expect("cache lock")
                        .insert(q.clone(), answer);
                    allowed
                }
            };
            out.push(review(&q, allowed));
        }
        Ok(out)
    }
}

fn review(q: &Question, allowed: bool) -> AccessReview {
    AccessReview {
        service_account: format!("{}/{}", q.service_account.0, q.service_account.1),
        namespace: q.namespace.clone(),
        resource: format!("{}/{}", q.resource, q.name),
        allowed,
    }
}

/// The review for one question. The groups are those every service-account token carries,
/// so that bindings to any of them count.
fn request(q: &Question) -> SubjectAccessReview {
    let (ns, name) = &q.service_account;
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(format!("system:serviceaccount:{ns}:{name}")),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{ns}"),
                "system:authenticated".into(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(q.namespace.clone()),
                verb: Some("get".into()),
                resource: Some(q.resource.into()),
                name: Some(q.name.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn ask(client: &Client, q: &Question) -> Result<bool, kube::Error> {
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &request(q)).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers are reused while the training namespace's RBAC stays the same: the key
    /// changes with any binding there, another deployment's included, and with what the
    /// reconcile just wrote; not with another namespace's.
    #[test]
    fn the_rbac_key_follows_every_binding_of_the_namespace() {
        use k8s_openapi::api::rbac::v1::RoleBinding;
        let binding = |ns: &str, name: &str, version: &str| -> RoleBinding {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": ns, "resourceVersion": version,
                             "labels": {crate::labels::DEPLOYMENT_UID: "other-uid"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}
            }))
            .unwrap()
        };
        let stores = Stores::empty();
        let nothing = Snapshot::default();
        let before = rbac_fingerprint(&stores, &nothing, "train");
        stores
            .role_bindings
            .apply(kube::runtime::watcher::Event::Apply(binding(
                "serve", "b", "1",
            )));
        assert_eq!(rbac_fingerprint(&stores, &nothing, "train"), before);
        stores
            .role_bindings
            .apply(kube::runtime::watcher::Event::Apply(binding(
                "train", "b", "2",
            )));
        let with_theirs = rbac_fingerprint(&stores, &nothing, "train");
        assert_ne!(with_theirs, before, "another deployment's binding");
        let mut written = Snapshot::default();
        written
            .ns_mut("train")
            .role_bindings
            .push(binding("train", "b", "3"));
        let with_mine = rbac_fingerprint(&stores, &written, "train");
        assert_ne!(with_mine, with_theirs, "what this reconcile wrote");
        stores
            .role_bindings
            .apply(kube::runtime::watcher::Event::Apply(binding(
                "train", "b", "3",
            )));
        assert_eq!(
            rbac_fingerprint(&stores, &nothing, "train"),
            with_mine,
            "the same once the cache shows it"
        );
    }

    #[test]
    fn reviews_carry_every_group_of_a_service_account_token() {
        let q = Question {
            service_account: ("serve".into(), "chat".into()),
            namespace: "train".into(),
            resource: "secrets",
            name: "s3-keys".into(),
        };
        let spec = request(&q).spec;
        assert_eq!(
            spec.user.as_deref(),
            Some("system:serviceaccount:serve:chat")
        );
        assert_eq!(
            spec.groups.unwrap(),
            [
                "system:serviceaccounts",
                "system:serviceaccounts:serve",
                "system:authenticated"
            ]
        );
        let attrs = spec.resource_attributes.unwrap();
        assert_eq!(
            (
                attrs.namespace.as_deref(),
                attrs.verb.as_deref(),
                attrs.resource.as_deref(),
                attrs.name.as_deref()
            ),
            (Some("train"), Some("get"), Some("secrets"), Some("s3-keys"))
        );
    }
}
