//! What a reader sees, in the reader's language: every message the evaluation writes and a
//! human text for every condition reason.
//!
//! Messages are templates, one table per language (`en.rs`, `zh.rs`), keyed by [`Msg`]. The
//! evaluation builds its English messages from the English table with [`msg!`], and the
//! same table, compiled once into patterns, reads an English message back — as the status of
//! a ModelDeployment holds it — into its template and values, so that [`message`] can fill
//! in the Chinese template. The two cannot drift: a message is written from its template,
//! and every evaluation test fails on a message that no template reads back.
//!
//! Values inside a message (object names, namespaces, counts, dates, field paths, condition
//! types) are kept as they are.

mod en;
mod reasons;
mod zh;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{Display, Write};
use std::sync::LazyLock;
use std::sync::Mutex;

use regex::{Regex, RegexSet};

use crate::api::{RiskLevel, Severity};
use crate::catalog::Lang;

macro_rules! messages {
    ($($id:ident,)*) => {
        /// Every message the evaluation and the status write, by id.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Msg {
            $($id,)*
        }

        impl Msg {
            /// Every id, in the order of the English table.
            pub const ALL: &[Msg] = &[$(Msg::$id,)*];
        }
    };
}

messages! {
    AndMore,
    NotApplicableByPolicy,
    RiskAccepted,
    RiskAcceptanceExpired,
    SeeConditions,
    ObjectMissing,
    ObjectMissingOffline,
    NotInManifests,
    ReadinessOnlyLive,
    NoTrainingEnvironment,
    NoInferenceEnvironment,
    NoPodsMatch,
    NoPodsMatchOffline,
    EnforceCreates,
    EnforceInjects,
    EvidenceRow,
    EvidenceMeasure,
    EvidenceValid,
    EvidenceExpiresSoon,
    EvidenceExpired,
    EvidenceNotYetValid,
    EvidenceMissing,
    EvidenceMissingElsewhere,
    OrAttest,
    DeclareDatasets,
    NoPersonalData,
    NoCrawledData,
    DatasetsAcquisitionDeclared,
    DatasetsAcquisitionMissing,
    DatasetsLicensed,
    DatasetsLicenseMissing,
    PersonalDataHasLegalBasis,
    PersonalDataLegalBasisMissing,
    CrawlingCompliant,
    CrawlingNotCompliant,
    PersonalDataDesensitized,
    PersonalDataNotDesensitized,
    DatasetsValidated,
    DatasetsValidationMissing,
    DatasetsCleaned,
    DatasetsCleaningMissing,
    DatasetsFresh,
    DatasetUpdateUndeclared,
    DatasetUpdateNotADate,
    DatasetUpdateInFuture,
    DatasetStale,
    SourcesDiverse,
    TooFewSources,
    ProvenanceRecorded,
    ProvenanceMissing,
    PersonalDataConsented,
    PersonalDataConsentMissing,
    NoAnnotationBatches,
    BatchNotSampled,
    BatchNotVoided,
    BatchesSampled,
    AssessmentMissing,
    AssessmentDateInvalid,
    AssessmentStale,
    AssessmentInFuture,
    AssessmentCurrent,
    NotPublicService,
    FilingMissing,
    FiledVersionMissing,
    RefilingRequired,
    Filed,
    UsagePublished,
    DisclosureMissing,
    RetentionUndeclared,
    RetentionTooLong,
    RetentionLimited,
    PersonalInfoChannelMissing,
    ComplaintChannelMissing,
    ResponseTooSlow,
    ChannelOpen,
    MinorsNotAdmitted,
    MinorsProtectionMissing,
    MinorsProtected,
    MinorsProtectionIncomplete,
    ReportComplete,
    ReportLacks,
    ReportLacksRecords,
    ReportLacksFieldsAndRecords,
    TrainingUndeclared,
    SampleManual,
    SampleAutomated,
    SampleKeyword,
    SampleClassifier,
    SampleShouldRefuse,
    SampleTooSmall,
    PassRateTooLow,
    CorpusEvaluationMissing,
    AutomatedCoverageTooLow,
    CorpusEvaluated,
    ContentEvaluationMissing,
    ContentEvaluated,
    RefusalEvaluationMissing,
    ShouldAnswerTooSmall,
    OverRefusal,
    RefusalEvaluated,
    NoMonitoringNamed,
    NoReadyReplica,
    ReadyReplicas,
    NoJobNamed,
    LastRunOnlyLive,
    JobNeverSucceeded,
    JobStale,
    JobRecent,
    InputFilterSee,
    LabelingSidecarSee,
    SidecarPrefixed,
    PodsOfTotal,
    SidecarImageMismatch,
    SidecarNotReady,
    SidecarMissing,
    ProviderMissing,
    SidecarInPlace,
    WorkloadMissing,
    WorkloadMissingOffline,
    NoService,
    ServiceSelectsOtherPods,
    SidecarBypassed,
    SelectorEmpty,
    Suspended,
    SuspendNotApplied,
    SuspendPending,
    KillSwitchArmed,
    ProcedureAttested,
    ProcedureMissing,
    SingleEnvironment,
    NothingShared,
    SelectorsOverlap,
    SharedServiceAccount,
    SharedNode,
    NodePlacementUnknown,
    SharedVolume,
    SharedClaimName,
    IngressFromAnySource,
    IngressFromIpBlock,
    IngressFromEveryNamespace,
    IngressFromNamespace,
    IngressFromStrangers,
    NetworkPolicyMissing,
    IngressRestricted,
    AnnotationVolumesUndeclared,
    MountedOutsideTraining,
    TrainingNotIsolated,
    IsolationSee,
    AnnotationsIsolated,
    NoTrainingData,
    NoOtherBinding,
    OverBroadBinding,
    ReaderBindingMissing,
    ReadersBound,
    AccessReviewOnlyLive,
    AccessReviewPending,
    InferenceCanRead,
    AccessDenied,
    NoVolumesDeclared,
    InvalidBackupSchedule,
    InvalidDrillSchedule,
    ScheduleNotCron,
    TimeZoneUnknown,
    BackupAgeOnlyLive,
    SnapshotApiMissing,
    NoReadySnapshot,
    BackupTooOld,
    BackupsCurrent,
    VeleroMissing,
    NoVeleroBackup,
    VeleroBackupTooOld,
    VeleroBackupCurrent,
    NoBackupToRestore,
    RestoreDidNotBind,
    ControlsApplied,
    ControlsAppliedSuspended,
    RiskSummary,
    MostSevereOpen,
    NothingToApply,
    NoPermanentProblem,
    PolicyNotFound,
    DrillRunning,
    DrillSucceeded,
    VolumeRestored,
    DrillFailed,
    EvidenceRelied,
    EvidenceUntil,
    NotInStatus,
    NotEvaluatedYet,
    NotEvaluatedYetBecause,
    StatusBehind,
    ProblemAt,
    ProblemIn,
    CannotRead,
    CannotList,
    NotOurResource,
    Duplicate,
    MalformedYaml,
    NotAnObject,
    NoName,
    UnknownField,
    InvalidField,
    RejectedByRule,
    PolicyNotInManifests,
    PolicyMissing,
}

