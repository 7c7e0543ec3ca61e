//! Training and inference pods do not run as the same service account.

use super::{Sides, in_common};
use crate::evaluate::Findings;
use crate::i18n::msg;

pub(super) fn check(sides: &Sides, f: &mut Findings) {
    // Service accounts are namespaced: in different namespaces the same name is another account.
    if !sides.same_namespace() {
        return;
    }
    let shared = in_common(
        sides.trainers.iter().map(|p| p.service_account()),
        sides.servers.iter().map(|p| p.service_account()),
    );
    if !shared.is_empty() {
        f.problem(
            "SharedServiceAccount",
            msg!(SharedServiceAccount, accounts = shared.join(", ")),
        );
    }
}
