//! The faults a proxy applies, as one plain value that the control API,
//! the CLI flags and scripts all set. A proxy holds one [`Faults`] at a
//! time (switching replaces it whole), so a fault is never half applied
//! and "restore" is just [`Faults::default`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Faults of a proxy; the default is none (a transparent proxy).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Added to every chunk the upstream sends back to the client (ms).
    pub latency_ms: u64,
    /// Uniform random extra in `0..=jitter_ms` on top of `latency_ms`.
    pub jitter_ms: u64,
    /// Bytes per second from the upstream to the client (0 = unlimited).
    pub bandwidth: u64,
    /// New and open connections are reset (TCP RST) instead of served.
    pub reset: bool,
    /// Network partition: no byte moves in either direction and new
    /// connections are accepted but never reach the upstream, until removed.
    pub blackhole: bool,
    /// When one side closes, the other side is closed this much later (ms).
    pub slow_close_ms: u64,
    /// Each connection is closed after the upstream sent this many bytes
    /// to the client (0 = no limit).
    pub limit_data: u64,
    /// Fraction (0..1) of HTTP/1.x requests answered by the proxy with
    /// `error_status` instead of reaching the upstream.
    pub error_rate: f64,
    /// The status of injected HTTP errors (default 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
}

/// Why a [`Faults`] value is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultsError {
    /// `error_rate` outside 0..1.
    #[error("error_rate must be between 0 and 1, got {0}")]
    ErrorRate(f64),
    /// `error_status` not a 4xx/5xx status.
    #[error("error_status must be between 400 and 599, got {0}")]
    ErrorStatus(u16),
    /// The JSON did not describe faults.
    #[error("invalid faults: {0}")]
    Json(String),
}

impl Faults {
    /// Parses and validates faults from JSON (`{"latency_ms": 200}`).
    pub fn from_json(s: &str) -> Result<Self, FaultsError> {
        let f: Faults = serde_json::from_str(s).map_err(|e| FaultsError::Json(e.to_string()))?;
        f.validate()?;
        Ok(f)
    }

    /// Checks the ranges serde cannot.
    pub fn validate(&self) -> Result<(), FaultsError> {
        if !(0.0..=1.0).contains(&self.error_rate) || self.error_rate.is_nan() {
            return Err(FaultsError::ErrorRate(self.error_rate));
        }
        if let Some(s) = self.error_status {
            if !(400..=599).contains(&s) {
                return Err(FaultsError::ErrorStatus(s));
            }
        }
        Ok(())
    }

    /// Whether any fault is set.
    pub fn is_active(&self) -> bool {
        *self != Faults::default()
    }

    /// The delay of one chunk: `latency_ms` plus a random share of `jitter_ms`.
    pub fn chunk_delay(&self) -> Duration {
        let jitter = if self.jitter_ms > 0 {
            rand::random_range(0..=self.jitter_ms)
        } else {
            0
        };
        Duration::from_millis(self.latency_ms + jitter)
    }

    /// The status line and body of an injected HTTP error.
    pub fn error_response(&self) -> Vec<u8> {
        let status = self.error_status.unwrap_or(503);
        let body = format!("stampede chaos: injected {status}\n");
        format!(
            "HTTP/1.1 {status} Injected Fault\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\nx-stampede-chaos: error\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// Whether `chunk` starts an HTTP/1.x request (`METHOD target HTTP/1.x`).
/// The proxy decides an injected error at the first bytes of a request;
/// a body chunk that happens to look like a request line is the known
/// limit of not parsing HTTP fully.
pub fn starts_http_request(chunk: &[u8]) -> bool {
    let line_end = chunk
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(chunk.len());
    let line = &chunk[..line_end];
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        return false;
    };
    let method = &line[..sp];
    !method.is_empty()
        && method.len() <= 16
        && method.iter().all(|b| b.is_ascii_uppercase())
        && (line_end == chunk.len() || line.windows(7).any(|w| w == b"HTTP/1."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let f = Faults::from_json(r#"{"latency_ms": 200, "jitter_ms": 20}"#).unwrap();
        assert_eq!(f.latency_ms, 200);
        assert!(f.is_active());
        assert!(!Faults::default().is_active());
        assert_eq!(
            Faults::from_json(r#"{"error_rate": 1.5}"#),
            Err(FaultsError::ErrorRate(1.5))
        );
        assert_eq!(
            Faults::from_json(r#"{"error_status": 200}"#),
            Err(FaultsError::ErrorStatus(200))
        );
        let e = Faults::from_json(r#"{"latncy_ms": 1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `latncy_ms`"), "{e}");
    }

    #[test]
    fn jitter_stays_in_range() {
        let f = Faults {
            latency_ms: 10,
            jitter_ms: 5,
            ..Faults::default()
        };
        for _ in 0..100 {
            let d = f.chunk_delay().as_millis();
            assert!((10..=15).contains(&d), "{d}");
        }
    }

    #[test]
    fn recognizes_request_lines() {
        assert!(starts_http_request(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
        assert!(starts_http_request(b"POST /api/orders HTTP/1.1\r\n"));
        assert!(starts_http_request(b"DELETE /x"));
        assert!(!starts_http_request(b"{\"a\": 1}\r\n"));
        assert!(!starts_http_request(b"get / HTTP/1.1\r\n"));
        assert!(!starts_http_request(b"GET / SPDY\r\n"));
    }

    #[test]
    fn error_response_is_valid_http() {
        let f = Faults {
            error_status: Some(500),
            ..Faults::default()
        };
        let r = String::from_utf8(f.error_response()).unwrap();
        assert!(r.starts_with("HTTP/1.1 500 "));
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
