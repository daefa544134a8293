//! The teaching demos, lifecycle (`zombies demo`) and IPC (`zombies ipc demo`), behind one
//! entry point, [`run`]: one dispatcher, one exit rule and one JSON schema for both families.
//! What every demo stands on lives here too: [`catalog`] names the demos (for the command
//! line as well), [`lab`] is the world a demo runs in, [`narrate`] tells the numbered steps
//! and their evidence, [`runtime`] owns the signals, the children and the cleanup, and
//! [`probe`] reads the evidence from /proc. The demos themselves are in `crate::demo` and
//! `crate::ipc`.

pub(crate) use crate::catalog;
pub(crate) mod lab;
pub(crate) mod narrate;
pub(crate) mod probe;
pub(crate) mod runtime;
pub(crate) mod syscalls;
pub(crate) mod trace;

pub use lab::Options;
pub use narrate::Format;

use std::io::Write as _;

use anyhow::Result;

use crate::exit::{Exit, UsageError};
use catalog::Entry;
use lab::{Demo, Lab};
use narrate::Narrator;
use runtime::{Interrupted, Runtime};

/// The two families of demos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `zombies demo`: how processes are born, scheduled and die.
    Lifecycle,
    /// `zombies ipc demo`: how processes talk.
    Ipc,
}

impl Family {
    /// The words before a demo's name: "demo", "ipc demo".
    fn words(self) -> &'static str {
        match self {
            Family::Lifecycle => "demo",
            Family::Ipc => "ipc demo",
        }
    }

    /// The heading of the list of demos.
    fn heading(self) -> &'static str {
        match self {
            Family::Lifecycle => "Demos (zombies demo NAME, or zombies demo all):",
            Family::Ipc => "IPC demos (zombies ipc demo NAME, or ipc demo NAME):",
        }
    }
}

/// Which demos to run, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Selection {
    pub family: Family,
    /// The family's demos, in order, with their code (`crate::demo::REGISTRY` or
    /// `crate::ipc::REGISTRY`): given by the caller, so that the framework does not depend on
    /// the demos written on it.
    pub demos: &'static [Demo],
    /// The demo's name, [`catalog::ALL`] for every lifecycle demo, None to list them.
    pub name: Option<String>,
    /// The POSIX variant of an IPC demo.
    pub posix: bool,
}

/// Runs the demos selected, or lists them when no name is given. Every child a demo starts
/// is killed and reaped and every object it creates removed, on every path (error, panic,
/// Ctrl-C). Exits 0 when every fact the demos checked held, 1 when one did not (marked ✗ in
/// the steps and said again on stderr), 130 after cleaning up when interrupted; a name or an
/// option that does not apply is a [`UsageError`] (exit 2).
pub fn run(selection: &Selection, options: Options) -> Result<Exit> {
    let family = selection.family;
    let Some(name) = &selection.name else {
        let demos: Vec<(&str, &str)> = selection
            .demos
            .iter()
            .map(|d| (d.about.name, d.about.summary))
            .collect();
        let out = Box::new(std::io::stdout().lock());
        let mut n = Narrator::new(out, options.format, options.style, family.words());
        n.list(family.heading(), &demos)?;
        return Ok(Exit::SUCCESS);
    };
    let chosen = choose(selection, name, &options)?;
    let rt = Runtime::start()?;
    if options.trace {
        rt.start_tracing()?;
    }
    let out = Box::new(std::io::stdout().lock());
    let narrator =
        Narrator::new(out, options.format, options.style, family.words()).attach(&rt, options.step);
    let mut lab = Lab {
        rt: &rt,
        narrator,
        opts: options,
        posix: selection.posix,
    };
    for (i, demo) in chosen.iter().enumerate() {
        lab.narrator.last_demo = i + 1 == chosen.len();
        lab.narrator.select(demo.about.name);
        let result = (demo.run)(&mut lab);
        match finish(&rt, &mut lab.narrator, result) {
            Ok(summary) => lab.narrator.end(&summary)?,
            Err(e) if e.is::<Interrupted>() => return Ok(Exit::INTERRUPTED),
            Err(e) => {
                return Err(e.context(format!(
                    "{} {} failed (its processes were reaped)",
                    family.words(),
                    demo.about.name
                )));
            }
        }
    }
    Ok(verdict(&lab.narrator))
}

