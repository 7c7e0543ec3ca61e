//! The generated CustomResourceDefinitions are accepted by the API server: structural
//! schemas, CEL rules with bounded cost and a message, the expected names, scope, columns and
//! subresources; and the files committed under `crds/` are the generated ones.

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use model_compliance_operator::crdgen;
use serde_json::{Map, Value};

type Object = Map<String, Value>;

fn all() -> Vec<(&'static str, CustomResourceDefinition)> {
    crdgen::crds()
}

fn crd(kind: &str) -> CustomResourceDefinition {
    all()
        .into_iter()
        .map(|(_, c)| c)
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD of kind {kind}"))
}

fn version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
    assert_eq!(crd.spec.versions.len(), 1, "{}", crd.spec.names.kind);
    &crd.spec.versions[0]
}

/// The openAPIV3Schema of a CRD, as JSON.
fn schema(crd: &CustomResourceDefinition) -> Value {
    let s = version(crd)
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .unwrap_or_else(|| panic!("{} has no openAPIV3Schema", crd.spec.names.kind));
    serde_json::to_value(s).expect("schema serializes")
}

/// Every schema of every CRD with its kind.
fn schemas() -> Vec<(String, Value)> {
    all()
        .into_iter()
        .map(|(_, c)| (c.spec.names.kind.clone(), schema(&c)))
        .collect()
}

/// Calls `f` with every schema node reached through properties, items and
/// additionalProperties, with its path (`.spec.rows[]`). Nodes inside anyOf/oneOf/allOf/not
/// are value validations, not structure, and are not visited.
fn walk(node: &Value, path: &str, f: &mut dyn FnMut(&str, &Object)) {
    let Some(obj) = node.as_object() else {
        return;
    };
    f(path, obj);
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            walk(child, &format!("{path}.{name}"), f);
        }
    }
    if let Some(items) = obj.get("items") {
        walk(items, &format!("{path}[]"), f);
    }
    if let Some(extra) = obj.get("additionalProperties")
        && extra.is_object()
    {
        walk(extra, &format!("{path}{{}}"), f);
    }
}

