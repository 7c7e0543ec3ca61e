//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas exactly
//! one reconciles. The lease is taken and renewed with server-side apply under a field
//! manager per replica (kube-lease-manager): a replica can only take it over once the
//! holder's lease has expired, and two replicas that try at once conflict instead of both
//! winning. A leader that loses its lease stops reconciling at once: `run` returns and the
//! process exits, to start again as a standby. On shutdown the lease is released, so that a
//! standby takes over without waiting for it to expire.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff;
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the lease is held.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    /// Name of the Lease; operators that split a cluster need one each.
    pub lease_name: String,
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// Who holds it: the pod name.
    pub identity: String,
    /// How long a lease lasts without renewal: the longest a standby waits after the leader
    /// vanished without releasing it.
    pub lease_duration: Duration,
}

impl LeaderElection {
    /// The identity of this process when none is given: `POD_NAME`, else host and pid.
    pub fn default_identity() -> String {
        std::env::var("POD_NAME").unwrap_or_else(|_| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "localhost".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// This process's part in the election, while it lasts.
pub struct Campaign {
    leading: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
    identity: String,
    lease: Api<Lease>,
    lease_name: String,
    lease_duration: Duration,
}

/// Starts campaigning for the lease; the returned [`Campaign`] says when this process leads.
pub async fn campaign(
    client: Client,
    election: &LeaderElection,
) -> Result<Campaign, kube_lease_manager::LeaseManagerError> {
    let seconds = election.lease_duration.as_secs().max(2);
    let manager = LeaseManagerBuilder::new(client.clone(), &election.lease_name)
        .with_namespace(&election.namespace)
        .with_identity(&election.identity)
        .with_duration(seconds)
        // Renewed when a third of the lease is left.
        .with_grace((seconds / 3).max(1))
        .with_field_manager(format!("model-compliance-operator-{}", election.identity))
        .build()
        .await?;
    let (leading, task) = manager.watch().await;
    tracing::info!(
        lease = %election.lease_name,
        namespace = %election.namespace,
        identity = %election.identity,
        "standing for leader"
    );
    Ok(Campaign {
        leading,
        task,
        identity: election.identity.clone(),
        lease: Api::namespaced(client, &election.namespace),
        lease_name: election.lease_name.clone(),
        lease_duration: Duration::from_secs(seconds),
    })
}

impl Campaign {
    /// Waits until this process holds the lease. False when the campaign ended without it.
    pub async fn elected(&mut self) -> bool {
        let elected = self.leading.wait_for(|leading| *leading).await.is_ok();
        if elected {
            tracing::info!(identity = %self.identity, "elected leader");
        }
        elected
    }

    /// Waits until this process no longer holds the lease: another holder took it, or the
    /// lease expired without a renewal this process could confirm (the API unreachable). The
    /// Lease is read every tenth of its duration, so a leader that cannot renew stops before
    /// a standby can take over.
    pub async fn deposed(&self) {
        let mut leading = self.leading.clone();
        let why = tokio::select! {
            _ = leading.wait_for(|leading| !*leading) => "another replica holds the lease".to_owned(),
            why = self.fence() => why,
        };
        tracing::error!(identity = %self.identity, %why, "lost the lease");
    }

    async fn fence(&self) -> String {
        let every = self.lease_duration / 10;
        let mut confirmed = std::time::Instant::now();
        loop {
            tokio::time::sleep(every).await;
            match self.lease.get(&self.lease_name).await {
                Ok(lease) => {
                    let spec = lease.spec.unwrap_or_default();
                    if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                        return format!(
                            "the lease is held by {}",
                            spec.holder_identity.as_deref().unwrap_or("nobody")
                        );
                    }
                    let renewed = spec.renew_time.map(|t| t.0);
                    let lasts = jiff::SignedDuration::from_secs(
                        spec.lease_duration_seconds.unwrap_or(0).into(),
                    );
                    let expired = renewed.is_none_or(|at| at + lasts < jiff::Timestamp::now());
                    if expired {
                        return "the lease expired without renewal".to_owned();
                    }
                    confirmed = std::time::Instant::now();
                }
                Err(e) if confirmed.elapsed() + every >= self.lease_duration => {
                    return format!("cannot confirm the lease: {e}");
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the lease"),
            }
        }
    }

    /// Gives the lease up (if held) so that a standby takes over at once; waits at most
    /// `within` for the API to confirm.
    pub async fn resign(self, within: Duration) {
        let Campaign { leading, task, .. } = self;
        // Closing the channel makes the manager's task release the lease and end.
        drop(leading);
        match tokio::time::timeout(within, task).await {
            Ok(Ok(Ok(_))) => tracing::info!("lease released"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "could not release the lease"),
            Ok(Err(e)) => tracing::warn!(error = %e, "lease task failed"),
            Err(_) => tracing::warn!(?within, "the lease was not released in time"),
        }
    }
}
