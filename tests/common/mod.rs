//! Shared test helpers: [`TestEnv`] (one environment per test: its files, its PID namespace,
//! its fake procfs, its zombies, and assertions on what the binary did), a `zombies` command
//! with a scrubbed environment, the tests' own small /proc reader, and guards that create real
//! zombies and clean every process up on Drop (also when an assertion fails).
// Each test file is its own crate and uses some of these helpers, never all.
#![allow(dead_code, unused_imports)]

mod env;
mod fakeproc;
mod fakesys;
mod pidns;
mod procfs;
#[cfg(target_arch = "x86_64")]
pub mod trace;

pub use env::{Cmd, Exit, Run, TestEnv};
pub use fakeproc::{FakeProc, NO_SIGNALS, SIGCHLD_MASK};
pub use fakesys::{FakePods, FakeSys};
pub use pidns::{Holder, PidNs, holders, unshare};
pub use procfs::*;

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// The binary under test: the one cargo built, or `$ZOMBIES_BIN` where the tests run away from
/// the build tree (the kernel matrix's VM, .ci/kernel-matrix).
pub fn bin() -> PathBuf {
    std::env::var_os("ZOMBIES_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_zombies")))
}

/// The binary under test, with an environment that cannot leak the developer's settings in.
pub fn zombies() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_clear();
    for keep in ["PATH", "HOME", "USER", "LANG"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    // The machine's own ignore list and check state must not change what a test sees (or be
    // written by one); tests that need them pass --ignore-file / --state explicitly. The state
    // path lies under /dev/null, where no directory can ever be created.
    cmd.env(
        "ZOMBIES_IGNORE_FILE",
        "/nonexistent/zombies-tests/ignore.toml",
    );
    cmd.env("ZOMBIES_STATE", "/dev/null/zombies-tests/check-state.json");
    cmd
}

/// A private temporary directory, removed on Drop (also when an assertion fails).
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/zombies-test-TAG-PID-N`, created empty.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zombies-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A path inside it, as a command-line argument.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd`, killing it and failing the test if it takes longer than `limit`: for commands
/// that a defect could leave blocked for ever.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Writes `wait-zombies` into `dir` and returns its path: `wait-zombies PID N` returns once PID
/// has N zombie children (polling /proc every 10 ms, for at most 10 s), so that a shell
/// scenario waits for the event itself instead of sleeping a fixed time. A name with `) ` in it
/// cannot fool it: the state is what follows the last `) ` of the stat line.
pub fn wait_zombies_script(dir: &TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path("wait-zombies");
    std::fs::write(
        &path,
        r#"#!/bin/sh
i=0
while [ $i -lt 1000 ]; do
    n=0
    for c in $(cat /proc/$1/task/$1/children 2>/dev/null); do
        s=$(cat /proc/$c/stat 2>/dev/null) || continue
        case "${s##*) }" in Z*) n=$((n + 1)) ;; esac
    done
    [ $n -ge $2 ] && exit 0
    sleep 0.01
    i=$((i + 1))
done
echo "wait-zombies: $1 did not get $2 zombie children" >&2
exit 1
"#,
    )
    .expect("write wait-zombies");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Runs a command, returning its output; fails the test on spawn errors.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run zombies")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `zombies ARGS --format json` style commands and parses stdout as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let out = run(zombies().args(args));
    assert!(
        out.status.success(),
        "zombies {args:?} failed: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("zombies {args:?}: bad JSON ({e}): {}", stdout(&out)))
}

/// Makes this test process a child subreaper, once: orphans of the processes the tests start
/// come back to us and are reaped by the guards, not left to a PID 1 that reaps lazily.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    });
}

/// Polls `cond` every 5 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What the parent of the test zombies does with SIGCHLD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sigchld {
    /// SIG_DFL and never waits.
    Default,
    /// A handler that reaps every child, installed after the children died (so they wait for
    /// the next SIGCHLD: the case `fix --signal-parent` clears).
    CaughtReaps,
    /// A handler that does nothing.
    CaughtNoReap,
    /// A reaping handler, but SIGCHLD blocked: the signal stays pending.
    Blocked,
    /// SIG_IGN, set after the children died (Linux does not reap the older zombies).
    Ignored,
}

