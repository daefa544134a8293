//! The Prometheus text exposition format (version 0.0.4), for the node_exporter textfile
//! collector. Every family always has its `# HELP` and `# TYPE` lines and, when the check
//! could count, an explicit sample even at zero: node_exporter's own processes collector
//! drops the `Z` state when there are none, which leaves alerts on it with no series.
//!
//! When the check is UNKNOWN only `zombies_check_status 3` has a sample: a count we could not
//! take is absent rather than a misleading zero.

use std::io::{self, Write};

use crate::check::{Outcome, PidsLimit, Status};
use crate::proc::cgroup::Container;

/// All the metrics of one check.
pub fn write(out: &mut impl Write, o: &Outcome) -> io::Result<()> {
    let known = o.zombies.is_some();
    let family = |out: &mut dyn Write, name: &str, help: &str| -> io::Result<()> {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")
    };
    family(
        out,
        "zombies_processes",
        "Zombie processes now, after the ignore list and the --user/--parent filters.",
    )?;
    if let Some(n) = o.zombies {
        writeln!(out, "zombies_processes {n}")?;
    }
    family(out, "zombies_parents", "Processes holding counted zombies.")?;
    if let Some(n) = o.parents {
        writeln!(out, "zombies_parents {n}")?;
    }
    family(
        out,
        "zombies_ignored_processes",
        "Zombies left out because their parent is on the ignore list.",
    )?;
    if let Some(n) = o.ignored {
        writeln!(out, "zombies_ignored_processes {n}")?;
    }
    family(
        out,
        "zombies_oldest_seen_seconds",
        "How long the oldest counted zombie has been seen by zombies check (0 when none).",
    )?;
    if let Some(n) = o.oldest_seen_seconds {
        writeln!(out, "zombies_oldest_seen_seconds {n}")?;
    }
    family(
        out,
        "zombies_by_parent",
        "Zombies held by each parent process.",
    )?;
    if known {
        for p in &o.by_parent {
            writeln!(
                out,
                "zombies_by_parent{{parent_pid=\"{}\",parent_comm=\"{}\"}} {}",
                p.pid,
                label_value(&p.comm),
                p.zombies
            )?;
        }
    }
    family(
        out,
        "zombies_by_container",
        "Zombies whose parents run in each container, pod or systemd unit (labels empty when unknown).",
    )?;
    if known {
        for c in &o.by_container {
            let label = |v: Option<&str>| label_value(v.unwrap_or(""));
            let k = c.container.as_ref();
            writeln!(
                out,
                "zombies_by_container{{runtime=\"{}\",container_id=\"{}\",pod_namespace=\"{}\",pod_name=\"{}\",unit=\"{}\"}} {}",
                label(k.and_then(|k| k.runtime.map(|r| r.as_str()))),
                label(k.and_then(|k| k.id.as_deref())),
                label(k.and_then(|k| k.pod_namespace.as_deref())),
                label(k.and_then(|k| k.pod_name.as_deref())),
                label(k.and_then(|k| k.unit.as_deref())),
                c.zombies
            )?;
        }
    }
    // Only the limits zombies take part of: one series per such cgroup keeps the
    // cardinality to what is worth an alert.
    family(
        out,
        "zombies_pid_limit_used_ratio",
        "How full each PID limit with counted zombies in it is: a cgroup's pids.current/pids.max, or the tasks in use over kernel.pid_max or kernel.threads-max; a fork fails when one reaches 1.",
    )?;
    if known {
        for u in &o.pid_limits {
            writeln!(
                out,
                "zombies_pid_limit_used_ratio{{{}}} {}",
                limit_labels(&u.limit),
                ratio(u.current, u.max)
            )?;
        }
    }
    family(
        out,
        "zombies_pid_limit_zombies",
        "Counted zombies under each PID limit of zombies_pid_limit_used_ratio: each holds one of its PIDs until reaped.",
    )?;
    if known {
        for u in &o.pid_limits {
            writeln!(
                out,
                "zombies_pid_limit_zombies{{{}}} {}",
                limit_labels(&u.limit),
                u.zombies
            )?;
        }
    }
    // Not knowing a limit is not having none: the limit series above miss these parents'.
    family(
        out,
        "zombies_pid_limit_unknown_parents",
        "Parents of counted zombies whose cgroup PID limit could not be looked up (zombies runs in a cgroup namespace whose root was not found under --sys): zombies_pid_limit_used_ratio misses their limits.",
    )?;
    if known {
        let n = o.pid_limits_unknown.as_ref().map_or(0, |u| u.parents.len());
        writeln!(out, "zombies_pid_limit_unknown_parents {n}")?;
    }
    family(
        out,
        "zombies_check_status",
        "Result of zombies check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )?;
    writeln!(out, "zombies_check_status {}", status_value(o.status))
}

/// The labels of one PID limit: which kind, its cgroup, and the container, pod and unit of
/// the parents below it where they all share one (empty otherwise, and for the host's).
fn limit_labels(l: &PidsLimit) -> String {
    let (kind, cgroup, containers): (&str, &str, &[Container]) = match l {
        PidsLimit::Cgroup { cgroup, containers } => ("cgroup", cgroup, containers),
        PidsLimit::PidMax => ("pid_max", "", &[]),
        PidsLimit::ThreadsMax => ("threads_max", "", &[]),
    };
    let shared = |field: fn(&Container) -> Option<&str>| -> String {
        let mut values = containers.iter().map(field);
        match values.next().flatten() {
            Some(first) if values.all(|v| v == Some(first)) => label_value(first),
            _ => String::new(),
        }
    };
    format!(
        "limit=\"{kind}\",cgroup=\"{}\",runtime=\"{}\",container_id=\"{}\",pod_namespace=\"{}\",pod_name=\"{}\",unit=\"{}\"",
        label_value(cgroup),
        shared(|c| c.runtime.map(|r| r.as_str())),
        shared(|c| c.id.as_deref()),
        shared(|c| c.pod_namespace.as_deref()),
        shared(|c| c.pod_name.as_deref()),
        shared(|c| c.unit.as_deref()),
    )
}

/// `current/max` to six decimals, so that a few hundred PIDs of a 4-million pid_max are not
/// a 0 (a limit of 0 is full).
fn ratio(current: u64, max: u64) -> String {
    let r = if max == 0 {
        1.0
    } else {
        current as f64 / max as f64
    };
    format!("{}", (r * 1_000_000.0).round() / 1_000_000.0)
}

fn status_value(s: Status) -> u8 {
    s.exit().0
}

/// Escapes a label value as the exposition format requires: backslash, double quote and
/// line feed; everything else is UTF-8 as is.
pub fn label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Thresholds, evaluate};
    use crate::diagnose::Diagnosis;

    fn text(o: &Outcome) -> String {
        let mut v = Vec::new();
        write(&mut v, o).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("nginx"), "nginx");
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label_value("sp ace{}=,"), "sp ace{}=,");
    }

    #[test]
    fn explicit_zeros() {
        let o = evaluate(
            Diagnosis::default(),
            &Default::default(),
            0,
            &Thresholds::default(),
            None,
        );
        let t = text(&o);
        for sample in [
            "zombies_processes 0\n",
            "zombies_parents 0\n",
            "zombies_ignored_processes 0\n",
            "zombies_oldest_seen_seconds 0\n",
            "zombies_pid_limit_unknown_parents 0\n",
            "zombies_check_status 0\n",
        ] {
            assert!(t.contains(sample), "{sample:?} missing from\n{t}");
        }
        assert!(t.contains("# TYPE zombies_by_parent gauge\n"));
        assert!(t.contains("# TYPE zombies_by_container gauge\n"));
        assert!(
            !t.contains("zombies_by_container{"),
            "no series without zombies:\n{t}"
        );
        assert_eq!(t.matches("# HELP ").count(), 10);
        assert_eq!(t.matches("# TYPE ").count(), 10);
    }

    #[test]
    fn zombies_by_container_has_one_series_per_container() {
        use crate::diagnose::{ParentFinding, Summary, Zombie};
        use crate::proc::cgroup::{Container, Runtime};
        let mut p = ParentFinding::for_test(10, "node");
        p.zombies = vec![Zombie::for_test(11, 10), Zombie::for_test(12, 10)];
        p.container = Some(Container {
            runtime: Some(Runtime::Containerd),
            id: Some("a".repeat(64)),
            pod_namespace: Some("shop".into()),
            pod_name: Some("web-0".into()),
            ..Container::default()
        });
        let mut q = ParentFinding::for_test(20, "odd");
        q.zombies = vec![Zombie::for_test(21, 20)];
        q.container = Some(Container {
            unit: Some("we\"ird\\.service".into()),
            ..Container::default()
        });
        let d = Diagnosis {
            summary: Summary {
                zombies: 3,
                parents: 2,
                ..Summary::default()
            },
            parents: vec![p, q],
            pid_limits: Vec::new(),
            cgroup_namespace: None,
        };
        let t = text(&evaluate(
            d,
            &Default::default(),
            0,
            &Thresholds::default(),
            None,
        ));
        let series: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with("zombies_by_container{"))
            .collect();
        assert_eq!(
            series,
            vec![
                format!("zombies_by_container{{runtime=\"containerd\",container_id=\"{}\",pod_namespace=\"shop\",pod_name=\"web-0\",unit=\"\"}} 2", "a".repeat(64)).as_str(),
                "zombies_by_container{runtime=\"\",container_id=\"\",pod_namespace=\"\",pod_name=\"\",unit=\"we\\\"ird\\\\.service\"} 1",
            ]
        );
    }

    #[test]
    fn unknown_only_has_the_status() {
        let o = Outcome::unknown(Thresholds::default(), "no /proc".into());
        let t = text(&o);
        let samples: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples, vec!["zombies_check_status 3"]);
    }
}
