//! The configured rules: keywords, patterns and a length limit, compiled from a YAML or JSON
//! file, and the live set that follows the file while the sidecar runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use aho_corasick::AhoCorasick;
use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Prompt, Reason, Verdict};

/// Compiled size allowed for one pattern and for the whole set, so a hostile or careless rules
/// file cannot make the sidecar allocate without bound.
const PATTERN_SIZE_LIMIT: usize = 4 << 20;
/// Lazy-DFA cache per search thread.
const PATTERN_DFA_LIMIT: usize = 2 << 20;
/// A ConfigMap holds at most 1 MiB; anything larger is not a rules file.
const MAX_RULES_FILE_BYTES: u64 = 1 << 20;

/// Why rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    #[error("cannot read rules file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules file {} is {size} bytes, over {MAX_RULES_FILE_BYTES}", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("rules file is empty; write `{{}}` for a file with no rules")]
    Empty,
    #[error("rules file is not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("keywords[{index}] is empty (it would match every prompt)")]
    EmptyKeyword { index: usize },
    #[error("keywords cannot be compiled: {0}")]
    Keywords(String),
    #[error("patterns[{index}] is not a usable regex: {message}")]
    Pattern { index: usize, message: String },
    #[error("patterns cannot be compiled together: {0}")]
    PatternSet(String),
    #[error("maxPromptChars must be at least 1")]
    ZeroMaxPromptChars,
}

/// The rules file (YAML or JSON), mounted from a ConfigMap.
///
/// ```yaml
/// keywords:                          # substrings; case, width and invisible characters ignored
///   - "炸弹"
///   - "make a bomb"
///   - keyword: "炸弹"                  # the long form, for a keyword with options:
///     ignoreSpaces: true              # also matches "炸 弹", "炸　弹", "炸\n弹"
/// patterns: ['(?i)\bssn:\s*\d{3}-\d{2}-\d{4}']  # regexes, matched against each text as sent
/// maxPromptChars: 32000              # Unicode scalar values over all the prompt's texts
/// ```
///
/// A keyword with `ignoreSpaces: true` is matched with all whitespace (spaces, full-width
/// spaces, tabs, line breaks) removed from both the keyword and the text, so "b o m b" matches
/// `bomb` — and so does "climb om bay": such a keyword also matches across word boundaries,
/// which is why this is an option of each keyword rather than the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub keywords: Vec<Keyword>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub max_prompt_chars: Option<usize>,
}

/// One entry of `keywords`: a bare string, or the long form with options.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Keyword {
    Plain(String),
    Rule(KeywordRule),
}

/// The long form of a keyword.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeywordRule {
    pub keyword: String,
    /// Match with whitespace removed from both the keyword and the text.
    #[serde(default)]
    pub ignore_spaces: bool,
}

impl Keyword {
    fn text(&self) -> &str {
        match self {
            Keyword::Plain(keyword) | Keyword::Rule(KeywordRule { keyword, .. }) => keyword,
        }
    }

    fn ignores_spaces(&self) -> bool {
        matches!(
            self,
            Keyword::Rule(KeywordRule {
                ignore_spaces: true,
                ..
            })
        )
    }
}

impl From<&str> for Keyword {
    fn from(keyword: &str) -> Self {
        Keyword::Plain(keyword.to_owned())
    }
}

/// Compiled rules.
pub struct Rules {
    keywords: Option<AhoCorasick>,
    /// The keywords with `ignoreSpaces`, folded and without whitespace.
    spaceless_keywords: Option<AhoCorasick>,
    keyword_count: usize,
    patterns: Option<RegexSet>,
    max_prompt_chars: Option<usize>,
    fingerprint: u64,
}

