//! `zombies probe-init` in words and as JSON: the verdict, the evidence (PID 1's name, state
//! and SIGCHLD disposition, the orphan and how its reap was watched), the zombie a PID 1 that
//! does not reap keeps and how to remove it, or why the probe could not be made.

use std::io::{self, Write};

use nix::errno::Errno;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{duration, printable};
use crate::diagnose::Disposition;
use crate::probe_init::{Init, Observer, Outcome, Untested, Verdict};
use crate::style::Style;

/// The report for people.
pub fn write(out: &mut impl Write, o: &Outcome, style: Style) -> io::Result<()> {
    let head = headline(o);
    match o.verdict {
        Verdict::Reaps { .. } => writeln!(out, "{}", style.green(&head))?,
        Verdict::DoesNotReap => writeln!(out, "{}", style.red(&head))?,
        Verdict::Untested(_) => writeln!(out, "{}", style.yellow(&head))?,
    }
    if let Some(init) = &o.init {
        writeln!(out, "  {}  {}", style.bold("PID 1  "), init_line(init))?;
        writeln!(out, "  {}  {}", style.bold("SIGCHLD"), sigchld(init))?;
    }
    if let Some(line) = orphan_line(o) {
        writeln!(out, "  {}  {line}", style.bold("orphan "))?;
    }
    let (Some(zombie), Some(init), true) = (&o.orphan, &o.init, o.zombie_left()) else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(
        out,
        "This test left exactly one zombie: {} ({}, PID {} in the namespace),\nunder {}.",
        zombie.pid,
        crate::sys::pidns::ORPHAN_NAME,
        zombie.ns_pid,
        named(init.pid, &init.comm)
    )?;
    match remove_command(o) {
        Some(remove) => {
            writeln!(out, "Remove it with\n  {}", style.bold(&remove))?;
            writeln!(
                out,
                "or restart the container: its PID namespace ends with its PID 1, and every zombie in it."
            )?;
            if o.verdict == Verdict::DoesNotReap {
                writeln!(
                    out,
                    "Every process orphaned in this container stays a zombie the same way: give it an init\n\
                     that reaps (docker run --init, tini or dumb-init as the entrypoint, or\n\
                     shareProcessNamespace: true in a Kubernetes pod, whose pause process reaps)."
                )?;
            }
        }
        // Stopped, it cannot reap whatever it is (and fix --reap refuses a stopped parent):
        // the cure is to let it run.
        None if init.state == 't' => writeln!(
            out,
            "PID 1 is stopped by a tracer (a debugger): it reaps nothing until it is let go;\n\
             probe it again once it runs."
        )?,
        None => writeln!(
            out,
            "PID 1 is stopped: it reaps nothing until it is continued ({}); probe it\n\
             again once it runs.",
            style.bold(&format!("kill -CONT {}", init.pid))
        )?,
    }
    Ok(())
}

/// "<1ms" rather than a surprising "0ms": a reaping init is that quick.
fn took(d: std::time::Duration) -> String {
    match d.as_millis() {
        0 => "<1ms".to_string(),
        _ => duration(d),
    }
}

/// "4200 (tini)", the name made safe for a terminal.
fn named(pid: i32, comm: &str) -> String {
    format!("{pid} ({})", printable(comm))
}

/// The process given, and PID 1 when that is another one.
fn subject(o: &Outcome) -> String {
    let given = match &o.comm {
        Some(c) => named(o.request.pid, c),
        None => o.request.pid.to_string(),
    };
    match &o.init {
        Some(i) if i.pid == o.request.pid => format!("{given}, PID 1 of its namespace,"),
        Some(i) => format!(
            "{}, PID 1 of the namespace of {given},",
            named(i.pid, &i.comm)
        ),
        None => format!("PID 1 of the namespace of {given}"),
    }
}

/// The first line: the answer (also the JSON's `message`).
pub fn headline(o: &Outcome) -> String {
    match &o.verdict {
        Verdict::Reaps { after } => format!(
            "PID 1 reaps orphans: {} reaped the orphan it adopted {} after it exited.",
            subject(o),
            took(*after)
        ),
        Verdict::DoesNotReap => format!(
            "PID 1 does not reap orphans: {} left the orphan it adopted a zombie for {} after it exited.",
            subject(o),
            duration(o.request.timeout)
        ),
        Verdict::Untested(why) => format!(
            "Could not test {}: {}",
            subject(o).trim_end_matches(','),
            untested(o, why)
        ),
    }
}

