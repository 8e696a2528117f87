//! A lean HTTP/1.1 client codec over a [`Conn`].
//!
//! Why not hyper's client connection: it needs a spawned connection task and
//! a channel hop per request, and its body type adds another layer of polling;
//! here the VU's own future writes the whole request with one `write` and
//! parses the response from a buffer the connection keeps, which also gives
//! exact timestamps for k6's sending/waiting/receiving without an I/O shim.

use std::mem::MaybeUninit;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Position;

use crate::conn::{Conn, MAX_READ_AHEAD, READ_BUF};
use crate::error::{HttpError, Op};
use crate::header_list::{header_text, push_canonical, HeaderList};
use crate::headers::SENSITIVE;
use crate::hop::HopParams;

/// Bodies up to this size are copied into the write buffer so headers and body
/// leave in one `write`; larger ones are written separately.
const INLINE_BODY: usize = 64 * 1024;
/// Bodies up to this size are copied out of the read buffer (which then keeps
/// its allocation); larger ones are split off without copying.
const COPY_BODY: usize = 4 * 1024;
/// The head buffer reserved for a request: a typical head in one allocation.
const HEAD_BUF: usize = 512;

/// Instants of one round trip, kept outside the future so a timeout that drops
/// the future still leaves them readable.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Marks {
    pub(crate) wrote: Option<Instant>,
    pub(crate) first_byte: Option<Instant>,
    /// The head was parsed and the read buffer now holds body bytes, as
    /// received (for a partial body when the body fails, as k6 keeps it).
    pub(crate) in_plain_body: bool,
}

/// A parsed response, body still content-encoded. Boxed from the parser
/// on: it moves about ten times on its way to the `Response`.
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// `HTTP/1.1`, `HTTP/1.0` or `HTTP/2.0`.
    pub(crate) proto: &'static str,
    pub(crate) status: u16,
    /// k6's status text: the code, a space and the reason (`200 OK`).
    pub(crate) status_text: String,
    /// Canonical names, repeats joined by `, `, first-appearance order.
    pub(crate) headers: HeaderList,
    /// Each `Set-Cookie` value separately.
    pub(crate) set_cookies: Vec<String>,
    /// Each `WWW-Authenticate` value separately.
    pub(crate) www_authenticate: Vec<String>,
    pub(crate) body: Bytes,
    pub(crate) keep_alive: bool,
}

