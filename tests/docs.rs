//! The committed man pages and completions must be what the code generates. When this fails,
//! regenerate them: `cargo run -- generate man man/ && cargo run -- generate completions completions/`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn assert_fresh(what: &str, committed: &str) {
    let env = TestEnv::new(&format!("docs-{what}"));
    let out_dir = env.path("out");
    std::fs::create_dir(&out_dir).unwrap();
    env.command()
        .args(["generate", what])
        .arg(&out_dir)
        .run()
        .assert_success();
    let fresh = read_dir(&out_dir);
    let committed = read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(committed));
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "{what}: files differ; regenerate with `cargo run -- generate {what} <dir>`"
    );
    for (name, content) in &fresh {
        assert!(
            committed[name] == *content,
            "{what}: {name} is stale; regenerate with `cargo run -- generate {what} <dir>`"
        );
    }
}

#[test]
fn man_pages_are_fresh() {
    assert_fresh("man", "man");
    // And they carry the sections clap cannot write.
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/zombies.1"))
        .unwrap();
    for section in [
        "EXIT STATUS",
        "FILES",
        "ENVIRONMENT",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(page.contains(section), "zombies.1 lacks {section}");
    }
}

#[test]
fn completions_are_fresh() {
    assert_fresh("completions", "completions");
}