impl Msg {
    /// The template of this message in `lang`.
    pub const fn template(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => en::template(self),
            Lang::Zh => zh::template(self),
        }
    }
}

/// Builds the English text of a message: `msg!(BatchNotSampled, batch = b.id)`.
macro_rules! msg {
    ($id:ident $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::i18n::english(
            $crate::i18n::Msg::$id,
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),*],
        )
    };
}
pub(crate) use msg;

/// The values of a message's placeholders, by name.
pub type Args<'a> = [(&'a str, &'a dyn Display)];

/// What a placeholder holds, as its English template says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A value kept as it is: a name, a count, a date.
    Value,
    /// Values separated by `, `, perhaps ending in ` and N more`.
    List,
    /// A message of its own (or, failing that, a list of values).
    Message,
    /// Text from elsewhere (a library's error), quoted as it is.
    Code,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'t> {
    Text(&'t str),
    Slot(&'t str, Kind),
}

/// The literal text and placeholders of a template.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let slot = &rest[open + 1..close];
        let (name, kind) = match slot.split_once(':') {
            Some((name, "list")) => (name, Kind::List),
            Some((name, "msg")) => (name, Kind::Message),
            Some((name, "code")) => (name, Kind::Code),
            _ => (slot, Kind::Value),
        };
        out.push(Piece::Slot(name, kind));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The kind of placeholder `name` in the English template of `id`.
fn kind_of(id: Msg, name: &str) -> Kind {
    pieces(id.template(Lang::En))
        .into_iter()
        .find_map(|p| match p {
            Piece::Slot(n, kind) if n == name => Some(kind),
            _ => None,
        })
        .unwrap_or(Kind::Value)
}

/// Fills the template of `id` in `lang` with `args`. In English the values go in as they
/// are; in Chinese lists are joined the Chinese way and nested messages are translated.
pub fn render(id: Msg, lang: Lang, args: &Args) -> String {
    let mut out = String::new();
    for piece in pieces(id.template(lang)) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Slot(name, _) => {
                let value = args.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
                debug_assert!(value.is_some(), "message {id:?} needs a value for {name}");
                let Some(value) = value else { continue };
                match lang {
                    Lang::En => {
                        let _ = write!(out, "{value}");
                    }
                    Lang::Zh => out.push_str(&localize(kind_of(id, name), &value.to_string()).text),
                }
            }
        }
    }
    out
}

