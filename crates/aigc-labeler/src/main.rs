//! `aigc-labeler`: labels AI-generated content and checks prompts in front of a model server
//! (`serve`), and checks the labels of a file or saved response (`verify`).

use std::path::PathBuf;
use std::process::ExitCode;

use aigc_labeler::{self as labeler, config::ProxyArgs, record::Sealer, server};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "aigc-labeler",
    version,
    about = "Labels AI-generated content (GB 45438-2025) and checks prompts in front of a model server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy in front of the model server.
    Serve(Box<ProxyArgs>),
    /// Report the AIGC record of a file or saved response and whether its anti-tamper value
    /// matches. Exit code: 0 labeled (and intact, if a key is given), 1 missing or tampered,
    /// 2 unreadable.
    Verify {
        /// A PNG, JPEG, WAV or MP3 file, or a saved JSON or server-sent-event response; `-`
        /// reads standard input.
        path: PathBuf,
        /// The anti-tamper key, to check ReservedCode1.
        #[arg(long, env = "AIGC_LABELER_KEY_FILE")]
        key_file: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve(*args),
        Command::Verify {
            path,
            key_file,
            output,
        } => verify(&path, key_file.as_deref(), output),
    }
}

fn serve(args: ProxyArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if args.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let result = server::run(&args, shutdown_signal());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "aigc-labeler stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM (what the kubelet sends) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn verify(path: &std::path::Path, key_file: Option<&std::path::Path>, output: Output) -> ExitCode {
    let bytes = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let sealer = match key_file.map(labeler::read_key).transpose() {
        Ok(key) => key.map(|key| Sealer::new("", key)),
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match labeler::verify::verify(&bytes, sealer.as_ref()) {
        Ok(finding) => {
            match output {
                Output::Text => {
                    let mut out = String::new();
                    finding.render(&mut out, 0);
                    print!("{out}");
                }
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&finding).expect("findings serialize")
                ),
            }
            if finding.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}
