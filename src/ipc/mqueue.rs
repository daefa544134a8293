//! `ipc demo mqueue`: a System V message queue (msgget, msgsnd with typed messages, msgrcv
//! selecting by type) and its row in /proc/sysvipc/msg as it changes; the permissions its
//! creator set refuse another user. `--posix`: mq_open with priorities.

use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_attr_member_t};
use nix::sys::stat::Mode;
use nix::sys::wait::WaitStatus;

use super::posix::{Name, Unlink};
use super::sysv::{MsgQueue, io_err, key_hex};
use super::sysvipc::{self, MsgRow, rwx};
use super::{SHOW, Want, is, removed_fact, row_facts};
use crate::sys::sysv;
use crate::teach::lab::Lab;
use crate::teach::narrate::{Narrator, Object, Step, errno_text};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Runtime, describe};

/// The uid and gid a root demo switches a child to, to be refused: `nobody`.
pub const NOBODY: u32 = 65534;

/// In a child: give up root for `nobody` (groups, gid, then uid: after setuid there is no way
/// back, and no capability left to bypass permissions).
pub fn become_nobody() -> Result<(), Errno> {
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(NOBODY))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(NOBODY))
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn row_ev(step: &mut Step, id: i32, wants: &[(&str, Want)]) {
    let row = sysvipc::msg_row(id);
    let field = row.as_ref().map(|r| move |f: &str| msg_field(r, f));
    row_facts(step, "msg", "msqid", id, field, wants);
}

fn pid_meaning(pid: i32, what: &str, me: i32) -> String {
    if pid == 0 {
        format!("{what}: nobody yet")
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

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    if lab.posix {
        run_posix(rt, n)
    } else {
        run_sysv(rt, n)
    }
}

fn run_sysv(rt: &Runtime, n: &mut Narrator) -> Result<String> {
    let me = rt.pid();
    n.begin(
        "a System V message queue",
        "The notes: message queues let one or more processes write messages that one or more \
         other processes read. Like semaphores and shared memory, a queue is reached through an \
         identifier passed to the kernel, and only by processes the creator's permissions allow.",
    )?;

    // 1. Create.
    let mut q = MsgQueue::create(0o600)
        .map_err(io_err)
        .context("msgget(IPC_CREAT|IPC_EXCL|0600); is kernel.msgmni exhausted? (ipcs -q)")?;
    let object = Object::sysv("sysv-msg", q.id, key_hex(q.key));
    n.object("created", &object)?;
    let id = q.id;
    let mut s = Step::new("Create a queue")
        .call(
            format!("msgget({}, IPC_CREAT|IPC_EXCL|0600)", key_hex(q.key)),
            id.to_string(),
        )
        .explain(
            "The kernel made a queue and returned its identifier. Its row in /proc/sysvipc/msg is \
             what ipcs -q shows.",
        );
    row_ev(
        &mut s,
        id,
        &[
            ("key", is(q.key)),
            ("msqid", is(id)),
            ("perms", is("600")),
            ("uid", SHOW),
            ("qnum", is(0)),
            ("cbytes", is(0)),
            ("lspid", is(0)),
            ("lrpid", is(0)),
        ],
    );
    n.step(s)?;

    // 2. A child sends typed messages, then exits.
    let msgs: [(i64, &str); 3] = [
        (2, "type 2, first"),
        (1, "type 1, only one"),
        (2, "type 2, second"),
    ];
    let bytes: usize = msgs.iter().map(|(_, t)| t.len()).sum();
    let mut sender = rt.spawn("message sender", || {
        for (t, text) in msgs {
            if sysv::msg_send(id, t, text.as_bytes(), 0).is_err() {
                return 1;
            }
        }
        0
    })?;
    let spid = sender.raw();
    let st = rt.reap(&mut sender, Duration::from_secs(5))?;
    let mut s = Step::new("A child sends three typed messages and exits")
        .call(
            format!(
                "msgsnd({id}, {{2, \"{}\"}}); msgsnd({id}, {{1, \"{}\"}}); msgsnd({id}, {{2, \"{}\"}}) in PID {spid}",
                msgs[0].1, msgs[1].1, msgs[2].1
            ),
            "0, 0, 0",
        )
        .explain(
            "Each message carries a type, a positive number chosen by the sender. The sender \
             has exited, yet its messages wait in the queue: the queue belongs to the kernel, \
             not to any process. cbytes counts the text of the messages, not their types.",
        );
    s.fact_mut(
        format!("waitpid({spid})"),
        describe(st),
        "the sender sent all three and is gone",
        st == WaitStatus::Exited(sender.pid, 0),
    );
    row_ev(
        &mut s,
        id,
        &[("qnum", is(3)), ("cbytes", is(bytes)), ("lspid", is(spid))],
    );
    n.step(s)?;

    // 3. Receive by type.
    let (t1, m1) = sysv::msg_recv(id, 2, libc::IPC_NOWAIT)
        .map_err(io_err)
        .context("msgrcv type 2")?;
    let (t2, m2) = sysv::msg_recv(id, 0, libc::IPC_NOWAIT)
        .map_err(io_err)
        .context("msgrcv type 0")?;
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
        "msgrcv type 2",
        got(t1, &m1),
        "the first message of type 2",
        (t1, m1.as_slice()) == (msgs[0].0, msgs[0].1.as_bytes()),
    );
    s.fact_mut(
        "msgrcv type 0",
        got(t2, &m2),
        "the message now at the head: the type 1 the first call skipped",
        (t2, m2.as_slice()) == (msgs[1].0, msgs[1].1.as_bytes()),
    );
    row_ev(
        &mut s,
        id,
        &[
            ("qnum", is(1)),
            ("cbytes", is(msgs[2].1.len())),
            ("lrpid", is(me)),
        ],
    );
    n.step(s)?;

    // 4. Permissions.
    permission_step(rt, n, id)?;

    // 5. Remove.
    q.remove().map_err(io_err).context("msgctl(IPC_RMID)")?;
    let mut s = Step::new("Remove the queue")
        .call(format!("msgctl({id}, IPC_RMID)"), "0")
        .explain(
            "System V objects outlive every process: without IPC_RMID this queue and its last \
             message would stay until reboot (zombies ipc list --orphaned finds such leftovers).",
        );
    removed_fact(&mut s, "msg", "msqid", id, sysvipc::msg_row(id).is_some());
    n.step(s)?;
    n.object("removed", &object)?;
    Ok(String::from(
        "A queue found by its identifier, typed messages received by type, permissions enforced \
         by the kernel, and the queue removed: no row is left in /proc/sysvipc/msg.",
    ))
}

