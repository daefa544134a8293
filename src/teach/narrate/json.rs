//! The narration for scripts (`--format json`): one JSON object per line.
//!
//! One schema for both families (`zombies demo` and `zombies ipc demo`). Every line is a JSON
//! object with `"schema"` (the version every zombies JSON document carries), `"version"` (the
//! same number, the name this schema used first), `"event"` and the `"demo"` it belongs to; a
//! member a demo has nothing for is null (or empty). Members are only ever added, never
//! renamed or removed, and a new event kind may appear: a reader skips what it does not know.
//! A change that would break a reader would raise the version.
//!
//! - `start`: the demo begins; `pid` is the demo process, `intro` what the demo shows.
//!   `{"schema":1,"version":1,"event":"start","demo":"fork","title":"...","intro":"...","pid":41}`
//! - `step`: one numbered step (`step` counts from 1). `syscall` is the call line, `result`
//!   what it returned, `explanation` the prose (paragraphs separated by a newline); each may
//!   be null. `evidence` rows are `{source, field, value, meaning, holds}`: `source` is where
//!   the value was read (a /proc file, a call, a measurement), `field` which part of it,
//!   every `value` is a string exactly as read, and `holds` is true or false when the row
//!   checks a fact the demo teaches, null when it only shows a value. `pids` names the
//!   processes the step is about by role; `try` lists shell commands that re-check the
//!   evidence by hand; `diagram` is an ASCII picture or null; `trace` holds the system calls
//!   the step made, `{pid, call, args, result}`, with `--trace` (empty without it); `data` is
//!   structured data for scripts; `notes` is always empty (kept for older readers).
//!   `{"schema":1,"version":1,"event":"step","demo":"fork","step":1,"title":"...","syscall":"fork()",
//!   "result":"42","explanation":"...","evidence":[{"source":"/proc/42/status","field":"PPid",
//!   "value":"41","meaning":"...","holds":true}],"pids":{"child":42},"notes":[],"data":null,
//!   "try":["grep PPid /proc/42/status"],"diagram":null,"trace":[]}`
//! - `object`: an IPC object the demo created or removed, so a caller can check it is gone
//!   afterwards; `action` is `created` or `removed`, `kind` one of `sysv-msg`, `sysv-sem`,
//!   `sysv-shm`, `posix-mq`, `posix-sem`, `posix-shm`, `fifo`; `id`, `key` and `name` may be
//!   null. `{"version":1,"event":"object","demo":"shm","action":"created","kind":"sysv-shm",
//!   "id":7,"key":"0x7a012341","name":null}`
//! - `say`: a line for the user outside the steps (what to type in another shell).
//!   `{"version":1,"event":"say","demo":"fifo","text":"..."}`
//! - `end`: the demo finished; `ok` is true when every fact checked held.
//!   `{"version":1,"event":"end","demo":"fork","steps":4,"facts_checked":9,"facts_failed":0,
//!   "ok":true,"summary":null}`
//! - `interrupted`: the last event after Ctrl-C, SIGTERM or SIGHUP, written after the
//!   cleanup; `reaped` lists the processes the final sweep killed and reaped (the demo's own
//!   guards reap the others first).
//!   `{"version":1,"event":"interrupted","demo":"zombie","signal":"SIGINT","reaped":[42]}`
//! - `demo` (only from `zombies demo --format json` or `zombies ipc demo --format json`
//!   without a name): one per demo, `{"version":1,"event":"demo","demo":"fork","summary":"..."}`.

use std::io::{self, Write};

use serde::Serialize;

use super::step::{Object, Step};

/// One line of the contract above.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(super) enum Event<'a> {
    Start {
        demo: &'a str,
        title: &'a str,
        intro: Option<&'a str>,
        pid: i32,
    },
    Step {
        demo: &'a str,
        step: u32,
        #[serde(flatten)]
        body: &'a Step,
    },
    Object {
        demo: &'a str,
        action: &'a str,
        #[serde(flatten)]
        object: &'a Object,
    },
    Say {
        demo: &'a str,
        text: &'a str,
    },
    End {
        demo: &'a str,
        steps: u32,
        facts_checked: u32,
        facts_failed: u32,
        ok: bool,
        summary: Option<&'a str>,
    },
    Interrupted {
        demo: &'a str,
        signal: &'a str,
        reaped: &'a [i32],
    },
    /// A demo in the list of demos (no name given).
    Demo {
        demo: &'a str,
        summary: &'a str,
    },
}

/// The version of the schema above; every line carries it.
pub(crate) const VERSION: u32 = 1;

/// One line: the version, then the event's members.
#[derive(Serialize)]
struct Line<'a> {
    version: u32,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

/// Writes one event as a line.
pub(super) fn write(out: &mut dyn Write, e: &Event) -> io::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &crate::report::json::versioned(&Line {
            version: VERSION,
            event: e,
        }),
    )?;
    writeln!(out)?;
    out.flush()
}