/// How to build a parent holding zombies.
#[derive(Clone, Debug)]
pub struct Spec {
    pub sigchld: Sigchld,
    pub zombies: usize,
    /// Exit code of each zombie; `None` kills it with SIGKILL instead.
    pub exit_code: Option<i32>,
    /// Stop the parent (state T) once the zombies exist.
    pub stopped: bool,
    /// Name the zombies this (PR_SET_NAME; 15 bytes at most).
    pub name: Option<&'static CStr>,
    /// Reap them when this signal arrives (a parent that waits a little late, at a moment the
    /// test chooses).
    pub reap_on: Option<Signal>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            sigchld: Sigchld::Default,
            zombies: 1,
            exit_code: Some(3),
            stopped: false,
            name: None,
            reap_on: None,
        }
    }
}

/// A live parent process (a fork of the test) holding real zombies. Drop kills the parent
/// and reaps it and its zombies (which come back to us as the subreaper).
pub struct ZombieParent {
    pub pid: i32,
    pub zombies: Vec<i32>,
}

extern "C" fn reap_all(_: libc::c_int) {
    // SAFETY: waitpid is async-signal-safe.
    unsafe { while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {} }
}

extern "C" fn do_nothing(_: libc::c_int) {}

fn install(handler: SigHandler) {
    let sa = signal::SigAction::new(handler, signal::SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handlers above only make async-signal-safe calls.
    unsafe { signal::sigaction(Signal::SIGCHLD, &sa) }.expect("sigaction");
}

impl ZombieParent {
    pub fn spawn(spec: Spec) -> ZombieParent {
        become_subreaper();
        // CLOEXEC keeps the pipe out of programs other tests exec. Forks by other test threads
        // still inherit the write end, so the reader never waits for EOF: it reads exactly
        // one record per zombie and a 0 that means "ready", with a deadline.
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // SAFETY: the child makes only async-signal-safe calls (and glibc's malloc is
        // fork-safe) before it sleeps forever in pause().
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                drop(rd);
                child_main(&spec, wr)
            }
            ForkResult::Parent { child } => {
                drop(wr);
                let mut zombies = Vec::new();
                let ready = read_records(&rd, Duration::from_secs(10), |pid| zombies.push(pid));
                if !ready {
                    kill_and_reap(child.as_raw());
                    panic!("zombie helper {child} did not report ready in time");
                }
                let guard = ZombieParent {
                    pid: child.as_raw(),
                    zombies,
                };
                assert_eq!(
                    guard.zombies.len(),
                    spec.zombies,
                    "helper did not make its zombies"
                );
                // "Ready" is written just before the parent stops or sleeps in pause(): wait
                // until it has, so tests never see it still running (state R).
                let settled = if spec.stopped { 'T' } else { 'S' };
                assert!(
                    wait_until(Duration::from_secs(5), || proc_state(guard.pid)
                        == Some(settled)),
                    "parent {} did not reach state {settled}",
                    guard.pid
                );
                guard
            }
        }
    }

    /// Whether zombie `pid` is still there.
    pub fn is_zombie(pid: i32) -> bool {
        proc_state(pid) == Some('Z')
    }
}

fn child_main(spec: &Spec, wr: OwnedFd) -> ! {
    // Start from a known disposition: the test harness may have changed it.
    install(SigHandler::SigDfl);
    if spec.sigchld == Sigchld::Blocked {
        install(SigHandler::Handler(reap_all));
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        let _ = signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    }
    if spec.sigchld == Sigchld::CaughtNoReap {
        install(SigHandler::Handler(do_nothing));
    }
    for _ in 0..spec.zombies {
        // SAFETY: the grandchild only sets its name and exits.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => unsafe {
                if let Some(name) = spec.name {
                    libc::prctl(libc::PR_SET_NAME, name.as_ptr());
                }
                match spec.exit_code {
                    Some(code) => libc::_exit(code),
                    None => {
                        libc::kill(libc::getpid(), libc::SIGKILL);
                        libc::_exit(127)
                    }
                }
            },
            Ok(ForkResult::Parent { child }) => {
                // Wait until it is a zombie, without reaping it (WNOWAIT).
                let _ = nix::sys::wait::waitid(
                    nix::sys::wait::Id::Pid(child),
                    WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
                );
                let _ = nix::unistd::write(&wr, &child.as_raw().to_ne_bytes());
            }
            Err(_) => unsafe { libc::_exit(1) },
        }
    }
    if let Some(sig) = spec.reap_on {
        let sa = signal::SigAction::new(
            SigHandler::Handler(reap_all),
            signal::SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: reap_all only calls waitpid, which is async-signal-safe.
        let _ = unsafe { signal::sigaction(sig, &sa) };
    }
    match spec.sigchld {
        Sigchld::CaughtReaps => install(SigHandler::Handler(reap_all)),
        Sigchld::Ignored => install(SigHandler::SigIgn),
        _ => {}
    }
    let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
    drop(wr);
    unsafe {
        if spec.stopped {
            // A group of its own: when a group holding a stopped process is orphaned, the
            // kernel sends SIGHUP to the whole group, which must not be the test runner's.
            libc::setpgid(0, 0);
            libc::raise(libc::SIGSTOP);
        }
        loop {
            libc::pause();
        }
    }
}

