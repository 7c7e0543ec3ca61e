//! End-to-end tests of `model-compliance-operator check`: the built binary is run on the
//! examples and on the fixtures under `tests/fixtures/invalid-input/`.
//!
//! The reports of `check examples/` are compared byte for byte with the files in
//! `tests/golden/`. After an intended change of the output, regenerate them with
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test check_cli
//! ```
//!
//! and review the diff before committing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Every run is evaluated as of this instant, so reports do not change with the date.
const NOW: &str = "2026-12-01T00:00:00Z";

/// The folder of the fixtures with bad input, relative to the crate root.
const INVALID: &str = "tests/fixtures/invalid-input";

/// The result of one run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The lines of standard error that report a problem.
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect()
    }

    /// Panics unless standard error has exactly the line `expected`.
    #[track_caller]
    fn assert_error(&self, expected: &str) {
        assert!(
            self.stderr.lines().any(|l| l == expected),
            "expected this line on stderr:\n{expected}\nstderr was:\n{}",
            self.stderr
        );
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary with `args`, from the crate root so that paths in reports are relative.
fn run(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"))
        .args(args)
        .current_dir(root())
        // Piped output is the same whatever terminal the tests run in.
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().expect("the binary exits, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `check` with a fixed `--now` and the given extra arguments.
fn check(args: &[&str]) -> Run {
    let mut all = vec!["check", "--now", NOW];
    all.extend_from_slice(args);
    run(&all)
}

/// Runs `check` on one case folder under `tests/fixtures/invalid-input/`.
fn check_case(case: &str) -> Run {
    check(&[&format!("{INVALID}/{case}")])
}

/// The path of a fixture file as the binary names it.
fn fixture(case: &str, file: &str) -> String {
    format!("{INVALID}/{case}/{file}")
}

/// The 1-based number of the only line of `file` (relative to the crate root) that contains
/// `needle`, so that expected lines follow the fixture files rather than being hard-coded.
#[track_caller]
fn line_of(file: &str, needle: &str) -> usize {
    only_line(file, needle, |l| l.contains(needle))
}

/// The 1-based number of the only line of `file` that is exactly `text`.
#[track_caller]
fn exact_line(file: &str, text: &str) -> usize {
    only_line(file, text, |l| l == text)
}

#[track_caller]
fn only_line(file: &str, what: &str, matches: impl Fn(&str) -> bool) -> usize {
    let text = std::fs::read_to_string(root().join(file))
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| matches(l))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "`{what}` must be on exactly one line of {file}, found on lines {hits:?}"
    );
    hits[0]
}

/// The 1-based line where the `n`-th (1-based) document of `file` starts: the line after the
/// (n-1)-th `---` marker.
#[track_caller]
fn document_start(file: &str, n: usize) -> usize {
    if n == 1 {
        return 1;
    }
    let text = std::fs::read_to_string(root().join(file))
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    let marker = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end() == "---")
        .nth(n - 2)
        .unwrap_or_else(|| panic!("{file} has fewer than {n} documents"));
    marker.0 + 2
}

// ---------------------------------------------------------------------------------------------
// Golden files

fn update_golden() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `actual` with `tests/golden/<name>`, or writes it there when UPDATE_GOLDEN=1.
#[track_caller]
fn assert_golden(name: &str, actual: &str) {
    let path: PathBuf = root().join("tests/golden").join(name);
    if update_golden() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create tests/golden");
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read tests/golden/{name}: {e}\nrun `UPDATE_GOLDEN=1 cargo test --test check_cli` to create it"
        )
    });
    if expected != actual {
        panic!(
            "{}",
            diff(&format!("tests/golden/{name}"), &expected, actual)
        );
    }
}

