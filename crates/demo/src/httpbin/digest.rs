//! Digest access authentication (RFC 7616, and RFC 2069 without `qop`):
//! parsing `Authorization: Digest ...`, computing the expected `response`,
//! formatting challenges.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use md5::Md5;
use sha2::{Digest as _, Sha256, Sha512};

/// The hash function behind an algorithm name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Md5,
    Sha256,
    Sha512,
}

/// A digest algorithm: a hash, and whether it is a `-sess` variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Algorithm {
    pub(crate) hash: Hash,
    pub(crate) sess: bool,
}

impl Algorithm {
    /// MD5, the default when a client names none.
    pub(crate) const MD5: Algorithm = Algorithm {
        hash: Hash::Md5,
        sess: false,
    };

    /// Parses `MD5`, `SHA-256`, `SHA-512`, each optionally `-sess`
    /// (case-insensitive).
    pub(crate) fn parse(name: &str) -> Option<Algorithm> {
        let upper = name.trim().to_ascii_uppercase();
        let (base, sess) = match upper.strip_suffix("-SESS") {
            Some(base) => (base, true),
            None => (upper.as_str(), false),
        };
        let hash = match base {
            "MD5" => Hash::Md5,
            "SHA-256" => Hash::Sha256,
            "SHA-512" => Hash::Sha512,
            _ => return None,
        };
        Some(Algorithm { hash, sess })
    }

    /// The name as it appears in a challenge.
    pub(crate) fn name(self) -> String {
        let base = match self.hash {
            Hash::Md5 => "MD5",
            Hash::Sha256 => "SHA-256",
            Hash::Sha512 => "SHA-512",
        };
        if self.sess {
            format!("{base}-sess")
        } else {
            base.to_string()
        }
    }

    /// The lowercase hex digest of `data`.
    pub(crate) fn hex(self, data: &[u8]) -> String {
        let digest: Vec<u8> = match self.hash {
            Hash::Md5 => Md5::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        };
        let mut out = String::with_capacity(digest.len() * 2);
        for b in digest {
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

/// The parameters of an `Authorization: Digest ...` header, keys lowercased.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Credentials(BTreeMap<String, String>);

impl Credentials {
    /// Parses a header value; `None` unless its scheme is `Digest`.
    pub(crate) fn parse(header: &str) -> Option<Credentials> {
        let header = header.trim_start();
        let (scheme, rest) = header.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
            let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
            if key.is_empty() || chars.next().is_none() {
                break;
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let mut value = String::new();
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                    .collect::<String>()
                    .trim()
                    .to_string();
            }
            params.insert(key.trim().to_ascii_lowercase(), value);
        }
        Some(Credentials(params))
    }

    /// A parameter's value.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// The request facts the response hash covers.
pub(crate) struct Covered<'a> {
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) body: &'a [u8],
}

/// The `response` a client knowing `password` would send with `creds`
/// (using the algorithm, realm and nonce the client names, as httpbin does);
/// `None` when the credentials lack a required parameter.
pub(crate) fn expected_response(
    creds: &Credentials,
    password: &str,
    req: &Covered<'_>,
) -> Option<String> {
    let alg = match creds.get("algorithm") {
        Some(name) => Algorithm::parse(name)?,
        None => Algorithm::MD5,
    };
    let username = creds.get("username")?;
    let realm = creds.get("realm")?;
    let nonce = creds.get("nonce")?;
    let mut ha1 = alg.hex(format!("{username}:{realm}:{password}").as_bytes());
    if alg.sess {
        let cnonce = creds.get("cnonce")?;
        ha1 = alg.hex(format!("{ha1}:{nonce}:{cnonce}").as_bytes());
    }
    let qop = creds.get("qop");
    let ha2 = match qop {
        None | Some("auth") => alg.hex(format!("{}:{}", req.method, req.uri).as_bytes()),
        Some("auth-int") => {
            let body = alg.hex(req.body);
            alg.hex(format!("{}:{}:{body}", req.method, req.uri).as_bytes())
        }
        Some(_) => return None,
    };
    let response = match qop {
        None => format!("{ha1}:{nonce}:{ha2}"),
        Some(qop) => {
            let nc = creds.get("nc")?;
            let cnonce = creds.get("cnonce")?;
            format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        }
    };
    Some(alg.hex(response.as_bytes()))
}

/// A `WWW-Authenticate` challenge; `qop` `None` offers both `auth` and
/// `auth-int`.
pub(crate) fn challenge(
    realm: &str,
    nonce: &str,
    opaque: &str,
    qop: Option<&str>,
    alg: Algorithm,
    stale: bool,
) -> String {
    format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", qop=\"{}\", opaque=\"{opaque}\", \
         algorithm={}, stale={}",
        qop.unwrap_or("auth, auth-int"),
        alg.name(),
        if stale { "TRUE" } else { "FALSE" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc7616_creds(alg: &str) -> Credentials {
        Credentials::parse(&format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
             uri=\"/dir/index.html\", algorithm={alg}, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"x\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        ))
        .unwrap()
    }

    const GET_INDEX: Covered<'static> = Covered {
        method: "GET",
        uri: "/dir/index.html",
        body: b"",
    };