/// The English text of a message: what the evaluation writes into conditions.
pub fn english(id: Msg, args: &Args) -> String {
    render(id, Lang::En, args)
}

/// One template compiled for reading English text back.
struct Pattern {
    id: Msg,
    regex: Regex,
    /// Capture group of each placeholder: (group, name, kind).
    slots: Vec<(String, &'static str, Kind)>,
    /// Bytes of literal text: among templates that match, the most specific wins.
    literal: usize,
}

struct Patterns {
    set: RegexSet,
    patterns: Vec<Pattern>,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let patterns: Vec<Pattern> = Msg::ALL.iter().map(|&id| compile(id)).collect();
    let set =
        RegexSet::new(patterns.iter().map(|p| p.regex.as_str())).expect("every template compiles");
    Patterns { set, patterns }
});

fn compile(id: Msg) -> Pattern {
    let pieces = pieces(id.template(Lang::En));
    let mut source = String::from("(?s)^");
    let mut slots = Vec::new();
    let mut literal = 0;
    for (i, piece) in pieces.iter().enumerate() {
        match *piece {
            Piece::Text(text) => {
                source.push_str(&regex::escape(text));
                literal += text.len();
            }
            Piece::Slot(name, kind) => {
                let group = format!("{name}{}", slots.len());
                let lazy = if i + 1 == pieces.len() { "" } else { "?" };
                // Values never hold the separator of parts; a nested message may.
                let any = if kind == Kind::Message {
                    "."
                } else {
                    "(?:[^;]|;[^ ])"
                };
                let _ = write!(source, "(?P<{group}>{any}*{lazy})");
                slots.push((group, name, kind));
            }
        }
    }
    source.push('$');
    Pattern {
        id,
        regex: Regex::new(&source).expect("every template compiles"),
        slots,
        literal,
    }
}

/// A translation, and whether every part of the text was found in a template.
#[derive(Clone)]
struct Translated {
    text: String,
    complete: bool,
    /// Bytes of the English text that templates explain: among readings of a text, the one
    /// that explains most of it is the right one.
    covered: usize,
}

/// Separator of the parts of a joined message.
const PART: &str = "; ";
const PART_ZH: &str = "；";

/// The text of an English message (parts joined with `; ` included) in `lang`. What no
/// template matches is kept as it is.
pub fn message(text: &str, lang: Lang) -> Cow<'_, str> {
    if lang == Lang::En || text.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(cached(text).text)
}

/// The same messages come back many times (one per row that lacks evidence, one per
/// deployment of a fleet): each is read once, and kept while the cache is small.
fn cached(text: &str) -> Translated {
    const KEPT: usize = 4096;
    static SEEN: LazyLock<Mutex<HashMap<String, Translated>>> = LazyLock::new(Default::default);
    if let Some(t) = SEEN.lock().ok().and_then(|seen| seen.get(text).cloned()) {
        return t;
    }
    let t = joined(text);
    if let Ok(mut seen) = SEEN.lock() {
        if seen.len() >= KEPT {
            seen.clear();
        }
        seen.insert(text.to_owned(), t.clone());
    }
    t
}

