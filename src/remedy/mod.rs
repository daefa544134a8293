//! Remedies: the only code that sends signals. A fix is planned from the diagnosis
//! (plan.rs, with the refusals of safety.rs), confirmed by the app layer, then carried out and
//! checked (act.rs, through the process handles of proc/handle.rs). The result is a `FixReport` of data and
//! enums (`Note`, `ActError`, `NextStep`, `Refusal`); report/fix.rs says them in words, for
//! people and as the JSON below.
//!
//! JSON shape (one object; durations in milliseconds):
//!
//! ```text
//! { "remedy": "signal-parent|kill-parent|ignore|auto", "dry_run": bool, "executed": bool,
//!   "grace_ms": u64, "timeout_ms": u64, "settle_ms": u64, "ignore_file": string|null,
//!   "parents": [ { "pid", "comm", "exe", "uid", "user", "state", "sigchld",
//!       "remedy": "signal-parent|kill-parent|ignore|fix-init|detach-tracer",
//!       "outcome": "planned|refused|advised|ignored|cleared|remaining",
//!       "refusal": "namespace-init|kernel-thread|this-tool|ancestor|session-leader|critical|unverified|held-by-tracer"|null,
//!       "reason": string|null,          // why refused, the advice, or what ignore recorded
//!       "signals": [ { "signal": "SIGCONT", "at_ms": u64 } ],
//!       "exited": { "after_ms": u64, "signal": "SIGTERM|SIGKILL" }|null,
//!       "adopter": { "pid", "comm", "namespace_init": bool, "reaped": bool }|null,
//!       "zombies": [ { "pid", "comm", "cleared": bool, "after_ms": u64|null } ],
//!       "total": usize, "cleared": usize, "elapsed_ms": u64|null,
//!       "error": string|null, "next": string|null,
//!       "reaped_on_its_own": bool,          // cleared during --settle, before anything was sent
//!       "also_hides": [ { "pid", "comm", "zombies" } ] } ],   // --ignore: other parents hidden
//!   "summary": { "parents", "zombies", "cleared", "remaining", "refused", "skipped_ignored" },
//!   "success": bool }
//! ```

mod act;

mod plan;
pub mod safety;

use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use serde::Serialize;

use crate::diagnose::{Disposition, ParentFinding, ProcessRef, Remedy};
use crate::proc::Pid;

pub use act::execute;
pub use plan::{TargetError, plan};
pub use safety::Refusal;

/// The remedy asked for on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    SignalParent,
    KillParent,
    Ignore,
    /// Make the parent call wait4() for them (ptrace).
    Reap,
    /// Each parent's recommended remedy.
    Auto,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::SignalParent => "signal-parent",
            Choice::KillParent => "kill-parent",
            Choice::Ignore => "ignore",
            Choice::Reap => "reap",
            Choice::Auto => "auto",
        }
    }
}

/// Which parents to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// This parent of zombies.
    Parent(Pid),
    /// The parent of this zombie.
    Zombie(Pid),
    /// Every parent with zombies that is not on the ignore list.
    All,
}

/// A fix, as resolved from the command line.
#[derive(Clone, Debug)]
pub struct Request {
    pub choice: Choice,
    pub target: Target,
    /// Lifts the critical-name refusal, and nothing else.
    pub force: bool,
    /// SIGTERM to SIGKILL.
    pub grace: Duration,
    /// How long to wait for the zombies to be reaped (and for a SIGKILLed parent to die).
    pub timeout: Duration,
    /// How long to give the parents to reap on their own before any signal: a zombie seen a
    /// moment before its parent's wait() is not a reason to kill that parent.
    pub settle: Duration,
    /// --ignore: record the parent's uid in the entry.
    pub ignore_same_user: bool,
    /// --ignore: the entry's note.
    pub ignore_note: Option<String>,
    /// --auto: reap instead of killing a parent or advising fix-init.
    pub prefer_reap: bool,
    /// --reap: leave zombies younger than this alone (their parent may yet ask for them).
    pub min_age: Duration,
}

/// What happened to one parent (or, before acting, what will).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Will be acted on (dry run, or before confirmation).
    Planned,
    /// A safety rule forbids it; nothing was sent.
    Refused,
    /// --auto: the recommendation is fix-init or ignore, which fix reports but does not do.
    Advised,
    /// --ignore: the parent is on the ignore list.
    Ignored,
    /// Every targeted zombie is gone.
    Cleared,
    /// Some targeted zombies are still there after --timeout.
    Remaining,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Refused => "refused",
            Outcome::Advised => "advised",
            Outcome::Ignored => "ignored",
            Outcome::Cleared => "cleared",
            Outcome::Remaining => "remaining",
        }
    }
}

