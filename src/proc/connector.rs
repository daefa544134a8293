//! The kernel's process events connector (netlink, CN_IDX_PROC): an exit event the moment any
//! task exits, with its PID, thread group, exit status and a CLOCK_MONOTONIC timestamp. It
//! tells exits, not zombies: the exited task may be reaped at once, so watch checks what
//! became of each exit in /proc.
//!
//! What each kernel does (measured on 6.18 and on Debian 12's 6.1 in the CI VM):
//! - Binding to the multicast group needs CAP_NET_ADMIN before Linux 6.6 (EPERM); from 6.6 on
//!   any user may listen.
//! - 6.6 added a per-socket event filter: subscribing with `{LISTEN, PROC_EVENT_EXIT}` (8
//!   bytes) delivers exits only. Older kernels ignore an 8-byte subscription without a word,
//!   so the filter is tried first and proven by an exit of our own; if none arrives, the
//!   classic 4-byte subscription follows, proven by the kernel's acknowledgement.
//! - Outside the initial user and PID namespace a subscription is ignored, also without a
//!   word: no acknowledgement, no events.
//! - The socket buffer can overflow under a storm of exits: recv then fails with ENOBUFS and
//!   events were lost; the caller re-reads /proc.
//!
//! Everything here is safe Rust over rustix; the messages are parsed as bytes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};

/// The connector's multicast group and its id (linux/connector.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// linux/cn_proc.h
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// nlmsghdr (16 bytes) + cn_msg (20 bytes) come before the proc_event.
const HEADERS: usize = 16 + 20;
/// NLMSG_DONE: the type every connector message carries.
const NLMSG_DONE: u16 = 3;

/// One task that exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The task (thread) that exited.
    pub pid: i32,
    /// Its thread group: the process.
    pub tgid: i32,
    /// The wait status it left: `code << 8`, or the signal that killed it (plus 0x80 for a
    /// core dump).
    pub status: u32,
    /// When, in CLOCK_MONOTONIC nanoseconds.
    pub monotonic_ns: u64,
}

/// How the subscription is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only exit events reach us (Linux 6.6+).
    ExitsOnly,
    /// Every event (fork, exec, ...) reaches us; the others are dropped here.
    AllEvents,
}

/// Why the connector cannot be used here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The kernel has no proc connector (CONFIG_PROC_EVENTS off) or no netlink connector.
    NotInKernel(Errno),
    /// Listening needs CAP_NET_ADMIN on this kernel (before 6.6).
    NeedsCapNetAdmin,
    /// The subscription was ignored: not in the initial user and PID namespace.
    Ignored,
    /// Anything else: the error of the call that failed.
    Failed(&'static str, Errno),
}

/// What one read of the socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Exit events (possibly none, when the message was another kind).
    Exits(Vec<Exit>),
    /// The socket buffer overflowed: events were lost.
    Overrun,
}

/// A subscribed proc connector socket.
#[derive(Debug)]
pub struct Connector {
    fd: OwnedFd,
    pub mode: Mode,
    buf: Vec<u8>,
}

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::from_raw(e.raw_os_error())
}

