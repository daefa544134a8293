//! `TestEnv`: one environment per test, in the spirit of fd's tests/testenv. It owns a private
//! temporary directory holding the ignore list and the check state the binary uses (so no test
//! reads or writes the machine's own), and optionally a fresh PID namespace, a fake procfs
//! tree and a parent holding zombies; its Drop removes and ends them all, also when an
//! assertion fails. Commands run through it come back as a [`Run`], whose assertions print the
//! command, its exit code, stdout and stderr when they fail.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use super::{FakeProc, PidNs, Spec, TempDir, ZombieParent, bin, output_within};

/// The exit codes of the binary, named as src/exit.rs names them (they are part of its
/// interface: the man page and the README list them). The tests keep their own copy: they
/// check the binary from outside, as a script or a monitor would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit(pub i32);

impl Exit {
    pub const SUCCESS: Exit = Exit(0);
    pub const FAILURE: Exit = Exit(1);
    pub const USAGE: Exit = Exit(2);
    pub const INTERRUPTED: Exit = Exit(130);
    /// `zombies check` speaks the monitoring-plugins protocol: OK, WARNING, CRITICAL, UNKNOWN.
    pub const CHECK_OK: Exit = Exit(0);
    pub const CHECK_WARNING: Exit = Exit(1);
    pub const CHECK_CRITICAL: Exit = Exit(2);
    pub const CHECK_UNKNOWN: Exit = Exit(3);
    /// `zombies probe-init`: PID 1 reaps, does not reap, or could not be tested.
    pub const PROBE_REAPS: Exit = Exit(0);
    pub const PROBE_DOES_NOT_REAP: Exit = Exit(1);
    pub const PROBE_UNTESTED: Exit = Exit(3);

    /// The names this code has, for failure messages.
    fn names(self) -> &'static str {
        match self.0 {
            0 => "SUCCESS / CHECK_OK / PROBE_REAPS",
            1 => "FAILURE / CHECK_WARNING / PROBE_DOES_NOT_REAP",
            2 => "USAGE / CHECK_CRITICAL",
            3 => "CHECK_UNKNOWN / PROBE_UNTESTED",
            130 => "INTERRUPTED",
            _ => "not a documented exit code",
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0, self.names())
    }
}

/// One test's environment; see the module comment.
pub struct TestEnv {
    // Dropped in this order: the processes first, then the files they may have used.
    parent: Option<ZombieParent>,
    ns: Option<PidNs>,
    proc: Option<FakeProc>,
    dir: TempDir,
}

impl TestEnv {
    /// An environment with an empty temporary directory; `tag` names it.
    pub fn new(tag: &str) -> TestEnv {
        TestEnv {
            parent: None,
            ns: None,
            proc: None,
            dir: TempDir::new(tag),
        }
    }

    /// An environment whose commands run inside the PID namespace `ns` (root only).
    pub fn with_pid_ns(mut self, ns: PidNs) -> TestEnv {
        self.ns = Some(ns);
        self
    }

    /// An environment whose commands read a fake procfs tree (`--proc`), built with
    /// [`TestEnv::proc`]. For cases the live system cannot produce.
    pub fn with_fake_proc(mut self) -> TestEnv {
        self.proc = Some(FakeProc::new(self.dir.path("proc")));
        self
    }

    /// An environment holding a live parent with zombies, built from `spec`.
    pub fn with_parent(mut self, spec: Spec) -> TestEnv {
        self.parent = Some(ZombieParent::spawn(spec));
        self
    }

    /// The temporary directory (as a guard, for helpers that take one).
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    /// The temporary directory's path.
    pub fn root(&self) -> &Path {
        self.dir.dir()
    }

    /// A path inside the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    /// A path inside the temporary directory, as a command-line argument.
    pub fn arg(&self, name: &str) -> String {
        self.dir.arg(name)
    }

    /// The ignore list every command of this environment uses (ZOMBIES_IGNORE_FILE). It does
    /// not exist until a test or the binary writes it.
    pub fn ignore_file(&self) -> PathBuf {
        self.dir.path("ignore.toml")
    }

    /// The check state every command of this environment uses (ZOMBIES_STATE).
    pub fn state_file(&self) -> PathBuf {
        self.dir.path("state.json")
    }

    /// The PID namespace; panics when the environment has none.
    pub fn ns(&self) -> &PidNs {
        self.ns.as_ref().expect("this TestEnv has no PID namespace")
    }

    /// The fake procfs; panics when the environment has none.
    pub fn proc(&self) -> &FakeProc {
        self.proc.as_ref().expect("this TestEnv has no fake procfs")
    }

    /// The parent holding zombies; panics when the environment has none.
    pub fn parent(&self) -> &ZombieParent {
        self.parent
            .as_ref()
            .expect("this TestEnv has no zombie parent")
    }

    /// A command running the binary in this environment: a scrubbed environment whose ignore
    /// list and state are this environment's, inside its PID namespace and reading its fake
    /// procfs when it has them.
    pub fn command(&self) -> Cmd {
        let mut cmd = Cmd {
            args: Vec::new(),
            envs: Vec::new(),
            wrapper: Vec::new(),
            ns_init: self.ns.as_ref().map(|ns| ns.init),
            proc: self.proc.as_ref().map(|p| p.root().as_os_str().to_owned()),
            limit: Duration::from_secs(60),
        };
        for keep in ["PATH", "HOME", "USER", "LANG"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.envs.push((keep.into(), v));
            }
        }
        cmd.envs
            .push(("ZOMBIES_IGNORE_FILE".into(), self.ignore_file().into()));
        cmd.envs
            .push(("ZOMBIES_STATE".into(), self.state_file().into()));
        cmd
    }

    /// Runs the binary with `args` in this environment.
    pub fn zombies(&self, args: &[&str]) -> Run {
        self.command().args(args).run()
    }
}

