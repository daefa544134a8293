//! Narration for the IPC demos: numbered steps, each with the system call made, what it
//! returned and the evidence read back from the kernel (field, value, meaning). Text for people,
//! or one JSON event per line for programs; `--step` pauses after each step so the reader can
//! look at /proc from another shell while the state is live.
//!
//! Self-contained on purpose, so it can be unified with the lifecycle demos' narration later.
//!
//! JSON events (one object per line, always with `event` and `demo`):
//! - `start`: `title`, `pid` (the demo process)
//! - `step`: `step` (from 1), `title`, `syscall`, `result`, `explanation`, `evidence`
//!   (a list of `{field, value, meaning}`)
//! - `object`: `action` (`created` or `removed`), `kind`, `id`, `key`, `name`: an IPC object
//!   the demo made, so a caller can check it is gone afterwards
//! - `end`: `ok`, `steps`; or `interrupted`: `signal`, after the cleanup ran

use std::io::{self, Write};
use std::os::fd::AsFd;

use anyhow::Result;
use serde::Serialize;

use super::runtime::Runtime;
use crate::style::Style;

/// One row of evidence: where it was read, what it says, what that means.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub field: String,
    pub value: String,
    pub meaning: String,
}

/// One numbered step of a demo.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Step {
    pub title: String,
    /// The call made, e.g. `msgget(0x7a012341, IPC_CREAT|IPC_EXCL|0600)`.
    pub syscall: String,
    /// What it returned, e.g. `3` or `-1 EACCES`.
    pub result: String,
    /// Why it matters, in a sentence or two.
    pub explanation: String,
    pub evidence: Vec<Evidence>,
}

impl Step {
    pub fn new(title: impl Into<String>) -> Step {
        Step {
            title: title.into(),
            ..Step::default()
        }
    }

    pub fn call(mut self, syscall: impl Into<String>, result: impl Into<String>) -> Step {
        self.syscall = syscall.into();
        self.result = result.into();
        self
    }

    pub fn explain(mut self, text: impl Into<String>) -> Step {
        self.explanation = text.into();
        self
    }

    pub fn ev(
        mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Step {
        self.evidence.push(Evidence {
            field: field.into(),
            value: value.into(),
            meaning: meaning.into(),
        });
        self
    }

    pub fn ev_mut(
        &mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) {
        self.evidence.push(Evidence {
            field: field.into(),
            value: value.into(),
            meaning: meaning.into(),
        });
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

#[derive(Serialize)]
struct StepEvent<'a> {
    event: &'static str,
    demo: &'a str,
    step: u32,
    #[serde(flatten)]
    body: &'a Step,
}

/// Writes a demo's story in text or JSON.
pub struct Narrator<'a> {
    demo: &'static str,
    json: bool,
    pause: bool,
    style: Style,
    steps: u32,
    rt: &'a Runtime,
}

impl<'a> Narrator<'a> {
    pub fn new(demo: &'static str, json: bool, pause: bool, style: Style, rt: &'a Runtime) -> Self {
        Narrator {
            demo,
            json,
            pause,
            style,
            steps: 0,
            rt,
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    fn emit(&self, value: &serde_json::Value) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, value)?;
        writeln!(out)?;
        out.flush()
    }

    /// The title line and a short introduction.
    pub fn start(&mut self, title: &str, intro: &str) -> Result<()> {
        if self.json {
            self.emit(&serde_json::json!({
                "event": "start", "demo": self.demo, "title": title, "pid": self.rt.pid(),
            }))?;
        } else {
            let mut out = io::stdout().lock();
            writeln!(
                out,
                "{} {}",
                self.style.bold(&format!("zombies ipc demo {}:", self.demo)),
                title
            )?;
            for line in wrap(intro, 92) {
                writeln!(out, "{line}")?;
            }
            writeln!(
                out,
                "{}",
                self.style.dim(&format!("(demo PID {})", self.rt.pid()))
            )?;
            out.flush()?;
        }
        Ok(())
    }

