//! `demo clone`: the flags decide what is shared. A thread (CLONE_VM|CLONE_THREAD|...) is a
//! task inside the same process: same PID, listed under /proc/PID/task; a fork is a new
//! process. Then the kernel side: every creation path reaches kernel_clone() (do_fork()
//! before Linux 5.10) and copy_process(), and kernel threads hang under kthreadd (PID 2).
//!
//! The raw clone() with thread flags is what this demo teaches, and no safe wrapper can make
//! it: the new thread shares our memory and runs on a stack we hand it, making raw system
//! calls only. Those `unsafe` blocks stay here, in the open.
#![allow(unsafe_code)]

use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::proc::stat::PF_KTHREAD;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{Gate, channel};
use crate::teach::{syscalls, trace};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::CLONE,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "clone(): a thread shares its process's PID, a fork gets its own; the kernel path";

/// What it shows, before the steps.
const INTRO: &str = "The notes: user space calls fork() or vfork(), the kernel's own threads      come from kernel_thread(), and all of them meet in do_fork() and copy_process(). Here the      demo makes a thread and a process with clone's flags, watches which system call the C      library's fork(), vfork(), posix_spawn() and pthread_create() really make, and reads the      kernel's names for the path from /proc/kallsyms.";

const T: Duration = Duration::from_secs(5);

/// The flags of this demo's thread: what pthread_create uses, minus the TLS and TID
/// bookkeeping (CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID) a C library needs.
const THREAD_FLAGS: libc::c_int = libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM;

/// What the raw thread needs: where to report, what to wait on.
struct ThreadArgs {
    report_fd: i32,
    gate_fd: i32,
}

/// The thread's whole life: report its IDs, block until the gate opens, return (glibc's
/// clone wrapper then calls the exit system call, ending this thread only). It makes raw
/// system calls and touches no thread-local state: it shares its process's TLS pointer.
extern "C" fn thread_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg points to a ThreadArgs leaked by the process that created the thread.
    let a = unsafe { &*(arg as *const ThreadArgs) };
    // SAFETY: plain system calls on integers and a stack buffer.
    unsafe {
        let pid = libc::syscall(libc::SYS_getpid);
        let tid = libc::syscall(libc::SYS_gettid);
        let mut msg = [0u8; 64];
        let text = format_ids(&mut msg, pid, tid);
        libc::syscall(libc::SYS_write, a.report_fd, text.as_ptr(), text.len());
        let mut b = 0u8;
        libc::syscall(libc::SYS_read, a.gate_fd, &mut b as *mut u8, 1usize);
    }
    0
}

