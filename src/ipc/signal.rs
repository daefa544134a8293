//! `ipc demo signal`: a child catches, ignores and blocks signals while the demo reads its
//! masks in /proc/PID/status; SIGKILL and SIGSTOP refuse all three; SIGSTOP and SIGCONT move
//! the child between T and S; an uncaught SIGTERM takes the default action.
//!
//! Installing a signal handler is what this demo teaches, and it needs `unsafe` (the handler
//! runs in a signal context); those calls stay here, in the open.
#![allow(unsafe_code)]

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::wait::WaitStatus;

use super::state_fact;
use crate::proc::signals::SigMask;
use crate::sys::process;
use crate::teach::lab::Lab;
use crate::teach::narrate::Step;
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Pipe, Runtime, Sender, describe};
use crate::teach::trace;

/// The report pipe's write end, for the signal handler (set only in the child).
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);

/// Runs in the child on each delivery: one write(2), which is async-signal-safe. A handler
/// may touch nothing but atomics and such calls, so it writes to the raw descriptor number.
extern "C" fn on_signal(sig: libc::c_int) {
    let mut msg = *b"caught 00\n";
    msg[7] = b'0' + (sig / 10 % 10) as u8;
    msg[8] = b'0' + (sig % 10) as u8;
    let fd = REPORT_FD.load(Ordering::Relaxed);
    // SAFETY: write is async-signal-safe; msg lives on this stack frame; fd is the report
    // pipe, which the child keeps open until it exits.
    unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
}

/// sigaction(sig, {on_signal, flags}): what the demo teaches, so made here in the open.
fn catch(sig: Signal, flags: SaFlags) -> nix::Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_signal), flags, SigSet::empty());
    // SAFETY: on_signal is async-signal-safe (an atomic load and one write(2)); the previous
    // action that nix returns is dropped, never called.
    let r = unsafe { nix::sys::signal::sigaction(sig, &action) }.map(drop);
    trace::record(
        "rt_sigaction",
        format!(
            "{}, {{sa_handler=on_signal, sa_flags={}}}, NULL, 8",
            sig.as_str(),
            if flags.contains(SaFlags::SA_RESTART) {
                "SA_RESTART"
            } else {
                "0"
            }
        ),
        trace::ret(&r.map(|()| 0)),
    );
    r
}

/// signal(sig, SIG_IGN), which glibc makes as rt_sigaction.
fn ignore(sig: Signal) -> nix::Result<()> {
    let r = process::ignore(sig);
    trace::record(
        "rt_sigaction",
        format!("{}, {{sa_handler=SIG_IGN}}, NULL, 8", sig.as_str()),
        trace::ret(&r.map(|()| 0)),
    );
    r
}

fn word(r: nix::Result<()>) -> String {
    match r {
        Ok(()) => "0".to_string(),
        Err(e) => format!("{e:?}"),
    }
}

fn mask(how: SigmaskHow, sigs: &[Signal]) -> nix::Result<()> {
    let mut set = SigSet::empty();
    for &s in sigs {
        set.add(s);
    }
    let r = nix::sys::signal::sigprocmask(how, Some(&set), None);
    let names: Vec<&str> = sigs
        .iter()
        .map(|s| s.as_str().trim_start_matches("SIG"))
        .collect();
    trace::record(
        "rt_sigprocmask",
        format!(
            "{}, [{}], NULL, 8",
            match how {
                SigmaskHow::SIG_BLOCK => "SIG_BLOCK",
                SigmaskHow::SIG_UNBLOCK => "SIG_UNBLOCK",
                _ => "SIG_SETMASK",
            },
            names.join(" ")
        ),
        trace::ret(&r.map(|()| 0)),
    );
    r
}

