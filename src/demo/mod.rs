//! `zombies demo`: lifecycle demos that make the real system calls on the live kernel and
//! narrate numbered steps with the evidence read from /proc. This file holds the registry,
//! the dispatcher and the [`Lab`] a demo runs in; the narration, the runtime (children,
//! waits, Ctrl-C) and the /proc reads are shared with the IPC demos in [`crate::teach`]. One
//! file per demo.

mod clone;
mod exec;
mod exit;
mod fork;
mod orphan;
mod sched;
mod vfork;
mod zombie;

use std::io::Write;
use std::ops::Deref;
use std::time::Duration;

use anyhow::Result;
use nix::sys::wait::WaitStatus;
use serde_json::json;

use crate::exit::Exit;
use crate::style::Style;
use crate::teach::narrate::{Evidence, Format, Narrator, Step};
use crate::teach::runtime::{self, Interrupted, Runtime};

/// One demo: its name on the command line, a one-line summary and the code.
pub struct Demo {
    pub name: &'static str,
    pub summary: &'static str,
    /// The heading and opening lines of its narration.
    pub title: &'static str,
    pub run: fn(&mut Lab<'_>) -> Result<()>,
}

/// Options every lifecycle demo honours.
#[derive(Clone, Debug)]
pub struct Options {
    /// Pause after each step until Enter is pressed.
    pub step: bool,
    /// How long `demo zombie` holds its zombie.
    pub hold: Duration,
    /// The exit code of the children of `demo exit` and `demo zombie`.
    pub code: u8,
}

/// The running demo's world: the shared runtime (signals, children, /proc) through Deref,
/// the narration, and the options.
pub struct Lab<'a> {
    pub rt: &'a Runtime,
    pub narrator: Narrator<'a>,
    pub opts: Options,
}

impl Lab<'_> {
    /// Writes a step, then in --step mode waits for Enter.
    pub fn step(&mut self, step: Step) -> Result<()> {
        self.narrator.step(step)
    }

    /// Writes a demo's last step: in --step mode it pauses only when another demo follows.
    pub fn conclude(&mut self, step: Step) -> Result<()> {
        self.narrator.conclude(step)
    }
}

impl Deref for Lab<'_> {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        self.rt
    }
}

/// waitpid's status for a reaped child, as the proof that it is the one `expected`.
fn status_evidence(ws: WaitStatus, expected: WaitStatus, meaning: &str) -> Evidence {
    Evidence::new("waitpid", "status", runtime::describe(ws), meaning).check(ws == expected)
}

/// Whether /proc/PID still exists after the reap (`gone`: it does not, or holds another
/// process), as the proof that nothing is left behind.
fn gone_evidence(pid: i32, gone: bool, meaning: &str) -> Evidence {
    Evidence::new(
        format!("/proc/{pid}"),
        "exists",
        if gone { "no" } else { "yes" },
        meaning,
    )
    .check(gone)
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
    let Some(name) = req.name else {
        let mut out = std::io::stdout().lock();
        list(&mut out, req.format, req.style)?;
        out.flush()?;
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
    let rt = Runtime::start()?;
    let out: Box<dyn Write> = Box::new(std::io::stdout().lock());
    let narrator = Narrator::new(out, req.format, req.style, "demo").attach(&rt, req.opts.step);
    let mut lab = Lab {
        rt: &rt,
        narrator,
        opts: req.opts,
    };
    for (i, demo) in chosen.iter().enumerate() {
        lab.narrator.last_demo = i + 1 == chosen.len();
        lab.narrator.select(demo.name);
        lab.narrator.begin(demo.title, "")?;
        let result = (demo.run)(&mut lab);
        match crate::teach::finish(&rt, &mut lab.narrator, result) {
            Ok(()) => lab.narrator.end("")?,
            Err(e) if e.is::<Interrupted>() => return Ok(Exit::INTERRUPTED),
            Err(e) => {
                return Err(e.context(format!(
                    "demo {} failed (its processes were reaped)",
                    demo.name
                )));
            }
        }
    }
    Ok(crate::teach::verdict(&lab.narrator))
}

/// Every valid name, `all` last.
pub fn names() -> Vec<&'static str> {
    DEMOS.iter().map(|d| d.name).chain([ALL]).collect()
}

fn list(out: &mut impl Write, format: Format, style: Style) -> std::io::Result<()> {
    match format {
        Format::Json => {
            for d in DEMOS {
                let event = json!({"event": "demo", "demo": d.name, "summary": d.summary});
                writeln!(out, "{event}")?;
            }
        }
        Format::Text => {
            writeln!(
                out,
                "{}",
                style.bold("Demos (zombies demo NAME, or zombies demo all):")
            )?;
            for d in DEMOS {
                writeln!(out, "  {:<7} {}", d.name, d.summary)?;
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
