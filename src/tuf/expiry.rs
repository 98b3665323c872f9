//! Times in metadata and on the command line.
//!
//! TUF's `expires` is `YYYY-MM-DDTHH:MM:SSZ` exactly (python-tuf refuses fractional seconds and
//! offsets); [`parse_tuf_time`] accepts only that. `now` is always passed in: nothing here reads
//! the clock.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

pub type Timestamp = OffsetDateTime;

/// Parses TUF's `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_tuf_time(s: &str) -> Result<Timestamp, String> {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    PrimitiveDateTime::parse(s, &fmt)
        .map(|t| t.assume_utc())
        .map_err(|_| {
            format!("expires {s:?} is not in TUF's YYYY-MM-DDTHH:MM:SSZ form (python-tuf refuses fractional seconds and offsets)")
        })
}

/// Formats as TUF's `YYYY-MM-DDTHH:MM:SSZ` (in UTC, whole seconds).
pub fn format_tuf_time(t: Timestamp) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A point in time given by a user: RFC 3339 (`2027-12-31T00:00:00Z`), a date (`2027-12-31`,
/// midnight UTC), or a span from `now` (`365d`, `26w`, `12h`).
pub fn parse_user_time(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    // Arithmetic is checked: a time past what metadata can hold is an error, never a panic.
    let too_far = || format!("{s:?} is past the year 9999: give an earlier time");
    if let Some(span) = parse_span(s) {
        return span.and_then(|d| now.checked_add(d).ok_or_else(too_far));
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return t.checked_to_offset(UtcOffset::UTC).ok_or_else(too_far);
    }
    let date_fmt = format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &date_fmt) {
        return Ok(d.midnight().assume_utc());
    }
    Err(format!(
        "cannot read the time {s:?}: give RFC 3339 (2027-12-31T00:00:00Z), a date (2027-12-31) or a span (365d, 26w, 12h)"
    ))
}

fn parse_span(s: &str) -> Option<Result<Duration, String>> {
    let unit = s.chars().last()?;
    let num = &s[..s.len() - unit.len_utf8()];
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = match num.parse() {
        Ok(n) if n <= 100_000 => n,
        _ => return Some(Err(format!("span {s:?} is too long"))),
    };
    let d = match unit {
        'd' => Duration::days(n),
        'w' => Duration::weeks(n),
        'h' => Duration::hours(n),
        'y' => Duration::days(365 * n),
        _ => return None,
    };
    Some(Ok(d))
}

/// The days from `now` until `t` as people count them on a screen: to the nearest whole day (a
/// time 399 days and 23 hours away is "in 400 days", whether it is read now or a minute later).
pub fn days_until(t: Timestamp, now: Timestamp) -> i64 {
    let d = t - now;
    if d.is_negative() {
        -(-d + Duration::hours(12)).whole_days()
    } else {
        (d + Duration::hours(12)).whole_days()
    }
}

/// Whole seconds, UTC: what metadata can hold.
pub fn truncate(t: Timestamp) -> Timestamp {
    t.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Days on a screen are counted to the nearest day: the same expiry read a minute apart
    /// shows the same number (issue 21: a review said 399 where the prompt had said 400).
    #[test]
    fn days_are_counted_to_the_nearest_day() {
        let now = datetime!(2026-12-01 08:00 UTC);
        let t = now + Duration::days(400);
        assert_eq!(days_until(t, now), 400);
        assert_eq!(days_until(t, now + Duration::minutes(1)), 400);
        assert_eq!(days_until(t, now + Duration::hours(11)), 400);
        assert_eq!(days_until(t, now + Duration::hours(13)), 399);
        assert_eq!(days_until(now, now), 0);
        assert_eq!(days_until(now - Duration::days(3), now), -3);
        assert_eq!(
            days_until(now - Duration::days(3) + Duration::minutes(1), now),
            -3
        );
    }

    #[test]
    fn tuf_time_round_trips_and_is_strict() {
        let t = parse_tuf_time("2030-01-01T00:00:00Z").unwrap();
        assert_eq!(format_tuf_time(t), "2030-01-01T00:00:00Z");
        assert!(parse_tuf_time("2022-05-11T19:09:02.663975009Z").is_err());
        assert!(parse_tuf_time("2021-12-18T13:28:12-06:00").is_err());
        // Past the year 9999: an error, not a panic.
        let now = datetime!(2026-12-01 00:00 UTC);
        assert!(parse_user_time("9000y", now).unwrap_err().contains("9999"));
        assert!(parse_user_time("9999-12-31T23:59:59-23:59", now).is_err());
    }

    proptest::proptest! {
        /// Any span or time at the edges of the range is a value or an error, never a panic.
        #[test]
        fn user_times_never_panic(n in 0u64..200_000, unit in proptest::sample::select(vec!['d', 'w', 'h', 'y']), year in 1u32..=9999, off in -23i32..=23) {
            let now = OffsetDateTime::now_utc();
            for edge in [now, datetime!(9999-12-31 23:59:59 UTC), datetime!(0001-01-01 00:00 UTC)] {
                let _ = parse_user_time(&format!("{n}{unit}"), edge);
                let _ = parse_user_time(&format!("{year:04}-12-31T23:59:59{}{:02}:59", if off < 0 { '-' } else { '+' }, off.abs()), edge);
                let _ = parse_user_time(&format!("{year:04}-01-01"), edge);
            }
        }
    }

    #[test]
    fn user_times() {
        let now = datetime!(2026-11-28 12:00 UTC);
        assert_eq!(
            parse_user_time("1d", now).unwrap(),
            datetime!(2026-11-29 12:00 UTC)
        );
        assert_eq!(
            parse_user_time("2027-01-01", now).unwrap(),
            datetime!(2027-01-01 0:00 UTC)
        );
        assert_eq!(
            parse_user_time("2027-01-01T01:00:00+01:00", now).unwrap(),
            datetime!(2027-01-01 0:00 UTC)
        );
        assert!(parse_user_time("soon", now).is_err());
        assert!(parse_user_time("99999999d", now).is_err());
    }
}
