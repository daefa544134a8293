//! The names and one-line summaries of every demo, lifecycle (`zombies demo NAME`) and IPC
//! (`zombies ipc demo NAME`): what --help, the man pages, the completions and the list of
//! demos show. Only data, and a leaf: it imports nothing of the crate, so the command line's
//! definition can use it without importing any demo. The demos' code is registered against
//! these entries in `crate::demo` and `crate::ipc`; a unit test in `crate::teach` checks that
//! both lists match.

/// A demo as the command line knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line on what it shows.
    pub summary: &'static str,
    /// Whether it has a POSIX variant, chosen with `--posix`.
    pub posix: bool,
    /// Whether it takes `--path`.
    pub path: bool,
}

const fn entry(name: &'static str, summary: &'static str) -> Entry {
    Entry {
        name,
        summary,
        posix: false,
        path: false,
    }
}

/// The name that runs every lifecycle demo, in order.
pub const ALL: &str = "all";

/// What [`ALL`] does, for --help.
pub const ALL_SUMMARY: &str = "every demo above, in this order";

/// `zombies demo NAME`: how processes are born, scheduled and die.
pub mod lifecycle {
    use super::{Entry, entry};

    pub const FORK: Entry = entry(
        "fork",
        "fork() returns twice; the child is a copy-on-write copy of its parent",
    );
    pub const VFORK: Entry = entry(
        "vfork",
        "vfork(): the parent is suspended until its child execs or exits",
    );
    pub const CLONE: Entry = entry(
        "clone",
        "clone() flags: threads share the PID, forks do not; glibc's real calls; the kernel path",
    );
    pub const EXEC: Entry = entry(
        "exec",
        "execve() swaps the program: the PID stays, exe, comm and cmdline change",
    );
    pub const SCHED: Entry = entry(
        "sched",
        "two busy processes on one CPU at nice 0 and 10: weights, vruntime, the share each gets",
    );
    pub const EXIT: Entry = entry(
        "exit",
        "exit() and do_exit: PF_EXITING, memory freed, stdio flushed, status and rusage kept",
    );
    pub const ZOMBIE: Entry = entry(
        "zombie",
        "a real zombie: how `zombies list` sees it, why kill fails, how it is reaped",
    );
    pub const AUTOREAP: Entry = entry(
        "autoreap",
        "SIGCHLD ignored or SA_NOCLDWAIT: no zombie at all, and wait() fails with ECHILD",
    );
    pub const ORPHAN: Entry = entry(
        "orphan",
        "the parent dies first: a thread, a subreaper or PID 1 adopts the child, and must reap",
    );

    /// Every lifecycle demo, in the order `zombies demo all` runs them: birth, life, death.
    pub const DEMOS: &[Entry] = &[
        FORK, VFORK, CLONE, EXEC, SCHED, EXIT, ZOMBIE, AUTOREAP, ORPHAN,
    ];
}

/// `zombies ipc demo NAME`: how processes talk.
pub mod ipc {
    use super::{Entry, entry};

    pub const SIGNAL: Entry = entry(
        "signal",
        "catch, ignore and block signals (SigCgt, SigIgn, SigBlk, ShdPnd); SIGKILL and SIGSTOP cannot be; SIGCONT through a block; a fault's SIGSEGV; a PID 1",
    );
    pub const PIPE: Entry = entry(
        "pipe",
        "pipe(2): one inode in two /proc/PID/fd, EOF, capacity, a writer blocked in pipe_write, PIPE_BUF, SIGPIPE and EPIPE, cat | wc -l",
    );
    pub const FIFO: Entry = Entry {
        path: true,
        ..entry(
            "fifo",
            "a named pipe: mkfifo, file type p, open blocks until the other end opens, O_NONBLOCK and ENXIO [--path PATH]",
        )
    };
    pub const MQUEUE: Entry = Entry {
        posix: true,
        ..entry(
            "mqueue",
            "System V message queue: typed messages, qnum and cbytes in /proc/sysvipc/msg, creator-set permissions [--posix]",
        )
    };
    pub const SEM: Entry = Entry {
        posix: true,
        ..entry(
            "sem",
            "System V semaphore: lost updates without it, none with it, SEM_UNDO on death [--posix]",
        )
    };
    pub const SHM: Entry = Entry {
        posix: true,
        ..entry(
            "shm",
            "System V shared memory: one page seen by two processes, nattch 1-2-1, IPC_RMID [--posix]",
        )
    };

    /// Every IPC demo, in the order the notes list the mechanisms.
    pub const DEMOS: &[Entry] = &[SIGNAL, PIPE, FIFO, MQUEUE, SEM, SHM];
}
