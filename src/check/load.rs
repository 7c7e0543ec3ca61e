//! Reading manifests: every YAML file under the given paths, every document in each file.
//! Problems name the file, the document and the line, and reading goes on after them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use kube::CustomResourceExt;
use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ComplianceEvidence, CompliancePolicy, GROUP, ModelDeployment};
use crate::i18n::{self, Msg};
use crate::snapshot::{FactSource, Snapshot, VolumeSnapshot};

/// Where a document came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    pub file: PathBuf,
    /// 1-based number of the document in its file.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (document {})",
            self.file.display(),
            self.line,
            self.document
        )
    }
}

/// A problem with the input, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub document: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let text = if self.document == 0 {
            i18n::english(
                Msg::ProblemIn,
                &[("file", &file), ("message", &self.message)],
            )
        } else {
            i18n::english(
                Msg::ProblemAt,
                &[
                    ("file", &file),
                    ("line", &self.line),
                    ("document", &self.document),
                    ("message", &self.message),
                ],
            )
        };
        f.write_str(&text)
    }
}

/// A resource read from a manifest, with where it came from and the document's text.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub object: T,
    pub origin: Origin,
    pub text: String,
}

impl<T> Located<T> {
    /// The same document, carrying `object` instead.
    pub fn with<U>(self, object: U) -> Located<U> {
        Located {
            object,
            origin: self.origin,
            text: self.text,
        }
    }

    /// The problem `message` at the line of `path` in this document.
    pub fn problem_at(&self, path: &[&str], message: impl Into<String>) -> Problem {
        let offset = locate(&self.text, path).unwrap_or(0);
        Problem {
            file: self.origin.file.clone(),
            line: self.origin.line + offset,
            document: self.origin.document,
            message: message.into(),
        }
    }
}

/// Everything read.
#[derive(Default)]
pub struct Manifests {
    pub policies: Vec<Located<CompliancePolicy>>,
    pub model_deployments: Vec<Located<ModelDeployment>>,
    pub evidence: Vec<Located<ComplianceEvidence>>,
    pub snapshot: Snapshot,
    pub problems: Vec<Problem>,
    pub files: usize,
    pub documents: usize,
    /// Documents of kinds the check does not use.
    pub ignored: usize,
}

/// Reads every `.yaml`/`.yml` file under `paths` (files in sorted order, so output is stable).
pub fn load(paths: &[PathBuf]) -> Manifests {
    let mut manifests = Manifests {
        snapshot: Snapshot::new(FactSource::Manifests),
        ..Default::default()
    };
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut manifests.problems);
    }
    files.sort();
    files.dedup();
    let mut seen: BTreeMap<(String, String, String), Origin> = BTreeMap::new();
    for file in files {
        manifests.files += 1;
        match std::fs::read_to_string(&file) {
            Ok(text) => load_file(&file, &text, &mut manifests, &mut seen),
            Err(e) => manifests.problems.push(Problem {
                file,
                line: 0,
                document: 0,
                message: i18n::english(Msg::CannotRead, &[("error", &e)]),
            }),
        }
    }
    manifests.problems.sort();
    manifests
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let is_yaml = |p: &Path| p.extension().is_some_and(|e| e == "yaml" || e == "yml");
    match std::fs::metadata(path) {
        Err(e) => problems.push(Problem {
            file: path.to_owned(),
            line: 0,
            document: 0,
            message: i18n::english(Msg::CannotRead, &[("error", &e)]),
        }),
        Ok(meta) if meta.is_dir() => match std::fs::read_dir(path) {
            Err(e) => problems.push(Problem {
                file: path.to_owned(),
                line: 0,
                document: 0,
                message: i18n::english(Msg::CannotList, &[("error", &e)]),
            }),
            Ok(entries) => {
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() || is_yaml(&p) {
                        collect_files(&p, files, problems);
                    }
                }
            }
        },
        // A file named explicitly is read whatever its extension.
        Ok(_) => files.push(path.to_owned()),
    }
}

