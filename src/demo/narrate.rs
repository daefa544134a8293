//! Narration shared by every demo (lifecycle here, IPC later): numbered steps, each with the
//! system call made, what it returned and the evidence read live from /proc, rendered for
//! people (text) or for scripts (JSON Lines). Nothing here makes system calls or reads /proc.
//!
//! # The JSON Lines contract (`--format json`)
//!
//! One JSON object per line, in order, each with an `"event"` member:
//!
//! - `start`: `{"event":"start","demo":"fork","title":...,"pid":DEMO_PID}`
//! - `step`: `{"event":"step","demo":"fork","step":1,"title":...,"syscall":...,"result":...,
//!   "evidence":[{"source":"/proc/42/status","field":"PPid","value":"41","meaning":...,
//!   "holds":true}],"pids":{"child":42},"notes":[...],"data":null}`. `syscall`, `result` and
//!   `data` may be null; `holds` is true or false when the row checks a fact the demo
//!   teaches, null when it only shows a value; `pids` names the processes the step is about.
//! - `end`: `{"event":"end","demo":"fork","steps":4,"facts_checked":9,"facts_failed":0}`
//! - `interrupted`: `{"event":"interrupted","demo":"zombie","signal":"SIGINT","reaped":[42]}`,
//!   the last event after Ctrl-C, SIGTERM or SIGHUP; `reaped` lists the processes the final
//!   sweep killed and reaped (the demo's own guards reap the others first).
//! - `demo` (only from `zombies demo --format json` without a name): one per demo,
//!   `{"event":"demo","demo":"fork","summary":...}`.
//!
//! Every value in an evidence row is a string, exactly as read or computed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::report::printable;
use crate::style::Style;

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
    /// Where the value came from: a /proc path, a system call, or a measurement.
    pub source: String,
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
            source: source.into(),
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
    pub syscall: Option<String>,
    pub result: Option<String>,
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
    pub fn evidence(mut self, e: Evidence) -> Step {
        self.evidence.push(e);
        self
    }
    pub fn evidence_all(mut self, e: impl IntoIterator<Item = Evidence>) -> Step {
        self.evidence.extend(e);
        self
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
    End {
        demo: &'a str,
        steps: u32,
        facts_checked: u32,
        facts_failed: u32,
    },
    Interrupted {
        demo: &'a str,
        signal: &'a str,
        reaped: &'a [i32],
    },
}

/// Writes the steps of one demo after another, counting the facts checked.
pub struct Narrator {
    out: Box<dyn Write>,
    format: Format,
    style: Style,
    demo: &'static str,
    step: u32,
    checked: u32,
    failed: u32,
    /// Facts that did not hold, over every demo run so far: the exit code depends on it.
    pub total_failed: u32,
}