impl fmt::Debug for Rules {
    // The automata are large and say nothing useful; show the shape of the rules instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("keywords", &self.keyword_count)
            .field("patterns", &self.patterns.as_ref().map_or(0, RegexSet::len))
            .field("max_prompt_chars", &self.max_prompt_chars)
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

impl Rules {
    /// Compiles `file`. `max_prompt_chars_default` applies when the file sets no limit.
    pub fn compile(
        file: RulesFile,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Rules, SafetyError> {
        let max_prompt_chars = file.max_prompt_chars.or(max_prompt_chars_default);
        if max_prompt_chars == Some(0) {
            return Err(SafetyError::ZeroMaxPromptChars);
        }
        let (keywords, spaceless) = fold_keywords(&file.keywords)?;
        let patterns = compile_patterns(&file.patterns)?;
        let fingerprint = fingerprint(&keywords, &spaceless, &file.patterns, max_prompt_chars);
        let keyword_count = keywords.len() + spaceless.len();
        let automaton = |keywords: &[String]| {
            if keywords.is_empty() {
                Ok(None)
            } else {
                AhoCorasick::new(keywords)
                    .map(Some)
                    .map_err(|e| SafetyError::Keywords(e.to_string()))
            }
        };
        Ok(Rules {
            keywords: automaton(&keywords)?,
            spaceless_keywords: automaton(&spaceless)?,
            keyword_count,
            patterns,
            max_prompt_chars,
            fingerprint,
        })
    }

    /// Parses and compiles a rules file: JSON if it starts with `{`, YAML otherwise.
    pub fn parse(
        text: &str,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Rules, SafetyError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() {
            return Err(SafetyError::Empty);
        }
        let file: RulesFile = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| SafetyError::Syntax {
                format: "JSON",
                message: e.to_string(),
            })?
        } else {
            serde_yaml_ng::from_str(trimmed).map_err(|e| SafetyError::Syntax {
                format: "YAML",
                message: e.to_string(),
            })?
        };
        Rules::compile(file, max_prompt_chars_default)
    }

    /// Rules that allow everything (bar the default length limit, if any).
    pub fn empty(max_prompt_chars_default: Option<usize>) -> Result<Rules, SafetyError> {
        Rules::compile(RulesFile::default(), max_prompt_chars_default)
    }

    /// Checks the length first (cheap, and bounds the work below), then keywords, then patterns.
    pub fn check(&self, prompt: &Prompt) -> Verdict {
        if let Some(max) = self.max_prompt_chars {
            let chars = prompt.chars();
            if chars > max {
                return Verdict::Block(Reason::TooLong { chars, max });
            }
        }
        if let Some(keywords) = &self.keywords
            && prompt.texts.iter().any(|t| keywords.is_match(&fold(t)))
        {
            return Verdict::Block(Reason::Keyword);
        }
        if let Some(keywords) = &self.spaceless_keywords
            && prompt
                .texts
                .iter()
                .any(|t| keywords.is_match(&without_whitespace(&fold(t))))
        {
            return Verdict::Block(Reason::Keyword);
        }
        if let Some(patterns) = &self.patterns
            && prompt.texts.iter().any(|t| patterns.is_match(t))
        {
            return Verdict::Block(Reason::Pattern);
        }
        Verdict::Allow
    }

    /// A stable digest of what the rules block, for logs and metrics: equal for files that
    /// differ only in comments, layout, or keyword order.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn keyword_count(&self) -> usize {
        self.keyword_count
    }

    pub fn pattern_count(&self) -> usize {
        self.patterns.as_ref().map_or(0, RegexSet::len)
    }

    pub fn max_prompt_chars(&self) -> Option<usize> {
        self.max_prompt_chars
    }
}

/// The keywords in the form they are matched in, sorted and without duplicates: those matched
/// as they are, and those matched with whitespace ignored (stored without it).
fn fold_keywords(keywords: &[Keyword]) -> Result<(Vec<String>, Vec<String>), SafetyError> {
    let mut exact = Vec::with_capacity(keywords.len());
    let mut spaceless = Vec::new();
    for (index, keyword) in keywords.iter().enumerate() {
        let folded = fold(keyword.text());
        let (folded, list) = if keyword.ignores_spaces() {
            (without_whitespace(&folded), &mut spaceless)
        } else {
            (folded, &mut exact)
        };
        if folded.is_empty() {
            return Err(SafetyError::EmptyKeyword { index });
        }
        list.push(folded);
    }
    // Order and duplicates do not change what is blocked, so they do not change the
    // fingerprint either.
    for list in [&mut exact, &mut spaceless] {
        list.sort_unstable();
        list.dedup();
    }
    Ok((exact, spaceless))
}

