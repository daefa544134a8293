//! The words for a diagnosis: why each parent gets its remedy, who would adopt its zombies,
//! and what each remedy would do. list, tree, explain, fix and their JSON all say these
//! sentences, and only this module writes them. Names are given raw (as the JSON carries
//! them); text outputs pass whole sentences through `printable`.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::diagnose::{
    Adopter, AdopterBasis, AdopterVerdict, AfterRelease, Cause, Disposition, Explanation, Grounds,
    ParentFinding, ProcessRef, Remedy, RemedyChoice, is_critical_name,
};
use crate::proc::cgroup::{Container, Runtime};

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
            "{comm} is PID 1 of its PID namespace and has not reaped these children; a real init (systemd, tini) reaps within moments, so if they persist it is not one: {}; killing PID 1 would stop everything in the namespace",
            init_advice(f.container.as_ref())
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
        Remedy::FixInit if f.pid_ns_init => format!(
            "restart the container with an init that reaps: {}",
            init_effect(f.container.as_ref())
        ),
        Remedy::FixInit => format!(
            "make {} reap first: restart the container with an init that reaps ({}); then kill-parent works",
            adopter_name(&f.adopter),
            init_effect(f.container.as_ref())
        ),
    }
}

// The fix-init words: how to get a PID 1 that reaps, for the runtime the parent's cgroup
// names. A Kubernetes pod cannot take `docker run` flags; its spec can share the process
// namespace, which makes the pause container PID 1, and pause reaps.

/// How the runtime of `c` gets an init, as the advice for a container whose PID 1 does not
/// reap (the reason of a fix-init parent).
pub fn init_advice(c: Option<&Container>) -> String {
    match init_kind(c) {
        InitKind::Kubernetes(pod) => format!(
            "in the pod spec{} set `shareProcessNamespace: true` (the pause container then is PID 1 and reaps), or run an init such as tini as the container's entrypoint",
            pod.map_or(String::new(), |p| format!(" of {p}"))
        ),
        InitKind::Run(cli) => format!("run it with `{cli} run --init` (or tini as its entrypoint)"),
        InitKind::Lxc => "run a real init in it: a system container boots its distribution's init (systemd); lxc-execute starts lxc-init".to_string(),
        InitKind::Unknown => "in a container, run a real init (`docker run --init`, tini)".to_string(),
    }
}

/// The same, as the effect of the fix-init remedy.
fn init_effect(c: Option<&Container>) -> String {
    match init_kind(c) {
        InitKind::Kubernetes(_) => "`shareProcessNamespace: true` in the pod spec (the pause container reaps), or tini as PID 1".to_string(),
        InitKind::Run(cli) => format!("`{cli} run --init`, tini or dumb-init as PID 1"),
        InitKind::Lxc => "the distribution's init (systemd), or lxc-init with lxc-execute".to_string(),
        InitKind::Unknown => "`docker run --init`, tini or dumb-init as PID 1".to_string(),
    }
}

/// The command line that gives `c` an init.
fn init_command(c: Option<&Container>) -> String {
    match init_kind(c) {
        InitKind::Kubernetes(pod) => {
            let owner = match c.and_then(|c| Some((c.pod_namespace.as_ref()?, c.pod_name.as_ref()?))) {
                Some((ns, name)) => format!(
                    " (its owner: kubectl -n {ns} get pod {name} -o jsonpath='{{.metadata.ownerReferences[*].name}}')"
                ),
                None => String::new(),
            };
            format!(
                "spec.template.spec.shareProcessNamespace: true in the workload that owns {}{owner}, or ENTRYPOINT [\"tini\", \"--\"] in the image",
                pod.unwrap_or_else(|| "the pod".to_string())
            )
        }
        InitKind::Run(cli) => format!("{cli} run --init ... (or ENTRYPOINT [\"tini\", \"--\"])"),
        InitKind::Lxc => "lxc-execute -n NAME -- COMMAND (lxc-init as PID 1), or lxc-start with a system image's init".to_string(),
        InitKind::Unknown => "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])".to_string(),
    }
}