impl Narrator {
    pub fn new(out: Box<dyn Write>, format: Format, style: Style) -> Narrator {
        Narrator {
            out,
            format,
            style,
            demo: "",
            step: 0,
            checked: 0,
            failed: 0,
            total_failed: 0,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The demo being narrated.
    pub fn demo(&self) -> &'static str {
        self.demo
    }

    /// The number of the last step written.
    pub fn step_number(&self) -> u32 {
        self.step
    }

    /// Opens a demo: its name, what it teaches and who is running it.
    pub fn begin(
        &mut self,
        demo: &'static str,
        title: &str,
        intro: &[&str],
        pid: i32,
    ) -> io::Result<()> {
        self.demo = demo;
        self.step = 0;
        self.checked = 0;
        self.failed = 0;
        match self.format {
            Format::Json => self.json(&Event::Start { demo, title, pid }),
            Format::Text => {
                let s = self.style;
                writeln!(
                    self.out,
                    "{} {}",
                    s.bold(&format!("── demo {demo}:")),
                    s.bold(title)
                )?;
                for line in intro {
                    writeln!(self.out, "   {line}")?;
                }
                self.out.flush()
            }
        }
    }

    /// Writes the next numbered step.
    pub fn step(&mut self, step: &Step) -> io::Result<()> {
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
            }),
            Format::Text => self.text_step(step),
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
        if let Some(r) = &step.result {
            writeln!(out, "    {} {}", s.dim("result"), r)?;
        }
        if !step.evidence.is_empty() {
            let w_src = step
                .evidence
                .iter()
                .map(|e| e.source.len())
                .max()
                .unwrap_or(0);
            let w_field = step
                .evidence
                .iter()
                .map(|e| e.field.len())
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
                writeln!(
                    out,
                    "    {mark} {:<w_src$}  {:<w_field$}  {:<w_val$}  {}",
                    e.source,
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

    /// Closes a demo with its tally of facts.
    pub fn end(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => self.json(&Event::End {
                demo: self.demo,
                steps: self.step,
                facts_checked: self.checked,
                facts_failed: self.failed,
            }),
            Format::Text => {
                let s = self.style;
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
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "   {}; every process it started was reaped.",
                    tally
                )?;
                writeln!(self.out)?;
                self.out.flush()
            }
        }
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
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "   {} by {signal}: stopped, and killed and reaped its remaining processes{}.",
                    self.style.yellow("interrupted"),
                    if reaped.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            reaped
                                .iter()
                                .map(|p| p.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                )?;
                self.out.flush()
            }
        }
    }

    /// Writes a line for people (text only): the list of demos and the like.
    pub fn line(&mut self, s: &str) -> io::Result<()> {
        writeln!(self.out, "{s}")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn json(&mut self, e: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, e)?;
        writeln!(self.out)?;
        self.out.flush()
    }
}

/// Wraps text at spaces to lines of at most `width` characters (longer words stay whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
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
        let mut n = Narrator::new(Box::new(buf.clone()), Format::Json, Style::default());
        n.begin("fork", "Fork", &["intro"], 41).unwrap();
        n.step(&sample()).unwrap();
        n.step(&Step::new("x").evidence(Evidence::new("a", "b", "c", "d").check(false)))
            .unwrap();
        n.end().unwrap();
        n.interrupted("SIGINT", &[42]).unwrap();
        let lines: Vec<serde_json::Value> = buf
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["event"], "start");
        assert_eq!(lines[0]["pid"], 41);
        let s = &lines[1];
        assert_eq!(s["event"], "step");
        assert_eq!(
            (s["demo"].as_str(), s["step"].as_u64()),
            (Some("fork"), Some(1))
        );
        assert_eq!(s["syscall"], "fork()");
        assert_eq!(s["evidence"][0]["value"], "41");
        assert_eq!(s["evidence"][0]["holds"], true);
        assert_eq!(s["evidence"][1]["holds"], serde_json::Value::Null);
        assert_eq!(s["pids"]["child"], 42);
        assert!(s.get("block").is_none(), "text-only block leaked into JSON");
        assert_eq!(lines[3]["event"], "end");
        assert_eq!(lines[3]["facts_checked"], 2);
        assert_eq!(lines[3]["facts_failed"], 1);
        assert_eq!(lines[4]["reaped"][0], 42);
        assert_eq!(n.total_failed, 1);
    }

    #[test]
    fn text_shows_marks_blocks_and_notes() {
        let buf = Buf::default();
        let mut n = Narrator::new(Box::new(buf.clone()), Format::Text, Style::default());
        n.begin("fork", "Fork", &[], 41).unwrap();
        n.step(&sample()).unwrap();
        n.end().unwrap();
        let t = buf.text();
        assert!(t.contains(" 1. fork() returns twice"), "{t}");
        assert!(t.contains("✓ /proc/42/status"), "{t}");
        assert!(t.contains("      TABLE"), "{t}");
        assert!(t.contains("→ a note"), "{t}");
        assert!(t.contains("all 1 facts checked held"), "{t}");
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(wrap("toolongword x", 4), vec!["toolongword", "x"]);
    }
}
