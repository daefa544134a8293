//! `zombies check`: from a diagnosis, the thresholds and the first-seen state to one verdict,
//! OK, WARNING, CRITICAL or UNKNOWN, as the monitoring-plugins guidelines define them. Pure:
//! reading /proc and the state file is the app layer's job, rendering the report's.

pub mod state;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::diagnose::Diagnosis;
use crate::exit::Exit;
use crate::proc::Pid;
use crate::proc::cgroup::Container;
use crate::proc::cgroupns::NsRoot;
pub use crate::range::Range;
use state::{Trouble, ZombieId};

/// Default `--warn`: more than 5 zombies. A few come and go on a busy machine.
pub const DEFAULT_WARN: Range = Range::above(5.0);
/// Default `--crit`: more than 20 zombies, a parent that has stopped reaping for good.
pub const DEFAULT_CRIT: Range = Range::above(20.0);

/// What the check alerts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// On the zombie count (after the ignore list and the filters).
    pub warn: Range,
    pub crit: Range,
    /// A zombie seen for longer than this is CRITICAL.
    pub max_age: Option<Duration>,
    /// A parent holding more zombies than this is a WARNING.
    pub warn_per_parent: Option<usize>,
    /// A PID limit that counted zombies take part of, this full (percent) or more, is a
    /// WARNING; `crit_pids` CRITICAL.
    pub warn_pids: Option<f64>,
    pub crit_pids: Option<f64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warn: DEFAULT_WARN,
            crit: DEFAULT_CRIT,
            max_age: None,
            warn_per_parent: None,
            warn_pids: None,
            crit_pids: None,
        }
    }
}

impl Thresholds {
    /// Refuses what cannot be meant: a plain --warn above a plain --crit would report
    /// CRITICAL before it ever reported WARNING.
    pub fn validate(&self) -> Result<(), String> {
        if let (Some(w), Some(c)) = (self.warn.plain_upper(), self.crit.plain_upper()) {
            if w > c {
                return Err(format!(
                    "--warn {} is above --crit {}: the count would turn CRITICAL before it could be a WARNING; give a --warn no higher than --crit",
                    self.warn, self.crit
                ));
            }
        }
        if let (Some(w), Some(c)) = (self.warn_pids, self.crit_pids) {
            if w > c {
                return Err(format!(
                    "--warn-pids {w} is above --crit-pids {c}: a limit would turn CRITICAL before it could be a WARNING; give a --warn-pids no higher than --crit-pids"
                ));
            }
        }
        Ok(())
    }
}

impl Serialize for Thresholds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View {
            warn: String,
            crit: String,
            max_age_seconds: Option<u64>,
            warn_per_parent: Option<usize>,
            warn_pids_pct: Option<f64>,
            crit_pids_pct: Option<f64>,
        }
        View {
            warn: self.warn.to_string(),
            crit: self.crit.to_string(),
            max_age_seconds: self.max_age.map(|d| d.as_secs()),
            warn_per_parent: self.warn_per_parent,
            warn_pids_pct: self.warn_pids,
            crit_pids_pct: self.crit_pids,
        }
        .serialize(s)
    }
}

/// The verdict, as the plugin guidelines define it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// The status word of the Nagios line.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    pub fn exit(self) -> Exit {
        match self {
            Status::Ok => Exit::CHECK_OK,
            Status::Warning => Exit::CHECK_WARNING,
            Status::Critical => Exit::CHECK_CRITICAL,
            Status::Unknown => Exit::CHECK_UNKNOWN,
        }
    }

    /// The more serious of two: CRITICAL, then WARNING, then UNKNOWN, then OK (a known
    /// problem outranks not knowing).
    pub fn worst(self, other: Status) -> Status {
        let rank = |s| match s {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Zombies held by one parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParentCount {
    pub pid: Pid,
    pub comm: String,
    pub zombies: usize,
    /// Where it runs, when its cgroup named a container, pod or unit.
    #[serde(skip)]
    pub container: Option<Container>,
}

/// Zombies whose parents run in one container, pod or unit (or in none: `container` None),
/// without the pod UID, which the metric does not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerCount {
    pub container: Option<Container>,
    pub zombies: usize,
}

/// A PID limit that zombies take part of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PidsLimit {
    /// A cgroup's pids.max, and the containers of the parents below it.
    Cgroup {
        cgroup: String,
        containers: Vec<Container>,
    },
    /// kernel.pid_max: the PIDs of the namespace.
    PidMax,
    /// kernel.threads-max: the tasks of the whole machine.
    ThreadsMax,
}