impl Drop for ZombieParent {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
        for &z in &self.zombies {
            // They are ours now (subreaper), or already reaped by their parent's handler.
            let _ = waitpid(Pid::from_raw(z), None);
        }
    }
}

/// A shell script run as a child of the test, which ends up holding `zombies` zombies (its
/// background jobs that exit, when it never waits). Drop kills it and reaps it and its zombies
/// (adopted by us, the subreaper), also when an assertion fails.
pub struct ShParent {
    child: std::process::Child,
    pub pid: i32,
    pub zombies: Vec<i32>,
}

impl ShParent {
    /// `sh -c SCRIPT`, once it holds `zombies` zombies.
    pub fn spawn(script: &str, zombies: usize) -> ShParent {
        ShParent::spawn_under(&[], script, zombies)
    }

    /// `WRAPPER... sh -c SCRIPT` (e.g. setpriv, which execs the shell in its place).
    pub fn spawn_under(wrapper: &[&str], script: &str, zombies: usize) -> ShParent {
        use std::os::unix::process::CommandExt;
        become_subreaper();
        let argv: Vec<&str> = wrapper
            .iter()
            .copied()
            .chain(["sh", "-c", script])
            .collect();
        // A process group of its own: scripts may stop themselves, and when a group holding a
        // stopped process is orphaned the kernel sends SIGHUP to the whole group, which must
        // not be the test runner's (in CI's VM it killed the runner's shell).
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let pid = child.id() as i32;
        let mut guard = ShParent {
            child,
            pid,
            zombies: Vec::new(),
        };
        let ok = wait_until(Duration::from_secs(5), || {
            guard.zombies = zombie_children(pid);
            guard.zombies.len() == zombies
        });
        assert!(ok, "{argv:?}: no {zombies} zombies under {pid}");
        guard
    }
}

impl Drop for ShParent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for &z in &self.zombies {
            // Ours now (subreaper), or already reaped.
            if proc_ppid(z) == Some(std::process::id() as i32) {
                let _ = waitpid(Pid::from_raw(z), None);
            }
        }
    }
}

/// Reads 4-byte PIDs from `rd`, handing each to `each`, until a 0 ("ready"); false when the
/// deadline passes or the writer dies first.
fn read_records(rd: &OwnedFd, deadline: Duration, mut each: impl FnMut(i32)) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let start = Instant::now();
    let mut buf = Vec::new();
    loop {
        while buf.len() >= 4 {
            let pid = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            buf.drain(..4);
            if pid == 0 {
                return true;
            }
            each(pid);
        }
        let left = deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            return false;
        }
        let ms =
            PollTimeout::try_from(left.as_millis().min(10_000) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(rd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, ms).unwrap_or(0) == 0 {
            continue;
        }
        let mut chunk = [0u8; 256];
        match nix::unistd::read(rd, &mut chunk) {
            Ok(0) | Err(_) => return false, // the helper died before saying ready
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Reaps `pid` if it is our child now (adopted by us, the subreaper); never waits for a PID
/// that is not ours.
pub fn reap_if_ours(pid: i32) {
    if proc_ppid(pid) == Some(std::process::id() as i32) {
        let _ = waitpid(Pid::from_raw(pid), None);
    }
}

/// SIGKILLs a child of this test and reaps it (no-op when already gone).
pub fn kill_and_reap(pid: i32) {
    let p = Pid::from_raw(pid);
    let _ = signal::kill(p, Signal::SIGKILL);
    let _ = waitpid(p, None);
}

/// A live process whose main thread has exited while a second thread runs (`ps` shows `Zl`).
pub struct ExitedLeader {
    pub pid: i32,
}

extern "C" fn sleeper(_: *mut libc::c_void) -> *mut libc::c_void {
    loop {
        unsafe { libc::pause() };
    }
}

impl ExitedLeader {
    pub fn spawn() -> ExitedLeader {
        become_subreaper();
        // SAFETY: the child creates one thread and ends its main thread; nothing else.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                let mut t: libc::pthread_t = std::mem::zeroed();
                libc::pthread_create(&mut t, std::ptr::null(), sleeper, std::ptr::null_mut());
                // Exit the main thread alone, without pthread_exit's unwinding through Rust.
                libc::syscall(libc::SYS_exit, 0);
                libc::_exit(1)
            },
            ForkResult::Parent { child } => {
                let pid = child.as_raw();
                assert!(
                    wait_until(Duration::from_secs(5), || proc_state(pid) == Some('Z')),
                    "main thread did not exit"
                );
                ExitedLeader { pid }
            }
        }
    }
}

