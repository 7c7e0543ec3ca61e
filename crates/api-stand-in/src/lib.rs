//! An in-process stand-in for the Kubernetes API, behind a real `kube::Client`: it keeps
//! objects in memory, answers the requests the reconciler makes (server-side apply, JSON and
//! merge patches, deletes, SubjectAccessReviews, events) and the lists and watches of the
//! reflectors (a watch stays open and sends what `insert` stores later), logs every request so tests can assert
//! exactly what was sent, can be told to fail a request (409, 500), and can hold requests
//! until a test lets them through, which decides the order in which answers arrive.

#![forbid(unsafe_code)]

pub mod e2e;
pub mod fixtures;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{Full, StreamBody, combinators::BoxBody};
use kube::client::Body;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One request as the stand-in received it.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Option<Value>,
}

impl Logged {
    /// Writes change something: everything but GET, LIST and WATCH.
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    pub fn is_event(&self) -> bool {
        self.path.contains("/events")
    }

    pub fn field_manager(&self) -> Option<&str> {
        self.query
            .split('&')
            .find_map(|kv| kv.strip_prefix("fieldManager="))
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    log: Vec<Logged>,
    failures: VecDeque<(Method, String, u16)>,
    /// `user|resource|name` triples a SubjectAccessReview allows.
    allowed: BTreeSet<String>,
    version: u64,
    /// Log requests without their bodies (benchmarks: the log should not weigh).
    lean_log: bool,
    /// Requests held until their gate opens.
    holds: Vec<Hold>,
    /// Open watches: the `(prefix, resource)` they follow and where their events go.
    watches: Vec<(
        String,
        String,
        futures::channel::mpsc::UnboundedSender<Bytes>,
    )>,
}

/// What a hold matches.
#[derive(Clone, Debug)]
enum Held {
    /// The list (not the watch) of a resource, e.g. `modeldeployments`.
    List(String),
    /// Requests with this method whose path contains this text.
    Request(Method, String),
}

struct Hold {
    held: Held,
    open: tokio::sync::watch::Receiver<bool>,
}

/// Lets the requests of one hold through, when opened or dropped.
pub struct Gate(tokio::sync::watch::Sender<bool>);

impl Gate {
    pub fn open(&self) {
        let _ = self.0.send(true);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

/// The parts of an API path: `/api/v1` or `/apis/GROUP/VERSION`, the namespace, the resource
/// and the name (`None` for a collection).
#[derive(Debug, PartialEq)]
struct ApiPath<'a> {
    prefix: &'a str,
    namespace: Option<&'a str>,
    resource: &'a str,
    name: Option<&'a str>,
}

fn api_path(path: &str) -> Option<ApiPath<'_>> {
    let prefix_len = if path.starts_with("/api/") {
        "/api/v1".len()
    } else if let Some(rest) = path.strip_prefix("/apis/") {
        let mut parts = rest.splitn(3, '/');
        let (group, version) = (parts.next()?, parts.next()?);
        "/apis/".len() + group.len() + 1 + version.len()
    } else {
        return None;
    };
    let (prefix, rest) = path.split_at(prefix_len.min(path.len()));
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let parsed = match segments.as_slice() {
        [resource] => (None, *resource, None),
        ["namespaces", ns, resource] => (Some(*ns), *resource, None),
        ["namespaces", ns, resource, name] => (Some(*ns), *resource, Some(*name)),
        [resource, name] => (None, *resource, Some(*name)),
        _ => return None,
    };
    Some(ApiPath {
        prefix,
        namespace: parsed.0,
        resource: parsed.1,
        name: parsed.2,
    })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace("%3D", "=").replace("%3d", "="))
    })
}

