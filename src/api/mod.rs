//! The custom resources of `modelcompliance.io/v1alpha1`.

mod common;
mod deployment;
mod evidence;
mod policy;

pub use common::*;
pub use deployment::*;
pub use evidence::*;
pub use policy::*;

/// API group of every resource of the operator.
pub const GROUP: &str = "modelcompliance.io";
