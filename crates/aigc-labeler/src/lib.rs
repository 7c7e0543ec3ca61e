//! `aigc-labeler`: the sidecar that labels AI-generated content (row 37) and checks user input
//! (row 27) in front of a model server with an OpenAI-compatible API.
//!
//! It sits in the inference pod and is what the Service targets: prompts are checked
//! ([`safety`]), requests go on to the model server on localhost ([`proxy`]), and generated
//! content comes back with a visible notice ([`text`], [`draw`]) and the implicit `AIGC` record
//! of GB 45438-2025 ([`record`], [`media`]), which `aigc-labeler verify` checks ([`verify`]).

pub mod config;
pub mod draw;
pub mod media;
pub mod metrics;
pub mod proxy;
pub mod record;
pub mod safety;
pub mod server;
pub mod text;
pub mod verify;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};

use self::config::{ImageNotice, ProxyArgs};
use self::metrics::{Metrics, ResultLabels};
use self::proxy::{Labeler, Upstream};
use self::record::Sealer;
use self::safety::{Moderation, RuleSet};
use self::text::Notice;

/// The shortest anti-tamper key accepted.
pub const MIN_KEY_BYTES: usize = 16;

/// Reads the anti-tamper key: the file's bytes without a trailing newline.
pub fn read_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut key = std::fs::read(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        key.pop();
    }
    if key.len() < MIN_KEY_BYTES {
        bail!(
            "the key file {} holds {} bytes; the anti-tamper key needs at least {MIN_KEY_BYTES}",
            path.display(),
            key.len()
        );
    }
    Ok(key)
}

/// Builds the proxy from its configuration; every mistake in it is reported here, at start-up.
pub async fn build(args: &ProxyArgs, metrics: Arc<Metrics>) -> anyhow::Result<Labeler> {
    if args.upstream.scheme_str() != Some("http") || args.upstream.authority().is_none() {
        bail!(
            "--upstream must be an http:// URL with a host (the model server beside the sidecar), got {}",
            args.upstream
        );
    }
    if args.producer.trim().is_empty() {
        bail!("--producer (AIGC_LABELER_PRODUCER) must name the provider");
    }
    let sealer = Sealer::new(args.producer.trim(), read_key(&args.key_file)?);
    let text_notice = (!args.no_text_notice).then(|| Notice {
        text: args.notice.clone(),
        position: args.notice_position,
    });
    let image_notice = match args.image_notice {
        ImageNotice::Off => None,
        ImageNotice::On => {
            let font = match &args.font_file {
                Some(path) => std::fs::read(path)
                    .with_context(|| format!("cannot read the font file {}", path.display()))?,
                None => draw::DEFAULT_FONT.to_vec(),
            };
            let stamp = draw::Stamp::new(font, &args.notice)
                .context("the image notice cannot be drawn with this font (--font-file)")?;
            Some(Arc::new((stamp, args.image_notice_corner)))
        }
    };
    let rules = match &args.rules_file {
        Some(path) => {
            let rules = RuleSet::load(path.clone(), args.max_prompt_chars)
                .await
                .with_context(|| format!("the rules file {} is not usable", path.display()))?;
            let counter = metrics.clone();
            rules.spawn_reloader(args.rules_reload_interval, move |result| {
                let result = match result {
                    Ok(()) => "loaded",
                    Err(e) => {
                        tracing::error!(error = %e, "rules file not reloaded; keeping the previous rules");
                        "rejected"
                    }
                };
                counter
                    .rules_reloads
                    .get_or_create(&ResultLabels {
                        result: result.to_string(),
                    })
                    .inc();
            });
            Some(rules)
        }
        None => args
            .max_prompt_chars
            .map(|max| -> anyhow::Result<RuleSet> {
                let rules = safety::Rules::compile(safety::RulesFile::default(), Some(max))?;
                Ok(RuleSet::fixed(rules))
            })
            .transpose()?,
    };
    let moderation = match &args.moderation_url {
        Some(url) => {
            if url.scheme_str() != Some("http") || url.authority().is_none() {
                bail!(
                    "--moderation-url must be an http:// URL (a service in the cluster or a local gateway), got {url}"
                );
            }
            let bearer = match &args.moderation_token_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read the token file {}", path.display()))?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            Some(Moderation::new(
                url.clone(),
                args.moderation_timeout,
                args.moderation_failure,
                bearer,
            ))
        }
        None => None,
    };
    Ok(Labeler {
        upstream: Upstream::new(
            args.upstream.clone(),
            args.upstream_http2,
            args.upstream_connect_timeout,
        ),
        sealer,
        text_notice,
        image_notice,
        rules,
        moderation,
        max_request_body: args.max_request_body,
        max_response_body: args.max_response_body,
        request_timeout: args.request_timeout,
        strict_paths: args.strict_paths,
        labeling: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        upstream_timeout: args.upstream_timeout,
        log_content: args.log_content,
        metrics,
    })
}

/// An error and its sources, as one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    message
}
