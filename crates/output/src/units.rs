//! Short human-readable numbers for reports: `212ms`, `1.25s`, `3.4 MB`,
//! `0.25%`, `12,345`.

/// A duration given in milliseconds: `850µs`, `12.3ms`, `212ms`, `1.25s`, `2m5s`.
pub fn ms(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0ms".into()
    } else if a < 1.0 {
        format!("{}µs", sig(v * 1000.0))
    } else if a < 1000.0 {
        format!("{}ms", sig(v))
    } else if a < 60_000.0 {
        format!("{}s", sig(v / 1000.0))
    } else {
        let secs = (v / 1000.0).round() as i64;
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// Three significant digits, at most two decimals: `0.35`, `12.3`, `212`.
fn sig(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Bytes in SI units as k6 prints them: `512 B`, `3.4 kB`, `12 MB`.
pub fn bytes(v: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1000.0 && i < units.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    format!("{} {}", sig(x), units[i])
}

/// A fraction as a percentage: `0%`, `0.25%`, `12.5%`, `100%`.
pub fn pct(r: f64) -> String {
    let p = r * 100.0;
    if p == 0.0 {
        return "0%".into();
    }
    let s = if p.abs() < 0.01 {
        format!("{p:.4}")
    } else {
        format!("{p:.2}")
    };
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// An integer with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second: `1,234/s`, `12.5/s`.
pub fn per_sec(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}/s", count(v.round() as u64))
    } else {
        format!("{}/s", sig(v))
    }
}

/// A metric value as its kind reads: `time` in ms, `data` in bytes, else a number.
pub fn value(v: f64, contains: &str) -> String {
    match contains {
        "time" => ms(v),
        "data" => bytes(v),
        _ => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                sig(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable() {
        assert_eq!(ms(0.0), "0ms");
        assert_eq!(ms(0.35), "350µs");
        assert_eq!(ms(0.1845), "184µs");
        assert_eq!(ms(12.345), "12.3ms");
        assert_eq!(ms(212.4), "212ms");
        assert_eq!(ms(1250.0), "1.25s");
        assert_eq!(ms(125_000.0), "2m5s");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3_400.0), "3.4 kB");
        assert_eq!(bytes(12_000_000.0), "12 MB");
        assert_eq!(pct(0.0), "0%");
        assert_eq!(pct(0.0025), "0.25%");
        assert_eq!(pct(0.000_012), "0.0012%");
        assert_eq!(pct(1.0), "100%");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(per_sec(6367.98), "6,368/s");
        assert_eq!(per_sec(12.5), "12.5/s");
        assert_eq!(value(3.0, "default"), "3");
        assert_eq!(value(0.5, "default"), "0.5");
    }
}
