//! `zombies fix` for people: the plan (for --dry-run and the confirmation question), and the
//! result, one block per parent with what was sent, what happened and what to try next.

use std::io::{self, Write};

use super::{duration, printable};
use crate::remedy::{Choice, FixReport, Outcome, ParentResult};
use crate::style::Style;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The plan: what will be sent to whom, and what is refused and why.
pub fn write_plan(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.parents.is_empty() {
        return write_nothing(out, r, style);
    }
    let acting: Vec<&ParentResult> = r.parents.iter().filter(|p| p.acts()).collect();
    let zombies: usize = acting.iter().map(|p| p.total).sum();
    if acting.is_empty() {
        writeln!(
            out,
            "{} {}: nothing to send or write; {} holding {}:",
            style.bold("Plan:"),
            r.remedy.as_str(),
            plural(r.parents.len(), "parent", "parents"),
            plural(r.summary.zombies, "zombie", "zombies"),
        )?;
    } else {
        writeln!(
            out,
            "{} {} on {} holding {} (verify within {})",
            style.bold("Plan:"),
            r.remedy.as_str(),
            plural(acting.len(), "parent", "parents"),
            plural(zombies, "zombie", "zombies"),
            duration(std::time::Duration::from_millis(r.timeout_ms))
        )?;
    }
    for p in &r.parents {
        let owner = match (&p.user, p.uid) {
            (Some(u), _) => format!(", user {u}"),
            (None, Some(uid)) => format!(", uid {uid}"),
            _ => String::new(),
        };
        let head = format!(
            "{}{owner}, {}",
            p.who(),
            plural(p.total, "zombie", "zombies")
        );
        let reason = p.reason.as_deref().unwrap_or("");
        match p.outcome {
            Outcome::Planned => {
                // With --auto the remedy differs from parent to parent: name it.
                let remedy = if r.remedy == Choice::Auto {
                    format!("{}: ", p.remedy.as_str())
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "  {} {}: {remedy}{reason}",
                    style.green("→"),
                    style.bold(&head)
                )?;
                write_also_hides(out, p, "the entry also hides", style)?;
            }
            Outcome::Refused => writeln!(
                out,
                "  {} {}: {} {}",
                style.red("✘"),
                style.bold(&head),
                style.red("refused:"),
                reason
            )?,
            Outcome::Advised => writeln!(
                out,
                "  {} {}: {} {}",
                style.yellow("•"),
                style.bold(&head),
                style.yellow("not acted on:"),
                reason
            )?,
            Outcome::Ignored => writeln!(
                out,
                "  {} {}: {}",
                style.dim("="),
                style.bold(&head),
                reason
            )?,
            Outcome::Cleared | Outcome::Remaining => {}
        }
    }
    write_skipped(out, r, style)
}

/// The footer of a dry run: always there, so a dry run never ends without saying it was one.
pub fn write_dry_run_footer(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.has_actions() {
        writeln!(
            out,
            "{} nothing was sent or written. Run the same command without --dry-run to apply it (add --yes when not on a terminal).",
            style.bold("Dry run:")
        )
    } else if !r.parents.is_empty() {
        writeln!(
            out,
            "{} nothing was sent or written, and fix would not act on any of these parents: follow the advice above.",
            style.bold("Dry run:")
        )
    } else {
        writeln!(
            out,
            "{} nothing was sent or written.",
            style.bold("Dry run:")
        )
    }
}

