//! What every teaching demo stands on, shared by the lifecycle demos (`zombies demo`) and the
//! IPC demos (`zombies ipc demo`): [`narrate`] tells the numbered steps and their evidence
//! (text for people, one JSON Lines schema for scripts, documented there), [`runtime`] owns
//! the signals, the children and the cleanup, and [`probe`] reads the evidence from /proc.
//! The two families keep only their demos and their dispatchers.

pub mod narrate;
pub mod probe;
pub mod runtime;

use std::io::Write as _;

use anyhow::Result;

use crate::exit::Exit;
use narrate::Narrator;
use runtime::{Interrupted, Runtime};

/// Ends one demo, on every path but a panic (the runtime's Drop sweeps then): decides what
/// happened, kills and reaps whatever is left, and reports an interruption. A termination
/// signal that arrived is the real story even when a step failed because of it (a child
/// killed by the user's Ctrl-C). Returns the demo's result; [`Interrupted`] maps to exit 130.
pub fn finish(rt: &Runtime, n: &mut Narrator, result: Result<()>) -> Result<()> {
    let result = match (result, rt.pending()) {
        (Ok(()), None) => Ok(()),
        (_, Some(sig)) => Err(anyhow::Error::from(Interrupted(sig))),
        (Err(e), None) => Err(e),
    };
    // The guards inside the demo have run; this catches anything adopted meanwhile.
    let reaped = rt.sweep();
    match &result {
        Ok(()) if !reaped.is_empty() => {
            let _ = writeln!(
                std::io::stderr(),
                "zombies: note: demo {} left processes {reaped:?} behind; killed and reaped them (please report this bug)",
                n.demo()
            );
        }
        Ok(()) => {}
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
pub fn verdict(n: &Narrator) -> Exit {
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
    use narrate::{Evidence, Format, Step};

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
        n.step(Step::new("informs only").ev("f", "v", "m")).unwrap();
        verdict(&n)
    }

    #[test]
    fn one_fact_that_did_not_hold_fails_the_run() {
        assert_eq!(run_steps(&[true, true]), Exit::SUCCESS);
        assert_eq!(run_steps(&[]), Exit::SUCCESS);
        assert_eq!(run_steps(&[true, false, true]), Exit::FAILURE);
    }
}
