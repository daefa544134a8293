//! The words for a diagnosis: why each parent gets its remedy, who would adopt its zombies,
//! and what each remedy would do. list, tree, explain, fix and their JSON all say these
//! sentences, and only this module writes them. Names are given raw (as the JSON carries
//! them); text outputs pass whole sentences through `printable`.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::diagnose::{
    Adopter, AdopterBasis, AdopterVerdict, AfterRelease, Cause, Disposition, Explanation, Grounds,
    ParentFinding, ProcessRef, Remedy, RemedyChoice, is_critical_name,
};

/// "4242 (gdb)", or "4242" when its name is unknown; raw, as in the reason.
fn raw_named(r: &ProcessRef) -> String {
    match &r.comm {
        Some(c) => format!("{} ({c})", r.pid),
        None => r.pid.to_string(),
    }
}

/// The tracers that hold some of `f`'s zombies, named and joined.
fn holders(f: &ParentFinding) -> String {
    f.holding_tracers()
        .iter()
        .map(|(t, _)| raw_named(t))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "it" or "them", for `n` zombies.
fn them(n: usize) -> &'static str {
    if n == 1 { "it" } else { "them" }
}

/// Why the parent has not reaped, in a few words.
pub fn cause(c: Cause) -> &'static str {
    match c {
        Cause::CaughtButBlocked => "catches SIGCHLD but blocks it",
        Cause::HandlerDidNotReap => "has a SIGCHLD handler that has not reaped them",
        Cause::IgnoredTooLate => {
            "ignores SIGCHLD now, which does not reap zombies made before it did"
        }
        Cause::DefaultButBlocked => {
            "blocks SIGCHLD, which has no handler, and has not reaped them (a program that collects children with signalfd or sigwaitinfo may yet)"
        }
        Cause::NoWait => "leaves SIGCHLD at its default and has not called wait() for them",
        Cause::Uninspectable => "could not be inspected",
    }
}

/// What the parent does with zombies a tracer hands back.
fn after_release(comm: &str, a: AfterRelease, them: &str) -> String {
    match a {
        AfterRelease::WaitReaps => format!("{comm} is in wait() and reaps {them} at once"),
        AfterRelease::KernelReaps => {
            format!("{comm} ignores SIGCHLD, so the kernel reaps {them} at once")
        }
        AfterRelease::HandlerReaps => format!("{comm} should reap {them} in its SIGCHLD handler"),
        AfterRelease::StillHasTo(_) => format!("{comm} still has to reap {them} (see kill-parent)"),
    }
}

/// The one sentence that says why `f` gets its recommended remedy (JSON `reason`).
pub fn reason(f: &ParentFinding) -> String {
    let comm = f.comm.as_str();
    let held = f.held_by_tracers();
    let them = them(held);
    let holders = holders(f);
    let mut why = match f.grounds {
        Grounds::KernelThread => {
            return format!(
                "{comm} is a kernel thread: it cannot be signalled or killed; the zombies are harmless unless they pile up"
            );
        }
        Grounds::AllHeld(after) => {
            let then = match after {
                AfterRelease::StillHasTo(c) => {
                    format!("then {comm} still has to reap {them}: it {}", cause(c))
                }
                a => format!("then {}", after_release(comm, a, them)),
            };
            return format!(
                "{comm}'s {} traced by {holders}: a traced child that exits can be reaped only by its tracer until the tracer waits for it or lets go, not by its parent, even in wait(); killing the parent would not help, since its adopter could not reap {them} either; {then}",
                if held == 1 {
                    "zombie is"
                } else {
                    "zombies are"
                }
            );
        }
        Grounds::NamespaceInit => format!(
            "{comm} is PID 1 of its PID namespace and has not reaped these children; a real init (systemd, tini) reaps within moments, so if they persist it is not one: in a container, run a real init (`docker run --init`, tini); killing PID 1 would stop everything in the namespace"
        ),
        Grounds::HandlerShouldReap => {
            let mut why = format!(
                "{comm} has a SIGCHLD handler that is not blocked, so a nudge with SIGCHLD should make it reap"
            );
            if f.state == "T" || f.state == "t" {
                why.push_str("; it is stopped, so the fix sends SIGCONT first");
            }
            why
        }
        Grounds::OwnSession(c) => format!(
            "{comm} {}, but it is an ancestor of this shell or its session leader: killing it would end your own session; restart it when convenient",
            cause(c)
        ),
        Grounds::WaitsForOthers => format!(
            "{comm} is blocked in wait() but has not reaped them: it waits for other children (waitpid() on one PID, or a process group) and may reap these when that wait returns; if they stay, only its death gets them adopted and reaped (kill-parent)"
        ),
        Grounds::OnlyDeath(c) => {
            let mut why = format!(
                "{comm} {}: only its death will get the zombies adopted and reaped",
                cause(c)
            );
            if is_critical_name(comm) {
                why.push_str(&format!(
                    "; {comm} is a critical service, so fix needs --force (or choose ignore)"
                ));
            }
            why
        }
    };
    if held > 0 {
        why.push_str(&format!(
            "; {held} of them {} traced by {holders}, which must let go of {them} first: killing the parent does not free {them}, since the adopter could not reap {them} either",
            if held == 1 { "is" } else { "are" },
        ));
    }
    if let Some(t) = &f.tracer {
        let t = raw_named(t);
        match f.grounds {
            Grounds::HandlerShouldReap => why.push_str(&format!(
                "; it is traced by {t}, which may hold the signal until it lets it run"
            )),
            Grounds::OnlyDeath(_) => why.push_str(&format!(
                "; it is traced by {t}, which may hold the SIGTERM until it lets it run (the SIGKILL after the grace time is never held)"
            )),
            _ => {}
        }
    }
    // kill-parent turned into fix-init: the adopter would only collect these too.
    if matches!(f.grounds, Grounds::OnlyDeath(_)) && f.adopter.verdict == AdopterVerdict::NotReaping
    {
        if let Some(init) = f.adopter.pid {
            why.push_str(&format!(
                "; but its adopter {init} ({}) is PID 1 of the namespace and is not reaping its own zombies, so killing it would only move these there: fix the init first",
                f.adopter.comm.as_deref().unwrap_or("?")
            ));
        }
    }
    why
}

