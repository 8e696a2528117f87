use http::Method;
use stampede_http::{Auth, Request};
use tokio::io::AsyncWriteExt;

use crate::common::*;

/// `/redir?code=C&to=T` answers C with Location T; `/chain/N` redirects N
/// times; anything else echoes the request head.
async fn redirect_server() -> std::net::SocketAddr {
    raw_server(|mut s| async move {
        while let Some((head, body)) = read_request(&mut s).await {
            let target = head.split(' ').nth(1).unwrap_or("/").to_string();
            let resp = if let Some(q) = target.strip_prefix("/redir?") {
                let mut code = "302";
                let mut to = "/echo".to_string();
                let mut cookie = String::new();
                for kv in q.split('&') {
                    match kv.split_once('=') {
                        Some(("code", v)) => {
                            code = if v == "301" {
                                "301"
                            } else if v == "303" {
                                "303"
                            } else if v == "307" {
                                "307"
                            } else if v == "308" {
                                "308"
                            } else {
                                "302"
                            }
                        }
                        Some(("to", v)) => {
                            to = v
                                .replace("%3F", "?")
                                .replace("%3D", "=")
                                .replace("%2F", "/")
                                .replace("%3A", ":")
                        }
                        Some(("cookie", v)) => {
                            cookie = format!("Set-Cookie: {}\r\n", v.replace("%3D", "="))
                        }
                        _ => {}
                    }
                }
                format!(
                    "HTTP/1.1 {code} Moved\r\nLocation: {to}\r\n{cookie}Content-Length: 0\r\n\r\n"
                )
                .into_bytes()
            } else if let Some(n) = target.strip_prefix("/chain/") {
                let n: u32 = n.parse().unwrap();
                let to = if n > 1 {
                    format!("/chain/{}", n - 1)
                } else {
                    "/echo".to_string()
                };
                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                    .into_bytes()
            } else {
                let mut payload = head.into_bytes();
                payload.extend_from_slice(&body);
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    payload.len()
                )
                .into_bytes();
                r.extend_from_slice(&payload);
                r
            };
            if s.write_all(&resp).await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test]
async fn post_becomes_get_for_301_302_303_and_stays_for_307_308() {
    let addr = redirect_server().await;
    let session = client().session();
    for (code, method, has_body) in [
        ("301", "GET", false),
        ("302", "GET", false),
        ("303", "GET", false),
        ("307", "POST", true),
        ("308", "POST", true),
    ] {
        let u = format!("http://{addr}/redir?code={code}");
        let req = Request::new(Method::POST, url(&u))
            .body("body!")
            .header("X-Keep", "yes");
        let ex = session.request(req, None).await;
        let text = String::from_utf8_lossy(&ex.response.body).into_owned();
        assert_eq!(ex.hops.len(), 2, "{code}");
        assert_eq!(ex.hops[0].status, code.parse::<u16>().unwrap());
        assert_eq!(ex.hops[0].method, Method::POST);
        assert!(
            text.starts_with(&format!("{method} /echo HTTP/1.1\r\n")),
            "{code}: {text}"
        );
        assert!(text.contains("X-Keep: yes\r\n"));
        assert!(text.contains(&format!("Referer: {u}\r\n")), "{text}");
        assert_eq!(text.ends_with("body!"), has_body, "{code}: {text}");
        assert_eq!(ex.response.url.path(), "/echo");
        assert_sane(&ex);
    }
}

#[tokio::test]
async fn relative_and_cross_host_locations() {
    let addr = redirect_server().await;
    let session = client().session();
    let ex = get(&session, &format!("http://{addr}/redir?to=echo%3Fx%3D1")).await;
    assert_eq!(ex.response.url.as_str(), format!("http://{addr}/echo?x=1"));
    let to = format!("http%3A%2F%2Flocalhost:{}%2Fecho", addr.port());
    let mut req = Request::get(url(&format!("http://{addr}/redir?to={to}")));
    req.auth = Some(Auth::Basic {
        user: "u".into(),
        pass: "p".into(),
    });
    let req = req
        .header("Authorization", "Bearer secret")
        .header("Host", "custom");
    let ex = session.request(req, None).await;
    let text = String::from_utf8_lossy(&ex.response.body).into_owned();
    assert_eq!(ex.response.url.host_str(), Some("localhost"));
    // Sensitive headers and the custom Host do not follow to another host.
    assert!(!text.contains("Authorization"), "{text}");
    assert!(
        text.contains(&format!("Host: localhost:{}\r\n", addr.port())),
        "{text}"
    );
}

#[tokio::test]
async fn redirect_limit_returns_the_last_redirect() {
    let addr = redirect_server().await;
    let session = client().session();
    let mut req = Request::get(url(&format!("http://{addr}/chain/5")));
    req.max_redirects = Some(2);
    let ex = session.request(req, None).await;
    assert_eq!(ex.hops.len(), 3);
    assert_eq!(ex.response.status, 302);
    assert_eq!(ex.response.url.path(), "/chain/3");
    assert!(ex.redirect_limit_reached);
    assert!(ex.response.error.is_none());

    let mut req = Request::get(url(&format!("http://{addr}/chain/5")));
    req.max_redirects = Some(0);
    let ex = session.request(req, None).await;
    assert_eq!(ex.hops.len(), 1);
    assert_eq!(ex.response.status, 302);

    let ex = get(&session, &format!("http://{addr}/chain/5")).await;
    assert_eq!(ex.hops.len(), 6);
    assert_eq!(ex.response.status, 200);
    assert!(!ex.redirect_limit_reached);
    // Every hop after the first reused the one connection.
    assert!(ex.hops[1..].iter().all(|h| h.timings.connecting.is_zero()));
}
