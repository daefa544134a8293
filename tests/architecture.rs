//! The architecture, checked: data flows one way (sys → proc → diagnose → remedy/check →
//! report → commands → main), the command-line definition imports no domain module, and
//! `unsafe` is allowed only at the kernel boundary and the demo sites that teach raw calls.
//! Reads the `crate::` paths of every source file; a module is a file or folder under src/.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every layer, lowest first. A module may use modules of its own layer or below.
const LAYERS: &[&[&str]] = &[
    // Leaves: values and the kernel boundary. cli is clap only and uses leaves alone.
    &[
        "sys", "duration", "range", "catalog", "exit", "paths", "atomic", "style", "cli",
    ],
    // Reading the system: /proc, the IPC objects.
    &["proc", "ipcs"],
    // From facts to findings, and the list of what not to report.
    &["diagnose", "ignore"],
    // Acting and judging.
    &["remedy", "check", "watch", "probe_init"],
    // Every sentence, for people and as JSON.
    &["report"],
    // Teaching: the demos narrate, with report's helpers.
    &["teach", "demo", "ipc"],
    // From the command line to typed requests; the man pages.
    &["config", "generate"],
    // The use cases.
    &["commands"],
];

/// What cli.rs may use: leaves of values, never a domain module.
const CLI_MAY_USE: &[&str] = &["catalog", "duration", "range"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file belongs to: `src/remedy/act.rs` → `remedy`, `src/cli.rs` → `cli`.
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The modules a file's code (its unit tests left out) names as `crate::NAME`. Unit tests
/// may check words with report/, which is a test's right, not a dependency of the module.
fn uses(text: &str) -> BTreeSet<String> {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    // Comments may name any module.
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + 7..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let m = module_of(&f);
        if m == "lib" || m == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let deps = uses(&text);
        g.entry(m.clone())
            .or_default()
            .extend(deps.into_iter().filter(|d| *d != m));
    }
    g
}

fn layer(m: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&m))
        .unwrap_or_else(|| panic!("module {m} is in no layer: add it to LAYERS"))
}

#[test]
fn no_module_uses_a_higher_layer() {
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        for d in deps {
            if layer(&d) > layer(&m) {
                wrong.push(format!("{m} uses {d}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_graph_has_no_cycle() {
    let g = graph();
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.to_string());
        for d in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(m, &g, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_cli_definition_imports_no_domain_module() {
    let text = std::fs::read_to_string(src().join("cli.rs")).unwrap();
    let deps: Vec<String> = uses(&text)
        .into_iter()
        .filter(|d| !CLI_MAY_USE.contains(&d.as_str()))
        .collect();
    assert!(deps.is_empty(), "cli.rs uses {deps:?}");
}

#[test]
fn unsafe_is_allowed_only_at_the_boundary_and_the_teaching_syscall_sites() {
    // lib.rs denies unsafe code; these files opt out, each saying why.
    const ALLOWED: &[&str] = &[
        "sys/mman.rs",
        "sys/pidfd.rs",
        "sys/pidns.rs",
        "sys/process.rs",
        "sys/ptrace.rs",
        "sys/semaphore.rs",
        "sys/spawn.rs",
        "sys/stdio.rs",
        "sys/sysv.rs",
        "demo/clone.rs",
        "demo/vfork.rs",
        "ipc/signal.rs",
    ];
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    assert!(
        lib.contains("#![deny(unsafe_code)]"),
        "lib.rs no longer denies unsafe code"
    );
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&f).unwrap();
        let opts_out = text
            .lines()
            .any(|l| l.trim_start().starts_with("#![allow(unsafe_code)]"));
        if opts_out && !ALLOWED.contains(&rel.as_str()) {
            wrong.push(rel);
        }
    }
    assert!(
        wrong.is_empty(),
        "unsafe allowed outside the border: {wrong:?}"
    );
}