/// Writes `{"thread_getpid":P,"thread_gettid":T}\n` into `buf` without allocating.
fn format_ids(buf: &mut [u8; 64], pid: i64, tid: i64) -> &[u8] {
    use std::io::Write;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = writeln!(cur, "{{\"thread_getpid\":{pid},\"thread_gettid\":{tid}}}");
    let n = cur.position() as usize;
    &buf[..n]
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let (tx, mut rx) = channel()?;
    let mut thread_gate = Gate::new()?;
    let mut leader_gate = Gate::new()?;
    // The thread is made inside a child process, so this demo itself stays single-threaded
    // (its later forks stay safe).
    let mut proc_ = lab.spawn("child", || {
        thread_gate.child_side();
        leader_gate.child_side();
        let _ = nix::sys::prctl::set_name(c"clone-demo");
        let args = Box::leak(Box::new(ThreadArgs {
            report_fd: tx.as_fd().map_or(-1, |fd| fd.as_raw_fd()),
            gate_fd: thread_gate.reader().map_or(-1, |fd| fd.as_raw_fd()),
        }));
        let stack = Box::leak(vec![0u8; 256 * 1024].into_boxed_slice());
        let top_addr: usize;
        // SAFETY: the stack is leaked (lives as long as the process); the thread function
        // only makes raw system calls.
        let tid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len());
            let top = top.sub(top as usize % 16);
            top_addr = top as usize;
            libc::clone(
                thread_main,
                top.cast(),
                THREAD_FLAGS,
                (args as *mut ThreadArgs).cast(),
            )
        };
        trace::record(
            "clone",
            format!(
                "child_stack={top_addr:#x}, flags={}",
                syscalls::clone_flags(THREAD_FLAGS as u64)
            ),
            tid.to_string(),
        );
        tx.send(&json!({ "clone_returned": tid, "getpid": std::process::id() }));
        leader_gate.wait();
        0
    })?;
    drop(tx);
    let pid = proc_.raw();
    let mut m1 = rx.json(lab.rt, T)?;
    let mut m2 = rx.json(lab.rt, T)?;
    if m1.get("clone_returned").is_none() {
        std::mem::swap(&mut m1, &mut m2);
    }
    let tid = m1["clone_returned"].as_i64().unwrap_or(-1) as i32;
    if tid <= 0 {
        anyhow::bail!("clone() of a thread failed in process {pid} (returned {tid})");
    }
    let t_getpid = m2["thread_getpid"].as_i64().unwrap_or(-1);
    let t_gettid = m2["thread_gettid"].as_i64().unwrap_or(-1);
    let tasks = list_tasks(pid);
    let threads = probe::status_field(&lab.procfs, pid, "Threads");
    let tstatus =
        std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    let t_tgid = probe::field(&tstatus, "Tgid").unwrap_or_default();
    let t_ppid = probe::field(&tstatus, "PPid").unwrap_or_default();
    let listed = proc_listing_has(tid);
    lab.step(
        Step::new("A thread made with clone() flags is a task inside the same process")
            .syscall(format!("in process {pid}: clone(fn, stack, CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM = {THREAD_FLAGS:#x}, arg)"))
            .result(format!("{tid}: the new task's ID (TID)"))
            .explain("This is the demo's own raw clone() (glibc's clone() wrapper, not pthread_create), on a 256 KiB stack it allocated for the thread. CLONE_THREAD requires CLONE_SIGHAND, which requires CLONE_VM: a thread shares memory, signal handlers and its PID. pthread_create() adds CLONE_SETTLS and the TID bookkeeping flags (step 3 shows the call it really makes).")
            .evidence(
                Evidence::new("getpid() in the thread", "pid", t_getpid, format!("the PID of process {pid}: threads share the PID"))
                    .check(t_getpid == i64::from(pid)),
            )
            .evidence(
                Evidence::new("gettid() in the thread", "tid", t_gettid, "its own task ID, what clone() returned")
                    .check(t_gettid == i64::from(tid)),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/task"), "entries", tasks.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "), "one directory per task: the leader and the thread")
                    .check(tasks.contains(&pid) && tasks.contains(&tid) && tasks.len() == 2),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "Threads", &threads, "two tasks in one thread group")
                    .check(threads == "2"),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/task/{tid}/status"), "Tgid", &t_tgid, "the thread group (= process) it belongs to")
                    .check(t_tgid == pid.to_string()),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/task/{tid}/status"), "PPid", &t_ppid, "CLONE_THREAD: the thread shares its leader's parent")
                    .check(t_ppid == lab.pid().to_string()),
            )
            .evidence(
                Evidence::new("/proc", format!("lists {tid}"), if listed { "yes" } else { "no" }, "only thread-group leaders are listed (/proc/TID still opens)")
                    .check(!listed),
            )
            .pid("process", pid)
            .pid("thread", tid)
            .try_it(format!("ls /proc/{pid}/task; grep -E 'Tgid|Pid|Threads' /proc/{pid}/task/{tid}/status")),
    )?;

    // The thread returns: glibc's clone() wrapper then makes the exit system call.
    thread_gate.send()?;
    let gone = lab.wait_until(T, "the thread's exit", |_| {
        Ok((!list_tasks(pid).contains(&tid)).then_some(()))
    });
    gone?;
    trace::record_for(tid, "exit", "0", "?");
    let tasks_after = list_tasks(pid);
    let threads_after = probe::status_field(&lab.procfs, pid, "Threads");
    let state_after = probe::state(pid);
    lab.step(
        Step::new("The thread ends with exit(2): one task goes, the process lives on")
            .syscall(format!("in thread {tid}: return from fn, then glibc's clone() wrapper calls exit(0)"))
            .result("the exit system call does not return")
            .explain("The exit system call (sys_exit) ends the calling thread only; exit_group (sys_exit_group) ends every thread of the process. exit(3) and _exit(2) of the C library both make exit_group; only a thread's own end (returning from its function, pthread_exit) makes exit. A thread needs no wait(): it is reaped as it exits (its exit signal is none), so it never stays a zombie.")
            .evidence(
                Evidence::new(format!("/proc/{pid}/task"), "entries", tasks_after.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "), "the thread's task is gone")
                    .check(tasks_after == vec![pid]),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "Threads", &threads_after, "one task left")
                    .check(threads_after == "1"),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/stat"), "state (3)", state_after.map(String::from).unwrap_or_else(|| "gone".into()), "the process itself is alive: only a thread exited")
                    .check(matches!(state_after, Some('S' | 'R'))),
            )
            .pid("process", pid)
            .pid("thread", tid)
            .try_it(format!("grep Threads /proc/{pid}/status")),
    )?;
    leader_gate.open(1)?;
    lab.reap(&mut proc_, T)?;

    lab.step(libc_calls(lab)?.pid("demo", lab.pid()))?;

    let mut fork_gate = Gate::new()?;
    let mut forked = lab.spawn("child", || {
        fork_gate.child_side();
        fork_gate.wait();
        0
    })?;
    let f = forked.raw();
    let ftasks = list_tasks(f);
    let fst = probe::status(&lab.procfs, f)?;
    let f_tgid = probe::field(&fst, "Tgid").unwrap_or_default();
    lab.step(
        Step::new("A fork (clone with no sharing flags) is a new process")
            .syscall(format!("fork(), that is clone({})", lab.fork_call().unwrap_or_else(|| "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD".into())))
            .result(format!("{f}"))
            .explain("Without CLONE_VM, CLONE_FILES, CLONE_SIGHAND or CLONE_THREAD the kernel copies each part instead of sharing it, and the child gets a thread group, and so a PID, of its own; SIGCHLD in the flags is the signal its parent gets when it dies. CLONE_CHILD_SETTID and CLONE_CHILD_CLEARTID are glibc's bookkeeping of the child's thread ID.")
            .evidence(
                Evidence::new(format!("/proc/{f}/status"), "Tgid", &f_tgid, "its own thread group: a new PID")
                    .check(f_tgid == f.to_string() && f != lab.pid()),
            )
            .evidence(
                Evidence::new(format!("/proc/{f}/task"), "entries", ftasks.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "), "just itself")
                    .check(ftasks == vec![f]),
            )
            .evidence(
                Evidence::new(format!("/proc/{}/task", lab.pid()), format!("has {f}"), if list_tasks(lab.pid()).contains(&f) { "yes" } else { "no" }, "not a task of this demo: a separate process")
                    .check(!list_tasks(lab.pid()).contains(&f)),
            )
            .pid("child", f)
            .try_it(format!("grep -E 'Tgid|PPid|Threads' /proc/{f}/status")),
    )?;
    fork_gate.open(1)?;
    lab.reap(&mut forked, T)?;

    lab.step(kernel_path().pid("demo", lab.pid()))?;

    let kthreads = kernel_threads(lab);
    let kcomm = probe::comm(&lab.procfs, 2);
    let mut step = Step::new("Kernel threads are children of kthreadd (PID 2)")
        .syscall("scan /proc/*/stat for PPid 2 and PF_KTHREAD")
        .evidence(
            Evidence::new(
                "/proc/2/comm",
                "comm",
                &kcomm,
                "kthreadd: it creates the kernel's threads (kernel_thread())",
            )
            .check(kcomm == "kthreadd" || kthreads.is_empty()),
        );
    for (pid, comm, flags) in kthreads.iter().take(5) {
        step = step.evidence(
            Evidence::new(
                format!("/proc/{pid}/stat"),
                "flags (9)",
                probe::flags_text(*flags),
                format!("{comm}: PPid 2, PF_KTHREAD (0x200000)"),
            )
            .check(flags & PF_KTHREAD != 0),
        );
    }
    if kthreads.is_empty() {
        step = step.explain("No kernel threads are visible: this looks like a container with its own PID namespace, where PID 2 is not kthreadd.");
    } else {
        step = step.explain(format!("{} kernel threads hang under kthreadd here. They have no user memory: /proc/PID/cmdline is empty and `ps` shows them in [brackets].", kthreads.len()));
    }
    lab.conclude(
        step.pid("kthreadd", 2)
            .try_it("ps -o pid,ppid,comm --ppid 2 | head"),
    )?;
    Ok(String::new())
}

