//! `zombies check` in words: the verdict's text (the Nagios line after `ZOMBIES <STATUS>: `,
//! the JSON `message`) and the JSON object every format is built from.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::state::trouble;
use super::{container, duration, plural};
use crate::check::{LimitsUnknown, Outcome, PidsLimit, Problem, Status};
use crate::proc::cgroupns::NsRoot;

/// How many parents the message names before "and N more".
const NAMED_PARENTS: usize = 3;

/// The verdict in words: the count, the worst parents, then each problem.
pub fn message(o: &Outcome) -> String {
    if let Some(why) = &o.unknown {
        return why.clone();
    }
    let count = o.zombies.unwrap_or(0);
    let mut message = plural(count, "zombie process", "zombie processes");
    if !o.by_parent.is_empty() {
        let named: Vec<String> = o
            .by_parent
            .iter()
            .take(NAMED_PARENTS)
            .map(|p| {
                format!(
                    "{} under {} ({}){}",
                    plural(p.zombies, "zombie", "zombies"),
                    p.comm,
                    p.pid,
                    p.container
                        .as_ref()
                        .and_then(container::compact)
                        .map_or(String::new(), |c| format!(" in {c}"))
                )
            })
            .collect();
        message.push_str(": ");
        message.push_str(&named.join(", "));
        let rest = &o.by_parent[o.by_parent.len().min(NAMED_PARENTS)..];
        if !rest.is_empty() {
            let z: usize = rest.iter().map(|p| p.zombies).sum();
            message.push_str(&format!(
                " and {} more under {} other {}",
                z,
                rest.len(),
                if rest.len() == 1 { "parent" } else { "parents" }
            ));
        }
    }
    for p in &o.problems {
        message.push_str("; ");
        message.push_str(&problem(p));
    }
    if let Some(ignored) = o.ignored.filter(|&n| n > 0) {
        message.push_str(&format!("; {ignored} ignored"));
    }
    if o.unreadable > 0 {
        // hidepid or permissions: zombies of other users may be missed.
        message.push_str(&format!(
            "; {} not readable, run as root to see all",
            plural(o.unreadable, "process", "processes")
        ));
    }
    message
}

fn problem(p: &Problem) -> String {
    match p {
        Problem::TooOld {
            over,
            max,
            oldest,
            parent,
        } => format!(
            "{} seen longer than --max-age {}: the oldest, PID {}{}, for {}",
            plural(*over, "zombie", "zombies"),
            duration(*max),
            oldest.pid,
            parent
                .as_ref()
                .map_or(String::new(), |p| format!(" under {} ({})", p.comm, p.pid)),
            duration(std::time::Duration::from_secs(oldest.seen_seconds))
        ),
        Problem::PerParent { worst, limit, more } => format!(
            "{} ({}) holds {}, over --warn-per-parent {limit}{}",
            worst.comm,
            worst.pid,
            worst.zombies,
            match more {
                0 => String::new(),
                k => format!(" (and {} more)", plural(*k, "parent", "parents")),
            }
        ),
        Problem::PidsFull {
            usage,
            status,
            threshold,
        } => {
            let flag = match status {
                Status::Critical => "--crit-pids",
                _ => "--warn-pids",
            };
            let (cur, max) = (usage.current, usage.max);
            let (what, used) = match &usage.limit {
                PidsLimit::Cgroup { cgroup, containers } => {
                    let who = container::compact_list(containers);
                    let what = if who.is_empty() {
                        format!("cgroup {cgroup}")
                    } else {
                        format!("cgroup {cgroup} ({who})")
                    };
                    (what, format!("{cur} of its pids.max {max}"))
                }
                PidsLimit::PidMax => ("kernel.pid_max".into(), format!("{cur} of {max} PIDs")),
                PidsLimit::ThreadsMax => {
                    ("kernel.threads-max".into(), format!("{cur} of {max} tasks"))
                }
            };
            format!(
                "{what} is {} full ({used}), {}: reaching {flag} {threshold}%",
                container::pct(cur, max),
                plural(usage.zombies, "of them a zombie", "of them zombies"),
            )
        }
        Problem::PidsUncheckable(u) => format!(
            "PID limits cannot be checked: {}",
            container::limits_unknown(&u.parents, u.ns.as_ref())
        ),
        Problem::PidLimitsUnknown(u) => container::limits_unknown(&u.parents, u.ns.as_ref()),
        Problem::MaxAgeUncheckable(t) => format!("--max-age cannot be checked: {}", trouble(t)),
        Problem::AgesNotKept(t) => format!("zombie ages not kept: {}", trouble(t)),
    }
}

impl Serialize for LimitsUnknown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("LimitsUnknown", 3)?;
        m.serialize_field("parents", &self.parents)?;
        let problem = match &self.ns {
            Some(NsRoot::Unplaced(why)) => container::unplaced_word(why),
            // Found, yet a path climbs above the hierarchy's root from there.
            _ => "outside-hierarchy",
        };
        m.serialize_field("problem", problem)?;
        m.serialize_field(
            "message",
            &container::limits_unknown(&self.parents, self.ns.as_ref()),
        )?;
        m.end()
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Outcome", 14)?;
        m.serialize_field("status", &self.status)?;
        m.serialize_field("exit_code", &self.exit_code)?;
        m.serialize_field("message", &message(self))?;
        m.serialize_field("zombies", &self.zombies)?;
        m.serialize_field("parents", &self.parents)?;
        m.serialize_field("ignored", &self.ignored)?;
        m.serialize_field("filtered_out", &self.filtered_out)?;
        m.serialize_field("oldest_seen_seconds", &self.oldest_seen_seconds)?;
        m.serialize_field("max_per_parent", &self.max_per_parent)?;
        m.serialize_field("pids_used_pct", &self.pids_used_pct)?;
        m.serialize_field("pid_limits_unknown", &self.pid_limits_unknown)?;
        m.serialize_field("thresholds", &self.thresholds)?;
        m.serialize_field("seen", &self.seen)?;
        m.serialize_field("list", &self.list)?;
        m.end()
    }
}

/// The UNKNOWN line for a command line clap refused: its first line, without `error: `.
pub fn usage_error(clap_text: &str) -> String {
    let mut lines = clap_text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "the following required arguments were not provided:" names them on the next line.
    let named = match (first.ends_with(':'), lines.next()) {
        (true, Some(next)) => format!("{first} {next}"),
        _ => first.to_string(),
    };
    format!("ZOMBIES UNKNOWN: invalid arguments: {named} (see zombies check --help)")
}

/// --output names the state file.
pub fn output_is_state(path: &std::path::Path) -> String {
    format!(
        "--output {} is the state file of zombies check; refusing to replace it with the report (were --state and --output swapped?)",
        path.display()
    )
}

/// --output could not be written.
pub fn output_failed(e: &std::io::Error) -> String {
    format!(
        "{e}; the check result was not saved: make the directory writable or pass another --output"
    )
}