/// How sure we are of the adopter, and what could make it otherwise (JSON `adopter.note`).
pub fn adopter_note(a: &Adopter) -> &'static str {
    match a.basis {
        AdopterBasis::ParentIsInit => {
            "the parent is PID 1 of its namespace: if it dies the kernel kills every process in the namespace and the zombies go with it"
        }
        AdopterBasis::KnownSubreaper => {
            "likely: it is a well-known child subreaper (PR_SET_CHILD_SUBREAPER) between the parent and init; observe after the fact"
        }
        AdopterBasis::NamespaceInit => {
            "the init of its PID namespace, unless an ancestor is a child subreaper (PR_SET_CHILD_SUBREAPER, which /proc does not show): observe after the fact"
        }
        AdopterBasis::NotVisible => {
            "cannot be known: the init of the parent's PID namespace is not visible from this procfs"
        }
    }
}

/// "sleep (1)": how the remedies name the adopter.
fn adopter_name(a: &Adopter) -> String {
    match (a.pid, &a.comm) {
        (Some(p), Some(c)) => format!("{c} ({p})"),
        (Some(p), None) => format!("PID {p}"),
        _ => "an adopter that cannot be known".to_string(),
    }
}

/// What happens to the zombies in the adopter's hands, from its verdict: the one sentence
/// explain and fix both use.
pub fn adopter_outcome(a: &Adopter) -> String {
    let name = adopter_name(a);
    match a.verdict {
        AdopterVerdict::ShouldReap => {
            format!("the zombies are adopted by {name}, which should reap them")
        }
        AdopterVerdict::NotReaping => format!(
            "the zombies would be adopted by {name}, PID 1 of the namespace, which is not reaping its own zombies: they would only move there"
        ),
        AdopterVerdict::NamespaceEnds => {
            "the whole PID namespace ends with it, and its zombies with it".to_string()
        }
        AdopterVerdict::Unknown => {
            "the zombies are adopted by an init or subreaper that cannot be seen from this procfs"
                .to_string()
        }
    }
}

