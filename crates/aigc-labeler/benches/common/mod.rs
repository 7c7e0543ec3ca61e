//! Shared by the labeler benchmarks: the sidecar as a process of its own, CPU pinning with
//! `taskset`, and what /proc says of a process.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_model_server::free_port;

pub const BIN: &str = env!("CARGO_BIN_EXE_aigc-labeler");

pub struct Sidecar {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `taskset` runs here and there are at least two CPUs to share out.
pub fn can_pin() -> bool {
    let two = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let taskset = Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    two && taskset
}

/// How the two CPUs are shared between this process (load generator and model server) and the
/// sidecar. `split` (the default, with `taskset` and at least two CPUs): this process on CPU 0,
/// the sidecar on CPU 1, as when the sidecar container has a CPU of its own in the pod.
/// `shared` (`LABELER_BENCH_CPUS=shared`): all of them on every CPU, the worst case.
pub fn split_cpus() -> bool {
    let wanted = std::env::var("LABELER_BENCH_CPUS").map_or(true, |v| v != "shared");
    wanted && can_pin()
}

/// Pins this process to `cpus` (a `taskset` list). Call it before any runtime starts, so
/// every thread made afterwards inherits it.
pub fn pin_self(cpus: &str) {
    let pinned = Command::new("taskset")
        .args(["-cp", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(pinned, "taskset could not pin the load generator to {cpus}");
}

/// `LABELER_BENCH_NICE`: a niceness for this process and the sidecars it starts (negative needs root),
/// to keep other work on a shared machine from taking their CPU time.
pub fn niceness() -> Option<i32> {
    let value = std::env::var("LABELER_BENCH_NICE").ok()?;
    Some(
        value
            .trim()
            .parse()
            .expect("LABELER_BENCH_NICE is a number"),
    )
}

/// Gives this process the niceness of `LABELER_BENCH_NICE`, if set. Call it before any
/// runtime starts, so every thread made afterwards inherits it.
pub fn renice_self() {
    if let Some(nice) = niceness() {
        let reniced = Command::new("renice")
            .args([
                "-n",
                &nice.to_string(),
                "-p",
                &std::process::id().to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(reniced, "renice could not set the niceness {nice}");
    }
}

/// Starts the sidecar binary in front of `upstream`, on the CPUs `cpus` (a `taskset` list;
/// `None`: every CPU), with `extra` flags and environment, and waits until it listens.
pub fn start_sidecar_with(
    binary: &Path,
    upstream: SocketAddr,
    cpus: Option<&str>,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Sidecar {
    let dir = std::env::temp_dir().join(format!("aigc-labeler-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, "bench-key-0123456789abcdef").unwrap();
    let (port, admin) = (free_port(), free_port());
    // `taskset` execs the binary: the sidecar keeps its process ID. It inherits this process's
    // niceness.
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    if let Some(cpus) = cpus {
        argv.extend(["taskset".into(), "-c".into(), cpus.into()]);
    }
    argv.push(binary.into());
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    let child = command
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--upstream", &format!("http://{upstream}")])
        .args(["--producer", "bench"])
        .arg("--key-file")
        .arg(&key)
        .args(extra)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("aigc-labeler starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "aigc-labeler did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Sidecar { child, addr }
}

/// The sidecar built with this benchmark, on CPU 1 when `split`, otherwise on every CPU.
pub fn start_sidecar(upstream: SocketAddr, split: bool, extra: &[&str]) -> Sidecar {
    let cpus = split.then_some("1");
    start_sidecar_with(Path::new(BIN), upstream, cpus, extra, &[])
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) a process has used, from /proc (clock ticks of 10 ms).
pub fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Time the threads of a process have spent runnable but waiting for a CPU (run-queue wait),
/// summed over its threads, from /proc/PID/task/*/schedstat. Threads that ended are missed.
pub fn run_queue_wait(pid: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Context switches (voluntary and not) of a process's threads, from /proc/PID/task/*/status.
pub fn context_switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