impl Drop for ExitedLeader {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
    }
}

/// Whether the tests run as root (needed for PID namespaces and hidepid mounts).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fails at once, saying why, when a test that needs root runs without it. Such tests are
/// `#[ignore = "needs root"]`: a test that returned early would pass without testing. CI runs
/// them as root with `cargo test -- --ignored`.
pub fn needs_root() {
    assert!(
        is_root(),
        "this test needs root (a PID namespace, a mount, another user): run `cargo test -- --ignored` as root"
    );
}

/// A fresh PID namespace whose PID 1 is a real init: it reaps every child at once, as systemd
/// or tini do. Inside it, a parent (`parent`, a host PID) holds `zombies` zombies (host PIDs)
/// and never waits. Killing the parent hands its zombies to this init, which reaps them.
/// Needs root (CLONE_NEWPID). Drop kills the init, which ends the whole namespace, and reaps it.
pub struct ReapingInit {
    pub init: i32,
    pub parent: i32,
    pub zombies: Vec<i32>,
}

impl ReapingInit {
    pub fn spawn(zombies: usize) -> ReapingInit {
        become_subreaper();
        // Two pipes: the init's host PID comes from its forker, "ready" from the init's
        // child, and either may be written first.
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (ready_rd, ready_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // SAFETY: the children make only async-signal-safe calls (fork, unshare, write,
        // waitpid, pause, _exit) before they exit.
        let a = match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                drop(rd);
                drop(ready_rd);
                if libc::unshare(libc::CLONE_NEWPID) != 0 {
                    libc::_exit(1);
                }
                match fork() {
                    // PID 1 of the new namespace.
                    Ok(ForkResult::Child) => {
                        drop(wr);
                        reaping_init_main(zombies, ready_wr)
                    }
                    Ok(ForkResult::Parent { child }) => {
                        let _ = nix::unistd::write(&wr, &child.as_raw().to_ne_bytes());
                        let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
                        libc::_exit(0)
                    }
                    Err(_) => libc::_exit(1),
                }
            },
            ForkResult::Parent { child } => child,
        };
        drop(wr);
        drop(ready_wr);
        let mut pids = Vec::new();
        // The init's host PID, then 0.
        read_records(&rd, Duration::from_secs(10), |pid| pids.push(pid));
        let _ = waitpid(a, None);
        let Some(&init) = pids.first() else {
            panic!("the namespace's init did not start (unshare(CLONE_NEWPID) needs root)");
        };
        // From here on, Drop ends the namespace whatever fails.
        let mut guard = ReapingInit {
            init,
            parent: 0,
            zombies: Vec::new(),
        };
        // 0 once the parent's zombies exist.
        let ready = read_records(&ready_rd, Duration::from_secs(10), |_| {});
        assert!(
            ready,
            "the namespace's parent did not make its zombies in time"
        );
        guard.parent = *children_of(init).first().expect("the init's child");
        assert!(
            wait_until(Duration::from_secs(5), || proc_state(guard.parent)
                == Some('S')),
            "parent {} did not settle in pause()",
            guard.parent
        );
        guard.zombies = children_of(guard.parent);
        assert_eq!(guard.zombies.len(), zombies, "zombies of {}", guard.parent);
        guard
    }
}

