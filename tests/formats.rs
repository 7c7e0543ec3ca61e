//! The formats read back as data (CSV, JSON, JUnit), the terminal table's width and colour,
//! and the HTML page as a browser draws it (headless Chromium, when installed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

const NOW: &str = "2026-12-01T00:00:00Z";
const STATES: [&str; 5] = [
    "Compliant",
    "NonCompliant",
    "NotApplicable",
    "Excepted",
    "Unknown",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `check --now NOW examples/ ARGS` with the environment `env` (and no inherited COLUMNS,
/// NO_COLOR or CLICOLOR_FORCE).
fn check_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_model-compliance-operator"));
    command
        .args(["check", "--now", NOW, "examples/"])
        .args(args)
        .current_dir(root())
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn check(args: &[&str]) -> String {
    check_with(args, &[])
}

fn json() -> Value {
    serde_json::from_str(&check(&["-o", "json"])).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// CSV, JSON and JUnit as data

#[test]
fn csv_reads_back_one_record_per_deployment_and_obligation() {
    let text = check(&["-o", "csv"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "namespace",
            "name",
            "row",
            "condition",
            "level1",
            "level2",
            "obligation",
            "applicable",
            "state",
            "severity",
            "reason",
            "remark",
            "evidenceValidUntil"
        ]
    );
    let records: Vec<csv::StringRecord> =
        reader.records().map(|r| r.expect("a CSV record")).collect();
    assert_eq!(records.len(), 2 * 48);
    let report = json();
    for (record, (d, row)) in records.iter().zip(
        report["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["rows"].as_array().unwrap().iter().map(move |r| (d, r))),
    ) {
        assert_eq!(&record[0], d["namespace"].as_str().unwrap());
        assert_eq!(&record[1], d["name"].as_str().unwrap());
        assert_eq!(&record[3], row["condition"].as_str().unwrap());
        assert_eq!(&record[8], row["state"].as_str().unwrap());
        // Commas, quotes and Chinese text in remarks survive the quoting.
        assert_eq!(&record[11], row["remark"].as_str().unwrap());
    }
    let row3 = records
        .iter()
        .find(|r| &r[1] == "qwen-chat" && &r[2] == "3")
        .unwrap();
    assert!(
        row3[11].contains("，") && row3[11].contains(", "),
        "{row3:?}"
    );
}

#[test]
fn json_has_the_shape_scripts_rely_on() {
    let report = json();
    assert_eq!(report["evaluatedAt"], NOW);
    assert_eq!(report["origin"]["kind"], "manifests");
    let deployments = report["deployments"].as_array().unwrap();
    let by_risk: u64 = report["fleet"]["byRisk"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_risk as usize, deployments.len());
    for d in deployments {
        for key in [
            "namespace",
            "name",
            "policy",
            "source",
            "risk",
            "maxAcceptable",
            "compliant",
        ] {
            assert!(d[key].is_string(), "{key} of {}", d["name"]);
        }
        assert!(d["acceptable"].is_boolean());
        let rows = d["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 48);
        let mut counted: BTreeMap<&str, u64> = BTreeMap::new();
        for r in rows {
            let state = r["state"].as_str().unwrap();
            assert!(STATES.contains(&state), "{r}");
            assert!(
                r["applicable"].is_boolean() && r["reason"].is_string() && r["remark"].is_string()
            );
            assert_eq!(r["applicable"], state != "NotApplicable");
            if !r["row"].as_str().unwrap().starts_with("8.1") {
                *counted.entry(state).or_default() += 1;
            }
            if let Some(e) = r.get("evidence") {
                assert_eq!(state, "Compliant", "{r}");
                assert!(e["name"].is_string() && e["attestedBy"].is_string());
                assert_eq!(e["validUntil"].as_str().unwrap().len(), 10, "{e}");
            }
        }
        let s = &d["summary"];
        assert_eq!(
            s["compliant"],
            counted.get("Compliant").copied().unwrap_or(0)
        );
        assert_eq!(
            s["nonCompliant"],
            counted.get("NonCompliant").copied().unwrap_or(0)
        );
        assert_eq!(s["unknown"], counted.get("Unknown").copied().unwrap_or(0));
        // Findings are the open rows.
        let open = rows
            .iter()
            .filter(|r| matches!(r["state"].as_str(), Some("NonCompliant" | "Unknown")))
            .count();
        assert_eq!(d["findings"].as_array().unwrap().len(), open);
    }
}

#[test]
fn junit_parses_and_counts_failures_and_skips() {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let text = check(&["-o", "junit"]);
    let mut reader = Reader::from_str(&text);
    let (mut cases, mut failures, mut skipped) = (0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "testcase" => cases += 1,
                "failure" => failures += 1,
                "skipped" => skipped += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let report = json();
    let states: Vec<String> = report["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["rows"].as_array().unwrap().iter())
        .map(|r| r["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cases, states.len());
    assert_eq!(
        failures,
        states.iter().filter(|s| *s == "NonCompliant").count()
    );
    assert_eq!(
        skipped,
        states
            .iter()
            .filter(|s| *s == "NotApplicable" || *s == "Unknown")
            .count()
    );
    assert!(failures > 0 && skipped > 0);
}

// ---------------------------------------------------------------------------------------------
// The terminal table

fn widest_line(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

#[test]
fn the_table_fits_the_width_from_columns() {
    for lang in ["en", "zh"] {
        for width in [60usize, 80, 100, 140] {
            for layout in [&[][..], &["--all-rows"][..]] {
                let mut args = vec!["--lang", lang];
                args.extend_from_slice(layout);
                let w = width.to_string();
                let text = check_with(&args, &[("COLUMNS", &w)]);
                assert!(
                    widest_line(&text) <= width,
                    "{lang} {layout:?} at COLUMNS={width}: a line is {} wide:\n{}",
                    widest_line(&text),
                    text.lines().find(|l| l.width() > width).unwrap()
                );
                assert!(text.contains("+===="), "a table is drawn");
            }
        }
    }
    // --width wins over COLUMNS; piped without either, the width is 100.
    let text = check_with(&["--width", "72"], &[("COLUMNS", "200")]);
    assert!(widest_line(&text) <= 72);
    assert_eq!(
        check(&[])
            .lines()
            .filter(|l| l.starts_with('+'))
            .map(|l| l.width())
            .max(),
        Some(100)
    );
}

#[test]
fn only_the_last_column_wraps_when_the_terminal_is_wide_enough() {
    let text = check_with(&["--all-rows"], &[("COLUMNS", "140")]);
    let mut continuation = 0;
    for line in text.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 6, "{line}");
        if cells[1].is_empty() {
            continuation += 1;
            assert!(
                cells[2].is_empty() && cells[3].is_empty(),
                "a column other than the last wrapped: {line}"
            );
        }
    }
    assert!(
        continuation > 0,
        "some remark is long enough to wrap at 140 columns"
    );
}

#[test]
fn compact_lists_the_rows_not_met_and_all_rows_every_row() {
    let rows = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Row"))
            .filter(|l| !l.split('|').nth(1).unwrap().trim().is_empty())
            .count()
    };
    let report = json();
    let not_met = report["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["rows"].as_array().unwrap().iter())
        .filter(|r| {
            matches!(
                r["state"].as_str(),
                Some("NonCompliant" | "Unknown" | "Excepted")
            )
        })
        .count();
    assert_eq!(rows(&check(&[])), not_met);
    assert_eq!(rows(&check(&["--all-rows"])), 96);
    let wide = check(&["--wide"]);
    assert_eq!(rows(&wide), 96);
    assert!(
        wide.contains("| Level 1 ") && widest_line(&wide) > 100,
        "--wide is not bounded"
    );
}

#[test]
fn colour_only_when_forced_and_never_with_no_color() {
    let plain = check(&[]);
    assert!(
        !plain.contains('\u{1b}'),
        "piped output has no escape codes"
    );
    let forced = check_with(&[], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.contains("\u{1b}["),
        "CLICOLOR_FORCE colours the states"
    );
    let refused = check_with(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!refused.contains('\u{1b}'), "NO_COLOR wins");
    assert_eq!(refused, plain);
    for format in ["markdown", "csv", "json", "junit", "html"] {
        let out = check_with(&["-o", format], &[("CLICOLOR_FORCE", "1")]);
        assert!(!out.contains('\u{1b}'), "{format} never has escape codes");
    }
}

// ---------------------------------------------------------------------------------------------
// The HTML page in a browser

#[test]
fn html_is_one_self_contained_page() {
    let html = check(&["-o", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in [
        "<link", "<script", "src=", "url(", "@import", "http://", "https://",
    ] {
        assert!(
            !html.contains(external),
            "the page refers outside itself: {external}"
        );
    }
    assert!(html.contains("@page { size: A4;") && html.contains("@media print"));
    // The risk at the top, before the table of contents.
    let risk = html
        .find("class=\"risk risk-critical\">Highest risk: Critical")
        .expect("risk banner");
    let contents = html.find("<h3>Contents</h3>").expect("contents");
    assert!(risk < contents);
    for anchor in [
        "#chat-serve-qwen-chat",
        "#draw-serve-sketch-studio",
        "#chat-serve-qwen-chat-table",
    ] {
        assert!(html.contains(&format!("href=\"{anchor}\"")), "{anchor}");
        assert!(
            html.contains(&format!("id=\"{}\"", &anchor[1..])),
            "{anchor}"
        );
    }
}

/// The colours the page paints the states with (`src/view/html.rs`).
const STATE_COLOURS: [(&str, [u8; 3]); 4] = [
    ("Compliant", [0xc8, 0xe6, 0xc9]),
    ("NonCompliant", [0xff, 0xcd, 0xd2]),
    ("NotApplicable", [0xe0, 0xe0, 0xe0]),
    ("Unknown", [0xff, 0xe0, 0x82]),
];
const HEADER: [u8; 3] = [0x37, 0x47, 0x4f];

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// Screenshot of `html` at `width`×`height`, as RGB rows.
fn screenshot(
    browser: &Path,
    html: &str,
    width: u32,
    height: u32,
    png_out: &Path,
) -> (usize, usize, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("mco-html-{}-{height}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, html).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png_out.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        png_out.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_out).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rgb: Vec<u8> = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (info.width as usize, info.height as usize, rgb)
}

#[test]
fn html_in_chromium_colours_each_state_cell_in_table_order() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install chromium); the HTML page was not drawn"
        );
        return;
    };
    let html = check(&["-o", "html"]);
    let png_out = std::env::temp_dir().join(format!("mco-report-{}.png", std::process::id()));
    let (w, h, rgb) = screenshot(&browser, &html, 1280, 6000, &png_out);
    let _ = std::fs::remove_file(&png_out);
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * w + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    let count = |c: [u8; 3]| {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y) == c)
            .count()
    };
    for (state, colour) in STATE_COLOURS {
        assert!(
            count(colour) > 500,
            "{state}'s colour {colour:?} is (almost) not on the page"
        );
    }
    // The table's header row: a dark band across most of the page.
    let header_rows = (0..h)
        .filter(|&y| (0..w).filter(|&x| at(x, y) == HEADER).count() > w / 2)
        .count();
    assert!(
        header_rows > 10,
        "no table header band ({header_rows} rows)"
    );

    // Down the State column of the first deployment's table, the cell colours follow its rows.
    let colour_of = |c: [u8; 3]| STATE_COLOURS.iter().find(|(_, k)| *k == c).map(|(s, _)| *s);
    let (x, y0) = (0..h)
        .find_map(|y| {
            (0..w)
                .find(|&x| at(x, y) == STATE_COLOURS[0].1)
                .map(|x| (x + 2, y))
        })
        .expect("a Compliant cell");
    let mut cells: Vec<&str> = Vec::new();
    let mut previous: Option<&str> = None;
    for y in y0..h {
        let here = colour_of(at(x, y));
        if let Some(state) = here
            && here != previous
        {
            cells.push(state);
        }
        previous = here;
    }
    let report = json();
    let expected: Vec<&str> = report["deployments"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert!(
        cells.len() >= expected.len(),
        "{} cells seen: {cells:?}",
        cells.len()
    );
    assert_eq!(
        &cells[..expected.len()],
        &expected[..],
        "the State column of chat-serve/qwen-chat"
    );
}
