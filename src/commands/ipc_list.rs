//! `zombies ipc list`: the System V and POSIX IPC objects, and who holds them.

use anyhow::Result;

use super::emit_with;
use crate::config::{Globals, IpcListConfig};
use crate::exit::Exit;
use crate::ipcs;
use crate::proc::users::Users;
use crate::report;

pub fn run(g: &Globals, c: &IpcListConfig) -> Result<Exit> {
    let src = ipcs::Sources::system(&g.proc_root);
    let mut listing = ipcs::collect(&src, &mut Users::default())?;
    if c.orphaned {
        ipcs::only_orphaned(&mut listing);
    }
    emit_with(
        c.output,
        |out| report::ipc_list::write_json(out, &listing),
        |out| report::ipc_list::write_text(out, &listing, c.orphaned, g.style),
    )?;
    Ok(Exit::SUCCESS)
}
