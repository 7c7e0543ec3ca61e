//! The command line: the operator (`run`), the offline check of manifests (`check`), and the
//! CRD generator (`crd`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::{catalog::Lang, check, controller, crdgen};
use clap::{Parser, Subcommand, ValueEnum};
use k8s_openapi::jiff::Timestamp;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "model-compliance-operator",
    version,
    about = "Compliance status and controls for general-purpose large models on Kubernetes"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate ModelDeployments in manifest files against their policies and print the
    /// Annex A obligation table. Exit code: 0 acceptable, 1 risk above acceptance, 2 bad input.
    Check {
        /// Files or folders to read (every .yaml/.yml below a folder, multi-document).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = check::Format::Table)]
        output: check::Format,
        /// Language of the table's labels.
        #[arg(long, value_enum, default_value_t = LangArg::En)]
        lang: LangArg,
        /// Evaluate as of this instant (RFC 3339) instead of now, for reproducible reports.
        #[arg(long)]
        now: Option<Timestamp>,
    },
    /// Run the operator against the cluster of the current kubeconfig or service account.
    Run {
        /// Reconciles running at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// Address of the /healthz, /readyz and /metrics endpoints.
        #[arg(long, default_value = "0.0.0.0:8080")]
        http_addr: std::net::SocketAddr,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        json_logs: bool,
        /// Exit with an error if the caches have not filled within this time (e.g. `5m`;
        /// `0` waits for ever), so that Kubernetes restarts a start that cannot complete.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        cache_sync_timeout: std::time::Duration,
        /// How long reconciles in flight may take to finish after SIGTERM.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        shutdown_timeout: std::time::Duration,
        /// Serve only the ModelDeployments (and read only the ComplianceEvidence) of this
        /// namespace. Several operators can split a cluster this way.
        #[arg(long)]
        namespace: Option<String>,
        /// Serve only the ModelDeployments matching this label selector (e.g.
        /// `shard=a` or `tier in (gold,silver)`).
        #[arg(long)]
        selector: Option<String>,
        /// Reconcile only while holding a Lease, so that of several replicas exactly one
        /// reconciles; the others stand by and take over when it stops or loses the lease.
        #[arg(long)]
        leader_elect: bool,
        /// Name of the Lease. Operators that split a cluster need one each.
        #[arg(long, default_value = "model-compliance-operator")]
        lease_name: String,
        /// Namespace of the Lease (default: `POD_NAMESPACE`, the operator's own).
        #[arg(long, env = "POD_NAMESPACE")]
        lease_namespace: Option<String>,
        /// How long the lease lasts without renewal: the longest a standby waits after a
        /// leader vanished without releasing it.
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        lease_duration: std::time::Duration,
    },
    /// Write the CustomResourceDefinitions generated from the types, by default both to
    /// `crds/` and to the Helm chart's `crds/`.
    Crd {
        /// Folder to write them to; repeat for several.
        #[arg(long = "dir", default_values = crdgen::FOLDERS)]
        dirs: Vec<PathBuf>,
        /// Do not write; fail if the files in any folder differ from the generated ones.
        #[arg(long)]
        check: bool,
    },
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM and SIGINT");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "shutting down");
    shutdown.cancel();
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    En,
    Zh,
}

impl Cli {
    /// Reads the arguments and runs the command; usage errors exit with code 2.
    pub fn parse_and_run() -> ExitCode {
        match Cli::try_parse() {
            Ok(cli) => cli.run(),
            Err(e) => {
                let _ = e.print();
                ExitCode::from(if e.use_stderr() {
                    check::exit::INPUT
                } else {
                    0
                })
            }
        }
    }

    fn run(self) -> ExitCode {
        match self.command {
            Command::Check {
                paths,
                output,
                lang,
                now,
            } => {
                let lang = match lang {
                    LangArg::En => Lang::En,
                    LangArg::Zh => Lang::Zh,
                };
                let (out, errors, code) =
                    check::run(&paths, output, lang, now.unwrap_or_else(Timestamp::now));
                for e in &errors {
                    eprintln!("{e}");
                }
                // A closed pipe (`| head`) is not an error of the check.
                let _ = std::io::stdout().write_all(out.as_bytes());
                ExitCode::from(code)
            }
            Command::Run {
                concurrency,
                http_addr,
                json_logs,
                cache_sync_timeout,
                shutdown_timeout,
                namespace,
                selector,
                leader_elect,
                lease_name,
                lease_namespace,
                lease_duration,
            } => {
                let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
                let logs = tracing_subscriber::fmt().with_env_filter(filter);
                if json_logs {
                    logs.json().init();
                } else {
                    logs.init();
                }
                let leader_election = match (leader_elect, lease_namespace) {
                    (false, _) => None,
                    (true, Some(namespace)) => Some(controller::leader::LeaderElection {
                        lease_name,
                        namespace,
                        identity: controller::leader::LeaderElection::default_identity(),
                        lease_duration,
                    }),
                    (true, None) => {
                        eprintln!(
                            "error: --leader-elect needs the Lease's namespace: --lease-namespace or POD_NAMESPACE"
                        );
                        return ExitCode::from(check::exit::INPUT);
                    }
                };
                let options = controller::Options {
                    leader_election,
                    concurrency,
                    cache_sync_timeout: (!cache_sync_timeout.is_zero())
                        .then_some(cache_sync_timeout),
                    shutdown_timeout,
                    scope: controller::stores::Scope {
                        namespace,
                        selector,
                    },
                    ..controller::Options::new(http_addr)
                };
                let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
                let result = runtime.block_on(async {
                    let shutdown = CancellationToken::new();
                    tokio::spawn(cancel_on_signal(shutdown.clone()));
                    let client = kube::Client::try_default().await?;
                    controller::run(client, options, shutdown).await?;
                    anyhow::Ok(())
                });
                // Whatever still runs (a DNS lookup on a blocking thread) must not hold the exit.
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
                match result {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        tracing::error!(error = %e, "operator stopped");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Crd { dirs, check } => {
                if check {
                    let stale: Vec<PathBuf> = dirs.iter().flat_map(|d| crdgen::stale(d)).collect();
                    for file in &stale {
                        eprintln!(
                            "error: {} is not what `model-compliance-operator crd` generates; run it and commit",
                            file.display()
                        );
                    }
                    return if stale.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    };
                }
                for dir in &dirs {
                    match crdgen::write_all(dir) {
                        Ok(written) => {
                            for path in written {
                                println!("wrote {}", path.display());
                            }
                        }
                        Err(e) => {
                            eprintln!("error: cannot write CRDs to {}: {e}", dir.display());
                            return ExitCode::FAILURE;
                        }
                    }
                }
                ExitCode::SUCCESS
            }
        }
    }
}
