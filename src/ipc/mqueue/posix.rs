//! The POSIX backend of the message queue story: mq_open by name, priorities that decide the
//! order of delivery, mq_getattr, and the queue's file in /dev/mqueue.

use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_attr_member_t};
use nix::sys::stat::Mode;

use super::{Moment, is_root, text_bytes, try_in_child};
use crate::ipc::posix::{Name, Unlink};
use crate::ipc::sysv::io_err;
use crate::teach::narrate::{Object, Step, errno_text};
use crate::teach::probe;
use crate::teach::runtime::Runtime;
use crate::teach::trace;

/// The limits the demo gives its queue (within the default fs.mqueue.msg_max of 10 and
/// msgsize_max of 8192).
const MAXMSG: mq_attr_member_t = 8;
const MSGSIZE: mq_attr_member_t = 128;

pub(super) struct Queue {
    name: String,
    mq: PosixMq,
    /// What /dev/mqueue shows of it, found once it exists.
    dev: DevMq,
    /// The descriptor number, for the narration.
    fd: i32,
}

impl super::Queue for Queue {
    const TITLE: &'static str = "a POSIX message queue";
    const INTRO: &'static str = "POSIX queues are found by a name like /something instead of a numeric key, deliver \
         the highest priority first, and are files of the mqueue filesystem (usually mounted on \
         /dev/mqueue).";
    const MESSAGES: [(i64, &'static str); 3] = [(1, "low"), (9, "urgent"), (5, "medium")];
    const SUMMARY: &'static str =
        "Named queue, priorities, permissions and unlink: nothing is left behind.";

    fn create() -> Result<Queue> {
        let name = format!("/{}", crate::ipc::demo_name("mq"));
        let mq = PosixMq::create(&name, MAXMSG, MSGSIZE)
            .map_err(io_err)
            .with_context(|| format!("mq_open({name}, O_CREAT|O_EXCL)"))?;
        let dev = dev_mqueue(&name);
        let fd = mq.mqd.as_ref().map_or(-1, |m| m.as_raw_fd());
        Ok(Queue { name, mq, dev, fd })
    }

    fn object(&self) -> Object {
        Object::named("posix-mq", self.name.clone())
    }

    fn created(&self) -> Step {
        Step::new("Create a queue by name")
            .call(
                format!(
                    "mq_open(\"{}\", O_CREAT|O_EXCL|O_RDWR|O_NONBLOCK, 0600, {{maxmsg {MAXMSG}, msgsize {MSGSIZE}}})",
                    self.name
                ),
                self.fd.to_string(),
            )
            .explain(
                "On Linux the queue descriptor is a file descriptor; /proc shows the queue's name.",
            )
    }

    fn send_all(&self) -> i32 {
        let Ok(m) = open_traced(&self.name, MQ_OFlag::O_WRONLY, "O_WRONLY") else {
            return 1;
        };
        for (p, text) in Self::MESSAGES {
            let r = nix::mqueue::mq_send(&m, text.as_bytes(), p as u32);
            trace::record(
                "mq_timedsend",
                format!(
                    "{}, {}, {}, {p}, NULL",
                    m.as_raw_fd(),
                    trace::bytes(text.as_bytes()),
                    text.len()
                ),
                trace::ret(&r.map(|()| 0)),
            );
            if r.is_err() {
                return 2;
            }
        }
        0
    }

    fn sent(&self, spid: i32) -> Step {
        let name = &self.name;
        Step::new("A child opens it by name and sends with priorities")
            .call(
                format!(
                    "mq_open(\"{name}\", O_WRONLY); mq_send(\"low\", 1); mq_send(\"urgent\", 9); mq_send(\"medium\", 5) in PID {spid}"
                ),
                "0",
            )
            .explain("The child needed only the name. Its messages stay queued after it exits.")
    }

    fn receive(&mut self) -> Result<Step> {
        let mut s = Step::new("Receive: the highest priority comes first")
            .call("mq_receive × 3", "")
            .explain("Not first in, first out: by priority, then by arrival within a priority.");
        let mut by_priority = Self::MESSAGES;
        by_priority.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
        if let Some(m) = self.mq.mqd.as_ref() {
            for (i, (want_prio, want_text)) in by_priority.iter().enumerate() {
                let mut buf = [0u8; MSGSIZE as usize];
                let mut prio = 0u32;
                let len = nix::mqueue::mq_receive(m, &mut buf, &mut prio)
                    .map_err(io_err)
                    .context("mq_receive")?;
                let text = String::from_utf8_lossy(&buf[..len]).into_owned();
                trace::record(
                    "mq_timedreceive",
                    format!(
                        "{}, {}, {MSGSIZE}, [{prio}], NULL",
                        m.as_raw_fd(),
                        trace::bytes(&buf[..len])
                    ),
                    len.to_string(),
                );
                s.fact_mut(
                    "mq_receive",
                    format!("message {}", i + 1),
                    format!("\"{text}\""),
                    format!("priority {prio}"),
                    (i64::from(prio), text.as_str()) == (*want_prio, *want_text),
                );
            }
        }
        Ok(s)
    }

    fn show(&self, s: &mut Step, when: Moment) {
        match when {
            Moment::Created => {
                let me = std::process::id() as i32;
                let target = probe::fd_target(me, self.fd);
                s.fact_mut(
                    format!("/proc/{me}/fd/{}", self.fd),
                    "link",
                    target.clone().unwrap_or_default(),
                    "the queue, by name",
                    target.as_deref() == Some(self.name.as_str()),
                );
                attr_fact(s, &self.mq, 0, "the limits we set; no message yet");
                devmq_fact(s, &self.name, self.dev, 0, true);
            }
            Moment::Sent { .. } => {
                attr_fact(s, &self.mq, 3, "three messages waiting");
                devmq_fact(s, &self.name, self.dev, text_bytes(&Self::MESSAGES), false);
            }
            Moment::Received { .. } => {
                attr_fact(s, &self.mq, 0, "the queue is empty again");
                devmq_fact(s, &self.name, self.dev, 0, false);
            }
        }
    }

    /// As root: a child that became `nobody` is refused at open. Not shown otherwise: the
    /// owner's own child would be let in.
    fn refusal(&mut self, rt: &Runtime) -> Result<Option<Step>> {
        if !is_root() {
            return Ok(None);
        }
        let name = &self.name;
        let (cpid, line) = try_in_child(rt, true, || {
            match open_traced(name, MQ_OFlag::O_WRONLY, "O_WRONLY") {
                Ok(_) => "0".to_string(),
                Err(e) => format!("{e:?}"),
            }
        })?;
        let mut s = Step::new("Another user is refused")
            .call(
                format!(
                    "setuid({}); mq_open(\"{name}\", O_WRONLY) in PID {cpid}",
                    super::NOBODY
                ),
                if line == "0" {
                    "3".into()
                } else {
                    format!("-1 {line}")
                },
            )
            .explain(
                "The mode 0600 given at creation lets only the owner open the queue: the user \
                 nobody (uid 65534) is refused at open time with EACCES.",
            )
            .pid("refused", cpid);
        s.fact_mut(
            "mq_open as nobody",
            "return",
            line.clone(),
            "EACCES: permission checked at open",
            line == "EACCES",
        );
        Ok(Some(s))
    }

    fn remove(&mut self) -> Result<Step> {
        let name = &self.name;
        self.mq.unlink().map_err(io_err).context("mq_unlink")?;
        if let Some(m) = self.mq.mqd.take() {
            let fd = m.as_raw_fd();
            let r = nix::mqueue::mq_close(m);
            trace::record("close", fd.to_string(), trace::ret(&r.map(|()| 0)));
        }
        let probe = open_traced(name, MQ_OFlag::O_RDONLY, "O_RDONLY");
        let probe_text = match &probe {
            Ok(_) => "opened: still there".to_string(),
            Err(e) => errno_text(*e),
        };
        let unlinked = matches!(probe, Err(Errno::ENOENT));
        if let Ok(m) = probe {
            let _ = nix::mqueue::mq_close(m);
        }
        let mut s = Step::new("Unlink the queue")
            .call(format!("mq_unlink(\"{name}\"); mq_close({})", self.fd), "0")
            .explain(
                "Like a file, the name goes at once and the queue itself when the last descriptor \
                 closes.",
            )
            .explain(LIFETIME);
        s.fact_mut(
            format!("mq_open(\"{name}\", O_RDONLY)"),
            "return",
            probe_text,
            "ENOENT: the name is gone",
            unlinked,
        );
        if self.dev == DevMq::Visible {
            let path = format!("/dev/mqueue{name}");
            let left = std::fs::symlink_metadata(&path);
            s.fact_mut(
                format!("lstat {path}"),
                "mode",
                match &left {
                    Ok(_) => "still there".to_string(),
                    Err(e) => errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
                },
                "its file is gone too",
                left.is_err(),
            );
        }
        Ok(s)
    }

    fn look(&self) -> String {
        let name = &self.name;
        match self.dev {
            DevMq::Visible => format!("cat /dev/mqueue{name}"),
            // /dev/mqueue may not even exist as a directory (it does not on this demo's
            // development machine): make it first.
            DevMq::Unmounted if is_root() => format!(
                "mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue && cat /dev/mqueue{name}"
            ),
            DevMq::Unmounted => "grep mqueue /proc/mounts   # none: as root, mkdir -p /dev/mqueue; mount -t mqueue none /dev/mqueue".to_string(),
            DevMq::Foreign => "ls /dev/mqueue   # another IPC namespace's queues: not this one".to_string(),
        }
    }

    /// Never the gone queue's file: where /dev/mqueue shows none, the namespace's limit on
    /// queues, which counts them in kernel memory, mounted or not.
    fn look_removed(&self) -> String {
        if self.dev == DevMq::Visible {
            "ls /dev/mqueue   # the queue's file is gone".to_string()
        } else {
            "cat /proc/sys/fs/mqueue/queues_max   # queues this IPC namespace may hold, mounted or not".to_string()
        }
    }
}

/// How long a queue lives without mq_unlink (the shared POSIX text speaks of /dev/shm's
/// tmpfs, which holds no queue).
const LIFETIME: &str = "Without the unlink the queue would stay, its messages in it, until \
     reboot: a queue lives in kernel memory, in the IPC namespace that made it (a container's \
     goes when its last process exits). /dev/mqueue is only a view of that namespace's mqueue \
     filesystem: the queue exists whether it is mounted or not. On systemd machines logind's \
     RemoveIPC= (on by default, for ordinary users only) also removes a user's queues when \
     their last session ends.";

/// A queue's name as the mq_open and mq_unlink system calls take it, quoted: glibc strips the
/// leading '/' before the call.
fn syscall_name(name: &str) -> String {
    format!("\"{}\"", name.trim_start_matches('/'))
}

/// mq_open of an existing queue, recorded (`flags` as strace prints `oflag`).
fn open_traced(name: &str, oflag: MQ_OFlag, flags: &str) -> Result<MqdT, Errno> {
    let r = nix::mqueue::mq_open(name, oflag, Mode::empty(), None);
    trace::record(
        "mq_open",
        format!("{}, {flags}", syscall_name(name)),
        trace::ret(&r.as_ref().map(|m| m.as_raw_fd()).map_err(|e| *e)),
    );
    r
}

/// A POSIX message queue this process created: Drop closes and unlinks it.
struct PosixMq {
    mqd: Option<MqdT>,
    /// Unlinked when it drops, after Drop below has closed the queue.
    name: Name,
}

impl PosixMq {
    fn create(
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
        );
        trace::record(
            "mq_open",
            format!(
                "{}, O_RDWR|O_CREAT|O_EXCL|O_NONBLOCK, 0600, {{mq_flags=0, mq_maxmsg={maxmsg}, mq_msgsize={msgsize}, mq_curmsgs=0}}",
                syscall_name(name)
            ),
            trace::ret(&mqd.as_ref().map(|m| m.as_raw_fd()).map_err(|e| *e)),
        );
        let mqd = mqd?;
        Ok(PosixMq {
            mqd: Some(mqd),
            name: Name::created(cname, Unlink::Queue),
        })
    }

    fn unlink(&mut self) -> Result<(), Errno> {
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
fn mqueue_mounted() -> bool {
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
/// /dev/mqueue cannot show this queue, and then only in the `first` step: it does not change.
fn devmq_fact(step: &mut Step, name: &str, dev: DevMq, bytes: usize, first: bool) {
    let path = format!("/dev/mqueue{name}");
    match dev {
        DevMq::Unmounted | DevMq::Foreign if !first => {}
        DevMq::Unmounted => step.show_mut(
            "/dev/mqueue",
            "mount",
            "not mounted",
            "queues exist anyway; to see them as files: mount -t mqueue none /dev/mqueue",
        ),
        DevMq::Foreign => step.show_mut(
            "/dev/mqueue",
            "mount",
            format!("no {name}"),
            "the mqueue filesystem mounted there belongs to another IPC namespace",
        ),
        DevMq::Visible => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| e.to_string());
            step.fact_mut(
                format!("cat {path}"),
                "contents",
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
            "attributes",
            format!(
                "maxmsg {}, msgsize {}, curmsgs {}",
                a.maxmsg(),
                a.msgsize(),
                a.curmsgs()
            ),
            meaning.to_string(),
            (a.maxmsg(), a.msgsize(), a.curmsgs()) == (MAXMSG, MSGSIZE, curmsgs),
        ),
        Some(Err(e)) => step.fact_mut(
            "mq_getattr",
            "attributes",
            errno_text(e),
            meaning.to_string(),
            false,
        ),
        None => step.fact_mut(
            "mq_getattr",
            "attributes",
            "(closed)",
            meaning.to_string(),
            false,
        ),
    }
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
