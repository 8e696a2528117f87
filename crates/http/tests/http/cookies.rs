use stampede_http::{CookieJar, CookieOptions, Request, RequestCookie};
use tokio::io::AsyncWriteExt;

use crate::common::*;

#[tokio::test]
async fn cookies_follow_redirects_and_requests() {
    let addr = raw_server(|mut s| async move {
        while let Some((head, _)) = read_request(&mut s).await {
            let resp = if head.starts_with("GET /login") {
                "HTTP/1.1 302 Found\r\nLocation: /home\r\nSet-Cookie: sid=abc; Path=/; HttpOnly\r\nContent-Length: 0\r\n\r\n".to_string()
            } else {
                let cookie = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Cookie: "))
                    .unwrap_or("")
                    .to_string();
                format!(
                    "HTTP/1.1 200 OK\r\nSet-Cookie: seen=1; Max-Age=60\r\nSet-Cookie: other=2; Domain=127.0.0.1; Secure\r\nContent-Length: {}\r\n\r\n{cookie}",
                    cookie.len()
                )
            };
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    let jar = CookieJar::new();
    let base = format!("http://{addr}");
    let ex = session
        .request(Request::get(url(&format!("{base}/login"))), Some(&jar))
        .await;
    assert_eq!(&ex.response.body[..], b"sid=abc");
    assert_eq!(ex.response.cookies.len(), 2);
    let seen = &ex.response.cookies[0];
    assert_eq!(
        (seen.name.as_str(), seen.value.as_str(), seen.max_age),
        ("seen", "1", 60)
    );
    let other = &ex.response.cookies[1];
    assert!(other.secure);
    assert_eq!(other.domain, "127.0.0.1");
    assert_eq!(
        ex.response.header("Set-Cookie"),
        Some("seen=1; Max-Age=60, other=2; Domain=127.0.0.1; Secure")
    );

    // Per-request cookies go first; `replace` hides the jar's cookie.
    let mut req = Request::get(url(&format!("{base}/again")));
    req.cookies = vec![
        RequestCookie {
            name: "mine".into(),
            value: "v".into(),
            replace: false,
        },
        RequestCookie {
            name: "seen".into(),
            value: "x".into(),
            replace: true,
        },
    ];
    let ex = session.request(req, Some(&jar)).await;
    assert_eq!(&ex.response.body[..], b"mine=v; seen=x; sid=abc");

    // The secure cookie is not sent over http; jar.set adds one.
    jar.set(&url(&base), "manual", "m", &CookieOptions::default());
    let names: Vec<String> = jar
        .cookies_for_url(&url(&format!("{base}/")))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["sid", "seen", "manual"]);

    // Without a jar nothing is stored or sent.
    let ex = session
        .request(Request::get(url(&format!("{base}/x"))), None)
        .await;
    assert_eq!(&ex.response.body[..], b"");
}

#[tokio::test]
async fn cookie_header_is_not_repeated_on_redirects_with_a_jar() {
    let addr = raw_server(|mut s| async move {
        while let Some((head, _)) = read_request(&mut s).await {
            let resp = if head.starts_with("GET /r ") {
                "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n".to_string()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{head}",
                    head.len()
                )
            };
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    let jar = CookieJar::new();
    let mut req = Request::get(url(&format!("http://{addr}/r"))).header("Cookie", "manual=1");
    req.cookies = vec![RequestCookie {
        name: "param".into(),
        value: "p".into(),
        replace: false,
    }];
    let ex = session.request(req, Some(&jar)).await;
    let body = String::from_utf8_lossy(&ex.response.body).into_owned();
    assert!(body.contains("Cookie: param=p\r\n"), "{body}");
}