/// The stand-in. Clones share state.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl FakeApi {
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds the lists of `resource` (e.g. `pods`) until the gate opens or is dropped.
    pub fn hold_list(&self, resource: &str) -> Gate {
        self.hold(Held::List(resource.to_owned()))
    }

    /// Holds requests with `method` whose path contains `path` until the gate opens or is
    /// dropped.
    pub fn hold_request(&self, method: Method, path: &str) -> Gate {
        self.hold(Held::Request(method, path.to_owned()))
    }

    fn hold(&self, held: Held) -> Gate {
        let (open, receiver) = tokio::sync::watch::channel(false);
        self.state.lock().unwrap().holds.push(Hold {
            held,
            open: receiver,
        });
        Gate(open)
    }

    /// A client whose every request goes to this stand-in.
    pub fn client(&self) -> Client {
        let api = self.clone();
        let service = tower::service_fn(move |req: Request<Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(req).await) }
        });
        Client::new(service, "default")
    }

    /// Stores an object at its API path, as if created before the test.
    pub fn insert(&self, path: &str, object: Value) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        let mut object = object;
        object["metadata"]["resourceVersion"] = json!(state.version.to_string());
        let kind = if state.objects.contains_key(path) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        if let Some(at) = api_path(path) {
            let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap();
            line.push(b'\n');
            let line = Bytes::from(line);
            state.watches.retain(|(prefix, resource, events)| {
                if (prefix.as_str(), resource.as_str()) != (at.prefix, at.resource) {
                    return true;
                }
                events.unbounded_send(line.clone()).is_ok()
            });
        }
        state.objects.insert(path.to_owned(), object);
    }

    pub fn object(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    /// A reflector store filled with the objects whose path contains `segment`, as a watch
    /// of them would fill it.
    pub fn store<K>(&self, segment: &str) -> Store<K>
    where
        K: Resource<DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let (reader, mut writer) = reflector::store::<K>();
        writer.apply_watcher_event(&watcher::Event::Init);
        for path in self.paths().into_iter().filter(|p| p.contains(segment)) {
            let object: K = serde_json::from_value(self.object(&path).unwrap())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            writer.apply_watcher_event(&watcher::Event::InitApply(object));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        reader
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests that change something, events left out.
    pub fn writes(&self) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|r| r.is_write() && !r.is_event())
            .collect()
    }

    pub fn events(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|r| r.is_event() && r.method == Method::POST)
            .filter_map(|r| r.body)
            .collect()
    }

    /// Keep logging requests, but not their bodies.
    pub fn lean_log(&self) {
        self.state.lock().unwrap().lean_log = true;
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// The next request with `method` whose path contains `path` fails with `code`.
    pub fn fail_next(&self, method: Method, path: &str, code: u16) {
        self.state
            .lock()
            .unwrap()
            .failures
            .push_back((method, path.to_owned(), code));
    }

    /// SubjectAccessReviews for `user` on `resource`/`name` are answered allowed.
    pub fn allow(&self, user: &str, resource: &str, name: &str) {
        self.state
            .lock()
            .unwrap()
            .allowed
            .insert(format!("{user}|{resource}|{name}"));
    }

    async fn handle(&self, req: Request<Body>) -> Answer {
        let (parts, body) = req.into_parts();
        let bytes = body.collect_bytes().await.unwrap_or_default();
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or("").to_owned();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let is_watch = query_param(&query, "watch").as_deref() == Some("true");
        let is_list =
            parts.method == Method::GET && api_path(&path).is_some_and(|p| p.name.is_none());
        // Logged as it arrives, held or not.
        let gates: Vec<_> = {
            let mut state = self.state.lock().unwrap();
            let logged_body = if state.lean_log { None } else { body.clone() };
            state.log.push(Logged {
                method: parts.method.clone(),
                path: path.clone(),
                query: query.clone(),
                content_type: content_type.clone(),
                body: logged_body,
            });
            state
                .holds
                .iter()
                .filter(|h| match &h.held {
                    Held::List(resource) => {
                        is_list && !is_watch && api_path(&path).unwrap().resource == resource
                    }
                    Held::Request(method, part) => {
                        *method == parts.method && path.contains(part.as_str())
                    }
                })
                .map(|h| h.open.clone())
                .collect()
        };
        for mut gate in gates {
            let _ = gate.wait_for(|open| *open).await;
        }
        let mut state = self.state.lock().unwrap();
        if let Some(i) = state
            .failures
            .iter()
            .position(|(m, p, _)| *m == parts.method && path.contains(p.as_str()))
        {
            let (_, _, code) = state.failures.remove(i).unwrap();
            let reason = if code == 409 {
                "Conflict"
            } else {
                "InternalError"
            };
            return respond(code, status(code, reason, "injected failure"));
        }
        state.version += 1;
        let version = state.version.to_string();
        if is_watch {
            // Open until the client goes; it carries what `insert` stores from now on.
            let at = api_path(&path).unwrap();
            let (events, stream) = futures::channel::mpsc::unbounded::<Bytes>();
            let watch = (at.prefix.to_owned(), at.resource.to_owned(), events);
            state.watches.push(watch);
            let frames = futures::StreamExt::map(stream, |line| {
                Ok::<_, Infallible>(http_body::Frame::data(line))
            });
            return Response::builder()
                .status(StatusCode::OK)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(BoxBody::new(StreamBody::new(frames)))
                .unwrap();
        }
        if is_list {
            return respond(200, list(&state.objects, &path, &query, &version));
        }
        match (parts.method.clone(), body) {
            (Method::GET, _) => match state.objects.get(&path) {
                Some(o) => respond(200, o.clone()),
                None => respond(404, status(404, "NotFound", "not found")),
            },
            (Method::POST, Some(review)) if path.ends_with("/subjectaccessreviews") => {
                let spec = &review["spec"];
                let key = format!(
                    "{}|{}|{}",
                    spec["user"].as_str().unwrap_or(""),
                    spec["resourceAttributes"]["resource"]
                        .as_str()
                        .unwrap_or(""),
                    spec["resourceAttributes"]["name"].as_str().unwrap_or("")
                );
                let mut answer = review.clone();
                answer["status"] = json!({"allowed": state.allowed.contains(&key)});
                respond(201, answer)
            }
            (Method::POST, Some(object)) if path.contains("/events") => respond(201, object),
            (Method::POST, Some(mut object)) => {
                // A create: stored under its name, refused if one exists.
                let Some(name) = object["metadata"]["name"].as_str().map(str::to_owned) else {
                    return respond(422, status(422, "Invalid", "metadata.name is required"));
                };
                let at = format!("{path}/{name}");
                if state.objects.contains_key(&at) {
                    return respond(
                        409,
                        status(409, "AlreadyExists", &format!("{name} already exists")),
                    );
                }
                object["metadata"]["resourceVersion"] = json!(version);
                object["metadata"]["uid"] = json!(format!("uid-{version}"));
                state.objects.insert(at, object.clone());
                respond(201, object)
            }
            (Method::PATCH, Some(patch)) => {
                let (target, subresource) = match path.strip_suffix("/status") {
                    Some(main) => (main.to_owned(), true),
                    None => (path.clone(), false),
                };
                let mut object = state.objects.get(&target).cloned();
                let adds_finalizers = !subresource
                    && patch.get("spec").is_none()
                    && patch["metadata"].get("finalizers").is_some();
                if let (true, true, Some(stored)) = (
                    content_type.starts_with("application/apply-patch"),
                    adds_finalizers,
                    object.as_mut(),
                ) {
                    // An apply of finalizers alone: a set, merged with the others' entries.
                    let mut have = stored["metadata"]["finalizers"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for f in patch["metadata"]["finalizers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        if !have.contains(f) {
                            have.push(f.clone());
                        }
                    }
                    stored["metadata"]["finalizers"] = json!(have);
                } else if content_type.starts_with("application/apply-patch") {
                    let mut stored = object
                        .take()
                        .unwrap_or_else(|| json!({"metadata": {"uid": format!("uid-{version}")}}));
                    if subresource {
                        stored["status"] = patch["status"].clone();
                    } else {
                        let status = stored.get("status").cloned();
                        let uid = stored["metadata"]["uid"].clone();
                        let finalizers = stored["metadata"].get("finalizers").cloned();
                        stored = patch.clone();
                        stored["metadata"]["uid"] = uid;
                        if let Some(f) = finalizers {
                            stored["metadata"]["finalizers"] = f;
                        }
                        if let Some(s) = status {
                            stored["status"] = s;
                        }
                    }
                    object = Some(stored);
                } else {
                    let Some(current) = object.as_mut() else {
                        return respond(404, status(404, "NotFound", "not found"));
                    };
                    if content_type.starts_with("application/json-patch") {
                        // As the API server does, a `test` for null passes on a missing path.
                        let mut patch = patch;
                        if let Some(ops) = patch.as_array_mut() {
                            ops.retain(|op| {
                                let missing = op["path"]
                                    .as_str()
                                    .is_some_and(|p| current.pointer(p).is_none());
                                !(op["op"] == "test" && op["value"].is_null() && missing)
                            });
                        }
                        let ops: json_patch::Patch = match serde_json::from_value(patch) {
                            Ok(p) => p,
                            Err(e) => {
                                return respond(400, status(400, "BadRequest", &e.to_string()));
                            }
                        };
                        if let Err(e) = json_patch::patch(current, &ops) {
                            return respond(422, status(422, "Invalid", &e.to_string()));
                        }
                    } else {
                        merge(current, &patch);
                    }
                }
                let mut object = object.unwrap();
                object["metadata"]["resourceVersion"] = json!(version);
                state.objects.insert(target, object.clone());
                respond(200, object)
            }
            (Method::DELETE, _) => match state.objects.remove(&path) {
                Some(o) => respond(200, o),
                None => respond(404, status(404, "NotFound", "not found")),
            },
            _ => respond(
                405,
                status(405, "MethodNotAllowed", "not supported by the stand-in"),
            ),
        }
    }
}

