//! `model-compliance-operator`: the operator (`run`), the offline check of manifests
//! (`check`), and the CRD generator (`crd`). See `cli` for the commands.

use std::process::ExitCode;

fn main() -> ExitCode {
    model_compliance_operator::cli::Cli::parse_and_run()
}
