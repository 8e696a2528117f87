//! Request header preparation with Go's rules: canonical names, last
//! duplicate wins, names and values checked as Go's `httpguts` checks them
//! (no CR/LF injection, no control bytes, names are tokens). HTTP and
//! WebSocket requests share the checks.

use crate::error::{code, HttpError};
use crate::h1;
use crate::header_list::is_canonical;

/// Go's `httpguts.ValidHeaderFieldName`: a non-empty RFC 7230 token.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Go's `httpguts.ValidHeaderFieldValue`: no control bytes but tab.
pub(crate) fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Canonicalises names in place (Go `CanonicalMIMEHeaderKey`), drops earlier
/// duplicates (Go `Header.Set` keeps the last), rejects invalid names and
/// values with Go's errors.
pub(crate) fn prepare_headers(headers: &mut Vec<(String, String)>) -> Result<(), HttpError> {
    for (k, v) in headers.iter_mut() {
        if !valid_name(k) {
            return Err(HttpError::plain(
                code::GENERIC,
                format!("net/http: invalid header field name {k:?}"),
            ));
        }
        if !valid_value(v) {
            return Err(HttpError::plain(
                code::GENERIC,
                format!("net/http: invalid header field value for {k:?}"),
            ));
        }
        if !is_canonical(k.as_bytes()) {
            *k = h1::canonical_header_name(k);
        }
    }
    let mut i = 0;
    while i < headers.len() {
        let dup = headers[i + 1..]
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(&headers[i].0));
        if dup {
            headers.remove(i);
        } else {
            i += 1;
        }
    }
    Ok(())
}

pub(crate) fn take_header(headers: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let i = headers.iter().position(|(k, _)| k == name)?;
    Some(headers.remove(i).1)
}

pub(crate) fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k == name)
}

pub(crate) const SENSITIVE: [&str; 4] = ["Authorization", "Www-Authenticate", "Cookie", "Cookie2"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_canonicalised_and_last_wins() {
        let mut h = vec![
            ("x-foo".to_string(), "bar".to_string()),
            ("X-Foo".to_string(), "baz".to_string()),
            ("content-type".to_string(), "text/x".to_string()),
        ];
        prepare_headers(&mut h).unwrap();
        assert_eq!(
            h,
            vec![
                ("X-Foo".to_string(), "baz".to_string()),
                ("Content-Type".to_string(), "text/x".to_string())
            ]
        );
        let mut bad = vec![("X".to_string(), "a\r\nb".to_string())];
        assert!(prepare_headers(&mut bad).is_err());
    }

    #[test]
    fn names_are_tokens_and_values_have_no_control_bytes() {
        for bad in ["", "X D", "X-A\r\nB", "X:Y", "X\u{e9}", "(x)"] {
            let mut h = vec![(bad.to_string(), "v".to_string())];
            let e = prepare_headers(&mut h).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("net/http: invalid header field name {bad:?}")
            );
        }
        for bad in ["v\r\nEvil: 1", "a\u{0}", "\u{7f}", "x\ny"] {
            let mut h = vec![("X-V".to_string(), bad.to_string())];
            assert!(prepare_headers(&mut h).is_err(), "{bad:?}");
        }
        let mut h = vec![("x-ok_1!".to_string(), "tab\tand \u{e9} ok".to_string())];
        prepare_headers(&mut h).unwrap();
        assert_eq!(h[0].1, "tab\tand \u{e9} ok");
    }

    proptest::proptest! {
        /// Any header a script sends is either refused or safe to write:
        /// no line break can reach the wire.
        #[test]
        fn any_header_is_refused_or_safe(
            headers in proptest::collection::vec(("\\PC{0,12}|[\r\n :a-z]{0,6}", "\\PC{0,12}|[\r\n\ta-z]{0,6}"), 0..5)
        ) {
            let mut h = headers;
            if prepare_headers(&mut h).is_ok() {
                for (k, v) in &h {
                    proptest::prop_assert!(!k.is_empty() && !k.contains([' ', ':', '\r', '\n']));
                    proptest::prop_assert!(!v.contains(['\r', '\n', '\0']));
                }
            }
        }
    }
}
