//! Roles on every endpoint, forged and revoked credentials, another user's
//! ids, bad bodies, scripts and options, CSRF and login throttling.

use std::net::TcpStream;

use serde_json::json;

use crate::harness::*;

pub fn roles_bad_input_and_attacks(db: Option<&str>) {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &["--max-body", "4096"]);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);

    // Users of each role.
    for (name, role) in [("vera", "viewer"), ("ed", "editor"), ("eve", "editor")] {
        let (s, v) = call(
            &addr,
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(
                json!({"username": name, "password": format!("{name}-password-123"), "role": role}),
            ),
        );
        assert_eq!(s, 201, "{v}");
    }
    let viewer = login(&addr, "vera", "vera-password-123");
    let ed = login(&addr, "ed", "ed-password-123");
    let eve = login(&addr, "eve", "eve-password-123");

    // Unauthenticated, forged, alg:none, expired, garbage.
    let (s, v) = call(&addr, "GET", "/api/v1/scenarios", None, None);
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let parts: Vec<&str> = admin.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let forged_payload = b64.encode(r#"{"sub":1,"iat":0,"exp":99999999999}"#);
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let expired_claims = b64.encode(r#"{"sub":1,"iat":0,"exp":1}"#);
    let expired = format!("{}.{expired_claims}.{}", parts[0], parts[2]);
    for (bad, why) in [
        (none.as_str(), "algorithm"),
        (forged.as_str(), "signature"),
        (expired.as_str(), "signature"),
        ("stp_nope", "invalid API token"),
        ("x.y", "malformed"),
    ] {
        let (s, v) = call(&addr, "GET", "/api/v1/auth/me", Some(bad), None);
        assert_eq!(s, 401, "{bad}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(why),
            "{bad}: {v}"
        );
    }

    // Roles on endpoints.
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&viewer),
        Some(json!({"name": "v", "script": "export default function () {}"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&ed),
        Some(json!({"username": "x", "password": "long-enough-password", "role": "admin"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(&addr, "GET", "/api/v1/users", Some(&viewer), None);
    assert_eq!(s, 403);
    let mine = create_scenario(&addr, &ed, "ed's", "export default function () {}");
    let (s, _) = call(
        &addr,
        "GET",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 200, "viewers read");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&viewer),
        Some(json!({"iterations": 1})),
    );
    assert_eq!(s, 403, "{v}");
    // Another user's ids.
    let (s, _) = call(
        &addr,
        "PUT",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&eve),
        Some(json!({"name": "taken over"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&eve),
        None,
    );
    assert_eq!(s, 403);
    let (s, t) = call(
        &addr,
        "POST",
        "/api/v1/tokens",
        Some(&ed),
        Some(json!({"name": "ci"})),
    );
    assert_eq!(s, 201);
    let ed_token_id = t["id"].as_i64().unwrap();
    let ed_api_token = t["token"].as_str().unwrap().to_string();
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/tokens/{ed_token_id}"),
        Some(&eve),
        None,
    );
    assert_eq!(s, 404);
    // The API token works until revoked.
    let (s, me) = call(&addr, "GET", "/api/v1/auth/me", Some(&ed_api_token), None);
    assert_eq!((s, me["username"].as_str()), (200, Some("ed")));
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/tokens/{ed_token_id}"),
        Some(&ed),
        None,
    );
    assert_eq!(s, 204);
    let (s, _) = call(&addr, "GET", "/api/v1/auth/me", Some(&ed_api_token), None);
    assert_eq!(s, 401);

    // Bad bodies: malformed, unknown fields, oversized, wrong types.
    let auth = format!("Bearer {ed}");
    let hdrs = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let (s, _, b) = http_raw(&addr, "POST", "/api/v1/scenarios", &hdrs, b"{\"name\": ");
    assert_eq!(s, 400, "{}", text(&b));
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&ed),
        Some(json!({"name": "x", "script": "export default function () {}", "shell": "rm -rf /"})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `shell`"),
        "{v}"
    );
    let big = json!({"name": "big", "script": "x".repeat(10_000)}).to_string();
    let (s, _, b) = http_raw(&addr, "POST", "/api/v1/scenarios", &hdrs, big.as_bytes());
    assert_eq!(s, 413, "{}", text(&b));
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"vus": "many"})),
    );
    assert_eq!(s, 422, "{v}");

    // Scripts that do not compile; options that do not resolve.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&ed),
        Some(json!({"name": "broken", "script": "export default function () {\n  let x = ;\n}\n"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "script_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("script.js:2:"),
        "{v}"
    );
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"vus": -1, "duration": "1s"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "invalid_options");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"duration": "soon"})),
    );
    assert_eq!(s, 422, "{v}");
    // Nothing half-created: no run exists.
    let (_, runs) = call(&addr, "GET", "/api/v1/runs", Some(&ed), None);
    assert_eq!(runs["total"], 0, "{runs}");

    // Unknown ids and bad ids.
    let (s, v) = call(&addr, "GET", "/api/v1/runs/424242", Some(&ed), None);
    assert_eq!(s, 404, "{v}");
    let (s, _) = call(&addr, "GET", "/api/v1/runs/abc", Some(&ed), None);
    assert_eq!(s, 400);

    // Cookie-authenticated writes need this server's Origin.
    let cookie = format!("stampede_session={ed}");
    let body = json!({"name": "c", "script": "export default function () {}"}).to_string();
    let (s, _, _) = http_raw(
        &addr,
        "POST",
        "/api/v1/scenarios",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("Origin", "http://evil.example"),
        ],
        body.as_bytes(),
    );
    assert_eq!(s, 403);
    let origin = format!("http://{addr}");
    let (s, _, b) = http_raw(
        &addr,
        "POST",
        "/api/v1/scenarios",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("Origin", &origin),
        ],
        body.as_bytes(),
    );
    assert_eq!(s, 201, "{}", text(&b));

    // A cross-site WebSocket handshake is refused (no hijacking with the cookie).
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/ws"
    ))
    .unwrap();
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    match tungstenite::client::client(req, TcpStream::connect(&addr).unwrap()) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res))) => {
            assert_eq!(res.status(), 403)
        }
        other => panic!(
            "a cross-site handshake must fail with 403: {:?}",
            other.map(|_| ())
        ),
    }

    // Quotas: a run needing more VUs than the user may use is refused.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(
            json!({"username": "quo", "password": "quo-password-123", "role": "editor", "quotas": {"max_vus": 2}}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let quo = login(&addr, "quo", "quo-password-123");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&quo),
        Some(json!({"vus": 5, "duration": "1s"})),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("quota_exceeded")),
        "{v}"
    );

    // Pagination.
    let (s, page) = call(
        &addr,
        "GET",
        "/api/v1/scenarios?limit=1&offset=1",
        Some(&viewer),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert!(page["total"].as_u64().unwrap() >= 2, "{page}");
    let (s, _) = call(
        &addr,
        "GET",
        "/api/v1/scenarios?limit=1&bogus=1",
        Some(&viewer),
        None,
    );
    assert_eq!(s, 400);

    // The audit log has every write, for admins only.
    let (s, log) = call(&addr, "GET", "/api/v1/audit?limit=500", Some(&admin), None);
    assert_eq!(s, 200, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "user.create",
        "scenario.create",
        "token.create",
        "token.revoke",
        "auth.login",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert_eq!(call(&addr, "GET", "/api/v1/audit", Some(&ed), None).0, 403);

    // Login throttling: the 6th wrong password in a row is refused with 429.
    for _ in 0..5 {
        let (s, _) = call(
            &addr,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "vera", "password": "wrong-password"})),
        );
        assert_eq!(s, 401);
    }
    let (s, head, _) = http_raw(
        &addr,
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        json!({"username": "vera", "password": "vera-password-123"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 429);
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");

    // Health, readiness, metrics need no token.
    assert_eq!(call(&addr, "GET", "/healthz", None, None).0, 200);
    assert_eq!(call(&addr, "GET", "/readyz", None, None).0, 200);
    let (s, _, m) = http_raw(&addr, "GET", "/metrics", &[], b"");
    assert_eq!(s, 200);
    let m = text(&m);
    assert!(
        m.contains("loadtest_requests_total")
            && m.contains("stampede_http_requests_total{method=\"POST\",status=\"401\"}"),
        "{m}"
    );
}
