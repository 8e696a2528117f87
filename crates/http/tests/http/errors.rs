use std::time::Duration;

use stampede_http::Request;
use tokio::io::AsyncWriteExt;

use crate::common::*;

#[tokio::test]
async fn connection_refused_is_1212() {
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let u = format!("http://127.0.0.1:{port}/");
    let ex = get(&client().session(), &u).await;
    let e = ex.response.error.clone().unwrap();
    assert_eq!(e.code, 1212);
    assert_eq!(e.message, "dial: connection refused");
    assert_eq!(
        e.log_line("GET", &u),
        format!("Get \"{u}\": dial tcp 127.0.0.1:{port}: connect: connection refused")
    );
    assert_eq!(ex.response.status, 0);
    assert_eq!(ex.hops.len(), 1);
    assert_eq!(ex.hops[0].timings, Default::default());
}

#[tokio::test]
async fn reset_before_response_is_1220() {
    let addr = raw_server(|mut s| async move {
        let _ = read_request(&mut s).await;
        // SO_LINGER 0 makes the close send RST; blocking on drop is moot then.
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    let ex = get(&client().session(), &format!("http://{addr}/")).await;
    let e = ex.response.error.unwrap();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1220, "read: connection reset by peer")
    );
    let t = ex.hops[0].timings;
    assert!(t.connecting > Duration::ZERO && t.receiving.is_zero());
}

#[tokio::test]
async fn close_without_response_is_eof() {
    let addr = raw_server(|mut s| async move {
        let _ = read_request(&mut s).await;
    })
    .await;
    let ex = get(&client().session(), &format!("http://{addr}/")).await;
    let e = ex.response.error.unwrap();
    assert_eq!((e.code, e.message.as_str()), (1000, "EOF"));
}

#[tokio::test]
async fn truncated_body_is_unexpected_eof() {
    let addr = canned(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", false).await;
    let ex = get(&client().session(), &format!("http://{addr}/")).await;
    let e = ex.response.error.unwrap();
    assert_eq!((e.code, e.message.as_str()), (1000, "unexpected EOF"));
    assert_eq!(ex.response.status, 0);
    // k6 keeps the part of the body it read.
    assert_eq!(&ex.response.body[..], b"abc");
    assert!(
        ex.hops[0].timings.receiving > Duration::ZERO
            || ex.hops[0].timings.waiting > Duration::ZERO
    );
}

#[tokio::test]
async fn malformed_status_line() {
    let addr = canned(b"FOO BAR\r\n\r\n", false).await;
    let ex = get(&client().session(), &format!("http://{addr}/")).await;
    let e = ex.response.error.unwrap();
    assert_eq!(e.code, 1000);
    assert_eq!(e.message, "malformed HTTP status code \"BAR\"");
}

#[tokio::test]
async fn slow_headers_time_out_with_1050() {
    let addr = raw_server(|mut s| async move {
        let _ = read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let session = client().session();
    let mut req = Request::get(url(&format!("http://{addr}/")));
    req.timeout = Duration::from_millis(200);
    let ex = session.request(req, None).await;
    let e = ex.response.error.clone().unwrap();
    assert_eq!((e.code, e.message.as_str()), (1050, "request timeout"));
    let t = ex.hops[0].timings;
    // Waiting runs until the timeout fires (no threshold: CI may be slow).
    assert!(t.waiting > Duration::ZERO && t.receiving.is_zero(), "{t:?}");
    assert!(t.connecting > Duration::ZERO);
    assert!(ex.hops[0].bytes_sent > 0);
    assert_eq!(session.idle_connections(), 0);
    assert_sane(&ex);
}

#[tokio::test]
async fn unresolvable_host_is_a_dns_error() {
    let ex = get(&client().session(), "http://nonexistent.invalid/").await;
    let e = ex.response.error.unwrap();
    assert!(e.code == 1101 || e.code == 1100, "{e:?}");
}

#[tokio::test]
async fn unsupported_scheme() {
    let ex = get(&client().session(), "ftp://127.0.0.1/").await;
    let e = ex.response.error.unwrap();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1000, "unsupported protocol scheme \"ftp\"")
    );
}

#[tokio::test]
async fn header_injection_is_refused() {
    let addr = echo_server().await;
    let req = Request::get(url(&format!("http://{addr}/"))).header("X-Bad", "a\r\nInjected: 1");
    let ex = client().session().request(req, None).await;
    assert_eq!(ex.response.status, 0);
    assert!(ex
        .response
        .error
        .unwrap()
        .message
        .contains("invalid header field value"));
}

#[tokio::test]
async fn blacklisted_ips_and_blocked_hostnames() {
    let addr = echo_server().await;
    let client = stampede_http::Client::new(stampede_http::ClientConfig {
        blacklist_ips: vec![stampede_http::IpNet::parse("127.0.0.0/24").unwrap()],
        block_hostnames: vec!["*.blocked.test".into()],
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let u = format!("http://{addr}/");
    let e = get(&session, &u).await.response.error.unwrap();
    assert_eq!((e.code, e.message.as_str()), (1110, "ip is blacklisted"));
    assert_eq!(
        e.log_line("GET", &u),
        format!("Get \"{u}\": IP (127.0.0.1) is in a blacklisted range (127.0.0.0/24)")
    );
    let e = get(&session, "http://a.blocked.test/")
        .await
        .response
        .error
        .unwrap();
    assert_eq!((e.code, e.message.as_str()), (1111, "hostname is blocked"));
    assert_eq!(
        e.detail,
        "hostname (a.blocked.test) is in a blocked pattern (*.blocked.test)"
    );
}