/// The corrected diagram of the notes: how each call reaches copy_process().
const CREATION_PATH: &str = "\
user space   fork()      vfork()     clone()     posix_spawn()  pthread_create()
(glibc)        |           |           |              |               |
             clone       vfork       clone          clone3  (glibc >= 2.34; clone before)
-------------- | --------- | --------- | ------------- | ------------- | ---------------------
kernel      sys_clone   sys_vfork   sys_clone       sys_clone3           kernel_thread()
               |           |           |              |                  user_mode_thread()
               +-----------+-----+-----+--------------+---------------------+
                                 |
                           kernel_clone()   (do_fork() until 4.2, _do_fork() until 5.10)
                                 |
                           copy_process()  <-- also called directly: fork_idle(),
                                 |             create_io_thread(), vhost_task_create()
                           wake_up_new_task()  (only now can the new task run)";

/// The kernel side, from /proc/kallsyms: the names this kernel gives the path.
fn kernel_path() -> Step {
    let release = probe::kernel_release();
    let version = probe::kernel_version(&release);
    let syms = probe::kernel_symbols(&[
        "kernel_clone",
        "_do_fork",
        "do_fork",
        "copy_process",
        "wake_up_new_task",
        "kernel_thread",
        "user_mode_thread",
        "fork_idle",
        "create_io_thread",
        "vhost_task_create",
        "__x64_sys_fork",
        "__x64_sys_vfork",
        "__x64_sys_clone",
        "__x64_sys_clone3",
        "__arm64_sys_clone",
        "__arm64_sys_clone3",
    ]);
    // kernel_clone() is what Linux 5.10 renamed _do_fork() to; _do_fork() is what 4.2 renamed
    // do_fork() to (keeping a do_fork() wrapper for a while).
    let renamed = version.is_some_and(|v| v >= (5, 10));
    let mut step = Step::new(
        "The kernel path: every task is built by copy_process(), most reach it through kernel_clone()",
    )
    .syscall("read /proc/kallsyms (the kernel's symbol table)")
    .explain("The notes' diagram, corrected: glibc's fork() makes the clone system call, not fork; vfork() makes vfork; posix_spawn() and pthread_create() make clone3 (glibc 2.34 and later). Each entry, like kernel_thread() for the kernel's own threads, calls kernel_clone() (named do_fork() until Linux 4.2, _do_fork() until 5.10), which calls copy_process() to build the new task as a copy of the caller, sharing or copying each part (memory, files, signal handlers...) as the flags say. copy_process() does not start the task: kernel_clone() wakes it afterwards with wake_up_new_task(). A few kernel paths skip kernel_clone() and call copy_process() directly (the idle tasks, io_uring's workers, vhost's workers): copy_process() is the real meeting point.")
    .evidence(Evidence::new(
        "/proc/sys/kernel/osrelease",
        "release",
        &release,
        if renamed {
            "5.10 or later: the entry point is called kernel_clone()"
        } else {
            "before 5.10: the entry point is still _do_fork() (or do_fork() before 4.2)"
        },
    ))
    .diagram(CREATION_PATH)
    .try_it("grep -wE 'kernel_clone|_do_fork|do_fork|copy_process' /proc/kallsyms");
    match &syms {
        Some(found) => {
            let has = |n: &str| found.iter().any(|s| s == n);
            let shown = |n: &str| if has(n) { "present" } else { "absent" };
            step = step
                .evidence(
                    Evidence::new(
                        "/proc/kallsyms",
                        "kernel_clone",
                        shown("kernel_clone"),
                        "the common entry point, since Linux 5.10",
                    )
                    .check(has("kernel_clone") == renamed),
                )
                .evidence(
                    Evidence::new(
                        "/proc/kallsyms",
                        "_do_fork",
                        shown("_do_fork"),
                        if renamed {
                            "its name from 4.2 to 5.9: gone"
                        } else {
                            "its name from 4.2 to 5.9"
                        },
                    )
                    .check(has("_do_fork") != renamed || version.is_some_and(|v| v < (4, 2))),
                )
                .evidence({
                    let e = Evidence::new(
                        "/proc/kallsyms",
                        "do_fork",
                        shown("do_fork"),
                        "the notes' name, before 4.2: gone",
                    );
                    if renamed { e.check(!has("do_fork")) } else { e }
                })
                .evidence(
                    Evidence::new(
                        "/proc/kallsyms",
                        "copy_process",
                        shown("copy_process"),
                        "builds every new task",
                    )
                    .check(has("copy_process")),
                )
                .evidence(Evidence::new(
                    "/proc/kallsyms",
                    "wake_up_new_task",
                    shown("wake_up_new_task"),
                    "puts the new task on a run queue",
                ));
            let direct: Vec<&str> = ["fork_idle", "create_io_thread", "vhost_task_create"]
                .into_iter()
                .filter(|n| has(n))
                .collect();
            step = step.evidence(Evidence::new(
                "/proc/kallsyms",
                "copy_process() callers",
                if direct.is_empty() {
                    "none visible".to_string()
                } else {
                    direct.join(" ")
                },
                "call copy_process() directly, not through kernel_clone()",
            ));
            let entries: Vec<&str> = [
                "__x64_sys_fork",
                "__x64_sys_vfork",
                "__x64_sys_clone",
                "__x64_sys_clone3",
                "__arm64_sys_clone",
                "__arm64_sys_clone3",
            ]
            .into_iter()
            .filter(|n| has(n))
            .collect();
            if !entries.is_empty() {
                step = step.evidence(Evidence::new(
                    "/proc/kallsyms",
                    "system call entries",
                    entries.join(" "),
                    "each calls kernel_clone()",
                ));
            }
        }
        None => {
            step = step.explain("/proc/kallsyms is not readable here (kernel.kptr_restrict, or a kernel built without it), so the names cannot be checked.");
        }
    }
    step
}

