//! model-compliance-operator: per-obligation compliance status and enforced controls for
//! general-purpose large models on Kubernetes.

// kube's `printcolumn(...)` attributes repeat `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

pub mod api;
pub mod catalog;
pub mod check;
pub mod conditions;
pub mod controller;
pub mod crdgen;
pub mod enforce;
pub mod evaluate;
pub mod labeler;
pub mod snapshot;
pub mod telemetry;
