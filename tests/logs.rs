//! The operator's logs. Alone in its binary: tracing caches, per call site, whether any
//! subscriber wants its events, and tests running beside this one would disturb that.

mod support;

use std::sync::Arc;

use support::*;

/// Each reconcile logs inside a span naming its deployment: a JSON log line carries the
/// deployment's namespace and name, whatever the message.
#[test]
fn json_logs_of_a_reconcile_name_the_deployment() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let api = cluster();
            let mut ctx = context(&api);
            reconcile_once(&api, &mut ctx).await.unwrap();
        });
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The operator's own lines; the HTTP client's worker task logs outside any reconcile.
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("model_compliance_operator"))
        })
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "reconciled"),
        "{text}"
    );
    for line in &lines {
        let span = &line["span"];
        assert_eq!(span["name"], "reconcile", "{line}");
        assert_eq!(span["namespace"], "serve", "{line}");
        assert_eq!(span["modeldeployment"], "chat", "{line}");
    }
}
