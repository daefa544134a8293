//! `zombies demo`: lifecycle demos that make the real system calls on the live kernel and
//! narrate numbered steps with the evidence read from /proc. This file holds the registry
//! and the dispatcher; `narrate` (steps and their JSON Lines) and `lab` (children, waits,
//! Ctrl-C, temp dirs) are shared with other demo families; one file per demo.

pub mod lab;
pub mod narrate;

mod clone;
mod exec;
mod exit;
mod fork;
mod orphan;
mod sched;
mod vfork;
mod zombie;

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::exit::Exit;
use crate::style::Style;
use lab::{Interrupted, Lab, Options};
use narrate::{Format, Narrator};

/// One demo: its name on the command line, a one-line summary and the code.
pub struct Demo {
    pub name: &'static str,
    pub summary: &'static str,
    /// The heading and opening lines of its narration.
    pub title: &'static str,
    pub run: fn(&mut Lab) -> Result<()>,
}

/// Every demo, in the order `demo all` runs them: birth, life, death.
pub const DEMOS: &[Demo] = &[
    fork::DEMO,
    vfork::DEMO,
    clone::DEMO,
    exec::DEMO,
    sched::DEMO,
    exit::DEMO,
    zombie::DEMO,
    orphan::DEMO,
];

/// The name that runs every demo.
pub const ALL: &str = "all";

/// What `zombies demo` was asked to do, resolved from the command line.
pub struct Request {
    pub name: Option<String>,
    pub format: Format,
    pub style: Style,
    pub opts: Options,
}

/// Runs the demos asked for (or lists them). Exits 130 after cleaning up when interrupted,
/// 1 when a fact a demo teaches did not hold on this kernel.
pub fn run(req: Request) -> Result<Exit> {
    let out: Box<dyn Write> = Box::new(std::io::stdout().lock());
    let mut narrator = Narrator::new(out, req.format, req.style);
    let Some(name) = req.name else {
        list(&mut narrator, req.format, req.style)?;
        narrator.flush()?;
        return Ok(Exit::SUCCESS);
    };
    let chosen: Vec<&Demo> = if name == ALL {
        DEMOS.iter().collect()
    } else {
        match DEMOS.iter().find(|d| d.name == name) {
            Some(d) => vec![d],
            None => {
                return Err(crate::exit::UsageError(format!(
                    "no demo named '{name}'; valid names: {}",
                    names().join(", ")
                ))
                .into());
            }
        }
    };
    let mut lab = Lab::new(narrator, req.opts)?;
    let me = lab.me;
    for (i, demo) in chosen.iter().enumerate() {
        lab.last_demo = i + 1 == chosen.len();
        lab.narrator.begin(
            demo.name,
            demo.title,
            &[&format!(
                "This demo is PID {me}, made a child subreaper (PR_SET_CHILD_SUBREAPER) so orphans come back to it; it kills and reaps everything it starts."
            )],
            me,
        )?;
        let result = (demo.run)(&mut lab);
        // The guards inside the demo have run; this catches anything adopted meanwhile.
        let reaped = lab.sweep();
        match result {
            Ok(()) => {
                if !reaped.is_empty() {
                    let _ = writeln!(
                        std::io::stderr(),
                        "zombies: note: demo {} left processes {reaped:?} behind; killed and reaped them (please report this bug)",
                        demo.name
                    );
                }
                lab.narrator.end()?;
            }
            Err(e) => {
                if let Some(Interrupted(sig)) = e.downcast_ref::<Interrupted>() {
                    lab.narrator.interrupted(sig.as_str(), &reaped)?;
                    let _ = writeln!(
                        std::io::stderr(),
                        "zombies: demo {} interrupted by {}; every process it started is killed and reaped",
                        demo.name,
                        sig.as_str()
                    );
                    return Ok(Exit::INTERRUPTED);
                }
                return Err(e.context(format!(
                    "demo {} failed (its processes were reaped)",
                    demo.name
                )));
            }
        }
    }
    if lab.narrator.total_failed > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "zombies: {} fact(s) taught did not hold on this kernel (marked ✗ above); please report it with `uname -r`",
            lab.narrator.total_failed
        );
        return Ok(Exit::FAILURE);
    }
    Ok(Exit::SUCCESS)
}

/// Every valid name, `all` last.
pub fn names() -> Vec<&'static str> {
    DEMOS.iter().map(|d| d.name).chain([ALL]).collect()
}

fn list(n: &mut Narrator, format: Format, style: Style) -> Result<()> {
    match format {
        Format::Json => {
            for d in DEMOS {
                n.line(
                    &json!({"event": "demo", "demo": d.name, "summary": d.summary}).to_string(),
                )?;
            }
        }
        Format::Text => {
            n.line(&style.bold("Demos (zombies demo NAME, or zombies demo all):"))?;
            for d in DEMOS {
                n.line(&format!("  {:<7} {}", d.name, d.summary))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_documented() {
        let n = names();
        let mut sorted = n.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), n.len());
        assert_eq!(n.last(), Some(&ALL));
        for d in DEMOS {
            assert!(!d.summary.is_empty() && d.summary.len() < 90, "{}", d.name);
        }
    }
}
