//! Input checks (row 27): refuse a request whose prompt matches a configured rule or that an
//! external moderation service flags.
//!
//! Rules come from a file mounted from a ConfigMap and are reloaded while the sidecar runs. No
//! function here logs or returns the text of a prompt, nor the rule it matched (row 35: user
//! input is not retained); only sizes and the kind of rule reach logs and responses.
//!
//! The prompt is read from the request (`prompt`), checked against the rules (`rules`), then
//! by the moderation service if one is configured (`moderation`).

mod moderation;
mod prompt;
mod rules;

use std::fmt;

use http::StatusCode;

pub use self::moderation::{FailureMode, Moderation};
pub use self::prompt::{Prompt, UnreadablePrompt, extract_prompt, read_prompt};
pub use self::rules::{Keyword, KeywordRule, RuleSet, Rules, RulesFile, SafetyError};

/// The one target the events of these checks are logged under, whichever file they come from:
/// log lines name the checks, not a file inside them.
const LOG_TARGET: &str = "aigc_labeler::safety";

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Block(Reason),
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// Which kind of rule refused a request. Deliberately carries neither the prompt nor the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Keyword,
    Pattern,
    TooLong { chars: usize, max: usize },
    Moderation,
    ModerationUnavailable,
}

impl Reason {
    /// A metric label value.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Keyword => "keyword",
            Reason::Pattern => "pattern",
            Reason::TooLong { .. } => "too_long",
            Reason::Moderation => "moderation",
            Reason::ModerationUnavailable => "moderation_unavailable",
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> String {
        let why = match self {
            Reason::Keyword => "its input matched a blocked keyword".to_owned(),
            Reason::Pattern => "its input matched a blocked pattern".to_owned(),
            Reason::TooLong { chars, max } => {
                format!("its input is {chars} characters long, over the limit of {max}")
            }
            Reason::Moderation => "the content moderation service flagged its input".to_owned(),
            Reason::ModerationUnavailable => {
                "the content moderation service is unavailable; try again later".to_owned()
            }
        };
        format!("The request was refused: {why}.")
    }

    /// A suitable HTTP status: the client's fault, too large, or ours.
    pub fn status(&self) -> StatusCode {
        match self {
            Reason::Keyword | Reason::Pattern | Reason::Moderation => StatusCode::BAD_REQUEST,
            Reason::TooLong { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::ModerationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod test_support {
    use super::Prompt;

    /// A prompt of these texts.
    pub(in crate::safety) fn prompt(texts: &[&str]) -> Prompt {
        Prompt {
            texts: texts.iter().map(|t| t.to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_never_echo_input_and_have_labels() {
        let reasons = [
            (Reason::Keyword, "keyword"),
            (Reason::Pattern, "pattern"),
            (Reason::TooLong { chars: 10, max: 5 }, "too_long"),
            (Reason::Moderation, "moderation"),
            (Reason::ModerationUnavailable, "moderation_unavailable"),
        ];
        for (reason, label) in reasons {
            assert_eq!(reason.label(), label);
            assert!(!reason.message().is_empty());
            assert!(!reason.message().contains("炸弹"));
        }
        assert!(Reason::Keyword.message().contains("keyword"));
        assert!(Reason::Pattern.message().contains("pattern"));
        assert_eq!(Reason::TooLong { chars: 1, max: 0 }.status(), 413);
        assert_eq!(Reason::ModerationUnavailable.status(), 503);
    }
}