/// The objects of a collection path (all namespaces, or one), with a `metadata.name` field
/// selector and an equality label selector (`a=b,c=d`) if given, as one page.
fn list(objects: &BTreeMap<String, Value>, path: &str, query: &str, version: &str) -> Value {
    let want = api_path(path).unwrap();
    let name = query_param(query, "fieldSelector")
        .and_then(|s| s.strip_prefix("metadata.name=").map(str::to_owned));
    let labels: Vec<(String, String)> = query_param(query, "labelSelector")
        .map(|s| {
            s.replace("%2C", ",")
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let labeled = |o: &Value| {
        labels
            .iter()
            .all(|(k, v)| o["metadata"]["labels"][k].as_str() == Some(v))
    };
    let items: Vec<Value> = objects
        .iter()
        .filter(|(p, _)| {
            api_path(p).is_some_and(|have| {
                have.name.is_some()
                    && have.prefix == want.prefix
                    && have.resource == want.resource
                    && (want.namespace.is_none() || have.namespace == want.namespace)
                    && name.as_deref().is_none_or(|n| have.name == Some(n))
            })
        })
        .filter(|(_, o)| labeled(o))
        .map(|(_, o)| o.clone())
        .collect();
    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": version}, "items": items})
}

type Answer = Response<BoxBody<Bytes, Infallible>>;

fn respond(code: u16, body: Value) -> Answer {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(BoxBody::new(Full::new(Bytes::from(
            serde_json::to_vec(&body).unwrap(),
        ))))
        .unwrap()
}
