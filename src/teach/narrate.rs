//! Narration for every demo, lifecycle (`zombies demo`) and IPC (`zombies ipc demo`) alike:
//! numbered steps, each with the system call made, what it returned and the evidence read
//! live from the kernel, rendered for people (text) or for scripts (JSON Lines). `--step`
//! pauses after each step so the reader can look at /proc from another shell while the state
//! is live. Nothing here makes the demos' system calls or reads /proc.
//!
//! # The JSON Lines contract (`--format json`)
//!
//! One JSON object per line, in order, each with an `"event"` and the `"demo"` it belongs to.
//! The same schema serves both families; a member a demo has nothing for is null (or empty).
//!
//! - `start`: the demo begins; `pid` is the demo process.
//!   `{"event":"start","demo":"fork","title":"...","pid":41}`
//! - `step`: one numbered step (`step` counts from 1). `syscall`, `result`, `explanation` and
//!   `data` may be null; `evidence` rows are `{source, field, value, meaning, holds}` where
//!   `source` is where the value was read (null when `field` names it already), every `value`
//!   is a string exactly as read, and `holds` is true or false when the row checks a fact the
//!   demo teaches, null when it only shows a value; `pids` names the processes the step is
//!   about by role; `notes` are asides for people; `data` is structured data for scripts.
//!   `{"event":"step","demo":"fork","step":1,"title":"...","syscall":"fork()","result":"42",
//!   "explanation":null,"evidence":[{"source":"/proc/42/status","field":"PPid","value":"41",
//!   "meaning":"...","holds":true}],"pids":{"child":42},"notes":["..."],"data":null}`
//! - `object`: an IPC object the demo created or removed, so a caller can check it is gone
//!   afterwards; `action` is `created` or `removed`, `kind` one of `sysv-msg`, `sysv-sem`,
//!   `sysv-shm`, `posix-mq`, `posix-sem`, `posix-shm`, `fifo`; `id`, `key` and `name` may be
//!   null. `{"event":"object","demo":"shm","action":"created","kind":"sysv-shm","id":7,
//!   "key":"0x7a012341","name":null}`
//! - `say`: a line for the user outside the steps (what to type in another shell).
//!   `{"event":"say","demo":"fifo","text":"..."}`
//! - `end`: the demo finished; `ok` is true when every fact checked held.
//!   `{"event":"end","demo":"fork","steps":4,"facts_checked":9,"facts_failed":0,"ok":true,
//!   "summary":null}`
//! - `interrupted`: the last event after Ctrl-C, SIGTERM or SIGHUP, written after the
//!   cleanup; `reaped` lists the processes the final sweep killed and reaped (the demo's own
//!   guards reap the others first).
//!   `{"event":"interrupted","demo":"zombie","signal":"SIGINT","reaped":[42]}`
//! - `demo` (only from `zombies demo --format json` without a name): one per demo,
//!   `{"event":"demo","demo":"fork","summary":"..."}`.
//!
//! # A test seam
//!
//! When the environment variable `ZOMBIES_TEST_PANIC_AFTER_STEP` is set to a step number, the
//! demo panics right after writing that step (exit code 101). It exists so that tests can
//! prove a panic mid-demo still kills and reaps every child and removes every IPC object,
//! because the guards run while unwinding. It can do no harm beyond ending the demo early.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::fd::AsFd;

use serde::Serialize;

use super::runtime::Runtime;
use crate::report::printable;
use crate::style::Style;

/// The test seam described in the module documentation.
const PANIC_AFTER_STEP: &str = "ZOMBIES_TEST_PANIC_AFTER_STEP";

/// How the steps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Numbered steps for people.
    Text,
    /// One JSON object per line (JSON Lines), described in this module's documentation.
    Json,
}

/// One row of evidence: where it was read, which field, its value and what that means.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Evidence {
    /// Where the value came from: a /proc path, a system call, or a measurement; None when
    /// the field names its own source (`/proc/42/fd/3`).
    pub source: Option<String>,
    pub field: String,
    pub value: String,
    pub meaning: String,
    /// Whether the fact this row proves held on this kernel; None when the row only informs.
    pub holds: Option<bool>,
}

