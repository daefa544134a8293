//! JSON output: one object, pretty-printed, followed by a newline.

use std::io::{self, Write};

use serde::Serialize;

pub fn write<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
