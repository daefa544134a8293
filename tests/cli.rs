//! Command-line behaviour: colour decisions (under a real pseudo-terminal), the default
//! command, help and usage errors.

mod common;

use std::os::fd::OwnedFd;
use std::process::Stdio;

use common::*;

/// Runs zombies with stdout on a pseudo-terminal and returns what it wrote there.
fn on_tty(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> String {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let mut cmd = env.command().args(args);
    for (k, v) in vars {
        cmd = cmd.env(k, v);
    }
    let desc = cmd.describe();
    let mut cmd = cmd.command();
    cmd.stdout(Stdio::from(slave)).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("run zombies");
    // Our copy of the slave goes with `cmd`: the master then reads EIO once the child's close.
    drop(cmd);
    // Read while the child runs: output larger than the pty's buffer would otherwise block
    // the child forever. A hung child fails the test after 20 s instead of hanging it.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "zombies {args:?} did not finish on a terminal"
        );
        let mut fds = [PollFd::new(pty.master.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap();
        if poll(&mut fds, ms).unwrap_or(0) == 0 {
            continue;
        }
        match nix::unistd::read(&pty.master, &mut buf) {
            Ok(0) | Err(_) => break, // EIO: every slave descriptor is closed
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let status = child.wait().expect("wait for zombies");
    assert!(status.success(), "`{desc}` on a terminal: {status}");
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let env = TestEnv::new("cli").with_parent(Spec::default());
    let tty = on_tty(&env, &["list"], &[]);
    assert!(tty.contains("\x1b["), "no colour on a terminal: {tty:?}");
    let no = on_tty(&env, &["list"], &[("NO_COLOR", "1")]);
    assert!(!no.contains("\x1b["), "NO_COLOR ignored: {no:?}");
    // An empty NO_COLOR does not count (no-color.org).
    let empty = on_tty(&env, &["list"], &[("NO_COLOR", "")]);
    assert!(empty.contains("\x1b["));
    let never = on_tty(&env, &["list", "--color", "never"], &[]);
    assert!(!never.contains("\x1b["));
}

#[test]
fn no_colour_in_a_pipe_unless_always() {
    let env = TestEnv::new("cli").with_parent(Spec::default());
    let piped = env.zombies(&["list"]).assert_success().stdout();
    assert!(!piped.contains("\x1b["));
    let always = env
        .zombies(&["list", "--color", "always"])
        .assert_success()
        .stdout();
    assert!(always.contains("\x1b["));
}

#[test]
fn bare_command_lists() {
    let env = TestEnv::new("cli").with_parent(Spec::default());
    let text = env.zombies(&[]).assert_success().stdout();
    assert!(
        text.contains(&env.parent().zombies[0].to_string()),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let env = TestEnv::new("cli");
    env.zombies(&["list", "--no-such-flag"])
        .assert_exit(Exit::USAGE);
    let out = env
        .zombies(&["list", "--parent", "nope"])
        .assert_exit(Exit::USAGE);
    assert!(out.stderr().contains("not a PID"), "{}", out.report());
    let out = env.zombies(&["--help"]).assert_exit(Exit::SUCCESS);
    assert!(out.stdout().contains("zombie"));
    let out = env.zombies(&["--version"]);
    assert!(out.stdout().starts_with("zombies "), "{}", out.report());
}
