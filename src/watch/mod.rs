//! `zombies watch`: the timeline of every zombie, as events: when a process became a zombie
//! (its exact death time, from the kernel's exit event), who it was handed to when its parent
//! died, and when it was reaped. report/watch.rs says the events in words and as JSON Lines.
//!
//! Two sources. With the proc connector (proc/connector.rs) exits arrive as they happen, each
//! with its CLOCK_MONOTONIC time; every exit is looked at again a moment later (`SETTLE`):
//! gone means its parent reaped it at once (the normal case, no event), a zombie means a
//! zombie event dated at the exit. Without it (CAP_NET_ADMIN needed before 6.6, or another
//! namespace), /proc is scanned every `interval` and times are that precise.
//!
//! Reaps are seen through a handle on each zombie (proc/handle.rs): poll(2) wakes at the reap
//! on 6.9+; before, only the zombies are re-checked, every `RECHECK`. With nothing to watch
//! the loop sleeps in poll(2) with no timeout: watching costs nothing while nothing happens.

use std::collections::{HashMap, HashSet};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::sys::stop::{StopSignals, poll_timeout};
use anyhow::Result;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags};

use crate::diagnose::ContainerFilter;
use crate::proc::cgroup::{self, Container};
use crate::proc::connector::{self, Connector, Received, Unavailable};
use crate::proc::handle::{Event as HandleEvent, Handle};
use crate::proc::pods::{self, Pods};
use crate::proc::stat::ExitStatus;
use crate::proc::users::Users;
use crate::proc::{Detail, Pid, ProcFs};

/// How long after an exit its process is looked at: a parent that reaps within this time
/// reaped "at once", and no event is made of it.
const SETTLE: Duration = Duration::from_millis(20);
/// How often zombies are re-checked for a reap where poll(2) cannot wait for it (before 6.9).
const RECHECK: Duration = Duration::from_millis(50);

/// What to watch.
#[derive(Clone, Debug)]
pub struct Config {
    /// Only the zombies of this parent (as first seen).
    pub parent: Option<Pid>,
    /// Only the zombies of this user.
    pub uid: Option<u32>,
    /// Report a zombie only once it has lived this long.
    pub min_age: Option<Duration>,
    /// Stop after this long.
    pub run_for: Option<Duration>,
    /// Also report processes that were reaped at once.
    pub all_exits: bool,
    /// The period of the scans when the connector cannot be used.
    pub interval: Duration,
    /// Use the connector when it can be (false: scan, as on a host without it).
    pub connector: bool,
    /// Keep the death times in check's state file (its path and section), so that
    /// `check --max-age` measures from them.
    pub state: Option<(std::path::PathBuf, crate::check::state::Key)>,
    /// Only the zombies whose parent runs in this container or pod.
    pub place: ContainerFilter,
    /// Where the kubelet keeps pod logs, to name pods (None: the default).
    pub pods_dir: Option<std::path::PathBuf>,
}

/// How often the pod directory is read again at most, when a pod it did not list appears.
const PODS_REREAD: Duration = Duration::from_secs(5);

/// How the watch learns of exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The kernel's exit events: exact times.
    Connector(connector::Mode),
    /// Scans of /proc every interval; why the connector is not used (None: not asked for).
    Scan {
        interval: Duration,
        why: Option<Unavailable>,
    },
}

/// A process as events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub pid: Pid,
    pub comm: Option<String>,
}

/// What happened, as it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The first event: how the watch works and how precise its times are.
    Start { time: f64, mode: Mode },
    /// A process became a zombie (or was found one, `existing`).
    Zombie {
        time: f64,
        zombie: Named,
        parent: Named,
        uid: Option<u32>,
        user: Option<String>,
        /// Where its parent runs (when it died), when its cgroup could be read.
        container: Option<Container>,
        /// How it ended, when known.
        status: Option<ExitStatus>,
        /// Already a zombie when the watch started: `time` is when it was found.
        existing: bool,
        /// With --min-age: how long it had been a zombie when reported.
        age: Option<Duration>,
    },
    /// A zombie's parent died and another process adopted it.
    Reparented {
        time: f64,
        pid: Pid,
        from: Named,
        to: Named,
    },
    /// A zombie was reaped, by `by` (its parent or adopter, when known), after `zombie_for`.
    Reaped {
        time: f64,
        pid: Pid,
        by: Option<Named>,
        zombie_for: Duration,
        /// The zombie was found at the start, so `zombie_for` is a lower bound.
        existing: bool,
    },
    /// --all-exits: a process that was reaped at once.
    Exited {
        time: f64,
        pid: Pid,
        status: ExitStatus,
    },
    /// Events were lost (the kernel's socket buffer overflowed); /proc was read again.
    Lost { time: f64 },
    /// The last event.
    Summary(Summary),
}

