//! Response headers as Go's `Header` holds them and k6 shows them, kept in
//! two allocations whatever their number. A response's list is made on
//! first use from the head as received: most responses of a load test are
//! never asked for a header.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use bytes::Bytes;

/// Response headers: canonical names (`content-type` → `Content-Type`), the
/// values of a repeated name joined with `, `, in order of first
/// appearance.
#[derive(Clone, Default)]
pub struct HeaderList {
    listed: OnceLock<Listed>,
    /// The head the list is made of on first use, if any.
    raw: Option<RawHead>,
}

/// A response head as received and where its names and values are.
#[derive(Clone)]
struct RawHead {
    head: Bytes,
    /// Name start and end, value start and end, in `head`.
    spans: Vec<[u32; 4]>,
}

/// The list itself: names and values back to back in one string.
#[derive(Clone, Default, PartialEq, Eq)]
struct Listed {
    text: String,
    /// Where each header's name starts, its value starts (the name's end)
    /// and its value ends, in `text`.
    spans: Vec<[u32; 3]>,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The list of a response's headers, in the order received: names are
    /// canonicalised and the values of a repeated name joined with `, `
    /// under its first appearance. Invalid UTF-8 in a value is replaced, as
    /// Go's strings show it.
    pub fn from_headers<'a, I>(headers: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
        I::IntoIter: Clone,
    {
        Self {
            listed: OnceLock::from(Listed::from_headers(headers)),
            raw: None,
        }
    }

    /// The list of `headers`, parsed from `head` (the response head as
    /// received, which is copied), made when first used.
    pub(crate) fn from_head(head: &[u8], headers: &[httparse::Header<'_>]) -> Self {
        let base = head.as_ptr() as usize;
        // Where a slice of `head` is; an empty one may point anywhere.
        let at = |s: &[u8]| -> Option<[u32; 2]> {
            if s.is_empty() {
                return Some([0, 0]);
            }
            let start = (s.as_ptr() as usize).checked_sub(base)?;
            (start + s.len() <= head.len()).then(|| [offset(start), offset(start + s.len())])
        };
        // A plain loop: collecting into Option<Vec> costs a third more.
        let mut spans = Vec::with_capacity(headers.len());
        for h in headers {
            match (at(h.name.as_bytes()), at(h.value)) {
                (Some([ns, ne]), Some([vs, ve])) => spans.push([ns, ne, vs, ve]),
                _ => return Self::from_headers(headers.iter().map(|h| (h.name, h.value))),
            }
        }
        Self {
            listed: OnceLock::new(),
            raw: Some(RawHead {
                head: Bytes::copy_from_slice(head),
                spans,
            }),
        }
    }

    fn listed(&self) -> &Listed {
        self.listed.get_or_init(|| match &self.raw {
            Some(RawHead { head, spans }) => {
                Listed::from_headers(spans.iter().map(|&[ns, ne, vs, ve]| {
                    let name = std::str::from_utf8(&head[range(ns, ne)]).unwrap_or_default();
                    (name, &head[range(vs, ve)])
                }))
            }
            None => Listed::default(),
        })
    }

    /// Whether there is a header `name` (case-insensitive), without making
    /// the list.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match (self.listed.get(), &self.raw) {
            (None, Some(RawHead { head, spans })) => spans
                .iter()
                .any(|&[ns, ne, _, _]| head[range(ns, ne)].eq_ignore_ascii_case(name.as_bytes())),
            _ => self.get(name).is_some(),
        }
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        let l = self.listed();
        l.position(name).map(|i| l.value(i))
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self.listed(),
            next: 0,
        }
    }

    /// How many distinct names.
    pub fn len(&self) -> usize {
        self.listed().spans.len()
    }

    /// Whether there is no header.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for HeaderList {
    fn eq(&self, other: &Self) -> bool {
        self.listed() == other.listed()
    }
}

impl Eq for HeaderList {}

impl Listed {
    /// See [`HeaderList::from_headers`].
    fn from_headers<'a, I>(headers: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
        I::IntoIter: Clone,
    {
        let headers = headers.into_iter();
        let (count, bytes) = headers
            .clone()
            .fold((0, 0), |(c, b), (n, v)| (c + 1, b + n.len() + v.len()));
        let mut list = Self {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(count),
        };
        if !has_repeats(headers.clone()) {
            // The usual case: one pass, no lookups.
            for (name, value) in headers {
                list.push(name, &text(value));
            }
            return list;
        }
        for (i, (name, value)) in headers.clone().enumerate() {
            if list.position(name).is_some() {
                continue; // joined to its first appearance
            }
            let ns = list.text.len();
            push_canonical(&mut list.text, name);
            let vs = list.text.len();
            list.text.push_str(&text(value));
            for (_, more) in headers
                .clone()
                .skip(i + 1)
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                list.text.push_str(", ");
                list.text.push_str(&text(more));
            }
            list.spans
                .push([offset(ns), offset(vs), offset(list.text.len())]);
        }
        list
    }

    /// Appends a header whose name is not in the list yet.
    fn push(&mut self, name: &str, value: &str) {
        let ns = self.text.len();
        push_canonical(&mut self.text, name);
        let vs = self.text.len();
        self.text.push_str(value);
        self.spans
            .push([offset(ns), offset(vs), offset(self.text.len())]);
    }

    fn position(&self, name: &str) -> Option<usize> {
        (0..self.spans.len()).find(|&i| self.name(i).eq_ignore_ascii_case(name))
    }

    fn name(&self, i: usize) -> &str {
        let [ns, vs, _] = self.spans[i];
        &self.text[range(ns, vs)]
    }

    fn value(&self, i: usize) -> &str {
        let [_, vs, ve] = self.spans[i];
        &self.text[range(vs, ve)]
    }
}

