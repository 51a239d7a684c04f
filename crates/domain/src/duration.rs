//! Durations as people write them in journey definitions: `72h`, `30m`, `2d`, `1h30m`.

use jiff::SignedDuration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a duration such as 30m, 2h, 1h30m or 3d")]
pub struct BadDuration(pub String);

/// Reads `[N d][N h][N m][N s]`, at least one part, in that order.
pub fn parse(text: &str) -> Result<SignedDuration, BadDuration> {
    let bad = || BadDuration(text.to_owned());
    let mut total = SignedDuration::ZERO;
    let mut number = String::new();
    let mut last_unit = 0;
    let mut parts = 0;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, seconds) = match c {
            'd' => (1, 86_400),
            'h' => (2, 3_600),
            'm' => (3, 60),
            's' => (4, 1),
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        if rank <= last_unit {
            return Err(bad());
        }
        let part = n.checked_mul(seconds).ok_or_else(bad)?;
        total = total
            .checked_add(SignedDuration::from_secs(part))
            .ok_or_else(bad)?;
        number.clear();
        last_unit = rank;
        parts += 1;
    }
    if parts == 0 || !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(parse("72h"), Ok(SignedDuration::from_hours(72)));
        assert_eq!(parse("1h30m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse("2d"), Ok(SignedDuration::from_hours(48)));
        assert_eq!(parse("45s"), Ok(SignedDuration::from_secs(45)));
        for bad in ["", "h", "72", "2 h", "30m1h", "1h1h", "-2h", "1w"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