/// A short report of where `actual` departs from `expected`: the first differing line with
/// its line number, a line of context before it, and how many lines differ in all.
fn diff(name: &str, expected: &str, actual: &str) -> String {
    // Split on '\n' (not `lines()`) so that a missing or extra final newline shows up.
    let old: Vec<&str> = expected.split('\n').collect();
    let new: Vec<&str> = actual.split('\n').collect();
    let first = (0..old.len().max(new.len()))
        .find(|&i| old.get(i) != new.get(i))
        .expect("the texts differ");
    let differing = (0..old.len().max(new.len()))
        .filter(|&i| old.get(i) != new.get(i))
        .count();
    let mut out = format!(
        "output differs from {name} ({} lines expected, {} actual, {differing} differ)\n\
         --- {name}\n+++ actual output\n@@ line {} @@\n",
        old.len(),
        new.len(),
        first + 1
    );
    let (o, n) = (old.get(first).copied(), new.get(first).copied());
    // Long table lines are shown around the first differing character.
    let column = match (o, n) {
        (Some(o), Some(n)) => o
            .char_indices()
            .zip(n.chars())
            .find(|((_, a), b)| a != b)
            .map(|((i, _), _)| i)
            .unwrap_or(o.len().min(n.len())),
        _ => 0,
    };
    if first > 0 {
        out.push_str(&format!(" {}\n", clip(old[first - 1], column)));
    }
    match o {
        Some(l) => out.push_str(&format!("-{}\n", clip(l, column))),
        None => out.push_str("-<end of file>\n"),
    }
    match n {
        Some(l) => out.push_str(&format!("+{}\n", clip(l, column))),
        None => out.push_str("+<end of output>\n"),
    }
    if column > 0 {
        out.push_str(&format!(
            "(first difference at byte {column} of the line)\n"
        ));
    }
    out.push_str(
        "If the change is intended, run `UPDATE_GOLDEN=1 cargo test --test check_cli` and review the diff.",
    );
    out
}

/// At most about 160 characters of `line`, starting a little before byte `at`.
fn clip(line: &str, at: usize) -> String {
    const WIDTH: usize = 160;
    let start = at.saturating_sub(40);
    let start = (0..=start)
        .rev()
        .find(|&i| line.is_char_boundary(i))
        .unwrap_or(0);
    let rest = line.get(start..).unwrap_or("");
    let mut text: String = rest.chars().take(WIDTH).collect();
    if start > 0 {
        text.insert(0, '…');
    }
    if rest.chars().count() > WIDTH {
        text.push('…');
    }
    text
}

/// Runs `check examples/` with `args` and compares stdout with the golden file `name`.
#[track_caller]
fn golden_examples(name: &str, args: &[&str]) {
    let mut all = vec!["examples/"];
    all.extend_from_slice(args);
    let run = check(&all);
    assert_eq!(
        run.stderr, "",
        "the examples are valid input, so stderr is empty"
    );
    assert_eq!(
        run.code, 1,
        "sketch-studio is not acceptable, so `check examples/` exits 1"
    );
    assert_golden(name, &run.stdout);
}

#[test]
fn golden_table() {
    golden_examples("examples.table.txt", &[]);
}

#[test]
fn table_is_the_default_format() {
    let default = check(&["examples/"]);
    let explicit = check(&["examples/", "--output", "table"]);
    assert!(
        default.stdout == explicit.stdout,
        "{}",
        diff("check examples/", &default.stdout, &explicit.stdout)
    );
}

#[test]
fn golden_markdown() {
    golden_examples("examples.md", &["--output", "markdown"]);
}

#[test]
fn golden_json() {
    golden_examples("examples.json", &["--output", "json"]);
}

#[test]
fn golden_junit() {
    golden_examples("examples.junit.xml", &["-o", "junit"]);
}

#[test]
fn golden_table_in_chinese() {
    golden_examples("examples.zh.txt", &["--lang", "zh"]);
}

#[test]
fn golden_wide_table() {
    golden_examples("examples.wide.txt", &["--wide"]);
}

#[test]
fn golden_all_rows_table() {
    golden_examples("examples.all-rows.txt", &["--all-rows", "--width", "120"]);
}

#[test]
fn golden_csv() {
    golden_examples("examples.csv", &["-o", "csv"]);
}

#[test]
fn golden_html() {
    golden_examples("examples.html", &["-o", "html"]);
}

