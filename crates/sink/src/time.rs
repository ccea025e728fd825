//! Timestamp formatting without a calendar dependency.

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC with nine fractional digits,
/// e.g. `2024-04-24T23:06:40.000001000Z`.
pub fn format_rfc3339_nanos(ts_nanos: i64) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000);
    let nanos = ts_nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_rfc3339_nanos(1_714_000_000_000_001_000),
            "2024-04-24T23:06:40.000001000Z"
        );
        // A leap day, and an instant before the epoch.
        assert_eq!(
            format_rfc3339_nanos(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(format_rfc3339_nanos(-1), "1969-12-31T23:59:59.999999999Z");
        // The extremes of i64 do not panic.
        assert!(format_rfc3339_nanos(i64::MAX).starts_with("2262-04-11T23:47:16"));
        assert!(format_rfc3339_nanos(i64::MIN).starts_with("1677-09-21T00:12:43"));
    }
}