/// The demos a selection names, with its options checked against them.
fn choose(selection: &Selection, name: &str, options: &Options) -> Result<Vec<&'static Demo>> {
    let demos = selection.demos;
    let chosen: Vec<&Demo> = if selection.family == Family::Lifecycle && name == catalog::ALL {
        demos.iter().collect()
    } else {
        match demos.iter().find(|d| d.about.name == name) {
            Some(d) => vec![d],
            None => {
                let mut valid: Vec<&str> = demos.iter().map(|d| d.about.name).collect();
                if selection.family == Family::Lifecycle {
                    valid.push(catalog::ALL);
                }
                return Err(UsageError(format!(
                    "no demo named '{name}'; valid names: {}",
                    valid.join(", ")
                ))
                .into());
            }
        }
    };
    let names = |f: fn(&Entry) -> bool| -> String {
        let v: Vec<&str> = demos
            .iter()
            .filter(|d| f(&d.about))
            .map(|d| d.about.name)
            .collect();
        match v.as_slice() {
            [] => "no demo".to_string(),
            [one] => format!("the {one} demo"),
            [init @ .., last] => format!("the {} and {last} demos", init.join(", ")),
        }
    };
    if selection.posix && chosen.iter().any(|d| !d.about.posix) {
        return Err(UsageError(format!(
            "--posix applies to {}, not to {name}",
            names(|e| e.posix)
        ))
        .into());
    }
    if options.path.is_some() && chosen.iter().any(|d| !d.about.path) {
        return Err(UsageError(format!(
            "--path applies to {}, not to {name}",
            names(|e| e.path)
        ))
        .into());
    }
    Ok(chosen)
}

/// Ends one demo, on every path but a panic (the runtime's Drop sweeps then): decides what
/// happened, kills and reaps whatever is left, and reports an interruption. A termination
/// signal that arrived is the real story even when a step failed because of it (a child
/// killed by the user's Ctrl-C). Returns the demo's result; [`Interrupted`] maps to exit 130.
fn finish(rt: &Runtime, n: &mut Narrator, result: Result<String>) -> Result<String> {
    let result = match (result, rt.pending()) {
        (Ok(summary), None) => Ok(summary),
        (_, Some(sig)) => Err(anyhow::Error::from(Interrupted(sig))),
        (Err(e), None) => Err(e),
    };
    // The guards inside the demo have run; this catches anything adopted meanwhile.
    let reaped = rt.sweep();
    match &result {
        Ok(_) if !reaped.is_empty() => {
            let _ = writeln!(
                std::io::stderr(),
                "zombies: note: demo {} left processes {reaped:?} behind; killed and reaped them (please report this bug)",
                n.demo()
            );
        }
        Ok(_) => {}
        Err(e) => {
            if let Some(Interrupted(sig)) = e.downcast_ref::<Interrupted>() {
                // Best effort: stdout may be the thing that went away.
                let _ = n.interrupted(sig.as_str(), &reaped);
                let _ = writeln!(
                    std::io::stderr(),
                    "zombies: demo {} interrupted by {}; it removed what it created and killed and reaped every process it started",
                    n.demo(),
                    sig.as_str()
                );
            }
        }
    }
    result
}

