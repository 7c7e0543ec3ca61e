//! SubjectAccessReviews proving that inference service accounts cannot read training data,
//! cached so that a steady cluster sees no requests: an answer is reused until the RBAC
//! objects of the training namespace that can concern the account change, or for at most
//! `MAX_AGE`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::PostParams;
use kube::{Api, Client};

use super::cache::Term;
use super::stores::{Stores, Trim};
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

/// The groups every service-account token of `namespace` carries: a binding to any of them
/// counts for its accounts.
fn token_groups(namespace: &str) -> [String; 3] {
    [
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{namespace}"),
        "system:authenticated".into(),
    ]
}

/// The subjects (see [`Term::Subject`]) a binding must name to grant `account` anything: the
/// account, as itself and as its user name, and the groups of its token.
fn subjects_of(account: &(String, String)) -> BTreeSet<Term> {
    let (ns, name) = account;
    [
        format!("ServiceAccount:{ns}:{name}"),
        format!("User:system:serviceaccount:{ns}:{name}"),
    ]
    .into_iter()
    .chain(token_groups(ns).iter().map(|g| format!("Group:{g}")))
    .map(Term::Subject)
    .collect()
}

/// A fingerprint of what RBAC in `namespace` can grant `account`: the RoleBindings there that
/// name one of its subjects (or a subject of a kind the index does not know), and the Roles
/// they refer to, each at the version the snapshot holds where it has one (what this reconcile
/// applied, which the cache may not show yet). A binding naming other subjects grants the
/// account nothing, so the bindings a fleet sharing a training namespace gets, one per
/// deployment for its own trainers, do not make every other deployment ask again. The cache
/// finds the bindings by subject, so this costs those few, not every binding of the namespace.
fn rbac_fingerprint(
    stores: &Stores,
    snapshot: &Snapshot,
    namespace: &str,
    account: &(String, String),
) -> u64 {
    use std::hash::{Hash, Hasher};
    let subjects = subjects_of(account);
    let terms = RoleBinding::TERMS.expect("bindings are indexed by subject");
    let concerns = |b: &RoleBinding| {
        let named = terms(b);
        named.is_empty() || named.iter().any(|t| subjects.contains(t))
    };
    let objects = snapshot.ns(namespace);
    let cached = stores.role_bindings.among(namespace, Some(&subjects));
    let name = |b: &RoleBinding| b.metadata.name.clone().unwrap_or_default();
    let mut bindings: BTreeMap<String, &RoleBinding> =
        cached.iter().map(|b| (name(b), &**b)).collect();
    for b in &objects.role_bindings {
        if concerns(b) {
            bindings.insert(name(b), b);
        } else {
            bindings.remove(&name(b));
        }
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, b) in &bindings {
        (
            name,
            &b.metadata.resource_version,
            &b.role_ref.kind,
            &b.role_ref.name,
        )
            .hash(&mut hasher);
        if b.role_ref.kind == "Role" {
            let role = &b.role_ref.name;
            let written = objects
                .roles
                .iter()
                .find(|r| r.metadata.name.as_ref() == Some(role))
                .map(|r| r.metadata.resource_version.clone());
            let version = written.unwrap_or_else(|| {
                stores
                    .roles
                    .get(namespace, role)
                    .and_then(|r| r.metadata.resource_version.clone())
            });
            version.hash(&mut hasher);
        }
    }
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
        let mut fingerprints: BTreeMap<(String, (String, String)), u64> = BTreeMap::new();
        for q in questions(deployment, snapshot) {
            let rbac = *fingerprints
                .entry((q.namespace.clone(), q.service_account.clone()))
                .or_insert_with(|| {
                    rbac_fingerprint(stores, snapshot, &q.namespace, &q.service_account)
                });
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
            groups: Some(token_groups(ns).into()),
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

    /// Answers are reused while nothing in the training namespace that can grant the account
    /// anything changes: the key follows the bindings naming it, its user name or a group of
    /// its token (or a subject of an unknown kind), the Roles they name, and what the
    /// reconcile just wrote; not bindings of other subjects, their Roles, or another
    /// namespace's.
    #[test]
    fn the_rbac_key_follows_the_bindings_that_can_grant_the_account() {
        use k8s_openapi::api::rbac::v1::Role;
        use kube::runtime::watcher::Event;
        let binding = |ns: &str, name: &str, version: &str, subject: serde_json::Value| {
            serde_json::from_value::<RoleBinding>(serde_json::json!({
                "metadata": {"name": name, "namespace": ns, "resourceVersion": version,
                             "labels": {crate::labels::DEPLOYMENT_UID: "other-uid"}},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": format!("{name}-role")},
                "subjects": [subject]
            }))
            .unwrap()
        };
        let role = |name: &str, version: &str| -> Role {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "train", "resourceVersion": version}
            }))
            .unwrap()
        };
        let account = ("serve".to_owned(), "chat".to_owned());
        let sa = |ns: &str, name: &str| serde_json::json!({"kind": "ServiceAccount", "namespace": ns, "name": name});
        let group = |name: &str| serde_json::json!({"kind": "Group", "name": name});
        let stores = Stores::empty();
        let nothing = Snapshot::default();
        let key = |snapshot: &Snapshot| rbac_fingerprint(&stores, snapshot, "train", &account);
        let before = key(&nothing);

        // Bindings that cannot grant the account anything: the key stays.
        stores.role_bindings.apply(Event::Apply(binding(
            "serve",
            "here",
            "1",
            sa("serve", "chat"),
        )));
        stores.role_bindings.apply(Event::Apply(binding(
            "train",
            "trainers",
            "2",
            sa("train", "trainer"),
        )));
        stores.role_bindings.apply(Event::Apply(binding(
            "train",
            "same-name",
            "3",
            sa("other", "chat"),
        )));
        stores.role_bindings.apply(Event::Apply(binding(
            "train",
            "others",
            "4",
            group("system:serviceaccounts:other"),
        )));
        stores.roles.apply(Event::Apply(role("trainers-role", "5")));
        assert_eq!(
            key(&nothing),
            before,
            "bindings of other subjects and their roles"
        );

        // Each that can: the account, its user name, a group of its token, an unknown kind.
        let mut last = before;
        for (name, subject) in [
            ("account", sa("serve", "chat")),
            (
                "user",
                serde_json::json!({"kind": "User", "name": "system:serviceaccount:serve:chat"}),
            ),
            ("tokens", group("system:serviceaccounts:serve")),
            ("everyone", group("system:authenticated")),
            ("unknown", serde_json::json!({"kind": "Robot", "name": "r"})),
        ] {
            stores
                .role_bindings
                .apply(Event::Apply(binding("train", name, "6", subject)));
            let now = key(&nothing);
            assert_ne!(now, last, "a binding to {name}");
            last = now;
        }
        stores.roles.apply(Event::Apply(role("tokens-role", "7")));
        let with_role = key(&nothing);
        assert_ne!(with_role, last, "the Role such a binding names");

        // What this reconcile wrote counts before the cache shows it, and the same after.
        let mut written = Snapshot::default();
        written.ns_mut("train").role_bindings.push(binding(
            "train",
            "mine",
            "8",
            sa("serve", "chat"),
        ));
        let with_mine = key(&written);
        assert_ne!(with_mine, with_role, "what this reconcile wrote");
        stores.role_bindings.apply(Event::Apply(binding(
            "train",
            "mine",
            "8",
            sa("serve", "chat"),
        )));
        assert_eq!(key(&nothing), with_mine, "the same once the cache shows it");
        // A written version that no longer names the account takes the binding out.
        let mut rewritten = Snapshot::default();
        rewritten.ns_mut("train").role_bindings.push(binding(
            "train",
            "mine",
            "9",
            sa("train", "trainer"),
        ));
        assert_eq!(
            key(&rewritten),
            with_role,
            "a binding rewritten for another subject"
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