/// How full a PID limit is, and how many of its tasks are counted zombies.
#[derive(Clone, Debug, PartialEq)]
pub struct PidsUse {
    pub limit: PidsLimit,
    pub current: u64,
    pub max: u64,
    pub zombies: usize,
}

impl PidsUse {
    pub fn used_pct(&self) -> f64 {
        crate::diagnose::percent(self.current, self.max).unwrap_or(0.0)
    }
}

/// How long one zombie has been seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZombieSeen {
    pub pid: Pid,
    pub ppid: Pid,
    pub first_seen_unix: u64,
    pub seen_seconds: u64,
}

/// Something beyond the count that raised the status or that the reader should know.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// A PID limit at least --warn-pids (`status` WARNING) or --crit-pids (CRITICAL) full,
    /// with zombies taking part of it; `threshold` is the percentage it reached.
    PidsFull {
        usage: PidsUse,
        status: Status,
        threshold: f64,
    },
    /// Zombies seen longer than --max-age: how many, the oldest and its parent.
    TooOld {
        over: usize,
        max: Duration,
        oldest: ZombieSeen,
        parent: Option<ParentCount>,
    },
    /// A parent holds more than --warn-per-parent; `more` other parents do too.
    PerParent {
        worst: ParentCount,
        limit: usize,
        more: usize,
    },
    /// --warn-pids or --crit-pids was asked for but the cgroup PID limits of some counted
    /// parents are unknown (UNKNOWN).
    PidsUncheckable(LimitsUnknown),
    /// The cgroup PID limits of some counted parents are unknown (said, not alerted on).
    PidLimitsUnknown(LimitsUnknown),
    /// --max-age was asked for but ages cannot be kept (UNKNOWN).
    MaxAgeUncheckable(Trouble),
    /// Ages cannot be kept (said, not alerted on).
    AgesNotKept(Trouble),
}

/// Counted parents whose cgroup PID limit could not be looked up: their cgroup path is
/// relative to our cgroup namespace, whose root could not be placed under --sys
/// (proc/cgroupns.rs). Their limits are unknown, which no zombies_pid_limit_* series and no
/// --warn-pids may pass off as none.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitsUnknown {
    /// Their PIDs, in order.
    pub parents: Vec<Pid>,
    /// Where our namespace's root was found, or why it was not.
    pub ns: Option<NsRoot>,
}

/// The result of one check: what every output format renders. report/check.rs says it in
/// words (the Nagios text, JSON `message`).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    /// The exit code that goes with the status (0..3).
    pub exit_code: u8,
    /// Why the check could not be done (UNKNOWN before counting), in words: an error's own
    /// message, or what hides processes from it.
    pub unknown: Option<String>,
    /// What else raised the status or deserves a word, in order.
    pub problems: Vec<Problem>,
    /// /proc entries that could not be read (hidepid, permissions).
    pub unreadable: usize,
    /// Zombies counted (after the ignore list, --user and --parent); null when UNKNOWN
    /// because nothing could be counted.
    pub zombies: Option<usize>,
    /// Parents holding those zombies.
    pub parents: Option<usize>,
    /// Zombies left out because their parent is on the ignore list.
    pub ignored: Option<usize>,
    /// Zombies left out by --user and --parent.
    pub filtered_out: Option<usize>,
    /// How long the oldest counted zombie has been seen, by the state file.
    pub oldest_seen_seconds: Option<u64>,
    /// The most zombies any one parent holds.
    pub max_per_parent: Option<usize>,
    pub thresholds: Thresholds,
    /// Parents, most zombies first.
    pub by_parent: Vec<ParentCount>,
    /// Zombies by the container, pod or unit of their parents, most first.
    pub by_container: Vec<ContainerCount>,
    /// The fullest PID limit that counted zombies take part of, in percent.
    pub pids_used_pct: Option<f64>,
    /// Every PID limit counted zombies take part of (cgroups, pid_max, threads-max).
    pub pid_limits: Vec<PidsUse>,
    /// Counted parents whose cgroup PID limit is unknown; None when every one was looked up.
    pub pid_limits_unknown: Option<LimitsUnknown>,
    /// Every counted zombie with its first sighting, oldest first.
    pub seen: Vec<ZombieSeen>,
    /// The diagnosis, exactly as `zombies list --format json` prints it.
    pub list: Option<Diagnosis>,
}