impl Connector {
    /// Opens and subscribes, proving that events arrive: `probe_exit` must make a task of
    /// ours exit (it is called once, or twice when the filter is not understood) and return
    /// its PID.
    pub fn open(mut probe_exit: impl FnMut() -> Option<i32>) -> Result<Connector, Unavailable> {
        // Outside the initial namespaces the kernel ignores us without a word: say so at once
        // rather than wait for events that will not come. Their inode numbers are fixed
        // (include/linux/proc_ns.h).
        if !in_initial_namespaces() {
            return Err(Unavailable::Ignored);
        }
        let fd = rustix::net::socket(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            Some(netlink::CONNECTOR),
        )
        .map_err(|e| match errno(e) {
            e @ (Errno::EPROTONOSUPPORT | Errno::EAFNOSUPPORT) => Unavailable::NotInKernel(e),
            e => Unavailable::Failed("socket", e),
        })?;
        let me = netlink::SocketAddrNetlink::new(0, CN_IDX_PROC);
        rustix::net::bind(&fd, &me).map_err(|e| match errno(e) {
            Errno::EPERM => Unavailable::NeedsCapNetAdmin,
            e => Unavailable::Failed("bind", e),
        })?;
        let mut c = Connector {
            fd,
            mode: Mode::ExitsOnly,
            buf: vec![0u8; 64 * 1024],
        };
        // The filter (6.6+): proven by our own exit, since acknowledgements are filtered out.
        c.subscribe(&[PROC_CN_MCAST_LISTEN, PROC_EVENT_EXIT])?;
        if let Some(pid) = probe_exit() {
            if c.wait_for(|m| m.exit.is_some_and(|e| e.tgid == pid)) {
                return Ok(c);
            }
        }
        // The classic subscription: every event, proven by the kernel's acknowledgement.
        c.mode = Mode::AllEvents;
        c.subscribe(&[PROC_CN_MCAST_LISTEN])?;
        let mut refused = None;
        let acked = c.wait_for(|m| {
            if m.what == PROC_EVENT_NONE {
                refused = (m.ack_err != 0).then_some(m.ack_err);
                true
            } else {
                false
            }
        });
        match (acked, refused) {
            (true, None) => Ok(c),
            (true, Some(_)) => Err(Unavailable::NeedsCapNetAdmin),
            (false, _) => Err(Unavailable::Ignored),
        }
    }

    fn subscribe(&self, words: &[u32]) -> Result<(), Unavailable> {
        let payload: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let total = HEADERS + payload.len();
        let mut msg = Vec::with_capacity(total);
        msg.extend((total as u32).to_ne_bytes()); // nlmsg_len
        msg.extend(NLMSG_DONE.to_ne_bytes()); // nlmsg_type
        msg.extend(0u16.to_ne_bytes()); // nlmsg_flags
        msg.extend(0u32.to_ne_bytes()); // nlmsg_seq
        msg.extend(std::process::id().to_ne_bytes()); // nlmsg_pid
        msg.extend(CN_IDX_PROC.to_ne_bytes()); // cn_msg.id.idx
        msg.extend(CN_VAL_PROC.to_ne_bytes()); // cn_msg.id.val
        msg.extend(0u32.to_ne_bytes()); // seq
        msg.extend(0u32.to_ne_bytes()); // ack
        msg.extend((payload.len() as u16).to_ne_bytes()); // len
        msg.extend(0u16.to_ne_bytes()); // flags
        msg.extend(payload);
        let kernel = netlink::SocketAddrNetlink::new(0, 0);
        rustix::net::sendto(&self.fd, &msg, SendFlags::empty(), &kernel)
            .map(|_| ())
            .map_err(|e| Unavailable::Failed("sendto", errno(e)))
    }

    /// Reads messages for up to a second until one satisfies `want`.
    fn wait_for(&mut self, mut want: impl FnMut(&Message) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis().min(1000) as i32)
                .unwrap_or(PollTimeout::ZERO);
            match nix::poll::poll(&mut fds, ms) {
                Ok(0) | Err(Errno::EINTR) => continue,
                Ok(_) => {}
                Err(_) => return false,
            }
            let Ok((n, _)) = rustix::net::recv(&self.fd, &mut self.buf, RecvFlags::DONTWAIT) else {
                continue;
            };
            if parse(&self.buf[..n]).iter().any(&mut want) {
                return true;
            }
        }
    }

    /// Reads what is there without waiting: the exits, or that events were lost.
    pub fn receive(&mut self) -> Result<Received, Errno> {
        let mut exits = Vec::new();
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) => {
                    exits.extend(parse(&self.buf[..n]).into_iter().filter_map(|m| m.exit))
                }
                Err(e) if errno(e) == Errno::EAGAIN => return Ok(Received::Exits(exits)),
                Err(e) if errno(e) == Errno::EINTR => continue,
                Err(e) if errno(e) == Errno::ENOBUFS => return Ok(Received::Overrun),
                Err(e) => return Err(errno(e)),
            }
        }
    }

    /// Shrinks the socket's receive buffer (tests force an overrun with it).
    #[cfg(test)]
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<(), Errno> {
        rustix::net::sockopt::set_socket_recv_buffer_size(&self.fd, bytes).map_err(errno)
    }
}