    #[test]
    fn rfc7616_md5_example() {
        let creds = rfc7616_creds("MD5");
        assert_eq!(
            expected_response(&creds, "Circle of Life", &GET_INDEX).unwrap(),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn rfc7616_sha256_example() {
        let creds = rfc7616_creds("SHA-256");
        assert_eq!(
            expected_response(&creds, "Circle of Life", &GET_INDEX).unwrap(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2617_example_without_algorithm() {
        let creds = Credentials::parse(
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
             qop=auth, nc=00000001, cnonce=\"0a4f113b\", \
             response=\"6629fae49393a05397450978507c4ef1\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert_eq!(
            expected_response(&creds, "Circle Of Life", &GET_INDEX).as_deref(),
            creds.get("response")
        );
    }

    #[test]
    fn rfc2069_without_qop() {
        let creds =
            Credentials::parse("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/x\"")
                .unwrap();
        let md5 = |s: &str| Algorithm::MD5.hex(s.as_bytes());
        let expected = md5(&format!("{}:n:{}", md5("u:r:p"), md5("GET:/x")));
        let req = Covered {
            method: "GET",
            uri: "/x",
            body: b"",
        };
        assert_eq!(expected_response(&creds, "p", &req).unwrap(), expected);
    }

    #[test]
    fn auth_int_and_sess_cover_body_and_cnonce() {
        let header = "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/x\", \
                      qop=auth-int, nc=00000001, cnonce=\"c\", algorithm=SHA-256-sess";
        let creds = Credentials::parse(header).unwrap();
        let alg = Algorithm::parse("sha-256-SESS").unwrap();
        let h = |s: String| alg.hex(s.as_bytes());
        let ha1 = h(format!("{}:n:c", h("u:r:p".into())));
        let ha2 = h(format!("POST:/x:{}", alg.hex(b"body")));
        let expected = h(format!("{ha1}:n:00000001:c:auth-int:{ha2}"));
        let req = Covered {
            method: "POST",
            uri: "/x",
            body: b"body",
        };
        assert_eq!(expected_response(&creds, "p", &req).unwrap(), expected);
        let other_body = Covered {
            body: b"other",
            ..req
        };
        assert_ne!(
            expected_response(&creds, "p", &other_body).unwrap(),
            expected
        );
    }

    #[test]
    fn parses_quoted_commas_and_escapes() {
        let creds =
            Credentials::parse(r#"digest Realm="a, b", uri="/p?x=1,2", note="say \"hi\"",nc=1"#)
                .unwrap();
        assert_eq!(creds.get("realm"), Some("a, b"));
        assert_eq!(creds.get("uri"), Some("/p?x=1,2"));
        assert_eq!(creds.get("note"), Some(r#"say "hi""#));
        assert_eq!(creds.get("nc"), Some("1"));
        assert!(Credentials::parse("Basic dTpw").is_none());
    }

    #[test]
    fn algorithm_names_round_trip() {
        for name in [
            "MD5",
            "MD5-sess",
            "SHA-256",
            "SHA-256-sess",
            "SHA-512",
            "SHA-512-sess",
        ] {
            assert_eq!(Algorithm::parse(name).unwrap().name(), name);
        }
        assert!(Algorithm::parse("SHA-1").is_none());
        assert_eq!(Algorithm::parse("sha-512").unwrap().hex(b"").len(), 128);
    }

    #[test]
    fn challenge_format() {
        let alg = Algorithm::parse("SHA-256").unwrap();
        assert_eq!(
            challenge("me@kennethreitz.com", "N", "O", Some("auth"), alg, true),
            "Digest realm=\"me@kennethreitz.com\", nonce=\"N\", qop=\"auth\", \
             opaque=\"O\", algorithm=SHA-256, stale=TRUE"
        );
    }
}
