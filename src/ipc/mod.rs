//! Inter-process communication on the live system: one demo per primitive the project's notes
//! name (signals, pipes, FIFOs, message queues, semaphores, shared memory), and `ipc list`,
//! which finds System V and POSIX IPC objects and the ones nobody uses any more. The demos'
//! narration, runtime and /proc reads are shared with the lifecycle demos in [`crate::teach`].

pub mod fifo;
pub mod list;
pub mod mqueue;
pub mod pipe;
pub mod posix;
pub mod sem;
pub mod shm;
pub mod signal;
pub mod sysv;
pub mod sysvipc;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::exit::Exit;
use crate::style::Style;
use crate::teach::narrate::{Format, Narrator, Step};
use crate::teach::probe;
use crate::teach::runtime::{Interrupted, Runtime};

/// The demos, in the order the notes list the mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    Signal,
    Pipe,
    Fifo,
    Mqueue,
    Sem,
    Shm,
}

impl Demo {
    pub const ALL: [Demo; 6] = [
        Demo::Signal,
        Demo::Pipe,
        Demo::Fifo,
        Demo::Mqueue,
        Demo::Sem,
        Demo::Shm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Demo::Signal => "signal",
            Demo::Pipe => "pipe",
            Demo::Fifo => "fifo",
            Demo::Mqueue => "mqueue",
            Demo::Sem => "sem",
            Demo::Shm => "shm",
        }
    }

    /// One line on what the demo shows.
    pub fn about(self) -> &'static str {
        match self {
            Demo::Signal => {
                "catch, ignore and block signals (SigCgt, SigIgn, SigBlk, ShdPnd: a blocked one stays pending); SIGKILL and SIGSTOP cannot be; stop and continue a child"
            }
            Demo::Pipe => {
                "pipe(2) between parent and child: one inode in both /proc/PID/fd, EOF, its capacity (F_GETPIPE_SZ), EPIPE and SIGPIPE"
            }
            Demo::Fifo => {
                "a named pipe: mkfifo, file type p, open blocks until the other end opens [--path PATH]"
            }
            Demo::Mqueue => {
                "System V message queue: typed messages, qnum and cbytes in /proc/sysvipc/msg, creator-set permissions [--posix]"
            }
            Demo::Sem => {
                "System V semaphore: lost updates without it, none with it, SEM_UNDO on death [--posix]"
            }
            Demo::Shm => {
                "System V shared memory: one page seen by two processes, nattch 1-2-1, IPC_RMID [--posix]"
            }
        }
    }

    /// Whether the demo has a `--posix` variant.
    pub fn has_posix(self) -> bool {
        matches!(self, Demo::Mqueue | Demo::Sem | Demo::Shm)
    }
}

/// How to run a demo, resolved from the command line.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Text for people or JSON events for scripts.
    pub format: Format,
    /// Pause for Enter after each step.
    pub step: bool,
    /// The POSIX variant (mqueue, sem, shm).
    pub posix: bool,
    /// fifo: create the FIFO here and wait for a writer from another shell.
    pub path: Option<PathBuf>,
    pub style: Style,
}

/// `zombies ipc demo` without a name: the list of demos.
pub fn write_demo_list(out: &mut impl Write, style: Style) -> io::Result<()> {
    writeln!(out, "IPC demos (zombies ipc demo NAME, or ipc demo NAME):")?;
    for d in Demo::ALL {
        writeln!(
            out,
            "  {}  {}",
            style.bold(&format!("{:<7}", d.name())),
            d.about()
        )?;
    }
    writeln!(
        out,
        "Options: --step pauses after each step, --format json prints one event per line."
    )
}