impl Evidence {
    pub fn new(
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
        meaning: impl Into<String>,
    ) -> Evidence {
        Evidence {
            source: Some(source.into()),
            field: field.into(),
            value: value.to_string(),
            meaning: meaning.into(),
            holds: None,
        }
    }

    /// Marks the row as the proof of a fact: `holds` says whether the live value agrees.
    pub fn check(mut self, holds: bool) -> Evidence {
        self.holds = Some(holds);
        self
    }
}

/// One numbered step of a demo.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Step {
    pub title: String,
    /// The call made, e.g. `msgget(0x7a012341, IPC_CREAT|IPC_EXCL|0600)`.
    pub syscall: Option<String>,
    /// What it returned, e.g. `3` or `-1 EACCES`.
    pub result: Option<String>,
    /// Why it matters, in a sentence or two.
    pub explanation: Option<String>,
    pub evidence: Vec<Evidence>,
    /// The processes this step is about, by role ("child", "parent", "zombie", ...).
    pub pids: BTreeMap<String, i32>,
    pub notes: Vec<String>,
    /// Structured data for scripts (e.g. the `zombies list` JSON), JSON output only.
    pub data: Option<serde_json::Value>,
    /// Preformatted text for people (e.g. the `zombies list` table), text output only.
    #[serde(skip)]
    pub block: Option<String>,
}

impl Step {
    pub fn new(title: impl Into<String>) -> Step {
        Step {
            title: title.into(),
            ..Step::default()
        }
    }
    pub fn syscall(mut self, s: impl Into<String>) -> Step {
        self.syscall = Some(s.into());
        self
    }
    pub fn result(mut self, s: impl Into<String>) -> Step {
        self.result = Some(s.into());
        self
    }
    /// The call and what it returned, together.
    pub fn call(self, syscall: impl Into<String>, result: impl Into<String>) -> Step {
        self.syscall(syscall).result(result)
    }
    pub fn explain(mut self, text: impl Into<String>) -> Step {
        self.explanation = Some(text.into());
        self
    }
    pub fn evidence(mut self, e: Evidence) -> Step {
        self.evidence.push(e);
        self
    }
    pub fn evidence_all(mut self, e: impl IntoIterator<Item = Evidence>) -> Step {
        self.evidence.extend(e);
        self
    }
    /// A row of evidence whose field names its own source.
    pub fn ev(
        mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Step {
        self.ev_mut(field, value, meaning);
        self
    }
    /// [`Step::ev`] on a step being built in place.
    pub fn ev_mut(
        &mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) {
        self.evidence.push(Evidence {
            source: None,
            field: field.into(),
            value: value.into(),
            meaning: meaning.into(),
            holds: None,
        });
    }
    /// A row whose field names its own source and that proves a fact: `holds` says whether
    /// the live value agrees (see [`Evidence::check`]).
    pub fn fact_mut(
        &mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
        holds: bool,
    ) {
        self.ev_mut(field, value, meaning);
        if let Some(e) = self.evidence.last_mut() {
            e.holds = Some(holds);
        }
    }
    pub fn pid(mut self, role: &str, pid: i32) -> Step {
        self.pids.insert(role.to_string(), pid);
        self
    }
    pub fn note(mut self, s: impl Into<String>) -> Step {
        self.notes.push(s.into());
        self
    }
    pub fn data(mut self, v: serde_json::Value) -> Step {
        self.data = Some(v);
        self
    }
    pub fn block(mut self, s: impl Into<String>) -> Step {
        self.block = Some(s.into());
        self
    }
}

/// An IPC object a demo created or removed.
#[derive(Clone, Debug, Serialize)]
pub struct Object {
    /// `sysv-msg`, `sysv-sem`, `sysv-shm`, `posix-mq`, `posix-sem`, `posix-shm`, `fifo`.
    pub kind: &'static str,
    pub id: Option<i32>,
    pub key: Option<String>,
    /// A POSIX name or a path.
    pub name: Option<String>,
}

impl Object {
    /// A System V object: its identifier and its key as ipcs prints it.
    pub fn sysv(kind: &'static str, id: i32, key: String) -> Object {
        Object {
            kind,
            id: Some(id),
            key: Some(key),
            name: None,
        }
    }

