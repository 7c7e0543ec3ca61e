//! Prometheus metrics of the sidecar.

use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::{counter::Counter, family::Family, histogram::Histogram};
use prometheus_client::registry::Registry;

/// What kind of content a request is about.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Modality {
    text,
    image,
    audio,
    /// Requests the sidecar only passes through.
    other,
}

/// What happened to a request.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    /// The response carries the labels.
    labeled,
    /// Refused by the input-safety checks.
    blocked,
    /// Forwarded untouched (not generated content, or an error from the model server).
    passed,
    /// Generated content in a format that cannot carry the implicit label.
    unlabelable,
    /// The sidecar answered with an error (bad request, model server unreachable, …).
    failed,
    /// The model server broke off a stream: everything it sent was passed on, without the
    /// record (the answer is incomplete), and the stream broke off the same way.
    upstream_aborted,
    /// The client went away before its stream ended; the model server's request was dropped.
    client_aborted,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub modality: Modality,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabels {
    pub format: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModalityLabels {
    pub modality: Modality,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub blocked: Family<ReasonLabels, Counter>,
    pub unlabelable: Family<FormatLabels, Counter>,
    pub added_latency: Family<ModalityLabels, Histogram>,
    pub rules_reloads: Family<ResultLabels, Counter>,
    registry: Mutex<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("aigc_labeler");
        let requests = Family::<RequestLabels, Counter>::default();
        let blocked = Family::<ReasonLabels, Counter>::default();
        let unlabelable = Family::<FormatLabels, Counter>::default();
        let added_latency = Family::<ModalityLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            ])
        });
        let rules_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests by modality and outcome",
            requests.clone(),
        );
        registry.register(
            "blocked",
            "Requests refused by the input-safety checks, by reason",
            blocked.clone(),
        );
        registry.register(
            "unlabelable",
            "Generated content whose format cannot carry the implicit label, by format",
            unlabelable.clone(),
        );
        registry.register(
            "added_latency_seconds",
            "Time the sidecar adds before the response starts (checks, labeling), by modality",
            added_latency.clone(),
        );
        registry.register(
            "rules_reloads",
            "Reloads of the input-safety rules file, by result",
            rules_reloads.clone(),
        );
        Metrics {
            requests,
            blocked,
            unlabelable,
            added_latency,
            rules_reloads,
            registry: Mutex::new(registry),
        }
    }
}

impl Metrics {
    pub fn request(&self, modality: Modality, outcome: Outcome) {
        self.requests
            .get_or_create(&RequestLabels { modality, outcome })
            .inc();
    }

    /// Counts generated content whose format cannot carry the implicit label.
    pub fn count_unlabelable(&self, format: &str) {
        self.unlabelable
            .get_or_create(&FormatLabels {
                format: format.to_string(),
            })
            .inc();
    }

    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

/// A registry in the Prometheus text format.
fn render(registry: &Mutex<Registry>) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry.lock().expect("registry lock"))
        .expect("metrics encode");
    out
}