/// Per parent, over the whole watch.
#[derive(Clone, Debug, PartialEq)]
pub struct ParentStats {
    pub parent: Named,
    /// Zombies it made that were reported.
    pub zombies: usize,
    /// Of those, reaped while watched.
    pub reaped: usize,
}

/// Everything the watch saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub time: f64,
    pub watched: Duration,
    /// Zombies reported (existing ones included).
    pub seen: usize,
    pub reaped: usize,
    /// Still zombies at the end.
    pub remaining: usize,
    /// The zombie that waited longest for its reap: (zombie, reaper, how long).
    pub slowest: Option<(Pid, Option<Named>, Duration)>,
    /// Most zombies first.
    pub parents: Vec<ParentStats>,
}

/// Why the death times could not be kept in check's state file (--state).
#[derive(Debug)]
pub enum StateError {
    /// The path is not a state file of ours (or a link, a directory...): left alone.
    Refused(crate::check::state::Refusal),
    /// It could not be read or written.
    Trouble(crate::check::state::Trouble),
}

impl std::error::Error for StateError {}

/// One zombie being watched.
struct Tracked {
    comm: String,
    uid: Option<u32>,
    /// Where its parent ran when it died.
    container: Option<Container>,
    ppid: Pid,
    parent_comm: Option<String>,
    /// The parent it died under: the one the per-parent counts are about.
    origin: Pid,
    /// Its start time: with the PID, what names it in check's state file.
    start_ticks: u64,
    /// When it died (unix seconds), or when it was found.
    died: f64,
    existing: bool,
    status: Option<ExitStatus>,
    handle: Handle,
    /// Whether its zombie event was made (false while --min-age holds it back).
    reported: bool,
    /// Whether it passes --parent and --user.
    wanted: bool,
}

/// The clocks: kernel timestamps are CLOCK_MONOTONIC, events are dated in unix seconds.
fn monotonic_now() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Unix seconds of a CLOCK_MONOTONIC timestamp.
fn unix_of(monotonic_ns: u64) -> f64 {
    let ago = monotonic_now().as_nanos() as f64 - monotonic_ns as f64;
    unix_now() - ago.max(0.0) / 1e9
}

/// The watch: its sources, what it tracks, and the counts for the summary.
pub struct Watch<'a> {
    fs: &'a ProcFs,
    config: Config,
    users: Users,
    connector: Option<Connector>,
    mode: Mode,
    signals: StopSignals,
    tracked: HashMap<Pid, Tracked>,
    /// Exits to look at once `SETTLE` has passed: (tgid, when, its wait status).
    pending: Vec<(Pid, Duration, u32)>,
    /// Processes whose main thread exited while others run (`Zl`): their last thread's exit
    /// makes them zombies.
    exited_leaders: HashSet<Pid>,
    stats: HashMap<Pid, ParentStats>,
    slowest: Option<(Pid, Option<Named>, Duration)>,
    seen: usize,
    reaped: usize,
    started: Instant,
    next_scan: Instant,
    /// The pods the kubelet's log directory names, and when it was read.
    pods: Option<(Pods, Instant)>,
}