impl RawResponse {
    /// The reason phrase (`OK`), from the status text.
    pub(crate) fn reason(&self) -> &str {
        self.status_text.split_once(' ').map_or("", |(_, r)| r)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Writes `conn.wbuf` (the head, possibly with the body inlined) and then
/// `body` if it was not inlined.
pub(crate) async fn send(
    conn: &mut Conn,
    body: &[u8],
    body_inlined: bool,
    marks: &mut Marks,
) -> Result<(), HttpError> {
    let res = async {
        conn.stream.write_all(&conn.wbuf).await?;
        if !body_inlined && !body.is_empty() {
            conn.stream.write_all(body).await?;
        }
        if conn.stream.is_tls() {
            conn.stream.flush().await?;
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    res.map_err(|e| HttpError::io(Op::Write, conn.local, Some(conn.remote), &e))?;
    marks.wrote = Some(Instant::now());
    Ok(())
}

/// Whether a body of this size is copied into the head buffer.
pub(crate) fn inline_body(len: usize) -> bool {
    len <= INLINE_BODY
}

/// Reads more bytes into the read buffer; Ok(0) at end of stream.
async fn fill(conn: &mut Conn, marks: &mut Marks) -> Result<usize, HttpError> {
    if conn.rbuf.capacity() - conn.rbuf.len() < 1024 {
        // Grow geometrically so large close-delimited or chunked bodies do
        // not cost a reallocation per read.
        conn.rbuf.reserve(READ_BUF.max(conn.rbuf.len()));
    }
    let n = conn
        .stream
        .read_buf(&mut conn.rbuf)
        .await
        .map_err(|e| HttpError::io(Op::Read, conn.local, Some(conn.remote), &e))?;
    if n > 0 && marks.first_byte.is_none() {
        marks.first_byte = Some(Instant::now());
    }
    Ok(n)
}

/// Where the body ends.
enum Framing {
    None,
    Length(usize),
    Chunked,
    Close,
}

/// Reads one response (skipping interim 1xx responses) and its body.
pub(crate) async fn receive(
    conn: &mut Conn,
    head_request: bool,
    collect: bool,
    marks: &mut Marks,
) -> Result<Box<RawResponse>, HttpError> {
    let mut interim = 0;
    let (mut resp, framed) = loop {
        match parse_head(&conn.rbuf)? {
            Some((consumed, resp, framed)) => {
                conn.rbuf.advance(consumed);
                // Go skips up to 5 interim responses; 101 is final (and unsupported).
                if (100..200).contains(&resp.status) && resp.status != 101 && interim < 5 {
                    interim += 1;
                    continue;
                }
                break (resp, framed);
            }
            None => {
                if fill(conn, marks).await? == 0 {
                    return Err(if conn.rbuf.is_empty() {
                        HttpError::eof()
                    } else {
                        HttpError::unexpected_eof()
                    });
                }
            }
        }
    };
    if resp.status == 101 {
        return Err(HttpError::plain(
            crate::error::code::GENERIC,
            format!(
                "unsupported response status: {} {}",
                resp.status,
                resp.reason()
            ),
        ));
    }
    let framing = framing(&resp, framed, head_request)?;
    marks.in_plain_body = collect && matches!(framing, Framing::Length(_) | Framing::Close);
    resp.body = match framing {
        Framing::None => Bytes::new(),
        Framing::Length(len) => read_length(conn, len, collect, marks).await?,
        Framing::Chunked => read_chunked(conn, collect, marks).await?,
        Framing::Close => {
            resp.keep_alive = false;
            while fill(conn, marks).await? > 0 {
                if !collect {
                    conn.rbuf.clear();
                }
            }
            conn.rbuf.split().freeze()
        }
    };
    if conn.rbuf.is_empty() {
        // An idle connection holds no read buffer: there is one per VU and
        // host, kept while the VU sleeps, so 4 KB each added up. The next
        // response gets a fresh one (the body may still share this one).
        conn.rbuf = BytesMut::new();
    }
    // Nor a write buffer (512 bytes each at 10,000 idle connections is
    // 5 MB); `encode_head` reserves the next one in one allocation.
    conn.wbuf = Vec::new();
    Ok(resp)
}

/// Which framing headers a response head has, so that `framing` looks up
/// only those.
#[derive(Debug, Clone, Copy, Default)]
struct Framed {
    transfer_encoding: bool,
    /// How many Content-Length headers.
    content_lengths: u32,
    /// The value of the last one when it is plain digits.
    length: Option<usize>,
}

/// A Content-Length value of plain digits (blanks around allowed); None
/// for anything else, which `framing` then judges as Go does.
fn plain_length(value: &[u8]) -> Option<usize> {
    let v = value.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0')))
}

fn framing(resp: &RawResponse, framed: Framed, head_request: bool) -> Result<Framing, HttpError> {
    if head_request || resp.status == 204 || resp.status == 304 || (100..200).contains(&resp.status)
    {
        return Ok(Framing::None);
    }
    // The usual head: one plain Content-Length, no Transfer-Encoding.
    if let (false, 1, Some(n)) = (
        framed.transfer_encoding,
        framed.content_lengths,
        framed.length,
    ) {
        return Ok(Framing::Length(n));
    }
    let te = framed
        .transfer_encoding
        .then(|| resp.header("Transfer-Encoding"))
        .flatten();
    if let Some(te) = te {
        if te
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        {
            return Ok(Framing::Chunked);
        }
    }
    let cl = (framed.content_lengths > 0)
        .then(|| resp.header("Content-Length"))
        .flatten();
    if let Some(cl) = cl {
        // Repeated identical values were joined with ", "; Go accepts those.
        let first = cl.split(',').next().unwrap_or("").trim();
        if cl.split(',').any(|v| v.trim() != first) {
            return Err(HttpError::malformed(format!(
                "http: message cannot contain multiple Content-Length headers; got {cl:?}"
            )));
        }
        return match first.parse::<usize>() {
            Ok(n) => Ok(Framing::Length(n)),
            Err(_) => Err(HttpError::malformed(format!(
                "bad Content-Length {first:?}"
            ))),
        };
    }
    Ok(Framing::Close)
}

async fn read_length(
    conn: &mut Conn,
    len: usize,
    collect: bool,
    marks: &mut Marks,
) -> Result<Bytes, HttpError> {
    if !collect {
        let mut remaining = len;
        large_reads(conn, remaining);
        loop {
            let take = remaining.min(conn.rbuf.len());
            conn.rbuf.advance(take);
            remaining -= take;
            if remaining == 0 {
                return Ok(Bytes::new());
            }
            if fill(conn, marks).await? == 0 {
                return Err(HttpError::unexpected_eof());
            }
        }
    }
    if conn.rbuf.len() < len {
        conn.rbuf.reserve(len - conn.rbuf.len());
        while conn.rbuf.len() < len {
            if fill(conn, marks).await? == 0 {
                return Err(HttpError::unexpected_eof());
            }
        }
    }
    Ok(take_body(&mut conn.rbuf, len))
}

/// Bodies consumed as they arrive (discarded, or decoded from chunks) keep
/// the read buffer empty, so it never grows by itself: size it for the
/// bytes still expected (up to `MAX_READ_AHEAD`) so a large body takes
/// few reads.
fn large_reads(conn: &mut Conn, expected: usize) {
    let want = expected.min(MAX_READ_AHEAD);
    if conn.rbuf.capacity() < want {
        conn.rbuf.reserve(want - conn.rbuf.len());
    }
}

fn take_body(buf: &mut BytesMut, len: usize) -> Bytes {
    if len <= COPY_BODY {
        let b = Bytes::copy_from_slice(&buf[..len]);
        buf.advance(len);
        b
    } else {
        buf.split_to(len).freeze()
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

async fn read_line(conn: &mut Conn, marks: &mut Marks) -> Result<usize, HttpError> {
    loop {
        if let Some(i) = find_crlf(&conn.rbuf) {
            return Ok(i);
        }
        if fill(conn, marks).await? == 0 {
            return Err(HttpError::unexpected_eof());
        }
    }
}

async fn read_chunked(
    conn: &mut Conn,
    collect: bool,
    marks: &mut Marks,
) -> Result<Bytes, HttpError> {
    let mut out = BytesMut::new();
    loop {
        let end = read_line(conn, marks).await?;
        let size = parse_chunk_size(&conn.rbuf[..end])
            .ok_or_else(|| HttpError::malformed("invalid byte in chunk length".to_string()))?;
        conn.rbuf.advance(end + 2);
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let end = read_line(conn, marks).await?;
                conn.rbuf.advance(end + 2);
                if end == 0 {
                    return Ok(out.freeze());
                }
            }
        }
        let mut remaining = size;
        large_reads(conn, remaining);
        while remaining > 0 {
            if conn.rbuf.is_empty() && fill(conn, marks).await? == 0 {
                return Err(HttpError::unexpected_eof());
            }
            let take = remaining.min(conn.rbuf.len());
            if collect {
                out.extend_from_slice(&conn.rbuf[..take]);
            }
            conn.rbuf.advance(take);
            remaining -= take;
        }
        while conn.rbuf.len() < 2 {
            if fill(conn, marks).await? == 0 {
                return Err(HttpError::unexpected_eof());
            }
        }
        if &conn.rbuf[..2] != b"\r\n" {
            return Err(HttpError::malformed(
                "malformed chunked encoding".to_string(),
            ));
        }
        conn.rbuf.advance(2);
    }
}

fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let hex = match line.iter().position(|&b| b == b';') {
        Some(i) => &line[..i],
        None => line,
    };
    let hex = std::str::from_utf8(hex).ok()?.trim();
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    usize::from_str_radix(hex, 16).ok()
}

/// Parses a complete response head, or returns None if more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Box<RawResponse>, Framed)>, HttpError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // 64 slots on the stack, and 1024 on the heap for the rare longer head.
    match parse_with(buf, &mut [const { MaybeUninit::uninit() }; 64]) {
        Ok(parsed) => Ok(parsed),
        Err(httparse::Error::TooManyHeaders) => {
            parse_with(buf, &mut vec![MaybeUninit::uninit(); 1024])
                .map_err(|_| HttpError::malformed("too many headers".to_string()))
        }
        Err(_) => Err(HttpError::malformed(go_malformed(buf))),
    }
}

/// One attempt of `parse_head` with `slots` for the headers, left
/// uninitialised: httparse writes the ones it fills, so the 2 KB array is
/// not zeroed for every response.
fn parse_with<'b>(
    buf: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<(usize, Box<RawResponse>, Framed)>, httparse::Error> {
    let mut resp = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, slots)?
    {
        httparse::Status::Complete(n) => Ok(Some(to_raw(&resp, &buf[..n]))),
        httparse::Status::Partial => Ok(None),
    }
}

/// The response parsed from `head` (a complete head), with the head's
/// length as `parse_head` returns it.
fn to_raw(resp: &httparse::Response<'_, '_>, head: &[u8]) -> (usize, Box<RawResponse>, Framed) {
    let minor_version = resp.version.unwrap_or(1);
    let headers = HeaderList::from_head(head, resp.headers);
    let mut set_cookies = Vec::new();
    let mut www_authenticate = Vec::new();
    let mut connection_close = minor_version == 0;
    let mut framed = Framed::default();
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if is_name(name, b"content-length") {
            framed.content_lengths += 1;
            framed.length = plain_length(h.value);
        } else if is_name(name, b"transfer-encoding") {
            framed.transfer_encoding = true;
        } else if is_name(name, b"set-cookie") {
            set_cookies.push(header_text(h.value));
        } else if is_name(name, b"www-authenticate") {
            www_authenticate.push(header_text(h.value));
        } else if is_name(name, b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let t = token.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    connection_close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") && minor_version == 0 {
                    connection_close = false;
                }
            }
        }
    }
    let raw = Box::new(RawResponse {
        proto: if minor_version == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        },
        status: resp.code.unwrap_or(0),
        status_text: status_text(resp.code.unwrap_or(0), resp.reason.unwrap_or("")),
        headers,
        set_cookies,
        www_authenticate,
        body: Bytes::new(),
        keep_alive: !connection_close,
    });
    (head.len(), raw, framed)
}

