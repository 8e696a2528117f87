//! Basic, bearer and digest authentication.

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::json;
use sha2::Sha256;
use stampede_demo::TestServer;

use crate::client::{get, get_with, Resp};

#[tokio::test]
async fn basic_auth() {
    let server = TestServer::start().await.unwrap();
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:pa:ss")
    );
    let res = get_with(
        &server,
        "/basic-auth/user/pa:ss",
        &[("authorization", &good)],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"authenticated": true, "user": "user"}));

    let res = get(&server, "/basic-auth/user/other").await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        Some(r#"Basic realm="Fake Realm""#)
    );
    let res = get_with(
        &server,
        "/basic-auth/user/other",
        &[("authorization", &good)],
    )
    .await;
    assert_eq!(res.status, 401);

    let res = get(&server, "/hidden-basic-auth/user/pa:ss").await;
    assert_eq!(res.status, 404);
    assert!(res.header("www-authenticate").is_none());
    let res = get_with(
        &server,
        "/hidden-basic-auth/user/pa:ss",
        &[("authorization", &good)],
    )
    .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn bearer() {
    let server = TestServer::start().await.unwrap();
    let res = get_with(&server, "/bearer", &[("authorization", "Bearer abc.def")]).await;
    assert_eq!(
        res.json(),
        json!({"authenticated": true, "token": "abc.def"})
    );
    let res = get(&server, "/bearer").await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

/// The parameters of a digest challenge.
fn challenge(res: &Resp) -> std::collections::HashMap<String, String> {
    let value = res.header("www-authenticate").expect("a challenge");
    let rest = value.strip_prefix("Digest ").expect("a digest challenge");
    let mut out = std::collections::HashMap::new();
    // The test challenges have no commas inside quoted values but qop's.
    let mut rest = rest.to_string();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap();
            (q[..end].to_string(), q[end + 1..].to_string())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_string(), after[end..].to_string())
        };
        out.insert(key.trim().to_string(), value);
        rest = tail.trim_start_matches([',', ' ']).to_string();
    }
    out
}

fn hex_md5(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An `Authorization` header for `uri` answering challenge `c`.
fn authorization(
    c: &std::collections::HashMap<String, String>,
    user: &str,
    pass: &str,
    uri: &str,
    qop: &str,
) -> String {
    let h: fn(&str) -> String = if c["algorithm"] == "SHA-256" {
        hex_sha256
    } else {
        hex_md5
    };
    let ha1 = h(&format!("{user}:{}:{pass}", c["realm"]));
    let ha2 = if qop == "auth-int" {
        h(&format!("GET:{uri}:{}", h("")))
    } else {
        h(&format!("GET:{uri}"))
    };
    let (nc, cnonce) = ("00000001", "0a4f113b");
    let response = h(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", c["nonce"]));
    format!(
        "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
         algorithm={}, qop={qop}, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\", \
         opaque=\"{}\"",
        c["realm"], c["nonce"], c["algorithm"], c["opaque"]
    )
}

#[tokio::test]
async fn digest_md5_auth_flow() {
    let server = TestServer::start().await.unwrap();
    let uri = "/digest-auth/auth/user/passwd";
    let first = get(&server, uri).await;
    assert_eq!(first.status, 401);
    let c = challenge(&first);
    assert_eq!(c["realm"], "me@kennethreitz.com");
    assert_eq!(c["qop"], "auth");
    assert_eq!(c["algorithm"], "MD5");
    assert_eq!(c["stale"], "FALSE");
    assert_eq!(c["nonce"].len(), 32);
    assert_eq!(c["opaque"].len(), 32);
    let mut cookies = first.header_all("set-cookie");
    cookies.sort();
    assert_eq!(
        cookies,
        ["fake=fake_value; Path=/", "stale_after=never; Path=/"]
    );

    let auth = authorization(&c, "user", "passwd", uri, "auth");
    let ok = get_with(&server, uri, &[("authorization", &auth)]).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json(), json!({"authenticated": true, "user": "user"}));

    let wrong = authorization(&c, "user", "nope", uri, "auth");
    let res = get_with(&server, uri, &[("authorization", &wrong)]).await;
    assert_eq!(res.status, 401);
    assert_eq!(challenge(&res)["stale"], "FALSE");
    // Retrying with the nonce that just failed gets a stale challenge.
    let cookie = format!("last_nonce={}", c["nonce"]);
    let res = get_with(
        &server,
        uri,
        &[("authorization", &auth), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(challenge(&res)["stale"], "TRUE");

    let other_user = authorization(&c, "someone", "passwd", uri, "auth");
    let res = get_with(&server, uri, &[("authorization", &other_user)]).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn digest_sha256_auth_int() {
    let server = TestServer::start().await.unwrap();
    let uri = "/digest-auth/auth-int/u/p/SHA-256?x=1";
    let c = challenge(&get(&server, uri).await);
    assert_eq!(c["algorithm"], "SHA-256");
    assert_eq!(c["qop"], "auth-int");
    assert_eq!(c["nonce"].len(), 64);
    let auth = authorization(&c, "u", "p", uri, "auth-int");
    let res = get_with(&server, uri, &[("authorization", &auth)]).await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[tokio::test]
async fn digest_unknown_qop_offers_both() {
    let server = TestServer::start().await.unwrap();
    let c = challenge(&get(&server, "/digest-auth/x/u/p").await);
    assert_eq!(c["qop"], "auth, auth-int");
}

#[tokio::test]
async fn digest_stale_after_counts_down() {
    let server = TestServer::start().await.unwrap();
    let uri = "/digest-auth/auth/u/p/MD5/1";
    let first = get(&server, uri).await;
    assert!(first
        .header_all("set-cookie")
        .contains(&"stale_after=1; Path=/".to_string()));
    let c = challenge(&first);
    let auth = authorization(&c, "u", "p", uri, "auth");
    let res = get_with(
        &server,
        uri,
        &[("authorization", &auth), ("cookie", "stale_after=1")],
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res
        .header_all("set-cookie")
        .contains(&"stale_after=0; Path=/".to_string()));
    let res = get_with(
        &server,
        uri,
        &[("authorization", &auth), ("cookie", "stale_after=0")],
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(challenge(&res)["stale"], "TRUE");
}

#[tokio::test]
async fn digest_require_cookie() {
    let server = TestServer::start().await.unwrap();
    let uri = "/digest-auth/auth/u/p?require-cookie=true";
    let c = challenge(&get(&server, uri).await);
    let auth = authorization(&c, "u", "p", uri, "auth");
    // Without any cookie: challenged again.
    let res = get_with(&server, uri, &[("authorization", &auth)]).await;
    assert_eq!(res.status, 401);
    let res = get_with(&server, uri, &[("authorization", &auth), ("cookie", "x=y")]).await;
    assert_eq!(res.status, 403);
    let res = get_with(
        &server,
        uri,
        &[("authorization", &auth), ("cookie", "fake=fake_value")],
    )
    .await;
    assert_eq!(res.status, 200);
}
