//! The System V backend of the message queue story: msgget, msgsnd with typed messages,
//! msgrcv selecting by type, and the queue's row in /proc/sysvipc/msg as it changes.

use anyhow::{Context, Result};

use super::{Moment, is_root, text_bytes, try_in_child};
use crate::ipc::sysv::{MsgQueue, io_err, key_hex};
use crate::ipc::{SHOW, Want, is, removed_fact, row_facts};
use crate::ipcs::sysvipc::{self, MsgRow, rwx};
use crate::sys::sysv;
use crate::teach::narrate::{Object, Step};
use crate::teach::probe;
use crate::teach::runtime::Runtime;
use crate::teach::trace;

pub(super) struct Queue {
    q: MsgQueue,
}

impl super::Queue for Queue {
    const TITLE: &'static str = "a System V message queue";
    const INTRO: &'static str = "The notes: message queues let one or more processes write messages that one or more \
         other processes read. Like semaphores and shared memory, a queue is reached through an \
         identifier passed to the kernel, and only by processes the creator's permissions allow.";
    const MESSAGES: [(i64, &'static str); 3] = [
        (2, "type 2, first"),
        (1, "type 1, only one"),
        (2, "type 2, second"),
    ];
    const SUMMARY: &'static str = "A queue found by its identifier, typed messages received by type, permissions enforced \
         by the kernel, and the queue removed: no row is left in /proc/sysvipc/msg.";

    fn create() -> Result<Queue> {
        let q = MsgQueue::create(0o600)
            .map_err(io_err)
            .context("msgget(IPC_CREAT|IPC_EXCL|0600); is kernel.msgmni exhausted? (ipcs -q)")?;
        Ok(Queue { q })
    }

    fn object(&self) -> Object {
        Object::sysv("sysv-msg", self.q.id, key_hex(self.q.key))
    }

    fn created(&self) -> Step {
        Step::new("Create a queue")
            .call(
                format!("msgget({}, IPC_CREAT|IPC_EXCL|0600)", key_hex(self.q.key)),
                self.q.id.to_string(),
            )
            .explain(
                "The kernel made a queue and returned its identifier. Its row in /proc/sysvipc/msg is \
                 what ipcs -q shows.",
            )
    }

    fn send_all(&self) -> i32 {
        for (t, text) in Self::MESSAGES {
            let r = sysv::msg_send(self.q.id, t, text.as_bytes(), 0);
            trace::record(
                "msgsnd",
                format!(
                    "{}, {{{t}, {}}}, {}, 0",
                    self.q.id,
                    trace::bytes(text.as_bytes()),
                    text.len()
                ),
                trace::ret(&r.map(|()| 0)),
            );
            if r.is_err() {
                return 1;
            }
        }
        0
    }

    fn sent(&self, spid: i32) -> Step {
        let id = self.q.id;
        let m = Self::MESSAGES;
        Step::new("A child sends three typed messages and exits")
            .call(
                format!(
                    "msgsnd({id}, {{2, \"{}\"}}); msgsnd({id}, {{1, \"{}\"}}); msgsnd({id}, {{2, \"{}\"}}) in PID {spid}",
                    m[0].1, m[1].1, m[2].1
                ),
                "0, 0, 0",
            )
            .explain(
                "Each message carries a type, a positive number chosen by the sender. The sender \
                 has exited, yet its messages wait in the queue: the queue belongs to the kernel, \
                 not to any process. cbytes counts the text of the messages, not their types.",
            )
    }

    fn receive(&mut self) -> Result<Step> {
        let id = self.q.id;
        let m = Self::MESSAGES;
        let (t1, m1) = sysv::msg_recv(id, 2, libc::IPC_NOWAIT)
            .map_err(io_err)
            .context("msgrcv type 2")?;
        trace::record(
            "msgrcv",
            format!(
                "{id}, {{{t1}, {}}}, {}, 2, IPC_NOWAIT",
                trace::bytes(&m1),
                sysv::MSG_MAX
            ),
            m1.len().to_string(),
        );
        let (t2, m2) = sysv::msg_recv(id, 0, libc::IPC_NOWAIT)
            .map_err(io_err)
            .context("msgrcv type 0")?;
        trace::record(
            "msgrcv",
            format!(
                "{id}, {{{t2}, {}}}, {}, 0, IPC_NOWAIT",
                trace::bytes(&m2),
                sysv::MSG_MAX
            ),
            m2.len().to_string(),
        );
        let mut s = Step::new("Receive by type")
            .call(
                format!("msgrcv({id}, type 2, IPC_NOWAIT); msgrcv({id}, type 0, IPC_NOWAIT)"),
                format!("{}, {}", m1.len(), m2.len()),
            )
            .explain(
                "msgrcv picks by type: 2 takes the oldest message of type 2, skipping the older \
                 type 1; 0 takes whatever is at the head; a negative type takes the lowest type up \
                 to its absolute value. One message is left.",
            );
        let got = |t: i64, m: &[u8]| format!("type {t}: \"{}\"", String::from_utf8_lossy(m));
        s.fact_mut(
            "msgrcv(type 2)",
            "message",
            got(t1, &m1),
            "the first message of type 2",
            (t1, m1.as_slice()) == (m[0].0, m[0].1.as_bytes()),
        );
        s.fact_mut(
            "msgrcv(type 0)",
            "message",
            got(t2, &m2),
            "the message now at the head: the type 1 the first call skipped",
            (t2, m2.as_slice()) == (m[1].0, m[1].1.as_bytes()),
        );
        Ok(s)
    }

    fn show(&self, s: &mut Step, when: Moment) {
        let m = Self::MESSAGES;
        let wants: Vec<(&str, Want)> = match when {
            Moment::Created => vec![
                ("key", is(self.q.key)),
                ("msqid", is(self.q.id)),
                ("perms", is("600")),
                ("uid", SHOW),
                ("qnum", is(0)),
                ("cbytes", is(0)),
                ("lspid", is(0)),
                ("lrpid", is(0)),
            ],
            Moment::Sent { sender } => vec![
                ("qnum", is(3)),
                ("cbytes", is(text_bytes(&m))),
                ("lspid", is(sender)),
            ],
            Moment::Received { receiver } => vec![
                ("qnum", is(1)),
                ("cbytes", is(m[2].1.len())),
                ("lrpid", is(receiver)),
            ],
        };
        row_ev(s, self.q.id, &wants);
    }

    /// As root: a child that became `nobody` is refused. Otherwise: the owner removes its own
    /// write permission and a child (same user) is refused the send.
    fn refusal(&mut self, rt: &Runtime) -> Result<Option<Step>> {
        let id = self.q.id;
        let root = is_root();
        if !root {
            sysv::msg_set_mode(id, 0o400)
                .map_err(io_err)
                .context("msgctl(IPC_SET)")?;
        }
        let tried = try_in_child(rt, root, || {
            let sent = sysv::msg_send(id, 1, b"let me in", libc::IPC_NOWAIT);
            trace::record(
                "msgsnd",
                format!("{id}, {{1, \"let me in\"}}, 9, IPC_NOWAIT"),
                trace::ret(&sent.map(|()| 0)),
            );
            let snd = match sent {
                Ok(()) => "0".to_string(),
                Err(e) => format!("{e:?}"),
            };
            let got = sysv::msg_recv(id, 0, libc::IPC_NOWAIT);
            // The buffer's address is what strace shows when nothing was received.
            let shown = match &got {
                Ok((t, m)) => format!("{{{t}, \"{}\"}}", String::from_utf8_lossy(m)),
                Err(_) => "0x…".to_string(),
            };
            trace::record(
                "msgrcv",
                format!("{id}, {shown}, {}, 0, IPC_NOWAIT", sysv::MSG_MAX),
                trace::ret(&got.as_ref().map(|(_, m)| m.len()).map_err(|e| *e)),
            );
            let rcv = match got {
                Ok(_) => "0".to_string(),
                Err(e) => format!("{e:?}"),
            };
            let caps = cap_eff().map_or("?".to_string(), |c| format!("{c:016x}"));
            format!("{} {snd} {rcv} {caps}", nix::unistd::getuid().as_raw())
        });
        // The row as the child met it, before the mode is restored.
        let mut during = Step::default();
        row_ev(
            &mut during,
            id,
            &[
                ("perms", is(if root { "600" } else { "400" })),
                ("uid", SHOW),
                ("qnum", SHOW),
            ],
        );
        if !root {
            sysv::msg_set_mode(id, 0o600)
                .map_err(io_err)
                .context("msgctl(IPC_SET)")?;
        }
        let (cpid, line) = tried?;
        let w: Vec<&str> = line.split_whitespace().collect();
        let get = |i: usize| w.get(i).copied().unwrap_or("?").to_string();
        let ret = |i: usize| match get(i).as_str() {
            "0" => "0".to_string(),
            e => format!("-1 {e}"),
        };
        let mut s = if root {
            Step::new("Another user is refused")
                .call(
                    format!(
                        "setuid({}); msgsnd({id}); msgrcv({id}) in PID {cpid}",
                        super::NOBODY
                    ),
                    format!("{}, {}", ret(1), ret(2)),
                )
                .explain(
                    "The creator gave read and write permission to its owner only (0600). A child \
                     that switched from root to the user nobody (uid 65534) has the identifier but not the permission: \
                     the kernel refuses it with EACCES. (Root itself bypasses the check: it has \
                     CAP_IPC_OWNER.)",
                )
        } else {
            Step::new("Permissions the creator set are enforced")
                .call(
                    format!(
                        "msgctl({id}, IPC_SET, mode 0400); msgsnd({id}); msgrcv({id}) in PID {cpid}"
                    ),
                    format!("0, {}, {}", ret(1), ret(2)),
                )
                .explain(
                    "The creator changed the mode to 0400: read-only, even for its owner. A child of \
                     the same user may still receive, but its send is refused with EACCES. The mode \
                     is set back to 0600 afterwards. (Run as root to see another user refused.)",
                )
        };
        if root {
            s.fact_mut(
                format!("getuid() in PID {cpid}"),
                "uid",
                get(0),
                "the user nobody: neither owner nor creator",
                get(0) == super::NOBODY.to_string(),
            );
        } else {
            s.show_mut(
                format!("getuid() in PID {cpid}"),
                "uid",
                get(0),
                "the owner",
            );
        }
        let caps = u64::from_str_radix(&get(3), 16).ok();
        let bypass = caps.is_some_and(|c| c & (1 << CAP_IPC_OWNER) != 0);
        s.show_mut(
            format!("/proc/{cpid}/status"),
            "CapEff",
            get(3),
            if bypass {
                "CAP_IPC_OWNER (bit 15) held: this process may ignore the permission bits"
            } else {
                "CAP_IPC_OWNER (bit 15) not held: the permission bits apply"
            },
        );
        s.fact_mut(
            "msgsnd",
            "return",
            ret(1),
            "EACCES: write permission is needed to send",
            get(1) == "EACCES",
        );
        if root {
            s.fact_mut(
                "msgrcv",
                "return",
                ret(2),
                "EACCES: read permission is needed to receive",
                get(2) == "EACCES",
            );
        } else {
            s.fact_mut(
                "msgrcv",
                "return",
                ret(2),
                "0: the owner may still read, and takes the last message",
                get(2) == "0",
            );
        }
        s.evidence.extend(during.evidence);
        Ok(Some(s.pid("refused", cpid)))
    }

    fn remove(&mut self) -> Result<Step> {
        let id = self.q.id;
        self.q
            .remove()
            .map_err(io_err)
            .context("msgctl(IPC_RMID)")?;
        let mut s = Step::new("Remove the queue")
            .call(format!("msgctl({id}, IPC_RMID)"), "0")
            .explain("Without IPC_RMID this queue and its last message would stay.")
            .explain(crate::ipc::SYSV_LIFETIME);
        removed_fact(&mut s, "msg", "msqid", id, sysvipc::msg_row(id).is_some());
        Ok(s)
    }
}

fn row_ev(step: &mut Step, id: i32, wants: &[(&str, Want)]) {
    let row = sysvipc::msg_row(id);
    let field = row.as_ref().map(|r| move |f: &str| msg_field(r, f));
    row_facts(step, "msg", "msqid", id, field, wants);
}

fn pid_meaning(pid: i32, what: &str, me: i32) -> String {
    if pid == 0 {
        format!("{what}: no process yet")
    } else if pid == me {
        format!("{what}: this demo")
    } else if probe::state(pid).is_some() {
        format!("{what}: PID {pid}, alive")
    } else {
        format!("{what}: PID {pid}, which has exited")
    }
}

fn msg_field(r: &MsgRow, f: &str) -> (String, String) {
    let me = std::process::id() as i32;
    match f {
        "key" => (
            r.key.to_string(),
            format!(
                "the key ({}): the name processes agree on to find the queue",
                key_hex(r.key)
            ),
        ),
        "msqid" => (
            r.id.to_string(),
            "the identifier every call passes to the kernel".into(),
        ),
        "perms" => (
            format!("{:o}", r.perms),
            format!("{}: permissions set by the creator", rwx(r.perms)),
        ),
        "uid" => (
            format!("{}, cuid {}", r.uid, r.cuid),
            "owner and creator".into(),
        ),
        "qnum" => (r.qnum.to_string(), "messages in the queue".into()),
        "cbytes" => (r.cbytes.to_string(), "bytes of message text queued".into()),
        "lspid" => (r.lspid.to_string(), pid_meaning(r.lspid, "last sender", me)),
        "lrpid" => (
            r.lrpid.to_string(),
            pid_meaning(r.lrpid, "last receiver", me),
        ),
        _ => (String::new(), String::new()),
    }
}

/// CAP_IPC_OWNER from linux/capability.h: bypasses System V IPC permission checks.
const CAP_IPC_OWNER: u32 = 15;

/// The effective capabilities of the calling process (CapEff in /proc/self/status).
fn cap_eff() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    u64::from_str_radix(&probe::field(&status, "CapEff")?, 16).ok()
}