/// The Chinese text of an English message, or `None` when some part of it is not built from
/// a template.
pub fn translate(text: &str) -> Option<String> {
    let t = cached(text);
    t.complete.then_some(t.text)
}

/// Translates a message made of parts joined with `; `, where a part may itself contain
/// `; `: each stretch of parts is read as the longest run that one template matches.
fn joined(text: &str) -> Translated {
    // Byte ranges of the parts.
    let mut parts = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices(PART) {
        parts.push((start, at));
        start = at + PART.len();
    }
    parts.push((start, text.len()));
    let n = parts.len();
    // best[i]: the translation of parts i.. to the end.
    let mut best: Vec<Option<Translated>> = (0..=n).map(|_| None).collect();
    best[n] = Some(Translated {
        text: String::new(),
        complete: true,
        covered: 0,
    });
    for i in (0..n).rev() {
        let mut chosen: Option<(Translated, usize)> = None;
        for j in (i + 1..=n).rev() {
            let piece = &text[parts[i].0..parts[j - 1].1];
            let Some(t) = one(piece) else { continue };
            let rest_complete = best[j].as_ref().is_some_and(|b| b.complete);
            if t.complete && rest_complete {
                chosen = Some((t, j));
                break;
            }
            if chosen.is_none() {
                chosen = Some((t, j));
            }
        }
        let (head, j) = chosen.unwrap_or_else(|| {
            let part = &text[parts[i].0..parts[i].1];
            let cut = if i + 1 == n { cut_short(part) } else { None };
            let head = cut.unwrap_or_else(|| Translated {
                text: part.to_owned(),
                complete: false,
                covered: 0,
            });
            (head, i + 1)
        });
        let tail = best[j].as_ref().expect("filled from the end");
        let mut text = head.text;
        if j < n {
            text.push_str(PART_ZH);
            text.push_str(&tail.text);
        }
        best[i] = Some(Translated {
            text,
            complete: head.complete && tail.complete,
            covered: head.covered + tail.covered,
        });
    }
    best[0].take().expect("filled")
}

/// Translates text that one template matches whole: of the templates that match, the one
/// whose nested messages translate too and that explains most of the text.
fn one(text: &str) -> Option<Translated> {
    let patterns = &*PATTERNS;
    let mut best: Option<Translated> = None;
    for i in patterns.set.matches(text).into_iter() {
        let pattern = &patterns.patterns[i];
        let Some(captures) = pattern.regex.captures(text) else {
            continue;
        };
        let mut complete = true;
        let mut covered = pattern.literal;
        let values: Vec<(&str, String)> = pattern
            .slots
            .iter()
            .map(|(group, name, kind)| {
                let value = captures.name(group).map_or("", |m| m.as_str());
                let t = localize(*kind, value);
                complete &= t.complete;
                covered += t.covered;
                (*name, t.text)
            })
            .collect();
        let better = best
            .as_ref()
            .is_none_or(|b| (complete, covered) > (b.complete, b.covered));
        if !better {
            continue;
        }
        let mut out = String::new();
        for piece in pieces(pattern.id.template(Lang::Zh)) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(name, _) => {
                    if let Some((_, v)) = values.iter().find(|(n, _)| *n == name) {
                        out.push_str(v);
                    }
                }
            }
        }
        best = Some(Translated {
            text: out,
            complete,
            covered,
        });
    }
    best
}

/// How a message cut to a size limit ends.
const CUT: &str = "...";

/// The last part of a message cut to a size limit (`...` at the end): read as the beginning
/// of the one template it can only be the beginning of, with `…` for what was cut off. A
/// beginning several templates share is left as it is.
fn cut_short(part: &str) -> Option<Translated> {
    let body = part.strip_suffix(CUT)?;
    let mut best: Option<(usize, Msg, Found)> = None;
    let mut tied = false;
    for &id in Msg::ALL {
        let Some((literal, values)) = beginning(id, body) else {
            continue;
        };
        match &best {
            Some((b, _, _)) if literal < *b => {}
            Some((b, _, _)) if literal == *b => tied = true,
            _ => {
                tied = false;
                best = Some((literal, id, values));
            }
        }
    }
    let (literal, id, values) = best.filter(|(literal, _, _)| *literal >= 12 && !tied)?;
    let mut out = String::new();
    let mut complete = true;
    let last = values.len();
    for piece in pieces(id.template(Lang::Zh)) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(name, _) => match values.iter().position(|(n, _, _)| *n == name) {
                Some(k) => {
                    let (_, kind, value) = values[k];
                    if k + 1 == last {
                        // The value that was cut, marked as cut; a list still reads as one.
                        let t = match kind {
                            Kind::List | Kind::Message => list(value),
                            Kind::Value | Kind::Code => localize(kind, value),
                        };
                        complete &= t.complete;
                        out.push_str(&t.text);
                        out.push('…');
                    } else {
                        let t = localize(kind, value);
                        complete &= t.complete;
                        out.push_str(&t.text);
                    }
                }
                None => out.push('…'),
            },
        }
    }
    Some(Translated {
        text: out,
        complete,
        covered: literal,
    })
}

