//! `ipc demo mqueue`: one story of a message queue, told with either backend. A queue is
//! created; a child sends three tagged messages and exits, and they outlive it; the demo
//! receives them in the order the queue defines; the permissions its creator set refuse
//! another user; the queue is removed. [`sysv`] tells it with msgget (typed messages, msgrcv
//! by type, the row in /proc/sysvipc/msg), [`posix`] with mq_open (priorities, mq_getattr,
//! the file in /dev/mqueue); each supplies the calls and the evidence, this file the story.

mod posix;
mod sysv;

use std::time::Duration;

use anyhow::{Result, bail};
use nix::errno::Errno;
use nix::sys::wait::WaitStatus;

use crate::teach::lab::Lab;
use crate::teach::narrate::{Object, Step};
use crate::teach::runtime::{Channel, Runtime, describe};
use crate::teach::trace;

/// How long the demo waits for a child's answer or exit.
const T: Duration = Duration::from_secs(5);

/// The uid and gid a root demo switches a child to, to be refused: `nobody`.
const NOBODY: u32 = 65534;

/// When the kernel's view of the queue is shown.
#[derive(Clone, Copy)]
enum Moment {
    /// Just created: empty.
    Created,
    /// The child `sender` sent the three messages and exited.
    Sent { sender: i32 },
    /// The demo, PID `receiver`, received.
    Received { receiver: i32 },
}

/// One kind of message queue: the calls each step of the story makes, and what the kernel
/// shows of the queue.
trait Queue: Sized {
    /// The narration's heading and opening paragraph.
    const TITLE: &'static str;
    const INTRO: &'static str;
    /// The three messages the child sends, each with its tag: a type (System V) or a
    /// priority (POSIX).
    const MESSAGES: [(i64, &'static str); 3];
    /// The closing summary.
    const SUMMARY: &'static str;

    /// Makes the queue.
    fn create() -> Result<Self>;
    /// The queue as an object event.
    fn object(&self) -> Object;
    /// Step 1: the call that made it and why it matters.
    fn created(&self) -> Step;
    /// In the child: sends [`Queue::MESSAGES`]; the child's exit code (0 when all went).
    fn send_all(&self) -> i32;
    /// Step 2: the child's calls.
    fn sent(&self, sender: i32) -> Step;
    /// Step 3: receives in the queue's order, each message a fact.
    fn receive(&mut self) -> Result<Step>;
    /// What the kernel shows of the queue at `when`, as facts.
    fn show(&self, s: &mut Step, when: Moment);
    /// Step 4: the creator's permissions refuse another process; None where the backend has
    /// nothing to show (a POSIX queue, when not root).
    fn refusal(&mut self, rt: &Runtime) -> Result<Option<Step>>;
    /// Step 5: removes the queue and proves it gone.
    fn remove(&mut self) -> Result<Step>;
    /// The `try` command that shows the queue while it exists.
    fn look(&self) -> String {
        super::look(&self.object())
    }
    /// The `try` command for the step that removed it.
    fn look_removed(&self) -> String {
        self.look()
    }
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    if lab.posix {
        story::<posix::Queue>(lab)
    } else {
        story::<sysv::Queue>(lab)
    }
}

fn story<Q: Queue>(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    n.begin(Q::TITLE, Q::INTRO)?;

    let mut q = Q::create()?;
    let object = q.object();
    n.object("created", &object)?;
    let me = rt.pid();
    let look = q.look();
    let mut s = q.created().pid("demo", me).try_it(look.clone());
    q.show(&mut s, Moment::Created);
    n.step(s)?;

    // A child sends, then exits: its messages stay, the queue belongs to the kernel.
    let mut sender = rt.spawn("message sender", || q.send_all())?;
    let spid = sender.raw();
    let st = rt.reap(&mut sender, T)?;
    let mut s = q.sent(spid).pid("sender", spid).try_it(look.clone());
    s.fact_mut(
        format!("waitpid({spid}, &status, WNOHANG)"),
        "status",
        describe(st),
        "the sender sent all three and is gone",
        st == WaitStatus::Exited(sender.pid, 0),
    );
    q.show(&mut s, Moment::Sent { sender: spid });
    n.step(s)?;

    let mut s = q.receive()?.pid("receiver", me).try_it(look.clone());
    q.show(&mut s, Moment::Received { receiver: rt.pid() });
    n.step(s)?;

    if let Some(s) = q.refusal(rt)? {
        n.step(s.pid("demo", me).try_it(look.clone()))?;
    }

    let after = q.look_removed();
    n.step(q.remove()?.pid("demo", me).try_it(after))?;
    n.object("removed", &object)?;
    Ok(Q::SUMMARY.to_string())
}

/// The bytes of message text the child sends.
fn text_bytes(messages: &[(i64, &str)]) -> usize {
    messages.iter().map(|(_, t)| t.len()).sum()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// In a child: give up root for `nobody` (groups, gid, then uid: after setuid there is no way
/// back, and no capability left to bypass permissions).
fn become_nobody() -> Result<(), Errno> {
    let r = nix::unistd::setgroups(&[]);
    trace::record("setgroups", "0, []", trace::ret(&r.map(|()| 0)));
    r?;
    let r = nix::unistd::setgid(nix::unistd::Gid::from_raw(NOBODY));
    trace::record("setgid", NOBODY.to_string(), trace::ret(&r.map(|()| 0)));
    r?;
    let r = nix::unistd::setuid(nix::unistd::Uid::from_raw(NOBODY));
    trace::record("setuid", NOBODY.to_string(), trace::ret(&r.map(|()| 0)));
    r
}

/// Runs `attempt` in a child, as `nobody` when `as_nobody` (the demo runs as root), and
/// returns the child's PID and the line `attempt` answered.
fn try_in_child(
    rt: &Runtime,
    as_nobody: bool,
    attempt: impl FnOnce() -> String,
) -> Result<(i32, String)> {
    let mut rep = Channel::new()?;
    let mut child = rt.spawn("unprivileged child", || {
        let w = rep.child_side();
        if as_nobody {
            if let Err(e) = become_nobody() {
                w.line(&format!("setuid {e:?}"));
                return 1;
            }
        }
        w.line(&attempt());
        0
    })?;
    rep.close_write();
    let cpid = child.raw();
    let line = rep.recv(rt, T)?.unwrap_or_default();
    rt.reap(&mut child, T)?;
    if line.starts_with("setuid") {
        bail!("the child could not switch to uid {NOBODY}: {line}");
    }
    Ok((cpid, line))
}