/// What the list's hint line says to do for a fix-init parent.
pub fn init_todo(c: Option<&Container>) -> String {
    match init_kind(c) {
        InitKind::Kubernetes(_) => {
            "set shareProcessNamespace: true in its pod spec, or run tini as its entrypoint"
                .to_string()
        }
        InitKind::Run(cli) => {
            format!("run a real init as PID 1 of that container ({cli} run --init, tini)")
        }
        InitKind::Lxc => {
            "run a real init in that container (systemd, or lxc-init with lxc-execute)".to_string()
        }
        InitKind::Unknown => {
            "run a real init as PID 1 of that container (docker run --init, tini)".to_string()
        }
    }
}

/// Which way to an init the runtime offers.
enum InitKind {
    /// A Kubernetes pod, named when known: its spec, not a run flag.
    Kubernetes(Option<String>),
    /// A runtime with `run --init`: docker, podman, nerdctl.
    Run(&'static str),
    Lxc,
    Unknown,
}

fn init_kind(c: Option<&Container>) -> InitKind {
    let Some(c) = c else {
        return InitKind::Unknown;
    };
    if c.pod_uid.is_some() {
        return InitKind::Kubernetes(super::container::pod_text(c));
    }
    match c.runtime {
        Some(Runtime::Docker) => InitKind::Run("docker"),
        Some(Runtime::Podman) => InitKind::Run("podman"),
        Some(Runtime::Nerdctl) => InitKind::Run("nerdctl"),
        Some(Runtime::Lxc) => InitKind::Lxc,
        // containerd's and CRI-O's containers are Kubernetes pods' even when the path names
        // no pod (a cgroup path of another shape).
        Some(Runtime::Containerd | Runtime::Crio) => InitKind::Kubernetes(None),
        None => InitKind::Unknown,
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
        Remedy::FixInit => init_command(f.container.as_ref()),
        r => format!("zombies fix --{} --parent {}", r.as_str(), f.pid),
    }
}

// JSON. The field order is the documented one (README, "JSON output").

impl Serialize for ParentFinding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("ParentFinding", 29)?;
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
        m.serialize_field("container", &self.container)?;
        m.serialize_field("pid_limit", &self.pid_limit)?;
        m.serialize_field("pid_limit_unknown", &self.pid_limit_unknown)?;
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
        let mut m = s.serialize_struct("Explanation", 11)?;
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
        m.serialize_field("pid_limits", &self.pid_limits)?;
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
    fn fix_init_names_the_way_of_the_runtime() {
        let mut f = finding(Grounds::NamespaceInit);
        f.pid_ns_init = true;
        let with = |c: Option<Container>| {
            let mut f = f.clone();
            f.container = c;
            (
                reason(&f),
                remedy_effect(&f, Remedy::FixInit),
                remedy_command(&f, Remedy::FixInit),
            )
        };
        let pod = Container {
            runtime: Some(Runtime::Containerd),
            id: Some("a".repeat(64)),
            pod_uid: Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b".into()),
            pod_namespace: Some("shop".into()),
            pod_name: Some("web-0".into()),
            ..Container::default()
        };
        let (why, effect, command) = with(Some(pod));
        assert!(
            why.contains("in the pod spec of shop/web-0 set `shareProcessNamespace: true`"),
            "{why}"
        );
        assert!(!why.contains("docker"), "{why}");
        assert!(effect.contains("shareProcessNamespace: true"), "{effect}");
        assert!(
            command.contains("kubectl -n shop get pod web-0"),
            "{command}"
        );
        for (runtime, cli) in [
            (Runtime::Docker, "docker"),
            (Runtime::Podman, "podman"),
            (Runtime::Nerdctl, "nerdctl"),
        ] {
            let c = Container {
                runtime: Some(runtime),
                id: Some("a".repeat(64)),
                ..Container::default()
            };
            let (why, effect, command) = with(Some(c));
            assert!(why.contains(&format!("`{cli} run --init`")), "{why}");
            assert!(effect.contains(&format!("`{cli} run --init`")), "{effect}");
            assert!(
                command.starts_with(&format!("{cli} run --init")),
                "{command}"
            );
        }
        // Unknown: the advice as it always was.
        let (why, _, command) = with(None);
        assert!(
            why.contains("in a container, run a real init (`docker run --init`, tini)"),
            "{why}"
        );
        assert_eq!(
            command,
            "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])"
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
