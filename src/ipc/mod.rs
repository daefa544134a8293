//! Inter-process communication on the live system: one demo per primitive the project's notes
//! name (signals, pipes, FIFOs, message queues, semaphores, shared memory), registered here,
//! and `ipc list`, which finds System V and POSIX IPC objects and the ones nobody uses any
//! more. Names and summaries are in [`crate::teach::catalog`]; the dispatcher, narration,
//! runtime and /proc reads are shared with the lifecycle demos in [`crate::teach`].

pub(crate) mod fifo;
pub(crate) mod mqueue;
pub(crate) mod pipe;
pub(crate) mod posix;
pub(crate) mod sem;
pub(crate) mod shm;
pub(crate) mod signal;
pub(crate) mod sysv;

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::teach::catalog;
use crate::teach::lab::Demo as Registered;
use crate::teach::narrate::Step;
use crate::teach::probe;
use crate::teach::runtime::Runtime;

/// Every demo, in the order the notes list the mechanisms (the order of
/// [`crate::teach::catalog::ipc::DEMOS`]).
pub(crate) const REGISTRY: &[Registered] = &[
    Registered {
        about: catalog::ipc::SIGNAL,
        run: signal::run,
    },
    Registered {
        about: catalog::ipc::PIPE,
        run: pipe::run,
    },
    Registered {
        about: catalog::ipc::FIFO,
        run: fifo::run,
    },
    Registered {
        about: catalog::ipc::MQUEUE,
        run: mqueue::run,
    },
    Registered {
        about: catalog::ipc::SEM,
        run: sem::run,
    },
    Registered {
        about: catalog::ipc::SHM,
        run: shm::run,
    },
];

/// A name for an IPC object that says who made it: `zombies-demo-<pid>-<what>`.
pub(crate) fn demo_name(what: &str) -> String {
    format!("zombies-demo-{}-{what}", std::process::id())
}

/// What a demo expects of a value it shows: `Some(v)` makes the row a checked fact that holds
/// when the live value is exactly `v`; None only shows it.
pub(crate) type Want = Option<String>;

/// Expect exactly this value.
pub(crate) fn is(v: impl ToString) -> Want {
    Some(v.to_string())
}

/// Only show the value.
pub(crate) const SHOW: Want = None;

/// Rows of evidence from an object's row in /proc/sysvipc/TABLE: `field` gives each named
/// field's value and meaning, and `wants` says which are checked facts. `field` is None when
/// the object has no row; that fails the step's facts, if it has any.
pub(crate) fn row_facts<F: Fn(&str) -> (String, String)>(
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
            step.fact_mut(source, "row", value, "the object is gone", false);
        } else {
            step.show_mut(source, "row", value, "the object is gone");
        }
        return;
    };
    for (f, want) in wants {
        let (value, meaning) = field(f);
        match want {
            Some(w) => {
                let holds = &value == w;
                step.fact_mut(source.clone(), *f, value, meaning, holds);
            }
            None => step.show_mut(source.clone(), *f, value, meaning),
        }
    }
}

/// The shell command that shows an object the way the kernel lists it: `ipcs -q -i 7`,
/// `cat /dev/mqueue/NAME`, `ls -l /dev/shm/NAME`.
pub(crate) fn look(o: &crate::teach::narrate::Object) -> String {
    let id = o.id.unwrap_or(-1);
    let name = o.name.clone().unwrap_or_default();
    match o.kind {
        "sysv-msg" => format!("ipcs -q -i {id}; grep -w {id} /proc/sysvipc/msg"),
        "sysv-sem" => format!("ipcs -s -i {id}; grep -w {id} /proc/sysvipc/sem"),
        "sysv-shm" => format!("ipcs -m -i {id}; grep -w {id} /proc/sysvipc/shm"),
        "posix-mq" => format!("cat /dev/mqueue{name}"),
        "posix-sem" => format!("ls -l /dev/shm/sem.{}", name.trim_start_matches('/')),
        "posix-shm" => format!("ls -l /dev/shm{name}"),
        _ => format!("ls -l {name}"),
    }
}

/// How long a System V object lives, for the steps that remove one.
pub(crate) const SYSV_LIFETIME: &str = "A System V object outlives the processes that made \
     and used it: it lives until it is removed (IPC_RMID, or ipcrm), until its IPC namespace \
     ends (a container's, when its last process exits), or until reboot. On systemd machines \
     logind's RemoveIPC= (on by default, for ordinary users only) also removes a user's \
     objects when their last session ends. zombies ipc list --orphaned finds the ones left \
     behind.";

/// How long a POSIX object lives: it is a file, in /dev/shm or /dev/mqueue.
pub(crate) const POSIX_LIFETIME: &str = "Without the unlink the name would stay, holding its \
     memory, until reboot: /dev/shm is a tmpfs, in memory, and /dev/mqueue's queues belong to \
     the IPC namespace (a container's goes when its last process exits). On systemd machines \
     logind's RemoveIPC= (on by default, for ordinary users only) also removes a user's files \
     there when their last session ends.";

/// The proof that a System V object was removed: its row left /proc/sysvipc/TABLE.
pub(crate) fn removed_fact(step: &mut Step, table: &str, id_name: &str, id: i32, present: bool) {
    step.fact_mut(
        format!("/proc/sysvipc/{table}"),
        "row",
        if present {
            format!("{id_name} {id} still listed")
        } else {
            format!("no row with {id_name} {id}")
        },
        "removed: the row is gone",
        !present,
    );
}

/// The state letter of `pid` as a fact: `want` is the letter, or None for "no /proc entry".
/// A child that just answered may not be back asleep yet: waits up to 2 s for `want`.
pub(crate) fn state_fact(
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
        format!("/proc/{pid}/stat"),
        "state (3)",
        st.map(String::from).unwrap_or("gone".into()),
        meaning.to_string(),
        st == want,
    );
    Ok(())
}