/// Why the probe could not be made, and what to do.
fn untested(o: &Outcome, why: &Untested) -> String {
    let pid = o.request.pid;
    match why {
        Untested::ProcfsNotOurs => "probe-init enters namespaces by PID, so it needs the procfs of its own PID namespace, and --proc names another; run it without --proc, where the container's processes are in /proc (on the host)".into(),
        Untested::NoSuchProcess => format!(
            "no process has PID {pid} (it may have exited); give a process of the container, e.g. its PID 1 as the host numbers it: docker inspect -f '{{{{.State.Pid}}}}' NAME"
        ),
        Untested::Unreadable => format!(
            "/proc/{pid} cannot be read (hidepid or permissions); run as root"
        ),
        Untested::KernelThread => format!(
            "{pid} is a kernel thread, which belongs to no container; give a process of the container"
        ),
        Untested::NamespaceFile {
            errno: Errno::EACCES | Errno::EPERM,
            as_root: false,
        } => format!(
            "may not open /proc/{pid}/ns/pid: entering another process's PID namespace needs root (CAP_SYS_ADMIN and ptrace access to it)"
        ),
        Untested::NamespaceFile {
            errno: Errno::EACCES | Errno::EPERM,
            as_root: true,
        } => format!(
            "may not open /proc/{pid}/ns/pid, even as root: it needs ptrace access to {pid}, refused here (by Yama's ptrace_scope 3, a security module such as AppArmor, or because {pid} belongs to another user namespace); another process of the same container may be allowed"
        ),
        Untested::NamespaceFile {
            errno: Errno::ENOENT,
            ..
        } => format!(
            "/proc/{pid}/ns/pid does not exist: this kernel cannot enter a PID namespace (Linux 3.8 or later can)"
        ),
        Untested::NamespaceFile { errno, .. } => {
            format!("cannot open /proc/{pid}/ns/pid: {}", errno.desc())
        }
        Untested::NoNspid => format!(
            "/proc/{pid}/status has no NSpid line (Linux 4.1 or later has it), so PID 1 of its namespace cannot be found"
        ),
        Untested::NoInit => "PID 1 of its namespace is not among the processes /proc shows (hidepid?); run as root".into(),
        Untested::Enter(Errno::EPERM) => "entering its PID namespace was refused: setns(2) needs CAP_SYS_ADMIN; run as root".into(),
        Untested::Enter(Errno::EINVAL) => "its PID namespace is neither this tool's nor below it (does zombies run in a container?); run it on the host".into(),
        Untested::Enter(e) => format!("setns(2) into its PID namespace failed: {}", e.desc()),
        Untested::NamespaceEnding => "its PID namespace is ending: its PID 1 has exited, and nothing can be started there".into(),
        Untested::Fork(e) => format!(
            "could not start a process in its namespace: {} (a PID limit: pids.max or ulimit -u?)",
            e.desc()
        ),
        Untested::Helper => "the helper process in its namespace failed; nothing was left behind".into(),
        Untested::OrphanLost => "the orphan vanished before its reap could be watched (killed from outside?)".into(),
        Untested::AdoptedByOther { pid, comm } => format!(
            "the orphan was adopted by {}, a subreaper, not by PID 1: a subreaper among this tool's ancestors takes the orphans of its own namespace first; test a container's PID 1 from the host",
            match comm {
                Some(c) => named(*pid, c),
                None => pid.to_string(),
            }
        ),
        Untested::NoExit => format!(
            "the orphan did not exit within {} once told to (is the namespace's cgroup frozen?)",
            duration(o.request.timeout)
        ),
        Untested::InitExited => "its PID 1 exited while the probe waited: the kernel reaps every process of a namespace whose PID 1 dies, so that reap says nothing of PID 1; test it while it runs".into(),
        Untested::Interrupted { zombie_left: true } => "interrupted (SIGINT or SIGTERM) before PID 1 had reaped the orphan; it is still a zombie".into(),
        Untested::Interrupted { zombie_left: false } => "interrupted (SIGINT or SIGTERM) before the orphan's reap could be seen; nothing was left behind".into(),
    }
}

fn init_line(i: &Init) -> String {
    let state = match i.state {
        'S' => "sleeping".to_string(),
        'R' => "running".to_string(),
        'D' => "in uninterruptible sleep".to_string(),
        'T' => "stopped (it cannot reap until it is continued)".to_string(),
        't' => "stopped by a tracer (it cannot reap until it is let go)".to_string(),
        c => format!("state {c}"),
    };
    let wchan = match i.wchan.as_deref() {
        Some(w) => format!(" in {}", printable(w)),
        None => String::new(),
    };
    format!("{}, {state}{wchan}", named(i.pid, &i.comm))
}

fn sigchld(i: &Init) -> String {
    let blocked = if i.sigchld_blocked {
        "blocked"
    } else {
        "not blocked"
    };
    match i.sigchld {
        Disposition::Caught => format!("caught by a handler, {blocked}"),
        Disposition::Ignored => {
            format!("ignored (SIG_IGN), {blocked}: the kernel reaps its children for it")
        }
        Disposition::Default => {
            format!("default (no handler), {blocked}: it reaps only when it calls wait() itself")
        }
        Disposition::Unknown => "unknown (its status could not be read)".to_string(),
    }
}

fn observer(o: Observer) -> &'static str {
    match o {
        Observer::PidfdPoll => "watched through a pidfd, which poll(2) wakes at the reap",
        Observer::PidfdSignal => "watched through a pidfd, asked every 1-20 ms",
        Observer::Proc => "watched in /proc, every 1-20 ms (no pidfd)",
    }
}