/// Whether header `name` (a token, as httparse accepts it) is `lower` (in
/// lower-case letters and `-`) ignoring case. Setting bit 5 lower-cases a
/// letter and keeps `-`; no other token byte maps onto either. Cheaper
/// than `eq_ignore_ascii_case`, which lower-cases both sides byte by byte.
fn is_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len()
        && name
            .iter()
            .zip(lower)
            .fold(0, |diff, (&a, &b)| diff | ((a | 0x20) ^ b))
            == 0
}

/// k6's status text: `200 OK`.
pub(crate) fn status_text(status: u16, reason: &str) -> String {
    let mut code = itoa::Buffer::new();
    let code = code.format(status);
    let mut s = String::with_capacity(code.len() + 1 + reason.len());
    s.push_str(code);
    s.push(' ');
    s.push_str(reason);
    s
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`;
/// names with bytes outside the token set are returned unchanged.
pub(crate) fn canonical_header_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_canonical(&mut out, name);
    out
}

/// Go's error text for a status line it cannot parse.
fn go_malformed(buf: &[u8]) -> String {
    let end = find_crlf(buf)
        .or_else(|| buf.iter().position(|&b| b == b'\n'))
        .unwrap_or(buf.len());
    let line = String::from_utf8_lossy(&buf[..end]);
    let Some((proto, status)) = line.split_once(' ') else {
        return format!("malformed HTTP response {line:?}");
    };
    let code = status.split(' ').next().unwrap_or("");
    if code.len() != 3 {
        return format!("malformed HTTP status code {code:?}");
    }
    if code.parse::<u16>().is_err() {
        return format!("malformed HTTP status code {code:?}");
    }
    if !proto.starts_with("HTTP/") {
        return format!("malformed HTTP version {proto:?}");
    }
    format!("malformed HTTP response {line:?}")
}

/// Writes the request head (and a small body) into `buf`, in Go's order:
/// Host, User-Agent, Content-Length, then the rest.
pub(crate) fn encode_head(buf: &mut Vec<u8>, p: &HopParams<'_>, inline_body: bool) {
    buf.clear();
    buf.reserve(HEAD_BUF);
    buf.extend_from_slice(p.method.as_str().as_bytes());
    buf.push(b' ');
    // The path and query, then the host and port, as the URL spells them
    // (a default port is not in a parsed URL): slices, nothing formatted.
    buf.extend_from_slice(p.url[Position::BeforePath..Position::AfterQuery].as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    match p.host_override {
        Some(h) => buf.extend_from_slice(h.as_bytes()),
        None => buf.extend_from_slice(p.url[Position::BeforeHost..Position::AfterPort].as_bytes()),
    }
    buf.extend_from_slice(b"\r\n");
    if let Some(ua) = p.user_agent {
        push_header(buf, "User-Agent", ua);
    }
    let len = p.body.len();
    if len > 0 || matches!(*p.method, Method::POST | Method::PUT | Method::PATCH) {
        buf.extend_from_slice(b"Content-Length: ");
        push_decimal(buf, len);
        buf.extend_from_slice(b"\r\n");
    }
    for (k, v) in p.headers {
        if p.strip_sensitive && SENSITIVE.contains(&k.as_str()) {
            continue;
        }
        push_header(buf, k, v);
    }
    if let Some(a) = p.authorization {
        push_header(buf, "Authorization", a);
    }
    if !p.cookie.is_empty() {
        push_header(buf, "Cookie", p.cookie);
    }
    if let Some(r) = p.referer {
        push_header(buf, "Referer", r);
    }
    if let Some(ce) = p.content_encoding {
        push_header(buf, "Content-Encoding", ce);
    }
    if p.close {
        buf.extend_from_slice(b"Connection: close\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    if inline_body {
        buf.extend_from_slice(p.body);
    }
}

/// Appends `n` in decimal without allocating.
fn push_decimal(buf: &mut Vec<u8>, mut n: usize) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_header(buf: &mut Vec<u8>, k: &str, v: &str) {
    buf.extend_from_slice(k.as_bytes());
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(v.as_bytes());
    buf.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0usize, 7, 10, 65535, usize::MAX] {
            let mut b = Vec::new();
            push_decimal(&mut b, n);
            assert_eq!(String::from_utf8(b).unwrap(), n.to_string());
        }
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_header_name("content-type"), "Content-Type");
        assert_eq!(canonical_header_name("X-LOWER-case"), "X-Lower-Case");
        assert_eq!(canonical_header_name("etag"), "Etag");
        assert_eq!(canonical_header_name("bad name"), "bad name");
    }

    #[test]
    fn malformed_status_like_go() {
        assert_eq!(
            go_malformed(b"FOO BAR\r\n\r\n"),
            "malformed HTTP status code \"BAR\""
        );
        assert_eq!(
            go_malformed(b"garbage\r\n"),
            "malformed HTTP response \"garbage\""
        );
    }

    #[test]
    fn plain_content_lengths() {
        assert_eq!(plain_length(b"28"), Some(28));
        assert_eq!(plain_length(b" 7\t"), Some(7));
        for v in [
            &b""[..],
            b"+5",
            b"5, 5",
            b"-1",
            b"1e3",
            b"99999999999999999999",
        ] {
            assert_eq!(plain_length(v), None, "{v:?}");
        }
        let framed = |raw: &[u8]| {
            let (_, r, f) = parse_head(raw).unwrap().unwrap();
            framing(&r, f, false)
        };
        assert!(matches!(
            framed(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
            Ok(Framing::Length(12))
        ));
        assert!(matches!(
            framed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
            Ok(Framing::Length(3))
        ));
        assert!(
            framed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").is_err()
        );
        assert!(framed(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(matches!(
            framed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        ));
    }

    #[test]
    fn request_lines_and_hosts_as_the_url_spells_them() {
        let head = |url: &str| {
            let (method, url, body) = (Method::GET, url::Url::parse(url).unwrap(), Bytes::new());
            let p = HopParams {
                method: &method,
                url: &url,
                host_override: None,
                headers: &[],
                strip_sensitive: false,
                user_agent: None,
                authorization: None,
                cookie: "",
                referer: None,
                content_encoding: None,
                body: &body,
                collect: true,
                close: false,
            };
            let mut buf = Vec::new();
            encode_head(&mut buf, &p, false);
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(head("http://h"), "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        // A default port is not sent; another one is.
        assert_eq!(head("http://h:80/a"), "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            head("https://h:8443/a"),
            "GET /a HTTP/1.1\r\nHost: h:8443\r\n\r\n"
        );
        // Credentials and the fragment stay out; an empty query stays in.
        assert_eq!(
            head("http://u:p@h:81/a/b?x=1&y=%20#frag"),
            "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h:81\r\n\r\n"
        );
        assert_eq!(head("http://h/p?"), "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            head("http://[::1]:8080/"),
            "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
        );
    }

    #[test]
    fn header_names_match_in_any_case_and_only_themselves() {
        assert!(is_name(b"Content-Length", b"content-length"));
        assert!(is_name(b"CONTENT-LENGTH", b"content-length"));
        assert!(is_name(b"connection", b"connection"));
        assert!(!is_name(b"Content-Lengths", b"content-length"));
        assert!(!is_name(b"Content_Length", b"content-length"));
        assert!(!is_name(b"Set-Cookie", b"connection"));
        // Every other token byte in place of `-` or a letter differs.
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        for b in (0..=255u8).filter(|&b| tchar(b)) {
            let mut name = *b"set-cookie";
            name[3] = b;
            assert_eq!(is_name(&name, b"set-cookie"), b == b'-', "{b:#x}");
            name[3] = b'-';
            name[0] = b;
            assert_eq!(
                is_name(&name, b"set-cookie"),
                b.eq_ignore_ascii_case(&b's'),
                "{b:#x}"
            );
        }
    }

    #[test]
    fn long_heads_take_the_larger_slots_and_longer_ones_fail() {
        let head = |n: usize| {
            let mut h = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..n {
                h.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
            }
            h.extend_from_slice(b"\r\n");
            h
        };
        let buf = head(100);
        let (n, r, _) = parse_head(&buf).unwrap().unwrap();
        assert_eq!((n, r.headers.len()), (buf.len(), 100));
        assert_eq!(r.header("x-h99"), Some("99"));
        // Not complete yet, on the larger slots too.
        assert!(parse_head(&buf[..buf.len() - 2]).unwrap().is_none());
        let Err(e) = parse_head(&head(1025)) else {
            panic!("1025 headers parsed")
        };
        assert!(e.message.contains("too many headers"), "{}", e.message);
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"A;ext=1"), Some(10));
        assert_eq!(parse_chunk_size(b"zz"), None);
        assert_eq!(parse_chunk_size(b""), None);
    }

    #[test]
    fn head_merges_repeats_and_keeps_cookies_apart() {
        let raw = b"HTTP/1.1 200 OK\r\nx-multi: a\r\nX-Multi: b\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n";
        let (n, r, _) = parse_head(raw).unwrap().unwrap();
        assert_eq!(n, raw.len());
        assert_eq!(r.header("X-Multi"), Some("a, b"));
        assert_eq!(r.headers.iter().next(), Some(("X-Multi", "a, b")));
        assert_eq!(r.header("Set-Cookie"), Some("a=1, b=2"));
        assert_eq!(r.set_cookies, vec!["a=1", "b=2"]);
        assert!(r.keep_alive);
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let (_, r, _) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(!r.keep_alive);
        let (_, r, _) = parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(r.keep_alive);
    }
}
