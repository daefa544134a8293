//! What one demo is ([`Demo`]: its catalog entry and its code) and the world it runs in
//! ([`Lab`]: the runtime, the narration and the options), the same for both families.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::catalog::Entry;
use super::narrate::{Format, Narrator, Step};
use super::runtime::Runtime;
use crate::style::Style;

/// One demo: its name and summary on the command line, and its code. The code opens the
/// narration itself (its title may depend on the options: `--posix`), makes its steps, and
/// returns the closing summary ("" for none); the dispatcher ends the narration with it.
pub struct Demo {
    pub(crate) about: Entry,
    pub(crate) run: fn(&mut Lab<'_>) -> Result<String>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("about", &self.about.name)
            .finish()
    }
}

/// How to run the demos, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Text for people or JSON events for scripts.
    pub format: Format,
    /// Colours and emphasis of the text output.
    pub style: Style,
    /// Pause after each step until Enter is pressed.
    pub step: bool,
    /// Record and show the system calls each step makes (`--trace`).
    pub trace: bool,
    /// How long `demo zombie` holds its zombie.
    pub hold: Duration,
    /// The exit code of the children of `demo exit` and `demo zombie`.
    pub code: u8,
    /// `ipc demo fifo`: create the FIFO here and wait for a writer from another shell.
    pub path: Option<PathBuf>,
}

/// The running demo's world: the shared runtime (signals, children, /proc) through Deref,
/// the narration, and the options.
pub(crate) struct Lab<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) narrator: Narrator<'a>,
    pub(crate) opts: Options,
    /// The POSIX variant of an IPC demo (`--posix`).
    pub(crate) posix: bool,
}

impl Lab<'_> {
    /// Opens the demo's narration: its title and what it shows (may be empty).
    pub(crate) fn begin(&mut self, title: &str, intro: &str) -> Result<()> {
        Ok(self.narrator.begin(title, intro)?)
    }

    /// Writes a step, then in --step mode waits for Enter.
    pub(crate) fn step(&mut self, step: Step) -> Result<()> {
        self.narrator.step(step)
    }

    /// Writes a demo's last step: in --step mode it pauses only when another demo follows.
    pub(crate) fn conclude(&mut self, step: Step) -> Result<()> {
        self.narrator.conclude(step)
    }
}

impl Deref for Lab<'_> {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        self.rt
    }
}