impl Outcome {
    /// A check that could not be done: /proc unreadable, invalid options, a failed write.
    pub fn unknown(thresholds: Thresholds, why: String) -> Outcome {
        Outcome {
            status: Status::Unknown,
            exit_code: Status::Unknown.exit().0,
            unknown: Some(why),
            problems: Vec::new(),
            unreadable: 0,
            zombies: None,
            parents: None,
            ignored: None,
            filtered_out: None,
            oldest_seen_seconds: None,
            max_per_parent: None,
            thresholds,
            by_parent: Vec::new(),
            by_container: Vec::new(),
            pids_used_pct: None,
            pid_limits: Vec::new(),
            pid_limits_unknown: None,
            seen: Vec::new(),
            list: None,
        }
    }
}

/// Judges a diagnosis (already filtered, ignore list applied). `first_seen` comes from the
/// state file; `age_problem` says why ages cannot be kept, when they cannot.
pub fn evaluate(
    diag: Diagnosis,
    first_seen: &HashMap<ZombieId, u64>,
    now: u64,
    t: &Thresholds,
    age_problem: Option<Trouble>,
) -> Outcome {
    let count = diag.summary.zombies;
    let by_parent: Vec<ParentCount> = diag
        .parents
        .iter()
        .map(|p| ParentCount {
            pid: p.pid,
            comm: p.comm.clone(),
            zombies: p.zombies.len(),
            container: p.container.clone().filter(Container::is_known),
        })
        .collect();
    let by_container = by_container(&diag);
    let pids = pids_uses(&diag);
    let mut unknown: Vec<Pid> = diag
        .parents
        .iter()
        .filter(|p| p.pid_limit_unknown)
        .map(|p| p.pid)
        .collect();
    unknown.sort_unstable();
    let pid_limits_unknown = (!unknown.is_empty()).then(|| LimitsUnknown {
        parents: unknown,
        ns: diag.cgroup_namespace.clone(),
    });
    // Two decimals: a share of a 4-million pid_max is no clearer with twenty.
    let pids_used_pct = pids
        .iter()
        .map(PidsUse::used_pct)
        .max_by(f64::total_cmp)
        .map(|p| (p * 100.0).round() / 100.0);
    let mut seen: Vec<ZombieSeen> = diag
        .parents
        .iter()
        .flat_map(|p| p.zombies.iter())
        .map(|z| {
            let first = first_seen
                .get(&(z.pid, z.start_ticks))
                .copied()
                .unwrap_or(now);
            ZombieSeen {
                pid: z.pid,
                ppid: z.ppid,
                first_seen_unix: first,
                seen_seconds: now.saturating_sub(first),
            }
        })
        .collect();
    seen.sort_by(|a, b| b.seen_seconds.cmp(&a.seen_seconds).then(a.pid.cmp(&b.pid)));
    let oldest = seen.first().map_or(0, |z| z.seen_seconds);
    let max_per_parent = by_parent.iter().map(|p| p.zombies).max().unwrap_or(0);

    let mut status = Status::Ok;
    let mut problems: Vec<Problem> = Vec::new();
    // Zero zombies is OK whatever the thresholds say: there is nothing to act on.
    if count > 0 {
        let n = count as f64;
        if t.crit.alerts(n) {
            status = Status::Critical;
        } else if t.warn.alerts(n) {
            status = Status::Warning;
        }
        if let (Some(max), Some(z)) = (t.max_age, seen.first()) {
            if Duration::from_secs(z.seen_seconds) > max {
                status = status.worst(Status::Critical);
                let over = seen
                    .iter()
                    .filter(|z| Duration::from_secs(z.seen_seconds) > max)
                    .count();
                problems.push(Problem::TooOld {
                    over,
                    max,
                    oldest: z.clone(),
                    parent: by_parent.iter().find(|p| p.pid == z.ppid).cloned(),
                });
            }
        }
        if let Some(limit) = t.warn_per_parent {
            let over: Vec<&ParentCount> = by_parent.iter().filter(|p| p.zombies > limit).collect();
            if let Some(worst) = over.first() {
                status = status.worst(Status::Warning);
                problems.push(Problem::PerParent {
                    worst: (*worst).clone(),
                    limit,
                    more: over.len() - 1,
                });
            }
        }
        for usage in pids.iter().cloned() {
            let pct = usage.used_pct();
            let level = match (t.crit_pids, t.warn_pids) {
                (Some(c), _) if pct >= c => Some((Status::Critical, c)),
                (_, Some(w)) if pct >= w => Some((Status::Warning, w)),
                _ => None,
            };
            if let Some((level, threshold)) = level {
                status = status.worst(level);
                problems.push(Problem::PidsFull {
                    usage,
                    status: level,
                    threshold,
                });
            }
        }
        if let Some(u) = &pid_limits_unknown {
            if t.warn_pids.is_some() || t.crit_pids.is_some() {
                // A limit we could not read may be the full one: not knowing is not OK.
                status = status.worst(Status::Unknown);
                problems.push(Problem::PidsUncheckable(u.clone()));
            } else {
                problems.push(Problem::PidLimitsUnknown(u.clone()));
            }
        }
        if let Some(why) = age_problem {
            if t.max_age.is_some() {
                // --max-age cannot work without memory: say so rather than stay silently OK.
                status = status.worst(Status::Unknown);
                problems.push(Problem::MaxAgeUncheckable(why));
            } else {
                problems.push(Problem::AgesNotKept(why));
            }
        }
    } else if let Some(why) = age_problem {
        // Nothing to age, so nothing to judge; but a --state that cannot work (a typo in its
        // directory) is said now, not on the day zombies appear.
        problems.push(Problem::AgesNotKept(why));
    }

    Outcome {
        status,
        exit_code: status.exit().0,
        unknown: None,
        problems,
        unreadable: diag.summary.unreadable,
        zombies: Some(count),
        parents: Some(by_parent.len()),
        ignored: Some(diag.summary.ignored),
        filtered_out: Some(diag.summary.filtered_out),
        oldest_seen_seconds: Some(oldest),
        max_per_parent: Some(max_per_parent),
        thresholds: t.clone(),
        by_parent,
        by_container,
        pids_used_pct,
        pid_limits: pids,
        pid_limits_unknown,
        seen,
        list: Some(diag),
    }
}

