//! The default format: a summary, the open findings and a table that fits the terminal.
//! Colour only on a terminal and never with `NO_COLOR`; piped output is plain and its width
//! fixed, so scripts see the same text every time.

use comfy_table::{Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};
use unicode_width::UnicodeWidthStr;

use std::io::{self, Write};

use super::render::{Views, by_risk_text, expiring_text, now_text, obligation_text};
use super::text::{self, labels, remark, state_label, titles, yes_no};
use super::{DeploymentView, Fleet};
use crate::catalog::Lang;
use crate::evaluate::State;

/// Width of piped output when `COLUMNS` does not say otherwise.
pub const PIPED_WIDTH: usize = 100;

/// Narrowest remark column worth keeping the obligation's titles on one line for.
const REMARK_MIN: usize = 24;

/// Narrowest table drawn; below it the table is drawn at this width anyway.
const MIN_WIDTH: usize = 40;

/// Which rows and columns the table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row, obligation, state and remark of the rows not met, unknown or excepted.
    Compact,
    /// The compact columns for every row.
    AllRows,
    /// All seven columns for every row, as wide as the text needs.
    Wide,
}

/// Where the table goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terminal {
    pub width: usize,
    pub colour: bool,
    pub layout: Layout,
}

impl Terminal {
    /// Plain text at the piped width.
    pub fn plain() -> Self {
        Terminal {
            width: PIPED_WIDTH,
            colour: false,
            layout: Layout::Compact,
        }
    }

    /// For standard output: the width from `width`, else `COLUMNS`, else the terminal's, else
    /// [`PIPED_WIDTH`]; colour when standard output is a terminal that takes it and neither
    /// `NO_COLOR` nor `CLICOLOR=0` is set.
    pub fn for_stdout(width: Option<usize>, layout: Layout) -> Self {
        let stdout = std::io::stdout();
        let width = width
            .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
            .or_else(|| terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0)))
            .unwrap_or(PIPED_WIDTH);
        let colour = !matches!(
            anstream::AutoStream::choice(&stdout),
            anstream::ColorChoice::Never
        );
        Terminal {
            width,
            colour,
            layout,
        }
    }
}

fn state_colour(state: State) -> Color {
    match state {
        State::Compliant => Color::Green,
        State::NonCompliant => Color::Red,
        State::Unknown => Color::Yellow,
        State::Excepted => Color::Magenta,
        State::NotApplicable => Color::DarkGrey,
    }
}

/// Wraps running text to the width, lines after the first indented by `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let options = textwrap::Options::new(width.max(MIN_WIDTH)).subsequent_indent(indent);
    let mut out = textwrap::fill(text, options);
    out.push('\n');
    out
}

/// The summary from `fleet`, then each deployment as `views` yields it.
pub fn table(
    fleet: &Fleet,
    views: &mut Views<'_>,
    lang: Lang,
    terminal: &Terminal,
    out: &mut dyn Write,
) -> io::Result<()> {
    let l = labels(lang);
    let width = terminal.width.max(MIN_WIDTH);
    let mut head = wrap(
        &text::origin_line(
            &fleet.origin,
            fleet.deployments.len(),
            &now_text(fleet),
            lang,
        ),
        width,
        "  ",
    );
    head.push_str(&wrap(
        &format!("{}: {}", l.risk_levels, by_risk_text(fleet, lang)),
        width,
        "  ",
    ));
    let unmet: Vec<String> = fleet
        .most_unmet(5)
        .into_iter()
        .map(|(id, n)| format!("{} ({n})", obligation_text(id, lang)))
        .collect();
    head.push_str(&wrap(
        &format!(
            "{}: {}",
            l.most_unmet,
            if unmet.is_empty() {
                l.none.to_owned()
            } else {
                unmet.join(", ")
            }
        ),
        width,
        "  ",
    ));
    let expiring = text::expiring_heading(fleet.expiring_days, lang);
    if fleet.expiring.is_empty() {
        head.push_str(&wrap(&format!("{expiring}: {}", l.none), width, "  "));
    } else {
        head.push_str(&format!("{expiring}:\n"));
        for e in &fleet.expiring {
            head.push_str(&wrap(
                &format!("  {}", expiring_text(e, lang)),
                width,
                "    ",
            ));
        }
    }
    out.write_all(head.as_bytes())?;
    for d in views {
        let mut section = String::from("\n");
        deployment(&mut section, &d, lang, terminal, width);
        out.write_all(section.as_bytes())?;
    }
    if fleet.deployments.is_empty() {
        out.write_all(format!("\n{}\n", l.no_deployment).as_bytes())?;
    }
    Ok(())
}