    /// Tells one step; with --step, waits for Enter afterwards.
    pub fn step(&mut self, step: Step) -> Result<()> {
        self.rt.check()?;
        self.steps += 1;
        if self.json {
            let ev = StepEvent {
                event: "step",
                demo: self.demo,
                step: self.steps,
                body: &step,
            };
            self.emit(&serde_json::to_value(&ev).map_err(io::Error::from)?)?;
        } else {
            self.write_text(&step)?;
        }
        if self.pause {
            self.wait_enter()?;
        }
        // Test seam: prove that a panic mid-demo still removes everything (the guards run
        // while unwinding).
        if std::env::var("ZOMBIES_TEST_PANIC_AFTER_STEP").ok() == Some(self.steps.to_string()) {
            panic!("ZOMBIES_TEST_PANIC_AFTER_STEP={}", self.steps);
        }
        Ok(())
    }

    /// Records an object created or removed (JSON only: the steps tell people).
    pub fn object(&mut self, action: &str, obj: &Object) -> Result<()> {
        if self.json {
            let mut v = serde_json::to_value(obj).map_err(io::Error::from)?;
            if let Some(m) = v.as_object_mut() {
                m.insert("event".into(), "object".into());
                m.insert("demo".into(), self.demo.into());
                m.insert("action".into(), action.into());
            }
            self.emit(&v)?;
        }
        Ok(())
    }

    /// A line for the user outside the steps (e.g. what to type in another shell).
    pub fn say(&mut self, text: &str) -> Result<()> {
        if self.json {
            self.emit(&serde_json::json!({"event": "say", "demo": self.demo, "text": text}))?;
        } else {
            let mut out = io::stdout().lock();
            writeln!(out, "{}", self.style.yellow(text))?;
            out.flush()?;
        }
        Ok(())
    }

    /// The closing line.
    pub fn end(&mut self, summary: &str) -> Result<()> {
        if self.json {
            self.emit(&serde_json::json!({
                "event": "end", "demo": self.demo, "ok": true, "steps": self.steps,
                "summary": summary,
            }))?;
        } else {
            let mut out = io::stdout().lock();
            writeln!(out)?;
            for line in wrap(summary, 92) {
                writeln!(out, "{}", self.style.green(&line))?;
            }
            out.flush()?;
        }
        Ok(())
    }

    fn write_text(&self, step: &Step) -> io::Result<()> {
        let s = self.style;
        let mut out = io::stdout().lock();
        writeln!(out)?;
        writeln!(
            out,
            "{} {}",
            s.bold(&format!("{:>2}.", self.steps)),
            s.bold(&step.title)
        )?;
        if !step.syscall.is_empty() {
            let result = if step.result.is_empty() {
                String::new()
            } else {
                format!(" = {}", step.result)
            };
            writeln!(out, "    {}{}", s.yellow(&step.syscall), result)?;
        }
        for line in wrap(&step.explanation, 88) {
            writeln!(out, "    {line}")?;
        }
        let fw = step
            .evidence
            .iter()
            .map(|e| e.field.chars().count())
            .max()
            .unwrap_or(0);
        let vw = step
            .evidence
            .iter()
            .map(|e| e.value.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for e in &step.evidence {
            let field = format!("{:<fw$}", e.field);
            let value = format!("{:<vw$}", e.value);
            writeln!(
                out,
                "      {}  {}  {}",
                s.dim(&field),
                s.bold(&value),
                e.meaning
            )?;
        }
        out.flush()
    }

    /// Waits for Enter on stdin (or a stop signal); at end of input, stops pausing.
    fn wait_enter(&mut self) -> Result<()> {
        {
            let mut err = io::stderr().lock();
            write!(err, "{}", self.style.dim("    [Enter: next step] "))?;
            err.flush()?;
        }
        let stdin = io::stdin();
        self.rt.wait_readable(stdin.as_fd(), None)?;
        let mut line = String::new();
        if stdin.read_line(&mut line)? == 0 {
            self.pause = false;
        }
        Ok(())
    }
}

/// Wraps text at word boundaries to `width` columns.
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

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("x\ny", 10), vec!["x", "y"]);
        assert!(wrap("", 10).is_empty());
    }
}
