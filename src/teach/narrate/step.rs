//! The narration's model: a numbered [`Step`] with the call made, what it returned and its
//! rows of [`Evidence`], and the IPC [`Object`]s a demo creates and removes. The demos build
//! these; the renderers in `text` and `json` write them.

use std::collections::BTreeMap;

use serde::Serialize;

/// One row of evidence: where it was read, which field, its value and what that means.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(crate) struct Evidence {
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

/// One numbered step of a demo.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Step {
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
    pub(crate) fn explain(mut self, text: impl Into<String>) -> Step {
        self.explanation = Some(text.into());
        self
    }
    pub(crate) fn evidence(mut self, e: Evidence) -> Step {
        self.evidence.push(e);
        self
    }
    /// A row of evidence whose field names its own source (the tests build steps with it).
    #[cfg(test)]
    pub(crate) fn ev(
        mut self,
        field: impl Into<String>,
        value: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Step {
        self.ev_mut(field, value, meaning);
        self
    }
    /// [`Step::ev`] on a step being built in place.
    pub(crate) fn ev_mut(
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
    pub(crate) fn fact_mut(
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
    pub(crate) fn pid(mut self, role: &str, pid: i32) -> Step {
        self.pids.insert(role.to_string(), pid);
        self
    }
    pub(crate) fn note(mut self, s: impl Into<String>) -> Step {
        self.notes.push(s.into());
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

/// An errno as `-1 ENAME (description)`.
pub(crate) fn errno_text(e: nix::errno::Errno) -> String {
    format!("-1 {:?} ({})", e, e.desc())
}