/// PID 1 of the namespace: forks the parent, then reaps whatever comes, forever.
fn reaping_init_main(zombies: usize, wr: OwnedFd) -> ! {
    unsafe {
        match fork() {
            Ok(ForkResult::Child) => {
                for _ in 0..zombies {
                    match fork() {
                        Ok(ForkResult::Child) => libc::_exit(3),
                        Ok(ForkResult::Parent { child }) => {
                            let _ = nix::sys::wait::waitid(
                                nix::sys::wait::Id::Pid(child),
                                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
                            );
                        }
                        Err(_) => libc::_exit(1),
                    }
                }
                let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
                drop(wr);
                loop {
                    libc::pause();
                }
            }
            Ok(ForkResult::Parent { .. }) => {
                drop(wr);
                loop {
                    if libc::waitpid(-1, std::ptr::null_mut(), 0) < 0
                        && *libc::__errno_location() == libc::ECHILD
                    {
                        libc::pause();
                    }
                }
            }
            Err(_) => libc::_exit(1),
        }
    }
}

impl Drop for ReapingInit {
    fn drop(&mut self) {
        // SIGKILL to a namespace's init kills every process in it.
        kill_and_reap(self.init);
    }
}

/// The pidfds process `pid` holds open (`anon_inode:[pidfd]` before Linux 6.9, `pidfd:[N]`
/// since pidfs).
pub fn pidfds_held(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter(|l| l.to_string_lossy().contains("pidfd"))
                .count()
        })
        .unwrap_or(0)
}

/// What the tracer of a [`Traced`] fixture traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceTarget {
    /// The child: the parent blocks in waitpid() for it, and when it exits only the tracer
    /// can reap it (the tracer never waits, so it stays a zombie).
    Zombie,
    /// The parent, which holds the zombie and never waits: the SIGCHLD its child's death sends
    /// stops it for its tracer (state t), as any signal but SIGKILL does to a tracee.
    Parent,
}

/// A parent (a fork of the test, SIGCHLD at its default) with one child that exits with code
/// 5, and a tracer: a second fork of the test that attaches to the target with PTRACE_SEIZE
/// and then sleeps without ever calling wait(). Drop kills the tracer first (the kernel then
/// hands a traced zombie back to the parent, which reaps it), then the parent, and reaps all.
pub struct Traced {
    pub parent: i32,
    pub zombie: i32,
    pub tracer: i32,
}

fn pause_forever() -> ! {
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

impl Traced {
    pub fn spawn(target: TraceTarget) -> Traced {
        become_subreaper();
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (go_rd, go_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // SAFETY: the forks below make only async-signal-safe calls before pause() or _exit.
        let parent = match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                drop(rd);
                drop(go_wr);
                install(SigHandler::SigDfl);
                // Yama (ptrace_scope 1) lets only ancestors attach unless the tracee allows it.
                libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0);
                let child = libc::fork();
                if child == 0 {
                    libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0);
                    let mut b = [0u8; 1];
                    libc::read(go_rd.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                    libc::_exit(5);
                }
                let _ = nix::unistd::write(&wr, &child.to_ne_bytes());
                let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
                drop(wr);
                drop(go_rd);
                if target == TraceTarget::Zombie {
                    let mut st = 0;
                    while libc::waitpid(child, &mut st, 0) < 0
                        && *libc::__errno_location() == libc::EINTR
                    {}
                }
                pause_forever()
            },
            ForkResult::Parent { child } => child.as_raw(),
        };
        drop(wr);
        drop(go_rd);
        let mut zombie = 0;
        if !read_records(&rd, Duration::from_secs(10), |pid| zombie = pid) || zombie <= 0 {
            kill_and_reap(parent);
            panic!("traced fixture: parent {parent} did not report its child");
        }
        let traced = match target {
            TraceTarget::Zombie => zombie,
            TraceTarget::Parent => parent,
        };
        let (res_rd, res_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let tracer = match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                let r = libc::ptrace(libc::PTRACE_SEIZE, traced, 0, 0);
                let err: i32 = if r == 0 { 0 } else { *libc::__errno_location() };
                // A nonzero errno is reported as a negative record, never as "ready" (0).
                let _ = nix::unistd::write(&res_wr, &(-err).to_ne_bytes());
                let _ = nix::unistd::write(&res_wr, &1i32.to_ne_bytes());
                pause_forever()
            },
            ForkResult::Parent { child } => child.as_raw(),
        };
        drop(res_wr);
        let guard = Traced {
            parent,
            zombie,
            tracer,
        };
        let mut seize = None;
        let mut buf = [0u8; 4];
        if read_exact_within(&res_rd, &mut buf, Duration::from_secs(10)) {
            seize = Some(i32::from_ne_bytes(buf));
        }
        assert_eq!(
            seize,
            Some(0),
            "PTRACE_SEIZE of {traced} failed (negative errno); is ptrace allowed here?"
        );
        // Let the child exit now that it is traced.
        let _ = nix::unistd::write(&go_wr, b"x");
        let settled = wait_until(Duration::from_secs(5), || {
            proc_state(zombie) == Some('Z')
                && match target {
                    TraceTarget::Zombie => {
                        status_number(zombie, "TracerPid") == Some(tracer as i64)
                            && wchan(parent).is_some_and(|w| w.contains("do_wait"))
                    }
                    TraceTarget::Parent => proc_state(parent) == Some('t'),
                }
        });
        assert!(
            settled,
            "traced fixture did not settle: zombie {zombie} {:?}, parent {parent} {:?}",
            proc_state(zombie),
            proc_state(parent)
        );
        guard
    }

    /// Kills the tracer and reaps it: from then on the parent alone holds the child.
    pub fn kill_tracer(&mut self) {
        if self.tracer > 0 {
            kill_and_reap(self.tracer);
            self.tracer = 0;
        }
    }
}

