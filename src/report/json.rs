//! JSON output: one object, pretty-printed, followed by a newline; every document and every
//! JSON line carries the schema version first.

use std::io::{self, Write};

use serde::Serialize;

/// The version of the JSON contract, in every document and line zombies prints as
/// `"schema": 1`. Within a version fields are only ever added; renaming or removing one, or
/// changing what it means, would make a new version.
pub const SCHEMA: u32 = 1;

/// A top-level document or line: `"schema"` first, then the value's own fields (the value
/// must serialize as an object).
#[derive(Serialize)]
pub struct Versioned<'a, T: Serialize + ?Sized> {
    schema: u32,
    #[serde(flatten)]
    value: &'a T,
}

/// `value` with the schema version in front.
pub fn versioned<T: Serialize + ?Sized>(value: &T) -> Versioned<'_, T> {
    Versioned {
        schema: SCHEMA,
        value,
    }
}

pub fn write<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &versioned(value))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_comes_first_and_the_fields_keep_their_order() {
        #[derive(Serialize)]
        struct Doc {
            zebra: u8,
            apple: &'static str,
        }
        let mut out = Vec::new();
        write(
            &mut out,
            &Doc {
                zebra: 1,
                apple: "a",
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"schema\": 1,\n  \"zebra\": 1,\n  \"apple\": \"a\"\n}\n"
        );
    }
}
