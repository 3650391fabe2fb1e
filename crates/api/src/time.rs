//! The faces' time formats: rendering epoch milliseconds (UTC or a fixed offset, no time
//! zone database) and parsing the times clients send (through `jiff`).

use imagehub_catalog::Millis;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn parts(ms: i64, offset_secs: i32) -> (i64, u32, u32, i64, i64, i64) {
    let secs = ms.div_euclid(1000) + i64::from(offset_secs);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    (y, m, d, t / 3600, t % 3600 / 60, t % 60)
}

/// `YYYY-MM-DD HH:MM:SS` at a fixed offset from UTC (SCNet).
pub fn local_seconds(ms: i64, offset_secs: i32) -> String {
    let (y, m, d, hh, mm, ss) = parts(ms, offset_secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC (Glance).
pub fn iso_utc(ms: i64) -> String {
    match iso_utc_digits(ms) {
        Some(b) => b.iter().map(|&b| char::from(b)).collect(),
        None => {
            let (y, m, d, hh, mm, ss) = parts(ms, 0);
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        }
    }
}

/// [`iso_utc`] as 20 ASCII bytes, written without formatting machinery (a Glance page
/// has two times per image); `None` for years outside 0–9999, which take more digits.
pub fn iso_utc_digits(ms: i64) -> Option<[u8; 20]> {
    let (y, m, d, hh, mm, ss) = parts(ms, 0);
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let two = |b: &mut [u8], v: i64| {
        b[0] = b'0' + (v / 10 % 10) as u8;
        b[1] = b'0' + (v % 10) as u8;
    };
    two(&mut b[0..2], y / 100);
    two(&mut b[2..4], y % 100);
    two(&mut b[5..7], i64::from(m));
    two(&mut b[8..10], i64::from(d));
    two(&mut b[11..13], hh);
    two(&mut b[14..16], mm);
    two(&mut b[17..19], ss);
    Some(b)
}

/// Parses a date and time as IMS writes them (seed 003): RFC 3339 / ISO 8601 with an
/// offset (`2021-09-23T16:43:10Z`, `…+08:00`, fractions allowed) or without one, read as
/// UTC (`2021-09-23 16:43:10`, `2021-09-23T16:43:10`), into epoch milliseconds. Dates that
/// do not exist (`2024-02-31`) and anything else are `None`.
pub fn parse_datetime(s: &str) -> Option<Millis> {
    let s = s.trim();
    let at = match s.parse::<jiff::Timestamp>() {
        Ok(t) => t,
        // No offset: a civil date and time, in UTC.
        Err(_) => jiff::tz::Offset::UTC.to_timestamp(s.parse::<jiff::civil::DateTime>().ok()?).ok()?,
    };
    Some(Millis(at.as_millisecond()))
}

/// Parses a fixed offset `+HH:MM` / `-HH:MM` / `Z` / `UTC` into seconds.
pub fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2022-10-31 17:00:47 at +08:00 is 09:00:47 UTC.
        assert_eq!(local_seconds(1_667_206_847_000, 8 * 3600), "2022-10-31 17:00:47");
        assert_eq!(local_seconds(1_667_206_847_999, 0), "2022-10-31 09:00:47");
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso_utc(1_632_415_390_765), "2021-09-23T16:43:10Z");
        // Years past 9999 take more digits, and the digits path gives them up.
        assert_eq!(iso_utc(253_402_300_800_000), "10000-01-01T00:00:00Z");
        assert_eq!(iso_utc_digits(253_402_300_800_000), None);
        assert_eq!(iso_utc(253_402_300_799_000), "9999-12-31T23:59:59Z");
    }

    /// The digits path writes what the formatting path writes.
    #[test]
    fn iso_digits_agree_with_formatting() {
        let mut ms = -62_167_219_200_000i64; // 0000-01-01
        while ms < 253_402_300_800_000 {
            let (y, m, d, hh, mm, ss) = parts(ms, 0);
            let formatted = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z");
            assert_eq!(iso_utc_digits(ms).map(|b| String::from_utf8(b.to_vec()).unwrap()), Some(formatted), "{ms}");
            ms += 97_777_777_777;
        }
    }

    #[test]
    fn datetimes_parse_in_both_ims_formats() {
        assert_eq!(parse_datetime("2021-09-23T16:43:10Z"), Some(Millis(1_632_415_390_000)));
        assert_eq!(parse_datetime("2021-09-23 16:43:10"), Some(Millis(1_632_415_390_000)));
        assert_eq!(parse_datetime("2021-09-23T16:43:10"), Some(Millis(1_632_415_390_000)));
        assert_eq!(parse_datetime("2021-09-24T00:43:10+08:00"), Some(Millis(1_632_415_390_000)));
        assert_eq!(parse_datetime("2021-09-23T16:43:10.765Z"), Some(Millis(1_632_415_390_765)));
        assert_eq!(parse_datetime("2000-02-29T00:00:00Z"), Some(Millis(951_782_400_000)));
        for bad in [
            "yesterday",
            "2021-13-01T00:00:00Z",
            "2024-02-31T00:00:00Z",
            "2023-02-29 00:00:00",
            "",
            "2021-09-23T16:43:1\u{e9}",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever a client sends, the parser answers (it once sliced by byte offsets,
        /// and a multi-byte character made it panic).
        #[test]
        fn datetime_parsing_never_panics(
            prefix in "(20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:)?",
            rest in "\\PC{0,40}",
        ) {
            let _ = parse_datetime(&format!("{prefix}{rest}"));
        }
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+08:00"), Some(28_800));
        assert_eq!(parse_offset("-05:30"), Some(-19_800));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("08:00"), None);
        assert_eq!(parse_offset("+25:00"), None);
        assert_eq!(parse_offset("Asia/Shanghai"), None);
    }
}
