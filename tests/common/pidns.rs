//! `PidNs`: a fresh PID namespace with its own /proc (unshare, as root), where a test knows
//! every process and may let "all" mean all. One fixture for every suite: PID 1 runs a shell
//! script (`spawn`), or sleeps while shells hold known numbers of zombies (`holding`).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::{
    TempDir, become_subreaper, children_of, descendants, needs_root, proc_ppid, proc_state,
    wait_until,
};

/// A child that exits once its parent, a subshell of `sh`, has exec'd: it reads its parent's
/// PID (stat field 4), then polls the parent's name in /proc until it is no longer `sh` (no
/// holder is named sh).
const WAIT_FOR_EXEC: &str = r#"'read -r _ _ _ p _ < /proc/$$/stat; while [ "$(cat /proc/$p/comm 2>/dev/null)" = sh ]; do sleep 0.01; done'"#;

/// A parent in a [`PidNs::holding`] namespace: how many zombies it holds and, optionally, the
/// name it runs under (a symlink to sleep, so its comm is that name).
#[derive(Clone, Copy, Debug)]
pub struct Holder<'a> {
    pub zombies: usize,
    pub name: Option<&'a str>,
}

/// Holders named `sleep` with these numbers of zombies (0: an idle process).
pub fn holders(counts: &[usize]) -> Vec<Holder<'static>> {
    counts
        .iter()
        .map(|&zombies| Holder {
            zombies,
            name: None,
        })
        .collect()
}

/// `unshare` running `script` (sh -c) as PID 1 of a fresh PID namespace with its own /proc. It
/// takes its PID 1 down with it (--kill-child), and dies with the test (a parent-death
/// signal). Its environment is PATH alone; add what the script needs.
pub fn unshare(script: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "sh",
        "-c",
        script,
    ])
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// A fresh PID namespace. Drop kills its PID 1, which makes the kernel kill and reap every
/// process inside, then reaps unshare (and PID 1 itself, when it came back to us).
pub struct PidNs {
    unshare: Child,
    /// PID 1 of the namespace, as the host numbers it.
    pub init: i32,
    /// Holds the symlinks that name the holders.
    _bin: Option<TempDir>,
}

impl PidNs {
    /// A namespace whose PID 1 runs `script`. Needs root.
    pub fn spawn(script: &str) -> PidNs {
        PidNs::spawn_with(script, &[])
    }

    /// As [`PidNs::spawn`], with variables for the script.
    pub fn spawn_with(script: &str, vars: &[(&str, &std::ffi::OsStr)]) -> PidNs {
        needs_root();
        become_subreaper();
        let mut cmd = unshare(script);
        // util-linux 2.38 says "sigprocmask unblock failed" when its child is SIGKILLed,
        // which is how Drop ends the namespace (util-linux issue #2614): not ours to show.
        cmd.stderr(Stdio::null());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let unshare = cmd.spawn().expect("spawn unshare");
        let upid = unshare.id() as i32;
        let mut ns = PidNs {
            unshare,
            init: 0,
            _bin: None,
        };
        assert!(
            wait_until(Duration::from_secs(5), || {
                ns.init = children_of(upid).first().copied().unwrap_or(0);
                ns.init > 0
            }),
            "unshare did not fork its PID 1"
        );
        ns
    }

    /// A namespace whose PID 1 sleeps (and never reaps), with one child per holder: a
    /// process that never waits, holding that holder's number of zombies. Returns once every
    /// zombie exists, watched from the host (a look from inside would take PIDs in the
    /// namespace and make its numbering depend on timing).
    pub fn holding(parents: &[Holder]) -> PidNs {
        needs_root();
        let bin = TempDir::new("pidns");
        let mut script = String::new();
        for (i, h) in parents.iter().enumerate() {
            let exe = match h.name {
                Some(name) => {
                    let link = bin.path(name);
                    std::os::unix::fs::symlink(which_sleep(), &link).expect("symlink sleep");
                    let var = format!("HOLDER{i}");
                    script.push_str(&format!("{var}='{}'\n", link.display()));
                    format!("\"${var}\"")
                }
                None => "sleep".to_string(),
            };
            // The subshell forks its children, then becomes a process that never waits. A
            // shell may reap a background job that ends before it execs, which would leave a
            // zombie short: so each child waits for that exec itself, watching its parent's
            // name in /proc change from the shell's, then exits.
            script.push_str(&format!(
                "( i=0; while [ $i -lt {} ]; do sh -c {WAIT_FOR_EXEC} & i=$((i+1)); done; exec {exe} 120 ) &\n",
                h.zombies
            ));
        }
        script.push_str("exec sleep 120\n");
        let mut ns = PidNs::spawn(&script);
        ns._bin = Some(bin);
        let want: usize = parents.iter().map(|h| h.zombies).sum();
        let mut last = (0, 0, '?');
        let ready = wait_until(Duration::from_secs(10), || {
            let family = descendants(ns.init);
            let zombies = family
                .iter()
                .filter(|&&p| proc_state(p) == Some('Z'))
                .count();
            // PID 1 must have exec'd sleep too, or its shell could still be counted.
            let init = std::fs::read_to_string(format!("/proc/{}/comm", ns.init))
                .map_or('?', |c| if c.trim() == "sleep" { 's' } else { 'h' });
            last = (family.len(), zombies, init);
            zombies == want && family.len() == parents.len() + want && init == 's'
        });
        assert!(
            ready,
            "namespace did not reach {want} zombies: (processes, zombies, init) = {last:?}"
        );
        ns
    }

    /// A namespace whose PID 1 is `sleep`, which never reaps, and whose one child (the
    /// victim, returned with it) holds two zombies and never reaps either.
    pub fn with_a_victim() -> (PidNs, i32) {
        let ns = PidNs::spawn("(sleep 0 & sleep 0 & exec sleep 60) & exec sleep 60");
        let mut victim = 0;
        assert!(
            wait_until(Duration::from_secs(5), || {
                victim = children_of(ns.init).first().copied().unwrap_or(0);
                victim > 0 && super::zombie_children(victim).len() == 2
            }),
            "the victim of {} did not get its two zombies",
            ns.init
        );
        (ns, victim)
    }

    /// Every process of the namespace but its PID 1, as host PIDs.
    pub fn processes(&self) -> Vec<i32> {
        descendants(self.init)
    }
}

impl Drop for PidNs {
    fn drop(&mut self) {
        if self.init > 0 {
            // PID 1 of a namespace dies: the kernel kills and reaps every process inside.
            let _ = signal::kill(Pid::from_raw(self.init), Signal::SIGKILL);
        }
        // unshare (--kill-child) exits once its child is gone.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.unshare.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        // With unshare gone first, its child came to us (the subreaper): reap it then.
        if self.init > 0 && proc_ppid(self.init) == Some(std::process::id() as i32) {
            let _ = waitpid(Pid::from_raw(self.init), None);
        }
    }
}

fn which_sleep() -> PathBuf {
    ["/usr/bin/sleep", "/bin/sleep"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("sleep(1) installed")
}