/// CAP_IPC_OWNER from linux/capability.h: bypasses System V IPC permission checks.
const CAP_IPC_OWNER: u32 = 15;

/// The effective capabilities of the calling process (CapEff in /proc/self/status).
fn cap_eff() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    u64::from_str_radix(&probe::field(&status, "CapEff")?, 16).ok()
}

/// As root: a child that became `nobody` is refused. Otherwise: the owner removes its own
/// write permission and a child (same user) is refused the send.
fn permission_step(rt: &Runtime, n: &mut Narrator, id: i32) -> Result<()> {
    let mut rep = Channel::new()?;
    let root = is_root();
    if !root {
        sysv::msg_set_mode(id, 0o400)
            .map_err(io_err)
            .context("msgctl(IPC_SET)")?;
    }
    let mut child = rt.spawn("unprivileged child", || {
        let w = rep.child_side();
        if root {
            if let Err(e) = become_nobody() {
                w.line(&format!("setuid {e:?}"));
                return 1;
            }
        }
        let snd = match sysv::msg_send(id, 1, b"let me in", libc::IPC_NOWAIT) {
            Ok(()) => "0".to_string(),
            Err(e) => format!("{e:?}"),
        };
        let rcv = match sysv::msg_recv(id, 0, libc::IPC_NOWAIT) {
            Ok(_) => "0".to_string(),
            Err(e) => format!("{e:?}"),
        };
        let caps = cap_eff().map_or("?".to_string(), |c| format!("{c:016x}"));
        w.line(&format!(
            "{} {snd} {rcv} {caps}",
            nix::unistd::getuid().as_raw()
        ));
        0
    })?;
    rep.close_write();
    let cpid = child.raw();
    let line = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    rt.reap(&mut child, Duration::from_secs(5))?;
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
    if line.starts_with("setuid") {
        bail!("the child could not switch to uid {NOBODY}: {line}");
    }
    let w: Vec<&str> = line.split_whitespace().collect();
    let get = |i: usize| w.get(i).copied().unwrap_or("?").to_string();
    let ret = |i: usize| match get(i).as_str() {
        "0" => "0".to_string(),
        e => format!("-1 {e}"),
    };
    let mut s = if root {
        Step::new("Another user is refused")
            .call(
                format!("setuid({NOBODY}); msgsnd({id}); msgrcv({id}) in PID {cpid}"),
                format!("{}, {}", ret(1), ret(2)),
            )
            .explain(
                "The creator gave read and write permission to its owner only (0600). A child \
                 that switched from root to nobody has the identifier but not the permission: \
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
            get(0),
            "nobody: neither owner nor creator",
            get(0) == NOBODY.to_string(),
        );
    } else {
        s.ev_mut(format!("getuid() in PID {cpid}"), get(0), "the owner");
    }
    let caps = u64::from_str_radix(&get(3), 16).ok();
    let bypass = caps.is_some_and(|c| c & (1 << CAP_IPC_OWNER) != 0);
    s.ev_mut(
        format!("CapEff of PID {cpid}"),
        get(3),
        if bypass {
            "CAP_IPC_OWNER (bit 15) held: this process may ignore the permission bits"
        } else {
            "CAP_IPC_OWNER (bit 15) not held: the permission bits apply"
        },
    );
    s.fact_mut(
        "msgsnd",
        ret(1),
        "EACCES: write permission is needed to send",
        get(1) == "EACCES",
    );
    if root {
        s.fact_mut(
            "msgrcv",
            ret(2),
            "EACCES: read permission is needed to receive",
            get(2) == "EACCES",
        );
    } else {
        s.fact_mut(
            "msgrcv",
            ret(2),
            "0: the owner may still read, and takes the last message",
            get(2) == "0",
        );
    }
    s.evidence.extend(during.evidence);
    n.step(s)
}

