//! Scan benchmark: a measurement, not a timed test, so it is #[ignore]d. Run it with
//!
//!     cargo test --release --test bench -- --ignored --nocapture
//!
//! It starts 5,000 idle processes and 1,000 zombies (10 parents x 100), then times, side by
//! side in the same run: the floor (a minimal reader of /proc/*/stat written here), the
//! zombies scan in-process, `zombies list --format json`, `ps -e -o pid= -o stat=` and
//! `ps -eo pid,ppid,stat,comm | awk '$3 ~ /^Z/'`; it counts system calls with `strace -c -f`
//! (when strace is installed) and reports peak RSS. Everything it starts is killed and reaped.

mod common;

use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, fork};

const IDLE: usize = 5000;
const PARENTS: usize = 10;
const ZOMBIES_PER_PARENT: usize = 100;
const RUNS: usize = 15;

/// Idle children that only pause(); killed and reaped on Drop.
struct Idle(Vec<i32>);

impl Idle {
    fn spawn(n: usize) -> Idle {
        become_subreaper();
        let mut pids = Vec::with_capacity(n);
        for _ in 0..n {
            // SAFETY: the child only calls pause() until it is killed.
            match unsafe { fork() }.expect("fork") {
                ForkResult::Child => loop {
                    unsafe { libc::pause() };
                },
                ForkResult::Parent { child } => pids.push(child.as_raw()),
            }
        }
        Idle(pids)
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        for &p in &self.0 {
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        for &p in &self.0 {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p), None);
        }
    }
}

/// The floor: open /proc once, then per process openat("PID/stat"), one read, close.
fn floor_scan() -> usize {
    let dir = openat(
        nix::fcntl::AT_FDCWD,
        "/proc",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let mut zombies = 0;
    let mut buf = [0u8; 1024];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        let b = name.as_encoded_bytes();
        if !b.first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let path = format!("{}/stat", name.to_string_lossy());
        let Ok(fd) = openat(
            dir.as_fd(),
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        let n = nix::unistd::read(&fd, &mut buf).unwrap_or(0);
        if let Some(close) = buf[..n].iter().rposition(|&c| c == b')') {
            if buf.get(close + 2) == Some(&b'Z') {
                zombies += 1;
            }
        }
    }
    zombies
}

/// The zombies library doing what `list --format json` does, minus process start-up.
fn zombies_scan() -> usize {
    let fs = zombies::proc::ProcFs::open(std::path::Path::new("/proc")).unwrap();
    let snap = fs.scan().unwrap();
    let ctx = zombies::diagnose::Context::current(&snap);
    let diag = zombies::diagnose::diagnose(&snap, &ctx, &mut Default::default());
    let mut sink = Vec::new();
    zombies::report::json::write(&mut sink, &diag).unwrap();
    diag.summary.zombies
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_fn(f: impl Fn() -> usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        found = f();
        times.push(t.elapsed());
    }
    (median(times), found)
}

/// Median wall time of a command, and the peak RSS (KiB) of its largest process.
#[expect(
    clippy::zombie_processes,
    reason = "reaped with wait4, which also gives its rusage"
)]
fn time_cmd(argv: &[&str]) -> (Duration, i64) {
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // wait4 gives this child's own rusage (peak RSS).
        unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        times.push(t.elapsed());
        rss = rss.max(usage.ru_maxrss);
    }
    (median(times), rss)
}

/// Total system calls of a command and its children, from `strace -c -f`.
fn syscalls(argv: &[&str]) -> Option<u64> {
    let out = std::env::temp_dir().join(format!("zombies-bench-strace-{}", std::process::id()));
    let status = Command::new("strace")
        .args(["-c", "-f", "-o"])
        .arg(&out)
        .args(argv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    if std::env::var_os("BENCH_STRACE_TABLE").is_some() {
        println!("{}", text.as_deref().unwrap_or(""));
    }
    if !status.success() {
        return None;
    }
    // The "total" line: "100.00    0.012345   2  12345   17 total"; calls is the 4th field.
    text?
        .lines()
        .find(|l| l.trim_end().ends_with("total"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn scan_benchmark() {
    let _idle = Idle::spawn(IDLE);
    let _parents: Vec<ZombieParent> = (0..PARENTS)
        .map(|_| {
            ZombieParent::spawn(Spec {
                zombies: ZOMBIES_PER_PARENT,
                ..Spec::default()
            })
        })
        .collect();
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes()[0].is_ascii_digit())
        .count();
    let bin = env!("CARGO_BIN_EXE_zombies");

    let (floor, fz) = time_fn(floor_scan);
    let (lib, lz) = time_fn(zombies_scan);
    assert!(fz >= PARENTS * ZOMBIES_PER_PARENT && lz >= PARENTS * ZOMBIES_PER_PARENT);
    let (list, list_rss) = time_cmd(&[bin, "list", "--format", "json"]);
    let (ps, _) = time_cmd(&["ps", "-e", "-o", "pid=", "-o", "stat="]);
    let (awk, _) = time_cmd(&["sh", "-c", "ps -eo pid,ppid,stat,comm | awk '$3 ~ /^Z/'"]);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    println!();
    println!(
        "{processes} processes in /proc, {} zombies under {PARENTS} parents; median of {RUNS} runs",
        lz
    );
    println!("{:<48} {:>9} {:>8}", "what", "ms", "ratio");
    println!(
        "{:<48} {:>9.2} {:>8}",
        "floor: minimal /proc/*/stat reader (in-process)",
        ms(floor),
        "1.00"
    );
    println!(
        "{:<48} {:>9.2} {:>7.2}x",
        "zombies scan+diagnose+json (in-process)",
        ms(lib),
        ms(lib) / ms(floor)
    );
    println!(
        "{:<48} {:>9.2} {:>7.2}x",
        "zombies list --format json",
        ms(list),
        ms(list) / ms(floor)
    );
    println!(
        "{:<48} {:>9.2} {:>7.2}x",
        "ps -e -o pid= -o stat=",
        ms(ps),
        ms(ps) / ms(floor)
    );
    println!(
        "{:<48} {:>9.2} {:>7.2}x",
        "ps -eo pid,ppid,stat,comm | awk",
        ms(awk),
        ms(awk) / ms(floor)
    );
    println!(
        "zombies list vs ps: {:.2}x; vs ps | awk: {:.2}x",
        ms(list) / ms(ps),
        ms(list) / ms(awk)
    );
    println!(
        "peak RSS of zombies list: {:.1} MiB",
        list_rss as f64 / 1024.0
    );
    match syscalls(&[bin, "list", "--format", "json"]) {
        Some(n) => {
            let zombies = (PARENTS * ZOMBIES_PER_PARENT) as f64;
            let budget = 3.1 * processes as f64 + 3.0 * zombies + 6.0 * PARENTS as f64;
            println!(
                "system calls (strace -c -f): {n} = {:.3} per process; budget 3.1/process + 3/zombie + 6/parent = {budget:.0}",
                n as f64 / processes as f64
            );
        }
        None => println!("system calls: strace not available (apt-get install strace)"),
    }
}