/// The exit status of demos that ran to their end, the same for both families: 1 when a fact
/// a demo checked did not hold (marked ✗ in its steps, said once more on stderr), else 0.
fn verdict(n: &Narrator) -> Exit {
    if n.total_failed == 0 {
        return Exit::SUCCESS;
    }
    let _ = writeln!(
        std::io::stderr(),
        "zombies: {} fact(s) taught did not hold on this kernel (marked ✗ above); please report it with `uname -r`",
        n.total_failed
    );
    Exit::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Style;
    use narrate::{Evidence, Step};

    fn run_steps(holds: &[bool]) -> Exit {
        let mut n = Narrator::new(
            Box::new(std::io::sink()),
            Format::Json,
            Style::default(),
            "x",
        );
        n.select("t");
        for &h in holds {
            n.step(Step::new("s").evidence(Evidence::new("src", "f", "v", "m").check(h)))
                .unwrap();
        }
        n.step(Step::new("informs only").show("s", "f", "v", "m"))
            .unwrap();
        verdict(&n)
    }

    #[test]
    fn one_fact_that_did_not_hold_fails_the_run() {
        assert_eq!(run_steps(&[true, true]), Exit::SUCCESS);
        assert_eq!(run_steps(&[]), Exit::SUCCESS);
        assert_eq!(run_steps(&[true, false, true]), Exit::FAILURE);
    }

    #[test]
    fn the_registries_follow_the_catalog() {
        for (family, demos, entries) in [
            (
                "lifecycle",
                crate::demo::REGISTRY,
                catalog::lifecycle::DEMOS,
            ),
            ("ipc", crate::ipc::REGISTRY, catalog::ipc::DEMOS),
        ] {
            let registered: Vec<Entry> = demos.iter().map(|d| d.about).collect();
            assert_eq!(registered, entries, "{family}");
        }
    }

    #[test]
    fn names_are_unique_and_summaries_short_enough_for_help() {
        let mut names: Vec<&str> = catalog::lifecycle::DEMOS
            .iter()
            .chain(catalog::ipc::DEMOS)
            .map(|e| e.name)
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name is used twice");
        assert!(!names.contains(&catalog::ALL));
        for e in catalog::lifecycle::DEMOS {
            assert!(!e.summary.is_empty() && e.summary.len() < 90, "{}", e.name);
        }
        for e in catalog::ipc::DEMOS {
            assert!(!e.summary.is_empty() && e.summary.len() < 160, "{}", e.name);
        }
    }

    fn options() -> Options {
        Options {
            format: Format::Json,
            style: Style::default(),
            step: false,
            trace: false,
            hold: std::time::Duration::ZERO,
            code: 0,
            path: None,
        }
    }

    fn usage(family: Family, name: &str, posix: bool, path: bool) -> Option<String> {
        let sel = Selection {
            family,
            demos: match family {
                Family::Lifecycle => crate::demo::REGISTRY,
                Family::Ipc => crate::ipc::REGISTRY,
            },
            name: Some(name.to_string()),
            posix,
        };
        let mut opts = options();
        opts.path = path.then(|| "/tmp/x".into());
        match choose(&sel, name, &opts) {
            Ok(_) => None,
            Err(e) => Some(e.downcast::<UsageError>().expect("a usage error").0),
        }
    }

    #[test]
    fn options_that_do_not_apply_are_usage_errors() {
        assert_eq!(usage(Family::Ipc, "shm", true, false), None);
        assert_eq!(usage(Family::Ipc, "fifo", false, true), None);
        assert_eq!(usage(Family::Lifecycle, "all", false, false), None);
        assert_eq!(
            usage(Family::Ipc, "pipe", true, false).as_deref(),
            Some("--posix applies to the mqueue, sem and shm demos, not to pipe")
        );
        assert_eq!(
            usage(Family::Ipc, "sem", false, true).as_deref(),
            Some("--path applies to the fifo demo, not to sem")
        );
        let unknown = usage(Family::Ipc, "all", false, false).unwrap();
        assert!(
            unknown.contains("no demo named 'all'") && unknown.contains("signal, pipe"),
            "{unknown}"
        );
        let unknown = usage(Family::Lifecycle, "telepathy", false, false).unwrap();
        assert!(unknown.ends_with("orphan, all"), "{unknown}");
    }
}