fn without_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The patterns as one set, or `None` when there are none.
fn compile_patterns(patterns: &[String]) -> Result<Option<RegexSet>, SafetyError> {
    // Each pattern on its own first, so an error names the pattern at fault.
    for (index, pattern) in patterns.iter().enumerate() {
        RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_DFA_LIMIT)
            .build()
            .map_err(|e| SafetyError::Pattern {
                index,
                message: e.to_string(),
            })?;
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    let set = RegexSetBuilder::new(patterns)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_DFA_LIMIT)
        .build()
        .map_err(|e| SafetyError::PatternSet(e.to_string()))?;
    Ok(Some(set))
}

fn fingerprint(
    keywords: &[String],
    spaceless: &[String],
    patterns: &[String],
    max: Option<usize>,
) -> u64 {
    let mut hash = Sha256::new();
    // Length prefixes keep ["ab", "c"] and ["a", "bc"] apart.
    let mut list = |tag: &[u8], items: &[String]| {
        hash.update(tag);
        hash.update((items.len() as u64).to_le_bytes());
        for item in items {
            hash.update((item.len() as u64).to_le_bytes());
            hash.update(item.as_bytes());
        }
    };
    list(b"keywords", keywords);
    // Only when present, so files without the option keep the fingerprint they always had.
    if !spaceless.is_empty() {
        list(b"keywordsIgnoringSpaces", spaceless);
    }
    list(b"patterns", patterns);
    hash.update(b"max");
    hash.update(max.map_or(u64::MAX, |m| m as u64).to_le_bytes());
    let digest = hash.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 is 32 bytes"))
}

/// The form keywords are matched in: lowercase, full-width ASCII folded to ASCII, and the
/// invisible characters used to split a word without changing how it looks removed.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{00ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}' => continue,
            c => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// The live rules: loaded from a file and swapped when the file changes. Cheap to clone.
#[derive(Clone)]
pub struct RuleSet {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Arc<Rules>>,
    source: Option<Source>,
}

struct Source {
    path: PathBuf,
    max_prompt_chars_default: Option<usize>,
    seen: Mutex<Seen>,
}

/// What the reloader last saw, so each change is compiled and reported once, not every poll.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    Bytes([u8; 32]),
    ReadError,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("path", &self.shared.source.as_ref().map(|s| &s.path))
            .field("current", &self.current())
            .finish()
    }
}

impl RuleSet {
    /// Rules that never change.
    pub fn fixed(rules: Rules) -> Self {
        RuleSet {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(rules)),
                source: None,
            }),
        }
    }

    /// Loads the rules at `path`. A missing or invalid file is an error here; later, while
    /// reloading, it only keeps the previous rules.
    pub async fn load(
        path: PathBuf,
        max_prompt_chars_default: Option<usize>,
    ) -> Result<Self, SafetyError> {
        let bytes = read_rules(&path).await?;
        let digest = Sha256::digest(&bytes).into();
        let rules = compile_bytes(bytes, max_prompt_chars_default).await?;
        Ok(RuleSet {
            shared: Arc::new(Shared {
                current: RwLock::new(Arc::new(rules)),
                source: Some(Source {
                    path,
                    max_prompt_chars_default,
                    seen: Mutex::new(Seen::Bytes(digest)),
                }),
            }),
        })
    }

    /// The rules in force now.
    pub fn current(&self) -> Arc<Rules> {
        self.shared
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The file the rules come from, unless they are fixed.
    pub fn path(&self) -> Option<&Path> {
        self.shared.source.as_ref().map(|s| s.path.as_path())
    }

    /// Polls the file every `interval` and swaps in new rules when its bytes change. A kubelet
    /// updates a ConfigMap mount by swapping a symlink, which inotify-style watches miss, hence
    /// polling. `on_reload` hears of each change once: `Ok` when new rules are in force, `Err`
    /// when the file cannot be read or compiled and the previous rules stay. The task ends
    /// when every clone of this set is dropped; for fixed rules it ends at once.
    pub fn spawn_reloader(
        &self,
        interval: Duration,
        on_reload: impl Fn(Result<(), &SafetyError>) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate and the file was just read.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                if shared.source.is_none() {
                    return;
                }
                shared.reload(&on_reload).await;
            }
        })
    }
}