fn deployment(out: &mut String, d: &DeploymentView, lang: Lang, terminal: &Terminal, width: usize) {
    let l = labels(lang);
    out.push_str(&wrap(&text::title(d, lang), width, "  "));
    out.push_str(&wrap(
        &format!("  {}", text::verdict(d, lang)),
        width,
        "    ",
    ));
    out.push_str(&wrap(
        &format!("  {}: {}", l.source, d.source),
        width,
        "    ",
    ));
    if let Some(note) = &d.note {
        out.push_str(&wrap(
            &format!("  ! {}", text::message_text(note, lang)),
            width,
            "    ",
        ));
    }
    if !d.findings.is_empty() {
        out.push_str(&format!("{}:\n", l.findings));
        for id in &d.findings {
            if let Some(r) = d.row(*id) {
                // The table below gives each finding's message.
                let line = wrap(
                    &format!(
                        "  {} [{}] {}",
                        text::severity_name(r.severity, lang),
                        state_label(r.state, lang),
                        obligation_text(r.id, lang)
                    ),
                    width,
                    "    ",
                );
                if terminal.colour {
                    let style = anstyle::Style::new()
                        .fg_color(Some(anstyle::AnsiColor::Red.into()))
                        .bold();
                    out.push_str(&format!("{style}{}{style:#}\n", line.trim_end()));
                } else {
                    out.push_str(&line);
                }
            }
        }
    }
    if d.rows.is_empty() {
        return;
    }
    let shown: Vec<_> = d
        .rows
        .iter()
        .filter(|r| {
            terminal.layout != Layout::Compact
                || matches!(
                    r.state,
                    State::NonCompliant | State::Unknown | State::Excepted
                )
        })
        .collect();
    let hidden = d.rows.len() - shown.len();
    if !shown.is_empty() {
        let h = text::headers(lang);
        let mut t = Table::new();
        if terminal.colour {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        if terminal.layout == Layout::Wide {
            t.set_content_arrangement(ContentArrangement::Disabled);
            t.set_header(h);
            for r in &shown {
                let (level1, level2, obligation) = titles(r.id, lang);
                t.add_row([
                    Cell::new(r.id.label()),
                    Cell::new(level1),
                    Cell::new(level2),
                    Cell::new(obligation),
                    Cell::new(yes_no(r.applicable(), lang)),
                    state_cell(r.state, lang, terminal.colour),
                    Cell::new(remark(r, lang)),
                ]);
            }
        } else {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(u16::try_from(width).unwrap_or(u16::MAX));
            t.set_header([h[0], h[3], h[5], h[6]]);
            for r in &shown {
                t.add_row([
                    Cell::new(r.id.label()),
                    Cell::new(titles(r.id, lang).2),
                    state_cell(r.state, lang, terminal.colour),
                    Cell::new(remark(r, lang)),
                ]);
            }
            // Only the last column wraps; the obligation's titles too only when the terminal
            // is too narrow to leave the remark room beside them.
            let widest = |texts: &mut dyn Iterator<Item = &str>| {
                texts.map(UnicodeWidthStr::width).max().unwrap_or(0)
            };
            let row_labels: Vec<String> = shown.iter().map(|r| r.id.label()).collect();
            let row_w = widest(&mut row_labels.iter().map(String::as_str).chain([h[0]]));
            let state_w = widest(
                &mut shown
                    .iter()
                    .map(|r| state_label(r.state, lang))
                    .chain([h[5]]),
            );
            let obligation_w =
                widest(&mut shown.iter().map(|r| titles(r.id, lang).2).chain([h[3]]));
            // Four columns: five borders and a space of padding either side of each cell.
            let fixed = 5 + 8 + row_w + state_w;
            let obligation = if width >= fixed + obligation_w + REMARK_MIN {
                ColumnConstraint::ContentWidth
            } else {
                // Too narrow: the two text columns share the room.
                let room = (width.saturating_sub(fixed) / 2).max(12);
                ColumnConstraint::Absolute(Width::Fixed(u16::try_from(room).unwrap_or(u16::MAX)))
            };
            t.set_constraints([
                ColumnConstraint::ContentWidth,
                obligation,
                ColumnConstraint::ContentWidth,
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    if hidden > 0 {
        out.push_str(&wrap(&format!("{hidden} {}", l.not_shown), width, "  "));
    }
}

fn state_cell(state: State, lang: Lang, colour: bool) -> Cell {
    let cell = Cell::new(state_label(state, lang));
    if colour {
        cell.fg(state_colour(state))
    } else {
        cell
    }
}