/// The (name, value) pairs of a [`HeaderList`].
pub struct Iter<'a> {
    list: &'a Listed,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        if i >= self.list.spans.len() {
            return None;
        }
        self.next += 1;
        Some((self.list.name(i), self.list.value(i)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.list.spans.len() - self.next;
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

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let pairs: Vec<(&str, &[u8])> = iter.into_iter().map(|(k, v)| (k, v.as_bytes())).collect();
        Self::from_headers(pairs)
    }
}

/// Whether a name appears twice (ignoring ASCII case). Heads of up to
/// `FEW` headers are checked pairwise on the names as received; longer
/// ones are assumed to repeat, which only sends them the general way.
fn has_repeats<'a>(headers: impl Iterator<Item = (&'a str, &'a [u8])>) -> bool {
    const FEW: usize = 32;
    let mut seen: [&str; FEW] = [""; FEW];
    for (i, (name, _)) in headers.enumerate() {
        if i == FEW {
            return true;
        }
        if seen[..i]
            .iter()
            .any(|s| s.len() == name.len() && s.eq_ignore_ascii_case(name))
        {
            return true;
        }
        seen[i] = name;
    }
    false
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
    // One pass decides both (servers mostly send canonical names).
    let mut canonical = true;
    let mut upper = true;
    for &b in bytes {
        if !is_token_byte(b) {
            out.push_str(name);
            return;
        }
        canonical &= !(upper && b.is_ascii_lowercase() || !upper && b.is_ascii_uppercase());
        upper = b == b'-';
    }
    if canonical {
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

    fn list(pairs: &[(&str, &[u8])]) -> HeaderList {
        HeaderList::from_headers(pairs.iter().copied())
    }

    #[test]
    fn names_are_canonical_and_repeats_joined_in_first_order() {
        let h = list(&[
            ("content-type", b"text/plain"),
            ("X-MULTI", b"a"),
            ("etag", b"\"1\""),
            ("x-multi", b"b"),
            ("bad name", b"kept"),
            ("x-Multi", b"c"),
        ]);
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
        let h = list(&[("X-Bin", b"a\xffb"), ("X-Empty", b"")]);
        assert_eq!(h.get("x-bin"), Some("a\u{fffd}b"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert!(!h.is_empty());
        assert!(HeaderList::new().is_empty());
    }

    #[test]
    fn many_repeats_take_linear_space() {
        // Alternating names: each value is written once, not copied per repeat.
        let pairs: Vec<(&str, &[u8])> = (0..2000)
            .map(|i| {
                if i % 2 == 0 {
                    ("A", &b"0123456789"[..])
                } else {
                    ("B", &b"x"[..])
                }
            })
            .collect();
        let h = HeaderList::from_headers(pairs);
        assert_eq!(h.len(), 2);
        assert_eq!(h.get("a").map(str::len), Some(1000 * 10 + 999 * 2));
        let text = &h.listed().text;
        assert!(text.len() < 40_000, "{}", text.len());
    }

    #[test]
    fn long_heads_without_repeats_keep_every_header() {
        let names: Vec<String> = (0..40).map(|i| format!("x-h{i}")).collect();
        let h = HeaderList::from_headers(names.iter().map(|n| (n.as_str(), &b"v"[..])));
        assert_eq!(h.len(), 40);
        assert_eq!(h.iter().nth(39), Some(("X-H39", "v")));
        assert!(!has_repeats(
            names.iter().map(|n| (n.as_str(), &b""[..])).take(32)
        ));
        assert!(has_repeats(
            [("Via", &b""[..]), ("VIA", &b""[..])].into_iter()
        ));
    }

    #[test]
    fn a_head_is_listed_on_first_use_only() {
        let buf =
            b"HTTP/1.1 200 OK\r\ncontent-type: a\r\nX-Empty:\r\nx-rep: 1\r\nX-REP: 2\r\n\r\nbody";
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut resp = httparse::Response::new(&mut headers);
        let n = match resp.parse(buf).unwrap() {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => unreachable!(),
        };
        let h = HeaderList::from_head(&buf[..n], resp.headers);
        assert!(h.contains("CONTENT-TYPE") && h.contains("x-empty"));
        assert!(!h.contains("content-length"));
        assert!(h.listed.get().is_none(), "contains() does not list");
        let eager = list(&[
            ("content-type", b"a"),
            ("X-Empty", b""),
            ("x-rep", b"1"),
            ("X-REP", b"2"),
        ]);
        assert_eq!(h, eager);
        assert!(h.listed.get().is_some());
        assert_eq!(h.get("x-rep"), Some("1, 2"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.clone().iter().count(), 3);
    }

    #[test]
    fn collects_and_compares_by_content() {
        let a: HeaderList = [("a", "1"), ("B", "2")].into_iter().collect();
        let b = list(&[("A", b"1"), ("b", b"2")]);
        assert_eq!(a, b);
        assert_ne!(a, list(&[("A", b"1")]));
        assert_eq!(format!("{a:?}"), r#"{"A": "1", "B": "2"}"#);
    }
}
