//! Durations on the command line: "500ms", "5s", "2m", "1h", "1d", and sums such as "1h30m".
//!
//! A bare number is refused rather than guessed: "--max-age 10" could mean seconds or minutes,
//! and a monitoring check that silently waits sixty times too long is worse than an error.

use std::time::Duration;

/// Parses a duration: one or more `<whole number><unit>` parts, unit one of ms, s, m, h, d.
pub fn parse(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let hint = "give a number and a unit, e.g. 500ms, 30s, 10m, 2h, 1d or 1h30m";
    if text.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("'{s}' is not a duration: {hint}"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("'{s}' is too long a duration"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Some(Duration::from_millis(value)),
            "s" => Some(Duration::from_secs(value)),
            "m" => value.checked_mul(60).map(Duration::from_secs),
            "h" => value.checked_mul(3600).map(Duration::from_secs),
            "d" => value.checked_mul(86400).map(Duration::from_secs),
            "" => return Err(format!("'{s}' has a number without a unit: {hint}")),
            other => return Err(format!("'{s}': unknown unit '{other}': {hint}")),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| format!("'{s}' is too long a duration"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse(" 1h30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        for bad in [
            "",
            "10",
            "5x",
            "m",
            "1.5h",
            "-3s",
            "1h 30m",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse("10").unwrap_err().contains("without a unit"));
        assert!(
            parse("184467440737095516d").is_err(),
            "overflow is an error"
        );
    }
}
