//! Objects the operator's tests share.

use serde_json::{Value, json};

/// API path of [`chat_deployment`].
pub const CHAT_DEPLOYMENT: &str =
    "/apis/modelcompliance.io/v1alpha1/namespaces/serve/modeldeployments/chat";

/// ModelDeployment `serve/chat` under policy `p`: training in `train` (pods `role=trainer`,
/// claim `corpus`), inference in `serve` (pods `app=chat`, Deployment and Service `chat`, model
/// port 8000), with the operator's finalizer already in place.
pub fn chat_deployment() -> Value {
    json!({
        "apiVersion": "modelcompliance.io/v1alpha1", "kind": "ModelDeployment",
        "metadata": {"name": "chat", "namespace": "serve", "uid": "mdep-uid", "generation": 1,
                     "finalizers": ["modelcompliance.io/cleanup"]},
        "spec": {
            "policyRef": "p",
            "model": {"name": "chat", "version": "1", "modalities": ["Text"]},
            "training": {"namespace": "train", "podSelector": {"matchLabels": {"role": "trainer"}},
                         "dataVolumes": ["corpus"]},
            "inference": {"namespace": "serve", "podSelector": {"matchLabels": {"app": "chat"}},
                          "workloads": [{"kind": "Deployment", "name": "chat"}], "service": "chat", "port": 8000}
        }
    })
}
