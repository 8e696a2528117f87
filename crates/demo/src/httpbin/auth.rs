//! `/basic-auth`, `/hidden-basic-auth`, `/bearer` and `/digest-auth`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{header, HeaderValue, StatusCode};
use rand::RngCore;
use serde_json::json;

use super::digest::{self, Algorithm, Covered, Credentials};
use super::request::{json, json_with_status, Exchange, Head};

/// The realm of httpbin's digest challenges.
const DIGEST_REALM: &str = "me@kennethreitz.com";

/// `/basic-auth/{user}/{passwd}`.
pub(crate) async fn basic(Path((user, passwd)): Path<(String, String)>, head: Head) -> Response {
    if basic_matches(&head, &user, &passwd) {
        return authenticated(&user);
    }
    let mut res = StatusCode::UNAUTHORIZED.into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Basic realm="Fake Realm""#),
    );
    res
}

/// `/hidden-basic-auth/{user}/{passwd}`: 404 instead of a challenge.
pub(crate) async fn hidden_basic(
    Path((user, passwd)): Path<(String, String)>,
    head: Head,
) -> Response {
    if basic_matches(&head, &user, &passwd) {
        return authenticated(&user);
    }
    StatusCode::NOT_FOUND.into_response()
}

fn authenticated(user: &str) -> Response {
    json(&json!({ "authenticated": true, "user": user }))
}

fn basic_matches(head: &Head, user: &str, passwd: &str) -> bool {
    let Some(auth) = head.header(header::AUTHORIZATION) else {
        return false;
    };
    let Some((scheme, encoded)) = auth.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    decoded.split_once(':') == Some((user, passwd))
}

/// `/bearer`: any `Authorization: Bearer <token>`.
pub(crate) async fn bearer(head: Head) -> Response {
    match head
        .header(header::AUTHORIZATION)
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        Some(token) => json(&json!({ "authenticated": true, "token": token })),
        None => {
            let mut res = StatusCode::UNAUTHORIZED.into_response();
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        }
    }
}

/// `/digest-auth/{qop}/{user}/{passwd}`: MD5.
pub(crate) async fn digest(
    Path((qop, user, passwd)): Path<(String, String, String)>,
    ex: Exchange,
) -> Response {
    digest_auth(&qop, &user, &passwd, "MD5", "never", &ex)
}

/// `/digest-auth/{qop}/{user}/{passwd}/{algorithm}`.
pub(crate) async fn digest_with_algorithm(
    Path((qop, user, passwd, algorithm)): Path<(String, String, String, String)>,
    ex: Exchange,
) -> Response {
    digest_auth(&qop, &user, &passwd, &algorithm, "never", &ex)
}

/// `/digest-auth/{qop}/{user}/{passwd}/{algorithm}/{stale_after}`: after
/// `stale_after` successes the next challenge says `stale=TRUE`.
pub(crate) async fn digest_with_stale_after(
    Path((qop, user, passwd, algorithm, stale_after)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
    ex: Exchange,
) -> Response {
    digest_auth(&qop, &user, &passwd, &algorithm, &stale_after, &ex)
}

/// httpbin's flow: the state (`stale_after` countdown, the last rejected
/// nonce, and a `fake` cookie for `?require-cookie=1`) lives in cookies.
fn digest_auth(
    qop: &str,
    user: &str,
    passwd: &str,
    algorithm: &str,
    stale_after: &str,
    ex: &Exchange,
) -> Response {
    let head = &ex.head;
    let require_cookie = head
        .query("require-cookie")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "t" | "true"));
    let alg = Algorithm::parse(algorithm).unwrap_or(Algorithm::MD5);
    let qop = matches!(qop, "auth" | "auth-int").then_some(qop);
    let cookies = head.cookies();
    let creds = head
        .header(header::AUTHORIZATION)
        .and_then(Credentials::parse)
        .filter(|_| !require_cookie || head.headers.contains_key(header::COOKIE));
    let Some(creds) = creds else {
        return challenge(
            head,
            qop,
            alg,
            false,
            &[("stale_after", stale_after), ("fake", "fake_value")],
        );
    };
    if require_cookie && cookies.get("fake").map(String::as_str) != Some("fake_value") {
        let mut res = json_with_status(
            StatusCode::FORBIDDEN,
            &json!({ "errors": ["missing cookie set on challenge"] }),
        );
        add_cookies(&mut res, &[("fake", "fake_value")]);
        return res;
    }
    let nonce = creds.get("nonce").unwrap_or("");
    let stale_after_cookie = cookies.get("stale_after");
    if cookies.get("last_nonce").map(String::as_str) == Some(nonce)
        || stale_after_cookie.map(String::as_str) == Some("0")
    {
        let set = [
            ("stale_after", stale_after),
            ("last_nonce", nonce),
            ("fake", "fake_value"),
        ];
        return challenge(head, qop, alg, true, &set);
    }
    if !digest_matches(&creds, user, passwd, ex) {
        let set = [
            ("stale_after", stale_after),
            ("last_nonce", nonce),
            ("fake", "fake_value"),
        ];
        return challenge(head, qop, alg, false, &set);
    }
    let mut res = authenticated(user);
    add_cookies(&mut res, &[("fake", "fake_value")]);
    if let Some(value) = stale_after_cookie {
        add_cookies(&mut res, &[("stale_after", &next_stale_after(value))]);
    }
    res
}

fn digest_matches(creds: &Credentials, user: &str, passwd: &str, ex: &Exchange) -> bool {
    if creds.get("username") != Some(user) {
        return false;
    }
    let uri = ex
        .head
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let method = ex.head.method.as_str();
    let covered = Covered {
        method,
        uri: &uri,
        body: &ex.body,
    };
    match (
        digest::expected_response(creds, passwd, &covered),
        creds.get("response"),
    ) {
        (Some(expected), Some(sent)) => expected.eq_ignore_ascii_case(sent),
        _ => false,
    }
}

fn next_stale_after(value: &str) -> String {
    match value.parse::<i64>() {
        Ok(n) => (n - 1).to_string(),
        Err(_) => "never".to_string(),
    }
}

fn challenge(
    head: &Head,
    qop: Option<&str>,
    alg: Algorithm,
    stale: bool,
    cookies: &[(&str, &str)],
) -> Response {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let peer = head.peer.map(|p| p.ip().to_string()).unwrap_or_default();
    let mut seed = format!("{peer}:{now}:").into_bytes();
    seed.extend_from_slice(&random);
    let nonce = alg.hex(&seed);
    rand::rng().fill_bytes(&mut random);
    let opaque = alg.hex(&random);
    let value = digest::challenge(DIGEST_REALM, &nonce, &opaque, qop, alg, stale);
    let mut res = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    add_cookies(&mut res, cookies);
    res
}

fn add_cookies(res: &mut Response, cookies: &[(&str, &str)]) {
    for (name, value) in cookies {
        if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path=/")) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}
