//! Training and inference pods never share a node, when the policy asks for separate nodes.

use super::{Sides, in_common};
use crate::evaluate::Findings;
use crate::i18n::msg;

pub(super) fn check(sides: &Sides, f: &mut Findings) {
    if !sides.live {
        f.open("NodePlacementUnknown", msg!(NodePlacementUnknown));
        return;
    }
    let shared = in_common(
        sides.trainers.iter().filter_map(|p| p.node()),
        sides.servers.iter().filter_map(|p| p.node()),
    );
    if !shared.is_empty() {
        f.problem("SharedNode", msg!(SharedNode, nodes = shared.join(", ")));
    }
}