/// The values found in a text, with the name and kind of their placeholders.
type Found<'t> = Vec<(&'static str, Kind, &'t str)>;

/// Reads `body` as the beginning of the English template of `id`: the bytes of literal text
/// matched, and the values found (the last one perhaps cut short).
fn beginning(id: Msg, body: &str) -> Option<(usize, Found<'_>)> {
    let pieces = pieces(id.template(Lang::En));
    let mut values = Vec::new();
    let mut literal = 0;
    let mut at = 0;
    for (k, piece) in pieces.iter().enumerate() {
        let rest = &body[at..];
        match *piece {
            Piece::Text(t) => {
                if let Some(after) = rest.strip_prefix(t) {
                    literal += t.len();
                    at = body.len() - after.len();
                } else if t.starts_with(rest) {
                    return Some((literal + rest.len(), values));
                } else {
                    return None;
                }
            }
            Piece::Slot(name, kind) => {
                if rest.is_empty() {
                    return Some((literal, values));
                }
                let next = match pieces.get(k + 1) {
                    Some(Piece::Text(t)) => rest.find(t),
                    _ => None,
                };
                let end = next.unwrap_or(rest.len());
                values.push((name, kind, &rest[..end]));
                at += end;
            }
        }
    }
    Some((literal, values))
}

/// The messages that are items of a list rather than sentences; any other item is a name.
const LIST_ITEMS: &[Msg] = &[Msg::TrainingUndeclared, Msg::EvidenceUntil];

/// An item of a list that is one of [`LIST_ITEMS`], in Chinese.
fn list_item(item: &str) -> Option<Translated> {
    let patterns = &*PATTERNS;
    LIST_ITEMS.iter().find_map(|&id| {
        let pattern = patterns.patterns.iter().find(|p| p.id == id)?;
        pattern.regex.is_match(item).then(|| one(item))?
    })
}

static MORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)^(.*) and (\d+) more$").expect("valid pattern"));

/// A placeholder's value in Chinese.
fn localize(kind: Kind, value: &str) -> Translated {
    match kind {
        Kind::Value => verbatim(value.to_owned()),
        Kind::Code => verbatim(format!("`{value}`")),
        Kind::List => list(value),
        Kind::Message => {
            let t = joined(value);
            if t.complete { t } else { list(value) }
        }
    }
}

/// A value kept as it is: nothing to translate, nothing explained.
fn verbatim(text: String) -> Translated {
    Translated {
        text,
        complete: true,
        covered: 0,
    }
}

/// A list of values, `a, b and 3 more`, the Chinese way: `a、b 等（另有 3 个）`. An item
/// that is a phrase of a template (not a bare word, which could be a name) is translated.
fn list(value: &str) -> Translated {
    let (items, more) = match MORE.captures(value) {
        Some(c) => (
            c.get(1).map_or("", |m| m.as_str()),
            c.get(2).map(|m| m.as_str()),
        ),
        None => (value, None),
    };
    let mut out = Vec::new();
    let mut covered = 0;
    for item in items.split(", ") {
        match list_item(item) {
            Some(t) => {
                covered += t.covered;
                out.push(t.text);
            }
            None => out.push(item.to_owned()),
        }
    }
    let mut text = out.join("、");
    if let Some(n) = more {
        let _ = write!(text, " 等（另有 {n} 个）");
    }
    // Names are kept as they are; English prose kept as it is was not translated.
    let complete = english_prose(&text).is_empty();
    Translated {
        text,
        complete,
        covered,
    }
}