impl<'a> Watch<'a> {
    /// Sets the watch up: SIGINT and SIGTERM end it cleanly (they are received as data, not
    /// as interruptions), the connector is opened when it can be, and /proc is read once for
    /// the zombies already there.
    pub fn new(fs: &'a ProcFs, config: Config) -> Result<Watch<'a>> {
        let signals = StopSignals::new()
            .map_err(|e| anyhow::anyhow!("cannot receive SIGINT and SIGTERM: {}", e.desc()))?;
        let (connector, mode) = if config.connector {
            match Connector::open(crate::sys::process::exit_a_child) {
                Ok(c) => {
                    let m = Mode::Connector(c.mode);
                    (Some(c), m)
                }
                Err(why) => (
                    None,
                    Mode::Scan {
                        interval: config.interval,
                        why: Some(why),
                    },
                ),
            }
        } else {
            (
                None,
                Mode::Scan {
                    interval: config.interval,
                    why: None,
                },
            )
        };
        Ok(Watch {
            fs,
            config,
            users: Users::default(),
            connector,
            mode,
            signals,
            tracked: HashMap::new(),
            pending: Vec::new(),
            exited_leaders: HashSet::new(),
            stats: HashMap::new(),
            slowest: None,
            seen: 0,
            reaped: 0,
            started: Instant::now(),
            next_scan: Instant::now(),
            pods: None,
        })
    }

    /// Runs until SIGINT, SIGTERM or --for, handing each event to `emit` as it happens.
    pub fn run(&mut self, mut emit: impl FnMut(&Event) -> std::io::Result<()>) -> Result<()> {
        // The zombies already there are read before the start is said, so that a zombie made
        // after the start line (the connector is already listening) is never taken for an
        // existing one; their events follow the start line.
        let mut found = Vec::new();
        self.resync(true, &mut |e: &Event| {
            found.push(e.clone());
            Ok(())
        })?;
        emit(&Event::Start {
            time: unix_now(),
            mode: self.mode.clone(),
        })?;
        for e in &found {
            emit(e)?;
        }
        let end = self.config.run_for.map(|d| self.started + d);
        loop {
            let now = Instant::now();
            if end.is_some_and(|e| now >= e) {
                break;
            }
            let timeout = self.timeout(now, end);
            if self.wait(timeout)? {
                break;
            }
            self.receive(&mut emit)?;
            self.settle(&mut emit)?;
            if self.connector.is_none() && Instant::now() >= self.next_scan {
                self.resync(false, &mut emit)?;
            }
            self.check_reaps(&mut emit)?;
            self.report_aged(&mut emit)?;
        }
        emit(&Event::Summary(self.summary()))?;
        Ok(())
    }

    /// How long the next poll may sleep: until the earliest thing due, or for ever.
    fn timeout(&self, now: Instant, end: Option<Instant>) -> Option<Duration> {
        let mut due: Vec<Duration> = Vec::new();
        if let Some(e) = end {
            due.push(e.saturating_duration_since(now));
        }
        if self.connector.is_none() {
            due.push(self.next_scan.saturating_duration_since(now));
        }
        if let Some(&(_, at, _)) = self.pending.first() {
            due.push((at + SETTLE).saturating_sub(monotonic_now()));
        }
        if self.tracked.values().any(|t| t.handle_needs_recheck()) {
            due.push(RECHECK);
        }
        if let Some(min) = self.config.min_age {
            let now_unix = unix_now();
            for t in self.tracked.values().filter(|t| !t.reported && t.wanted) {
                let due_at = t.died + min.as_secs_f64();
                due.push(Duration::from_secs_f64((due_at - now_unix).max(0.0)));
            }
        }
        due.into_iter().min()
    }

    /// Sleeps in poll(2) until a source is ready or `timeout` passes; true when a stop signal
    /// arrived.
    fn wait(&mut self, timeout: Option<Duration>) -> Result<bool> {
        let mut fds: Vec<PollFd> = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if let Some(c) = &self.connector {
            fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
        }
        for t in self.tracked.values() {
            if let Some(fd) = t.handle.reap_pollable() {
                fds.push(PollFd::new(fd, PollFlags::empty()));
            }
        }
        match nix::poll::poll(&mut fds, poll_timeout(timeout)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(anyhow::anyhow!("poll failed: {}", e.desc())),
        }
        let stop = fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN));
        Ok(stop && self.signals.received())
    }

    /// Takes what the connector has: exits to look at after `SETTLE`, or a resync after a loss.
    fn receive(&mut self, emit: &mut impl FnMut(&Event) -> std::io::Result<()>) -> Result<()> {
        let Some(c) = self.connector.as_mut() else {
            return Ok(());
        };
        match c.receive() {
            Ok(Received::Exits(exits)) => {
                for e in exits {
                    let interesting = e.pid == e.tgid
                        || self.exited_leaders.contains(&e.tgid)
                        || self.tracked.values().any(|t| t.ppid == e.tgid);
                    if interesting {
                        self.pending
                            .push((e.tgid, Duration::from_nanos(e.monotonic_ns), e.status));
                    }
                }
            }
            Ok(Received::Overrun) => {
                emit(&Event::Lost { time: unix_now() })?;
                self.resync(false, emit)?;
            }
            Err(e) => return Err(anyhow::anyhow!("reading the proc connector: {}", e.desc())),
        }
        Ok(())
    }

    /// Looks at every exit whose `SETTLE` has passed.
    fn settle(&mut self, emit: &mut impl FnMut(&Event) -> std::io::Result<()>) -> Result<()> {
        let now = monotonic_now();
        let due = self
            .pending
            .iter()
            .take_while(|(_, at, _)| *at + SETTLE <= now)
            .count();
        let batch: Vec<(Pid, Duration, u32)> = self.pending.drain(..due).collect();
        for (tgid, at, status) in batch {
            // Its zombies were handed to an adopter in its exit: see who.
            self.note_adoptions(tgid, emit)?;
            if self.tracked.contains_key(&tgid) {
                continue;
            }
            let died = unix_of(at.as_nanos() as u64);
            // Gone already: reaped at once (or an exit of a process we cannot see).
            if nix::sys::signal::kill(nix::unistd::Pid::from_raw(tgid), None) == Err(Errno::ESRCH) {
                if self.config.all_exits {
                    emit(&Event::Exited {
                        time: died,
                        pid: tgid,
                        status: ExitStatus::from_wait_status(status as i32),
                    })?;
                }
                continue;
            }
            let Ok(st) = self.fs.stat(tgid) else { continue };
            if st.state != b'Z' {
                // Reused already by a new process, or still exiting: not a zombie now.
                continue;
            }
            if st.num_threads > 1 {
                self.exited_leaders.insert(tgid);
                continue;
            }
            self.exited_leaders.remove(&tgid);
            let status = Some(ExitStatus::from_wait_status(status as i32));
            self.track(tgid, st, died, false, status, emit)?;
        }
        Ok(())
    }

    /// Re-reads the parent of the zombies `dead` held: the kernel hands them to an adopter
    /// when their parent dies.
    fn note_adoptions(
        &mut self,
        dead: Pid,
        emit: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<()> {
        let orphans: Vec<Pid> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.ppid == dead)
            .map(|(&p, _)| p)
            .collect();
        for pid in orphans {
            let Ok(st) = self.fs.stat(pid) else { continue };
            let Some(t) = self.tracked.get_mut(&pid) else {
                continue;
            };
            if st.ppid == t.ppid || st.state != b'Z' {
                continue;
            }
            let from = Named {
                pid: t.ppid,
                comm: t.parent_comm.clone(),
            };
            t.ppid = st.ppid;
            t.parent_comm = comm_of(self.fs, st.ppid);
            if t.reported {
                emit(&Event::Reparented {
                    time: unix_now(),
                    pid,
                    from,
                    to: Named {
                        pid: t.ppid,
                        comm: t.parent_comm.clone(),
                    },
                })?;
            }
        }
        Ok(())
    }

    /// Starts tracking a zombie: a handle that names it for good, and its event (now, or once
    /// --min-age has passed).
    fn track(
        &mut self,
        pid: Pid,
        st: crate::proc::stat::Stat,
        died: f64,
        existing: bool,
        status: Option<ExitStatus>,
        emit: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<()> {
        let Ok((handle, st)) = Handle::open(self.fs, pid, st.starttime) else {
            return Ok(());
        };
        let uid = self.zombie_uid(pid);
        let container = self.container_of(st.ppid);
        let wanted = self.config.parent.is_none_or(|p| p == st.ppid)
            && self.config.uid.is_none_or(|u| uid == Some(u))
            && self.config.place.matches(container.as_ref());
        let status = status.or_else(|| st.exit_code.map(ExitStatus::from_wait_status));
        let t = Tracked {
            comm: String::from_utf8_lossy(&st.comm).into_owned(),
            uid,
            container,
            ppid: st.ppid,
            parent_comm: comm_of(self.fs, st.ppid),
            origin: st.ppid,
            start_ticks: st.starttime,
            died,
            existing,
            status,
            handle,
            reported: false,
            wanted,
        };
        self.tracked.insert(pid, t);
        self.save_state()?;
        if self.config.min_age.is_none() {
            self.report(pid, None, emit)?;
        }
        Ok(())
    }

    /// Where a parent runs: its cgroup's container, pod or unit (3 calls a zombie, and the pod
    /// directory when a pod appears that it did not list).
    fn container_of(&mut self, parent: Pid) -> Option<Container> {
        let text = self.fs.read(&format!("{parent}/cgroup")).ok()?;
        let mut c = cgroup::parse_lines(&String::from_utf8_lossy(&text)).container()?;
        let Some(uid) = c.pod_uid.clone() else {
            return Some(c);
        };
        let stale = self
            .pods
            .as_ref()
            .is_none_or(|(p, at)| !p.knows(&uid) && at.elapsed() >= PODS_REREAD);
        if stale {
            let dir = self
                .config
                .pods_dir
                .clone()
                .unwrap_or_else(|| pods::DEFAULT_DIR.into());
            self.pods = Some((Pods::read(&dir).unwrap_or_default(), Instant::now()));
        }
        if let Some((p, _)) = &self.pods {
            p.name(&mut c);
        }
        Some(c)
    }

    /// A zombie's owner: its status file's Uid (procfs gives a dead process's files to root).
    fn zombie_uid(&self, pid: Pid) -> Option<u32> {
        let status = self.fs.read(&format!("{pid}/status")).ok()?;
        let text = String::from_utf8_lossy(&status);
        text.lines()
            .find_map(|l| l.strip_prefix("Uid:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// Makes a tracked zombie's event, when it is wanted.
    fn report(
        &mut self,
        pid: Pid,
        age: Option<Duration>,
        emit: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<()> {
        let Some(t) = self.tracked.get_mut(&pid) else {
            return Ok(());
        };
        t.reported = true;
        if !t.wanted {
            return Ok(());
        }
        self.seen += 1;
        let parent = Named {
            pid: t.ppid,
            comm: t.parent_comm.clone(),
        };
        let origin = Named {
            pid: t.origin,
            comm: if t.origin == t.ppid {
                t.parent_comm.clone()
            } else {
                comm_of(self.fs, t.origin)
            },
        };
        let stats = self.stats.entry(t.origin).or_insert_with(|| ParentStats {
            parent: origin,
            zombies: 0,
            reaped: 0,
        });
        stats.zombies += 1;
        let user = t.uid.and_then(|u| self.users.name(u));
        emit(&Event::Zombie {
            time: t.died,
            zombie: Named {
                pid,
                comm: Some(t.comm.clone()),
            },
            parent,
            uid: t.uid,
            user,
            container: t.container.clone(),
            status: t.status,
            existing: t.existing,
            age,
        })?;
        Ok(())
    }

    /// --min-age: reports the zombies that have lived that long now.
    fn report_aged(&mut self, emit: &mut impl FnMut(&Event) -> std::io::Result<()>) -> Result<()> {
        let Some(min) = self.config.min_age else {
            return Ok(());
        };
        let now = unix_now();
        let due: Vec<(Pid, f64)> = self
            .tracked
            .iter()
            .filter(|(_, t)| !t.reported && now - t.died >= min.as_secs_f64())
            .map(|(&p, t)| (p, t.died))
            .collect();
        for (pid, died) in due {
            self.report(pid, Some(Duration::from_secs_f64(now - died)), emit)?;
        }
        Ok(())
    }

    /// Sees which tracked zombies were reaped, and by whom.
    fn check_reaps(&mut self, emit: &mut impl FnMut(&Event) -> std::io::Result<()>) -> Result<()> {
        let gone: Vec<Pid> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.handle.happened(self.fs, HandleEvent::Reaped))
            .map(|(&p, _)| p)
            .collect();
        let now = unix_now();
        for pid in gone {
            let Some(t) = self.tracked.remove(&pid) else {
                continue;
            };
            self.save_state()?;
            if !t.reported || !t.wanted {
                continue;
            }
            // The reaper is the parent it had; if that parent died meanwhile, an adopter we
            // did not see reaped it.
            let by = (nix::sys::signal::kill(nix::unistd::Pid::from_raw(t.ppid), None).is_ok())
                .then(|| Named {
                    pid: t.ppid,
                    comm: t.parent_comm.clone(),
                });
            let zombie_for = Duration::from_secs_f64((now - t.died).max(0.0));
            self.reaped += 1;
            if let Some(s) = self.stats.get_mut(&t.origin) {
                s.reaped += 1;
            }
            if !t.existing
                && self
                    .slowest
                    .as_ref()
                    .is_none_or(|(_, _, d)| zombie_for > *d)
            {
                self.slowest = Some((pid, by.clone(), zombie_for));
            }
            emit(&Event::Reaped {
                time: now,
                pid,
                by,
                zombie_for,
                existing: t.existing,
            })?;
        }
        Ok(())
    }

    /// Reads /proc for the zombies there are: at the start (they are `existing`), after lost
    /// events, and every interval without the connector.
    fn resync(
        &mut self,
        first: bool,
        emit: &mut impl FnMut(&Event) -> std::io::Result<()>,
    ) -> Result<()> {
        self.next_scan = Instant::now() + self.config.interval;
        let snap = self.fs.scan_with(Detail::Decide)?;
        let now = unix_now();
        for p in &snap.processes {
            if p.is_exited_leader() {
                self.exited_leaders.insert(p.pid);
            }
        }
        let zombies: Vec<Pid> = snap.zombies().map(|z| z.pid).collect();
        for pid in zombies {
            if let Some(t) = self.tracked.get(&pid) {
                // Adopted since the last look (scan mode sees reparenting only here).
                if snap.get(pid).is_some_and(|z| z.ppid != t.ppid) {
                    let old = t.ppid;
                    self.note_adoptions(old, emit)?;
                }
                continue;
            }
            let Ok(st) = self.fs.stat(pid) else { continue };
            self.track(pid, st, now, first, None, emit)?;
        }
        Ok(())
    }

    /// With --state: writes every tracked zombie's death time into check's state file, under
    /// its lock, before the event about it is said (so that whoever reads the event can read
    /// the file). Trouble with the file ends the watch: it was asked for.
    fn save_state(&self) -> Result<()> {
        let Some((path, key)) = &self.config.state else {
            return Ok(());
        };
        let (mut state, _) = crate::check::state::State::load(path, false, key.clone())
            .map_err(StateError::Refused)?;
        state.record_deaths(
            self.tracked
                .iter()
                .map(|(&pid, t)| ((pid, t.start_ticks), t.died.floor() as u64)),
        );
        state.save().map_err(StateError::Trouble)?;
        Ok(())
    }

    fn summary(&self) -> Summary {
        let mut parents: Vec<ParentStats> = self.stats.values().cloned().collect();
        parents.sort_by(|a, b| {
            b.zombies
                .cmp(&a.zombies)
                .then(a.parent.pid.cmp(&b.parent.pid))
        });
        Summary {
            time: unix_now(),
            watched: self.started.elapsed(),
            seen: self.seen,
            reaped: self.reaped,
            remaining: self
                .tracked
                .values()
                .filter(|t| t.reported && t.wanted)
                .count(),
            slowest: self.slowest.clone(),
            parents,
        }
    }
}

impl Tracked {
    /// Whether its reap must be asked for on a timer (no POLLHUP on this kernel).
    fn handle_needs_recheck(&self) -> bool {
        self.handle.reap_pollable().is_none()
    }
}

/// The command name of `pid`, when it can be read.
fn comm_of(fs: &ProcFs, pid: Pid) -> Option<String> {
    fs.stat(pid)
        .ok()
        .map(|s| String::from_utf8_lossy(&s.comm).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A storm of exits against a socket buffer shrunk to nothing: the kernel drops events
    /// (ENOBUFS), and the watch says so and reads /proc again instead of going blind.
    #[test]
    #[ignore = "needs the proc connector: root, or anyone on Linux 6.6+"]
    fn lost_events_are_said_and_resynced() {
        let fs = ProcFs::open(std::path::Path::new("/proc")).unwrap();
        let config = Config {
            parent: None,
            uid: None,
            min_age: None,
            run_for: None,
            all_exits: false,
            interval: Duration::from_secs(1),
            connector: true,
            state: None,
            place: ContainerFilter::default(),
            pods_dir: None,
        };
        let mut w = Watch::new(&fs, config).unwrap();
        let c = w
            .connector
            .as_ref()
            .unwrap_or_else(|| panic!("no proc connector here: {:?}", w.mode));
        c.set_receive_buffer(0).unwrap();
        for _ in 0..400 {
            crate::sys::process::exit_a_child();
        }
        let mut events = Vec::new();
        w.receive(&mut |e: &Event| {
            events.push(e.clone());
            Ok(())
        })
        .unwrap();
        assert!(
            events.iter().any(|e| matches!(e, Event::Lost { .. })),
            "{events:?}"
        );
    }
}
