use std::collections::HashMap;

use http::Method;
use stampede_http::{Client, ClientConfig, HostOverride, Request};

use crate::common::*;

#[tokio::test]
async fn get_reports_status_headers_and_timings() {
    let base = axum_server(axum::Router::new().route(
        "/hello",
        axum::routing::get(|| async { ([("x-lower-case", "v")], "hello") }),
    ))
    .await;
    let session = client().session();
    let ex = get(&session, &format!("{base}/hello")).await;
    let r = &ex.response;
    assert_eq!(r.status, 200);
    assert_eq!(r.status_text, "200 OK");
    assert_eq!(r.proto, "HTTP/1.1");
    assert_eq!(&r.body[..], b"hello");
    assert_eq!(r.header("X-Lower-Case"), Some("v"));
    assert!(r.headers.iter().any(|(k, _)| k == "Content-Type"));
    assert!(r.error.is_none());
    assert_eq!(ex.hops.len(), 1);
    let t = ex.hops[0].timings;
    assert!(t.connecting > std::time::Duration::ZERO);
    assert!(t.blocked >= t.connecting);
    assert!(t.waiting > std::time::Duration::ZERO);
    assert_eq!(t.tls_handshaking, std::time::Duration::ZERO);
    assert_eq!(r.timings, t);
    assert_eq!(
        r.remote,
        Some(base.trim_start_matches("http://").parse().unwrap())
    );
    assert_sane(&ex);
}

#[tokio::test]
async fn keep_alive_reuses_the_connection() {
    let addr = echo_server().await;
    let session = client().session();
    let a = get(&session, &format!("http://{addr}/a")).await;
    let b = get(&session, &format!("http://{addr}/b")).await;
    assert_eq!(session.idle_connections(), 1);
    assert_eq!(
        a.response.header("X-Peer-Port"),
        b.response.header("X-Peer-Port")
    );
    assert!(a.hops[0].timings.connecting > std::time::Duration::ZERO);
    assert_eq!(b.hops[0].timings.connecting, std::time::Duration::ZERO);
    assert_sane(&b);
    // reset_connections drops the idle connection: the next one is new.
    session.reset_connections();
    assert_eq!(session.idle_connections(), 0);
    let c = get(&session, &format!("http://{addr}/c")).await;
    assert_ne!(
        a.response.header("X-Peer-Port"),
        c.response.header("X-Peer-Port")
    );
    assert!(c.hops[0].timings.connecting > std::time::Duration::ZERO);
}