/// The child's side: obeys one-letter commands from the demo and answers on the report pipe.
fn child(cmd: &Pipe, report: Sender) -> i32 {
    REPORT_FD.store(
        report.as_fd().map_or(-1, |fd| fd.as_raw_fd()),
        Ordering::Relaxed,
    );
    let say = |s: &str| report.line(s);
    // A clean slate: Rust ignores SIGPIPE and the child inherited that.
    let _ = process::default_action(Signal::SIGPIPE);
    say("ready");
    let mut b = [0u8; 1];
    loop {
        match cmd.read(&mut b) {
            Ok(0) => return 0,
            Ok(_) => {}
            Err(_) => return 1,
        }
        match b[0] {
            b'c' => say(&format!(
                "ok {}",
                word(catch(Signal::SIGUSR1, SaFlags::SA_RESTART))
            )),
            b'i' => say(match ignore(Signal::SIGUSR2) {
                Ok(()) => "ok 0",
                Err(_) => "ok -1",
            }),
            b'b' => say(&format!(
                "ok {}",
                word(mask(SigmaskHow::SIG_BLOCK, &[Signal::SIGUSR1]))
            )),
            // A pending SIGUSR1 is delivered before sigprocmask returns: its "caught" line
            // comes before our "ok".
            b'u' => say(&format!(
                "ok {}",
                word(mask(SigmaskHow::SIG_UNBLOCK, &[Signal::SIGUSR1]))
            )),
            b'B' => say(&format!(
                "ok {}",
                word(mask(SigmaskHow::SIG_BLOCK, &[Signal::SIGUSR2]))
            )),
            b'V' => say(&format!(
                "ok {}",
                word(mask(SigmaskHow::SIG_UNBLOCK, &[Signal::SIGUSR2]))
            )),
            b'C' => say(&format!(
                "ok {}",
                word(mask(SigmaskHow::SIG_BLOCK, &[Signal::SIGCONT]))
            )),
            b'k' => {
                let kill = word(catch(Signal::SIGKILL, SaFlags::empty()));
                let stop = word(ignore(Signal::SIGSTOP));
                let block = word(mask(
                    SigmaskHow::SIG_BLOCK,
                    &[Signal::SIGKILL, Signal::SIGSTOP],
                ));
                say(&format!("ok {kill} {stop} {block}"));
            }
            _ => say("ok ?"),
        }
    }
}

/// The signals in a mask, by name: "SIGUSR1", "none".
fn names(m: SigMask) -> String {
    let v: Vec<String> = (1..=64)
        .filter(|&s| m.has(s))
        .map(crate::proc::signals::name)
        .collect();
    if v.is_empty() {
        "no signal".to_string()
    } else {
        v.join(", ")
    }
}

fn mask_ev(step: &mut Step, pid: i32, line: &str, what: &str) {
    let m = probe::sigmask(pid, line).unwrap_or_default();
    step.show_mut(
        format!("/proc/{pid}/status"),
        line,
        m.hex(),
        format!("{what}: {}", names(m)),
    );
}

/// A mask row that proves signal `sig` is in the mask (`want`) or not.
fn mask_fact(step: &mut Step, pid: i32, line: &str, sig: i32, want: bool, what: &str) {
    let source = format!("/proc/{pid}/status");
    match probe::sigmask(pid, line) {
        Some(m) => step.fact_mut(
            source,
            line,
            m.hex(),
            format!("{what} (mask: {})", names(m)),
            m.has(sig) == want,
        ),
        None => step.fact_mut(source, line, "(unreadable)", what.to_string(), false),
    }
}

/// What waitpid said, as the proof that it is `want`.
fn wait_fact(step: &mut Step, pid: i32, got: WaitStatus, want: WaitStatus, meaning: &str) {
    step.fact_mut(
        format!("waitpid({pid}, &status, WNOHANG)"),
        "status",
        describe(got),
        meaning.to_string(),
        got == want,
    );
}

/// Polls /proc until `pid` is in state `want`.
pub(crate) fn wait_state(rt: &Runtime, pid: i32, want: char, timeout: Duration) -> Result<char> {
    let start = Instant::now();
    loop {
        let st = probe::state(pid);
        if st == Some(want) {
            return Ok(want);
        }
        if start.elapsed() > timeout {
            bail!(
                "PID {pid} is in state {} instead of {want} after {timeout:?}",
                st.map(String::from).unwrap_or("gone".into())
            );
        }
        rt.sleep(Duration::from_millis(2))?;
    }
}

struct Talk<'a> {
    rt: &'a Runtime,
    cmd: Pipe,
    rep: Channel,
}

