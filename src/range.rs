//! Threshold ranges with the monitoring-plugins semantics (as check_procs uses them), so that
//! `--warn`/`--crit` mean here what they mean in every other Nagios plugin:
//!
//! | range    | alerts when the value is        |
//! |----------|---------------------------------|
//! | `10`     | below 0 or above 10             |
//! | `10:`    | below 10                        |
//! | `~:10`   | above 10                        |
//! | `10:20`  | below 10 or above 20            |
//! | `@10:20` | from 10 to 20, both included    |
//!
//! See <https://www.monitoring-plugins.org/doc/guidelines.html#THRESHOLDFORMAT>.

use std::fmt;

/// One threshold range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower bound; `f64::NEG_INFINITY` for `~`.
    pub start: f64,
    /// Upper bound; `f64::INFINITY` when omitted (`10:`).
    pub end: f64,
    /// `@`: alert inside the range instead of outside.
    pub inside: bool,
}

impl Range {
    /// The plain `N` form: alert above `n`.
    pub const fn above(n: f64) -> Range {
        Range {
            start: 0.0,
            end: n,
            inside: false,
        }
    }

    /// Parses `[@]start:end`, `N`, `N:`, `~:N`.
    pub fn parse(s: &str) -> Result<Range, String> {
        let hint =
            "use N (alert above N), N: (below N), ~:N, N:M (outside N..M) or @N:M (inside N..M)";
        let text = s.trim();
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let number = |t: &str| -> Result<f64, String> {
            let v: f64 = t
                .parse()
                .map_err(|_| format!("'{s}' is not a threshold range: {hint}"))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!("'{s}' is not a threshold range: {hint}"))
            }
        };
        let (start, end) = match body.split_once(':') {
            None if body.is_empty() => return Err(format!("empty threshold range: {hint}")),
            None => (0.0, number(body)?),
            Some((a, b)) => {
                let start = match a {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    a => number(a)?,
                };
                let end = if b.is_empty() {
                    f64::INFINITY
                } else {
                    number(b)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(format!(
                "threshold range '{s}' starts above its end: write it as start:end with start <= end"
            ));
        }
        Ok(Range { start, end, inside })
    }

    /// Whether `value` should raise the alert this range stands for.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        if self.inside { within } else { !within }
    }

    /// A plain "alert above N" range (`N` or `~:N`), the form whose ordering we can check.
    pub fn plain_upper(&self) -> Option<f64> {
        (!self.inside && (self.start == 0.0 || self.start == f64::NEG_INFINITY))
            .then_some(self.end)
            .filter(|e| e.is_finite())
    }
}

/// Writes the range back in the plugin syntax, shortest form first (`5`, `10:`, `~:5`, `@1:3`):
/// this is also what goes into the warn and crit fields of the performance data.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (s, e) if s == 0.0 && e.is_finite() => write!(f, "{e}"),
            (s, e) if s == f64::NEG_INFINITY && e.is_finite() => write!(f, "~:{e}"),
            (s, _) if s == f64::NEG_INFINITY => write!(f, "~:"),
            (s, e) if e.is_finite() => write!(f, "{s}:{e}"),
            (s, _) => write!(f, "{s}:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        Range::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn alerting(range: &str) -> Vec<i32> {
        let range = r(range);
        (-2..=25).filter(|&v| range.alerts(f64::from(v))).collect()
    }

    #[test]
    fn plain_number_alerts_above_it() {
        assert_eq!(
            alerting("5"),
            vec![
                -2, -1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25
            ]
        );
        // check_procs --warn 2 --crit 4: OK at 2, WARNING at 3, CRITICAL at 5.
        let (warn, crit) = (r("2"), r("4"));
        assert!(!warn.alerts(2.0) && !crit.alerts(2.0));
        assert!(warn.alerts(3.0) && !crit.alerts(3.0));
        assert!(!crit.alerts(4.0) && crit.alerts(5.0));
        assert!(!r("0").alerts(0.0) && r("0").alerts(1.0));
    }

    #[test]
    fn full_syntax() {
        assert_eq!(alerting("10:"), vec![-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(alerting("~:20"), vec![21, 22, 23, 24, 25]);
        assert_eq!(alerting("@10:12"), vec![10, 11, 12]);
        assert_eq!(alerting("3:20"), vec![-2, -1, 0, 1, 2, 21, 22, 23, 24, 25]);
        assert_eq!(alerting(":1"), alerting("1"));
        assert_eq!(alerting("@~:"), (-2..=25).collect::<Vec<_>>());
        assert!(r("2.5").alerts(3.0) && !r("2.5").alerts(2.0));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "", "@", "abc", "5:3", "1:2:3", "~", "inf", "nan", "5x", "@:x", "--5",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Range::parse("5:3").unwrap_err().contains("start"));
    }

    #[test]
    fn displays_in_plugin_syntax() {
        for s in [
            "5", "10:", "~:10", "3:20", "@10:20", "@5", "~:", "2.5", "-3:4",
        ] {
            assert_eq!(r(s).to_string(), s, "round trip of {s}");
        }
        assert_eq!(r(":7").to_string(), "7");
        assert_eq!(r("0:7").to_string(), "7");
    }

    #[test]
    fn plain_upper_bounds() {
        assert_eq!(r("5").plain_upper(), Some(5.0));
        assert_eq!(r("~:5").plain_upper(), Some(5.0));
        assert_eq!(r("@5").plain_upper(), None);
        assert_eq!(r("5:").plain_upper(), None);
        assert_eq!(r("2:5").plain_upper(), None);
    }
}