/// What applying `remedy` to `f` would do.
pub fn remedy_effect(f: &ParentFinding, remedy: Remedy) -> String {
    let held = f.held_by_tracers();
    let all_held = held > 0 && held == f.zombies.len();
    let holders = holders(f);
    let partly = |mut s: String, applies: bool| {
        if held > 0 && !all_held && applies {
            s.push_str(&format!(
                "; not the {held} traced by {holders}, which stay until it lets go"
            ));
        }
        s
    };
    match remedy {
        Remedy::SignalParent if all_held => format!(
            "none: the zombies are traced by {holders}, which alone can reap them until it lets go"
        ),
        Remedy::SignalParent => {
            let s = match (f.sigchld, f.sigchld_blocked) {
                (Disposition::Caught, false) => {
                    "its SIGCHLD handler runs; the zombies go if the handler calls wait()"
                        .to_string()
                }
                (Disposition::Caught, true) => {
                    "SIGCHLD stays pending while it is blocked: no effect until the parent unblocks it"
                        .to_string()
                }
                (Disposition::Unknown, _) => {
                    "unknown: the parent's status could not be read".to_string()
                }
                _ => format!(
                    "none: SIGCHLD is {} by the parent, so it is discarded",
                    if f.sigchld == Disposition::Ignored {
                        "ignored"
                    } else {
                        "left at its default"
                    }
                ),
            };
            partly(s, true)
        }
        Remedy::KillParent if f.pid_ns_init => {
            "refused: it is PID 1 of its namespace; killing it kills the whole container"
                .to_string()
        }
        Remedy::KillParent if all_held => format!(
            "no use: the zombies are traced by {holders}, so their adopter could not reap them either until it lets go; it would only end {}",
            f.comm
        ),
        Remedy::KillParent => partly(
            format!(
                "SIGTERM, then SIGKILL after the grace time; {}",
                adopter_outcome(&f.adopter)
            ),
            true,
        ),
        Remedy::Ignore => "nothing changes; list and check stop reporting this parent".to_string(),
        Remedy::DetachTracer => {
            let them = them(held);
            format!(
                "{holders} lets go of {them} (the debugger or strace detaches or quits, or it is killed): the kernel hands {them} back to {}, and {}",
                f.pid,
                after_release(
                    &f.comm,
                    AfterRelease::of(f.in_wait, f.sigchld, f.sigchld_blocked),
                    them
                )
            )
        }
        Remedy::Reap if all_held => format!(
            "none: the zombies are traced by {holders}, which alone can reap them until it lets go"
        ),
        Remedy::Reap => partly(
            format!(
                "{} calls wait4() for them itself, held by ptrace for about a millisecond, and carries on: no signal, no restart{}; its own later waitpid() of these children gets ECHILD",
                f.comm,
                if f.pid_ns_init {
                    ", the whole container stays up"
                } else {
                    ""
                }
            ),
            true,
        ),
        Remedy::FixInit if f.pid_ns_init => {
            "restart the container with an init that reaps: `docker run --init`, tini or dumb-init as PID 1".to_string()
        }
        Remedy::FixInit => format!(
            "make {} reap first: restart the container with an init that reaps (`docker run --init`, tini or dumb-init as PID 1); then kill-parent works",
            adopter_name(&f.adopter)
        ),
    }
}

/// The command that applies `remedy` to `f`.
pub fn remedy_command(f: &ParentFinding, remedy: Remedy) -> String {
    match remedy {
        Remedy::DetachTracer => {
            let pids = f
                .holding_tracers()
                .iter()
                .map(|(t, _)| t.pid.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "quit or detach the debugger or strace running as {pids}, or: kill {pids}   (fix does not act on tracers)"
            )
        }
        Remedy::FixInit => "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])".to_string(),
        r => format!("zombies fix --{} --parent {}", r.as_str(), f.pid),
    }
}

// JSON. The field order is the documented one (README, "JSON output").

impl Serialize for ParentFinding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ParentFinding", 26)?;
        m.serialize_field("pid", &self.pid)?;
        m.serialize_field("comm", &self.comm)?;
        m.serialize_field("cmdline", &self.cmdline)?;
        m.serialize_field("exe", &self.exe)?;
        m.serialize_field("uid", &self.uid)?;
        m.serialize_field("user", &self.user)?;
        m.serialize_field("state", &self.state)?;
        m.serialize_field("sigchld", &self.sigchld)?;
        m.serialize_field("sigchld_blocked", &self.sigchld_blocked)?;
        m.serialize_field("sigchld_pending", &self.sigchld_pending)?;
        m.serialize_field("wchan", &self.wchan)?;
        m.serialize_field("traced_by", &self.traced_by)?;
        m.serialize_field("tracer", &self.tracer)?;
        m.serialize_field("in_wait", &self.in_wait)?;
        m.serialize_field("pid_ns_init", &self.pid_ns_init)?;
        m.serialize_field("kernel_thread", &self.kernel_thread)?;
        m.serialize_field("cgroup", &self.cgroup)?;
        m.serialize_field("adopter", &self.adopter)?;
        m.serialize_field("recommended", &self.recommended)?;
        m.serialize_field("reason", &reason(self))?;
        m.serialize_field("start_ticks", &self.start_ticks)?;
        m.serialize_field("zombies", &self.zombies)?;
        m.end()
    }
}

impl Serialize for Adopter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Adopter", 4)?;
        m.serialize_field("pid", &self.pid)?;
        m.serialize_field("comm", &self.comm)?;
        m.serialize_field("note", adopter_note(self))?;
        m.serialize_field("verdict", &self.verdict)?;
        m.end()
    }
}

/// One entry of explain's `remedies`, with its words.
struct RemedyJson<'a> {
    choice: RemedyChoice,
    finding: &'a ParentFinding,
}

