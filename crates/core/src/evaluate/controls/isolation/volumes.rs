//! No inference pod mounts a training volume.

use std::collections::BTreeSet;

use super::Sides;
use crate::evaluate::Findings;
use crate::i18n::msg;

pub(super) fn check(sides: &Sides, f: &mut Findings) {
    if sides.same_namespace() {
        let training_claims: BTreeSet<&str> = sides
            .trainers
            .iter()
            .flat_map(|p| p.claims())
            .chain(sides.training.data_volumes.iter().map(String::as_str))
            .collect();
        for server in &sides.servers {
            let shared: Vec<&str> = server
                .claims()
                .filter(|c| training_claims.contains(c))
                .collect();
            if !shared.is_empty() {
                f.problem(
                    "SharedVolume",
                    msg!(
                        SharedVolume,
                        pod = server.origin,
                        volumes = shared.join(", ")
                    ),
                );
            }
        }
    } else {
        // A claim can only be mounted in its own namespace; a declared training volume in the
        // inference namespace would be a copy under the same name.
        for server in &sides.servers {
            let shared: Vec<&str> = server
                .claims()
                .filter(|c| sides.training.data_volumes.iter().any(|v| v == c))
                .collect();
            if !shared.is_empty() {
                f.problem(
                    "SharedVolume",
                    msg!(
                        SharedClaimName,
                        pod = server.origin,
                        claims = shared.join(", ")
                    ),
                );
            }
        }
    }
}
