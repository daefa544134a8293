//! zombies: find zombie processes, explain them, fix them, watch for them, and learn.

use clap::Parser;
use zombies::{cli, commands, config, exit};

fn main() -> std::process::ExitCode {
    if !cfg!(target_os = "linux") {
        exit::warn("only Linux has the /proc this tool reads");
        return exit::Exit::FAILURE.into();
    }
    let args = cli::with_applet(std::env::args_os().collect());
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return commands::refused(&e, &args).into(),
    };
    let result = config::resolve(cli)
        .map_err(anyhow::Error::from)
        .and_then(|(globals, request)| commands::run(&globals, request));
    match result {
        Ok(code) => code.into(),
        Err(err) => exit::report(&err).into(),
    }
}
