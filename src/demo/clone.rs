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

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::CLONE,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "clone(): a thread shares its process's PID, a fork gets its own; the kernel path";

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
    lab.begin(TITLE, "")?;
    let (tx, mut rx) = channel()?;
    let mut gate = Gate::new()?;
    // The thread is made inside a child process, so this demo itself stays single-threaded
    // (its later forks stay safe).
    let mut proc_ = lab.spawn("child", || {
        gate.child_side();
        let _ = nix::sys::prctl::set_name(c"clone-demo");
        let args = Box::leak(Box::new(ThreadArgs {
            report_fd: tx.as_fd().map_or(-1, |fd| fd.as_raw_fd()),
            gate_fd: gate.reader().map_or(-1, |fd| fd.as_raw_fd()),
        }));
        let stack = Box::leak(vec![0u8; 256 * 1024].into_boxed_slice());
        // SAFETY: the stack is leaked (lives as long as the process); the thread function
        // only makes raw system calls.
        let tid = unsafe {
            let top = stack.as_mut_ptr().add(stack.len());
            let top = top.sub(top as usize % 16);
            libc::clone(
                thread_main,
                top.cast(),
                THREAD_FLAGS,
                (args as *mut ThreadArgs).cast(),
            )
        };
        tx.send(&json!({ "clone_returned": tid, "getpid": std::process::id() }));
        gate.wait();
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
            .note("CLONE_THREAD requires CLONE_SIGHAND, which requires CLONE_VM: a thread shares memory, signal handlers and its PID. pthread_create() makes the same call plus CLONE_SETTLS and the TID bookkeeping flags."),
    )?;

    let fstatus = probe::status(&lab.procfs, pid)?;
    let _ = fstatus;
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
        Step::new("A fork (clone with SIGCHLD and no sharing flags) is a new process")
            .syscall("fork()  ≈  clone(SIGCHLD)")
            .result(format!("{f}"))
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
            .note("glibc's fork() itself issues the clone system call with SIGCHLD as the exit signal and no sharing flags; the kernel copies instead of sharing."),
    )?;
    fork_gate.open(1)?;
    lab.reap(&mut forked, T)?;
    gate.open(2)?;
    lab.reap(&mut proc_, T)?;

    let release = probe::kernel_release();
    let syms = probe::kernel_symbols(&[
        "kernel_clone",
        "do_fork",
        "copy_process",
        "kernel_thread",
        "__x64_sys_fork",
        "__x64_sys_vfork",
        "__x64_sys_clone",
        "__x64_sys_clone3",
    ]);
    let new_name = probe::kernel_version(&release).is_some_and(|v| v >= (5, 10));
    let mut step = Step::new(
        "The kernel path: every way to create a task meets in kernel_clone() and copy_process()",
    )
    .syscall("read /proc/kallsyms (the kernel's symbol table)")
    .evidence(Evidence::new(
        "/proc/sys/kernel/osrelease",
        "release",
        &release,
        if new_name {
            "5.10 or later: do_fork() is called kernel_clone()"
        } else {
            "before 5.10: the function is still do_fork()"
        },
    ));
    match &syms {
        Some(found) => {
            let has = |n: &str| found.iter().any(|s| s == n);
            for name in ["kernel_clone", "do_fork", "copy_process", "kernel_thread"] {
                let meaning = match name {
                    "kernel_clone" => "the common entry point since Linux 5.10",
                    "do_fork" => "the notes' name for it, before Linux 5.10",
                    "copy_process" => "where the new task is built as a copy of the caller",
                    _ => "how the kernel starts its own threads",
                };
                let mut e = Evidence::new(
                    "/proc/kallsyms",
                    name,
                    if has(name) { "present" } else { "absent" },
                    meaning,
                );
                if name == "kernel_clone" || name == "do_fork" {
                    let want = if name == "kernel_clone" {
                        new_name
                    } else {
                        !new_name
                    };
                    e = e.check(has(name) == want);
                }
                step = step.evidence(e);
            }
            let entries: Vec<&str> = [
                "__x64_sys_fork",
                "__x64_sys_vfork",
                "__x64_sys_clone",
                "__x64_sys_clone3",
            ]
            .into_iter()
            .filter(|n| has(n))
            .collect();
            if !entries.is_empty() {
                step = step.evidence(Evidence::new(
                    "/proc/kallsyms",
                    "syscall entries",
                    entries.join(" "),
                    "fork, vfork, clone, clone3: each calls kernel_clone()",
                ));
            }
        }
        None => {
            step = step.note("/proc/kallsyms is not readable here (kernel.kptr_restrict, or a kernel built without it), so the symbols cannot be shown.");
        }
    }
    lab.step(
        step.note("The notes' diagram, updated: fork(), vfork() and clone() (and clone3() since 5.3) enter sys_fork, sys_vfork, sys_clone and sys_clone3; kernel threads come from kernel_thread(); all call kernel_clone() (named do_fork() until Linux 5.10), which calls copy_process() to build the new task as a copy of the caller. copy_process() copies or shares each part (memory, files, signal handlers...) according to the clone flags; it does not start the task: kernel_clone() wakes it afterwards with wake_up_new_task()."),
    )?;

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
        step = step.note("No kernel threads are visible: this looks like a container with its own PID namespace, where PID 2 is not kthreadd.");
    } else {
        step = step.note(format!("{} kernel threads hang under kthreadd here. They have no user memory: /proc/PID/cmdline is empty and `ps` shows them in [brackets].", kthreads.len()));
    }
    lab.conclude(step)?;
    Ok(String::new())
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
