//! The Nagios/Icinga plugin line, as the monitoring-plugins guidelines define it and as
//! check_procs prints it: `ZOMBIES OK: 0 zombie processes | zombies=0;5;20;0; ...`.
//!
//! One line: the status word, the text, then performance data `label=value;warn;crit;min;max`.
//! Process names are made safe first: a `|` would start the performance data early and a
//! newline would end the line.

use std::io::{self, Write};

use crate::check::{Outcome, Status};

/// The Nagios line for `outcome`, newline included.
pub fn write(out: &mut impl Write, o: &Outcome) -> io::Result<()> {
    write!(
        out,
        "ZOMBIES {}: {}",
        o.status.word(),
        safe(&super::check::message(o))
    )?;
    if o.status != Status::Unknown || o.zombies.is_some() {
        let t = &o.thresholds;
        let max_age = t
            .max_age
            .map(|d| d.as_secs_f64().to_string())
            .unwrap_or_default();
        let per_parent = t.warn_per_parent.map(|n| n.to_string()).unwrap_or_default();
        write!(
            out,
            " | zombies={};{};{};0; parents={};;;0; oldest_seen={}s;;{};0; max_per_parent={};{};;0;",
            o.zombies.unwrap_or(0),
            t.warn,
            t.crit,
            o.parents.unwrap_or(0),
            o.oldest_seen_seconds.unwrap_or(0),
            max_age,
            o.max_per_parent.unwrap_or(0),
            per_parent,
        )?;
        // Only when asked for: the performance data of every other check stays as it was.
        if t.warn_pids.is_some() || t.crit_pids.is_some() {
            let num = |v: Option<f64>| v.map(|p| format!("{}", (p * 10.0).round() / 10.0));
            write!(
                out,
                " pids_used={}%;{};{};0;100",
                num(o.pids_used_pct).unwrap_or_else(|| "0".into()),
                num(t.warn_pids).unwrap_or_default(),
                num(t.crit_pids).unwrap_or_default(),
            )?;
        }
    }
    writeln!(out)
}

/// One line with no `|`: control characters are escaped (`\n`), `|` becomes `\x7c`.
fn safe(text: &str) -> String {
    super::printable(text).replace('|', "\\x7c")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Thresholds, evaluate};
    use crate::diagnose::Diagnosis;

    fn line(o: &Outcome) -> String {
        let mut v = Vec::new();
        write(&mut v, o).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn zero_zombies_line() {
        let o = evaluate(
            Diagnosis::default(),
            &Default::default(),
            0,
            &Thresholds::default(),
            None,
        );
        assert_eq!(
            line(&o),
            "ZOMBIES OK: 0 zombie processes | zombies=0;5;20;0; parents=0;;;0; oldest_seen=0s;;;0; max_per_parent=0;;;0;\n"
        );
    }

    #[test]
    fn unknown_has_no_perfdata_and_stays_one_line() {
        let o = Outcome::unknown(
            Thresholds::default(),
            "cannot open /x\nsecond | line".into(),
        );
        assert_eq!(
            line(&o),
            "ZOMBIES UNKNOWN: cannot open /x\\nsecond \\x7c line\n"
        );
    }
}