/// Zombies by their parents' container, pod or unit, most first, keyed by what the metric's
/// labels carry (runtime, ID, pod namespace and name, unit: not the pod UID, so that two
/// entries never share one label set); parents whose cgroup named none of these (or was not
/// read) are counted together, under None.
fn by_container(diag: &Diagnosis) -> Vec<ContainerCount> {
    let mut out: Vec<ContainerCount> = Vec::new();
    for p in &diag.parents {
        let c = p
            .container
            .clone()
            .map(|c| Container { pod_uid: None, ..c })
            .filter(|c| c.is_known() || c.pod_name.is_some());
        match out.iter_mut().find(|e| e.container == c) {
            Some(e) => e.zombies += p.zombies.len(),
            None => out.push(ContainerCount {
                container: c,
                zombies: p.zombies.len(),
            }),
        }
    }
    // Most first; on a tie, named ones before the rest.
    out.sort_by(|a, b| {
        b.zombies
            .cmp(&a.zombies)
            .then(a.container.is_none().cmp(&b.container.is_none()))
            .then(a.container.cmp(&b.container))
    });
    out
}

/// Every PID limit counted zombies take part of, with how full it is: the cgroup limits
/// their parents run under (pids.current known), and the host's pid_max and threads-max,
/// both measured against the tasks in use.
fn pids_uses(diag: &Diagnosis) -> Vec<PidsUse> {
    let mut out: Vec<PidsUse> = diag
        .pid_limits
        .iter()
        .filter(|u| u.zombies > 0)
        .filter_map(|u| {
            Some(PidsUse {
                limit: PidsLimit::Cgroup {
                    cgroup: u.limit.cgroup.clone(),
                    containers: u.containers.clone(),
                },
                current: u.limit.current?,
                max: u.limit.max,
                zombies: u.zombies,
            })
        })
        .collect();
    let s = &diag.summary;
    if s.zombies > 0 {
        for (limit, max) in [
            (PidsLimit::PidMax, s.pid_max),
            (PidsLimit::ThreadsMax, s.threads_max),
        ] {
            if let Some(max) = max {
                out.push(PidsUse {
                    limit,
                    current: s.pids_in_use,
                    max,
                    zombies: s.zombies,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{ParentFinding, Summary, Zombie};

    /// The verdict in words, as every format says it.
    fn message(o: &Outcome) -> String {
        crate::report::check::message(o)
    }

    fn unwritable(error: &str) -> Trouble {
        Trouble::Unwritable {
            error: error.into(),
        }
    }

    fn zombie(pid: Pid, ppid: Pid) -> Zombie {
        Zombie::for_test(pid, ppid)
    }

    fn parent(pid: Pid, comm: &str, zombies: usize) -> ParentFinding {
        ParentFinding {
            zombies: (0..zombies)
                .map(|i| zombie(pid * 100 + i as Pid, pid))
                .collect(),
            ..ParentFinding::for_test(pid, comm)
        }
    }

    fn diag(parents: Vec<ParentFinding>) -> Diagnosis {
        let zombies = parents.iter().map(|p| p.zombies.len()).sum();
        Diagnosis {
            summary: Summary {
                zombies,
                parents: parents.len(),
                ..Summary::default()
            },
            pid_limits: crate::diagnose::pid_limits(&parents),
            parents,
            cgroup_namespace: None,
        }
    }

    fn thresholds(warn: &str, crit: &str) -> Thresholds {
        Thresholds {
            warn: Range::parse(warn).unwrap(),
            crit: Range::parse(crit).unwrap(),
            ..Thresholds::default()
        }
    }

    fn status_at(count: usize, t: &Thresholds) -> Status {
        let d = if count == 0 {
            diag(vec![])
        } else {
            diag(vec![parent(10, "p", count)])
        };
        evaluate(d, &HashMap::new(), 1000, t, None).status
    }

    #[test]
    fn check_procs_boundaries() {
        let t = thresholds("2", "4");
        assert_eq!(status_at(0, &t), Status::Ok);
        assert_eq!(status_at(2, &t), Status::Ok);
        assert_eq!(status_at(3, &t), Status::Warning);
        assert_eq!(status_at(4, &t), Status::Warning);
        assert_eq!(status_at(5, &t), Status::Critical);
        let d = Thresholds::default();
        assert_eq!(status_at(5, &d), Status::Ok);
        assert_eq!(status_at(6, &d), Status::Warning);
        assert_eq!(status_at(21, &d), Status::Critical);
    }

    #[test]
    fn zero_is_ok_whatever_the_thresholds() {
        // "10:" alerts below 10, so 0 would alert; zero zombies must not.
        let t = thresholds("10:", "5:");
        assert_eq!(status_at(0, &t), Status::Ok);
        assert_eq!(status_at(3, &t), Status::Critical);
        let t = thresholds("@0:3", "@0:1");
        assert_eq!(status_at(0, &t), Status::Ok);
        assert_eq!(status_at(1, &t), Status::Critical);
        assert_eq!(status_at(3, &t), Status::Warning);
    }

    /// A limit that could not be looked up is not one that is not full: with --warn-pids or
    /// --crit-pids the check cannot be judged; without, it is said only.
    #[test]
    fn unknown_pid_limits_are_not_absent_ones() {
        use crate::proc::cgroupns::{NsRoot, Unplaced};
        let d = || {
            let mut unknown = parent(20, "b", 1);
            unknown.pid_limit_unknown = true;
            let mut d = diag(vec![parent(10, "a", 1), unknown]);
            d.cgroup_namespace = Some(NsRoot::Unplaced(Unplaced::NoMount));
            d
        };
        let want = LimitsUnknown {
            parents: vec![20],
            ns: Some(NsRoot::Unplaced(Unplaced::NoMount)),
        };
        let o = evaluate(d(), &HashMap::new(), 1000, &Thresholds::default(), None);
        assert_eq!(o.status, Status::Ok);
        assert_eq!(o.problems, vec![Problem::PidLimitsUnknown(want.clone())]);
        assert_eq!(o.pid_limits_unknown, Some(want.clone()));
        for t in [
            Thresholds {
                warn_pids: Some(80.0),
                ..Thresholds::default()
            },
            Thresholds {
                crit_pids: Some(90.0),
                ..Thresholds::default()
            },
        ] {
            let o = evaluate(d(), &HashMap::new(), 1000, &t, None);
            assert_eq!(o.status, Status::Unknown);
            assert_eq!(o.problems, vec![Problem::PidsUncheckable(want.clone())]);
        }
        // Filtered out with their parent: nothing unknown is counted.
        let mut filtered = d();
        filtered.only(Some(10), None);
        let o = evaluate(
            filtered,
            &HashMap::new(),
            1000,
            &Thresholds::default(),
            None,
        );
        assert_eq!(o.pid_limits_unknown, None);
        assert!(o.problems.is_empty());
    }

    #[test]
    fn warn_above_crit_is_refused() {
        assert!(
            thresholds("10", "5")
                .validate()
                .unwrap_err()
                .contains("--warn 10 is above --crit 5")
        );
        assert!(thresholds("~:10", "5").validate().is_err());
        assert!(thresholds("5", "5").validate().is_ok());
        assert!(thresholds("5", "20").validate().is_ok());
        // Ranges of other shapes may be ordered any way the user means.
        assert!(thresholds("@10:20", "5").validate().is_ok());
        assert!(thresholds("10:", "5:").validate().is_ok());
    }

    #[test]
    fn max_age_and_per_parent() {
        let mut t = Thresholds {
            max_age: Some(Duration::from_secs(60)),
            warn_per_parent: Some(2),
            ..Thresholds::default()
        };
        let d = || diag(vec![parent(10, "nginx", 3), parent(20, "sh", 1)]);
        let mut seen = HashMap::new();
        seen.insert((2000, 20000), 900); // the zombie of sh, seen 100 s ago
        let o = evaluate(d(), &seen, 1000, &t, None);
        assert_eq!(o.status, Status::Critical, "{}", message(&o));
        assert_eq!(o.oldest_seen_seconds, Some(100));
        assert_eq!(o.seen[0].pid, 2000);
        assert!(
            message(&o).contains("1 zombie seen longer than --max-age 1m: the oldest, PID 2000 under sh (20), for 1m40s"),
            "{}",
            message(&o)
        );
        assert!(
            message(&o).contains("nginx (10) holds 3, over --warn-per-parent 2"),
            "{}",
            message(&o)
        );
        t.max_age = Some(Duration::from_secs(100));
        let o = evaluate(d(), &seen, 1000, &t, None);
        assert_eq!(o.status, Status::Warning, "100 s is not longer than 100 s");
        assert_eq!(o.max_per_parent, Some(3));
        assert_eq!(
            message(&o),
            "4 zombie processes: 3 zombies under nginx (10), 1 zombie under sh (20); nginx (10) holds 3, over --warn-per-parent 2"
        );
    }

    #[test]
    fn unusable_state_makes_max_age_unknown_not_ok() {
        let t = Thresholds {
            max_age: Some(Duration::from_secs(60)),
            ..Thresholds::default()
        };
        let d = || diag(vec![parent(10, "p", 1)]);
        let o = evaluate(d(), &HashMap::new(), 5, &t, Some(unwritable("read-only")));
        assert_eq!(o.status, Status::Unknown);
        assert!(message(&o).contains("--max-age cannot be checked: read-only"));
        // Without --max-age the status does not depend on it, but the text says it.
        let o = evaluate(
            d(),
            &HashMap::new(),
            5,
            &Thresholds::default(),
            Some(unwritable("x")),
        );
        assert_eq!(o.status, Status::Ok);
        assert!(
            message(&o).contains("; zombie ages not kept: x;"),
            "{}",
            message(&o)
        );
        // A known problem outranks not knowing.
        let o = evaluate(
            diag(vec![parent(10, "p", 30)]),
            &HashMap::new(),
            5,
            &t,
            Some(unwritable("x")),
        );
        assert_eq!(o.status, Status::Critical);
        // Zero zombies is OK, and the problem is said already.
        let o = evaluate(
            diag(vec![]),
            &HashMap::new(),
            5,
            &t,
            Some(unwritable("no dir")),
        );
        assert_eq!(o.status, Status::Ok);
        assert_eq!(
            message(&o),
            "0 zombie processes; zombie ages not kept: no dir; pass --state with a writable path"
        );
    }

    #[test]
    fn message_names_the_worst_parents_and_counts_the_rest() {
        let mut d = diag(vec![
            parent(1, "a", 4),
            parent(2, "b", 3),
            parent(3, "c", 2),
            parent(4, "d", 1),
            parent(5, "e", 1),
        ]);
        d.summary.ignored = 2;
        let o = evaluate(d, &HashMap::new(), 0, &Thresholds::default(), None);
        assert_eq!(
            message(&o),
            "11 zombie processes: 4 zombies under a (1), 3 zombies under b (2), 2 zombies under c (3) and 2 more under 2 other parents; 2 ignored"
        );
        assert_eq!(o.status, Status::Warning);
    }

    #[test]
    fn unreadable_processes_are_mentioned_even_when_ok() {
        let mut d = diag(vec![]);
        d.summary.unreadable = 12;
        let o = evaluate(d, &HashMap::new(), 0, &Thresholds::default(), None);
        assert_eq!(o.status, Status::Ok);
        assert_eq!(
            message(&o),
            "0 zombie processes; 12 processes not readable, run as root to see all"
        );
    }

    fn in_pod(mut p: ParentFinding, id: char, limit: Option<(u64, u64)>) -> ParentFinding {
        p.container = Some(Container {
            id: Some(id.to_string().repeat(64)),
            pod_uid: Some("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b".into()),
            pod_namespace: Some("shop".into()),
            pod_name: Some("web-0".into()),
            ..Container::default()
        });
        p.pid_limit = limit.map(|(current, max)| crate::proc::headroom::PidLimit {
            cgroup: "/kubepods/pod1".into(),
            current: Some(current),
            max,
        });
        p
    }

    #[test]
    fn a_full_pid_limit_with_zombies_in_it_alerts() {
        let t = |warn: Option<f64>, crit: Option<f64>| Thresholds {
            warn_pids: warn,
            crit_pids: crit,
            ..Thresholds::default()
        };
        let d = || diag(vec![in_pod(parent(10, "node", 3), 'a', Some((90, 100)))]);
        let o = evaluate(d(), &HashMap::new(), 0, &t(Some(80.0), Some(95.0)), None);
        assert_eq!(o.status, Status::Warning, "{}", message(&o));
        assert_eq!(o.pids_used_pct, Some(90.0));
        assert_eq!(
            message(&o),
            "3 zombie processes: 3 zombies under node (10) in shop/web-0 (aaaaaaaaaaaa…); cgroup /kubepods/pod1 (shop/web-0 (aaaaaaaaaaaa…)) is 90% full (90 of its pids.max 100), 3 of them zombies: reaching --warn-pids 80%"
        );
        let o = evaluate(d(), &HashMap::new(), 0, &t(Some(80.0), Some(90.0)), None);
        assert_eq!(o.status, Status::Critical, "{}", message(&o));
        assert!(
            message(&o).ends_with("reaching --crit-pids 90%"),
            "{}",
            message(&o)
        );
        // Not full enough, or not asked: the count alone decides.
        assert_eq!(
            evaluate(d(), &HashMap::new(), 0, &t(Some(95.0), None), None).status,
            Status::Ok
        );
        assert_eq!(
            evaluate(d(), &HashMap::new(), 0, &t(None, None), None).status,
            Status::Ok
        );
        // The host's limits, against the tasks in use.
        let mut host = diag(vec![parent(10, "p", 1)]);
        host.summary.pid_max = Some(100);
        host.summary.threads_max = Some(1000);
        host.summary.pids_in_use = 97;
        let o = evaluate(host, &HashMap::new(), 0, &t(None, Some(95.0)), None);
        assert_eq!(o.status, Status::Critical);
        assert!(
            message(&o).contains("kernel.pid_max is 97% full (97 of 100 PIDs), 1 of them a zombie: reaching --crit-pids 95%"),
            "{}",
            message(&o)
        );
        assert!(!message(&o).contains("threads-max"), "{}", message(&o));
        // A full limit with no zombies under it is not ours to report.
        let o = evaluate(
            diag(vec![]),
            &HashMap::new(),
            0,
            &t(Some(1.0), Some(2.0)),
            None,
        );
        assert_eq!(o.status, Status::Ok);
        assert_eq!(o.pids_used_pct, None);
    }

    #[test]
    fn warn_pids_above_crit_pids_is_refused() {
        let t = Thresholds {
            warn_pids: Some(90.0),
            crit_pids: Some(80.0),
            ..Thresholds::default()
        };
        assert!(
            t.validate()
                .unwrap_err()
                .contains("--warn-pids 90 is above --crit-pids 80")
        );
    }

    #[test]
    fn zombies_by_container_sum_per_label_set() {
        let mut no_name = parent(40, "x", 1);
        no_name.container = Some(Container {
            pod_uid: Some("0123456789abcdef0123456789abcdef".into()),
            ..Container::default()
        });
        let o = evaluate(
            diag(vec![
                in_pod(parent(10, "a", 3), 'a', None),
                in_pod(parent(20, "b", 2), 'a', None),
                in_pod(parent(30, "c", 1), 'b', None),
                parent(50, "plain", 4),
                no_name,
            ]),
            &HashMap::new(),
            0,
            &Thresholds::default(),
            None,
        );
        let got: Vec<(Option<String>, usize)> = o
            .by_container
            .iter()
            .map(|c| (c.container.as_ref().and_then(|c| c.id.clone()), c.zombies))
            .collect();
        // Two parents in one container are one series; an unnamed pod with no container has
        // no label to tell it apart, so it counts with the parents that are in none.
        assert_eq!(
            got,
            vec![
                (Some("a".repeat(64)), 5),
                (None, 5),
                (Some("b".repeat(64)), 1)
            ]
        );
        assert_eq!(o.by_container.iter().map(|c| c.zombies).sum::<usize>(), 11);
    }
}