/// The name of a risk level in `lang`.
pub fn risk_level(level: RiskLevel, lang: Lang) -> &'static str {
    match (lang, level) {
        (Lang::En, level) => level.as_str(),
        (Lang::Zh, RiskLevel::None) => "无",
        (Lang::Zh, RiskLevel::Low) => "低",
        (Lang::Zh, RiskLevel::Medium) => "中",
        (Lang::Zh, RiskLevel::High) => "高",
        (Lang::Zh, RiskLevel::Critical) => "严重",
    }
}

/// The name of a severity in `lang`: the risk level it raises.
pub fn severity(severity: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::En => severity.as_str(),
        Lang::Zh => risk_level(RiskLevel::from(severity), lang),
    }
}

/// The human text of a condition reason, e.g. `IsolatedByNetworkPolicy`; a reason this
/// table does not know is returned as it is.
pub fn reason(reason: &str, lang: Lang) -> Cow<'static, str> {
    match reason_text(reason, lang) {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(reason.to_owned()),
    }
}

/// The human text of a condition reason, if the table knows it.
pub fn reason_text(reason: &str, lang: Lang) -> Option<&'static str> {
    reasons::REASONS
        .iter()
        .find(|(r, _, _)| *r == reason)
        .map(|(_, en, zh)| match lang {
            Lang::En => *en,
            Lang::Zh => *zh,
        })
}

/// Every reason the table knows.
pub fn known_reasons() -> impl Iterator<Item = &'static str> {
    reasons::REASONS.iter().map(|(r, _, _)| *r)
}

/// English prose left in a text meant to be Chinese: each run of two or more lowercase
/// English words in a row, and each lone English function word ("and", "of", "not" ...).
///
/// Identifiers are not prose: a token with a capital, a digit, `.`, `/`, `_`, `=` or `@` in
/// it (`spec.training.datasets`, `ComplianceEvidence`, `ns/name`, `8.1a`) ends a run, as do
/// Chinese characters and punctuation. Text in backticks (quoted output of other tools) is
/// skipped.
pub fn english_prose(text: &str) -> Vec<String> {
    const FUNCTION_WORDS: &[&str] = &[
        "a", "an", "and", "are", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it",
        "no", "not", "of", "on", "or", "see", "the", "to", "was", "with",
    ];
    let mut found = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, found: &mut Vec<String>| {
        let lone_function_word = run.len() == 1 && FUNCTION_WORDS.contains(&run[0]);
        if run.len() >= 2 || lone_function_word {
            found.push(run.join(" "));
        }
        run.clear();
    };
    let mut quoted = false;
    // Tokens: maximal stretches of ASCII graphic characters; anything else separates them,
    // and anything but an ASCII space also ends a run of words.
    let mut token_start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if c == '`' {
            if let Some(s) = token_start.take() {
                word(&text[s..at], &mut run, &mut found, &flush, quoted);
            }
            flush(&mut run, &mut found);
            quoted = !quoted;
            continue;
        }
        if c.is_ascii_graphic() {
            token_start.get_or_insert(at);
            continue;
        }
        if let Some(s) = token_start.take() {
            word(&text[s..at], &mut run, &mut found, &flush, quoted);
        }
        if c != ' ' {
            flush(&mut run, &mut found);
        }
    }
    if let Some(s) = token_start {
        word(&text[s..], &mut run, &mut found, &flush, quoted);
    }
    flush(&mut run, &mut found);
    found
}

/// Adds a token to the current run of words, or ends the run if it is not a word.
fn word<'t>(
    token: &'t str,
    run: &mut Vec<&'t str>,
    found: &mut Vec<String>,
    flush: &impl Fn(&mut Vec<&'t str>, &mut Vec<String>),
    quoted: bool,
) {
    if quoted {
        return;
    }
    let trimmed = token
        .trim_start_matches(['(', '[', '"', '\''])
        .trim_end_matches([',', '.', ';', ':', ')', ']', '!', '?', '"', '\'']);
    let is_word = !trimmed.is_empty()
        && trimmed
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    if is_word {
        run.push(trimmed);
        // Punctuation after a word ends the sentence part, not the prose: keep the run.
    } else {
        flush(run, found);
    }
}

#[cfg(test)]
mod tests;
