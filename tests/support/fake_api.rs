//! An in-process stand-in for the Kubernetes API, behind a real `kube::Client`: it keeps
//! objects in memory, answers the requests the reconciler makes (server-side apply, JSON and
//! merge patches, deletes, SubjectAccessReviews, events), logs every request so tests can
//! assert exactly what was sent, and can be told to fail a request (409, 500).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
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

    async fn handle(&self, req: Request<Body>) -> Response<Body> {
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
        let mut state = self.state.lock().unwrap();
        let logged_body = if state.lean_log { None } else { body.clone() };
        state.log.push(Logged {
            method: parts.method.clone(),
            path: path.clone(),
            query,
            content_type: content_type.clone(),
            body: logged_body,
        });
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
            (Method::POST, Some(object)) => respond(201, object),
            (Method::PATCH, Some(patch)) => {
                let (target, subresource) = match path.strip_suffix("/status") {
                    Some(main) => (main.to_owned(), true),
                    None => (path.clone(), false),
                };
                let mut object = state.objects.get(&target).cloned();
                if content_type.starts_with("application/apply-patch") {
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

fn respond(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}