/// Runs one demo. Every object and child it creates is owned by a guard inside the demo
/// function, so by the time it returns (success, error, panic or Ctrl-C) they are gone; then
/// the processes adopted as subreaper are reaped. Exits 130 after cleaning up when
/// interrupted, and 1 when a fact the demo checked did not hold (as `zombies demo` does).
pub fn run_demo(demo: Demo, opts: &DemoOptions) -> Result<Exit> {
    let rt = Runtime::start()?;
    let out: Box<dyn Write> = Box::new(io::stdout().lock());
    let mut n = Narrator::new(out, opts.format, opts.style, "ipc demo").attach(&rt, opts.step);
    n.select(demo.name());
    let result = match demo {
        Demo::Signal => signal::run(&rt, &mut n),
        Demo::Pipe => pipe::run(&rt, &mut n),
        Demo::Fifo => fifo::run(&rt, &mut n, opts.path.as_deref()),
        Demo::Mqueue if opts.posix => mqueue::run_posix(&rt, &mut n),
        Demo::Mqueue => mqueue::run(&rt, &mut n),
        Demo::Sem if opts.posix => sem::run_posix(&rt, &mut n),
        Demo::Sem => sem::run(&rt, &mut n),
        Demo::Shm if opts.posix => shm::run_posix(&rt, &mut n),
        Demo::Shm => shm::run(&rt, &mut n),
    };
    match crate::teach::finish(&rt, &mut n, result) {
        Ok(()) => Ok(crate::teach::verdict(&n)),
        Err(e) if e.is::<Interrupted>() => Ok(Exit::INTERRUPTED),
        Err(e) => Err(e.context(format!("the {} demo failed", demo.name()))),
    }
}

/// A name for an IPC object that says who made it: `zombies-demo-<pid>-<what>`.
pub fn demo_name(what: &str) -> String {
    format!("zombies-demo-{}-{what}", std::process::id())
}

/// What a demo expects of a value it shows: `Some(v)` makes the row a checked fact that holds
/// when the live value is exactly `v`; None only shows it.
pub type Want = Option<String>;

/// Expect exactly this value.
pub fn is(v: impl ToString) -> Want {
    Some(v.to_string())
}

/// Only show the value.
pub const SHOW: Want = None;

/// Rows of evidence from an object's row in /proc/sysvipc/TABLE: `field` gives each named
/// field's value and meaning, and `wants` says which are checked facts. `field` is None when
/// the object has no row; that fails the step's facts, if it has any.
pub fn row_facts<F: Fn(&str) -> (String, String)>(
    step: &mut Step,
    table: &str,
    id_name: &str,
    id: i32,
    field: Option<F>,
    wants: &[(&str, Want)],
) {
    let source = format!("/proc/sysvipc/{table}");
    let Some(field) = field else {
        let value = format!("no row with {id_name} {id}");
        if wants.iter().any(|(_, w)| w.is_some()) {
            step.fact_mut(source, value, "the object is gone", false);
        } else {
            step.ev_mut(source, value, "the object is gone");
        }
        return;
    };
    for (f, want) in wants {
        let (value, meaning) = field(f);
        let label = format!("{source} {f}");
        match want {
            Some(w) => {
                let holds = &value == w;
                step.fact_mut(label, value, meaning, holds);
            }
            None => step.ev_mut(label, value, meaning),
        }
    }
}

/// The proof that a System V object was removed: its row left /proc/sysvipc/TABLE.
pub fn removed_fact(step: &mut Step, table: &str, id_name: &str, id: i32, present: bool) {
    step.fact_mut(
        format!("/proc/sysvipc/{table}"),
        if present {
            format!("{id_name} {id} still listed")
        } else {
            format!("no row with {id_name} {id}")
        },
        "removed: nothing left until reboot",
        !present,
    );
}

/// The state letter of `pid` as a fact: `want` is the letter, or None for "no /proc entry".
/// A child that just answered may not be back asleep yet: waits up to 2 s for `want`.
pub fn state_fact(
    rt: &Runtime,
    step: &mut Step,
    pid: i32,
    want: Option<char>,
    meaning: &str,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut st = probe::state(pid);
    while st != want && Instant::now() < deadline {
        rt.sleep(Duration::from_millis(2))?;
        st = probe::state(pid);
    }
    step.fact_mut(
        format!("/proc/{pid}/stat state"),
        st.map(String::from).unwrap_or("gone".into()),
        meaning.to_string(),
        st == want,
    );
    Ok(())
}
