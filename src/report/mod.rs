//! Rendering: every output format is its own module writing to `impl Write`. Nothing here
//! reads /proc.

pub mod check;
pub mod container;
pub mod explain;
pub mod findings;
pub mod fix;
pub mod ignore;
pub mod ipc_list;
pub mod json;
pub mod nagios;
pub mod probe_init;
pub mod prometheus;
pub mod state;
pub mod table;
pub mod tree;
pub mod visibility;
pub mod watch;

/// Writes a table without the padding spaces its blank style leaves at line ends: they only
/// get in the way of copying, diffing and grepping.
pub fn write_table(out: &mut impl std::io::Write, table: &tabled::Table) -> std::io::Result<()> {
    for line in table.to_string().lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// "3s", "4m12s", "2h05m", "3d04h": an age, short enough for a table column.
pub fn age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A duration as people and the options write it: "500ms", "5s", "1.5s", "2m", "1m30s",
/// "1h30m", "1d1h". The one duration formatter of every output.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        return if ms % 1000 == 0 {
            format!("{}s", ms / 1000)
        } else {
            format!("{:.1}s", ms as f64 / 1000.0)
        };
    }
    let s = d.as_secs();
    let mut out = String::new();
    for (v, unit) in [
        (s / 86400, "d"),
        (s % 86400 / 3600, "h"),
        (s % 3600 / 60, "m"),
        (s % 60, "s"),
    ] {
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    out
}

/// "1 zombie", "3 zombies".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How a zombie ended, for people: "exit 3", "killed by SIGKILL", or "?" when unreadable.
pub fn exit_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exit {c}"),
        (_, Some(s)) => format!("killed by {}", crate::proc::signals::name(s)),
        _ => "?".to_string(),
    }
}

/// "4242 (gdb)", its name made safe for a terminal; the PID alone when the name is unknown.
pub fn named(r: &crate::diagnose::ProcessRef) -> String {
    match &r.comm {
        Some(c) => format!("{} ({})", r.pid, printable(c)),
        None => r.pid.to_string(),
    }
}

/// Makes a name safe for one terminal line: control characters (newlines, escapes) become
/// `\n`-style escapes so a hostile process name cannot forge lines or colours.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(252), "4m12s");
        assert_eq!(age(7500), "2h05m");
        assert_eq!(age(3 * 86400 + 4 * 3600), "3d04h");
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration(Duration::from_millis(12)), "12ms");
        assert_eq!(duration(Duration::from_secs(5)), "5s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_secs(120)), "2m");
        assert_eq!(duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(duration(Duration::from_secs(600)), "10m");
        assert_eq!(duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(duration(Duration::from_secs(86400 + 3600)), "1d1h");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(printable("nginx: worker"), "nginx: worker");
    }
}
