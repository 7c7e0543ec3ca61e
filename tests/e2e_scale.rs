//! Placeholder.
#[test]
fn placeholder() {}
