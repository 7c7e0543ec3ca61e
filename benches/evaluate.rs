//! Benchmarks of the evaluation core and of `check`, printed as figures.
//!
//! `cargo bench --bench evaluate` prints: row evaluations per second over 10,000 generated
//! ModelDeployments; and `check` of a folder of those 10,000 deployments, run by the real
//! binary, against parsing the same files alone. Each run is a child process, its peak
//! resident memory read from the kernel when it ends (`wait4`), its time from start to exit,
//! its output written to a file.
//!
//! With `MCO_BENCH_BASELINE=/path/to/model-compliance-operator` (another build, e.g. of an
//! earlier commit) that binary's `check` is measured in the same run, side by side.

use std::path::{Path, PathBuf};
use std::time::Instant;

use k8s_openapi::jiff::Timestamp;
use model_compliance_operator::check::load;
use model_compliance_operator::evaluate::{Inputs, evaluate};

const DEPLOYMENTS: usize = 10_000;

fn now() -> Timestamp {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

/// Writes the example policy, workloads and evidence once, and `n` ModelDeployments made from
/// the compliant example, each in its own file and namespace-free name.
fn generate(dir: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("deployments")).unwrap();
    for shared in ["examples/policies", "examples/compliant"] {
        for entry in std::fs::read_dir(shared).unwrap().flatten() {
            let name = entry.file_name();
            if name != "modeldeployment.yaml" {
                std::fs::copy(
                    entry.path(),
                    dir.join(format!(
                        "{}-{}",
                        shared.replace('/', "-"),
                        name.to_string_lossy()
                    )),
                )
                .unwrap();
            }
        }
    }
    let template = std::fs::read_to_string("examples/compliant/modeldeployment.yaml").unwrap();
    for i in 0..n {
        let text = template.replacen("name: qwen-chat\n", &format!("name: qwen-chat-{i}\n"), 1);
        std::fs::write(
            dir.join("deployments").join(format!("mdep-{i:05}.yaml")),
            text,
        )
        .unwrap();
    }
}

/// Parsing alone, in this process: what `check` cannot do with less.
fn parse_only(dir: &Path) {
    let manifests = load(&[dir.to_owned()]);
    assert!(
        manifests.problems.is_empty(),
        "{:?}",
        &manifests.problems[..1]
    );
    assert_eq!(manifests.model_deployments.len(), DEPLOYMENTS);
    std::hint::black_box(&manifests);
}

/// One child run: wall time, peak resident memory (KiB) and bytes written to standard output.
struct Run {
    secs: f64,
    peak_kib: u64,
    bytes: u64,
}

/// Runs `program args` with standard output to a file, and waits for it with `wait4`, which
/// gives the child's own peak resident set size.
#[allow(unsafe_code)]
// The child is reaped by wait4, not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn measure(program: &Path, args: &[&str], out: &Path) -> Run {
    let start = Instant::now();
    let child = std::process::Command::new(program)
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for the kernel to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which `child` never waits for (it is only dropped).
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WEXITSTATUS(status);
    // 1: a deployment's risk is not acceptable, which is a finished check.
    assert!(
        libc::WIFEXITED(status) && code <= 1,
        "{} {args:?} failed: status {status}",
        program.display()
    );
    Run {
        secs,
        peak_kib: usage.ru_maxrss as u64,
        bytes: std::fs::metadata(out).map(|m| m.len()).unwrap_or(0),
    }
}

/// The better of `n` runs (the shortest; the peak memory of that run).
fn best(n: usize, mut run: impl FnMut() -> Run) -> Run {
    (0..n)
        .map(|_| run())
        .min_by(|a, b| a.secs.total_cmp(&b.secs))
        .unwrap()
}

fn core_throughput(dir: &Path) {
    let manifests = load(&[dir.to_owned()]);
    let policy = &manifests.policies[0].object;
    let evidence: Vec<_> = manifests
        .evidence
        .iter()
        .map(|e| e.object.clone())
        .collect();
    let mut rows = 0usize;
    let start = Instant::now();
    for d in &manifests.model_deployments {
        let e = evaluate(Inputs {
            policy,
            deployment: &d.object,
            evidence: &evidence,
            snapshot: &manifests.snapshot,
            now: now(),
        });
        rows += e.decisions.len();
        std::hint::black_box(&e);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "evaluation core: {} deployments, {rows} row decisions in {secs:.3} s = {:.0} rows/s ({:.1} µs per deployment)",
        manifests.model_deployments.len(),
        rows as f64 / secs,
        secs * 1e6 / manifests.model_deployments.len() as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--parse-only") {
        parse_only(Path::new(&args[i + 1]));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` runs benches only with --benches.
    let dir: PathBuf = std::env::temp_dir().join("mco-bench-manifests");
    generate(&dir, DEPLOYMENTS);
    core_throughput(&dir);
    let out = std::env::temp_dir().join("mco-bench-output");
    let dir_arg = dir.to_str().unwrap();
    let me = std::env::current_exe().unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_model-compliance-operator"));
    let baseline = std::env::var_os("MCO_BENCH_BASELINE").map(PathBuf::from);
    const RUNS: usize = 3;
    let parse = best(RUNS, || measure(&me, &["--parse-only", dir_arg], &out));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "check over {DEPLOYMENTS} deployments, best of {RUNS}; parse only: {:.2} s, peak {:.0} MiB",
        parse.secs,
        mib(parse.peak_kib)
    );
    println!(
        "{:<8} {:<9} {:>8} {:>10} {:>13} {:>10}",
        "format", "binary", "time s", "peak MiB", "peak / parse", "output MB"
    );
    for format in ["json", "html", "table"] {
        let args = [
            "check",
            dir_arg,
            "--output",
            format,
            "--now",
            "2026-12-01T00:00:00Z",
        ];
        let mut runs = vec![("this", &binary)];
        if let Some(b) = &baseline {
            runs.insert(0, ("baseline", b));
        }
        for (label, program) in runs {
            let r = best(RUNS, || measure(program, &args, &out));
            println!(
                "{format:<8} {label:<9} {:>8.2} {:>10.0} {:>12.2}x {:>10.1}",
                r.secs,
                mib(r.peak_kib),
                r.peak_kib as f64 / parse.peak_kib as f64,
                r.bytes as f64 / 1e6
            );
        }
    }
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(&dir);
}