impl Shared {
    async fn reload(&self, on_reload: &(impl Fn(Result<(), &SafetyError>) + Send + Sync)) {
        let Some(source) = &self.source else { return };
        let bytes = read_rules(&source.path).await;
        let seen = match &bytes {
            Ok(bytes) => Seen::Bytes(Sha256::digest(bytes).into()),
            Err(_) => Seen::ReadError,
        };
        {
            let mut last = source.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if *last == seen {
                return;
            }
            *last = seen;
        }
        let compiled = match bytes {
            Ok(bytes) => compile_bytes(bytes, source.max_prompt_chars_default).await,
            Err(e) => Err(e),
        };
        match compiled {
            Ok(rules) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
                on_reload(Ok(()));
            }
            Err(e) => on_reload(Err(&e)),
        }
    }
}

async fn read_rules(path: &Path) -> Result<Vec<u8>, SafetyError> {
    let read_error = |source| SafetyError::Read {
        path: path.to_owned(),
        source,
    };
    let size = tokio::fs::metadata(path).await.map_err(read_error)?.len();
    if size > MAX_RULES_FILE_BYTES {
        return Err(SafetyError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    tokio::fs::read(path).await.map_err(read_error)
}

/// Compiles off the async workers: a large pattern set can take a while.
async fn compile_bytes(
    bytes: Vec<u8>,
    max_prompt_chars_default: Option<usize>,
) -> Result<Rules, SafetyError> {
    tokio::task::spawn_blocking(move || {
        let text = String::from_utf8(bytes).map_err(|e| SafetyError::Syntax {
            format: "UTF-8",
            message: e.to_string(),
        })?;
        Rules::parse(&text, max_prompt_chars_default)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::test_support::prompt;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    // ---- rules ----

    #[test]
    fn keywords_ignore_case_width_and_invisible_characters() {
        let rules = Rules::parse("keywords: [Forbidden, 炸弹, ＥＶＩＬ]", None).unwrap();
        for blocked in [
            "this is FORBIDDEN text",
            "forbidden",
            "ＦＯＲＢＩＤＤＥＮ",
            "how to make a 炸弹",
            "炸\u{200b}弹",
            "so evil",
        ] {
            assert_eq!(
                rules.check(&prompt(&["fine", blocked])),
                Verdict::Block(Reason::Keyword),
                "{blocked}"
            );
        }
        for allowed in ["forbid den", "炸 弹", "炸药", ""] {
            assert!(rules.check(&prompt(&[allowed])).is_allow(), "{allowed}");
        }
        assert!(rules.check(&Prompt::default()).is_allow());
    }

    #[test]
    fn keywords_with_ignore_spaces_match_across_inserted_whitespace() {
        let rules = Rules::parse(
            "keywords:\n  - {keyword: 炸弹, ignoreSpaces: true}\n  - keyword: Bomb\n    ignoreSpaces: true\n  - plain\n  - {keyword: exact}",
            None,
        )
        .unwrap();
        assert_eq!(rules.keyword_count(), 4);
        for blocked in [
            "炸弹",
            "炸 弹",
            "炸　弹",
            "how to make a 炸 \t\n 弹",
            "炸\u{200b} 弹",
            "b o m b",
            "Ｂ　Ｏ Ｍ Ｂ",
            "plain",
            "exact",
        ] {
            assert_eq!(
                rules.check(&prompt(&["fine", blocked])),
                Verdict::Block(Reason::Keyword),
                "{blocked:?}"
            );
        }
        // Keywords without the option match exactly as before.
        for allowed in ["p l a i n", "ex act", "炸药", "bo", ""] {
            assert!(rules.check(&prompt(&[allowed])).is_allow(), "{allowed:?}");
        }

        // A keyword that is only whitespace would match everything once it is removed.
        let e = Rules::parse("keywords: [a, {keyword: ' 　', ignoreSpaces: true}]", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("keywords[1] is empty"), "{e}");

        // The option changes what is blocked, so it changes the fingerprint; its absence does
        // not (the short and long forms are the same rule).
        let plain = Rules::parse("keywords: [bomb]", None).unwrap();
        let long = Rules::parse("keywords: [{keyword: bomb}]", None).unwrap();
        let spaced = Rules::parse("keywords: [{keyword: bomb, ignoreSpaces: true}]", None).unwrap();
        assert_eq!(plain.fingerprint(), long.fingerprint());
        assert_ne!(plain.fingerprint(), spaced.fingerprint());
        assert!(Rules::parse("keywords: [{keyword: x, ignore: true}]", None).is_err());
    }

    #[test]
    fn patterns_match_each_text_as_sent() {
        let rules = Rules::parse(
            r#"{"patterns": ["\\b\\d{3}-\\d{2}-\\d{4}\\b", "(?i)ignore (all )?previous orders"]}"#,
            None,
        )
        .unwrap();
        assert_eq!(rules.pattern_count(), 2);
        assert_eq!(
            rules.check(&prompt(&["my ssn is 123-45-6789"])),
            Verdict::Block(Reason::Pattern)
        );
        assert_eq!(
            rules.check(&prompt(&["a", "Ignore previous Orders"])),
            Verdict::Block(Reason::Pattern)
        );
        assert!(rules.check(&prompt(&["1234-45-6789", "ignore"])).is_allow());
    }

    #[test]
    fn too_long_counts_chars_over_all_texts() {
        let rules = Rules::parse("maxPromptChars: 5\nkeywords: [x]", None).unwrap();
        assert!(rules.check(&prompt(&["炸弹", "abc"])).is_allow());
        assert_eq!(
            rules.check(&prompt(&["炸弹", "abcd"])),
            Verdict::Block(Reason::TooLong { chars: 6, max: 5 })
        );
        // Length is checked before keywords.
        assert_eq!(
            rules.check(&prompt(&["xxxxxx"])),
            Verdict::Block(Reason::TooLong { chars: 6, max: 5 })
        );
    }

    #[test]
    fn default_limit_applies_unless_the_file_sets_one() {
        assert_eq!(
            Rules::parse("{}", Some(7)).unwrap().max_prompt_chars(),
            Some(7)
        );
        assert_eq!(
            Rules::parse("maxPromptChars: 3", Some(7))
                .unwrap()
                .max_prompt_chars(),
            Some(3)
        );
        assert_eq!(Rules::empty(None).unwrap().max_prompt_chars(), None);
    }

    #[test]
    fn fingerprint_ignores_layout_and_keyword_order() {
        let a = Rules::parse("keywords: [b, A]\npatterns: ['x+']", None).unwrap();
        let b = Rules::parse(r#"{"patterns": ["x+"], "keywords": ["a", "b", "a"]}"#, None).unwrap();
        let c = Rules::parse("keywords: [a, b]\npatterns: ['x*']", None).unwrap();
        let d = Rules::parse(
            "keywords: [a, b]\npatterns: ['x+']\nmaxPromptChars: 9",
            None,
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), d.fingerprint());
    }

    #[test]
    fn bad_files_give_errors_naming_the_problem() {
        let err = |text: &str| Rules::parse(text, None).unwrap_err().to_string();

        let e = err("patterns: ['ok', '(unclosed']");
        assert!(e.contains("patterns[1]") && e.contains("unclosed"), "{e}");

        let e = err("keyword: [x]");
        assert!(
            e.contains("YAML") && e.contains("unknown field `keyword`"),
            "{e}"
        );

        let e = err(r#"{"keywords": ["x"], "extra": 1}"#);
        assert!(
            e.contains("JSON") && e.contains("unknown field `extra`"),
            "{e}"
        );

        let e = err("keywords: [x\n  - : :");
        assert!(e.contains("not valid YAML"), "{e}");

        let e = err("keywords: x");
        assert!(e.contains("keywords"), "{e}");

        let e = err("maxPromptChars: -1");
        assert!(
            e.contains("maxPromptChars") || e.contains("invalid value"),
            "{e}"
        );

        assert!(err("maxPromptChars: 0").contains("maxPromptChars"));
        assert!(err("keywords: [a, '\u{200b}']").contains("keywords[1] is empty"));
        assert!(err("  \n").contains("empty"));

        // A pattern whose compiled form exceeds the size limit.
        let e = err(r"patterns: ['\w{1000}\w{1000}\w{1000}']");
        assert!(e.contains("patterns[0]") && e.contains("size limit"), "{e}");
    }

    // ---- reload ----

    fn temp_path(tag: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("aigc-safety-{tag}-{}-{n}.yaml", std::process::id()))
    }

    /// Writes by rename, as the kubelet's atomic writer does, so a poll never sees half a file.
    fn write(path: &Path, text: &str) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn load_fails_on_missing_or_invalid_file() {
        let path = temp_path("missing");
        let e = RuleSet::load(path.clone(), None).await.unwrap_err();
        assert!(matches!(e, SafetyError::Read { .. }), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()));

        write(&path, "patterns: ['[']");
        let e = RuleSet::load(path.clone(), None).await.unwrap_err();
        assert!(e.to_string().contains("patterns[0]"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn reloads_on_change_and_keeps_old_rules_on_error() {
        let path = temp_path("reload");
        write(&path, "keywords: [alpha]");
        let set = RuleSet::load(path.clone(), None).await.unwrap();
        assert_eq!(set.path(), Some(path.as_path()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = set.spawn_reloader(Duration::from_millis(20), move |r| {
            tx.send(r.map_err(|e| e.to_string())).unwrap();
        });

        let alpha = prompt(&["alpha"]);
        let beta = prompt(&["beta"]);
        assert!(!set.current().check(&alpha).is_allow());
        assert!(set.current().check(&beta).is_allow());

        write(&path, "keywords: [beta]");
        eventually("the new rules", || !set.current().check(&beta).is_allow()).await;
        assert!(set.current().check(&alpha).is_allow());
        assert_eq!(rx.recv().await.unwrap(), Ok(()));

        write(&path, "keywords: [gamma]\npatterns: ['(']");
        let report = rx.recv().await.unwrap().unwrap_err();
        assert!(report.contains("patterns[0]"), "{report}");
        assert!(!set.current().check(&beta).is_allow(), "old rules kept");

        // The same broken bytes are reported once, not on every poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rx.try_recv().is_err());

        std::fs::remove_file(&path).unwrap();
        let report = rx.recv().await.unwrap().unwrap_err();
        assert!(report.contains("cannot read"), "{report}");
        assert!(!set.current().check(&beta).is_allow(), "old rules kept");

        write(&path, "keywords: [gamma]");
        assert_eq!(rx.recv().await.unwrap(), Ok(()));
        assert!(!set.current().check(&prompt(&["GAMMA"])).is_allow());

        // The task stops once the set is gone.
        drop(set);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("reloader stops")
            .unwrap();
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn follows_a_configmap_style_symlink_swap() {
        let dir = temp_path("configmap").with_extension("d");
        std::fs::create_dir_all(dir.join("v1")).unwrap();
        std::fs::create_dir_all(dir.join("v2")).unwrap();
        std::fs::write(dir.join("v1/rules.yaml"), "keywords: [one]").unwrap();
        std::fs::write(dir.join("v2/rules.yaml"), "keywords: [two]").unwrap();
        std::os::unix::fs::symlink("v1", dir.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/rules.yaml", dir.join("rules.yaml")).unwrap();

        let set = RuleSet::load(dir.join("rules.yaml"), None).await.unwrap();
        let task = set.spawn_reloader(Duration::from_millis(20), |_| {});
        assert!(!set.current().check(&prompt(&["one"])).is_allow());

        std::os::unix::fs::symlink("v2", dir.join("..data_tmp")).unwrap();
        std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
        eventually("the swapped rules", || {
            !set.current().check(&prompt(&["two"])).is_allow()
        })
        .await;
        task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn fixed_rules_have_nothing_to_reload() {
        let set = RuleSet::fixed(Rules::parse("keywords: [x]", None).unwrap());
        let clone = set.clone();
        assert!(!clone.current().check(&prompt(&["X"])).is_allow());
        assert!(set.path().is_none());
        set.spawn_reloader(Duration::from_millis(1), |_| panic!("no reloads"))
            .await
            .unwrap();
    }

    // ---- robustness ----

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn check_never_panics(texts in prop::collection::vec(any::<String>(), 0..4)) {
            let rules = Rules::parse(
                "keywords: [炸弹, ＡＢ, 'ǅ', 'İ']\npatterns: ['(?i)a.b', '^\\s*$']\nmaxPromptChars: 64",
                None,
            ).unwrap();
            let prompt = Prompt { texts };
            let verdict = rules.check(&prompt);
            if prompt.chars() > 64 {
                prop_assert!(
                    matches!(verdict, Verdict::Block(Reason::TooLong { .. })),
                    "expected too long"
                );
            }
        }
    }
}
