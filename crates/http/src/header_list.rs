//! Response headers as Go's `Header` holds them and k6 shows them, kept in
//! two allocations whatever their number.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Response headers: canonical names (`content-type` → `Content-Type`), the
/// values of a repeated name joined with `, `, in order of first
/// appearance. Names and values live back to back in one string.
#[derive(Clone, Default)]
pub struct HeaderList {
    text: String,
    /// Name and value of each header, as byte ranges of `text`.
    spans: Vec<[u32; 4]>,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header as received: the name is canonicalised and a name
    /// already present gets `, value` appended to its value. Invalid UTF-8
    /// in the value is replaced, as Go's strings show it.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let value = text(value);
        if let Some(i) = self.position(name) {
            // Rare: the merged value goes to the end, the old one stays
            // unreferenced in `text`.
            let [ns, ne, vs, ve] = self.spans[i];
            let start = self.text.len();
            self.text.extend_from_within(vs as usize..ve as usize);
            self.text.push_str(", ");
            self.text.push_str(&value);
            self.spans[i] = [ns, ne, offset(start), offset(self.text.len())];
            return;
        }
        let ns = self.text.len();
        push_canonical(&mut self.text, name);
        let vs = self.text.len();
        self.text.push_str(&value);
        self.spans
            .push([offset(ns), offset(vs), offset(vs), offset(self.text.len())]);
    }

    /// An empty list with room for `count` headers of `bytes` bytes in all.
    pub fn with_capacity(count: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(count),
        }
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.value(i))
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            next: 0,
        }
    }

    /// How many distinct names.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no header.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        (0..self.spans.len()).find(|&i| self.name(i).eq_ignore_ascii_case(name))
    }

    fn name(&self, i: usize) -> &str {
        let [ns, ne, ..] = self.spans[i];
        &self.text[range(ns, ne)]
    }

    fn value(&self, i: usize) -> &str {
        let [.., vs, ve] = self.spans[i];
        &self.text[range(vs, ve)]
    }
}

/// The (name, value) pairs of a [`HeaderList`].
pub struct Iter<'a> {
    list: &'a HeaderList,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        if i >= self.list.len() {
            return None;
        }
        self.next += 1;
        Some((self.list.name(i), self.list.value(i)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.list.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a HeaderList {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for HeaderList {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for HeaderList {}

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let mut list = Self::new();
        for (k, v) in iter {
            list.push(k, v.as_bytes());
        }
        list
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a response head is far smaller than 4 GiB")
}

fn range(start: u32, end: u32) -> Range<usize> {
    start as usize..end as usize
}

/// A header value as text: invalid UTF-8 is replaced, as Go's strings show it.
pub(crate) fn header_text(value: &[u8]) -> String {
    text(value).into_owned()
}

/// `value` as text, checked with the fast validator before the lossy path.
fn text(value: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(value),
    }
}

/// Appends Go's `textproto.CanonicalMIMEHeaderKey(name)`: `content-type` →
/// `Content-Type`; a name with bytes outside the token set is kept as is.
pub(crate) fn push_canonical(out: &mut String, name: &str) {
    let bytes = name.as_bytes();
    if !bytes.iter().all(|&b| is_token_byte(b)) || is_canonical(bytes) {
        out.push_str(name);
        return;
    }
    out.reserve(bytes.len());
    let mut upper = true;
    for &b in bytes {
        out.push(char::from(if upper {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        }));
        upper = b == b'-';
    }
}

/// Whether a name is already in canonical form (servers mostly send them so).
pub(crate) fn is_canonical(name: &[u8]) -> bool {
    let mut upper = true;
    for &b in name {
        if upper && b.is_ascii_lowercase() || !upper && b.is_ascii_uppercase() {
            return false;
        }
        upper = b == b'-';
    }
    true
}

/// Whether `b` may appear in a header name or cookie name (RFC 9110 `tchar`).
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_repeats_merged_in_first_order() {
        let mut h = HeaderList::new();
        h.push("content-type", b"text/plain");
        h.push("X-MULTI", b"a");
        h.push("etag", b"\"1\"");
        h.push("x-multi", b"b");
        h.push("bad name", b"kept");
        h.push("x-Multi", b"c");
        let mut same = HeaderList::new();
        same.push("Content-Type", b"text/plain");
        same.push("X-Multi", b"a, b, c");
        same.push("Etag", b"\"1\"");
        same.push("bad name", b"kept");
        assert_eq!(h, same, "equal by content, not by layout");
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            [
                ("Content-Type", "text/plain"),
                ("X-Multi", "a, b, c"),
                ("Etag", "\"1\""),
                ("bad name", "kept"),
            ]
        );
        assert_eq!(h.len(), 4);
        assert_eq!(h.get("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(h.get("x-multi"), Some("a, b, c"));
        assert_eq!(h.get("missing"), None);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_empty_values_kept() {
        let mut h = HeaderList::new();
        h.push("X-Bin", b"a\xffb");
        h.push("X-Empty", b"");
        assert_eq!(h.get("x-bin"), Some("a\u{fffd}b"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert!(!h.is_empty());
        assert!(HeaderList::new().is_empty());
    }

    #[test]
    fn collects_and_compares_by_content() {
        let a: HeaderList = [("a", "1"), ("B", "2")].into_iter().collect();
        let mut b = HeaderList::new();
        b.push("A", b"1");
        b.push("b", b"2");
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), r#"{"A": "1", "B": "2"}"#);
    }
}
