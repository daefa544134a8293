//! Command-line behaviour: colour decisions (under a real pseudo-terminal), the default
//! command, help and usage errors.

mod common;

use std::os::fd::OwnedFd;
use std::process::Stdio;

use common::*;

/// Runs zombies with stdout on a pseudo-terminal and returns what it wrote there.
fn on_tty(args: &[&str], env: &[(&str, &str)]) -> String {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let mut cmd = zombies();
    cmd.args(args)
        .stdout(Stdio::from(slave))
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
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
    assert!(status.success());
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let _zp = ZombieParent::spawn(Spec::default());
    let tty = on_tty(&["list"], &[]);
    assert!(tty.contains("\x1b["), "no colour on a terminal: {tty:?}");
    let no = on_tty(&["list"], &[("NO_COLOR", "1")]);
    assert!(!no.contains("\x1b["), "NO_COLOR ignored: {no:?}");
    // An empty NO_COLOR does not count (no-color.org).
    let empty = on_tty(&["list"], &[("NO_COLOR", "")]);
    assert!(empty.contains("\x1b["));
    let never = on_tty(&["list", "--color", "never"], &[]);
    assert!(!never.contains("\x1b["));
}

#[test]
fn no_colour_in_a_pipe_unless_always() {
    let _zp = ZombieParent::spawn(Spec::default());
    let piped = stdout(&run(zombies().arg("list")));
    assert!(!piped.contains("\x1b["));
    let always = stdout(&run(zombies().args(["list", "--color", "always"])));
    assert!(always.contains("\x1b["));
}

#[test]
fn bare_command_lists() {
    let zp = ZombieParent::spawn(Spec::default());
    let out = run(&mut zombies());
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains(&zp.zombies[0].to_string()), "{text}");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let out = run(zombies().args(["list", "--no-such-flag"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(zombies().args(["list", "--parent", "nope"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a PID"), "{}", stderr(&out));
    let out = run(zombies().arg("--help"));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("zombie"));
    let out = run(zombies().arg("--version"));
    assert!(stdout(&out).starts_with("zombies "));
}