    /// A POSIX object or a FIFO: its name or path.
    pub fn named(kind: &'static str, name: impl Into<String>) -> Object {
        Object {
            kind,
            id: None,
            key: None,
            name: Some(name.into()),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum Event<'a> {
    Start {
        demo: &'a str,
        title: &'a str,
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
}

/// Writes the steps of one demo after another, counting the facts checked, and pauses
/// after each step in `--step` mode.
pub struct Narrator<'a> {
    out: Box<dyn Write + 'a>,
    format: Format,
    style: Style,
    /// The word before the demo's name in text headings: "demo", "ipc demo".
    family: &'static str,
    demo: &'static str,
    /// For pausing and for noticing Ctrl-C between steps; None in unit tests.
    rt: Option<&'a Runtime>,
    /// Pause after each step until Enter is pressed (`--step`).
    pause: bool,
    /// Whether the running demo is the last one asked for (no pause after its last step).
    pub last_demo: bool,
    step: u32,
    checked: u32,
    failed: u32,
    /// Facts that did not hold, over every demo run so far: the exit code depends on it.
    pub total_failed: u32,
}

impl<'a> Narrator<'a> {
    /// A narrator writing to `out`; `family` is the word before a demo's name in headings.
    pub fn new(
        out: Box<dyn Write + 'a>,
        format: Format,
        style: Style,
        family: &'static str,
    ) -> Narrator<'a> {
        Narrator {
            out,
            format,
            style,
            family,
            demo: "",
            rt: None,
            pause: false,
            last_demo: true,
            step: 0,
            checked: 0,
            failed: 0,
            total_failed: 0,
        }
    }

    /// Watches `rt` for Ctrl-C between steps and, with `pause`, waits for Enter after each.
    pub fn attach(mut self, rt: &'a Runtime, pause: bool) -> Narrator<'a> {
        self.rt = Some(rt);
        self.pause = pause;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The demo being narrated.
    pub fn demo(&self) -> &'static str {
        self.demo
    }

    /// Names the demo about to run and resets the step and fact counts.
    pub fn select(&mut self, demo: &'static str) {
        self.demo = demo;
        self.step = 0;
        self.checked = 0;
        self.failed = 0;
    }

    /// Opens the demo: its title, a paragraph on what it shows (may be empty), and who is
    /// running it.
    pub fn begin(&mut self, title: &str, intro: &str) -> io::Result<()> {
        let pid = self.rt.map_or(std::process::id() as i32, Runtime::pid);
        let demo = self.demo;
        match self.format {
            Format::Json => self.json(&Event::Start { demo, title, pid }),
            Format::Text => {
                let s = self.style;
                writeln!(
                    self.out,
                    "{} {}",
                    s.bold(&format!("── {} {demo}:", self.family)),
                    s.bold(title)
                )?;
                let me = format!(
                    "This demo is PID {pid}, made a child subreaper (PR_SET_CHILD_SUBREAPER) so orphans come back to it; it kills and reaps everything it starts."
                );
                for para in [intro, &me] {
                    for line in wrap(para, 88) {
                        writeln!(self.out, "   {line}")?;
                    }
                }
                self.out.flush()
            }
        }
    }

    /// Writes the next numbered step; in `--step` mode, then waits for Enter.
    pub fn step(&mut self, step: Step) -> anyhow::Result<()> {
        self.write_step(&step)?;
        if self.pause {
            self.wait_enter()?;
        }
        self.test_seam();
        Ok(())
    }

    /// Writes a demo's last step: in `--step` mode it pauses only when another demo follows.
    pub fn conclude(&mut self, step: Step) -> anyhow::Result<()> {
        self.write_step(&step)?;
        if self.pause && !self.last_demo {
            self.wait_enter()?;
        }
        self.test_seam();
        Ok(())
    }

    fn write_step(&mut self, step: &Step) -> anyhow::Result<()> {
        if let Some(rt) = self.rt {
            rt.check()?;
        }
        self.step += 1;
        for e in &step.evidence {
            if let Some(h) = e.holds {
                self.checked += 1;
                if !h {
                    self.failed += 1;
                    self.total_failed += 1;
                }
            }
        }
        match self.format {
            Format::Json => self.json(&Event::Step {
                demo: self.demo,
                step: self.step,
                body: step,
            })?,
            Format::Text => self.text_step(step)?,
        }
        Ok(())
    }

    /// See "A test seam" in the module documentation.
    fn test_seam(&self) {
        let at = std::env::var(PANIC_AFTER_STEP).ok();
        if at.and_then(|v| v.trim().parse::<u32>().ok()) == Some(self.step) {
            panic!(
                "{PANIC_AFTER_STEP}={}: a test asked for this panic",
                self.step
            );
        }
    }

    fn text_step(&mut self, step: &Step) -> io::Result<()> {
        let s = self.style;
        let out = &mut self.out;
        writeln!(out)?;
        writeln!(
            out,
            "{} {}",
            s.bold(&format!("{:>2}.", self.step)),
            s.bold(&step.title)
        )?;
        if let Some(c) = &step.syscall {
            writeln!(out, "    {} {}", s.dim("call  "), c)?;
        }
        if let Some(r) = step.result.as_ref().filter(|r| !r.is_empty()) {
            writeln!(out, "    {} {}", s.dim("result"), r)?;
        }
        if let Some(x) = &step.explanation {
            for line in wrap(x, 88) {
                writeln!(out, "    {line}")?;
            }
        }
        if !step.evidence.is_empty() {
            fn source(e: &Evidence) -> &str {
                e.source.as_deref().unwrap_or("")
            }
            let w_src = step
                .evidence
                .iter()
                .map(|e| source(e).chars().count())
                .max()
                .unwrap_or(0);
            let w_field = step
                .evidence
                .iter()
                .map(|e| e.field.chars().count())
                .max()
                .unwrap_or(0);
            let w_val = step
                .evidence
                .iter()
                .map(|e| printable(&e.value).chars().count())
                .max()
                .unwrap_or(0)
                .min(28);
            for e in &step.evidence {
                let mark = match e.holds {
                    Some(true) => s.green("✓"),
                    Some(false) => s.red("✗ DID NOT HOLD:"),
                    None => " ".to_string(),
                };
                let src = if w_src == 0 {
                    String::new()
                } else {
                    format!("{:<w_src$}  ", source(e))
                };
                writeln!(
                    out,
                    "    {mark} {src}{:<w_field$}  {:<w_val$}  {}",
                    e.field,
                    printable(&e.value),
                    s.dim(&e.meaning),
                )?;
            }
        }
        if let Some(b) = &step.block {
            for line in b.lines() {
                writeln!(out, "      {line}")?;
            }
        }
        for n in &step.notes {
            for (i, line) in wrap(n, 88).iter().enumerate() {
                let lead = if i == 0 { "→" } else { " " };
                writeln!(out, "    {} {line}", s.dim(lead))?;
            }
        }
        out.flush()
    }

    /// Records an object created or removed (JSON only: the steps tell people).
    pub fn object(&mut self, action: &str, object: &Object) -> io::Result<()> {
        match self.format {
            Format::Json => self.json(&Event::Object {
                demo: self.demo,
                action,
                object,
            }),
            Format::Text => Ok(()),
        }
    }

    /// A line for the user outside the steps (e.g. what to type in another shell).
    pub fn say(&mut self, text: &str) -> io::Result<()> {
        match self.format {
            Format::Json => self.json(&Event::Say {
                demo: self.demo,
                text,
            }),
            Format::Text => {
                writeln!(self.out, "{}", self.style.yellow(text))?;
                self.out.flush()
            }
        }
    }

    /// Closes a demo with its summary (may be empty) and its tally of facts.
    pub fn end(&mut self, summary: &str) -> anyhow::Result<()> {
        let summary = Some(summary).filter(|s| !s.is_empty());
        match self.format {
            Format::Json => self.json(&Event::End {
                demo: self.demo,
                steps: self.step,
                facts_checked: self.checked,
                facts_failed: self.failed,
                ok: self.failed == 0,
                summary,
            })?,
            Format::Text => {
                let s = self.style;
                writeln!(self.out)?;
                for line in summary.map(|t| wrap(t, 88)).unwrap_or_default() {
                    writeln!(self.out, "   {}", s.green(&line))?;
                }
                if self.checked > 0 || summary.is_none() {
                    let tally = if self.failed == 0 {
                        s.green(&format!(
                            "all {} facts checked held on this kernel",
                            self.checked
                        ))
                    } else {
                        s.red(&format!(
                            "{} of {} facts did NOT hold on this kernel",
                            self.failed, self.checked
                        ))
                    };
                    writeln!(self.out, "   {tally}; every process it started was reaped.")?;
                }
                writeln!(self.out)?;
                self.out.flush()?;
            }
        }
        Ok(())
    }

    /// Reports that a signal stopped the demo, after the cleanup.
    pub fn interrupted(&mut self, signal: &str, reaped: &[i32]) -> io::Result<()> {
        match self.format {
            Format::Json => self.json(&Event::Interrupted {
                demo: self.demo,
                signal,
                reaped,
            }),
            Format::Text => {
                let reaped = if reaped.is_empty() {
                    String::new()
                } else {
                    let pids: Vec<String> = reaped.iter().map(|p| p.to_string()).collect();
                    format!(" ({})", pids.join(", "))
                };
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "   {} by {signal}: stopped, and killed and reaped its remaining processes{reaped}.",
                    self.style.yellow("interrupted"),
                )?;
                self.out.flush()
            }
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn json(&mut self, e: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, e)?;
        writeln!(self.out)?;
        self.out.flush()
    }

    /// Waits for a line on stdin (or EOF, after which it stops pausing), watching for
    /// Ctrl-C meanwhile.
    fn wait_enter(&mut self) -> anyhow::Result<()> {
        let Some(rt) = self.rt else {
            return Ok(());
        };
        let _ = write!(
            io::stderr(),
            "   [step {} of {}: press Enter to go on, Ctrl-C to stop and clean up] ",
            self.step,
            self.demo
        );
        let stdin = io::stdin();
        let fd = stdin.as_fd();
        loop {
            if rt.wait_readable(fd, None)? {
                let mut b = [0u8; 1];
                match nix::unistd::read(fd, &mut b) {
                    Ok(0) => {
                        self.pause = false;
                        let _ = writeln!(io::stderr());
                        return Ok(());
                    }
                    Ok(_) if b[0] == b'\n' => return Ok(()),
                    Ok(_) | Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => {
                        self.pause = false;
                        let _ = writeln!(
                            io::stderr(),
                            "(cannot read stdin: {}; not pausing)",
                            e.desc()
                        );
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Wraps text at spaces to lines of at most `width` characters (longer words stay whole);
/// a newline starts a new line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// An errno as `-1 ENAME (description)`.
pub fn errno_text(e: nix::errno::Errno) -> String {
    format!("-1 {:?} ({})", e, e.desc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
        fn events(&self) -> Vec<serde_json::Value> {
            let text = self.text();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn narrator(buf: &Buf, format: Format, family: &'static str) -> Narrator<'static> {
        Narrator::new(Box::new(buf.clone()), format, Style::default(), family)
    }

    fn sample() -> Step {
        Step::new("fork() returns twice")
            .syscall("fork()")
            .result("42 in the parent, 0 in the child")
            .evidence(Evidence::new("/proc/42/status", "PPid", 41, "the parent").check(true))
            .evidence(Evidence::new("/proc/42/stat", "flags", "0x40", "informs"))
            .pid("child", 42)
            .note("a note")
            .block("TABLE")
    }

    #[test]
    fn json_lines_shape() {
        let buf = Buf::default();
        let mut n = narrator(&buf, Format::Json, "demo");
        n.select("fork");
        n.begin("Fork", "intro").unwrap();
        n.step(sample()).unwrap();
        n.step(Step::new("x").evidence(Evidence::new("a", "b", "c", "d").check(false)))
            .unwrap();
        n.end("").unwrap();
        n.interrupted("SIGINT", &[42]).unwrap();
        let lines = buf.events();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["event"], "start");
        assert_eq!(lines[0]["pid"], std::process::id());
        let s = &lines[1];
        assert_eq!(s["event"], "step");
        assert_eq!(
            (s["demo"].as_str(), s["step"].as_u64()),
            (Some("fork"), Some(1))
        );
        assert_eq!(s["syscall"], "fork()");
        assert_eq!(s["explanation"], serde_json::Value::Null);
        assert_eq!(s["evidence"][0]["source"], "/proc/42/status");
        assert_eq!(s["evidence"][0]["value"], "41");
        assert_eq!(s["evidence"][0]["holds"], true);
        assert_eq!(s["evidence"][1]["holds"], serde_json::Value::Null);
        assert_eq!(s["pids"]["child"], 42);
        assert!(s.get("block").is_none(), "text-only block leaked into JSON");
        assert_eq!(lines[3]["event"], "end");
        assert_eq!(lines[3]["facts_checked"], 2);
        assert_eq!(lines[3]["facts_failed"], 1);
        assert_eq!(lines[3]["ok"], false);
        assert_eq!(lines[4]["reaped"][0], 42);
        assert_eq!(n.total_failed, 1);
    }

    #[test]
    fn json_ipc_events() {
        let buf = Buf::default();
        let mut n = narrator(&buf, Format::Json, "ipc");
        n.select("shm");
        n.step(Step::new("t").call("shmget()", "7").explain("why").ev(
            "/proc/sysvipc/shm nattch",
            "1",
            "one",
        ))
        .unwrap();
        let obj = Object {
            kind: "sysv-shm",
            id: Some(7),
            key: Some("0x1".into()),
            name: None,
        };
        n.object("created", &obj).unwrap();
        n.say("look").unwrap();
        n.end("done").unwrap();
        let lines = buf.events();
        let s = &lines[0];
        assert_eq!(
            (&s["syscall"], &s["result"]),
            (&"shmget()".into(), &"7".into())
        );
        assert_eq!(s["explanation"], "why");
        assert_eq!(s["evidence"][0]["field"], "/proc/sysvipc/shm nattch");
        assert_eq!(s["evidence"][0]["source"], serde_json::Value::Null);
        let o = &lines[1];
        assert_eq!(
            (&o["event"], &o["action"]),
            (&"object".into(), &"created".into())
        );
        assert_eq!(
            (&o["kind"], &o["id"], &o["demo"]),
            (&"sysv-shm".into(), &7.into(), &"shm".into())
        );
        assert_eq!(
            (&lines[2]["event"], &lines[2]["text"]),
            (&"say".into(), &"look".into())
        );
        assert_eq!(
            (&lines[3]["ok"], &lines[3]["summary"]),
            (&true.into(), &"done".into())
        );
    }

    #[test]
    fn text_shows_marks_blocks_and_notes() {
        let buf = Buf::default();
        let mut n = narrator(&buf, Format::Text, "demo");
        n.select("fork");
        n.begin("Fork", "").unwrap();
        n.step(sample()).unwrap();
        n.step(Step::new("ipc").ev("/proc/1/fd/3", "pipe:[9]", "read end"))
            .unwrap();
        n.end("").unwrap();
        let t = buf.text();
        assert!(t.starts_with("── demo fork: Fork"), "{t}");
        assert!(t.contains(" 1. fork() returns twice"), "{t}");
        assert!(t.contains("✓ /proc/42/status"), "{t}");
        assert!(t.contains("      TABLE"), "{t}");
        assert!(t.contains("→ a note"), "{t}");
        assert!(t.contains("    /proc/1/fd/3  pipe:[9]  read end"), "{t}");
        assert!(t.contains("all 1 facts checked held"), "{t}");
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(wrap("toolongword x", 4), vec!["toolongword", "x"]);
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("x\ny", 10), vec!["x", "y"]);
    }
}