impl Talk<'_> {
    fn ask(&mut self, c: u8) -> Result<(Vec<String>, String)> {
        self.cmd.write_all(&[c]).map_err(std::io::Error::from)?;
        let mut caught = Vec::new();
        loop {
            match self.rep.recv(self.rt, Duration::from_secs(5))? {
                Some(l) if l.starts_with("caught") => caught.push(l),
                Some(l) => return Ok((caught, l)),
                None => bail!("the child closed its report pipe"),
            }
        }
    }
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    n.begin(
        "catch, ignore, block; SIGKILL and SIGSTOP cannot be",
        "The notes: a process can ignore, block or catch every signal except SIGSTOP and SIGKILL; \
         a signal that is not caught gets the kernel's default action. A child process does each \
         of these on command while we read its signal masks in /proc/PID/status (hex, bit N-1 \
         for signal N).",
    )?;

    let mut cmd = Pipe::new()?;
    let mut rep = Channel::new()?;
    let mut child = rt.spawn("signal demo child", || {
        cmd.close_write();
        let report = rep.child_side();
        child(&cmd, report)
    })?;
    cmd.close_read();
    rep.close_write();
    let pid = child.raw();
    let mut talk = Talk { rt, cmd, rep };

    let ready = talk.rep.recv(rt, Duration::from_secs(5))?;
    if ready.as_deref() != Some("ready") {
        bail!("the signal demo child did not start (said {ready:?})");
    }
    wait_state(rt, pid, 'S', Duration::from_secs(2))?;
    let usr1 = libc::SIGUSR1;
    let usr2 = libc::SIGUSR2;
    let mut s = Step::new("A child process to signal")
        .call("fork()", pid.to_string())
        .explain(
            "The child waits for commands on a pipe. Through fork it inherited the demo's \
             dispositions: the handlers for SIGSEGV and SIGBUS that the Rust runtime installs to \
             report stack overflows, and any signal the demo was started with ignored. Every \
             other signal would get its default action. The demo unblocked every signal in \
             the child, so that nothing it sends is held back by an inherited mask.",
        )
        .pid("child", pid)
        .try_it(format!("grep -E '^Sig|^ShdPnd' /proc/{pid}/status"));
    state_fact(
        rt,
        &mut s,
        pid,
        Some('S'),
        "S: sleeping, waiting for a command",
    )?;
    mask_ev(&mut s, pid, "SigCgt", "caught");
    mask_ev(&mut s, pid, "SigIgn", "ignored");
    let blk = probe::sigmask(pid, "SigBlk");
    s.fact_mut(
        format!("/proc/{pid}/status"),
        "SigBlk",
        blk.map_or("(unreadable)".into(), |m| m.hex()),
        "blocked: no signal",
        blk.is_some_and(|m| m.0 == 0),
    );
    n.step(s)?;

    // Catch.
    let (_, ok) = talk.ask(b'c')?;
    let ret = ok.trim_start_matches("ok ").to_string();
    let mut s = Step::new("Catch SIGUSR1: install a handler")
        .call(
            "sigaction(SIGUSR1, {handler, SA_RESTART}) in the child",
            ret.clone(),
        )
        .explain("SigCgt now has bit 9 set (0x200): signal 10, SIGUSR1, has a handler.")
        .pid("child", pid)
        .try_it(format!("grep SigCgt /proc/{pid}/status"));
    s.fact_mut(
        "sigaction(SIGUSR1)",
        "return",
        ret.clone(),
        "accepted",
        ret == "0",
    );
    mask_fact(&mut s, pid, "SigCgt", usr1, true, "SIGUSR1 is caught");
    n.step(s)?;

    child.signal(Signal::SIGUSR1)?;
    let line = talk.rep.recv(rt, Duration::from_secs(5))?;
    let mut s = Step::new("Send SIGUSR1: the handler runs")
        .call(format!("kill({pid}, SIGUSR1)"), "0")
        .explain(
            "The default action of SIGUSR1 is to terminate; the handler ran instead and the \
             child lives on.",
        )
        .pid("child", pid)
        .try_it("sh -c 'trap \"echo caught USR1\" USR1; kill -USR1 $$'");
    s.fact_mut(
        "report pipe",
        "line",
        line.clone().unwrap_or_else(|| "(nothing)".into()),
        "written by the handler inside the child: caught signal 10",
        line.as_deref() == Some("caught 10"),
    );
    state_fact(rt, &mut s, pid, Some('S'), "still alive, back to waiting")?;
    n.step(s)?;

    // Ignore.
    talk.ask(b'i')?;
    child.signal(Signal::SIGUSR2)?;
    let heard = talk.rep.quiet_for(rt, Duration::from_millis(200))?;
    let mut s = Step::new("Ignore SIGUSR2, then send it")
        .call(
            format!("signal(SIGUSR2, SIG_IGN) in the child; kill({pid}, SIGUSR2)"),
            "0",
        )
        .explain(
            "SIGUSR2 would terminate the child by default. Ignored, it is discarded when sent: \
             it is never pending and nothing runs (the next step shows the exception).",
        )
        .pid("child", pid)
        .try_it("sh -c 'trap \"\" USR2; kill -USR2 $$; echo still alive'");
    mask_fact(&mut s, pid, "SigIgn", usr2, true, "SIGUSR2 is ignored");
    mask_fact(
        &mut s,
        pid,
        "ShdPnd",
        usr2,
        false,
        "SIGUSR2 was discarded, not kept pending",
    );
    mask_fact(
        &mut s,
        pid,
        "SigPnd",
        usr2,
        false,
        "not pending for the thread either",
    );
    s.fact_mut(
        "report pipe",
        "line",
        heard
            .clone()
            .unwrap_or_else(|| "(nothing in 200 ms)".into()),
        "no handler ran",
        heard.is_none(),
    );
    state_fact(
        rt,
        &mut s,
        pid,
        Some('S'),
        "alive: the signal had no effect",
    )?;
    n.step(s)?;

    // Ignored and blocked: kept.
    talk.ask(b'B')?;
    child.signal(Signal::SIGUSR2)?;
    let mut s = Step::new("Ignore and block SIGUSR2, then send it: now it is kept")
        .call(
            format!("sigprocmask(SIG_BLOCK, {{SIGUSR2}}) in the child; kill({pid}, SIGUSR2)"),
            "0",
        )
        .explain(
            "An ignored signal is discarded only when it is not also blocked: a blocked one is \
             kept pending, because the process may change its disposition before it unblocks \
             it. Unblocked while still ignored, it is then thrown away.",
        )
        .pid("child", pid)
        .try_it(format!("grep -E 'SigIgn|SigBlk|ShdPnd' /proc/{pid}/status"));
    mask_fact(&mut s, pid, "SigIgn", usr2, true, "SIGUSR2 is ignored");
    mask_fact(&mut s, pid, "SigBlk", usr2, true, "and blocked");
    mask_fact(
        &mut s,
        pid,
        "ShdPnd",
        usr2,
        true,
        "so it is kept pending, not discarded",
    );
    talk.ask(b'V')?;
    let pending = probe::sigmask(pid, "ShdPnd");
    s.fact_mut(
        format!("/proc/{pid}/status"),
        "ShdPnd after unblocking",
        pending.map_or("(unreadable)".into(), |m| m.hex()),
        "unblocked while ignored: discarded now, and nothing ran",
        pending.is_some_and(|m| !m.has(usr2)),
    );
    state_fact(rt, &mut s, pid, Some('S'), "alive")?;
    n.step(s)?;

    // Block.
    talk.ask(b'b')?;
    child.signal(Signal::SIGUSR1)?;
    child.signal(Signal::SIGUSR1)?;
    let heard = talk.rep.quiet_for(rt, Duration::from_millis(200))?;
    let mut s = Step::new("Block SIGUSR1, then send it twice")
        .call(
            format!("sigprocmask(SIG_BLOCK, {{SIGUSR1}}) in the child; kill({pid}, SIGUSR1) twice"),
            "0",
        )
        .explain(
            "A blocked signal is not lost: it waits, pending. kill(2) targets the whole process, \
             so it shows in ShdPnd (SigPnd is the per-thread set that tgkill(2) fills).",
        )
        .pid("child", pid)
        .try_it(format!("grep -E 'SigBlk|SigPnd|ShdPnd' /proc/{pid}/status"));
    mask_fact(&mut s, pid, "SigBlk", usr1, true, "SIGUSR1 is blocked");
    mask_fact(
        &mut s,
        pid,
        "ShdPnd",
        usr1,
        true,
        "SIGUSR1 stays pending for the process",
    );
    // kill(2) queues on the thread group's shared set (ShdPnd), tgkill(2) on one thread's
    // (SigPnd): so since NPTL's thread groups (2.6); /proc/PID/status shows both since 2.6.
    mask_fact(
        &mut s,
        pid,
        "SigPnd",
        usr1,
        false,
        "not in the thread's own set: kill() sent it to the process",
    );
    s.fact_mut(
        "report pipe",
        "line",
        heard
            .clone()
            .unwrap_or_else(|| "(nothing in 200 ms)".into()),
        "the handler has not run",
        heard.is_none(),
    );
    n.step(s)?;

    let (caught, _) = talk.ask(b'u')?;
    let late = talk.rep.quiet_for(rt, Duration::from_millis(100))?;
    let deliveries = caught.len() + usize::from(late.is_some());
    let mut s = Step::new("Unblock SIGUSR1: the pending signal is delivered")
        .call("sigprocmask(SIG_UNBLOCK, {SIGUSR1}) in the child", "0")
        .explain(
            "The handler ran as soon as the signal was unblocked, once: a standard signal is a \
             single pending bit, so the second kill added nothing (real-time signals queue).",
        )
        .pid("child", pid)
        .try_it(format!("grep -E 'SigBlk|ShdPnd' /proc/{pid}/status"));
    s.fact_mut(
        "report pipe",
        "line",
        caught.first().cloned().unwrap_or("(nothing)".into()),
        "the handler ran on unblock, before sigprocmask returned",
        caught.first().map(String::as_str) == Some("caught 10"),
    );
    s.fact_mut(
        "report pipe",
        "handler runs",
        deliveries.to_string(),
        "deliveries for 2 signals sent while blocked",
        deliveries == 1,
    );
    mask_fact(&mut s, pid, "ShdPnd", usr1, false, "no longer pending");
    mask_fact(&mut s, pid, "SigBlk", usr1, false, "no longer blocked");
    n.step(s)?;

    // SIGKILL and SIGSTOP.
    let (_, ok) = talk.ask(b'k')?;
    let words: Vec<&str> = ok.split_whitespace().collect();
    let word = |i: usize| words.get(i).copied().unwrap_or("?").to_string();
    let mut s = Step::new("Try to catch SIGKILL, ignore SIGSTOP and block both")
        .pid("child", pid)
        .try_it("sh -c 'trap \"\" TERM KILL; kill -TERM $$; echo TERM ignored; kill -KILL $$; echo never printed'")
        .call(
            "sigaction(SIGKILL, handler); sigaction(SIGSTOP, SIG_IGN); \
             sigprocmask(SIG_BLOCK, {SIGKILL, SIGSTOP}) in the child",
            format!("{}, {}, {}", word(1), word(2), word(3)),
        )
        .explain(
            "The kernel refuses a handler or SIG_IGN for SIGKILL and SIGSTOP with EINVAL, and \
             sigprocmask silently leaves them out of the mask. Three cases still escape \
             them: a zombie (nothing left to kill), a task in D state (an uninterruptible \
             sleep acts on a signal, even SIGKILL, only when it wakes; TASK_KILLABLE sleeps, \
             such as a vfork parent's, are the exception), and the PID 1 of a PID namespace, \
             which drops both when they come from inside its namespace (the last step).",
        );
    s.fact_mut(
        "sigaction(SIGKILL)",
        "return",
        format!("-1 {}", word(1)),
        "cannot be caught",
        word(1) == "EINVAL",
    );
    s.fact_mut(
        "sigaction(SIGSTOP)",
        "return",
        format!("-1 {}", word(2)),
        "cannot be ignored",
        word(2) == "EINVAL",
    );
    s.fact_mut(
        "sigprocmask(SIG_BLOCK)",
        "return",
        word(3),
        "succeeds, and quietly blocks neither",
        word(3) == "0",
    );
    mask_fact(
        &mut s,
        pid,
        "SigBlk",
        libc::SIGKILL,
        false,
        "SIGKILL is not blocked",
    );
    mask_fact(
        &mut s,
        pid,
        "SigBlk",
        libc::SIGSTOP,
        false,
        "SIGSTOP is not blocked either",
    );
    mask_fact(
        &mut s,
        pid,
        "SigCgt",
        libc::SIGKILL,
        false,
        "SIGKILL has no handler",
    );
    n.step(s)?;

    // Stop and continue, with SIGCONT blocked.
    talk.ask(b'C')?;
    child.signal(Signal::SIGSTOP)?;
    let st = rt.wait_stop_change(&mut child, Duration::from_secs(5))?;
    wait_state(rt, pid, 'T', Duration::from_secs(2))?;
    let mut s = Step::new("SIGSTOP stops the child")
        .call(
            format!("sigprocmask(SIG_BLOCK, {{SIGCONT}}) in the child; kill({pid}, SIGSTOP)"),
            "0",
        )
        .explain(
            "Stopped although it asked to block SIGSTOP. The parent learns of it from \
             waitpid(WUNTRACED). The child also blocked SIGCONT, to see what that changes.",
        )
        .pid("child", pid)
        .try_it(format!("kill -STOP {pid}; ps -o pid,stat -p {pid}"));
    state_fact(rt, &mut s, pid, Some('T'), "T: stopped")?;
    s.fact_mut(
        format!("waitpid({pid}, &status, WUNTRACED|WNOHANG)"),
        "status",
        describe(st),
        "the stop is reported to the parent",
        st == WaitStatus::Stopped(child.pid, Signal::SIGSTOP),
    );
    n.step(s)?;

    child.signal(Signal::SIGCONT)?;
    let st = rt.wait_stop_change(&mut child, Duration::from_secs(5))?;
    wait_state(rt, pid, 'S', Duration::from_secs(2))?;
    let mut s = Step::new("SIGCONT continues it, although it is blocked")
        .call(format!("kill({pid}, SIGCONT)"), "0")
        .explain(
            "SIGCONT resumes a stopped process the moment it is sent, whether it is caught, \
             ignored or blocked: the kernel acts on it when it is generated, not when it is \
             delivered. The signal itself then follows the usual rules: blocked here, it stays \
             pending; a handler would run once it is unblocked. Running again, the child goes \
             back to sleeping in read(2) on its command pipe.",
        )
        .pid("child", pid)
        .try_it(format!(
            "kill -CONT {pid}; grep -E 'State|SigBlk|ShdPnd' /proc/{pid}/status"
        ));
    state_fact(rt, &mut s, pid, Some('S'), "S: sleeping again")?;
    mask_fact(
        &mut s,
        pid,
        "SigBlk",
        libc::SIGCONT,
        true,
        "SIGCONT (bit 18, 0x20000) is blocked...",
    );
    mask_fact(
        &mut s,
        pid,
        "ShdPnd",
        libc::SIGCONT,
        true,
        "...and pending: it resumed the child all the same",
    );
    s.fact_mut(
        format!("waitpid({pid}, &status, WCONTINUED|WNOHANG)"),
        "status",
        describe(st),
        "the parent is told of that too",
        st == WaitStatus::Continued(child.pid),
    );
    n.step(s)?;

    // Default action.
    child.signal(Signal::SIGTERM)?;
    let st = rt.reap(&mut child, Duration::from_secs(5))?;
    let mut s = Step::new("SIGTERM, not caught: the default action")
        .call(format!("kill({pid}, SIGTERM)"), "0")
        .pid("child", pid)
        .try_it("sleep 30 & kill -TERM $!; wait $!; echo \"exit status $?: 128 + 15\"")
        .explain(
            "No handler, not ignored, not blocked: the kernel applies the default action for \
             SIGTERM, which is to terminate. We reap the child with waitpid.",
        );
    wait_fact(
        &mut s,
        pid,
        st,
        WaitStatus::Signaled(child.pid, Signal::SIGTERM, false),
        "the child is gone, killed by SIGTERM",
    );
    state_fact(
        rt,
        &mut s,
        pid,
        None,
        "no /proc entry left: reaped, no zombie",
    )?;
    n.step(s)?;

    fault_step(rt, n)?;
    namespace_init_step(rt, n)?;

    Ok(String::from(
        "Caught, ignored and blocked signals, each visible in /proc/PID/status; SIGKILL and \
         SIGSTOP cannot be caught, ignored or blocked; SIGCONT resumes even when blocked; a \
         fault's signal is forced; a namespace's PID 1 drops SIGKILL from inside. Nothing is \
         left behind.",
    ))
}

