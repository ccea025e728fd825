//! Times and sizes as the page writes them (UTC, SI units); no clock is read.

use sfbflow_sink::civil_from_days as civil;

/// `2026-11-24 13:05:00.123` (milliseconds), UTC.
pub(crate) fn datetime_ms(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `13:05:00` of a time, UTC; with the date when `with_date`.
pub(crate) fn clock(ns: i64, with_date: bool) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let s = secs.rem_euclid(86_400);
    let hms = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if with_date {
        let (y, m, d) = civil(secs.div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02} {hms}")
    } else {
        hms
    }
}

/// A duration for people: `850 ms`, `35.2 s`, `12 min 5 s`, `3 h 4 min`, `2 d 3 h`.
pub(crate) fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    let ms = ns / 1_000_000;
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ns / 1_000_000_000;
    if s < 60 {
        return format!("{:.1} s", ns as f64 / 1e9);
    }
    if s < 3600 {
        return format!("{} min {} s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{} h {} min", s / 3600, s / 60 % 60);
    }
    format!("{} d {} h", s / 86_400, s / 3600 % 24)
}

/// Bytes in SI units: `980 B`, `5.3 kB`, `12.0 MB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut i = 0;
    while v >= 999.95 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS.get(i).copied().unwrap_or("EB"))
}

/// A count with thin grouping: `1 234 567`.
pub(crate) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// `1 flow`, `3 flows`.
pub(crate) fn flows(n: u64) -> String {
    if n == 1 {
        "1 flow".to_owned()
    } else {
        format!("{} flows", count(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(datetime_ms(0), "1970-01-01 00:00:00.000");
        assert_eq!(
            datetime_ms(1_795_525_500_123_000_000),
            "2026-11-24 13:05:00.123"
        );
        assert_eq!(clock(1_795_525_500_123_000_000, false), "13:05:00");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(5300), "5.3 kB");
        assert_eq!(bytes(999_960), "1.0 MB");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(duration(35_200_000_000), "35.2 s");
        assert_eq!(flows(1), "1 flow");
    }
}