fn orphan_line(o: &Outcome) -> Option<String> {
    let z = o.orphan.as_ref()?;
    // In our own namespace (the host's PID 1) the two numbers are one.
    let base = match z.ns_pid == z.pid {
        true => format!("{}, adopted by {}", z.pid, z.adopter),
        false => format!(
            "{} (PID {} in the namespace), adopted by {}",
            z.pid, z.ns_pid, z.adopter
        ),
    };
    let how = o.observer.map(observer).unwrap_or("");
    Some(match o.verdict {
        Verdict::Reaps { after } => {
            format!("{base}, reaped {} after its exit ({how})", took(after))
        }
        Verdict::DoesNotReap => format!(
            "{base}, still a zombie {} after its exit ({how})",
            duration(o.request.timeout)
        ),
        Verdict::Untested(_) => base,
    })
}

/// The command that removes the zombie left behind, when one was.
/// None for a stopped PID 1, which fix --reap refuses: it must be continued first.
fn remove_command(o: &Outcome) -> Option<String> {
    match &o.init {
        Some(init) if o.zombie_left() && !matches!(init.state, 'T' | 't') => Some(format!(
            "zombies fix --reap --parent {} --min-age 0s",
            init.pid
        )),
        _ => None,
    }
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Reaps { .. } => "reaps",
        Verdict::DoesNotReap => "does-not-reap",
        Verdict::Untested(_) => "untested",
    }
}

fn untested_name(u: &Untested) -> &'static str {
    match u {
        Untested::ProcfsNotOurs => "procfs-not-ours",
        Untested::NoSuchProcess => "no-such-process",
        Untested::Unreadable => "unreadable",
        Untested::KernelThread => "kernel-thread",
        Untested::NamespaceFile { .. } => "namespace-file",
        Untested::NoNspid => "no-nspid",
        Untested::NoInit => "no-init",
        Untested::Enter(_) => "setns-refused",
        Untested::NamespaceEnding => "namespace-ending",
        Untested::Fork(_) => "fork-failed",
        Untested::Helper => "helper-failed",
        Untested::OrphanLost => "orphan-lost",
        Untested::AdoptedByOther { .. } => "adopted-by-other",
        Untested::NoExit => "no-exit",
        Untested::InitExited => "init-exited",
        Untested::Interrupted { .. } => "interrupted",
    }
}

#[derive(serde::Serialize)]
struct OrphanJson {
    pid: i32,
    ns_pid: i32,
    adopted_by: i32,
}

#[derive(serde::Serialize)]
struct ZombieJson {
    pid: i32,
    ns_pid: i32,
    comm: &'static str,
    parent: i32,
}

struct InitJson<'a>(&'a Init);

impl Serialize for InitJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = s.serialize_struct("Init", 6)?;
        m.serialize_field("pid", &i.pid)?;
        m.serialize_field("comm", &i.comm)?;
        m.serialize_field("state", &i.state.to_string())?;
        m.serialize_field("sigchld", i.sigchld.as_str())?;
        m.serialize_field("sigchld_blocked", &i.sigchld_blocked)?;
        m.serialize_field("wchan", &i.wchan)?;
        m.end()
    }
}

/// The JSON document of `zombies probe-init --format json`.
impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ProbeInit", 13)?;
        m.serialize_field("pid", &self.request.pid)?;
        m.serialize_field("comm", &self.comm)?;
        m.serialize_field("verdict", verdict_name(&self.verdict))?;
        m.serialize_field("exit_code", &self.exit().0)?;
        m.serialize_field("message", &headline(self))?;
        m.serialize_field("timeout_ms", &crate::remedy::ms(self.request.timeout))?;
        m.serialize_field(
            "reaped_after_ms",
            &match self.verdict {
                Verdict::Reaps { after } => Some(after.as_micros() as f64 / 1000.0),
                _ => None,
            },
        )?;
        m.serialize_field("init", &self.init.as_ref().map(InitJson))?;
        m.serialize_field(
            "orphan",
            &self.orphan.map(|z| OrphanJson {
                pid: z.pid,
                ns_pid: z.ns_pid,
                adopted_by: z.adopter,
            }),
        )?;
        m.serialize_field(
            "observed_by",
            &self.observer.map(|o| match o {
                Observer::PidfdPoll => "pidfd-poll",
                Observer::PidfdSignal => "pidfd-signal",
                Observer::Proc => "proc",
            }),
        )?;
        let left = match &self.orphan {
            Some(z) if self.zombie_left() => Some(ZombieJson {
                pid: z.pid,
                ns_pid: z.ns_pid,
                comm: crate::sys::pidns::ORPHAN_NAME,
                parent: z.adopter,
            }),
            _ => None,
        };
        m.serialize_field("zombie_left", &left)?;
        m.serialize_field("remove", &remove_command(self))?;
        m.serialize_field(
            "untested",
            &match &self.verdict {
                Verdict::Untested(u) => Some(untested_name(u)),
                _ => None,
            },
        )?;
        m.end()
    }
}