/// A fault's signal cannot be ignored or blocked away: the kernel forces its default action.
fn fault_step(rt: &Runtime, n: &mut crate::teach::narrate::Narrator) -> Result<()> {
    let mut go = Gate::new()?;
    let mut rep = Channel::new()?;
    let mut f = rt.spawn("faulting child", || {
        go.child_side();
        let report = rep.child_side();
        // No core file, wherever core_pattern points: this death is on purpose.
        let _ = nix::sys::prctl::set_dumpable(false);
        let ign = word(ignore(Signal::SIGSEGV));
        let blk = word(mask(SigmaskHow::SIG_BLOCK, &[Signal::SIGSEGV]));
        report.line(&format!("ok {ign} {blk}"));
        if !go.wait() {
            return 2;
        }
        process::fault_with_sigsegv()
    })?;
    go.parent_side();
    rep.close_write();
    let fpid = f.raw();
    let ok = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    if ok != "ok 0 0" {
        bail!("the faulting child could not ignore and block SIGSEGV: {ok}");
    }
    wait_state(rt, fpid, 'S', Duration::from_secs(2))?;
    f.signal(Signal::SIGSEGV)?;
    let mut s = Step::new("A fault's SIGSEGV cannot be ignored or blocked away")
        .call(
            format!(
                "in PID {fpid}: signal(SIGSEGV, SIG_IGN); sigprocmask(SIG_BLOCK, {{SIGSEGV}}); \
                 kill({fpid}, SIGSEGV) from the demo; then a write to a page mapped PROT_NONE"
            ),
            "killed by SIGSEGV",
        )
        .explain(
            "A SIGSEGV sent with kill() obeys the disposition: ignored and blocked, it waits \
             pending. A SIGSEGV (or SIGBUS, SIGFPE, SIGILL) the kernel raises for a fault in the \
             instruction just executed does not: returning to that instruction would only \
             fault again, so force_sig_info() resets the signal to its default action and \
             unblocks it, and the process dies. (The child turned core dumps off first.)",
        )
        .pid("child", fpid)
        .try_it("sh -c 'trap \"\" SEGV; kill -SEGV $$; echo still alive'");
    mask_fact(
        &mut s,
        fpid,
        "SigIgn",
        libc::SIGSEGV,
        true,
        "SIGSEGV (bit 11, 0x400) ignored",
    );
    mask_fact(&mut s, fpid, "SigBlk", libc::SIGSEGV, true, "and blocked");
    mask_fact(
        &mut s,
        fpid,
        "ShdPnd",
        libc::SIGSEGV,
        true,
        "kill(SIGSEGV) only left it pending",
    );
    state_fact(rt, &mut s, fpid, Some('S'), "alive after kill(SIGSEGV)")?;
    go.send().context("write to the faulting child")?;
    let st = rt.reap(&mut f, Duration::from_secs(5))?;
    wait_fact(
        &mut s,
        fpid,
        st,
        WaitStatus::Signaled(f.pid, Signal::SIGSEGV, false),
        "the fault killed it: SIGSEGV forced to its default action",
    );
    n.step(s)?;
    Ok(())
}

