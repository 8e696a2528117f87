//! The `http` section's TLS files: certificate authorities trusted besides
//! the built-in roots (`ca_certs`) and client certificates (`tls_auth`, k6's
//! `tlsAuth`). Each file is read like a feeder (from the disk or an
//! archive, relative to the scenario) and checked before any load: a file
//! that is missing, not PEM, or a key that does not fit its certificate is
//! an error at the place the file is named. The client certificates are
//! checked by the HTTP client's own code (`stampede_http::Client::new`),
//! so what passes here is what the run's client accepts.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use stampede_http::{Client, ClientCert, ClientConfig, ConfigError};

use crate::compile::{Problems, ReadFile};
use crate::format::HttpOptions;

/// The TLS material of a scenario, ready for the client.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// Extra trusted roots, DER.
    pub roots: Vec<Vec<u8>>,
    /// Client certificates, in file order.
    pub client_certs: Vec<ClientCert>,
}

impl TlsFiles {
    /// Whether the scenario adds nothing to the run's client.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty() && self.client_certs.is_empty()
    }
}

/// Reads a PEM file the scenario names, as text.
fn read_text(dir: &Path, rel: &str, read: ReadFile<'_>) -> Result<String, String> {
    let full = dir.join(rel);
    let bytes = read(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not a PEM file (not text)", full.display()))
}

/// Reads and checks `http.ca_certs` and `http.tls_auth`.
pub(crate) fn tls_files(
    h: &HttpOptions,
    dir: &Path,
    read: ReadFile<'_>,
    p: &mut Problems<'_>,
) -> TlsFiles {
    let mut out = TlsFiles::default();
    for rel in &h.ca_certs {
        let at = |p: &mut Problems<'_>, msg: String| {
            p.add(Some("ca_certs"), rel, format!("http.ca_certs: {msg}"))
        };
        let pem = match read_text(dir, rel, read) {
            Ok(t) => t,
            Err(e) => {
                at(p, e);
                continue;
            }
        };
        match CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<Vec<_>, _>>() {
            Ok(certs) if certs.is_empty() => {
                at(p, format!("{rel}: no PEM certificate found"));
            }
            Ok(certs) => {
                let roots: Vec<Vec<u8>> = certs.iter().map(|c| c.to_vec()).collect();
                // The client's own check: each must be a usable trust anchor.
                let cfg = ClientConfig {
                    extra_root_certs: roots.clone(),
                    ..ClientConfig::default()
                };
                match Client::new(cfg) {
                    Ok(_) => out.roots.extend(roots),
                    Err(e) => at(p, format!("{rel}: {e}")),
                }
            }
            Err(e) => at(p, format!("{rel}: {e}")),
        }
    }
    for (i, a) in h.tls_auth.iter().enumerate() {
        let what = format!("http.tls_auth[{i}]");
        let mut texts = Vec::new();
        for (key, rel) in [("cert", &a.cert), ("key", &a.key)] {
            match read_text(dir, rel, read) {
                Ok(t) => texts.push(t),
                Err(e) => p.add(Some("tls_auth"), rel, format!("{what}.{key}: {e}")),
            }
        }
        let [cert_pem, key_pem] = match <[String; 2]>::try_from(texts) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let cert = ClientCert {
            cert_pem,
            key_pem,
            password: None,
            domains: a.domains.clone(),
        };
        let cfg = ClientConfig {
            client_certs: vec![cert.clone()],
            ..ClientConfig::default()
        };
        match Client::new(cfg) {
            Ok(_) => out.client_certs.push(cert),
            Err(ConfigError::ClientCert { what: problem, .. }) => {
                // "cert: ...", "key: ..." or about the pair (at the key).
                let (rel, key, problem) = match problem.strip_prefix("cert: ") {
                    Some(rest) => (&a.cert, "cert", rest.to_string()),
                    None => (
                        &a.key,
                        "key",
                        problem
                            .strip_prefix("key: ")
                            .map_or(problem.clone(), str::to_string),
                    ),
                };
                p.add(
                    Some("tls_auth"),
                    rel,
                    format!("{what}.{key}: {rel}: {problem}"),
                );
            }
            Err(e) => p.add(Some("tls_auth"), &a.cert, format!("{what}: {e}")),
        }
    }
    for (key, v) in [("tls_min", &h.tls_min), ("tls_max", &h.tls_max)] {
        if let Some(v) = v {
            if !matches!(v.as_str(), "tls1.2" | "tls1.3") {
                p.add(
                    Some(key),
                    v,
                    format!("http.{key}: {v:?} is neither \"tls1.2\" nor \"tls1.3\" (the TLS versions Stampede speaks)"),
                );
            }
        }
    }
    if let (Some(min), Some(max)) = (&h.tls_min, &h.tls_max) {
        if min > max {
            p.add(
                Some("tls_max"),
                max,
                format!("http.tls_max: {max:?} is below tls_min {min:?}"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{Diagnostic, Scenario};

    /// A CA certificate, and a client certificate with its key, as PEM.
    fn pems() -> (String, String, String) {
        let ca = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let client = rcgen::generate_simple_self_signed(Vec::<String>::new()).unwrap();
        (
            ca.cert.pem(),
            client.cert.pem(),
            client.signing_key.serialize_pem(),
        )
    }

    fn scenario(dir: &Path, http: &str) -> Result<Scenario, Vec<Diagnostic>> {
        let src = format!(
            "base_url: https://localhost:1\n\
             load: {{ vus: 1, iterations: 1, executor: shared-iterations }}\n\
             http:\n{http}\
             requests:\n  - {{ name: a, GET: / }}\n"
        );
        Scenario::parse(&src, &dir.join("t.yaml"))
    }

    fn errors(dir: &Path, http: &str) -> Vec<String> {
        match scenario(dir, http) {
            Ok(_) => panic!("expected errors for {http}"),
            Err(e) => e
                .iter()
                .map(|d| d.to_string().replace(&format!("{}/", dir.display()), ""))
                .collect(),
        }
    }

    #[test]
    fn good_files_are_read_for_the_client_and_travel_with_the_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = pems();
        std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
        std::fs::write(dir.path().join("c.pem"), &cert).unwrap();
        std::fs::write(dir.path().join("k.pem"), &key).unwrap();
        let s = scenario(
            dir.path(),
            "  ca_certs: [ca.pem]\n  tls_auth: [{ cert: c.pem, key: k.pem, domains: [localhost] }]\n  tls_min: tls1.2\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let tls = &s.compiled().tls;
        assert_eq!(tls.roots.len(), 1);
        assert_eq!(tls.client_certs.len(), 1);
        assert_eq!(tls.client_certs[0].domains, ["localhost"]);
        assert_eq!(tls.client_certs[0].key_pem, key);
        // No key material in the run's options.
        let options = s.options().to_string();
        assert!(!options.contains("PRIVATE KEY"), "{options}");
        assert!(!options.contains("tlsAuth"), "{options}");
        assert_eq!(s.options()["tlsVersion"]["min"], "tls1.2");
        // They travel with it.
        let files = s.compiled().file.data_files();
        assert_eq!(files, ["ca.pem", "c.pem", "k.pem"]);
        // The k6 script opens them as k6 users do, and says how k6 trusts a CA.
        let js = s.to_k6_script(Some(dir.path()));
        assert!(
            js.contains(
                r#"options.tlsAuth = [
  { domains: ["localhost"], cert: open("c.pem"), key: open("k.pem") },
];"#
            ),
            "{js}"
        );
        assert!(
            js.contains("SSL_CERT_FILE=<one PEM file holding ca.pem>"),
            "{js}"
        );
    }

    #[test]
    fn missing_or_bad_pem_files_are_errors_at_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let (_, cert, key) = pems();
        let (_, other_cert, _) = pems();
        std::fs::write(dir.path().join("c.pem"), &cert).unwrap();
        std::fs::write(dir.path().join("k.pem"), &key).unwrap();
        std::fs::write(dir.path().join("other.pem"), &other_cert).unwrap();
        std::fs::write(dir.path().join("junk.pem"), "not a certificate\n").unwrap();
        std::fs::write(dir.path().join("bin.pem"), [0xff, 0xfe, 0]).unwrap();

        let e = errors(dir.path(), "  ca_certs: [nope.pem]\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:4:14: http.ca_certs: cannot read nope.pem: "),
            "{e:?}"
        );
        let e = errors(dir.path(), "  ca_certs: [junk.pem]\n");
        assert_eq!(
            e,
            ["t.yaml:4:14: http.ca_certs: junk.pem: no PEM certificate found"]
        );
        let e = errors(dir.path(), "  ca_certs: [bin.pem]\n");
        assert_eq!(
            e,
            ["t.yaml:4:14: http.ca_certs: bin.pem is not a PEM file (not text)"]
        );

        let e = errors(
            dir.path(),
            "  tls_auth:\n    - cert: junk.pem\n      key: k.pem\n",
        );
        assert_eq!(
            e,
            ["t.yaml:5:13: http.tls_auth[0].cert: junk.pem: no PEM certificate found"]
        );
        let e = errors(
            dir.path(),
            "  tls_auth:\n    - cert: c.pem\n      key: junk.pem\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:6:12: http.tls_auth[0].key: junk.pem: "),
            "{e:?}"
        );
        let e = errors(
            dir.path(),
            "  tls_auth:\n    - cert: other.pem\n      key: k.pem\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:6:12: http.tls_auth[0].key: k.pem: the key does not match"),
            "{e:?}"
        );
        let e = errors(
            dir.path(),
            "  tls_auth:\n    - { cert: gone.pem, key: k.pem }\n",
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:5:15: http.tls_auth[0].cert: cannot read gone.pem"),
            "{e:?}"
        );
        // Unknown keys are the parser's (k6's `password` is not offered).
        let e = errors(
            dir.path(),
            "  tls_auth:\n    - { cert: c.pem, key: k.pem, password: x }\n",
        );
        assert!(e[0].contains("unknown field `password`"), "{e:?}");

        let e = errors(dir.path(), "  tls_min: tls1.1\n");
        assert_eq!(
            e,
            ["t.yaml:4:12: http.tls_min: \"tls1.1\" is neither \"tls1.2\" nor \"tls1.3\" (the TLS versions Stampede speaks)"]
        );
        let e = errors(dir.path(), "  tls_min: tls1.3\n  tls_max: tls1.2\n");
        assert_eq!(
            e,
            ["t.yaml:5:12: http.tls_max: \"tls1.2\" is below tls_min \"tls1.3\""]
        );
    }
}