/// A command line for the binary, built by [`TestEnv::command`].
pub struct Cmd {
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    /// A program the binary runs under (setpriv ...).
    wrapper: Vec<OsString>,
    /// Run inside the PID and mount namespaces of this process (a PID namespace's init).
    ns_init: Option<i32>,
    /// `--proc` to pass.
    proc: Option<OsString>,
    limit: Duration,
}

impl Cmd {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets (or replaces) a variable of the command's environment.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Cmd {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.into(), value.as_ref().to_owned()));
        self
    }

    /// Runs the binary under `wrapper` (e.g. `setpriv --reuid=65534 ...`).
    pub fn wrapper(mut self, wrapper: &[&str]) -> Cmd {
        self.wrapper = wrapper.iter().map(OsString::from).collect();
        self
    }

    /// Runs inside `ns` instead of the environment's own namespace (if any).
    pub fn inside(mut self, ns: &PidNs) -> Cmd {
        self.ns_init = Some(ns.init);
        self
    }

    /// Fails the test when the command runs longer than `limit` (60 s unless told).
    pub fn limit(mut self, limit: Duration) -> Cmd {
        self.limit = limit;
        self
    }

    /// The init of the PID namespace the command runs in, if any.
    pub fn ns_init(&self) -> Option<i32> {
        self.ns_init
    }

    /// The program and its arguments as they will run, wrapper and nsenter included.
    pub fn argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(init) = self.ns_init {
            argv.extend(["nsenter", "--target"].map(OsString::from));
            argv.push(init.to_string().into());
            argv.extend(["--pid", "--mount", "--"].map(OsString::from));
        }
        argv.extend(self.wrapper.iter().cloned());
        argv.extend(self.bin_argv());
        argv
    }

    /// The binary and its arguments alone (no wrapper, no nsenter).
    pub fn bin_argv(&self) -> Vec<OsString> {
        let mut argv = vec![bin().into_os_string()];
        argv.extend(self.args.iter().cloned());
        if let Some(proc) = &self.proc {
            argv.push("--proc".into());
            argv.push(proc.clone());
        }
        argv
    }

    /// The environment the command gets (nothing else: it starts empty).
    pub fn envs(&self) -> &[(OsString, OsString)] {
        &self.envs
    }

    /// The command as a [`Command`], for tests that need their own stdio (a terminal, a full
    /// disk) or to start it and act while it runs. Its environment is scrubbed as above.
    pub fn command(&self) -> Command {
        let argv = self.argv();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env_clear();
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// How failure messages name the command.
    pub fn describe(&self) -> String {
        describe(&self.argv())
    }

    /// Runs the command to its end, stdin empty, and fails the test when it outlives the limit.
    pub fn run(self) -> Run {
        let desc = self.describe();
        Run::new(desc, output_within(self.command(), self.limit))
    }
}

/// `zombies ARGS` as a message shows it: the binary's directory left out.
fn describe(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if Path::new(a.as_ref()) == bin() {
                "zombies".to_string()
            } else if a.contains([' ', '\n', '"', '\'']) || a.is_empty() {
                format!("{a:?}")
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A finished command: its output, and assertions that say what ran and what it printed.
pub struct Run {
    /// The command line, for messages.
    pub desc: String,
    pub output: Output,
}

impl Run {
    /// Wraps the output of a command the test ran itself.
    pub fn new(desc: impl Into<String>, output: Output) -> Run {
        Run {
            desc: desc.into(),
            output,
        }
    }

    /// The exit code; None when a signal ended the command.
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The command, its status and both outputs: what a failure message shows.
    pub fn report(&self) -> String {
        let status = match self.code() {
            Some(c) => format!("exited with {}", Exit(c)),
            None => format!("was killed ({})", self.output.status),
        };
        format!(
            "`{}` {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.desc,
            self.stdout(),
            self.stderr()
        )
    }

    /// Asserts the exit code, and returns the run for further checks.
    #[track_caller]
    pub fn assert_exit(self, want: Exit) -> Run {
        if self.code() != Some(want.0) {
            panic!("expected exit {want}, but {}", self.report());
        }
        self
    }

    /// Asserts success (exit 0).
    #[track_caller]
    pub fn assert_success(self) -> Run {
        self.assert_exit(Exit::SUCCESS)
    }

    /// stdout parsed as JSON; fails the test, showing both outputs, when it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.report()))
    }

    /// Asserts the exit code and returns stdout parsed as JSON.
    #[track_caller]
    pub fn assert_json(self, want: Exit) -> Value {
        self.assert_exit(want).json()
    }

    /// Asserts that stdout contains every one of `parts`.
    #[track_caller]
    pub fn assert_stdout_contains(self, parts: &[&str]) -> Run {
        let out = self.stdout();
        for part in parts {
            assert!(
                out.contains(part),
                "stdout lacks {part:?}: {}",
                self.report()
            );
        }
        self
    }

    /// Asserts that stderr contains every one of `parts`.
    #[track_caller]
    pub fn assert_stderr_contains(self, parts: &[&str]) -> Run {
        let err = self.stderr();
        for part in parts {
            assert!(
                err.contains(part),
                "stderr lacks {part:?}: {}",
                self.report()
            );
        }
        self
    }
}
