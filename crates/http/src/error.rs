//! k6's error codes and message texts (k6 `lib/netext/httpext/errors`).
//!
//! Every failed hop carries an [`HttpError`]: the numeric `code` k6 puts in
//! `res.error_code` and the `error_code` tag, the short `message` k6 puts in
//! `res.error` and the `error` tag, and the longer `detail` that k6 logs in its
//! `Request Failed` warning (Go's full error text).

use std::fmt;
use std::io;

/// A request failure in k6's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct HttpError {
    /// k6 error code (1000 generic, 1050 timeout, 11xx DNS, 12xx TCP, 13xx TLS, 17xx content).
    pub code: u32,
    /// The short message k6 exposes as `res.error`, e.g. `dial: connection refused`.
    pub message: String,
    /// Go's full error text as k6 logs it, without the `Get "url": ` prefix
    /// (see [`HttpError::log_line`]), e.g. `dial tcp 127.0.0.1:1: connect: connection refused`.
    pub detail: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// k6's numeric error codes.
pub mod code {
    /// A request refused before it was sent, for invalid parameters (k6
    /// gives these no code: `error_code` is 0).
    pub const UNSENT: u32 = 0;
    /// Any error not listed below.
    pub const GENERIC: u32 = 1000;
    /// A non-TCP network error.
    pub const NET_NON_TCP: u32 = 1010;
    /// An invalid URL.
    pub const INVALID_URL: u32 = 1020;
    /// The request timed out.
    pub const REQUEST_TIMEOUT: u32 = 1050;
    /// A DNS error not listed below.
    pub const DNS: u32 = 1100;
    /// No IP found for the host.
    pub const DNS_NO_SUCH_HOST: u32 = 1101;
    /// A blacklisted IP was resolved or dialled.
    pub const BLACKLISTED_IP: u32 = 1110;
    /// The hostname is blocked.
    pub const BLOCKED_HOSTNAME: u32 = 1111;
    /// A TCP error not listed below.
    pub const TCP: u32 = 1200;
    /// Broken pipe.
    pub const TCP_BROKEN_PIPE: u32 = 1201;
    /// An unknown errno on a non-dial operation.
    pub const NET_UNKNOWN_ERRNO: u32 = 1202;
    /// A dial error not listed below.
    pub const TCP_DIAL: u32 = 1210;
    /// Dial timeout.
    pub const TCP_DIAL_TIMEOUT: u32 = 1211;
    /// Connection refused.
    pub const TCP_DIAL_REFUSED: u32 = 1212;
    /// An unknown errno while dialling.
    pub const TCP_DIAL_UNKNOWN_ERRNO: u32 = 1213;
    /// Connection reset by peer.
    pub const TCP_RESET_BY_PEER: u32 = 1220;
    /// A TLS error not listed below.
    pub const TLS: u32 = 1300;
    /// The peer did not speak TLS.
    pub const TLS_HEADER: u32 = 1301;
    /// The certificate is signed by an unknown authority.
    pub const X509_UNKNOWN_AUTHORITY: u32 = 1310;
    /// The certificate does not match the host name.
    pub const X509_HOSTNAME: u32 = 1311;
    /// The response body could not be decompressed.
    pub const RESPONSE_DECOMPRESSION: u32 = 1701;
}

/// Which socket operation failed; Go names it in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
        }
    }
}

