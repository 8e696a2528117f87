use md5::{Digest, Md5};
use stampede_http::{Auth, Request};
use tokio::io::AsyncWriteExt;

use crate::common::*;

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn param<'a>(h: &'a str, key: &str) -> &'a str {
    let i = h.find(&format!("{key}=")).unwrap() + key.len() + 1;
    let rest = &h[i..];
    if let Some(r) = rest.strip_prefix('"') {
        &r[..r.find('"').unwrap()]
    } else {
        &rest[..rest.find(',').unwrap_or(rest.len())]
    }
}

/// An RFC 7616 MD5 qop=auth server for user "bob", password "secret".
async fn digest_server() -> std::net::SocketAddr {
    raw_server(|mut s| async move {
        while let Some((head, _)) = read_request(&mut s).await {
            let auth = head.lines().find_map(|l| l.strip_prefix("Authorization: ")).map(str::to_string);
            let ok = auth.as_deref().is_some_and(|a| {
                let (realm, nonce, uri) = (param(a, "realm"), param(a, "nonce"), param(a, "uri"));
                let ha1 = md5_hex(&format!("{}:{realm}:secret", param(a, "username")));
                let method = head.split(' ').next().unwrap();
                let ha2 = md5_hex(&format!("{method}:{uri}"));
                let expect = md5_hex(&format!(
                    "{ha1}:{nonce}:{}:{}:{}:{ha2}",
                    param(a, "nc"),
                    param(a, "cnonce"),
                    param(a, "qop")
                ));
                param(a, "response") == expect && param(a, "opaque") == "op" && nonce == "n0nce"
            });
            let resp = if ok {
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_string()
            } else {
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"test@host\", qop=\"auth\", nonce=\"n0nce\", opaque=\"op\", algorithm=MD5\r\nContent-Length: 6\r\n\r\ndenied".to_string()
            };
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test]
async fn digest_auth_answers_the_challenge() {
    let addr = digest_server().await;
    let session = client().session();
    let mut req = Request::get(url(&format!("http://{addr}/dir/index.html?a=1")));
    req.auth = Some(Auth::Digest {
        user: "bob".into(),
        pass: "secret".into(),
    });
    let ex = session.request(req, None).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.hops);
    assert_eq!(ex.hops.len(), 2);
    assert_eq!(ex.hops[0].status, 401);
    assert!(ex.hops[0].auth_challenge);
    assert!(!ex.hops[1].auth_challenge);
    assert!(ex.hops[1].timings.connecting.is_zero());

    let mut req = Request::get(url(&format!("http://{addr}/")));
    req.auth = Some(Auth::Digest {
        user: "bob".into(),
        pass: "wrong".into(),
    });
    let ex = session.request(req, None).await;
    assert_eq!(ex.response.status, 401);
    assert_eq!(ex.hops.len(), 2);
}

#[tokio::test]
async fn basic_auth_from_param_and_userinfo() {
    let addr = echo_server().await;
    let session = client().session();
    let mut req = Request::get(url(&format!("http://{addr}/")));
    req.auth = Some(Auth::Basic {
        user: "user".into(),
        pass: "pass".into(),
    });
    let ex = session.request(req, None).await;
    assert!(String::from_utf8_lossy(&ex.response.body)
        .contains("Authorization: Basic dXNlcjpwYXNz\r\n"));
    let ex = get(&session, &format!("http://us%40er:pass@{addr}/")).await;
    // base64("us@er:pass")
    assert!(String::from_utf8_lossy(&ex.response.body)
        .contains("Authorization: Basic dXNAZXI6cGFzcw==\r\n"));
}

#[tokio::test]
async fn basic_auth_follows_relative_redirects_only() {
    let addr = raw_server(|mut s| async move {
        while let Some((head, _)) = read_request(&mut s).await {
            let port = s.local_addr().unwrap().port();
            let resp = if head.starts_with("GET /rel ") {
                "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n".to_string()
            } else if head.starts_with("GET /abs ") {
                format!("HTTP/1.1 302 Found\r\nLocation: http://localhost:{port}/echo\r\nContent-Length: 0\r\n\r\n")
            } else {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{head}", head.len())
            };
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    for (path, sent) in [("rel", true), ("abs", false)] {
        let mut req = Request::get(url(&format!("http://{addr}/{path}")));
        req.auth = Some(Auth::Basic {
            user: "user".into(),
            pass: "pass".into(),
        });
        let ex = session.request(req, None).await;
        assert_eq!(ex.hops.len(), 2);
        let body = String::from_utf8_lossy(&ex.response.body).into_owned();
        assert_eq!(
            body.contains("Authorization: Basic dXNlcjpwYXNz"),
            sent,
            "{path}: {body}"
        );
        // Userinfo in the URL behaves the same.
        let ex = get(&session, &format!("http://user:pass@{addr}/{path}")).await;
        let body = String::from_utf8_lossy(&ex.response.body).into_owned();
        assert_eq!(
            body.contains("Authorization: Basic dXNlcjpwYXNz"),
            sent,
            "{path}: {body}"
        );
    }
}
