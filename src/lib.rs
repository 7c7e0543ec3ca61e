//! model-compliance-operator: per-obligation compliance status and enforced controls for
//! general-purpose large models on Kubernetes.
//!
//! The pure core (resource types, catalog, evaluation, desired objects, conditions) is the
//! `model-compliance-core` crate, re-exported here; this crate adds what talks to the world:
//! the command line, the controller, the offline check, the reports read from a cluster,
//! telemetry and CRD generation.

#![forbid(unsafe_code)]

pub use model_compliance_core::{
    api, backups, catalog, conditions, desired, evaluate, i18n, labels, snapshot,
};

pub mod check;
pub mod cli;
pub mod controller;
pub mod crdgen;
pub mod report;
pub mod telemetry;
pub mod view;