/// Splits a YAML stream at `---` lines, returning (first line, text) of each document.
pub fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(char::is_whitespace);
        if marker || line == "..." {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            // Content after `--- ` on the marker line belongs to the new document.
            if marker && !line[3..].trim().is_empty() && !line[3..].trim_start().starts_with('#') {
                current.push_str(&line[3..]);
                current.push('\n');
                start = i + 1;
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push((start, current));
    docs.into_iter()
        .filter(|(_, d)| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

fn load_file(
    file: &Path,
    text: &str,
    manifests: &mut Manifests,
    seen: &mut BTreeMap<(String, String, String), Origin>,
) {
    for (index, (line, doc)) in split_documents(text).into_iter().enumerate() {
        manifests.documents += 1;
        let origin = Origin {
            file: file.to_owned(),
            document: index + 1,
            line,
        };
        if let Err(problems) = load_document(origin, doc, manifests, seen) {
            manifests.problems.extend(problems);
        }
    }
}

/// Reads one document: parsed, identified, not a duplicate, then added by kind.
fn load_document(
    origin: Origin,
    doc: String,
    manifests: &mut Manifests,
    seen: &mut BTreeMap<(String, String, String), Origin>,
) -> Result<(), Vec<Problem>> {
    let problem = |line: usize, message: String| {
        vec![Problem {
            file: origin.file.clone(),
            line,
            document: origin.document,
            message,
        }]
    };
    let value = parse_yaml(&doc, origin.line).map_err(|(at, text)| problem(at, text))?;
    let id = Identity::of(&value).map_err(|message| problem(origin.line, message))?;
    let located = Located {
        object: value,
        origin: origin.clone(),
        text: doc,
    };
    if !is_used(&id.api_version, &id.kind) {
        if id.api_version.split('/').next() == Some(GROUP) {
            return Err(vec![located.problem_at(
                &["apiVersion"],
                i18n::english(
                    Msg::NotOurResource,
                    &[
                        ("kind", &id.kind),
                        ("api_version", &id.api_version),
                        ("expected", &format!("{GROUP}/v1alpha1")),
                    ],
                ),
            )]);
        }
        manifests.ignored += 1;
        return Ok(());
    }
    let key = id.key();
    if let Some(first) = seen.get(&key) {
        let place = if key.1.is_empty() {
            id.name.clone()
        } else {
            format!("{}/{}", key.1, id.name)
        };
        return Err(vec![located.problem_at(
            &["metadata", "name"],
            i18n::english(
                Msg::Duplicate,
                &[
                    ("kind", &id.kind),
                    ("name", &place),
                    ("file", &first.file.display()),
                    ("line", &first.line),
                    ("document", &first.document),
                ],
            ),
        )]);
    }
    seen.insert(key, origin);
    add(manifests, &id.kind, &id.namespace, located)
}

/// The document as JSON without explicit nulls, or where and why it is malformed.
fn parse_yaml(doc: &str, line: usize) -> Result<Value, (usize, String)> {
    match serde_yaml_ng::from_str(doc) {
        Ok(mut v) => {
            drop_nulls(&mut v);
            Ok(v)
        }
        Err(e) => {
            let (at, text) = match e.location() {
                // The prefix names the file line; the parser's own position is per document.
                Some(l) => (
                    line + l.line() - 1,
                    e.to_string().replace(
                        &format!(" at line {} column {}", l.line(), l.column()),
                        &format!(" at column {}", l.column()),
                    ),
                ),
                None => (line, e.to_string()),
            };
            Err((at, i18n::english(Msg::MalformedYaml, &[("error", &text)])))
        }
    }
}

/// What names an object.
struct Identity {
    api_version: String,
    kind: String,
    name: String,
    namespace: String,
}

impl Identity {
    fn of(value: &Value) -> Result<Identity, String> {
        let (Some(api_version), Some(kind)) = (
            value.get("apiVersion").and_then(Value::as_str),
            value.get("kind").and_then(Value::as_str),
        ) else {
            return Err(i18n::english(Msg::NotAnObject, &[]));
        };
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() {
            return Err(i18n::english(Msg::NoName, &[("kind", &kind)]));
        }
        let namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        Ok(Identity {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        })
    }

    /// Kind, namespace (empty for cluster-scoped kinds) and name: two documents with the same
    /// key define the same object.
    fn key(&self) -> (String, String, String) {
        let scope = if self.kind == "CompliancePolicy" || self.kind == "Namespace" {
            String::new()
        } else {
            self.namespace.clone()
        };
        (self.kind.clone(), scope, self.name.clone())
    }
}

/// Removes `key: null` entries, as the API server treats them like absent fields (generators
/// such as Helm write them for unset values).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn is_used(api_version: &str, kind: &str) -> bool {
    matches!(
        (api_version, kind),
        (
            "modelcompliance.io/v1alpha1",
            "CompliancePolicy" | "ModelDeployment" | "ComplianceEvidence"
        ) | ("apps/v1", "Deployment" | "StatefulSet")
            | ("v1", "Service" | "Namespace" | "PersistentVolumeClaim")
            | ("networking.k8s.io/v1", "NetworkPolicy")
            | ("rbac.authorization.k8s.io/v1", "Role" | "RoleBinding")
            | ("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
            | ("batch/v1", "CronJob")
    )
}

fn add(
    manifests: &mut Manifests,
    kind: &str,
    namespace: &str,
    doc: Located<Value>,
) -> Result<(), Vec<Problem>> {
    let ns = namespace;
    match kind {
        "CompliancePolicy" => {
            let object = POLICY_SCHEMA.admit(&doc)?;
            manifests.policies.push(doc.with(object));
        }
        "ModelDeployment" => {
            let mut object: ModelDeployment = DEPLOYMENT_SCHEMA.admit(&doc)?;
            object
                .metadata
                .namespace
                .get_or_insert_with(|| ns.to_owned());
            manifests.model_deployments.push(doc.with(object));
        }
        "ComplianceEvidence" => {
            let mut object: ComplianceEvidence = EVIDENCE_SCHEMA.admit(&doc)?;
            object
                .metadata
                .namespace
                .get_or_insert_with(|| ns.to_owned());
            manifests.evidence.push(doc.with(object));
        }
        "Namespace" => {
            let object: k8s_openapi::api::core::v1::Namespace = typed(&doc)?;
            let name = object.metadata.name.clone().unwrap_or_default();
            manifests.snapshot.ns_mut(&name).namespace = Some(object);
        }
        "Deployment" => manifests
            .snapshot
            .ns_mut(ns)
            .apps_deployments
            .push(typed(&doc)?),
        "StatefulSet" => manifests
            .snapshot
            .ns_mut(ns)
            .stateful_sets
            .push(typed(&doc)?),
        "Service" => manifests.snapshot.ns_mut(ns).services.push(typed(&doc)?),
        "PersistentVolumeClaim" => manifests.snapshot.ns_mut(ns).pvcs.push(typed(&doc)?),
        "NetworkPolicy" => manifests
            .snapshot
            .ns_mut(ns)
            .network_policies
            .push(typed(&doc)?),
        "Role" => manifests.snapshot.ns_mut(ns).roles.push(typed(&doc)?),
        "RoleBinding" => manifests
            .snapshot
            .ns_mut(ns)
            .role_bindings
            .push(typed(&doc)?),
        "CronJob" => manifests.snapshot.ns_mut(ns).cron_jobs.push(typed(&doc)?),
        "VolumeSnapshot" => manifests
            .snapshot
            .ns_mut(ns)
            .volume_snapshots
            .push(typed::<VolumeSnapshot>(&doc)?),
        _ => unreachable!("is_used admitted {kind}"),
    }
    Ok(())
}

/// Deserializes a document into its type; an unknown field or a wrong type is a problem at
/// the field's line.
fn typed<T: DeserializeOwned>(doc: &Located<Value>) -> Result<T, Vec<Problem>> {
    let mut unknown: Vec<String> = Vec::new();
    let result: Result<T, _> = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        doc.object.clone(),
        &mut |path: serde_ignored::Path| {
            let path = path.to_string();
            // Derived custom resources read apiVersion and kind from the type, not the data.
            if path != "apiVersion" && path != "kind" {
                unknown.push(path);
            }
        },
    ));
    let mut problems: Vec<Problem> = unknown
        .iter()
        .map(|path| {
            let shown = path.replace(".?", "");
            let segments: Vec<&str> = shown.split('.').collect();
            doc.problem_at(
                &segments,
                i18n::english(Msg::UnknownField, &[("field", &shown)]),
            )
        })
        .collect();
    match result {
        Ok(object) if problems.is_empty() => Ok(object),
        Ok(_) => Err(problems),
        Err(e) => {
            let path = e.path().to_string();
            let segments: Vec<&str> = path
                .split(['.', '[', ']'])
                .filter(|s| !s.is_empty() && *s != "?")
                .collect();
            problems.push(doc.problem_at(
                &segments,
                i18n::english(Msg::InvalidField, &[("field", &path), ("error", e.inner())]),
            ));
            Err(problems)
        }
    }
}

/// The schema of one of the operator's resources exactly as installed (the generated CRD),
/// compiled once: its CEL rules and its OpenAPI limits (patterns, lengths, ranges).
struct InstalledSchema {
    rules: CompiledSchema,
    limits: jsonschema::Validator,
}

impl InstalledSchema {
    fn of<K: CustomResourceExt>() -> Self {
        let crd = crate::crdgen::crds()
            .into_iter()
            .map(|(_, crd)| crd)
            .find(|crd| crd.metadata.name.as_deref() == Some(K::crd_name()))
            .expect("every resource has a generated CRD");
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("derived CRDs have a schema");
        let schema = serde_json::to_value(schema).expect("schema serializes");
        InstalledSchema {
            rules: compile_schema(&schema),
            // OpenAPI v3.0 schemas are JSON Schema draft 4 plus `x-` keywords, which it ignores.
            limits: jsonschema::draft4::new(&schema).expect("the generated schema is valid"),
        }
    }

    /// What the API server admits: the CEL rules, the types (and no unknown fields), then the
    /// limits. Every problem is reported at its line.
    fn admit<T: DeserializeOwned>(&self, doc: &Located<Value>) -> Result<T, Vec<Problem>> {
        self.check_rules(doc)?;
        let object = typed(doc)?;
        let problems: Vec<Problem> = self
            .limits
            .iter_errors(&doc.object)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                let path: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
                let shown = if path.is_empty() {
                    "(root)".to_owned()
                } else {
                    path.join(".")
                };
                doc.problem_at(
                    &path,
                    i18n::english(Msg::InvalidField, &[("field", &shown), ("error", &e)]),
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(object)
        } else {
            Err(problems)
        }
    }

    fn check_rules(&self, doc: &Located<Value>) -> Result<(), Vec<Problem>> {
        match VALIDATOR.validate_compiled(&self.rules, &doc.object, None) {
            Ok(()) => Ok(()),
            Err(errors) => Err(errors
                .iter()
                .map(|e| {
                    let path: Vec<&str> = e
                        .field_path
                        .split(['.', '[', ']'])
                        .filter(|s| !s.is_empty())
                        .collect();
                    doc.problem_at(&path, i18n::english(Msg::RejectedByRule, &[("error", &e)]))
                })
                .collect()),
        }
    }
}

static POLICY_SCHEMA: LazyLock<InstalledSchema> =
    LazyLock::new(InstalledSchema::of::<CompliancePolicy>);
static DEPLOYMENT_SCHEMA: LazyLock<InstalledSchema> =
    LazyLock::new(InstalledSchema::of::<ModelDeployment>);
static EVIDENCE_SCHEMA: LazyLock<InstalledSchema> =
    LazyLock::new(InstalledSchema::of::<ComplianceEvidence>);
static VALIDATOR: LazyLock<Validator> = LazyLock::new(Validator::new);

/// The 0-based line, within a document, of the key at `path` (map keys and list indices),
/// found by indentation. Falls back to the deepest part of the path found.
pub fn locate(doc: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = doc.lines().collect();
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let significant = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let mut from = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for segment in path {
        let mut hit = None;
        if let Ok(index) = segment.parse::<usize>() {
            // The index-th list item below the current key.
            let mut item_indent = None;
            let mut count = 0usize;
            for (i, l) in lines.iter().enumerate().skip(from) {
                if !significant(l) {
                    continue;
                }
                let indent = indent_of(l);
                if parent_indent.is_some_and(|p| indent < p)
                    || (parent_indent.is_some_and(|p| indent == p)
                        && !l.trim_start().starts_with("- "))
                {
                    break;
                }
                if l.trim_start().starts_with('-') && item_indent.is_none_or(|ii| ii == indent) {
                    item_indent = Some(indent);
                    if count == index {
                        hit = Some((i, indent));
                        break;
                    }
                    count += 1;
                }
            }
        } else {
            for (i, l) in lines.iter().enumerate().skip(from) {
                if !significant(l) {
                    continue;
                }
                let indent = indent_of(l);
                if i > from
                    && parent_indent.is_some_and(|p| indent <= p)
                    && !l.trim_start().starts_with("- ")
                {
                    break;
                }
                let key = l.trim_start().trim_start_matches("- ");
                let key = key.trim_start_matches(['"', '\'']);
                if key.starts_with(segment)
                    && key[segment.len()..]
                        .trim_start_matches(['"', '\''])
                        .starts_with(':')
                {
                    let key_indent = indent
                        + (l.trim_start().len() - l.trim_start().trim_start_matches("- ").len());
                    hit = Some((i, key_indent));
                    break;
                }
            }
        }
        match hit {
            Some((line, indent)) => {
                found = Some(line);
                from = line + usize::from(segment.parse::<usize>().is_err());
                parent_indent = Some(indent);
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_line_numbers() {
        let text = "a: 1\n---\n# comment only\n---\nkind: X\nb: 2\n--- \nc: 3\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].0, 1);
        assert_eq!(docs[1].0, 5);
        assert_eq!(docs[2].0, 8);
    }

    #[test]
    fn locate_finds_nested_keys_and_list_items() {
        let doc = "apiVersion: v1\nspec:\n  training:\n    datasets:\n      - name: a\n        license: x\n      - name: b\n        bogus: 1\n  policyRef: p\n";
        assert_eq!(locate(doc, &["spec", "policyRef"]), Some(8));
        assert_eq!(
            locate(doc, &["spec", "training", "datasets", "1", "bogus"]),
            Some(7)
        );
        assert_eq!(
            locate(doc, &["spec", "training", "datasets", "0", "license"]),
            Some(5)
        );
        assert_eq!(locate(doc, &["spec", "nothing"]), Some(1));
        assert_eq!(locate(doc, &["kind"]), None);
    }
}
