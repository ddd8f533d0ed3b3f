//! Date conversions between unix milliseconds and the textual forms feeds use.
//!
//! Everything here is written out by hand on purpose (no date crate): formatting
//! RFC 3339 timestamps for Atom, and parsing RFC 3339 / W3C-DTF (Atom, `dc:date`),
//! RFC 822/2822 (RSS `pubDate`) and the three HTTP-date forms (`Retry-After`).
//! All results are UTC. Instants before 1970 are not representable as `u64`
//! milliseconds, so the parsers return `None` for them.

/// The last instant [`format_rfc3339`] can render with a four-digit year:
/// 9999-12-31T23:59:59.999Z. Larger inputs are clamped to it.
pub const MAX_RFC3339_MS: u64 = 253_402_300_799_999;

const MS_PER_DAY: u64 = 86_400_000;

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`.
///
/// `month` is 1..=12 and `day` 1..=31; the caller validates the ranges. Works for
/// any year, including before 1970 (negative result).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year so it starts in March: the leap day is then the last day of
    // the shifted year, and month lengths follow a regular 153-days-per-5-months
    // pattern.
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400); // 0..=399
    let shifted_month = (m + 9) % 12; // March = 0 .. February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + d - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 = days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a count of days since
/// 1970-01-01 (the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both values are small and positive by construction.
    (year, month as u32, day as u32)
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1..=12) of `year`; 0 for an invalid month.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Formats unix milliseconds as an RFC 3339 UTC timestamp, e.g.
/// `2003-12-13T18:30:02Z`, with a `.mmm` fraction only when the milliseconds are
/// not zero. Values past year 9999 are clamped to [`MAX_RFC3339_MS`].
pub fn format_rfc3339(unix_ms: u64) -> String {
    let ms = unix_ms.min(MAX_RFC3339_MS);
    let days = ms / MS_PER_DAY;
    let ms_of_day = ms % MS_PER_DAY;
    // `days` is at most ~2.9 million, well inside i64.
    let (year, month, day) = civil_from_days(days as i64);
    let secs_of_day = ms_of_day / 1000;
    let (hour, minute, second) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let millis = ms_of_day % 1000;
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }
}

/// Unix milliseconds of a UTC civil time plus an offset to subtract, or `None`
/// when the fields are out of range or the instant is before 1970.
fn to_unix_ms(
    year: i64,
    month: u32,
    day: u32,
    (hour, minute, second): (u32, u32, u32),
    millis: u32,
    offset_minutes: i64,
) -> Option<u64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 || millis > 999 {
        return None;
    }
    // A leap second is folded into the second before it.
    let second = second.min(59);
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    let ms = secs.checked_mul(1000)?.checked_add(i64::from(millis))?;
    u64::try_from(ms).ok()
}

/// A tiny cursor over ASCII bytes for the hand-written parsers.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            bytes: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        let mut value = 0u32;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos += n;
        Some(value)
    }
}

/// Parses an RFC 3339 timestamp (Atom dates), also accepting the W3C-DTF
/// profile of ISO 8601 used by `dc:date`: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, times
/// without seconds, any number of fraction digits, `t`/`z` in lower case, a
/// space instead of `T`, and a missing zone (taken as UTC).
///
/// Returns unix milliseconds, or `None` if the text is not such a date or lies
/// before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let mut c = Cursor::new(text.trim());
    let year = i64::from(c.digits(4)?);
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0);
    let mut offset = 0i64;
    if c.eat(b'-') {
        month = c.digits(2)?;
        if c.eat(b'-') {
            day = c.digits(2)?;
            if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
                c.pos += 1;
                hour = c.digits(2)?;
                if !c.eat(b':') {
                    return None;
                }
                minute = c.digits(2)?;
                if c.eat(b':') {
                    second = c.digits(2)?;
                    if c.eat(b'.') || c.eat(b',') {
                        let mut scale = 100;
                        let start = c.pos;
                        while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                            millis += u32::from(b - b'0') * scale;
                            scale /= 10;
                            c.pos += 1;
                        }
                        if c.pos == start {
                            return None;
                        }
                    }
                }
                match c.peek() {
                    None => {}
                    Some(b'Z' | b'z') => c.pos += 1,
                    Some(sign @ (b'+' | b'-')) => {
                        c.pos += 1;
                        let oh = c.digits(2)?;
                        c.eat(b':');
                        let om = c.digits(2)?;
                        if oh > 23 || om > 59 {
                            return None;
                        }
                        let minutes = i64::from(oh * 60 + om);
                        offset = if sign == b'+' { minutes } else { -minutes };
                    }
                    Some(_) => return None,
                }
            }
        }
    }
    if !c.at_end() {
        return None;
    }
    to_unix_ms(year, month, day, (hour, minute, second), millis, offset)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Month number (1..=12) of an English month name or its three-letter abbreviation.
fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let lower = lower.trim_end_matches('.');
    let prefix = lower.get(..3)?;
    let index = MONTHS.iter().position(|m| *m == prefix)?;
    // Accept "jun", "june", "sept"; reject "junk".
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ][index];
    (lower.len() == 3 || full.starts_with(lower) || lower == "sept").then_some(index as u32 + 1)
}

fn is_weekday(token: &str) -> bool {
    let lower = token.trim_end_matches(',').to_ascii_lowercase();
    lower.len() >= 3
        && lower.get(..3).is_some_and(|p| WEEKDAYS.contains(&p))
        && lower.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Offset in minutes east of UTC of an RFC 822/2822 zone (`+0200`, `-05:00`,
/// `GMT`, `EST`, a military letter ...). Unknown or absent zones count as UTC, as
/// RFC 2822 asks for `-0000` and for military zones.
fn zone_offset(token: Option<&str>) -> Option<i64> {
    let Some(token) = token else { return Some(0) };
    let bytes = token.as_bytes();
    if let Some(&sign @ (b'+' | b'-')) = bytes.first() {
        let digits: String = token[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i64 = digits[..2].parse().ok()?;
        let minutes: i64 = digits[2..].parse().ok()?;
        if minutes > 59 {
            return None;
        }
        let total = hours * 60 + minutes;
        return Some(if sign == b'+' { total } else { -total });
    }
    let hours = match token.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        other if other.bytes().all(|b| b.is_ascii_alphabetic()) => 0,
        _ => return None,
    };
    Some(hours * 60)
}

/// `HH:MM` or `HH:MM:SS`.
fn parse_clock(token: &str) -> Option<(u32, u32, u32)> {
    let mut parts = token.split(':');
    let mut field = || -> Option<u32> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let hour = field()?;
    let minute = field()?;
    let second = field().unwrap_or(0);
    if parts.next().is_some() {
        return None;
    }
    Some((hour, minute, second))
}

/// Two-digit years per RFC 2822 4.3: 00–49 are 2000–2049, 50–99 are 1950–1999;
/// three-digit years add 1900.
fn full_year(token: &str) -> Option<i64> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = token.parse().ok()?;
    Some(match token.len() {
        1 | 2 if y < 50 => 2000 + y,
        1 | 2 => 1900 + y,
        3 => 1900 + y,
        _ => y,
    })
}

/// Parses an RFC 822 / RFC 2822 date-time as used by RSS `pubDate`, e.g.
/// `Tue, 10 Jun 2003 04:00:00 GMT` or `10 Jun 03 04:00 +0200`.
///
/// Also accepts the two obsolete HTTP-date forms (RFC 850
/// `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`), so
/// it serves for `Retry-After` and `Last-Modified` too. Returns unix milliseconds,
/// or `None` if the text is not such a date or lies before 1970.
pub fn parse_rfc2822(text: &str) -> Option<u64> {
    let text = text.trim();
    // Drop a leading day name, with or without a comma.
    let rest = match text.split_once(',') {
        Some((day_name, rest)) if is_weekday(day_name.trim()) => rest,
        _ => text,
    };
    let mut tokens: Vec<&str> = rest.split_whitespace().collect();
    if tokens.first().is_some_and(|t| is_weekday(t)) {
        tokens.remove(0);
    }
    // RFC 850 writes the date as one token: 06-Nov-94.
    if tokens.first().is_some_and(|t| t.matches('-').count() == 2) {
        let first = tokens.remove(0);
        let mut parts: Vec<&str> = first.split('-').collect();
        parts.extend(tokens);
        tokens = parts;
    }
    let (day, month, year, clock, zone) = if tokens.first().and_then(|t| month_number(t)).is_some()
    {
        // asctime: Nov 6 08:49:37 1994 [zone]
        let [mon, day, clock, year, rest @ ..] = tokens.as_slice() else {
            return None;
        };
        (*day, *mon, *year, *clock, rest.first().copied())
    } else {
        let [day, mon, year, clock, rest @ ..] = tokens.as_slice() else {
            return None;
        };
        (*day, *mon, *year, *clock, rest.first().copied())
    };
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = month_number(month)?;
    let year = full_year(year)?;
    let clock = parse_clock(clock)?;
    let offset = zone_offset(zone)?;
    to_unix_ms(year, month, day, clock, 0, offset)
}

/// Parses any date a feed or an HTTP header may carry: RFC 3339 / W3C-DTF first,
/// then RFC 822/2822 and the HTTP-date forms.
pub fn parse_any(text: &str) -> Option<u64> {
    parse_rfc3339(text).or_else(|| parse_rfc2822(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    #[test]
    fn epoch_formats_as_1970_01_01() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn known_dates_format() {
        // 2003-12-13T18:30:02Z is the Atom RFC's example.
        assert_eq!(format_rfc3339(1_071_340_202_000), "2003-12-13T18:30:02Z");
        assert_eq!(format_rfc3339(1_000_000_000_000), "2001-09-09T01:46:40Z");
        assert_eq!(
            format_rfc3339(1_234_567_890_123),
            "2009-02-13T23:31:30.123Z"
        );
        assert_eq!(format_rfc3339(4_102_444_800_000), "2100-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(u64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn leap_years_and_leap_days() {
        assert!(
            is_leap_year(2000) && is_leap_year(2024) && !is_leap_year(1900) && !is_leap_year(2100)
        );
        // 2000-02-29 exists (divisible by 400) ...
        let feb29_2000 = days_from_civil(2000, 2, 29);
        assert_eq!(civil_from_days(feb29_2000), (2000, 2, 29));
        assert_eq!(civil_from_days(feb29_2000 + 1), (2000, 3, 1));
        assert_eq!(
            format_rfc3339(feb29_2000 as u64 * DAY),
            "2000-02-29T00:00:00Z"
        );
        // ... 2100 has no Feb 29.
        assert_eq!(
            civil_from_days(days_from_civil(2100, 2, 28) + 1),
            (2100, 3, 1)
        );
        assert_eq!(format_rfc3339(1_709_164_800_000), "2024-02-29T00:00:00Z");
        assert_eq!(
            days_from_civil(2024, 12, 31) - days_from_civil(2024, 1, 1),
            365
        );
        assert_eq!(
            days_from_civil(2023, 12, 31) - days_from_civil(2023, 1, 1),
            364
        );
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn civil_round_trips_every_day_for_five_centuries() {
        let start = days_from_civil(1800, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        let mut expected = (1800, 1, 1);
        for days in start..end {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            assert_eq!(days_from_civil(expected.0, expected.1, expected.2), days);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn rfc3339_parses_and_round_trips() {
        for ms in [
            0,
            1_071_340_202_000,
            1_234_567_890_123,
            1_709_164_800_000,
            4_102_444_799_999,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339("2003-12-13T18:30:02+01:00"),
            Some(1_071_336_602_000)
        );
        assert_eq!(
            parse_rfc3339("2003-12-13T18:30:02-05:30"),
            Some(1_071_360_002_000)
        );
        assert_eq!(
            parse_rfc3339("2003-12-13t18:30:02.25z"),
            Some(1_071_340_202_250)
        );
        assert_eq!(parse_rfc3339("2003-12-13T18:30Z"), Some(1_071_340_200_000));
        assert_eq!(parse_rfc3339(" 2003-12-13 "), Some(1_071_273_600_000));
        assert_eq!(parse_rfc3339("2003"), Some(1_041_379_200_000));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), None);
        for bad in [
            "",
            "yesterday",
            "2003-13-01",
            "2003-12-13T25:00:00Z",
            "2003-12-13T18:30:02+0",
            "2003-12-13T18:30:02Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc2822_parses_rss_dates_and_zones() {
        let base = 1_055_217_600_000; // 2003-06-10T04:00:00Z
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 04:00:00 GMT"), Some(base));
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 04:00:00 UT"), Some(base));
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 04:00:00 Z"), Some(base));
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 04:00:00 +0000"), Some(base));
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 06:00:00 +0200"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 23:00:00 EST"), Some(base));
        assert_eq!(parse_rfc2822("Tue, 10 Jun 2003 00:00:00 EDT"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 22:00:00 CST"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 23:00:00 CDT"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 21:00:00 MST"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 22:00:00 MDT"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 20:00:00 PST"), Some(base));
        assert_eq!(parse_rfc2822("Mon, 09 Jun 2003 21:00:00 PDT"), Some(base));
        // No day name, two-digit year, no seconds, no zone.
        assert_eq!(parse_rfc2822("10 Jun 03 04:00"), Some(base));
        assert_eq!(parse_rfc2822("10 June 2003 04:00:00 -0000"), Some(base));
        // A leap day.
        assert_eq!(
            parse_rfc2822("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        for bad in [
            "",
            "Tue, 10 Foo 2003 04:00:00 GMT",
            "Tue, 31 Jun 2003 04:00:00 GMT",
            "10 Jun 2003",
            "Tue, 10 Jun 2003 04:00:00 +02",
        ] {
            assert_eq!(parse_rfc2822(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_date_forms_parse() {
        let t = 784_111_777_000; // 1994-11-06T08:49:37Z, RFC 9110's example.
        assert_eq!(parse_rfc2822("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_rfc2822("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_rfc2822("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(parse_any("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_any("1994-11-06T08:49:37Z"), Some(t));
    }
}
