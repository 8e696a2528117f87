//! "Did you mean ...?" for misspelt keys.

/// The known name closest to `input`, if it is close enough to be a
/// plausible typo (case differences, or a small edit distance).
pub(crate) fn closest<'a>(
    input: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    let max = (input.chars().count() / 3).clamp(1, 3);
    known
        .into_iter()
        .map(|k| {
            let d = if k.to_ascii_lowercase() == lower {
                0
            } else {
                distance(&lower, &k.to_ascii_lowercase())
            };
            (d, k)
        })
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `did you mean "x"?` when a known name is close.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(input, known).map(|k| format!("did you mean \"{k}\"?"))
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["vus", "duration", "iterations", "maxVUs", "preAllocatedVUs"];
        assert_eq!(closest("vu", keys), Some("vus"));
        assert_eq!(closest("VUS", keys), Some("vus"));
        assert_eq!(closest("maxVus", keys), Some("maxVUs"));
        assert_eq!(closest("duraton", keys), Some("duration"));
        assert_eq!(closest("preallocatedVUs", keys), Some("preAllocatedVUs"));
        assert_eq!(closest("foo", keys), None);
        assert_eq!(closest("x", keys), None);
    }
}
