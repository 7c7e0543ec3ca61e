//! Label selector matching, as the API server does it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `selector` selects an object with `labels`. An empty selector selects everything.
pub fn matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |key: &str| labels.and_then(|l| l.get(key));
    let labels_ok = selector
        .match_labels
        .as_ref()
        .is_none_or(|wanted| wanted.iter().all(|(k, v)| get(k) == Some(v)));
    labels_ok
        && selector.match_expressions.as_ref().is_none_or(|exprs| {
            exprs.iter().all(|e| {
                let values = e.values.as_deref().unwrap_or(&[]);
                match e.operator.as_str() {
                    "In" => get(&e.key).is_some_and(|v| values.contains(v)),
                    "NotIn" => get(&e.key).is_none_or(|v| !values.contains(v)),
                    "Exists" => get(&e.key).is_some(),
                    "DoesNotExist" => get(&e.key).is_none(),
                    // An unknown operator selects nothing, as the API server would reject it.
                    _ => false,
                }
            })
        })
}

/// Whether the selector has no terms (selects everything).
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn match_labels_and_expressions() {
        let l = labels(&[("app", "llm"), ("tier", "train")]);
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "llm")])),
            match_expressions: Some(vec![
                expr("tier", "In", &["train", "eval"]),
                expr("gpu", "DoesNotExist", &[]),
            ]),
        };
        assert!(matches(&sel, Some(&l)));
        let sel = LabelSelector {
            match_expressions: Some(vec![expr("tier", "NotIn", &["train"])]),
            ..Default::default()
        };
        assert!(!matches(&sel, Some(&l)));
        let sel = LabelSelector {
            match_expressions: Some(vec![expr("tier", "Exists", &[])]),
            ..Default::default()
        };
        assert!(matches(&sel, Some(&l)));
        assert!(!matches(&sel, None));
        assert!(matches(&LabelSelector::default(), None));
        let sel = LabelSelector {
            match_expressions: Some(vec![expr("tier", "Bogus", &[])]),
            ..Default::default()
        };
        assert!(!matches(&sel, Some(&l)));
    }
}