// ---------------------------------------------------------------- POSIX

/// A POSIX message queue this process created: Drop closes and unlinks it.
pub struct PosixMq {
    pub mqd: Option<MqdT>,
    /// Unlinked when it drops, after Drop below has closed the queue.
    name: Name,
}

impl PosixMq {
    pub fn create(
        name: &str,
        maxmsg: mq_attr_member_t,
        msgsize: mq_attr_member_t,
    ) -> Result<PosixMq, Errno> {
        let cname = Name::c_string(name)?;
        // nix passes the mode only together with attributes: always give both.
        let attr = MqAttr::new(0, maxmsg, msgsize, 0);
        let mqd = nix::mqueue::mq_open(
            cname.as_c_str(),
            MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR | MQ_OFlag::O_NONBLOCK,
            Mode::from_bits_truncate(0o600),
            Some(&attr),
        )?;
        Ok(PosixMq {
            mqd: Some(mqd),
            name: Name::created(cname, Unlink::Queue),
        })
    }

    pub fn unlink(&mut self) -> Result<(), Errno> {
        self.name.unlink()
    }
}

impl Drop for PosixMq {
    fn drop(&mut self) {
        if self.name.is_owner() {
            if let Some(m) = self.mqd.take() {
                let _ = nix::mqueue::mq_close(m);
            }
        }
    }
}

/// Whether an mqueue filesystem is mounted at /dev/mqueue.
pub fn mqueue_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .map(|m| {
            m.lines().any(|l| {
                let mut f = l.split_whitespace();
                let _dev = f.next();
                f.next() == Some("/dev/mqueue") && f.next() == Some("mqueue")
            })
        })
        .unwrap_or(false)
}

/// What /dev/mqueue can show of a queue: nothing when no mqueue filesystem is mounted there,
/// or when the one mounted there belongs to another IPC namespace (a container that unshared
/// IPC but kept the host's /dev), which the demo tells by not finding the queue it just made.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DevMq {
    Unmounted,
    Foreign,
    Visible,
}

fn dev_mqueue(name: &str) -> DevMq {
    if !mqueue_mounted() {
        DevMq::Unmounted
    } else if std::fs::symlink_metadata(format!("/dev/mqueue{name}")).is_ok() {
        DevMq::Visible
    } else {
        DevMq::Foreign
    }
}

/// QSIZE from a /dev/mqueue file: "QSIZE:15         NOTIFY:0     SIGNO:0     NOTIFY_PID:0".
fn qsize(text: &str) -> Option<u64> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("QSIZE:"))
        .and_then(|v| v.parse().ok())
}

/// The queue's file in /dev/mqueue, as the proof that the kernel holds `bytes` bytes of
/// message text for it. QSIZE is the sum of the queued messages' sizes (ipc/mqueue.c adds
/// each message's m_ts in msg_insert; so in 5.x and 6.x, measured on 6.18), printed as
/// "QSIZE:%-10lu NOTIFY:..." since the file exists (2.6.6). Shown without a verdict where
/// /dev/mqueue cannot show this queue.
fn devmq_fact(step: &mut Step, name: &str, dev: DevMq, bytes: usize) {
    let path = format!("/dev/mqueue{name}");
    match dev {
        DevMq::Unmounted => step.ev_mut(
            "/dev/mqueue",
            "not mounted",
            "queues exist anyway; to see them as files: mount -t mqueue none /dev/mqueue",
        ),
        DevMq::Foreign => step.ev_mut(
            "/dev/mqueue",
            format!("no {name}"),
            "the mqueue filesystem mounted there belongs to another IPC namespace",
        ),
        DevMq::Visible => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| e.to_string());
            step.fact_mut(
                format!("cat {path}"),
                text.trim().to_string(),
                format!("QSIZE: {bytes} bytes of message text queued"),
                qsize(&text) == Some(bytes as u64),
            );
        }
    }
}

