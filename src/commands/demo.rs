//! `zombies demo` and `zombies ipc demo`: the teaching demos of both families.

use std::io::Write;

use anyhow::Result;

use crate::config::{DemoConfig, DemoSelection, Globals};
use crate::exit::Exit;
use crate::teach::narrate::Format as Narration;

pub fn run(g: &Globals, c: DemoConfig) -> Result<Exit> {
    let format = if c.json {
        Narration::Json
    } else {
        Narration::Text
    };
    match c.selection {
        DemoSelection::Lifecycle { name, hold, code } => {
            use crate::demo::{self, Options};
            demo::run(demo::Request {
                name,
                format,
                style: g.style,
                opts: Options {
                    step: c.step,
                    hold,
                    code,
                },
            })
        }
        DemoSelection::Ipc { name: None, .. } => {
            let mut out = super::stdout();
            crate::ipc::write_demo_list(&mut out, g.style)?;
            out.flush()?;
            Ok(Exit::SUCCESS)
        }
        DemoSelection::Ipc {
            name: Some(demo),
            posix,
            path,
        } => crate::ipc::run_demo(
            demo,
            &crate::ipc::DemoOptions {
                format,
                step: c.step,
                posix,
                path,
                style: g.style,
            },
        ),
    }
}