/// What glibc's fork(), vfork(), posix_spawn() and pthread_create() ask the kernel for, seen
/// by tracing a probe that calls each once.
fn libc_calls(lab: &Lab) -> Result<Step> {
    let glibc = crate::sys::spawn::glibc_version();
    let glibc_minor = glibc
        .as_deref()
        .and_then(|v| v.strip_prefix("2."))
        .and_then(|m| m.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    let clone3_expected = glibc_minor.is_some_and(|m| m >= 34);
    let truth = crate::teach::runtime::find_program("true")?;
    let keep = [
        libc::SYS_clone,
        libc::SYS_clone3,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_fork,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_vfork,
    ];
    let seen = syscalls::watch(lab.rt, &keep, || {
        use crate::sys::process::{self, ForkResult};
        use crate::sys::spawn;
        let reap = |p: i32| {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(p), None);
        };
        match process::fork() {
            Ok(ForkResult::Child) => process::exit_now(0),
            Ok(ForkResult::Parent { child }) => reap(child.as_raw()),
            Err(_) => return 1,
        }
        match spawn::vfork_child_exits_at_once() {
            Ok(p) => reap(p),
            Err(_) => return 2,
        }
        match spawn::posix_spawn(&truth, &[c"true".to_owned()]) {
            Ok(p) => reap(p),
            Err(_) => return 3,
        }
        if std::thread::spawn(|| ()).join().is_err() {
            return 4;
        }
        0
    })?;
    let mut step = Step::new("What the C library really asks the kernel for")
        .syscall("in a probe traced with ptrace: fork(); vfork(); posix_spawn(\"true\"); pthread_create()")
        .evidence(Evidence::new(
            "gnu_get_libc_version()",
            "glibc",
            glibc.clone().unwrap_or_else(|| "(not glibc)".into()),
            if clone3_expected {
                "2.34 or later: posix_spawn() and pthread_create() try clone3 first"
            } else {
                "before 2.34: they make clone"
            },
        ))
        .try_it("strace -f -e trace=clone,clone3,vfork,fork sh -c 'true & wait'");
    let calls = match seen {
        Ok(calls) => calls,
        Err(why) => {
            return Ok(step.explain(format!(
                "The calls could not be watched here: {why}. What glibc is documented to do: fork() makes clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD); vfork() makes vfork; posix_spawn() and pthread_create() make clone3 since glibc 2.34."
            )));
        }
    };
    // Give each C library call its system calls: a failed attempt (clone3 refused with ENOSYS
    // by a kernel before 5.3) belongs with the retry that follows it.
    let mut groups: Vec<Vec<&syscalls::RawCall>> = vec![Vec::new(); 4];
    let mut i = 0;
    for c in &calls {
        if i >= groups.len() {
            break;
        }
        groups[i].push(c);
        if c.ret.is_some_and(|r| r >= 0) {
            i += 1;
        }
    }
    let show = |g: &Vec<&syscalls::RawCall>| -> String {
        if g.is_empty() {
            return "(no call seen)".into();
        }
        g.iter()
            .map(|c| {
                let (args, ret) = c.strace();
                format!("{}({args}) = {ret}", c.name())
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    fn made<'a>(g: &[&'a syscalls::RawCall]) -> Option<&'a syscalls::RawCall> {
        g.last().copied()
    }
    let flags_have = |g: &Vec<&syscalls::RawCall>, want: u64| {
        made(g)
            .and_then(|c| c.flags())
            .is_some_and(|f| f & want == want)
    };
    let first_is_clone3 =
        |g: &Vec<&syscalls::RawCall>| g.first().is_some_and(|c| c.nr == libc::SYS_clone3);
    // fork(): clone with exactly the two TID flags and SIGCHLD.
    let fork = made(&groups[0]);
    let fork_ok = fork.is_some_and(|c| {
        c.nr == libc::SYS_clone
            && c.args[0]
                == (libc::CLONE_CHILD_CLEARTID | libc::CLONE_CHILD_SETTID) as u64
                    | libc::SIGCHLD as u64
    });
    step = step.evidence(
        Evidence::new("ptrace", "fork()", show(&groups[0]), "the clone system call: no sharing flags; SIGCHLD to the parent at exit; glibc's TID bookkeeping")
            .check(fork_ok),
    );
    #[cfg(target_arch = "x86_64")]
    {
        let vfork_ok = made(&groups[1]).is_some_and(|c| c.nr == libc::SYS_vfork);
        step = step.evidence(
            Evidence::new("ptrace", "vfork()", show(&groups[1]), "a system call of its own: the child runs on the parent's stack until it execs or exits")
                .check(vfork_ok),
        );
    }
    let vm_vfork = (libc::CLONE_VM | libc::CLONE_VFORK) as u64;
    step = step.evidence(
        Evidence::new("ptrace", "posix_spawn()", show(&groups[2]), if clone3_expected {
            "clone3 with CLONE_VM|CLONE_VFORK and a stack glibc mapped for the child: the parent waits until it execs"
        } else {
            "clone with CLONE_VM|CLONE_VFORK and a stack glibc mapped for the child"
        })
        .check(flags_have(&groups[2], vm_vfork) && first_is_clone3(&groups[2]) == clone3_expected),
    );
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    step = step.evidence(
        Evidence::new("ptrace", "pthread_create()", show(&groups[3]), "a thread: step 1's flags plus CLONE_SETTLS (its thread-local storage) and the TID bookkeeping")
            .check(flags_have(&groups[3], thread) && first_is_clone3(&groups[3]) == clone3_expected),
    );
    Ok(step.explain("A probe process called each function once while a tracer child of the demo watched its system calls with ptrace, as strace does (the probe's own children were not traced). The exit signal of a thread is 0: nobody is told when it ends, and nothing has to reap it."))
}

/// The task IDs under /proc/PID/task, sorted.
fn list_tasks(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// Whether a readdir of /proc shows this ID.
fn proc_listing_has(id: i32) -> bool {
    let name = id.to_string();
    std::fs::read_dir("/proc")
        .is_ok_and(|d| d.flatten().any(|e| e.file_name().to_str() == Some(&name)))
}

/// (pid, comm, flags) of the kernel threads whose parent is PID 2.
fn kernel_threads(lab: &Lab) -> Vec<(i32, String, u32)> {
    lab.procfs
        .scan()
        .map(|s| {
            s.processes
                .iter()
                .filter(|p| p.ppid == 2 && p.is_kernel_thread())
                .map(|p| (p.pid, p.comm.clone(), p.flags))
                .collect()
        })
        .unwrap_or_default()
}