/// Whether we live in the initial PID and user namespaces (the only ones the connector serves).
/// Unknown (no /proc) counts as yes: the subscription's own proof then decides.
fn in_initial_namespaces() -> bool {
    const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;
    let inode = |ns: &str| {
        std::fs::read_link(format!("/proc/self/ns/{ns}"))
            .ok()
            .and_then(|t| {
                t.to_str()?
                    .split_once(":[")?
                    .1
                    .strip_suffix(']')?
                    .parse::<u64>()
                    .ok()
            })
    };
    inode("pid").is_none_or(|i| i == super::scan::PROC_PID_INIT_INO)
        && inode("user").is_none_or(|i| i == PROC_USER_INIT_INO)
}

impl AsFd for Connector {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One connector message, as far as we read it.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    what: u32,
    /// For PROC_EVENT_NONE: the acknowledgement's error (0 when subscribed).
    ack_err: u32,
    exit: Option<Exit>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The messages of one datagram: netlink messages back to back, each aligned to 4 bytes.
fn parse(datagram: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(len) = u32_at(datagram, at).map(|l| l as usize) {
        if len < HEADERS || at + len > datagram.len() {
            break;
        }
        let m = &datagram[at..at + len];
        // proc_event: what, cpu, timestamp_ns (8-aligned), then the event's own data.
        let ev = &m[HEADERS..];
        if let Some(what) = u32_at(ev, 0) {
            let word = |i: usize| u32_at(ev, 16 + 4 * i);
            let exit = (what == PROC_EVENT_EXIT)
                .then(|| {
                    Some(Exit {
                        pid: word(0)? as i32,
                        tgid: word(1)? as i32,
                        status: word(2)?,
                        monotonic_ns: u64::from_ne_bytes(ev.get(8..16)?.try_into().ok()?),
                    })
                })
                .flatten();
            out.push(Message {
                what,
                ack_err: if what == PROC_EVENT_NONE {
                    word(0).unwrap_or(0)
                } else {
                    0
                },
                exit,
            });
        }
        at += len.div_ceil(4) * 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram as the kernel sends it: headers, then a proc_event.
    fn datagram(what: u32, ts: u64, words: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend(what.to_ne_bytes());
        ev.extend(0u32.to_ne_bytes()); // cpu
        ev.extend(ts.to_ne_bytes());
        for w in words {
            ev.extend(w.to_ne_bytes());
        }
        let total = HEADERS + ev.len();
        let mut d = Vec::new();
        d.extend((total as u32).to_ne_bytes());
        d.extend(NLMSG_DONE.to_ne_bytes());
        d.extend([0u8; 2 + 4 + 4]);
        d.extend(CN_IDX_PROC.to_ne_bytes());
        d.extend(CN_VAL_PROC.to_ne_bytes());
        d.extend([0u8; 8]);
        d.extend((ev.len() as u16).to_ne_bytes());
        d.extend([0u8; 2]);
        d.extend(ev);
        d
    }

    #[test]
    fn exit_events_and_acknowledgements_are_read() {
        let d = datagram(PROC_EVENT_EXIT, 77, &[12, 10, 3 << 8, 0, 1, 1]);
        let m = parse(&d);
        assert_eq!(
            m[0].exit,
            Some(Exit {
                pid: 12,
                tgid: 10,
                status: 3 << 8,
                monotonic_ns: 77
            })
        );
        let ack = parse(&datagram(PROC_EVENT_NONE, 0, &[1]));
        assert_eq!((ack[0].what, ack[0].ack_err), (PROC_EVENT_NONE, 1));
        // A fork event is no exit.
        assert_eq!(parse(&datagram(1, 0, &[1, 2, 3, 4])).len(), 1);
        assert!(parse(&datagram(1, 0, &[1, 2, 3, 4]))[0].exit.is_none());
    }

    #[test]
    fn truncated_or_garbled_datagrams_give_nothing() {
        let d = datagram(PROC_EVENT_EXIT, 77, &[12, 10, 0, 0, 1, 1]);
        for cut in 0..d.len() {
            // No panic, and never an exit read from a cut message.
            let m = parse(&d[..cut]);
            assert!(m.iter().all(|m| m.exit.is_none()), "cut at {cut}");
        }
        assert!(parse(&[0xff; 64]).is_empty());
    }
}
