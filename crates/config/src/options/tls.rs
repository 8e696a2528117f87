//! TLS option values: `tlsVersion`, `tlsCipherSuites`, `tlsAuth`.

use serde_json::Value;

use crate::error::ConfigError;
use crate::json::{self, read};
use crate::suggest::did_you_mean;

/// A TLS protocol version name as k6 spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// `ssl3.0` (accepted by k6, refused by modern TLS stacks).
    Ssl3_0,
    /// `tls1.0`.
    Tls1_0,
    /// `tls1.1`.
    Tls1_1,
    /// `tls1.2`.
    Tls1_2,
    /// `tls1.3`.
    Tls1_3,
}

impl TlsVersion {
    const NAMES: [(&'static str, TlsVersion); 5] = [
        ("ssl3.0", TlsVersion::Ssl3_0),
        ("tls1.0", TlsVersion::Tls1_0),
        ("tls1.1", TlsVersion::Tls1_1),
        ("tls1.2", TlsVersion::Tls1_2),
        ("tls1.3", TlsVersion::Tls1_3),
    ];

    /// k6's name, e.g. `"tls1.2"`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }

    /// Parses k6's name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Allowed TLS versions; `None` means no limit on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlsVersions {
    /// Lowest allowed version.
    pub min: Option<TlsVersion>,
    /// Highest allowed version.
    pub max: Option<TlsVersion>,
}

/// A client certificate presented to matching domains.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsAuth {
    /// PEM certificate.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// Password of an encrypted key.
    pub password: Option<String>,
    /// Domains (wildcards allowed) to present the certificate to.
    pub domains: Vec<String>,
}

/// Cipher suite names Go (and so k6) knows.
pub const CIPHER_SUITES: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Checks cipher suite names against [`CIPHER_SUITES`].
pub(crate) fn check_cipher_suites(names: Vec<String>) -> Result<Vec<String>, String> {
    for name in &names {
        if !CIPHER_SUITES.contains(&name.as_str()) {
            let hint = did_you_mean(name, CIPHER_SUITES.iter().copied())
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            return Err(format!("unknown cipher suite '{name}'{hint}"));
        }
    }
    Ok(names)
}

fn version(name: &str) -> Result<Option<TlsVersion>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    TlsVersion::from_name(name)
        .map(Some)
        .ok_or_else(|| format!("unknown TLS version '{name}'"))
}

/// `"tls1.2"` (both bounds) or `{min, max}`.
pub(crate) fn tls_versions(v: &Value) -> Result<Option<TlsVersions>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => version(s).map(|v| Some(TlsVersions { min: v, max: v })),
        Value::Object(map) => {
            let mut result = TlsVersions::default();
            for (key, value) in map {
                let parsed = match json::string(value)? {
                    Some(name) => version(&name)?,
                    None => None,
                };
                match key.as_str() {
                    "min" => result.min = parsed,
                    "max" => result.max = parsed,
                    other => {
                        return Err(format!(
                            "unknown key \"{other}\" (expected \"min\" and \"max\")"
                        ))
                    }
                }
            }
            Ok(Some(result))
        }
        other => Err(format!(
            "expected a TLS version or {{min, max}}, got {}",
            json::show(other)
        )),
    }
}

/// An array of `{cert, key, password, domains}` objects.
pub(crate) fn tls_auth(v: &Value, errors: &mut Vec<ConfigError>) -> Option<Vec<TlsAuth>> {
    let items = match v {
        Value::Null => return None,
        Value::Array(items) => items,
        other => {
            errors.push(ConfigError::value(
                "tlsAuth",
                format!("expected an array, got {}", json::show(other)),
            ));
            return None;
        }
    };
    let mut result = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = |key: &str| format!("tlsAuth[{i}].{key}");
        let Some(map) = read(
            errors,
            || format!("tlsAuth[{i}]"),
            json::object(item, "an object"),
        ) else {
            continue;
        };
        let mut auth = TlsAuth::default();
        for (key, value) in map {
            match key.as_str() {
                "cert" => {
                    auth.cert = read(errors, || path(key), json::string(value)).unwrap_or_default()
                }
                "key" => {
                    auth.key = read(errors, || path(key), json::string(value)).unwrap_or_default()
                }
                "password" => auth.password = read(errors, || path(key), json::string(value)),
                "domains" => {
                    auth.domains =
                        read(errors, || path(key), json::string_list(value)).unwrap_or_default()
                }
                other => errors.push(ConfigError::UnknownKey {
                    context: format!("tlsAuth[{i}]"),
                    key: other.to_owned(),
                    hint: did_you_mean(other, ["cert", "key", "password", "domains"]),
                }),
            }
        }
        result.push(auth);
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions() {
        let both = tls_versions(&json!("tls1.2")).unwrap().unwrap();
        assert_eq!(
            (both.min, both.max),
            (Some(TlsVersion::Tls1_2), Some(TlsVersion::Tls1_2))
        );
        let range = tls_versions(&json!({"min": "tls1.2", "max": "tls1.3"}))
            .unwrap()
            .unwrap();
        assert_eq!(range.max.map(TlsVersion::name), Some("tls1.3"));
        assert_eq!(
            tls_versions(&json!("tls1.5")),
            Err("unknown TLS version 'tls1.5'".into())
        );
    }

    #[test]
    fn cipher_suites_are_checked() {
        assert!(check_cipher_suites(vec!["TLS_AES_128_GCM_SHA256".into()]).is_ok());
        let err = check_cipher_suites(vec!["TLS_AES_128_GCM_SHA265".into()]).unwrap_err();
        assert!(
            err.contains("did you mean \"TLS_AES_128_GCM_SHA256\"?"),
            "{err}"
        );
    }

    #[test]
    fn client_certificates() {
        let mut errors = Vec::new();
        let auth = tls_auth(
            &json!([{"cert": "C", "key": "K", "domains": ["example.com"], "pasword": "x"}]),
            &mut errors,
        );
        assert_eq!(auth.unwrap()[0].domains, ["example.com"]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("did you mean \"password\"?"));
    }
}
