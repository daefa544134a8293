//! Narration for every demo, lifecycle (`zombies demo`) and IPC (`zombies ipc demo`) alike:
//! numbered steps, each with the system call made, what it returned and the evidence read
//! live from the kernel ([`step`]), rendered for people ([`text`]) or for scripts as JSON
//! Lines ([`json`], which documents the contract). The [`Narrator`] here numbers the steps,
//! counts the facts checked, and in `--step` mode pauses after each step so the reader can
//! look at /proc from another shell while the state is live. Nothing here makes the demos'
//! system calls or reads /proc.
//!
//! # A test seam
//!
//! In builds with debug assertions (`cargo build`, `cargo test`; never `cargo build
//! --release`), when the environment variable `ZOMBIES_TEST_PANIC_AFTER_STEP` is set to a
//! step number, the demo panics right after writing that step (exit code 101). It exists so
//! that tests can prove a panic mid-demo still kills and reaps every child and removes every
//! IPC object, because the guards run while unwinding. A release binary does not read the
//! variable.

mod json;
mod step;
mod text;

pub(crate) use step::{Evidence, Object, Step, Traced, errno_text};

use std::io::{self, Write};
use std::os::fd::AsFd;

use super::runtime::Runtime;
use crate::style::Style;
use json::Event;

/// How the steps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Numbered steps for people.
    Text,
    /// One JSON object per line (JSON Lines), described in [`json`].
    Json,
}