#[test]
fn golden_in_chinese_every_format() {
    for (name, format) in [
        ("examples.zh.md", "markdown"),
        ("examples.zh.csv", "csv"),
        ("examples.zh.json", "json"),
        ("examples.zh.junit.xml", "junit"),
        ("examples.zh.html", "html"),
    ] {
        golden_examples(name, &["--lang", "zh", "-o", format]);
    }
}

#[test]
fn table_headings_give_the_verdicts() {
    let run = check(&["examples/", "--width", "200"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let headings: Vec<(&str, &str)> = lines
        .windows(2)
        .filter(|w| w[0].starts_with("ModelDeployment "))
        .map(|w| (w[0], w[1]))
        .collect();
    assert_eq!(headings.len(), 2, "{headings:?}");
    let (title, verdict) = headings[0];
    assert_eq!(
        title,
        "ModelDeployment chat-serve/qwen-chat (policy public-service)"
    );
    assert!(
        verdict.starts_with("  risk None — acceptable (max Low); 34/40 rows met; 0 not met"),
        "{verdict}"
    );
    let (title, verdict) = headings[1];
    assert_eq!(
        title,
        "ModelDeployment draw-serve/sketch-studio (policy public-service)"
    );
    assert!(
        verdict.starts_with("  risk Critical — NOT acceptable (max Low); "),
        "{verdict}"
    );
}

#[test]
fn diff_names_the_first_differing_line() {
    let report = diff("g", "a\nb\nc\n", "a\nB\nc\n");
    assert!(report.contains("@@ line 2 @@"), "{report}");
    assert!(report.contains("\n a\n-b\n+B\n"), "{report}");
    assert!(report.contains("1 differ"), "{report}");
    let report = diff("g", "a\n", "a");
    assert!(report.contains("-\n+<end of output>"), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Exit codes and determinism

#[test]
fn exit_0_when_every_deployment_is_acceptable() {
    let run = check(&["examples/policies", "examples/compliant"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("ModelDeployment chat-serve/qwen-chat ")),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("sketch-studio"));
}

#[test]
fn exit_1_when_a_deployment_is_not_acceptable() {
    let run = check(&["examples/"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
}

#[test]
fn exit_2_on_bad_input() {
    let run = check_case("no-kind");
    assert_eq!(run.code, 2);
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
}

#[test]
fn exit_2_on_a_path_that_does_not_exist() {
    let run = check(&["tests/fixtures/no-such-folder"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: tests/fixtures/no-such-folder: cannot read:"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_2_without_paths() {
    let run = run(&["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("<PATHS>"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn exit_2_without_a_subcommand() {
    assert_eq!(run(&[]).code, 2);
}

#[test]
fn exit_2_on_an_unknown_output_format() {
    let run = check(&["examples/", "--output", "bogus"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("invalid value 'bogus' for '--output <OUTPUT>'"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn exit_2_on_a_bad_now() {
    let run = run(&["check", "--now", "yesterday", "examples/"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
}

#[test]
fn help_exits_0() {
    let run = run(&["check", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--output"), "{}", run.stdout);
}

#[test]
fn same_input_same_output() {
    for format in ["table", "markdown", "csv", "json", "junit", "html"] {
        let first = check(&["examples/", "-o", format]);
        let second = check(&["examples/", "-o", format]);
        assert_eq!(first.code, second.code);
        assert!(
            first.stdout == second.stdout,
            "two runs of `check examples/ -o {format}` differ:\n{}",
            diff("first run", &first.stdout, &second.stdout)
        );
    }
    // Naming the same files differently (and twice) does not change the result either.
    let by_folder = check(&["examples/", "-o", "json"]);
    let by_parts = check(&[
        "examples/noncompliant",
        "examples/policies",
        "examples/compliant",
        "examples/noncompliant",
        "-o",
        "json",
    ]);
    let deployments = |run: &Run| {
        let json: Value = serde_json::from_str(&run.stdout).expect("JSON");
        let mut d = json["deployments"].clone();
        for item in d.as_array_mut().expect("array") {
            item.as_object_mut().expect("object").remove("source");
        }
        d
    };
    assert_eq!(deployments(&by_folder), deployments(&by_parts));
}

// ---------------------------------------------------------------------------------------------
// The JSON report, read as data

fn examples_json() -> Value {
    let run = check(&["examples/", "--output", "json"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("--output json prints JSON")
}

fn deployment<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["deployments"]
        .as_array()
        .expect("deployments is an array")
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no deployment {name} in the report"))
}

fn rows(deployment: &Value) -> &Vec<Value> {
    deployment["rows"].as_array().expect("rows is an array")
}

#[test]
fn json_report_overall() {
    let report = examples_json();
    assert_eq!(report["evaluatedAt"], NOW);
    assert_eq!(report["acceptable"], false);
    assert_eq!(report["problems"], serde_json::json!([]));
    let names: Vec<&str> = report["deployments"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["qwen-chat", "sketch-studio"]);
}

#[test]
fn json_compliant_deployment_is_acceptable() {
    let report = examples_json();
    let qwen = deployment(&report, "qwen-chat");
    assert_eq!(qwen["namespace"], "chat-serve");
    assert_eq!(qwen["policy"], "public-service");
    assert_eq!(qwen["acceptable"], true);
    assert_eq!(qwen["maxAcceptable"], "Low");
    assert_eq!(qwen["summary"]["nonCompliant"], 0);
    let non_compliant: Vec<&Value> = rows(qwen)
        .iter()
        .filter(|r| r["state"] == "NonCompliant")
        .map(|r| &r["row"])
        .collect();
    assert!(
        non_compliant.is_empty(),
        "qwen-chat has NonCompliant rows {non_compliant:?}"
    );
    // Row 3 is not applicable under the policy, with its remark.
    let row3 = rows(qwen).iter().find(|r| r["row"] == "3").expect("row 3");
    assert_eq!(row3["applicable"], false);
    assert_eq!(row3["state"], "NotApplicable");
    assert!(
        row3["remark"]
            .as_str()
            .is_some_and(|r| r.contains("own data centre")),
        "{row3}"
    );
}

#[test]
fn json_noncompliant_deployment_is_not_acceptable() {
    let report = examples_json();
    let sketch = deployment(&report, "sketch-studio");
    assert_eq!(sketch["namespace"], "draw-serve");
    assert_eq!(sketch["acceptable"], false);
    assert_eq!(sketch["risk"], "Critical");
    let findings: Vec<&str> = sketch["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .map(|f| f.as_str().expect("a condition type"))
        .collect();
    for expected in [
        "A25-AlgorithmFiled",
        "A37-GeneratedContentLabeled",
        "A22-AnnotationBatchesSampled",
    ] {
        assert!(
            findings.contains(&expected),
            "sketch-studio findings {findings:?} lack {expected}"
        );
    }
    for (row, condition) in [
        ("25", "A25-AlgorithmFiled"),
        ("37", "A37-GeneratedContentLabeled"),
        ("22", "A22-AnnotationBatchesSampled"),
    ] {
        let r = rows(sketch)
            .iter()
            .find(|r| r["row"] == row)
            .unwrap_or_else(|| panic!("row {row}"));
        assert_eq!(r["condition"], condition);
        assert_eq!(r["state"], "NonCompliant", "{r}");
    }
    // The summary agrees with the rows (42 rows of Annex A; measures are not counted in it).
    let annex_rows = || {
        rows(sketch)
            .iter()
            .filter(|r| r["row"].as_str().is_some_and(|s| !s.starts_with("8.1")))
    };
    let non_compliant = annex_rows()
        .filter(|r| r["state"] == "NonCompliant")
        .count();
    assert_eq!(sketch["summary"]["nonCompliant"], non_compliant);
}

#[test]
fn json_every_deployment_has_42_rows_and_6_measures() {
    let report = examples_json();
    for d in report["deployments"].as_array().expect("array") {
        let labels: Vec<&str> = rows(d)
            .iter()
            .map(|r| r["row"].as_str().expect("row label"))
            .collect();
        assert_eq!(labels.len(), 48, "{}: {labels:?}", d["name"]);
        let annex: Vec<String> = labels
            .iter()
            .filter(|l| !l.starts_with("8.1"))
            .map(|l| l.to_string())
            .collect();
        let expected: Vec<String> = (1..=42).map(|n| n.to_string()).collect();
        assert_eq!(annex, expected, "{}", d["name"]);
        // The six measures of clause 8.1, after the rows; 8.1a has two conditions.
        let measures: Vec<(&str, &str)> = rows(d)
            .iter()
            .skip(42)
            .map(|r| {
                (
                    r["row"].as_str().expect("row"),
                    r["condition"].as_str().expect("condition"),
                )
            })
            .collect();
        assert_eq!(
            measures,
            [
                ("8.1a", "M81a-TrainingInferenceIsolated"),
                ("8.1a", "M81a-DataAccessRestricted"),
                ("8.1b", "M81b-ContentSafetyFiltered"),
                ("8.1c", "M81c-CodeAudited"),
                ("8.1d", "M81d-AdversarialDefended"),
                ("8.1e", "M81e-BackupsCurrent"),
            ],
            "{}",
            d["name"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: every problem names the file, the document and the line

#[test]
fn malformed_yaml_in_the_second_document() {
    let case = "malformed-yaml";
    let file = fixture(case, "deployments.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = line_of(&file, r#"version: "2.0.0""#);
    let prefix = format!("error: {file}:{line}: document 2: malformed YAML: ");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].starts_with(&prefix),
        "expected {prefix}…, got {}",
        errors[0]
    );
    // The valid first document of the same file is still evaluated.
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("ModelDeployment demo/first ")),
        "{}",
        run.stdout
    );
}

/// The problem message quotes the parser's position, which counts lines from the start of
/// the document rather than of the file, so it contradicts the `file:line` prefix.
#[test]
fn malformed_yaml_message_counts_file_lines() {
    let case = "malformed-yaml";
    let file = fixture(case, "deployments.yaml");
    let run = check_case(case);
    let line = line_of(&file, r#"version: "2.0.0""#);
    let error = run.errors()[0].to_owned();
    assert!(
        !error.contains(" at line ") || error.contains(&format!(" at line {line} ")),
        "{error}"
    );
}

#[test]
fn unknown_field_is_reported_at_its_line() {
    let case = "unknown-field";
    let file = fixture(case, "deployment.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = line_of(&file, "colour: blue");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: unknown field `spec.model.colour`"
    ));
    assert_eq!(run.errors().len(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("licence"), "{}", run.stderr);
    assert!(
        run.stdout.ends_with("\nno ModelDeployment\n"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("ModelDeployment ")),
        "{}",
        run.stdout
    );
}

/// An unknown field below an optional field (`training` is an Option) is located at the
/// optional field's line, and its path carries serde_ignored's `?` marker for the Option:
/// `deployment.yaml:16: document 1: unknown field `spec.training.?.datasets.0.licence``
/// (line 16 is `training:`). `typed()` in src/check/load.rs does not drop the `?` segments
/// of the serde_ignored path before `locate`, as it does for serde_path_to_error paths.
#[test]
fn unknown_field_below_an_option_is_reported_at_its_line() {
    let case = "unknown-field";
    let file = fixture(case, "deployment.yaml");
    let run = check_case(case);
    let line = line_of(&file, "licence: CC-BY-4.0");
    let prefix = format!("error: {file}:{line}: document 1: unknown field `spec.training.");
    let error = run
        .errors()
        .into_iter()
        .find(|e| e.contains("licence"))
        .unwrap_or_else(|| panic!("no error about licence: {}", run.stderr))
        .to_owned();
    assert!(
        error.starts_with(&prefix),
        "expected {prefix}…, got {error}"
    );
    assert!(!error.contains(".?."), "{error}");
    assert!(
        error.contains("datasets[0].licence") || error.contains("datasets.0.licence"),
        "{error}"
    );
}

#[test]
fn wrong_enum_value_is_reported_at_its_line() {
    let case = "wrong-enum";
    let file = fixture(case, "strict-policy.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = line_of(&file, "maxAcceptable: Extreme");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: invalid `spec.riskAcceptance.maxAcceptable`: \
         unknown variant `Extreme`, expected one of `None`, `Low`, `Medium`, `High`, `Critical`"
    ));
    assert_eq!(run.errors().len(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "spec.training.datasets[1].acquisition: must be one of: Licensed, Purchased, Crawled"
        ),
        "{}",
        run.stderr
    );
}

/// An optional enum is checked by the same CEL rule as at admission, with the same words.
#[test]
fn wrong_enum_value_in_a_list_item_is_reported_at_its_line() {
    let case = "wrong-enum";
    let file = fixture(case, "deployment.yaml");
    let run = check_case(case);
    let line = line_of(&file, "acquisition: Stolen");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: rejected by rule: spec.training.datasets[1].acquisition: \
         must be one of: Licensed, Purchased, Crawled, OpenData, UserProvided, SelfProduced, Synthetic"
    ));
}

#[test]
fn missing_policy_is_reported_at_policy_ref() {
    let case = "missing-policy";
    let file = fixture(case, "deployment.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = line_of(&file, "policyRef:");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: ModelDeployment orphan references CompliancePolicy \
         no-such-policy, which is not in the manifests read"
    ));
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
}

#[test]
fn duplicate_names_name_both_places() {
    let case = "duplicate-name";
    let (a, b) = (fixture(case, "a.yaml"), fixture(case, "b.yaml"));
    let run = check_case(case);
    assert_eq!(run.code, 2);
    // The second definition at its metadata.name, the first at the start of its document.
    let second = exact_line(&b, "  name: twin");
    let first = document_start(&a, 1);
    run.assert_error(&format!(
        "error: {b}:{second}: document 2: duplicate ModelDeployment demo/twin: \
         first defined at {a}:{first} (document 1)"
    ));
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
    // The first definition is the one evaluated.
    assert!(
        run.stdout.contains(
            "ModelDeployment demo/twin (policy public-service)
"
        ) && run.stdout.contains(&format!("  source: {a}:{first}\n")),
        "{}",
        run.stdout
    );
}

#[test]
fn cel_rule_on_evidence_dates() {
    let case = "cel-evidence";
    let file = fixture(case, "evidence.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    // The rule is on spec, so the problem is at `spec:`.
    let line = line_of(&file, "spec:");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: rejected by rule: spec: validUntil must be after attestedAt"
    ));
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
}

#[test]
fn cel_rule_on_a_row_not_applicable_without_remark() {
    let case = "cel-row-remark";
    let file = fixture(case, "policy.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = line_of(&file, "- row: 3");
    run.assert_error(&format!(
        "error: {file}:{line}: document 1: rejected by rule: spec.rows[1]: \
         a row marked not applicable needs a remark that says why"
    ));
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
}

#[test]
fn document_without_kind() {
    let case = "no-kind";
    let file = fixture(case, "service.yaml");
    let run = check_case(case);
    assert_eq!(run.code, 2);
    let line = document_start(&file, 2);
    run.assert_error(&format!(
        "error: {file}:{line}: document 2: not a Kubernetes object: apiVersion and kind are required"
    ));
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
}

#[test]
fn every_problem_is_reported_and_valid_deployments_still_evaluated() {
    let case = "many-problems";
    let f = |name: &str| fixture(case, name);
    let run = check_case(case);
    assert_eq!(run.code, 2);

    let broken = f("broken.yaml");
    let evidence = f("evidence.yaml");
    let lax = f("lax-policy.yaml");
    let orphan = f("orphan.yaml");
    let unknown = f("unknown.yaml");
    let healthy = f("healthy.yaml");
    let expected = [
        format!(
            "error: {broken}:{}: document 1: not a Kubernetes object: apiVersion and kind are required",
            document_start(&broken, 1)
        ),
        format!(
            "error: {broken}:{}: document 2: malformed YAML: ",
            line_of(&broken, r#"version: "1.0.0""#)
        ),
        format!(
            "error: {evidence}:{}: document 1: rejected by rule: spec: validUntil must be after attestedAt",
            line_of(&evidence, "spec:")
        ),
        format!(
            "error: {lax}:{}: document 1: rejected by rule: spec.rows[1]: a row marked not applicable needs a remark that says why",
            line_of(&lax, "- row: 3")
        ),
        format!(
            "error: {orphan}:{}: document 1: ModelDeployment orphan references CompliancePolicy no-such-policy, which is not in the manifests read",
            line_of(&orphan, "policyRef:")
        ),
        format!(
            "error: {unknown}:{}: document 1: unknown field `spec.model.colour`",
            line_of(&unknown, "colour:")
        ),
        format!(
            "error: {unknown}:{}: document 2: duplicate ModelDeployment demo/healthy: first defined at {healthy}:{} (document 1)",
            exact_line(&unknown, "  name: healthy"),
            document_start(&healthy, 1)
        ),
    ];
    let errors = run.errors();
    // In this order: sorted by file, then line.
    assert_eq!(errors.len(), expected.len(), "{}", run.stderr);
    for (got, want) in errors.iter().zip(&expected) {
        if want.ends_with(": ") {
            assert!(
                got.starts_with(want.as_str()),
                "expected {want}…, got {got}"
            );
        } else {
            assert_eq!(got, want);
        }
    }

    // The valid deployment's table is still printed, and only it.
    assert!(
        run.stdout
            .contains("\nModelDeployment demo/healthy (policy public-service)\n")
            && run.stdout.contains(&format!("  source: {healthy}:1\n")),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("ModelDeployment "))
            .count(),
        1,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("| Row "), "{}", run.stdout);

    // The JSON report lists the same problems.
    let json = check(&[&format!("{INVALID}/{case}"), "-o", "json"]);
    assert_eq!(json.code, 2);
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), expected.len());
    for (p, e) in problems.iter().zip(&errors) {
        assert_eq!(Some(&e["error: ".len()..]), p.as_str());
    }
    assert_eq!(report["deployments"][0]["name"], "healthy");
}

#[test]
fn fixture_policies_are_copies_of_the_example() {
    // Only the file under test is wrong in each case: the policies are the valid example.
    let example = std::fs::read_to_string(root().join("examples/policies/public-service.yaml"))
        .expect("example policy");
    for case in [
        "malformed-yaml",
        "unknown-field",
        "wrong-enum",
        "missing-policy",
        "duplicate-name",
        "no-kind",
        "many-problems",
    ] {
        let copy = std::fs::read_to_string(root().join(fixture(case, "policy.yaml")))
            .expect("fixture policy");
        assert!(
            copy == example,
            "{INVALID}/{case}/policy.yaml differs from examples/policies/public-service.yaml; copy it again"
        );
    }
}

#[test]
fn explicit_nulls_read_like_absent_fields() {
    // Template renderers write `field: null` for unset values; the API server accepts them.
    let run = check(&["tests/fixtures/nulls", "--wide"]);
    assert_eq!(run.stderr, "", "nulls were reported as problems");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("ModelDeployment demo/with-nulls"),
        "{}",
        run.stdout
    );
    // `acquisition: null` counts as not declared.
    assert!(
        run.stdout.contains("lack acquisition or legalBasis"),
        "{}",
        run.stdout
    );
}

#[test]
fn schema_limits_are_checked_offline_as_at_admission() {
    let case = "limits";
    let run = check_case(case);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let evidence = fixture(case, "evidence.yaml");
    let line = line_of(&evidence, "sha256:");
    run.assert_error(&format!(
        "error: {evidence}:{line}: document 1: invalid `spec.sha256`: \
         \"not-a-sha256-digest-at-all-0000000000000000000000000000000000000\" does not match \"^[0-9a-f]{{64}}$\""
    ));
    let policy = fixture(case, "policy.yaml");
    let line = line_of(&policy, "trainingDataMaxAgeDays: 0");
    run.assert_error(&format!(
        "error: {policy}:{line}: document 1: invalid `spec.parameters.trainingDataMaxAgeDays`: \
         0 is less than the minimum of 1.0"
    ));
}
