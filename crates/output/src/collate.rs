//! The order k6's summary sorts metric names in: JavaScript `localeCompare`
//! (goja: Unicode collation, root locale, punctuation not ignored), with
//! sub-metrics kept right after their parent.

use std::cmp::Ordering;

/// Primary weight of an ASCII character in the Unicode collation table
/// (DUCET): whitespace, punctuation and symbols, digits, then letters
/// regardless of case. Control characters are ignorable (`None`).
fn primary(c: char) -> Option<u32> {
    const PUNCT: &str = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";
    if c.is_ascii_control() {
        return None;
    }
    if let Some(i) = PUNCT.find(c) {
        return Some(1 + i as u32);
    }
    if c.is_ascii_digit() {
        return Some(100 + (c as u32 - '0' as u32));
    }
    if c.is_ascii_alphabetic() {
        return Some(200 + (c.to_ascii_lowercase() as u32 - 'a' as u32));
    }
    // Beyond ASCII: after the letters, by code point (a simplification).
    Some(1000 + c as u32)
}

/// Tertiary weight: lower case before upper case.
fn tertiary(c: char) -> u32 {
    u32::from(c.is_ascii_uppercase())
}

/// `a.localeCompare(b)` as k6's JavaScript runtime orders metric names:
/// `_` < digits < letters, `a` < `A` < `a_` < `b`.
pub fn locale_compare(a: &str, b: &str) -> Ordering {
    let pa = a.chars().filter_map(primary);
    let pb = b.chars().filter_map(primary);
    match pa.cmp(pb) {
        Ordering::Equal => {}
        other => return other,
    }
    let ta = a.chars().filter(|c| primary(*c).is_some()).map(tertiary);
    let tb = b.chars().filter(|c| primary(*c).is_some()).map(tertiary);
    match ta.cmp(tb) {
        Ordering::Equal => a.cmp(b),
        other => other,
    }
}

/// k6's `sortMetricsByName`: by parent name, then by the `{...}` part.
pub fn compare_metric_names(a: &str, b: &str) -> Ordering {
    let split = |s: &str| -> (usize, usize) {
        let i = s.find('{').unwrap_or(s.len());
        (i, s.len())
    };
    let (ia, _) = split(a);
    let (ib, _) = split(b);
    locale_compare(&a[..ia], &b[..ib]).then_with(|| locale_compare(&a[ia..], &b[ib..]))
}

/// Sorts names as [`compare_metric_names`] does.
pub fn sort_metric_names(names: &mut [String]) {
    names.sort_by(|a, b| compare_metric_names(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| locale_compare(a, b));
        v
    }

    #[test]
    fn orders_like_goja_locale_compare() {
        // k6 v1.1.0: ['b','a_','A','a','_','1','B'].sort((x,y)=>x.localeCompare(y))
        assert_eq!(
            sorted(&["b", "a_", "A", "a", "_", "1", "B"]),
            ["_", "1", "a", "A", "a_", "b", "B"]
        );
        // k6 v1.1.0, same with sub-metric suffixes.
        assert_eq!(
            sorted(&[
                "{a:b}", "{a b}", "{a-b}", "{a_b}", "{a.b}", "{a,b}", "{a:c}", "{ab}", "{a}",
                "{a=b}", "{a/b}", "{a1}"
            ]),
            [
                "{a b}", "{a_b}", "{a-b}", "{a,b}", "{a:b}", "{a:c}", "{a.b}", "{a}", "{a/b}",
                "{a=b}", "{a1}", "{ab}"
            ]
        );
    }

    #[test]
    fn metric_names_like_k6_summary() {
        // Order of custom counters in k6 v1.1.0's summary.
        let mut names: Vec<String> = [
            "t_a", "ta", "tA", "t9", "Tb", "tb", "t_", "tZ", "t0a", "t10", "t2", "tab", "t_b",
            "taB", "TA",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_metric_names(&mut names);
        assert_eq!(
            names,
            [
                "t_", "t_a", "t_b", "t0a", "t10", "t2", "t9", "ta", "tA", "TA", "tab", "taB", "tb",
                "Tb", "tZ"
            ]
        );
        let mut names: Vec<String> = [
            "http_reqs",
            "http_req_duration{status:404}",
            "http_req_duration",
            "http_req_duration{expected_response:true}",
            "http_req_failed",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_metric_names(&mut names);
        assert_eq!(
            names,
            [
                "http_req_duration",
                "http_req_duration{expected_response:true}",
                "http_req_duration{status:404}",
                "http_req_failed",
                "http_reqs"
            ]
        );
    }
}
