//! The narration's model: a numbered [`Step`] with the call made, what it returned and its
//! rows of [`Evidence`], and the IPC [`Object`]s a demo creates and removes. The demos build
//! these; the renderers in `text` and `json` write them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One row of evidence: where it was read, which field, its value and what that means.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// Where the value came from: a /proc file, a system call, or a measurement (never null
    /// since schema version 1; the JSON keeps the member nullable for older readers).
    pub source: Option<String>,
    /// Which part of the source: a field of the file, a return value, a column.
    pub field: String,
    pub value: String,
    pub meaning: String,
    /// Whether the fact this row proves held on this kernel; None when the row only informs.
    pub holds: Option<bool>,
}

impl Evidence {
    pub(crate) fn new(
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
    pub(crate) fn check(mut self, holds: bool) -> Evidence {
        self.holds = Some(holds);
        self
    }
}

/// One system call a step made, as the demo recorded it where it made the call (`--trace`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Traced {
    /// The process that made it.
    pub pid: i32,
    /// The call's name, as strace prints it: `clone`, `wait4`, `kill`.
    pub call: String,
    /// Its arguments, decoded as strace decodes them.
    pub args: String,
    /// What it returned: `4242`, `0`, `-1 EPIPE (Broken pipe)`, `?` for a call that never
    /// returns (exit_group).
    pub result: String,
}

impl Traced {
    /// The call as `strace -f` prints it: `[pid 41] kill(42, SIGKILL) = 0`.
    pub(crate) fn line(&self) -> String {
        format!(
            "[pid {}] {}({}) = {}",
            self.pid, self.call, self.args, self.result
        )
    }
}

/// One numbered step of a demo.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Step {
    pub title: String,
    /// The call made, e.g. `msgget(0x7a012341, IPC_CREAT|IPC_EXCL|0600)`.
    pub syscall: Option<String>,
    /// What it returned, e.g. `3` or `-1 EACCES`.
    pub result: Option<String>,
    /// The prose: why it matters, in paragraphs separated by a newline.
    pub explanation: Option<String>,
    pub evidence: Vec<Evidence>,
    /// The processes this step is about, by role ("child", "parent", "zombie", ...).
    pub pids: BTreeMap<String, i32>,
    /// Kept for readers of the schema before version 1, always empty: the prose is in
    /// `explanation`.
    pub notes: Vec<String>,
    /// Structured data for scripts (e.g. the `zombies list` JSON), JSON output only.
    pub data: Option<serde_json::Value>,
    /// Shell commands that re-check this step's evidence by hand.
    #[serde(rename = "try")]
    pub try_it: Vec<String>,
    /// A small picture in ASCII (the creation path, a timeline, the process states).
    pub diagram: Option<String>,
    /// The system calls this step made (`--trace`; empty without it).
    pub trace: Vec<Traced>,
    /// Preformatted text for people (e.g. the `zombies list` table), text output only.
    #[serde(skip)]
    pub block: Option<String>,
}

