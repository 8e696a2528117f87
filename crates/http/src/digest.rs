//! RFC 7616 digest access authentication (MD5, MD5-sess, SHA-256; qop=auth
//! or none), answering one challenge the way k6's digest transport does.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// A parsed `WWW-Authenticate: Digest ...` challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: Option<String>,
    pub(crate) qop: Vec<String>,
}

/// Finds the first digest challenge among `WWW-Authenticate` values.
pub(crate) fn find_challenge(values: &[String]) -> Option<Challenge> {
    values.iter().find_map(|v| parse_challenge(v))
}

pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut c = Challenge::default();
    let mut have_nonce = false;
    for (k, v) in parse_params(rest) {
        match k.to_ascii_lowercase().as_str() {
            "realm" => c.realm = v,
            "nonce" => {
                c.nonce = v;
                have_nonce = true;
            }
            "opaque" => c.opaque = Some(v),
            "algorithm" => c.algorithm = Some(v),
            "qop" => {
                c.qop = v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    have_nonce.then_some(c)
}

/// `k=v, k="quoted, v"` pairs.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s[ks..i].trim().to_string();
        if i >= b.len() || b[i] == b',' {
            continue;
        }
        i += 1; // '='
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                val.push(b[i] as char);
                i += 1;
            }
            i += 1;
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            val = s[vs..i].trim().to_string();
        }
        out.push((key, val));
    }
    out
}

fn hash(alg: &str, data: &str) -> String {
    let bytes: Vec<u8> = if alg.to_ascii_uppercase().starts_with("SHA-256") {
        Sha256::digest(data.as_bytes()).to_vec()
    } else {
        Md5::digest(data.as_bytes()).to_vec()
    };
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The `Authorization` header value answering `c` for `method uri`.
pub(crate) fn authorization(
    c: &Challenge,
    user: &str,
    pass: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> String {
    let alg = c.algorithm.clone().unwrap_or_else(|| "MD5".to_string());
    let nc = "00000001";
    let mut ha1 = hash(&alg, &format!("{user}:{}:{pass}", c.realm));
    if alg.to_ascii_lowercase().ends_with("-sess") {
        ha1 = hash(&alg, &format!("{ha1}:{}:{cnonce}", c.nonce));
    }
    let ha2 = hash(&alg, &format!("{method}:{uri}"));
    let qop = c.qop.iter().any(|q| q == "auth").then_some("auth");
    let response = match qop {
        Some(q) => hash(&alg, &format!("{ha1}:{}:{nc}:{cnonce}:{q}:{ha2}", c.nonce)),
        None => hash(&alg, &format!("{ha1}:{}:{ha2}", c.nonce)),
    };
    let mut out = format!(
        "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\"",
        c.realm, c.nonce
    );
    if let Some(q) = qop {
        out.push_str(&format!(", cnonce=\"{cnonce}\", nc={nc}, qop={q}"));
    }
    out.push_str(&format!(", response=\"{response}\""));
    if let Some(o) = &c.opaque {
        out.push_str(&format!(", opaque=\"{o}\""));
    }
    out.push_str(&format!(", algorithm={alg}"));
    out
}

/// A fresh client nonce.
pub(crate) fn cnonce() -> String {
    let v: u128 = rand::random();
    format!("{v:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example() {
        // The worked example of RFC 2617 section 3.5.
        let c = parse_challenge(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        let h = authorization(
            &c,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
        );
        assert!(
            h.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{h}"
        );
        assert!(h.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        assert!(h.contains("nc=00000001, qop=auth"));
    }

    #[test]
    fn rfc7616_sha256_example() {
        let c = parse_challenge(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        )
        .unwrap();
        let h = authorization(
            &c,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            h.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{h}"
        );
    }

    #[test]
    fn non_digest_is_ignored() {
        assert!(parse_challenge("Basic realm=\"x\"").is_none());
        assert!(find_challenge(&["Basic realm=x".into(), "Digest nonce=\"n\"".into()]).is_some());
    }
}
