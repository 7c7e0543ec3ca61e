//! The core of model-compliance-operator: the resource types, the catalog of obligations, the
//! facts observed in a cluster, the evaluation of every obligation, the objects each control
//! needs and the status conditions. Everything here is a pure function of its inputs, shared
//! by the controller and the offline `check`.
//!
//! Dependencies point one way: `api` → `catalog`, `snapshot` → `evaluate` → `desired`,
//! `conditions`.

#![forbid(unsafe_code)]
// kube's `printcolumn(...)` attributes repeat `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

pub mod api;
pub mod backups;
pub mod catalog;
pub mod conditions;
pub mod desired;
pub mod evaluate;
pub mod i18n;
pub mod labels;
pub mod snapshot;
