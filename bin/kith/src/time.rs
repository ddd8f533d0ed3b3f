//! Time: now, and RFC 3339 text for entry timestamps (milliseconds since the Unix epoch).

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ts` (ms since the Unix epoch, UTC) as RFC 3339 with second precision: `2025-11-24T15:20:00Z`.
pub(crate) fn rfc3339_seconds(ts: u64) -> String {
    let seconds = ts / 1000;
    let (year, month, day) = civil_date(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// The proleptic Gregorian (year, month, day) of day number `days` since 1970-01-01.
///
/// Counts in 400-year cycles (146 097 days) starting on a 1 March, so the leap day is the
/// last day of each counted year and the month lengths from March on follow a fixed pattern.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // 1970-01-01 is 719 468 days after 0000-03-01.
    let days = days + 719_468;
    let cycle = days / 146_097;
    let day_of_cycle = days % 146_097;
    // Years into the cycle, accounting for the 4-, 100- and 400-year leap rules.
    let year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    // Month counted from March = 0; lengths 31 30 31 30 31 31 30 31 30 31 31 (28/29).
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = cycle * 400 + year_of_cycle + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(999), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_seconds(951_868_799_000), "2000-02-29T23:59:59Z");
        assert_eq!(rfc3339_seconds(951_868_800_000), "2000-03-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_seconds(4_107_542_399_000), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339_seconds(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339_seconds(253_402_300_799_000), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // Walk 800 years day by day and check the calendar never skips or repeats a day.
        let mut previous = civil_date(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..(800 * 366) {
            let date = civil_date(days);
            let (y, m, d) = previous;
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let month_len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if d < month_len {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(date, expected, "day {days}");
            previous = date;
        }
    }
}
