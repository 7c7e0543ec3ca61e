use model_compliance_operator::crdgen;
fn main() {
    crdgen::write_all(std::path::Path::new("crds")).unwrap();
}
