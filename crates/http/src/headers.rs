//! Request header preparation with Go's rules: canonical names, last
//! duplicate wins, no CR/LF injection.

use crate::error::{code, HttpError};
use crate::h1;
use crate::header_list::is_canonical;

/// Canonicalises names in place (Go `CanonicalMIMEHeaderKey`), drops earlier
/// duplicates (Go `Header.Set` keeps the last), rejects CR/LF injection.
pub(crate) fn prepare_headers(headers: &mut Vec<(String, String)>) -> Result<(), HttpError> {
    for (k, v) in headers.iter_mut() {
        if k.contains(['\r', '\n']) || k.is_empty() {
            return Err(HttpError::plain(
                code::GENERIC,
                format!("net/http: invalid header field name {k:?}"),
            ));
        }
        if v.contains(['\r', '\n']) {
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
}
