//! The narration for people: a heading per demo, numbered steps with their call, result and
//! evidence table (✓ for a fact that held, ✗ for one that did not), notes, and a closing tally.

use std::io::{self, Write};

use super::step::{Evidence, Step};
use crate::report::printable;
use crate::style::Style;

/// The width text is wrapped to.
const WIDTH: usize = 88;

/// The heading of a demo, what it shows (may be empty) and who runs it.
pub(super) fn begin(
    out: &mut dyn Write,
    s: Style,
    family: &str,
    demo: &str,
    title: &str,
    intro: &str,
    pid: i32,
) -> io::Result<()> {
    writeln!(
        out,
        "{} {}",
        s.bold(&format!("── {family} {demo}:")),
        s.bold(title)
    )?;
    let me = format!(
        "This demo is PID {pid}, made a child subreaper (PR_SET_CHILD_SUBREAPER) so orphans come back to it; it kills and reaps everything it starts."
    );
    for para in [intro, &me] {
        for line in wrap(para, WIDTH) {
            writeln!(out, "   {line}")?;
        }
    }
    out.flush()
}

/// Step number `number`.
pub(super) fn step(out: &mut dyn Write, s: Style, number: u32, step: &Step) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{} {}",
        s.bold(&format!("{number:>2}.")),
        s.bold(&step.title)
    )?;
    if let Some(c) = &step.syscall {
        writeln!(out, "    {} {}", s.dim("call  "), c)?;
    }
    if let Some(r) = step.result.as_ref().filter(|r| !r.is_empty()) {
        writeln!(out, "    {} {}", s.dim("result"), r)?;
    }
    for t in &step.trace {
        writeln!(out, "    {} {}", s.dim("trace "), t.line())?;
    }
    if let Some(x) = &step.explanation {
        for line in wrap(x, WIDTH) {
            writeln!(out, "    {line}")?;
        }
    }
    evidence(out, s, &step.evidence)?;
    if let Some(b) = &step.block {
        for line in b.lines() {
            writeln!(out, "      {line}")?;
        }
    }
    if let Some(d) = &step.diagram {
        for line in d.lines() {
            writeln!(out, "      {line}")?;
        }
    }
    for t in &step.try_it {
        writeln!(out, "    {} {t}", s.dim("try   "))?;
    }
    out.flush()
}

/// The evidence rows of a step as aligned columns: mark, source, field, value, meaning.
fn evidence(out: &mut dyn Write, s: Style, rows: &[Evidence]) -> io::Result<()> {
    fn source(e: &Evidence) -> &str {
        e.source.as_deref().unwrap_or("")
    }
    let width = |f: &dyn Fn(&Evidence) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let w_src = width(&|e| source(e).chars().count());
    let w_field = width(&|e| e.field.chars().count());
    let w_val = width(&|e| printable(&e.value).chars().count()).min(28);
    for e in rows {
        let mark = match e.holds {
            Some(true) => s.green("✓"),
            Some(false) => s.red("✗ DID NOT HOLD:"),
            None => " ".to_string(),
        };
        let src = if w_src == 0 {
            String::new()
        } else {
            format!("{:<w_src$}  ", source(e))
        };
        writeln!(
            out,
            "    {mark} {src}{:<w_field$}  {:<w_val$}  {}",
            e.field,
            printable(&e.value),
            s.dim(&e.meaning),
        )?;
    }
    Ok(())
}

/// A line for the user outside the steps.
pub(super) fn say(out: &mut dyn Write, s: Style, text: &str) -> io::Result<()> {
    writeln!(out, "{}", s.yellow(text))?;
    out.flush()
}

/// The summary (may be empty) and the tally of facts.
pub(super) fn end(
    out: &mut dyn Write,
    s: Style,
    summary: Option<&str>,
    checked: u32,
    failed: u32,
) -> io::Result<()> {
    writeln!(out)?;
    for line in summary.map(|t| wrap(t, WIDTH)).unwrap_or_default() {
        writeln!(out, "   {}", s.green(&line))?;
    }
    if checked > 0 || summary.is_none() {
        let tally = if failed == 0 {
            s.green(&format!("all {checked} facts checked held on this kernel"))
        } else {
            s.red(&format!(
                "{failed} of {checked} facts did NOT hold on this kernel"
            ))
        };
        writeln!(out, "   {tally}; every process it started was reaped.")?;
    }
    writeln!(out)?;
    out.flush()
}

/// A signal stopped the demo; written after the cleanup.
pub(super) fn interrupted(
    out: &mut dyn Write,
    s: Style,
    signal: &str,
    reaped: &[i32],
) -> io::Result<()> {
    let reaped = if reaped.is_empty() {
        String::new()
    } else {
        let pids: Vec<String> = reaped.iter().map(|p| p.to_string()).collect();
        format!(" ({})", pids.join(", "))
    };
    writeln!(out)?;
    writeln!(
        out,
        "   {} by {signal}: stopped, and killed and reaped its remaining processes{reaped}.",
        s.yellow("interrupted"),
    )?;
    out.flush()
}

/// The list of demos of one family: a heading, a line per demo, and a closing line.
pub(super) fn list(
    out: &mut dyn Write,
    s: Style,
    heading: &str,
    demos: &[(&str, &str)],
    footer: &str,
) -> io::Result<()> {
    writeln!(out, "{}", s.bold(heading))?;
    let w = demos.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, summary) in demos {
        writeln!(out, "  {}  {summary}", s.bold(&format!("{name:<w$}")))?;
    }
    writeln!(out, "{footer}")?;
    out.flush()
}

/// Wraps text at spaces to lines of at most `width` characters (longer words stay whole);
/// a newline starts a new line.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(wrap("toolongword x", 4), vec!["toolongword", "x"]);
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("x\ny", 10), vec!["x", "y"]);
    }
}
