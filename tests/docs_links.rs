//! The documentation holds together: every relative link in `docs/` and `README.md` reaches
//! an existing file (and heading, when it names one), and `docs/troubleshooting.md` explains
//! every condition and event reason the operator writes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The Markdown files whose links are checked.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir("docs")
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The text outside fenced code blocks, line by line with line numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The targets of `[text](target)` links on a line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].trim());
        rest = &after[end..];
    }
    targets
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    prose(markdown)
        .into_iter()
        .filter_map(|(_, line)| line.strip_prefix('#'))
        .map(|h| slug(h.trim_start_matches('#')))
        .collect()
}

#[test]
fn relative_links_resolve() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap_or(Path::new("."));
        for (number, line) in prose(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target, None),
                };
                let resolved = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                let place = format!("{}:{number}: {target}", file.display());
                if !resolved.exists() {
                    broken.push(format!("{place}: no such file"));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let target_text = std::fs::read_to_string(&resolved).unwrap_or_default();
                    if !anchors(&target_text).contains(anchor) {
                        broken.push(format!("{place}: no heading with that anchor"));
                    }
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_checker_sees_broken_links() {
    assert_eq!(
        link_targets("see [a](x.md) and [b](y.md#z), [c](https://e.example)"),
        ["x.md", "y.md#z", "https://e.example"]
    );
    assert_eq!(
        slug("Declared facts: datasets (rows 4–15)"),
        "declared-facts-datasets-rows-415"
    );
    assert_eq!(
        slug("The sidecar (rows 27, 37; 8.1b)"),
        "the-sidecar-rows-27-37-81b"
    );
    assert_eq!(
        string_literals("f(\"A\", '\"', \"b \\\"q\\\" c\") // \"Not\"\nx(\"B\")"),
        ["A", "b q c", "B"]
    );
    let text = "# Top\n```\n# not a heading\n```\n## Sub `code`\n";
    assert_eq!(
        anchors(text),
        BTreeSet::from(["top".to_owned(), "sub-code".to_owned()])
    );
}

/// String literals of one CamelCase word that are not reasons: condition types, states,
/// kinds, event actions and phases read from other objects.
const NOT_REASONS: &[&str] = &[
    // condition types and statuses
    "Ready",
    "Compliant",
    "Reconciling",
    "Stalled",
    "True",
    "False",
    "Unknown",
    // decision states
    "NonCompliant",
    "NotApplicable",
    "Excepted",
    // kinds and API values
    "ModelDeployment",
    "Pod",
    "Secret",
    "Role",
    "ClusterRole",
    "ServiceAccount",
    "User",
    "Group",
    "Ingress",
    "Completed",
    "In",
    // event actions
    "Apply",
    "Delete",
    "Withdraw",
    "Evaluate",
    "KillSwitch",
    "Cleanup",
];

/// Every CamelCase string literal in the code that decides conditions and events, outside
/// tests.
fn reasons_in_code() -> BTreeSet<String> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_owned());
        }
    }
    let mut files = Vec::new();
    for root in [
        "crates/core/src/evaluate",
        "crates/core/src/conditions.rs",
        "src/controller",
    ] {
        walk(Path::new(root), &mut files);
    }
    let mut found = BTreeSet::new();
    for file in files {
        let name = file.to_string_lossy();
        if name.contains("/tests/") || name.ends_with("testing.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for literal in string_literals(code) {
            let camel = literal.len() > 1
                && literal.starts_with(|c: char| c.is_ascii_uppercase())
                && literal.chars().all(|c| c.is_ascii_alphanumeric());
            if camel && !NOT_REASONS.contains(&literal.as_str()) {
                found.insert(literal);
            }
        }
    }
    found
}

/// The string literals of Rust source, skipping comments and the character literal `'"'`.
fn string_literals(code: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                // A character literal that is a quote must not open a string.
                let mut ahead = chars.clone();
                if ahead.next() == Some('"') && ahead.next() == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            '"' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        c => literal.push(c),
                    }
                }
                literals.push(literal);
            }
            _ => {}
        }
    }
    literals
}

#[test]
fn troubleshooting_explains_every_reason() {
    let reasons = reasons_in_code();
    assert!(reasons.len() > 100, "only {} reasons found", reasons.len());
    for known in [
        "PolicyNotFound",
        "SidecarBypassed",
        "EvidenceExpired",
        "CleanedUp",
    ] {
        assert!(reasons.contains(known), "{known} not found in the code");
    }
    let doc = std::fs::read_to_string("docs/troubleshooting.md").unwrap();
    let missing: Vec<&String> = reasons
        .iter()
        .filter(|r| !doc.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md does not explain these reasons: {missing:?}"
    );
}
