//! k6's `httpDebug`: the request and response of each hop as text, for the
//! script's log.
//!
//! The request is the head Stampede writes on the wire (HTTP/1.1 syntax for
//! HTTP/2 too, as Go's `httputil.DumpRequestOut` shows it); the response is
//! laid out as Go's `httputil.DumpResponse`: the status line, then the
//! headers sorted by name, a blank line and, with `full`, the body as
//! received (before any `Content-Encoding` is decoded).

use crate::h1::{self, RawResponse};
use crate::hop::HopParams;

/// What `httpDebug` dumps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpDebug {
    /// Nothing (the default).
    #[default]
    Off,
    /// Request and response heads (`--http-debug`).
    Headers,
    /// Heads and bodies (`--http-debug=full`).
    Full,
}

impl HttpDebug {
    /// k6's reading of the option: unset or empty is off, `full` dumps
    /// bodies, any other value dumps heads.
    pub fn from_option(value: Option<&str>) -> Self {
        match value {
            None | Some("") => HttpDebug::Off,
            Some("full") => HttpDebug::Full,
            Some(_) => HttpDebug::Headers,
        }
    }
}

/// The dumps of one hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopDump {
    /// The request, lines ending in `\r\n`.
    pub request: String,
    /// The response; `None` when the hop failed before one arrived.
    pub response: Option<String>,
}

/// Dumps a hop's request and, if it got one, its response.
pub(crate) fn dump(
    mode: HttpDebug,
    p: &HopParams<'_>,
    response: Option<&RawResponse>,
) -> Option<Box<HopDump>> {
    if mode == HttpDebug::Off {
        return None;
    }
    let full = mode == HttpDebug::Full;
    let mut head = Vec::new();
    h1::encode_head(&mut head, p, full);
    Some(Box::new(HopDump {
        request: String::from_utf8_lossy(&head).into_owned(),
        response: response.map(|r| dump_response(r, full)),
    }))
}

fn dump_response(r: &RawResponse, full: bool) -> String {
    let mut lines: Vec<(&str, &str)> = Vec::with_capacity(r.headers.len());
    // Go writes framing before the other headers, except a zero
    // Content-Length, which comes last.
    let mut framing = String::new();
    let mut zero_length = false;
    for (k, v) in &r.headers {
        if k == "Content-Length" {
            if v.trim() == "0" {
                zero_length = true;
            } else {
                framing = format!("Content-Length: {v}\r\n");
            }
        } else if k == "Transfer-Encoding" {
            framing = format!("Transfer-Encoding: {v}\r\n");
        } else if k == "Set-Cookie" {
            // Repeats of these two are kept apart, as they came.
            lines.extend(r.set_cookies.iter().map(|c| (k, c.as_str())));
        } else if k == "Www-Authenticate" {
            lines.extend(r.www_authenticate.iter().map(|c| (k, c.as_str())));
        } else {
            lines.push((k, v));
        }
    }
    // Go's Header.Write sorts by name; a stable sort keeps repeats in order.
    lines.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = format!("{} {} {}\r\n{framing}", r.proto, r.status, r.reason());
    for (k, v) in lines {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    }
    if zero_length {
        out.push_str("Content-Length: 0\r\n");
    }
    out.push_str("\r\n");
    if full {
        out.push_str(&String::from_utf8_lossy(&r.body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::Method;
    use url::Url;

    fn params<'a>(method: &'a Method, url: &'a Url, body: &'a Bytes) -> HopParams<'a> {
        HopParams {
            method,
            url,
            host_override: None,
            headers: &[],
            strip_sensitive: false,
            user_agent: Some("Grafana k6/1.1.0"),
            authorization: None,
            cookie: "",
            referer: None,
            content_encoding: None,
            body,
            collect: true,
            close: false,
        }
    }

    fn response() -> RawResponse {
        RawResponse {
            proto: "HTTP/1.1",
            status: 200,
            status_text: "200 OK".into(),
            headers: [
                ("Server", "nginx"),
                ("Content-Length", "5"),
                ("Set-Cookie", "a=1, b=2"),
                ("Content-Type", "text/plain"),
            ]
            .into_iter()
            .collect(),
            set_cookies: vec!["a=1".into(), "b=2".into()],
            www_authenticate: vec![],
            body: Bytes::from_static(b"hello"),
            keep_alive: true,
        }
    }

    #[test]
    fn off_dumps_nothing_and_options_read_as_k6() {
        let (m, u, b) = (Method::GET, Url::parse("http://h/").unwrap(), Bytes::new());
        assert!(dump(HttpDebug::Off, &params(&m, &u, &b), None).is_none());
        assert_eq!(HttpDebug::from_option(None), HttpDebug::Off);
        assert_eq!(HttpDebug::from_option(Some("")), HttpDebug::Off);
        assert_eq!(HttpDebug::from_option(Some("headers")), HttpDebug::Headers);
        assert_eq!(HttpDebug::from_option(Some("full")), HttpDebug::Full);
    }

    #[test]
    fn heads_only() {
        let (m, u, b) = (
            Method::POST,
            Url::parse("http://h:8080/x?a=1").unwrap(),
            Bytes::from_static(b"{}"),
        );
        let d = dump(HttpDebug::Headers, &params(&m, &u, &b), Some(&response())).unwrap();
        assert_eq!(
            d.request,
            "POST /x?a=1 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: Grafana k6/1.1.0\r\n\
             Content-Length: 2\r\n\r\n"
        );
        assert_eq!(
            d.response.as_deref(),
            Some(
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\
                 Server: nginx\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
            )
        );
    }

    #[test]
    fn full_adds_bodies() {
        let (m, u, b) = (
            Method::POST,
            Url::parse("http://h/").unwrap(),
            Bytes::from_static(b"{\"a\":1}"),
        );
        let d = dump(HttpDebug::Full, &params(&m, &u, &b), Some(&response())).unwrap();
        assert!(d.request.ends_with("\r\n\r\n{\"a\":1}"), "{}", d.request);
        assert!(d.response.unwrap().ends_with("\r\n\r\nhello"));
        let mut empty = response();
        empty.status = 302;
        empty.status_text = "302 Found".into();
        empty.headers = [
            ("Server", "nginx"),
            ("Content-Length", "0"),
            ("Set-Cookie", "a=1, b=2"),
            ("Content-Type", "text/plain"),
        ]
        .into_iter()
        .collect();
        let d = dump(HttpDebug::Headers, &params(&m, &u, &b), Some(&empty)).unwrap();
        assert!(
            d.response
                .unwrap()
                .ends_with("Set-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"),
            "Go writes a zero length last"
        );
        let failed = dump(HttpDebug::Full, &params(&m, &u, &b), None).unwrap();
        assert_eq!(failed.response, None);
    }
}