/// A signal fix sent, and when (since it began with this parent).
#[derive(Clone, Debug, Serialize)]
pub struct Sent {
    pub signal: &'static str,
    pub at_ms: u64,
}

/// How a killed parent died.
#[derive(Clone, Debug, Serialize)]
pub struct Exited {
    pub after_ms: u64,
    /// The last signal sent before it exited: SIGTERM, or SIGKILL after the grace time.
    pub signal: &'static str,
}

/// Who took the zombies after their parent died, as their PPid showed it.
#[derive(Clone, Debug, Serialize)]
pub struct ObservedAdopter {
    pub pid: Pid,
    pub comm: Option<String>,
    /// PID 1 of its namespace (else a child subreaper).
    pub namespace_init: bool,
    /// Whether it reaped every adopted zombie within the timeout.
    pub reaped: bool,
}

/// One targeted zombie.
#[derive(Clone, Debug, Serialize)]
pub struct ZombieResult {
    pub pid: Pid,
    pub comm: String,
    pub cleared: bool,
    /// When it was gone, since the first signal to its parent.
    pub after_ms: Option<u64>,
    /// --reap: why it was left alone.
    pub skipped: Option<Skip>,
    #[serde(skip)]
    pub start_ticks: u64,
}

/// Why --reap left a zombie alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// Younger than --min-age: its parent may yet ask for its exit status.
    TooYoung,
}

/// How old the zombies are, as far as fix can tell: when each was first seen (check's state
/// file, or the exact death time `zombies watch --state` put there). Without an entry, a
/// zombie's start time bounds its age from above.
pub type FirstSeen = std::collections::HashMap<(Pid, u64), u64>;

/// What --reap wants the user to know about a parent it held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReapWarning {
    /// It sat in epoll_wait, which returns EINTR to the program after any ptrace stop.
    EpollEintr,
}

/// What fix says about a parent besides its outcome (the JSON `reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// What will be sent, and what should follow.
    Plan,
    /// A safety rule forbids acting (the `refusal`).
    Refused(Refusal),
    /// --auto: the recommendation, reported and not acted on.
    Advice(Advice),
    /// --ignore: the parent is on the list already.
    AlreadyIgnored,
    /// --ignore: the entry (its key) that will be added.
    WillIgnore { key: String },
    /// --ignore: the entry (its key) that was added.
    Ignored { key: String },
    /// The parent reaped every targeted zombie itself during --settle: nothing was sent.
    ReapedOnItsOwn,
}

/// The recommendations --auto reports without acting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Asleep in wait(): give it time.
    IgnoreForNow,
    Ignore,
    FixInit,
    DetachTracer,
}

/// What went wrong while acting on a parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActError {
    /// It exited before fix acted; nothing was sent (its zombies went to an adopter).
    ExitedBeforeFix,
    /// Its PID now names another process; nothing was sent.
    Recycled,
    /// It could not be opened (EMFILE, ...); nothing was sent.
    CannotOpen(Errno),
    /// EPERM: only root or its owner may signal it.
    NotPermitted,
    /// It exited before this signal could be sent.
    ExitedBefore(Signal),
    SendFailed(Signal, Errno),
    /// It outlived SIGKILL: stuck in the kernel, in this state and wait channel.
    Stuck {
        state: Option<char>,
        wchan: Option<String>,
    },
    /// --reap: the injection of wait4 failed (see InjectError).
    Reap(crate::sys::ptrace::InjectError),
    /// --reap: ptrace was refused (EPERM); Yama's ptrace_scope when it is set.
    ReapDenied {
        yama_scope: Option<u8>,
    },
    /// --reap: no thread of the parent is alive to hold.
    NoLiveThread,
    /// --reap: the parent died while or after it was held.
    ParentDied,
}

/// What to try when zombies remain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Tracers hold `held` of the zombies still there.
    HeldByTracers {
        held: usize,
        tracers: Vec<ProcessRef>,
    },
    /// signal-parent: the parent is stopped by its tracer, which holds the signals.
    StoppedByTracer,
    /// signal-parent: SIGCHLD is blocked, so the nudge stays pending.
    SigchldBlocked,
    /// signal-parent: the handler ran and did not reap (within the timeout).
    HandlerDidNotReap,
    /// signal-parent: SIGCHLD is ignored; the nudge did nothing.
    SigchldIgnored,
    /// signal-parent: SIGCHLD at its default; the nudge did nothing.
    SigchldDefault,
    /// kill-parent: the parent is still alive (see the error).
    StillAlive,
    /// kill-parent: the adopter is PID 1 of its namespace and does not reap.
    FixInit,
    /// kill-parent: the adopter is a subreaper that does not reap (within the timeout).
    FixSubreaper,
    /// kill-parent: they were adopted by someone fix did not see.
    SeeList,
    /// reap: this many zombies are younger than --min-age and were left alone.
    TooYoung(usize),
    /// reap: it failed and the parent was left as it was; kill-parent or fix-init remain.
    ReapFailed,
}