/// Reads exactly `buf.len()` bytes within `deadline`; false when it times out or hits EOF.
fn read_exact_within(rd: &OwnedFd, buf: &mut [u8], deadline: Duration) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let start = Instant::now();
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_sub(start.elapsed());
        if left.is_zero() {
            return false;
        }
        let ms =
            PollTimeout::try_from(left.as_millis().min(10_000) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(rd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, ms).unwrap_or(0) == 0 {
            continue;
        }
        match nix::unistd::read(rd, &mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    true
}

impl Drop for Traced {
    fn drop(&mut self) {
        self.kill_tracer();
        kill_and_reap(self.parent);
        // Reaped by its parent once the tracer let go, or adopted by us (the subreaper) if the
        // parent died first.
        reap_if_ours(self.zombie);
    }
}

/// A live parent with a second thread (so `Threads:` reads 2) and one zombie child (exit 4)
/// it never reaps. Drop kills it and reaps it and its zombie.
/// Lets `zombies fix --reap` (a sibling, not an ancestor) attach to this process under Yama's
/// ptrace_scope 1, as Ubuntu sets it, so the reap tests run unprivileged there too. A no-op
/// (EINVAL) without Yama.
pub fn allow_any_tracer() {
    // SAFETY: prctl with integer arguments; async-signal-safe.
    unsafe { libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0) };
}

/// Yama's ptrace_scope, when Yama is there.
pub fn yama_ptrace_scope() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether this user may ptrace its own children's siblings (what --reap needs): root, or
/// Yama at scope 0 or 1 (the fixtures allow any tracer). Prints why when not.
pub fn can_reap_as_this_user() -> bool {
    let ok = is_root() || yama_ptrace_scope().is_none_or(|s| s <= 1);
    if !ok {
        eprintln!(
            "skipped: Yama ptrace_scope {:?} lets only root ptrace; run as root",
            yama_ptrace_scope()
        );
    }
    ok
}

pub struct ThreadedParent {
    pub pid: i32,
    pub zombie: i32,
}

impl ThreadedParent {
    pub fn spawn() -> ThreadedParent {
        become_subreaper();
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // SAFETY: the child starts one thread and forks once; its child only exits.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                drop(rd);
                install(SigHandler::SigDfl);
                allow_any_tracer();
                let mut t: libc::pthread_t = std::mem::zeroed();
                libc::pthread_create(&mut t, std::ptr::null(), sleeper, std::ptr::null_mut());
                let child = libc::fork();
                if child == 0 {
                    libc::_exit(4);
                }
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    child as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                );
                let _ = nix::unistd::write(&wr, &child.to_ne_bytes());
                let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
                pause_forever()
            },
            ForkResult::Parent { child } => {
                drop(wr);
                let pid = child.as_raw();
                let mut zombie = 0;
                if !read_records(&rd, Duration::from_secs(10), |z| zombie = z) || zombie <= 0 {
                    kill_and_reap(pid);
                    panic!("threaded parent {pid} did not report its zombie");
                }
                let guard = ThreadedParent { pid, zombie };
                assert!(
                    wait_until(Duration::from_secs(5), || {
                        proc_state(pid) == Some('S') && status_number(pid, "Threads") == Some(2)
                    }),
                    "threaded parent {pid} did not settle"
                );
                guard
            }
        }
    }
}

