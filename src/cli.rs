//! The command line: the operator (`run`), the offline check of manifests (`check`), the
//! report of a cluster (`report`), and the CRD generator (`crd`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::view::terminal::{Layout, Terminal};
use crate::{catalog::Lang, check, controller, crdgen, report, view};
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
        #[command(flatten)]
        show: Show,
    },
    /// Read the ModelDeployments, CompliancePolicies and ComplianceEvidence of a cluster and
    /// print, from the status the operator wrote, the fleet's summary and each deployment's
    /// Annex A table — the same table `check` prints for the same manifests — or with
    /// `--regulator` one deployment's dossier under row 42. Exit code: 0 acceptable, 1 risk
    /// above acceptance, 2 bad input or cluster unreachable.
    Report {
        /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster account).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Kubeconfig context (default: the current one).
        #[arg(long)]
        context: Option<String>,
        /// Namespace to read (default: the context's).
        #[arg(long, short = 'n', conflicts_with = "all_namespaces")]
        namespace: Option<String>,
        /// Read every namespace.
        #[arg(long, short = 'A')]
        all_namespaces: bool,
        /// Only ModelDeployments matching this label selector (e.g. `team=chat`).
        #[arg(long, short = 'l')]
        selector: Option<String>,
        /// Print the regulator's dossier (row 42) of this ModelDeployment (`name` or
        /// `namespace/name`) as Markdown, or HTML with `-o html`.
        #[arg(long, value_name = "DEPLOYMENT")]
        regulator: Option<String>,
        #[command(flatten)]
        show: Show,
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

/// How `check` and `report` show what they found.
#[derive(clap::Args)]
struct Show {
    /// Output format: `table` fits the terminal; `html` is one self-contained page.
    #[arg(long, short, value_enum, default_value_t = view::Format::Table)]
    output: view::Format,
    /// Language of the labels.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    lang: LangArg,
    /// Evaluate as of this instant (RFC 3339) instead of now, for reproducible reports.
    #[arg(long)]
    now: Option<Timestamp>,
    /// List evidence that lapses within this time (e.g. `30d`, `2w`).
    #[arg(long, default_value = "30d", value_parser = humantime::parse_duration)]
    expiring: std::time::Duration,
    /// Table: every row of every deployment, not only those not met.
    #[arg(long)]
    all_rows: bool,
    /// Table: all seven columns of every row, as wide as the text needs.
    #[arg(long)]
    wide: bool,
    /// Table: width in columns (default: COLUMNS, else the terminal's, else 100).
    #[arg(long)]
    width: Option<usize>,
}

impl Show {
    fn lang(&self) -> Lang {
        match self.lang {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }

    fn options(&self) -> view::Options {
        let layout = if self.wide {
            Layout::Wide
        } else if self.all_rows {
            Layout::AllRows
        } else {
            Layout::Compact
        };
        view::Options {
            format: self.output,
            lang: self.lang(),
            terminal: Terminal::for_stdout(self.width, layout),
        }
    }

    fn expiring_days(&self) -> i64 {
        i64::try_from(self.expiring.as_secs() / 86_400).unwrap_or(i64::MAX)
    }
}

/// Prints what a command found: problems to standard error, the rest to standard output.
fn print(out: &str, errors: &[String], code: u8) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    // A closed pipe (`| head`) is not an error of the command.
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::from(code)
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
            Command::Check { paths, show } => {
                let check = check::Check::new(
                    check::load(&paths),
                    show.now.unwrap_or_else(Timestamp::now),
                    show.expiring_days(),
                );
                for e in check::errors(&check) {
                    eprintln!("{e}");
                }
                // Written as it is rendered, one deployment at a time. A closed pipe
                // (`| head`) is not an error of the command.
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let _ = check
                    .render(&show.options(), &mut out)
                    .and_then(|()| out.flush());
                ExitCode::from(check.exit_code())
            }
            Command::Report {
                kubeconfig,
                context,
                namespace,
                all_namespaces,
                selector,
                regulator,
                show,
            } => {
                let output = match regulator {
                    Some(name) => match show.output {
                        view::Format::Table | view::Format::Markdown | view::Format::Html => {
                            report::Output::Dossier {
                                name,
                                html: show.output == view::Format::Html,
                                lang: show.lang(),
                            }
                        }
                        _ => {
                            eprintln!(
                                "error: --regulator prints Markdown or HTML (-o markdown, -o html)"
                            );
                            return ExitCode::from(check::exit::INPUT);
                        }
                    },
                    None => report::Output::Tables(show.options()),
                };
                let scope = report::Scope {
                    kubeconfig,
                    context,
                    namespace,
                    all_namespaces,
                    selector: selector.clone(),
                };
                let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
                let (out, errors, code) = runtime.block_on(async {
                    let (client, context, namespace) = match report::connect(&scope).await {
                        Ok(c) => c,
                        Err(e) => {
                            return (
                                String::new(),
                                vec![format!("error: cannot connect to the cluster: {e}")],
                                check::exit::INPUT,
                            );
                        }
                    };
                    let origin = view::Origin::Cluster {
                        context,
                        namespace,
                        selector,
                    };
                    report::run(
                        &client,
                        origin,
                        &output,
                        show.now.unwrap_or_else(Timestamp::now),
                        show.expiring_days(),
                    )
                    .await
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
                print(&out, &errors, code)
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