/// Writes the steps of one demo after another, counting the facts checked, and pauses
/// after each step in `--step` mode.
pub(crate) struct Narrator<'a> {
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
    pub(crate) fn new(
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
    pub(crate) fn attach(mut self, rt: &'a Runtime, pause: bool) -> Narrator<'a> {
        self.rt = Some(rt);
        self.pause = pause;
        self
    }

    /// The demo being narrated.
    pub(crate) fn demo(&self) -> &'static str {
        self.demo
    }

    /// Names the demo about to run and resets the step and fact counts.
    pub(crate) fn select(&mut self, demo: &'static str) {
        self.demo = demo;
        self.step = 0;
        self.checked = 0;
        self.failed = 0;
    }

    /// Opens the demo: its title, a paragraph on what it shows (may be empty), and who is
    /// running it.
    pub(crate) fn begin(&mut self, title: &str, intro: &str) -> io::Result<()> {
        let pid = self.rt.map_or(std::process::id() as i32, Runtime::pid);
        let demo = self.demo;
        match self.format {
            Format::Json => json::write(
                &mut self.out,
                &Event::Start {
                    demo,
                    title,
                    intro: Some(intro).filter(|i| !i.is_empty()),
                    pid,
                },
            ),
            Format::Text => text::begin(
                &mut self.out,
                self.style,
                self.family,
                demo,
                title,
                intro,
                pid,
            ),
        }
    }

    /// Writes the next numbered step; in `--step` mode, then waits for Enter.
    pub(crate) fn step(&mut self, step: Step) -> anyhow::Result<()> {
        self.write_step(step)?;
        if self.pause {
            self.wait_enter()?;
        }
        self.test_seam();
        Ok(())
    }

    /// Writes a demo's last step: in `--step` mode it pauses only when another demo follows.
    pub(crate) fn conclude(&mut self, step: Step) -> anyhow::Result<()> {
        self.write_step(step)?;
        if self.pause && !self.last_demo {
            self.wait_enter()?;
        }
        self.test_seam();
        Ok(())
    }

    fn write_step(&mut self, mut step: Step) -> anyhow::Result<()> {
        if let Some(rt) = self.rt {
            rt.check()?;
            step.trace = rt.drain_trace();
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
            Format::Json => json::write(
                &mut self.out,
                &Event::Step {
                    demo: self.demo,
                    step: self.step,
                    body: &step,
                },
            )?,
            Format::Text => text::step(&mut self.out, self.style, self.step, &step)?,
        }
        Ok(())
    }

    /// See "A test seam" in the module documentation.
    #[cfg(debug_assertions)]
    fn test_seam(&self) {
        const PANIC_AFTER_STEP: &str = "ZOMBIES_TEST_PANIC_AFTER_STEP";
        let at = std::env::var(PANIC_AFTER_STEP).ok();
        if at.and_then(|v| v.trim().parse::<u32>().ok()) == Some(self.step) {
            panic!(
                "{PANIC_AFTER_STEP}={}: a test asked for this panic",
                self.step
            );
        }
    }

    /// Release builds have no test seam.
    #[cfg(not(debug_assertions))]
    fn test_seam(&self) {}

    /// Records an object created or removed (JSON only: the steps tell people).
    pub(crate) fn object(&mut self, action: &str, object: &Object) -> io::Result<()> {
        match self.format {
            Format::Json => json::write(
                &mut self.out,
                &Event::Object {
                    demo: self.demo,
                    action,
                    object,
                },
            ),
            Format::Text => Ok(()),
        }
    }

    /// A line for the user outside the steps (e.g. what to type in another shell).
    pub(crate) fn say(&mut self, text: &str) -> io::Result<()> {
        match self.format {
            Format::Json => json::write(
                &mut self.out,
                &Event::Say {
                    demo: self.demo,
                    text,
                },
            ),
            Format::Text => text::say(&mut self.out, self.style, text),
        }
    }

    /// Closes a demo with its summary (may be empty) and its tally of facts.
    pub(crate) fn end(&mut self, summary: &str) -> anyhow::Result<()> {
        let summary = Some(summary).filter(|s| !s.is_empty());
        Ok(match self.format {
            Format::Json => json::write(
                &mut self.out,
                &Event::End {
                    demo: self.demo,
                    steps: self.step,
                    facts_checked: self.checked,
                    facts_failed: self.failed,
                    ok: self.failed == 0,
                    summary,
                },
            ),
            Format::Text => text::end(
                &mut self.out,
                self.style,
                summary,
                self.checked,
                self.failed,
            ),
        }?)
    }

    /// Reports that a signal stopped the demo, after the cleanup.
    pub(crate) fn interrupted(&mut self, signal: &str, reaped: &[i32]) -> io::Result<()> {
        match self.format {
            Format::Json => json::write(
                &mut self.out,
                &Event::Interrupted {
                    demo: self.demo,
                    signal,
                    reaped,
                },
            ),
            Format::Text => text::interrupted(&mut self.out, self.style, signal, reaped),
        }
    }

    /// The list of demos of one family, `(name, summary)` each, under `heading`.
    pub(crate) fn list(&mut self, heading: &str, demos: &[(&str, &str)]) -> io::Result<()> {
        match self.format {
            Format::Json => {
                for &(demo, summary) in demos {
                    json::write(&mut self.out, &Event::Demo { demo, summary })?;
                }
                Ok(())
            }
            Format::Text => text::list(
                &mut self.out,
                self.style,
                heading,
                demos,
                "Options: --step pauses after each step, --trace shows each step's system calls, --format json prints one event per line.",
            ),
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
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
            .explain("a note")
            .try_it("grep PPid /proc/42/status")
            .diagram("A -> B")
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
        assert_eq!(lines[0]["intro"], "intro");
        for l in &lines {
            assert_eq!(l["version"], json::VERSION, "{l}");
        }
        let s = &lines[1];
        assert_eq!(s["event"], "step");
        assert_eq!(
            (s["demo"].as_str(), s["step"].as_u64()),
            (Some("fork"), Some(1))
        );
        assert_eq!(s["syscall"], "fork()");
        assert_eq!(s["evidence"][0]["source"], "/proc/42/status");
        assert_eq!(s["evidence"][0]["value"], "41");
        assert_eq!(s["evidence"][0]["holds"], true);
        assert_eq!(s["evidence"][1]["holds"], serde_json::Value::Null);
        assert_eq!(s["pids"]["child"], 42);
        assert!(s.get("block").is_none(), "text-only block leaked into JSON");
        assert_eq!(s["explanation"], "a note");
        assert_eq!(s["notes"], serde_json::json!([]));
        assert_eq!(s["try"][0], "grep PPid /proc/42/status");
        assert_eq!(s["diagram"], "A -> B");
        assert_eq!(s["trace"], serde_json::json!([]));
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
        n.step(Step::new("t").call("shmget()", "7").explain("why").show(
            "/proc/sysvipc/shm",
            "nattch",
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
        assert_eq!(s["evidence"][0]["field"], "nattch");
        assert_eq!(s["evidence"][0]["source"], "/proc/sysvipc/shm");
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
        n.step(Step::new("ipc").show("/proc/1/fd/3", "link", "pipe:[9]", "read end"))
            .unwrap();
        n.end("").unwrap();
        let t = buf.text();
        assert!(t.starts_with("── demo fork: Fork"), "{t}");
        assert!(t.contains(" 1. fork() returns twice"), "{t}");
        assert!(t.contains("✓ /proc/42/status"), "{t}");
        assert!(t.contains("      TABLE"), "{t}");
        assert!(t.contains("    a note"), "{t}");
        assert!(
            t.contains("    /proc/1/fd/3  link  pipe:[9]  read end"),
            "{t}"
        );
        assert!(t.contains("    try    grep PPid /proc/42/status"), "{t}");
        assert!(t.contains("      A -> B"), "{t}");
        assert!(t.contains("all 1 facts checked held"), "{t}");
    }
}