impl Drop for ThreadedParent {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
        reap_if_ours(self.zombie);
    }
}

/// A parent (SIGCHLD at its default) blocked in waitpid() for one live child (`other`, which
/// sleeps), while another child of it is a zombie it is not waiting for. Drop kills the
/// parent and its live child and reaps all three.
pub struct WaitingParent {
    pub pid: i32,
    pub zombie: i32,
    pub other: i32,
}

impl WaitingParent {
    pub fn spawn() -> WaitingParent {
        become_subreaper();
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // SAFETY: the forks below make only async-signal-safe calls.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                drop(rd);
                install(SigHandler::SigDfl);
                let other = libc::fork();
                if other == 0 {
                    pause_forever();
                }
                let zombie = libc::fork();
                if zombie == 0 {
                    libc::_exit(6);
                }
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    zombie as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                );
                let _ = nix::unistd::write(&wr, &zombie.to_ne_bytes());
                let _ = nix::unistd::write(&wr, &other.to_ne_bytes());
                let _ = nix::unistd::write(&wr, &0i32.to_ne_bytes());
                drop(wr);
                let mut st = 0;
                while libc::waitpid(other, &mut st, 0) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                pause_forever()
            },
            ForkResult::Parent { child } => {
                drop(wr);
                let pid = child.as_raw();
                let mut got = Vec::new();
                if !read_records(&rd, Duration::from_secs(10), |p| got.push(p)) || got.len() != 2 {
                    kill_and_reap(pid);
                    panic!("waiting parent {pid} did not report its children");
                }
                let guard = WaitingParent {
                    pid,
                    zombie: got[0],
                    other: got[1],
                };
                assert!(
                    wait_until(Duration::from_secs(5), || {
                        wchan(pid).is_some_and(|w| w.contains("do_wait"))
                    }),
                    "parent {pid} is not in wait()"
                );
                guard
            }
        }
    }
}

impl Drop for WaitingParent {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
        let me = std::process::id() as i32;
        // Both children are ours now (subreaper), or gone.
        if proc_ppid(self.other) == Some(me) {
            kill_and_reap(self.other);
        }
        reap_if_ours(self.zombie);
    }
}

