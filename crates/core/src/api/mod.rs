//! The custom resources of `modelcompliance.io/v1alpha1`.

mod common;
mod deployment;
mod evidence;
mod policy;
pub mod selector;

pub use common::*;
pub use deployment::*;
pub use evidence::*;
pub use policy::*;

/// API group of every resource of the operator.
pub const GROUP: &str = "modelcompliance.io";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omitted_sections_mean_the_same_as_empty_ones() {
        let omitted: ModelDeploymentSpec =
            serde_json::from_value(serde_json::json!({"policyRef": "p", "model": {"name": "m", "version": "1", "modalities": ["Text"]}})).unwrap();
        let empty: ModelDeploymentSpec = serde_json::from_value(
            serde_json::json!({"policyRef": "p", "model": {"name": "m", "version": "1", "modalities": ["Text"]}, "service": {}}),
        )
        .unwrap();
        assert!(omitted.service.public);
        assert_eq!(omitted.service, empty.service);

        let policy: CompliancePolicySpec = serde_json::from_value(serde_json::json!({})).unwrap();
        let explicit: CompliancePolicySpec =
            serde_json::from_value(serde_json::json!({"riskAcceptance": {}})).unwrap();
        assert_eq!(policy.risk_acceptance.max_acceptable, RiskLevel::Low);
        assert_eq!(policy.risk_acceptance, explicit.risk_acceptance);
    }
}