/// The PID 1 of a PID namespace drops SIGKILL and SIGSTOP sent from inside its namespace,
/// and dies of a SIGKILL from its parent's namespace. Needs root (CLONE_NEWPID) or
/// unprivileged user namespaces (CLONE_NEWUSER|CLONE_NEWPID).
fn namespace_init_step(rt: &Runtime, n: &mut crate::teach::narrate::Narrator) -> Result<()> {
    use nix::sched::CloneFlags;
    let (tx, mut rx) = crate::teach::runtime::channel()?;
    let mut gate = Gate::new()?;
    // The clone glibc's fork() makes, as the runtime found it out (recorded as fork when
    // it could not); the children below record their forks with it.
    let fork_args = if trace::on() { rt.fork_call() } else { None };
    let record_fork = |pid: i32, result: String| match &fork_args {
        Some(args) => trace::record_for(pid, "clone", args, result),
        None => trace::record_for(pid, "fork", "", result),
    };
    let mut maker = rt.spawn("namespace maker", || {
        gate.child_side();
        let me = nix::unistd::getpid().as_raw();
        let plain = nix::sched::unshare(CloneFlags::CLONE_NEWPID);
        trace::record("unshare", "CLONE_NEWPID", trace::ret(&plain.map(|()| 0)));
        let how = if plain.is_ok() {
            "unshare(CLONE_NEWPID)"
        } else {
            let user = nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWPID);
            trace::record(
                "unshare",
                "CLONE_NEWUSER|CLONE_NEWPID",
                trace::ret(&user.map(|()| 0)),
            );
            match user {
                Ok(()) => "unshare(CLONE_NEWUSER|CLONE_NEWPID)",
                Err(e) => {
                    tx.send(&serde_json::json!({ "refused": e.desc() }));
                    return 0;
                }
            }
        };
        let init = crate::teach::runtime::fork_child(true, || {
            // PID 1 of the new namespace: getpid() says 1 here, the demo knows it by the
            // PID its parent's fork returned, and so does strace -f.
            let init_outer = trace::outer_pid();
            let inner = crate::teach::runtime::fork_child(true, || {
                // Only this child can know its PID outside (its parent's fork returns the
                // one inside): it records that fork for its parent.
                let outer = trace::outer_pid();
                let inside = nix::unistd::getpid().as_raw();
                record_fork(init_outer, trace::ns_pid(inside, outer));
                let init_pid = trace::ns_pid(1, init_outer);
                let k = nix::sys::signal::kill(nix::unistd::Pid::from_raw(1), Signal::SIGKILL);
                trace::record_for(
                    outer,
                    "kill",
                    format!("{init_pid}, SIGKILL"),
                    trace::ret(&k.map(|()| 0)),
                );
                let s = nix::sys::signal::kill(nix::unistd::Pid::from_raw(1), Signal::SIGSTOP);
                trace::record_for(
                    outer,
                    "kill",
                    format!("{init_pid}, SIGSTOP"),
                    trace::ret(&s.map(|()| 0)),
                );
                tx.send(&serde_json::json!({
                    "kill": word(k),
                    "stop": word(s),
                    "inner": inside,
                }));
                0
            });
            if let Ok(p) = inner {
                let ws = nix::sys::wait::waitpid(p, None);
                if let Ok(ws) = ws {
                    trace::record_for(
                        init_outer,
                        "wait4",
                        format!("{}, {}, 0, NULL", p, trace::status(ws)),
                        p.to_string(),
                    );
                }
            }
            tx.send(&serde_json::json!({ "init": nix::unistd::getpid().as_raw() }));
            gate.wait();
            0
        });
        let Ok(init) = init else { return 1 };
        record_fork(me, init.to_string());
        tx.send(&serde_json::json!({ "outer": init.as_raw(), "how": how }));
        let ws = nix::sys::wait::waitpid(init, None);
        if let Ok(ws) = ws {
            trace::record(
                "wait4",
                format!("{init}, {}, 0, NULL", trace::status(ws)),
                init.to_string(),
            );
        }
        tx.send(&serde_json::json!({ "ended": ws.map(describe).unwrap_or_default() }));
        0
    })?;
    drop(tx);
    let mpid = maker.raw();
    let mut s = Step::new("The PID 1 of a PID namespace ignores SIGKILL from inside")
        .pid("maker", mpid)
        .try_it("sudo unshare --pid --fork --mount-proc sh -c 'kill -9 1; echo \"PID 1 ($$) survived\"'");
    let mut got = serde_json::Map::new();
    // Three messages: the namespace made (or refused), the inner kill's results, PID 1's.
    while !(got.contains_key("refused")
        || (got.contains_key("outer") && got.contains_key("init") && got.contains_key("kill")))
    {
        match rx.json_or_eof(rt, Duration::from_secs(5))? {
            Some(serde_json::Value::Object(m)) => got.extend(m),
            Some(_) => {}
            None => bail!("the namespace maker (PID {mpid}) stopped before it reported"),
        }
    }
    if let Some(why) = got.get("refused") {
        rt.reap(&mut maker, Duration::from_secs(5))?;
        n.step(
            s.call("unshare(CLONE_NEWPID), then unshare(CLONE_NEWUSER|CLONE_NEWPID)", format!("-1: {}", why.as_str().unwrap_or("?")))
                .explain("A new PID namespace needs root, or unprivileged user namespaces, which this system refuses: the step cannot be shown here. What it shows elsewhere: the PID 1 of a namespace drops SIGKILL and SIGSTOP sent from inside the namespace (it has no handler for them, and the kernel protects it as init), while a SIGKILL from the parent namespace kills it, and with it every process of the namespace."),
        )?;
        return Ok(());
    }
    let outer = got["outer"].as_i64().unwrap_or(0) as i32;
    let inner = got["inner"].as_i64().unwrap_or(0);
    let how = got["how"].as_str().unwrap_or("?").to_string();
    let nspid = probe::status_field(&rt.procfs, outer, "NSpid").replace('\t', " ");
    s = s
        .call(
            format!("{how}; fork() → PID 1 of the namespace ({outer} outside); it forks PID {inner} inside, which calls kill(1, SIGKILL) and kill(1, SIGSTOP)"),
            format!("{}, {}", got["kill"].as_str().unwrap_or("?"), got["stop"].as_str().unwrap_or("?")),
        )
        .explain("Inside its namespace a process is PID 1, and the kernel protects it as init: a signal it has no handler for is dropped when it comes from inside the namespace, and SIGKILL and SIGSTOP can have no handler. kill() still returns 0. From the parent namespace SIGKILL and SIGSTOP are delivered, and the death of a namespace's PID 1 kills every other process in it. (The host's own PID 1 has no parent namespace: no kill() reaches it with a signal it has no handler for.)")
        .pid("ns_init", outer);
    s.fact_mut(
        format!("/proc/{outer}/status"),
        "NSpid",
        &nspid,
        "its PID here, then in its own namespace: 1",
        nspid.split_whitespace().last() == Some("1"),
    );
    s.fact_mut(
        format!("kill(1, SIGKILL) in PID {inner} (inside)"),
        "return",
        got["kill"].as_str().unwrap_or("?"),
        "accepted...",
        got["kill"] == "0",
    );
    state_fact(
        rt,
        &mut s,
        outer,
        Some('S'),
        "...and dropped: PID 1 is alive and not stopped",
    )?;
    let killed = nix::sys::signal::kill(nix::unistd::Pid::from_raw(outer), Signal::SIGKILL);
    trace::record(
        "kill",
        format!("{outer}, SIGKILL"),
        trace::ret(&killed.map(|()| 0)),
    );
    let ended = loop {
        match rx.json_or_eof(rt, Duration::from_secs(5))? {
            Some(v) if v.get("ended").is_some() => {
                break v["ended"].as_str().unwrap_or("").to_string();
            }
            Some(_) => {}
            None => break String::new(),
        }
    };
    s.fact_mut(
        format!("kill({outer}, SIGKILL) from the demo (outside)"),
        "its end",
        &ended,
        "from the parent namespace SIGKILL is delivered",
        ended == "killed by SIGKILL",
    );
    rt.reap(&mut maker, Duration::from_secs(5))?;
    n.step(s)?;
    Ok(())
}