/// Whether the binary under test reads the `ZOMBIES_TEST_PANIC_AFTER_STEP` seam: only builds
/// with debug assertions have it, and then the variable's name is in the binary. The kernel
/// matrix runs the debug test binaries against the release binary, so the tests of the seam
/// ask the binary rather than their own build.
pub fn binary_has_test_seam() -> bool {
    let needle = b"ZOMBIES_TEST_PANIC_AFTER_STEP";
    std::fs::read(bin())
        .map(|b| b.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

/// A parent that sits in read(2) on a pipe and does what each line says: `z` forks a child
/// that exits with 3 and, once it is a zombie, answers `Z <pid>`; `c` answers `C <n>`, the
/// SIGUSR1s its handler counted; `q` exits 0; anything else is echoed back. It never reaps.
/// For `fix --reap`: proof that a parent held by ptrace reads on as if nothing happened.
pub struct ReadingParent {
    pub pid: i32,
    /// The zombies it made (reaped on Drop if they came back to us).
    pub zombies: Vec<i32>,
    input: OwnedFd,
    output: std::io::BufReader<std::fs::File>,
}

static USR1_SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn count_usr1(_: libc::c_int) {
    USR1_SEEN.fetch_add(1, Ordering::Relaxed);
}

/// Writes `prefix`, `n` in decimal and a newline to `fd`, with no allocation (the forked
/// child of a multi-threaded test may only make async-signal-safe calls).
fn write_number(fd: libc::c_int, prefix: &[u8], n: u64) {
    let mut buf = [0u8; 32];
    let mut len = prefix.len();
    buf[..len].copy_from_slice(prefix);
    let mut digits = [0u8; 20];
    let mut d = 0;
    let mut v = n;
    loop {
        digits[d] = b'0' + (v % 10) as u8;
        d += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while d > 0 {
        d -= 1;
        buf[len] = digits[d];
        len += 1;
    }
    buf[len] = b'\n';
    // SAFETY: write(2) from a live buffer.
    unsafe { libc::write(fd, buf.as_ptr().cast(), len + 1) };
}

static EPOLL_EINTR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ReadingParent {
    pub fn spawn() -> ReadingParent {
        ReadingParent::start(false)
    }

    /// Like `spawn`, but it waits for input in epoll_wait(2) (as event loops do) before each
    /// read, and counts the times epoll_wait returned EINTR (ask "e" for `E n`).
    pub fn spawn_in_epoll() -> ReadingParent {
        ReadingParent::start(true)
    }

    fn start(epoll: bool) -> ReadingParent {
        use std::os::fd::AsRawFd;
        become_subreaper();
        let (in_r, in_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (ir, ow) = (in_r.as_raw_fd(), out_w.as_raw_fd());
        // SAFETY: the child makes only async-signal-safe calls (read, write, fork, waitid,
        // sigaction, _exit) and allocates nothing.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => unsafe {
                install(SigHandler::SigDfl);
                allow_any_tracer();
                let sa = signal::SigAction::new(
                    SigHandler::Handler(count_usr1),
                    signal::SaFlags::SA_RESTART,
                    SigSet::empty(),
                );
                let _ = signal::sigaction(Signal::SIGUSR1, &sa);
                let ep = if epoll {
                    let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
                    let mut ev = libc::epoll_event {
                        events: libc::EPOLLIN as u32,
                        u64: 0,
                    };
                    libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, ir, &mut ev);
                    ep
                } else {
                    -1
                };
                let mut buf = [0u8; 256];
                loop {
                    if ep >= 0 {
                        let mut ev = libc::epoll_event { events: 0, u64: 0 };
                        if libc::epoll_wait(ep, &mut ev, 1, -1) < 0 {
                            if *libc::__errno_location() == libc::EINTR {
                                EPOLL_EINTR.fetch_add(1, Ordering::Relaxed);
                            }
                            continue;
                        }
                    }
                    let n = libc::read(ir, buf.as_mut_ptr().cast(), buf.len());
                    if n < 0 && *libc::__errno_location() == libc::EINTR {
                        continue;
                    }
                    if n <= 0 {
                        libc::_exit(2);
                    }
                    match buf[0] {
                        b'z' => {
                            let z = libc::fork();
                            if z == 0 {
                                libc::_exit(3);
                            }
                            let mut info: libc::siginfo_t = std::mem::zeroed();
                            libc::waitid(
                                libc::P_PID,
                                z as libc::id_t,
                                &mut info,
                                libc::WEXITED | libc::WNOWAIT,
                            );
                            write_number(ow, b"Z ", z as u64);
                        }
                        b'c' => write_number(ow, b"C ", USR1_SEEN.load(Ordering::Relaxed)),
                        b'e' => write_number(ow, b"E ", EPOLL_EINTR.load(Ordering::Relaxed)),
                        b'q' => libc::_exit(0),
                        _ => {
                            libc::write(ow, buf.as_ptr().cast(), n as usize);
                        }
                    }
                }
            },
            ForkResult::Parent { child } => {
                drop(in_r);
                drop(out_w);
                let guard = ReadingParent {
                    pid: child.as_raw(),
                    zombies: Vec::new(),
                    input: in_w,
                    output: std::io::BufReader::new(std::fs::File::from(out_r)),
                };
                assert!(
                    wait_until(Duration::from_secs(5), || proc_state(guard.pid)
                        == Some('S')),
                    "the reading parent did not start"
                );
                guard
            }
        }
    }

    /// Sends one line and reads the answer (at most 10 s).
    pub fn ask(&mut self, line: &str) -> String {
        use std::io::BufRead;
        nix::unistd::write(&self.input, format!("{line}\n").as_bytes()).expect("write to parent");
        let mut answer = String::new();
        self.output
            .read_line(&mut answer)
            .expect("read from parent");
        answer.trim_end().to_string()
    }

    /// Makes one zombie child and returns its PID.
    pub fn make_zombie(&mut self) -> i32 {
        let a = self.ask("z");
        let z = a
            .strip_prefix("Z ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no zombie made: {a:?}"));
        self.zombies.push(z);
        z
    }

    /// Tells it to exit 0 and returns how it ended.
    pub fn quit(&mut self) -> nix::sys::wait::WaitStatus {
        let _ = nix::unistd::write(&self.input, b"q\n");
        let status = waitpid(Pid::from_raw(self.pid), None).expect("wait for the parent");
        self.pid = 0;
        status
    }
}

impl Drop for ReadingParent {
    fn drop(&mut self) {
        if self.pid > 0 {
            kill_and_reap(self.pid);
        }
        for &z in &self.zombies {
            reap_if_ours(z);
        }
    }
}