#[tokio::test]
async fn no_connection_reuse_closes_and_says_so() {
    let addr = echo_server().await;
    let client = Client::new(ClientConfig {
        no_connection_reuse: true,
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let a = get(&session, &format!("http://{addr}/")).await;
    let b = get(&session, &format!("http://{addr}/")).await;
    assert_eq!(session.idle_connections(), 0);
    assert_ne!(
        a.response.header("X-Peer-Port"),
        b.response.header("X-Peer-Port")
    );
    assert!(String::from_utf8_lossy(&a.response.body).contains("Connection: close\r\n"));
}

#[tokio::test]
async fn request_head_matches_k6() {
    let addr = echo_server().await;
    let session = client().session();
    let ex = get(&session, &format!("http://{addr}/echo?x=1#frag")).await;
    assert_eq!(
        String::from_utf8_lossy(&ex.response.body),
        format!("GET /echo?x=1 HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Grafana k6/1.1.0\r\n\r\n")
    );
    // Bytes on the wire: exactly the head we sent and the response we got.
    let hop = &ex.hops[0];
    let sent =
        format!("GET /echo?x=1 HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Grafana k6/1.1.0\r\n\r\n");
    assert_eq!(hop.bytes_sent, sent.len() as u64);
    let head_len = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Peer-Port: {}\r\n\r\n",
        ex.response.body.len(),
        ex.response.header("X-Peer-Port").unwrap()
    )
    .len();
    assert_eq!(
        hop.bytes_received,
        (head_len + ex.response.body.len()) as u64
    );
}

#[tokio::test]
async fn post_headers_are_canonical_and_host_overridable() {
    let addr = echo_server().await;
    let session = client().session();
    let req = Request::new(Method::POST, url(&format!("http://{addr}/echo")))
        .header("x-foo", "bar")
        .header("X-Foo", "baz")
        .header("content-type", "text/x")
        .header("Host", "example.com")
        .header("user-agent", "mine")
        .header("Content-Length", "999")
        .body("hello");
    let ex = session.request(req, None).await;
    assert_eq!(
        String::from_utf8_lossy(&ex.response.body),
        "POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nX-Foo: baz\r\nContent-Type: text/x\r\nUser-Agent: mine\r\n\r\nhello"
    );
    // PUT without a body still says Content-Length: 0, DELETE does not.
    let put = session
        .request(
            Request::new(Method::PUT, url(&format!("http://{addr}/"))),
            None,
        )
        .await;
    assert!(String::from_utf8_lossy(&put.response.body).contains("Content-Length: 0\r\n"));
    let del = session
        .request(
            Request::new(Method::DELETE, url(&format!("http://{addr}/"))),
            None,
        )
        .await;
    assert!(!String::from_utf8_lossy(&del.response.body).contains("Content-Length"));
}

#[tokio::test]
async fn hosts_override_and_no_user_agent() {
    let addr = echo_server().await;
    let mut hosts = HashMap::new();
    hosts.insert(
        "my.test:1234".to_string(),
        HostOverride {
            ip: addr.ip(),
            port: Some(addr.port()),
        },
    );
    let client = Client::new(ClientConfig {
        hosts,
        user_agent: None,
        ..Default::default()
    })
    .unwrap();
    let ex = get(&client.session(), "http://my.test:1234/x").await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert_eq!(
        String::from_utf8_lossy(&ex.response.body),
        "GET /x HTTP/1.1\r\nHost: my.test:1234\r\n\r\n"
    );
}

#[tokio::test]
async fn localhost_resolves_and_is_cached() {
    let addr = echo_server().await;
    let session = client().session();
    let ex = get(&session, &format!("http://localhost:{}/", addr.port())).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert_eq!(ex.response.remote.unwrap().ip(), addr.ip());
}

#[tokio::test]
async fn concurrent_requests_use_separate_connections() {
    let addr = raw_server(|mut s| async move {
        let peer = s.peer_addr().unwrap();
        while read_request(&mut s).await.is_some() {
            // Slow enough that both requests are in flight together.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Peer-Port: {}\r\n\r\n",
                peer.port()
            );
            use tokio::io::AsyncWriteExt;
            if s.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    let u = format!("http://{addr}/");
    let (a, b) = tokio::join!(get(&session, &u), get(&session, &u));
    assert_eq!(a.response.status, 200);
    assert_eq!(b.response.status, 200);
    assert_ne!(
        a.response.header("X-Peer-Port"),
        b.response.header("X-Peer-Port")
    );
    assert_eq!(session.idle_connections(), 2);
}

#[tokio::test]
async fn stale_keep_alive_connection_is_retried() {
    // Answers one request per connection without announcing the close,
    // and says when it has closed.
    let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel::<()>();
    let addr = raw_server(move |mut s| {
        let closed_tx = closed_tx.clone();
        async move {
            if read_request(&mut s).await.is_some() {
                use tokio::io::AsyncWriteExt;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            }
            drop(s);
            let _ = closed_tx.send(());
        }
    })
    .await;
    let session = client().session();
    let u = format!("http://{addr}/");
    let a = get(&session, &u).await;
    assert_eq!(a.response.status, 200);
    closed
        .recv()
        .await
        .expect("the server closed the connection");
    let b = session
        .request(Request::new(Method::POST, url(&u)).body("x"), None)
        .await;
    assert_eq!(b.response.status, 200, "{:?}", b.response.error);
    assert_eq!(b.hops.len(), 1);
    assert!(b.hops[0].timings.connecting > std::time::Duration::ZERO);
}

#[tokio::test]
async fn idle_connections_are_limited_per_host() {
    let addr = raw_server(|mut s| async move {
        while read_request(&mut s).await.is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            use tokio::io::AsyncWriteExt;
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
        }
    })
    .await;
    let client = Client::new(ClientConfig {
        max_idle_conns_per_host: 3,
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let u = format!("http://{addr}/");
    let all = futures_join_all((0..5).map(|_| get(&session, &u))).await;
    assert!(all.iter().all(|e| e.response.status == 200));
    assert_eq!(session.idle_connections(), 3);
}

/// A minimal join_all for a handful of futures on one task.
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