impl Step {
    pub(crate) fn new(title: impl Into<String>) -> Step {
        Step {
            title: title.into(),
            ..Step::default()
        }
    }
    pub(crate) fn syscall(mut self, s: impl Into<String>) -> Step {
        self.syscall = Some(s.into());
        self
    }
    pub(crate) fn result(mut self, s: impl Into<String>) -> Step {
        self.result = Some(s.into());
        self
    }
    /// The call and what it returned, together.
    pub(crate) fn call(self, syscall: impl Into<String>, result: impl Into<String>) -> Step {
        self.syscall(syscall).result(result)
    }
    /// Adds a paragraph to the prose.
    pub(crate) fn explain(mut self, text: impl Into<String>) -> Step {
        self.explain_mut(text);
        self
    }
    /// [`Step::explain`] on a step being built in place.
    pub(crate) fn explain_mut(&mut self, text: impl Into<String>) {
        let text = text.into();
        self.explanation = Some(match self.explanation.take() {
            Some(before) => format!("{before}\n{text}"),
            None => text,
        });
    }
    pub(crate) fn evidence(mut self, e: Evidence) -> Step {
        self.evidence.push(e);
        self
    }
    /// A row that shows a value without checking it (the tests build steps with it).
    #[cfg(test)]
    pub(crate) fn show(
        mut self,
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
        meaning: impl Into<String>,
    ) -> Step {
        self.show_mut(source, field, value, meaning);
        self
    }
    /// [`Step::show`] on a step being built in place.
    pub(crate) fn show_mut(
        &mut self,
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
        meaning: impl Into<String>,
    ) {
        self.evidence
            .push(Evidence::new(source, field, value, meaning));
    }
    /// [`Step::fact`] on a step being built in place.
    pub(crate) fn fact_mut(
        &mut self,
        source: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
        meaning: impl Into<String>,
        holds: bool,
    ) {
        self.evidence
            .push(Evidence::new(source, field, value, meaning).check(holds));
    }
    pub(crate) fn pid(mut self, role: &str, pid: i32) -> Step {
        self.pids.insert(role.to_string(), pid);
        self
    }
    /// A shell command that re-checks the evidence by hand.
    pub(crate) fn try_it(mut self, command: impl Into<String>) -> Step {
        self.try_it.push(command.into());
        self
    }
    /// A small ASCII picture.
    pub(crate) fn diagram(mut self, picture: impl Into<String>) -> Step {
        self.diagram = Some(picture.into());
        self
    }
    pub(crate) fn data(mut self, v: serde_json::Value) -> Step {
        self.data = Some(v);
        self
    }
    pub(crate) fn block(mut self, s: impl Into<String>) -> Step {
        self.block = Some(s.into());
        self
    }
}

/// An IPC object a demo created or removed.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Object {
    /// `sysv-msg`, `sysv-sem`, `sysv-shm`, `posix-mq`, `posix-sem`, `posix-shm`, `fifo`.
    pub kind: &'static str,
    pub id: Option<i32>,
    pub key: Option<String>,
    /// A POSIX name or a path.
    pub name: Option<String>,
}

impl Object {
    /// A System V object: its identifier and its key as ipcs prints it.
    pub(crate) fn sysv(kind: &'static str, id: i32, key: String) -> Object {
        Object {
            kind,
            id: Some(id),
            key: Some(key),
            name: None,
        }
    }

    /// A POSIX object or a FIFO: its name or path.
    pub(crate) fn named(kind: &'static str, name: impl Into<String>) -> Object {
        Object {
            kind,
            id: None,
            key: None,
            name: Some(name.into()),
        }
    }
}

/// An errno as strace prints it: `-1 ENAME (description)`, with the C library's description
/// (strerror), as strace prints it: nix's own texts are the kernel headers' comments, which
/// differ ("Try again" for EAGAIN, where strace says "Resource temporarily unavailable").
pub(crate) fn errno_text(e: nix::errno::Errno) -> String {
    let text = std::io::Error::from_raw_os_error(e as i32).to_string();
    // std appends " (os error N)" to strerror's text.
    let desc = match text.rsplit_once(" (os error ") {
        Some((desc, _)) => desc.to_string(),
        None => e.desc().to_string(),
    };
    format!("-1 {e:?} ({desc})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;

    #[test]
    fn errno_text_is_what_strace_prints() {
        // Copied from `strace -f` 6.1 on glibc 2.36, one call failing with each errno the
        // demos show.
        let strace = [
            (
                Errno::EAGAIN,
                "-1 EAGAIN (Resource temporarily unavailable)",
            ),
            (Errno::EACCES, "-1 EACCES (Permission denied)"),
            (Errno::ENXIO, "-1 ENXIO (No such device or address)"),
            (Errno::EPIPE, "-1 EPIPE (Broken pipe)"),
            (Errno::ECHILD, "-1 ECHILD (No child processes)"),
            (Errno::ESRCH, "-1 ESRCH (No such process)"),
            (Errno::EPERM, "-1 EPERM (Operation not permitted)"),
            (Errno::EINTR, "-1 EINTR (Interrupted system call)"),
            (Errno::ENOENT, "-1 ENOENT (No such file or directory)"),
            (Errno::EEXIST, "-1 EEXIST (File exists)"),
            (Errno::EINVAL, "-1 EINVAL (Invalid argument)"),
        ];
        let wrong: Vec<String> = strace
            .iter()
            .filter(|(e, want)| errno_text(*e) != *want)
            .map(|(e, want)| format!("{e:?}: {} instead of {want}", errno_text(*e)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