impl Serialize for RemedyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("RemedyOption", 4)?;
        m.serialize_field("remedy", &self.choice.remedy)?;
        m.serialize_field("recommended", &self.choice.recommended)?;
        m.serialize_field("effect", &remedy_effect(self.finding, self.choice.remedy))?;
        m.serialize_field("command", &remedy_command(self.finding, self.choice.remedy))?;
        m.end()
    }
}

impl Serialize for Explanation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let remedies: Vec<RemedyJson> = self
            .parent
            .as_ref()
            .map(|f| {
                self.remedies
                    .iter()
                    .map(|&choice| RemedyJson { choice, finding: f })
                    .collect()
            })
            .unwrap_or_default();
        let mut m = s.serialize_struct("Explanation", 10)?;
        m.serialize_field("pid", &self.pid)?;
        m.serialize_field("kind", &self.kind)?;
        m.serialize_field("comm", &self.comm)?;
        m.serialize_field("state", &self.state)?;
        m.serialize_field("ppid", &self.ppid)?;
        m.serialize_field("threads", &self.threads)?;
        m.serialize_field("live_threads", &self.live_threads)?;
        m.serialize_field("zombie", &self.zombie)?;
        m.serialize_field("parent", &self.parent)?;
        m.serialize_field("remedies", &remedies)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Zombie;

    fn zombie(pid: i32, tracer: Option<(i32, &str)>) -> Zombie {
        Zombie {
            held_by_tracer: tracer.map(|(pid, c)| ProcessRef {
                pid,
                comm: Some(c.into()),
            }),
            ..Zombie::for_test(pid, 100)
        }
    }

    fn finding(grounds: Grounds) -> ParentFinding {
        let mut f = ParentFinding::for_test(100, "srv");
        f.grounds = grounds;
        f.zombies = vec![zombie(101, None)];
        f
    }

    #[test]
    fn a_stopped_parent_with_a_handler_gets_sigcont_first() {
        let mut f = finding(Grounds::HandlerShouldReap);
        f.state = "T".into();
        let why = reason(&f);
        assert!(why.starts_with("srv has a SIGCHLD handler"), "{why}");
        assert!(why.contains("SIGCONT"), "{why}");
    }

    #[test]
    fn zombies_held_by_a_tracer_name_the_tracer() {
        let mut f = finding(Grounds::AllHeld(AfterRelease::WaitReaps));
        f.zombies = vec![
            zombie(101, Some((77, "gdb"))),
            zombie(102, Some((77, "gdb"))),
        ];
        let why = reason(&f);
        assert!(
            why.contains("traced by 77 (gdb)") && why.contains("reaps them"),
            "{why}"
        );
        f.grounds = Grounds::AllHeld(AfterRelease::StillHasTo(Cause::NoWait));
        assert!(reason(&f).contains("still has to reap them: it leaves SIGCHLD"));
        // Some free, some held: the parent is at fault for the free ones.
        let mut some = finding(Grounds::OnlyDeath(Cause::NoWait));
        some.zombies.push(zombie(102, Some((77, "gdb"))));
        let why = reason(&some);
        assert!(why.contains("1 of them is traced by 77 (gdb)"), "{why}");
        assert!(remedy_effect(&some, Remedy::KillParent).contains("not the 1 traced by 77 (gdb)"));
    }

    #[test]
    fn a_traced_parent_names_its_tracer_and_the_held_sigterm() {
        let mut f = finding(Grounds::OnlyDeath(Cause::NoWait));
        f.tracer = Some(ProcessRef {
            pid: 88,
            comm: Some("strace".into()),
        });
        let why = reason(&f);
        assert!(
            why.contains("88 (strace)") && why.contains("SIGTERM"),
            "{why}"
        );
    }

    #[test]
    fn critical_names_say_force() {
        let mut f = finding(Grounds::OnlyDeath(Cause::NoWait));
        f.comm = "sshd".into();
        assert!(reason(&f).contains("--force"));
    }

    #[test]
    fn an_adopter_that_does_not_reap_turns_kill_into_fix_init() {
        let mut f = finding(Grounds::OnlyDeath(Cause::NoWait));
        f.adopter = Adopter {
            pid: Some(1),
            comm: Some("app".into()),
            basis: AdopterBasis::NamespaceInit,
            verdict: AdopterVerdict::NotReaping,
        };
        let why = reason(&f);
        assert!(
            why.ends_with("but its adopter 1 (app) is PID 1 of the namespace and is not reaping its own zombies, so killing it would only move these there: fix the init first"),
            "{why}"
        );
        assert!(remedy_effect(&f, Remedy::FixInit).starts_with("make app (1) reap first"));
    }
}