/// mq_getattr, as the proof of the queue's limits and of `curmsgs` messages waiting.
fn attr_fact(step: &mut Step, q: &PosixMq, curmsgs: mq_attr_member_t, meaning: &str) {
    match q.mqd.as_ref().map(nix::mqueue::mq_getattr) {
        Some(Ok(a)) => step.fact_mut(
            "mq_getattr",
            format!(
                "maxmsg {}, msgsize {}, curmsgs {}",
                a.maxmsg(),
                a.msgsize(),
                a.curmsgs()
            ),
            meaning.to_string(),
            (a.maxmsg(), a.msgsize(), a.curmsgs()) == (MAXMSG, MSGSIZE, curmsgs),
        ),
        Some(Err(e)) => step.fact_mut("mq_getattr", errno_text(e), meaning.to_string(), false),
        None => step.fact_mut("mq_getattr", "(closed)", meaning.to_string(), false),
    }
}

/// The limits the demo gives its POSIX queue (within the default fs.mqueue.msg_max of 10
/// and msgsize_max of 8192).
const MAXMSG: mq_attr_member_t = 8;
const MSGSIZE: mq_attr_member_t = 128;

fn run_posix(rt: &Runtime, n: &mut Narrator) -> Result<String> {
    let me = rt.pid();
    n.begin(
        "a POSIX message queue",
        "POSIX queues are found by a name like /something instead of a numeric key, deliver \
         the highest priority first, and are files of the mqueue filesystem (usually mounted on \
         /dev/mqueue).",
    )?;
    let name = format!("/{}", super::demo_name("mq"));
    let mut q = PosixMq::create(&name, MAXMSG, MSGSIZE)
        .map_err(io_err)
        .with_context(|| format!("mq_open({name}, O_CREAT|O_EXCL)"))?;
    let object = Object::named("posix-mq", name.clone());
    n.object("created", &object)?;
    let dev = dev_mqueue(&name);
    let fd = q.mqd.as_ref().map_or(-1, |m| m.as_raw_fd());
    let mut s = Step::new("Create a queue by name")
        .call(
            format!(
                "mq_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR|O_NONBLOCK, 0600, {{maxmsg {MAXMSG}, msgsize {MSGSIZE}}})"
            ),
            fd.to_string(),
        )
        .explain(
            "On Linux the queue descriptor is a file descriptor; /proc shows the queue's name.",
        );
    let target = probe::fd_target(me, fd);
    s.fact_mut(
        format!("/proc/{me}/fd/{fd}"),
        target.clone().unwrap_or_default(),
        "the queue, by name",
        target.as_deref() == Some(name.as_str()),
    );
    attr_fact(&mut s, &q, 0, "the limits we set; no message yet");
    devmq_fact(&mut s, &name, dev, 0);
    n.step(s)?;

    // A child opens it by name and sends with priorities.
    let msgs: [(u32, &str); 3] = [(1, "low"), (9, "urgent"), (5, "medium")];
    let bytes: usize = msgs.iter().map(|(_, t)| t.len()).sum();
    let cname = name.clone();
    let mut sender = rt.spawn("message sender", || {
        let Ok(m) = nix::mqueue::mq_open(cname.as_str(), MQ_OFlag::O_WRONLY, Mode::empty(), None)
        else {
            return 1;
        };
        for (p, text) in msgs {
            if nix::mqueue::mq_send(&m, text.as_bytes(), p).is_err() {
                return 2;
            }
        }
        0
    })?;
    let spid = sender.raw();
    let st = rt.reap(&mut sender, Duration::from_secs(5))?;
    let mut s = Step::new("A child opens it by name and sends with priorities")
        .call(
            format!(
                "mq_open(\"{name}\", O_WRONLY); mq_send(\"low\", 1); mq_send(\"urgent\", 9); mq_send(\"medium\", 5) in PID {spid}"
            ),
            "0",
        )
        .explain("The child needed only the name. Its messages stay queued after it exits.");
    s.fact_mut(
        format!("waitpid({spid})"),
        describe(st),
        "the sender sent all three and is gone",
        st == WaitStatus::Exited(sender.pid, 0),
    );
    attr_fact(&mut s, &q, 3, "three messages waiting");
    devmq_fact(&mut s, &name, dev, bytes);
    n.step(s)?;

    // Receive: highest priority first.
    let mut s = Step::new("Receive: the highest priority comes first")
        .call("mq_receive × 3", "")
        .explain("Not first in, first out: by priority, then by arrival within a priority.");
    let mut by_priority = msgs;
    by_priority.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
    if let Some(m) = q.mqd.as_ref() {
        for (i, (want_prio, want_text)) in by_priority.iter().enumerate() {
            let mut buf = [0u8; MSGSIZE as usize];
            let mut prio = 0u32;
            let len = nix::mqueue::mq_receive(m, &mut buf, &mut prio)
                .map_err(io_err)
                .context("mq_receive")?;
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            s.fact_mut(
                format!("mq_receive #{}", i + 1),
                format!("\"{text}\""),
                format!("priority {prio}"),
                (prio, text.as_str()) == (*want_prio, *want_text),
            );
        }
    }
    attr_fact(&mut s, &q, 0, "the queue is empty again");
    devmq_fact(&mut s, &name, dev, 0);
    n.step(s)?;

    if is_root() {
        let mut rep = Channel::new()?;
        let cname = name.clone();
        let mut child = rt.spawn("unprivileged child", || {
            let w = rep.child_side();
            if let Err(e) = become_nobody() {
                w.line(&format!("setuid {e:?}"));
                return 1;
            }
            let r = nix::mqueue::mq_open(cname.as_str(), MQ_OFlag::O_WRONLY, Mode::empty(), None);
            w.line(&match r {
                Ok(_) => "0".to_string(),
                Err(e) => format!("{e:?}"),
            });
            0
        })?;
        rep.close_write();
        let cpid = child.raw();
        let line = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
        rt.reap(&mut child, Duration::from_secs(5))?;
        if line.starts_with("setuid") {
            bail!("the child could not switch to uid {NOBODY}: {line}");
        }
        let mut s = Step::new("Another user is refused")
            .call(
                format!("setuid({NOBODY}); mq_open(\"{name}\", O_WRONLY) in PID {cpid}"),
                if line == "0" {
                    "3".into()
                } else {
                    format!("-1 {line}")
                },
            )
            .explain(
                "The mode 0600 given at creation lets only the owner open the queue; nobody is \
                 refused at open time with EACCES.",
            );
        s.fact_mut(
            "mq_open as nobody",
            line.clone(),
            "EACCES: permission checked at open",
            line == "EACCES",
        );
        n.step(s)?;
    }

    q.unlink().map_err(io_err).context("mq_unlink")?;
    let probe = nix::mqueue::mq_open(name.as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None);
    let probe_text = match &probe {
        Ok(_) => "opened: still there".to_string(),
        Err(e) => errno_text(*e),
    };
    let unlinked = matches!(probe, Err(Errno::ENOENT));
    if let Ok(m) = probe {
        let _ = nix::mqueue::mq_close(m);
    }
    if let Some(m) = q.mqd.take() {
        let _ = nix::mqueue::mq_close(m);
    }
    let mut s = Step::new("Unlink the queue")
        .call(format!("mq_unlink(\"{name}\"); mq_close({fd})"), "0")
        .explain(
            "Like a file, the name goes at once and the queue itself when the last descriptor \
             closes. Without mq_unlink it would stay until reboot.",
        );
    s.fact_mut(
        format!("mq_open(\"{name}\", O_RDONLY)"),
        probe_text,
        "ENOENT: the name is gone",
        unlinked,
    );
    if dev == DevMq::Visible {
        let path = format!("/dev/mqueue{name}");
        let left = std::fs::symlink_metadata(&path);
        s.fact_mut(
            format!("lstat {path}"),
            match &left {
                Ok(_) => "still there".to_string(),
                Err(e) => errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
            },
            "its file is gone too",
            left.is_err(),
        );
    }
    n.step(s)?;
    n.object("removed", &object)?;
    Ok(String::from(
        "Named queue, priorities, permissions and unlink: nothing is left behind.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsize_of_a_dev_mqueue_file() {
        let line = "QSIZE:15         NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n";
        assert_eq!(qsize(line), Some(15));
        assert_eq!(qsize("QSIZE:1234567890 NOTIFY:0"), Some(1_234_567_890));
        assert_eq!(qsize("garbage"), None);
    }
}