/// The result, after acting.
pub fn write(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.parents.is_empty() {
        return write_nothing(out, r, style);
    }
    for p in &r.parents {
        write_parent(out, p, r, style)?;
    }
    write_skipped(out, r, style)?;
    let s = &r.summary;
    let mut line = if s.zombies > 0 && r.parents.iter().any(|p| p.outcome != Outcome::Ignored) {
        format!(
            "Cleared {} of {}",
            s.cleared,
            plural(s.zombies, "zombie", "zombies")
        )
    } else {
        String::new()
    };
    if s.remaining > 0 && !line.is_empty() {
        line.push_str(&format!(
            "; {} {}",
            s.remaining,
            if s.remaining == 1 {
                "remains"
            } else {
                "remain"
            }
        ));
    }
    if s.refused > 0 {
        if !line.is_empty() {
            line.push_str("; ");
        }
        line.push_str(&format!(
            "{} refused",
            plural(s.refused, "parent", "parents")
        ));
    }
    let ignored = r
        .parents
        .iter()
        .filter(|p| p.outcome == Outcome::Ignored)
        .count();
    if ignored > 0 {
        if !line.is_empty() {
            line.push_str("; ");
        }
        line.push_str(&format!(
            "{} on the ignore list",
            plural(ignored, "parent", "parents")
        ));
    }
    if !line.is_empty() {
        line.push('.');
        let line = if r.success {
            style.green(&line)
        } else {
            style.red(&line)
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn write_parent(
    out: &mut impl Write,
    p: &ParentResult,
    r: &FixReport,
    style: Style,
) -> io::Result<()> {
    let who = style.bold(&p.who());
    let reason = p.reason.as_deref().unwrap_or("");
    match p.outcome {
        Outcome::Cleared if p.reaped_on_its_own => {
            writeln!(
                out,
                "{} {who}: reaped its {} on its own within the --settle time ({}); nothing was sent",
                style.green("✔"),
                plural(p.total, "zombie", "zombies"),
                duration(ms(r.settle_ms))
            )?;
            return Ok(());
        }
        Outcome::Cleared => writeln!(
            out,
            "{} {who}: {} {} {} of {} in {}",
            style.green("✔"),
            p.remedy.as_str(),
            style.green("cleared"),
            p.cleared,
            plural(p.total, "zombie", "zombies"),
            took(p.elapsed_ms.unwrap_or(0))
        )?,
        Outcome::Remaining => writeln!(
            out,
            "{} {who}: {} cleared {} of {}; {}",
            style.red("✘"),
            p.remedy.as_str(),
            style.red(&p.cleared.to_string()),
            plural(p.total, "zombie", "zombies"),
            if p.signals.is_empty() {
                "nothing was sent".to_string()
            } else {
                format!("gave up after {}", duration(ms(r.timeout_ms)))
            }
        )?,
        Outcome::Refused => {
            writeln!(
                out,
                "{} {who}: {} {reason}",
                style.red("✘"),
                style.red("refused:")
            )?;
            return Ok(());
        }
        Outcome::Advised => {
            writeln!(
                out,
                "{} {who}: {} {reason}",
                style.yellow("•"),
                style.yellow("not acted on:")
            )?;
            return Ok(());
        }
        Outcome::Ignored => {
            writeln!(out, "{} {who}: {reason}", style.green("✔"))?;
            write_also_hides(out, p, "the entry also hides", style)?;
            return Ok(());
        }
        Outcome::Planned => {
            writeln!(out, "{} {who}: {reason}", style.dim("→"))?;
            return Ok(());
        }
    }
    if !p.signals.is_empty() {
        let sent: Vec<String> = p
            .signals
            .iter()
            .map(|s| {
                if s.at_ms == 0 {
                    s.signal.to_string()
                } else {
                    format!("{} at {}", s.signal, duration(ms(s.at_ms)))
                }
            })
            .collect();
        writeln!(out, "    sent {}", sent.join(", "))?;
    }
    if let Some(e) = &p.exited {
        writeln!(
            out,
            "    it exited on {} after {}",
            e.signal,
            took(e.after_ms)
        )?;
    }
    if let Some(a) = &p.adopter {
        let name = match &a.comm {
            Some(c) => format!("{} ({})", a.pid, printable(c)),
            None => a.pid.to_string(),
        };
        let what = if a.namespace_init {
            "PID 1 of its namespace"
        } else {
            "a child subreaper"
        };
        let verdict = if a.reaped {
            style.green("and it reaped them")
        } else {
            style.red("and it did not reap them")
        };
        writeln!(out, "    adopted by {name}, {what}, {verdict}")?;
    }
    if p.adopter.is_none() && p.exited.is_some() && p.outcome == Outcome::Cleared {
        writeln!(
            out,
            "    its zombies were reaped at once, before fix could see who adopted them"
        )?;
    }
    if let Some(e) = &p.error {
        writeln!(out, "    {} {e}", style.red("error:"))?;
    }
    if p.outcome == Outcome::Remaining {
        let left: Vec<String> = p
            .zombies
            .iter()
            .filter(|z| !z.cleared)
            .map(|z| z.pid.to_string())
            .collect();
        writeln!(out, "    still zombies: {}", left.join(" "))?;
    }
    if let Some(n) = &p.next {
        writeln!(out, "    {} {n}", style.bold("next:"))?;
    }
    Ok(())
}

/// The other parents an ignore-list entry hides: "4243 (nginx, 2 zombies), ...".
fn write_also_hides(
    out: &mut impl Write,
    p: &ParentResult,
    lead: &str,
    style: Style,
) -> io::Result<()> {
    if p.also_hides.is_empty() {
        return Ok(());
    }
    let others = p
        .also_hides
        .iter()
        .map(|h| {
            format!(
                "{} ({}, {})",
                h.pid,
                printable(&h.comm),
                plural(h.zombies, "zombie", "zombies")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    writeln!(out, "    {} {lead}: {others}", style.yellow("!"))
}

/// "<1ms" rather than a surprising "0ms".
fn took(v: u64) -> String {
    match v {
        0 => "<1ms".to_string(),
        v => duration(ms(v)),
    }
}

fn ms(v: u64) -> std::time::Duration {
    std::time::Duration::from_millis(v)
}

fn write_nothing(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    writeln!(out, "{}", style.green("No zombies to fix."))?;
    write_skipped(out, r, style)
}

fn write_skipped(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.summary.skipped_ignored > 0 {
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} on the ignore list {} left alone (`zombies list --all` shows them).",
                plural(r.summary.skipped_ignored, "parent", "parents"),
                r.ignore_file.as_deref().unwrap_or("")
            ))
        )?;
    }
    Ok(())
}