/// The plan and the result for one parent.
#[derive(Clone, Debug)]
pub struct ParentResult {
    pub pid: Pid,
    pub comm: String,
    pub exe: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// Its state when scanned.
    pub state: String,
    pub sigchld: Disposition,
    /// The remedy for this parent (for --auto, its recommendation).
    pub remedy: Remedy,
    pub outcome: Outcome,
    pub refusal: Option<Refusal>,
    pub note: Option<Note>,
    pub signals: Vec<Sent>,
    pub exited: Option<Exited>,
    pub adopter: Option<ObservedAdopter>,
    pub zombies: Vec<ZombieResult>,
    pub total: usize,
    pub cleared: usize,
    /// From the first signal until the last zombie was gone; null while some remain.
    pub elapsed_ms: Option<u64>,
    /// What went wrong while acting (permission denied, the parent vanished, ...).
    pub error: Option<ActError>,
    /// What to try next when the zombies remain.
    pub next: Option<NextStep>,
    /// The parent reaped every targeted zombie by itself during --settle, so nothing was sent
    /// and no remedy takes the credit.
    pub reaped_on_its_own: bool,
    /// --ignore: the other parents there are now that the new entry also hides (an entry
    /// keyed by executable hides every parent running it).
    pub also_hides: Vec<HiddenParent>,
    /// --reap: how long the parent was held.
    pub paused_ms: Option<u64>,
    /// --reap: what holding it may have done to it.
    pub warning: Option<ReapWarning>,
    /// The diagnosis this rests on.
    pub finding: ParentFinding,
}

impl ParentResult {
    /// Whether fix is to send signals to it.
    pub fn acts(&self) -> bool {
        self.outcome == Outcome::Planned
    }

    /// Whether this parent counts as done for the exit status.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Cleared | Outcome::Ignored)
    }
}

/// A parent an ignore-list entry would hide besides the one it was made for.
#[derive(Clone, Debug, Serialize)]
pub struct HiddenParent {
    pub pid: Pid,
    pub comm: String,
    /// Its zombies now.
    pub zombies: usize,
}

/// Totals over the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FixSummary {
    pub parents: usize,
    pub zombies: usize,
    pub cleared: usize,
    pub remaining: usize,
    pub refused: usize,
    /// --all: parents left alone because they are on the ignore list.
    pub skipped_ignored: usize,
}

/// Everything `zombies fix` planned and did.
#[derive(Clone, Debug)]
pub struct FixReport {
    pub remedy: Choice,
    pub dry_run: bool,
    /// Whether the plan was carried out (false for a dry run or a refusal to proceed).
    pub executed: bool,
    pub grace_ms: u64,
    pub timeout_ms: u64,
    /// How long the parents were given to reap on their own before anything was sent.
    pub settle_ms: u64,
    /// --reap: zombies younger than this were left alone.
    pub min_age_ms: u64,
    /// The ignore list written (--ignore) or consulted (--all).
    pub ignore_file: Option<String>,
    pub parents: Vec<ParentResult>,
    pub summary: FixSummary,
    /// True when the exit status is 0.
    pub success: bool,
}

impl FixReport {
    /// Whether any parent is to be acted on (so confirmation is needed).
    pub fn has_actions(&self) -> bool {
        self.parents.iter().any(ParentResult::acts)
    }

    /// Recomputes the summary and the success flag from the parents.
    pub fn finish(&mut self) {
        let mut s = FixSummary {
            skipped_ignored: self.summary.skipped_ignored,
            parents: self.parents.len(),
            ..FixSummary::default()
        };
        for p in &self.parents {
            s.zombies += p.total;
            s.cleared += p.cleared;
            if p.outcome == Outcome::Refused {
                s.refused += 1;
            }
        }
        s.remaining = s.zombies - s.cleared;
        self.summary = s;
        self.success = if self.executed {
            self.parents.iter().all(ParentResult::succeeded)
        } else {
            // A plan (a dry run) succeeds unless a target would be refused: advice such as
            // fix-init is what fix has to say, not a failure of the plan.
            self.parents.iter().all(|p| p.outcome != Outcome::Refused)
        };
    }
}

/// Whether the procfs at `root` numbers processes as our own PID namespace does: fix sends
/// signals by PID, so it refuses to act on another namespace's procfs (`--proc /host/proc`).
pub fn same_pid_namespace(root: &Path) -> bool {
    std::fs::read_link(root.join("self"))
        .ok()
        .and_then(|t| t.to_str()?.parse::<u32>().ok())
        == Some(std::process::id())
}

/// Milliseconds, saturating.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
