//! `res.ocsp` and the `ocsp_status` tag end to end: HTTPS servers stapling
//! the OCSP responses of stampede-http's fixtures (made by `openssl ocsp`;
//! the values expected are those k6 v1.1.0 reported for them), one stapling
//! nothing (the test server over TLS) and plain HTTP.

mod common;
#[path = "common/tls_server.rs"]
mod tls_server;

use std::sync::Arc;

use common::{run_script_with, Run};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use stampede_demo::TestServer;
use stampede_engine::ExitCode;

const GOOD: &[u8] = include_bytes!("../../http/tests/fixtures/ocsp-good.der");
const REVOKED: &[u8] = include_bytes!("../../http/tests/fixtures/ocsp-revoked.der");

/// An HTTPS server (self-signed, `localhost`) stapling `staple` and
/// answering every request `ok`; its URL.
fn stapling_server(staple: &[u8]) -> String {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(vec![cert.cert.der().clone()], key, staple.to_vec())
        .unwrap(),
    );
    let port = tls_server::serve(config, |_| "ok".to_string());
    format!("https://localhost:{port}/")
}

const SCRIPT: &str = "import http from 'k6/http';\nimport { check } from 'k6';\n\
    export const options = {\n\
      iterations: 1, insecureSkipTLSVerify: true,\n\
      systemTags: ['status', 'name', 'ocsp_status'],\n\
    };\n\
    const same = (o, want) => JSON.stringify(o) === JSON.stringify(want);\n\
    export default function () {\n\
      const good = http.get(__ENV.GOOD, { tags: { name: 'good' } });\n\
      const again = http.get(__ENV.GOOD, { tags: { name: 'good' } });\n\
      const revoked = http.get(__ENV.REVOKED, { tags: { name: 'revoked' } });\n\
      const none = http.get(`${__ENV.TLS_URL}/get`, { tags: { name: 'none' } });\n\
      const plain = http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'plain' } });\n\
      check(good, {\n\
        'good': (r) => r.status === 200 && r.ocsp.status === 'good',\n\
        'good fields': (r) => same(r.ocsp, { produced_at: 1795480893, this_update: 1795480893,\n\
          next_update: 1795653693, revoked_at: -62135596800, revocation_reason: 'unspecified',\n\
          status: 'good' }),\n\
        'in toJSON': (r) => JSON.parse(JSON.stringify(r)).ocsp.status === 'good',\n\
      });\n\
      check(again, { 'reused': (r) => r.timings.tls_handshaking === 0 && r.ocsp.status === 'good' });\n\
      check(revoked, {\n\
        'revoked fields': (r) => same(r.ocsp, { produced_at: 1795480893, this_update: 1795480893,\n\
          next_update: -62135596800, revoked_at: 1704164645, revocation_reason: 'key_compromise',\n\
          status: 'revoked' }),\n\
      });\n\
      check(none, {\n\
        'not stapled': (r) => r.status === 200 && r.tls_version !== '' && same(r.ocsp,\n\
          { produced_at: 0, this_update: 0, next_update: 0, revoked_at: 0,\n\
            revocation_reason: '', status: 'unknown' }),\n\
      });\n\
      check(plain, {\n\
        'plain http': (r) => r.status === 200 && same(r.ocsp,\n\
          { produced_at: 0, this_update: 0, next_update: 0, revoked_at: 0,\n\
            revocation_reason: '', status: '' }),\n\
      });\n\
    }\n";

fn run(script: &str) -> Run {
    let plain = TestServer::start_in_background();
    let tls = TestServer::start_tls_in_background();
    let (good, revoked) = (stapling_server(GOOD), stapling_server(REVOKED));
    let run = run_script_with(script, &plain.url(), |cfg| {
        let env = &mut cfg.system_env;
        env.insert("GOOD".into(), good);
        env.insert("REVOKED".into(), revoked);
        env.insert("TLS_URL".into(), tls.url());
    })
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run
}

#[test]
fn res_ocsp_reports_the_stapled_response_as_k6() {
    let run = run(SCRIPT);
    let names = [
        "good",
        "good fields",
        "in toJSON",
        "reused",
        "revoked fields",
        "not stapled",
        "plain http",
    ];
    run.assert_checks_pass(&names);
    for name in names {
        assert_eq!(run.count("checks", &[("check", name)]), 1, "{name}");
    }
}

#[test]
fn the_ocsp_status_tag_when_enabled() {
    let run = run(SCRIPT);
    let reqs = |name, status| {
        let mut tags = vec![("name", name)];
        if let Some(s) = status {
            tags.push(("ocsp_status", s));
        }
        run.count("http_reqs", &tags)
    };
    assert_eq!(reqs("good", Some("good")), 2);
    assert_eq!(reqs("revoked", Some("revoked")), 1);
    assert_eq!(reqs("none", Some("unknown")), 1);
    // Plain HTTP: no such tag, as in k6.
    assert_eq!(reqs("plain", None), 1);
    assert_eq!(run.count("http_reqs", &[("ocsp_status", "")]), 0);
    assert_eq!(
        run.count("http_req_duration", &[("ocsp_status", "good")]),
        2
    );

    // Not a default system tag.
    let default_tags = run_against_defaults();
    assert_eq!(default_tags.count("http_reqs", &[]), 5);
    for status in ["good", "revoked", "unknown"] {
        assert_eq!(
            default_tags.count("http_reqs", &[("ocsp_status", status)]),
            0
        );
    }
}

fn run_against_defaults() -> Run {
    run(&SCRIPT.replace("systemTags: ['status', 'name', 'ocsp_status'],", ""))
}
