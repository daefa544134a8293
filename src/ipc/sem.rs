//! stub
use super::narrate::Narrator;
use super::runtime::Runtime;
use anyhow::Result;
pub fn run(_rt: &Runtime, _n: &mut Narrator) -> Result<()> {
    anyhow::bail!("todo")
}
pub fn run_posix(_rt: &Runtime, _n: &mut Narrator) -> Result<()> {
    anyhow::bail!("todo")
}