impl HttpError {
    /// An error with the given code, message and detail.
    pub fn new(code: u32, message: impl Into<String>, detail: impl Into<String>) -> Self {
        HttpError {
            code,
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// An error whose short message and detail are the same text.
    pub fn plain(code: u32, message: impl Into<String>) -> Self {
        let message = message.into();
        HttpError {
            code,
            detail: message.clone(),
            message,
        }
    }

    /// The text k6 logs as the `error` field of its `Request Failed` warning,
    /// e.g. `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`.
    pub fn log_line(&self, method: &str, url: &str) -> String {
        match self.code {
            // Go reports body-read failures without the request prefix.
            code::GENERIC if self.detail == "unexpected EOF" => self.detail.clone(),
            code::INVALID_URL | code::UNSENT => self.detail.clone(),
            _ => format!("{} \"{}\": {}", go_method(method), url, self.detail),
        }
    }

    /// k6 1050 `request timeout`.
    pub fn timeout() -> Self {
        Self::plain(code::REQUEST_TIMEOUT, "request timeout")
    }

    /// k6 1101 for a host name that does not resolve.
    pub(crate) fn no_such_host(host: &str) -> Self {
        Self::new(
            code::DNS_NO_SUCH_HOST,
            "lookup: no such host",
            format!("lookup {host}: no such host"),
        )
    }

    /// k6 1110: the address is in a `blacklistIPs` range.
    pub(crate) fn blacklisted(ip: std::net::IpAddr, net: &crate::config::IpNet) -> Self {
        Self::new(
            code::BLACKLISTED_IP,
            "ip is blacklisted",
            format!("IP ({ip}) is in a blacklisted range ({net})"),
        )
    }

    /// k6 1111: the host name matches a `blockHostnames` pattern.
    pub(crate) fn blocked_host(host: &str, pattern: &str) -> Self {
        Self::new(
            code::BLOCKED_HOSTNAME,
            "hostname is blocked",
            format!("hostname ({host}) is in a blocked pattern ({pattern})"),
        )
    }

    /// k6 1100 for other resolver failures.
    pub(crate) fn dns(host: &str, err: &io::Error) -> Self {
        let m = format!("lookup {host}: {err}");
        Self::plain(code::DNS, m)
    }

    /// An error while connecting the TCP socket to `addr`.
    pub(crate) fn dial(addr: std::net::SocketAddr, err: &io::Error) -> Self {
        let text = errno_text(err);
        let detail = format!("dial tcp {addr}: connect: {text}");
        match err.kind() {
            io::ErrorKind::ConnectionRefused => {
                Self::new(code::TCP_DIAL_REFUSED, "dial: connection refused", detail)
            }
            io::ErrorKind::TimedOut => {
                Self::new(code::TCP_DIAL_TIMEOUT, "dial: i/o timeout", detail)
            }
            _ => match err.raw_os_error() {
                Some(errno) => Self::new(
                    code::TCP_DIAL_UNKNOWN_ERRNO,
                    format!("dial: unknown errno {errno} error with msg `{text}`"),
                    detail,
                ),
                None => Self::new(code::TCP_DIAL, detail.clone(), detail),
            },
        }
    }

    /// An I/O error on an established connection.
    pub(crate) fn io(
        op: Op,
        local: Option<std::net::SocketAddr>,
        remote: Option<std::net::SocketAddr>,
        err: &io::Error,
    ) -> Self {
        if let Some(alert) = crate::tls::remote_alert(err) {
            return alert;
        }
        let text = errno_text(err);
        let detail = match (local, remote) {
            (Some(l), Some(r)) => format!("{} tcp {l}->{r}: {}: {text}", op.as_str(), op.as_str()),
            _ => format!("{}: {text}", op.as_str()),
        };
        match err.kind() {
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Self::new(
                code::TCP_RESET_BY_PEER,
                format!("{}: connection reset by peer", op.as_str()),
                detail,
            ),
            io::ErrorKind::BrokenPipe => Self::new(
                code::TCP_BROKEN_PIPE,
                format!("{}: broken pipe", op.as_str()),
                detail,
            ),
            io::ErrorKind::UnexpectedEof => Self::plain(code::GENERIC, "unexpected EOF"),
            _ => match err.raw_os_error() {
                Some(errno) => Self::new(
                    code::NET_UNKNOWN_ERRNO,
                    format!(
                        "{}: unknown errno `{errno}` on linux with message `{text}`",
                        op.as_str()
                    ),
                    detail,
                ),
                None => Self::new(code::TCP, detail.clone(), detail),
            },
        }
    }

    /// The server closed the connection before sending a response (Go: `EOF`).
    pub(crate) fn eof() -> Self {
        Self::plain(code::GENERIC, "EOF")
    }

    /// The server closed the connection in the middle of a response.
    pub(crate) fn unexpected_eof() -> Self {
        Self::plain(code::GENERIC, "unexpected EOF")
    }

    /// A response that is not valid HTTP/1.x.
    pub(crate) fn malformed(message: String) -> Self {
        let detail = format!("net/http: HTTP/1.x transport connection broken: {message}");
        Self::new(code::GENERIC, message, detail)
    }

    /// A TLS handshake failure.
    pub(crate) fn tls(err: &io::Error) -> Self {
        use rustls::{CertificateError, Error as TlsErr};
        if let Some(alert) = crate::tls::remote_alert(err) {
            return alert;
        }
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<TlsErr>());
        match inner {
            Some(TlsErr::InvalidCertificate(CertificateError::UnknownIssuer))
            | Some(TlsErr::InvalidCertificate(CertificateError::BadSignature)) => Self::new(
                code::X509_UNKNOWN_AUTHORITY,
                "x509: unknown authority",
                "tls: failed to verify certificate: x509: certificate signed by unknown authority",
            ),
            Some(TlsErr::InvalidCertificate(CertificateError::NotValidForName))
            | Some(TlsErr::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Self::new(
                    code::X509_HOSTNAME,
                    "x509: certificate doesn't match hostname",
                    "tls: failed to verify certificate: x509: certificate is not valid for the requested name",
                )
            }
            Some(TlsErr::InvalidMessage(_)) | Some(TlsErr::InappropriateMessage { .. }) => {
                Self::new(
                    code::TLS_HEADER,
                    "tls: first record does not look like a TLS handshake",
                    "http: server gave HTTP response to HTTPS client",
                )
            }
            Some(e) => Self::plain(code::TLS, format!("tls: {e}")),
            None => match err.kind() {
                io::ErrorKind::UnexpectedEof => Self::eof(),
                _ => Self::io(Op::Read, None, None, err),
            },
        }
    }
}

/// Go's `http.Client` capitalises only the first letter of the method in its errors.
fn go_method(method: &str) -> String {
    let mut out = String::with_capacity(method.len());
    for (i, c) in method.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The errno text as Go prints it (`connection refused`), without Rust's `(os error N)`.
fn errno_text(err: &io::Error) -> String {
    let s = err.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut out = s.to_string();
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_lowercase();
    }
    out
}

/// An error's message followed by those of its sources, `: `-separated.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_matches_k6() {
        let err = io::Error::from_raw_os_error(111);
        let e = HttpError::dial("127.0.0.1:1".parse().unwrap(), &err);
        assert_eq!(e.code, 1212);
        assert_eq!(e.message, "dial: connection refused");
        assert_eq!(
            e.log_line("GET", "http://127.0.0.1:1/"),
            "Get \"http://127.0.0.1:1/\": dial tcp 127.0.0.1:1: connect: connection refused"
        );
    }

    #[test]
    fn reset_on_read() {
        let err = io::Error::from_raw_os_error(104);
        let e = HttpError::io(Op::Read, None, None, &err);
        assert_eq!(e.code, 1220);
        assert_eq!(e.message, "read: connection reset by peer");
    }

    #[test]
    fn broken_pipe_on_write() {
        let err = io::Error::from_raw_os_error(32);
        let e = HttpError::io(Op::Write, None, None, &err);
        assert_eq!(e.code, 1201);
        assert_eq!(e.message, "write: broken pipe");
    }
}