/// Every JSON object anywhere below `node`, including inside junctors, with its JSON pointer.
fn every_object(node: &Value, pointer: &str, f: &mut dyn FnMut(&str, &Object)) {
    match node {
        Value::Object(obj) => {
            f(pointer, obj);
            for (k, v) in obj {
                every_object(v, &format!("{pointer}/{k}"), f);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                every_object(v, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// The violations `f` finds in the nodes of `schemas`, as `Kind .path: problem`.
fn violations(
    schemas: &[(String, Value)],
    mut f: impl FnMut(&str, &str, &Object) -> Option<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (kind, s) in schemas {
        walk(s, "", &mut |path, node| {
            if let Some(p) = f(kind, path, node) {
                problems.push(format!("{kind} {path}: {p}"));
            }
        });
    }
    problems
}

/// Checks every node of every CRD and fails with all violations at once.
fn check_nodes(what: &str, f: impl FnMut(&str, &str, &Object) -> Option<String>) {
    let problems = violations(&schemas(), f);
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

fn rules(node: &Object) -> Vec<(&str, &str)> {
    node.get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    (
                        r["rule"].as_str().unwrap_or(""),
                        r.get("message").and_then(Value::as_str).unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The schema node at a path of property names (`[]` for items).
fn node<'a>(schema: &'a Value, path: &[&str]) -> &'a Object {
    let mut at = schema;
    for segment in path {
        at = if *segment == "[]" {
            &at["items"]
        } else {
            &at["properties"][*segment]
        };
    }
    at.as_object()
        .unwrap_or_else(|| panic!("no schema node at {path:?}"))
}

fn type_of(node: &Object) -> Option<&str> {
    node.get("type").and_then(Value::as_str)
}

// ---------------------------------------------------------------------------------------------
// Structural schemas

fn untyped(node: &Object) -> Option<String> {
    let typed = type_of(node).is_some()
        || node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
        || node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    (!typed).then(|| format!("no type (keys {:?})", node.keys().collect::<Vec<_>>()))
}

#[test]
fn every_node_has_a_type() {
    let mut visited = 0;
    check_nodes("schema nodes without a type", |_, _, node| {
        visited += 1;
        untyped(node)
    });
    // The walk reaches the whole schema, not just the top.
    assert!(visited > 200, "only {visited} schema nodes visited");
}

#[test]
fn root_is_an_object_with_spec_and_status() {
    for (kind, s) in schemas() {
        let root = s.as_object().expect("object");
        assert_eq!(type_of(root), Some("object"), "{kind}");
        // apiVersion, kind and metadata are implicit in a CRD's schema.
        let props = root["properties"].as_object().expect("properties");
        for p in ["spec", "status"] {
            assert_eq!(
                props.get(p).and_then(|n| n.get("type")),
                Some(&Value::from("object")),
                "{kind} {p}"
            );
        }
        assert!(
            s["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("spec"))),
            "{kind}: spec is required"
        );
    }
}

#[test]
fn no_refs_anywhere() {
    for (kind, s) in schemas() {
        every_object(&s, "", &mut |pointer, obj| {
            assert!(!obj.contains_key("$ref"), "{kind} {pointer}: $ref");
            assert!(
                !obj.contains_key("definitions"),
                "{kind} {pointer}: definitions"
            );
            assert!(!obj.contains_key("$defs"), "{kind} {pointer}: $defs");
        });
    }
}

#[test]
fn junctors_carry_no_structure() {
    const JUNCTORS: [&str; 4] = ["anyOf", "oneOf", "allOf", "not"];
    for (kind, s) in schemas() {
        let root = s.as_object().expect("object");
        for j in JUNCTORS {
            assert!(!root.contains_key(j), "{kind}: {j} at the root");
        }
        // Inside a junctor, a structural schema may only validate values: no type,
        // description, default, additionalProperties or nullable, at any depth.
        every_object(&s, "", &mut |pointer, obj| {
            for j in JUNCTORS {
                if let Some(inner) = obj.get(j) {
                    every_object(inner, &format!("{pointer}/{j}"), &mut |p, o| {
                        for forbidden in [
                            "type",
                            "description",
                            "default",
                            "additionalProperties",
                            "nullable",
                        ] {
                            assert!(
                                !o.contains_key(forbidden),
                                "{kind} {p}: `{forbidden}` inside {j}"
                            );
                        }
                    });
                }
            }
        });
    }
}

#[test]
fn no_null_in_enums() {
    // Optional fields stay `nullable` (the API server rejects an explicit null otherwise, as
    // the end-to-end suite shows), but `null` is never an enum member.
    for (kind, s) in schemas() {
        every_object(&s, "", &mut |pointer, obj| {
            if let Some(members) = obj.get("enum").and_then(Value::as_array) {
                assert!(
                    !members.iter().any(Value::is_null),
                    "{kind} {pointer}: null in enum {members:?}"
                );
                assert!(!members.is_empty(), "{kind} {pointer}: empty enum");
            }
        });
    }
}

#[test]
fn additional_properties_never_with_properties() {
    check_nodes(
        "additionalProperties together with properties",
        |_, _, node| {
            (node.contains_key("additionalProperties") && node.contains_key("properties"))
                .then(|| "both additionalProperties and properties".into())
        },
    );
}

#[test]
fn integer_formats_are_int32_or_int64() {
    for (kind, s) in schemas() {
        every_object(&s, "", &mut |pointer, obj| {
            if let Some(format) = obj.get("format").and_then(Value::as_str) {
                assert!(
                    !format.starts_with("uint") && format != "uint",
                    "{kind} {pointer}: format {format}"
                );
                if type_of(obj) == Some("integer") {
                    assert!(
                        format == "int32" || format == "int64",
                        "{kind} {pointer}: integer with format {format}"
                    );
                }
            }
        });
    }
    // And the types derived from Rust integers carry one.
    check_nodes("integers without a format", |_, _, node| {
        (type_of(node) == Some("integer") && !node.contains_key("format"))
            .then(|| "integer without format".into())
    });
}

#[test]
fn arrays_have_items_and_objects_no_stray_items() {
    check_nodes("arrays without items", |_, _, node| match type_of(node) {
        Some("array") => (!node.contains_key("items")).then(|| "array without items".into()),
        Some(_) => node
            .contains_key("items")
            .then(|| "items on a non-array".into()),
        None => None,
    });
}

fn list_type_problem(node: &Object) -> Option<String> {
    let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str)?;
    if type_of(node) != Some("array") {
        return Some("list-type on a non-array".into());
    }
    let items = node["items"].as_object()?;
    match list_type {
        "set" => (!matches!(
            type_of(items),
            Some("string" | "integer" | "number" | "boolean")
        ))
        .then(|| format!("set of {:?}: items must be scalars", type_of(items))),
        "map" => {
            let keys = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .filter(|k| !k.is_empty());
            let Some(keys) = keys else {
                return Some("map list without x-kubernetes-list-map-keys".into());
            };
            let required = items
                .get("required")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            keys.iter()
                .find(|k| {
                    let has_default = k
                        .as_str()
                        .and_then(|k| items["properties"].get(k))
                        .is_some_and(|p| p.get("default").is_some());
                    !required.contains(k) && !has_default
                })
                .map(|k| format!("map key {k} is neither required nor defaulted"))
        }
        "atomic" => None,
        other => Some(format!("unknown list-type {other}")),
    }
}

#[test]
fn list_types_are_well_formed() {
    check_nodes("x-kubernetes-list-type misuse", |_, _, node| {
        list_type_problem(node)
    });
}

// ---------------------------------------------------------------------------------------------
// CEL rules

/// The identifiers that follow a `.` in a CEL expression (`self.rows`, `a.name`).
fn selected_fields(rule: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let bytes = rule.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'.' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            if end > start && !bytes[start].is_ascii_digit() {
                fields.push(&rule[start..end]);
            }
            i = end;
        } else {
            i += 1;
        }
    }
    fields
}

/// Why a string or list touched by a rule has no estimated size bound, if it has none. The
/// API server estimates a string's size from maxLength, or from its enum members; a
/// date-time is a timestamp, of fixed size.
fn unbounded(node: &Object) -> Option<&'static str> {
    match type_of(node) {
        Some("array") if !node.contains_key("maxItems") => Some("an array without maxItems"),
        Some("string")
            if !node.contains_key("maxLength")
                && !node.contains_key("enum")
                && !matches!(
                    node.get("format").and_then(Value::as_str),
                    Some("date-time" | "date" | "duration")
                ) =>
        {
            Some("a string without maxLength")
        }
        _ => None,
    }
}

/// Why the rules on `node` may have an unbounded cost: the node, or a field the rules
/// select on it (or on its items), is a list or string without a size bound.
fn cel_bound_problem(node: &Object) -> Option<String> {
    let rules = rules(node);
    if rules.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    if let Some(why) = unbounded(node) {
        problems.push(format!("carries rules but is {why}"));
    }
    // The fields the rules select, on this node or (for a list) on its items.
    let fields = match type_of(node) {
        Some("array") => node["items"].get("properties").and_then(Value::as_object),
        _ => node.get("properties").and_then(Value::as_object),
    };
    if let Some(fields) = fields {
        for (rule, _) in &rules {
            for name in selected_fields(rule) {
                if let Some(why) = fields
                    .get(name)
                    .and_then(Value::as_object)
                    .and_then(unbounded)
                {
                    problems.push(format!("rule `{rule}` selects `{name}`, {why}"));
                }
            }
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[test]
fn rules_touch_only_bounded_lists_and_strings() {
    check_nodes("CEL rules over unbounded values", |_, _, node| {
        cel_bound_problem(node)
    });
}

#[test]
fn every_array_carrying_a_rule_has_max_items() {
    let mut seen = 0;
    check_nodes("arrays with rules but no maxItems", |_, _, node| {
        if type_of(node) != Some("array") || rules(node).is_empty() {
            return None;
        }
        seen += 1;
        (!node.contains_key("maxItems")).then(|| "no maxItems".into())
    });
    // ComplianceEvidence rows, CompliancePolicy rows and measures, ModelDeployment datasets.
    assert!(seen >= 4, "only {seen} arrays carry rules");
}

#[test]
fn every_rule_has_a_message() {
    let mut count = 0;
    check_nodes("rules without a message", |_, _, node| {
        let empty: Vec<&str> = rules(node)
            .into_iter()
            .inspect(|_| count += 1)
            .filter(|(rule, message)| rule.trim().is_empty() || message.trim().is_empty())
            .map(|(rule, _)| rule)
            .collect();
        (!empty.is_empty()).then(|| format!("rules {empty:?} have no message"))
    });
    assert!(count >= 20, "only {count} rules in all");
}

/// Panics unless `node` carries `rule` with a message containing `message`.
#[track_caller]
fn assert_rule(node: &Object, rule: &str, message: &str) {
    let all = rules(node);
    let found = all.iter().find(|(r, _)| *r == rule);
    match found {
        Some((_, m)) => assert!(m.contains(message), "rule `{rule}` has message `{m}`"),
        None => panic!("no rule `{rule}` among {all:?}"),
    }
}

#[test]
fn evidence_rules() {
    let s = schema(&crd("ComplianceEvidence"));
    let spec = node(&s, &["spec"]);
    assert_rule(spec, "self == oldSelf", "immutable");
    assert_rule(
        spec,
        "self.validUntil > self.attestedAt",
        "validUntil must be after attestedAt",
    );
    assert_rule(
        spec,
        "size(self.rows) + size(self.measures) > 0",
        "at least one row or measure",
    );
    // Timestamps, so that `>` compares instants and not strings.
    for field in ["attestedAt", "validUntil"] {
        let f = node(&s, &["spec", field]);
        assert_eq!(
            f.get("format").and_then(Value::as_str),
            Some("date-time"),
            "{field}"
        );
    }
    assert_rule(
        node(&s, &["spec", "rows"]),
        "self.all(r, r >= 1 && r <= 42)",
        "1 to 42",
    );
}

#[test]
fn policy_row_and_measure_rules() {
    let s = schema(&crd("CompliancePolicy"));
    let remark = "!has(self.applicable) || self.applicable || has(self.remark)";
    assert_rule(
        node(&s, &["spec", "rows", "[]"]),
        remark,
        "a row marked not applicable needs a remark",
    );
    assert_rule(
        node(&s, &["spec", "measures", "[]"]),
        remark,
        "a measure marked not applicable needs a remark",
    );
    assert_rule(
        node(&s, &["spec", "rows"]),
        "self.all(a, self.exists_one(b, b.row == a.row))",
        "only once",
    );
}

#[test]
fn policy_parameter_loosening_rules() {
    let s = schema(&crd("CompliancePolicy"));
    let parameters = node(&s, &["spec", "parameters"]);
    let rules = rules(parameters);
    // Each threshold that can be loosened has a rule asking for a remark, naming its row.
    for (field, row) in [
        ("trainingDataMaxAgeDays", 12),
        ("minDistinctSources", 13),
        ("annotationMaxIllegalRatio", 22),
        ("securityAssessmentMaxAgeDays", 24),
        ("corpusEvaluation", 31),
        ("contentEvaluation", 32),
        ("refusalEvaluation", 33),
        ("inputRetentionMaxDays", 35),
        ("personalInfoRequestMaxDays", 36),
        ("complaintResponseMaxDays", 38),
    ] {
        assert!(
            parameters["properties"].get(field).is_some(),
            "parameters has no field {field}"
        );
        let rule = rules
            .iter()
            .find(|(r, _)| r.starts_with(&format!("!has(self.{field})")))
            .unwrap_or_else(|| panic!("no loosening rule for {field} among {rules:?}"));
        assert!(
            rule.0.ends_with("|| has(self.remark)"),
            "{field}: `{}` does not accept a remark",
            rule.0
        );
        assert!(
            rule.1.contains(&format!("loosens row {row}")) && rule.1.contains("add a remark"),
            "{field}: message `{}`",
            rule.1
        );
    }
    assert!(parameters["properties"].get("remark").is_some());
}

#[test]
fn dataset_rules() {
    let s = schema(&crd("ModelDeployment"));
    let datasets = node(&s, &["spec", "training", "datasets"]);
    assert_rule(
        datasets,
        "self.all(a, self.exists_one(b, b.name == a.name))",
        "unique",
    );
    let dataset = node(&s, &["spec", "training", "datasets", "[]"]);
    assert_rule(
        dataset,
        "has(self.source) || has(self.uri)",
        "a dataset needs a source or a uri",
    );
    assert_rule(
        dataset,
        "!has(self.desensitized) || (has(self.containsPersonalInfo) && self.containsPersonalInfo)",
        "containsPersonalInfo",
    );
    assert_rule(
        dataset,
        "!has(self.crawlCompliance) || (has(self.acquisition) && self.acquisition == 'Crawled')",
        "crawling",
    );
    assert_rule(
        node(&s, &["spec", "training", "annotationBatches", "[]"]),
        "self.illegalItems <= self.sampledItems",
        "illegalItems cannot exceed sampledItems",
    );
}

// ---------------------------------------------------------------------------------------------
// Status, names, scope, columns

#[test]
fn conditions_are_a_map_keyed_by_type() {
    let mut found = Vec::new();
    for (kind, s) in schemas() {
        walk(&s, "", &mut |path, node| {
            if !path.ends_with(".conditions") {
                return;
            }
            found.push(format!("{kind} {path}"));
            assert_eq!(type_of(node), Some("array"), "{kind} {path}");
            assert_eq!(
                node.get("x-kubernetes-list-type"),
                Some(&Value::from("map")),
                "{kind} {path}"
            );
            assert_eq!(
                node.get("x-kubernetes-list-map-keys"),
                Some(&serde_json::json!(["type"])),
                "{kind} {path}"
            );
        });
        assert!(
            node(&s, &["status", "conditions"]).contains_key("items"),
            "{kind} has no status.conditions"
        );
    }
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn status_subresource_is_enabled() {
    for (_, c) in all() {
        let v = version(&c);
        assert!(
            v.subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{}: no status subresource",
            c.spec.names.kind
        );
    }
}

#[test]
fn one_served_storage_version() {
    for (_, c) in all() {
        let v = version(&c);
        assert_eq!(v.name, "v1alpha1", "{}", c.spec.names.kind);
        assert!(v.served && v.storage, "{}", c.spec.names.kind);
    }
}

#[test]
fn names_scope_and_categories() {
    let expected = [
        (
            "compliancepolicies.yaml",
            "CompliancePolicy",
            "compliancepolicies",
            "cpol",
            "Cluster",
        ),
        (
            "modeldeployments.yaml",
            "ModelDeployment",
            "modeldeployments",
            "mdep",
            "Namespaced",
        ),
        (
            "complianceevidences.yaml",
            "ComplianceEvidence",
            "complianceevidences",
            "cev",
            "Namespaced",
        ),
    ];
    let crds = all();
    assert_eq!(crds.len(), expected.len());
    for ((file, c), (e_file, kind, plural, short, scope)) in crds.iter().zip(expected) {
        assert_eq!(*file, e_file);
        let names = &c.spec.names;
        assert_eq!(names.kind, kind);
        assert_eq!(names.plural, plural);
        assert_eq!(
            c.metadata.name.as_deref(),
            Some(format!("{plural}.modelcompliance.io").as_str())
        );
        assert_eq!(c.spec.group, "modelcompliance.io");
        assert_eq!(names.short_names, Some(vec![short.to_owned()]), "{kind}");
        assert_eq!(
            names.categories,
            Some(vec!["compliance".to_owned()]),
            "{kind}"
        );
        assert_eq!(c.spec.scope, scope, "{kind}");
    }
}

/// A CRD's printer columns: name, type, JSON path and priority (0 when unset).
fn printer_columns(c: &CustomResourceDefinition) -> Vec<(&str, &str, &str, i32)> {
    version(c)
        .additional_printer_columns
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|col| {
            (
                col.name.as_str(),
                col.type_.as_str(),
                col.json_path.as_str(),
                col.priority.unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn model_deployment_printer_columns() {
    let c = crd("ModelDeployment");
    let columns: Vec<(&str, &str, &str)> = printer_columns(&c)
        .into_iter()
        .map(|(name, type_, path, _)| (name, type_, path))
        .collect();
    assert_eq!(
        columns,
        [
            ("Policy", "string", ".spec.policyRef"),
            ("Compliant", "string", ".status.summary.compliant"),
            ("Risk", "string", ".status.risk"),
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type==\"Ready\")].status"
            ),
            // A string: kubectl shows a future date column as `<invalid>`.
            ("Evidence expires", "string", ".status.evidenceExpiry"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ]
    );
}

/// `kubectl get cev` shows what an attestation covers, for whom and until when; the measures
/// and the attester with `-o wide` (priority 1).
#[test]
fn compliance_evidence_printer_columns() {
    let c = crd("ComplianceEvidence");
    let columns = printer_columns(&c);
    assert_eq!(
        columns,
        [
            ("Rows", "string", ".spec.rows", 0),
            ("Measures", "string", ".spec.measures", 1),
            ("Targets", "string", ".spec.targets", 0),
            ("Valid until", "string", ".spec.validUntil", 0),
            ("Attested by", "string", ".spec.attestedBy", 1),
            ("Age", "date", ".metadata.creationTimestamp", 0),
        ]
    );
}

#[test]
fn printer_columns_point_at_schema_fields() {
    for (_, c) in all() {
        let s = schema(&c);
        for col in version(&c)
            .additional_printer_columns
            .as_deref()
            .unwrap_or_default()
        {
            let path = col.json_path.trim_start_matches('.');
            if path.starts_with("metadata.") {
                continue;
            }
            // The field path up to the first filter or index.
            let fields: Vec<&str> = path
                .split('.')
                .map(|f| f.split('[').next().unwrap_or(f))
                .take_while(|f| !f.is_empty() && !f.contains('@'))
                .collect();
            let mut at = &s;
            for f in &fields {
                at = &at["properties"][*f];
                if at["type"] == "array" {
                    break;
                }
            }
            assert!(
                at.get("type").is_some(),
                "{}: column {} points at {} which is not in the schema",
                c.spec.names.kind,
                col.name,
                col.json_path
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The committed files

#[test]
fn committed_crds_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let stale = crdgen::stale(&dir);
    assert!(
        stale.is_empty(),
        "the CRDs under crds/ differ from the generated ones: {stale:?}\n\
         run `cargo run -- crd` and commit the result"
    );
}

#[test]
fn rendered_crds_round_trip() {
    for (file, c) in all() {
        let text = crdgen::render(&c);
        assert!(text.starts_with("# Generated by"), "{file}");
        let back: CustomResourceDefinition =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(back, c, "{file}");
    }
}

// ---------------------------------------------------------------------------------------------
// The checks themselves

/// The checks above find violations when there are some: a hand-made non-structural schema.
#[test]
fn checks_catch_a_bad_schema() {
    let bad = serde_json::json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "untyped": { "description": "no type" },
                    "names": {
                        "type": "array",
                        "items": { "type": "string" },
                        "x-kubernetes-validations": [{ "rule": "size(self) > 0" }]
                    },
                    "entries": {
                        "type": "array",
                        "maxItems": 4,
                        "items": {
                            "type": "object",
                            "properties": { "id": { "type": "string", "maxLength": 8 } }
                        },
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["id"]
                    },
                    "tags": {
                        "type": "array",
                        "items": { "type": "object" },
                        "x-kubernetes-list-type": "set"
                    }
                },
                "x-kubernetes-validations": [
                    { "rule": "self.note != ''", "message": "a note" },
                    { "rule": "self.at > self.since", "message": "times" }
                ]
            }
        }
    });
    // `note` is an unbounded string selected by a rule; `at` and `since` are timestamps.
    let mut bad = bad;
    bad["properties"]["spec"]["properties"]["note"] = serde_json::json!({ "type": "string" });
    bad["properties"]["spec"]["properties"]["at"] =
        serde_json::json!({ "type": "string", "format": "date-time" });
    bad["properties"]["spec"]["properties"]["since"] =
        serde_json::json!({ "type": "string", "format": "date-time" });
    let schemas = [("Bad".to_owned(), bad)];

    let untyped_found = violations(&schemas, |_, _, n| untyped(n));
    assert_eq!(
        untyped_found,
        ["Bad .spec.untyped: no type (keys [\"description\"])"]
    );

    let lists = violations(&schemas, |_, _, n| list_type_problem(n));
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(
        lists[0].starts_with("Bad .spec.entries: map key \"id\""),
        "{lists:?}"
    );
    assert!(lists[1].starts_with("Bad .spec.tags: set of"), "{lists:?}");

    let cel = violations(&schemas, |_, _, n| cel_bound_problem(n));
    assert_eq!(cel.len(), 2, "{cel:?}");
    assert!(
        cel.iter()
            .any(|v| v
                .starts_with("Bad .spec.names: carries rules but is an array without maxItems")),
        "{cel:?}"
    );
    assert!(
        cel.iter().any(|v| v.starts_with(
            "Bad .spec: rule `self.note != ''` selects `note`, a string without maxLength"
        )),
        "{cel:?}"
    );

    let messageless: Vec<&str> = rules(node(&schemas[0].1, &["spec", "names"]))
        .into_iter()
        .filter(|(_, m)| m.is_empty())
        .map(|(r, _)| r)
        .collect();
    assert_eq!(messageless, ["size(self) > 0"]);

    assert_eq!(
        selected_fields("self.all(a, a.name == b.x_y) && self.z.size() > 0.5"),
        ["all", "name", "x_y", "z", "size"]
    );
}

#[test]
fn the_policy_default_sidecar_port_is_the_one_the_sidecar_listens_on() {
    assert_eq!(
        model_compliance_operator::catalog::defaults::SIDECAR_PORT,
        i32::from(aigc_labeler::config::DEFAULT_PORT),
        "the policy's default sidecar port and the sidecar's default listen port agree"
    );
}
