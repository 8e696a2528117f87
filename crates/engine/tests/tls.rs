//! HTTPS end to end: `tlsAuth` client certificates against a server that
//! requires one (CA, server and client certificates generated here), k6's
//! error when none is sent, `tls_version`, `http_req_tls_handshaking` and
//! HTTP/2 over TLS with the test server.

mod common;
#[path = "common/tls_server.rs"]
mod tls_server;

use common::{run_script_with, Run};
use stampede_demo::TestServer;
use stampede_engine::ExitCode;
use tls_server::MtlsServer;

fn mtls_server() -> MtlsServer {
    tls_server::mtls_server("Stampede engine test CA")
}

/// Runs `script` with `URL` (the mTLS server), `CERT` and `KEY` in `__ENV`.
fn run_against(server: &MtlsServer, script: &str) -> Run {
    run_script_with(script, "", |cfg| {
        let env = &mut cfg.system_env;
        env.insert("URL".into(), format!("https://localhost:{}/", server.port));
        env.insert("CERT".into(), server.cert_pem.clone());
        env.insert("KEY".into(), server.key_pem.clone());
    })
    .unwrap()
}

#[test]
fn tls_auth_presents_the_client_certificate() {
    let server = mtls_server();
    let run = run_against(
        &server,
        "import http from 'k6/http';\nimport { check } from 'k6';\n\
         export const options = {\n\
           iterations: 1, insecureSkipTLSVerify: true,\n\
           tlsAuth: [{ domains: ['localhost'], cert: __ENV.CERT, key: __ENV.KEY }],\n\
         };\n\
         export default function () {\n\
           const first = http.get(__ENV.URL);\n\
           const again = http.get(__ENV.URL);\n\
           check(first, {\n\
             'accepted': (r) => r.status === 200 && r.body === 'client',\n\
             'tls 1.3': (r) => r.tls_version === 'tls1.3' && r.proto === 'HTTP/1.1',\n\
             'handshake timed': (r) => r.timings.tls_handshaking > 0,\n\
           });\n\
           check(again, { 'reused': (r) => r.status === 200 && r.timings.tls_handshaking === 0 });\n\
         }\n",
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["accepted", "tls 1.3", "handshake timed", "reused"]);
    assert_eq!(run.count("http_req_tls_handshaking", &[]), 2);
    // k6's default system tag on every request over TLS.
    assert_eq!(run.count("http_reqs", &[("tls_version", "tls1.3")]), 2);
    assert_eq!(run.count("http_req_failed", &[]), 2);
}

#[test]
fn without_tls_auth_the_server_refuses_with_k6s_error() {
    let server = mtls_server();
    let run = run_against(
        &server,
        "import http from 'k6/http';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1, insecureSkipTLSVerify: true };\n\
         export default function () {\n\
           const res = http.get(__ENV.URL);\n\
           check(res, {\n\
             'refused': (r) => r.status === 0 && r.error_code === 1010,\n\
             'alert text': (r) => r.error === 'remote error: tls: certificate required',\n\
           });\n\
         }\n",
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["refused", "alert text"]);
    assert!(
        run.logged("remote error: tls: certificate required"),
        "{:?}",
        run.logs
    );
}

#[test]
fn unusable_tls_auth_is_an_options_error() {
    // k6: exit 104, "tls: failed to find any PEM data in certificate input".
    let result = run_script_with(
        "export const options = { tlsAuth: [{ cert: 'garbage', key: 'garbage' }] };\n\
         export default function () {}\n",
        "",
        |_| {},
    );
    let (code, text) = match result {
        Err(e) => (e.exit_code(), e.to_string()),
        Ok(run) => (run.report.exit_code, run.report.error.unwrap_or_default()),
    };
    assert_eq!(code, ExitCode::InvalidConfig);
    assert!(
        text.contains("tlsAuth[0]: cert: no PEM certificate found"),
        "{text}"
    );
}

#[test]
fn http2_over_tls_with_the_test_server() {
    let server = TestServer::start_tls_in_background();
    let run = run_script_with(
        "import http from 'k6/http';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1, insecureSkipTLSVerify: true };\n\
         export default function () {\n\
           const first = http.get(`${__ENV.BASE_URL}/get`);\n\
           const again = http.get(`${__ENV.BASE_URL}/get`);\n\
           check(first, {\n\
             'h2': (r) => r.status === 200 && r.proto === 'HTTP/2.0',\n\
             'h2 tls': (r) => r.tls_version === 'tls1.3' && r.timings.tls_handshaking > 0,\n\
           });\n\
           check(again, { 'h2 reused': (r) => r.proto === 'HTTP/2.0' && r.timings.tls_handshaking === 0 });\n\
         }\n",
        &server.url(),
        |_| {},
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["h2", "h2 tls", "h2 reused"]);
    assert_eq!(run.count("http_req_tls_handshaking", &[]), 2);
    assert_eq!(run.count("http_reqs", &[("tls_version", "tls1.3")]), 2);
}
