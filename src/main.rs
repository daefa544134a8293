//! zombies: find zombie processes, explain them, fix them, watch for them, and learn.

use zombies::{app, cli, exit};

fn main() -> std::process::ExitCode {
    if !cfg!(target_os = "linux") {
        eprintln!("zombies: only Linux has the /proc this tool reads");
        return exit::Exit::FAILURE.into();
    }
    let cli = cli::parse();
    match app::run(cli) {
        Ok(code) => code.into(),
        Err(err) => exit::report(&err).into(),
    }
}
