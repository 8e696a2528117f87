//! Generated bodies: `/bytes`, `/stream-bytes`, `/stream`, `/range`,
//! `/drip`, `/base64`, `/links`.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use futures_util::stream;
use http::{header, HeaderValue, StatusCode};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use super::redirect::found;
use super::request::Head;

/// Largest `/bytes` body (httpbin: 100 KiB).
const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Largest `/stream-bytes` body (httpbin: 100 KiB).
const MAX_STREAM_BYTES: usize = 100 * 1024 * 1024;
/// Largest `/range` resource, as httpbin.
const MAX_RANGE: usize = 100 * 1024;
/// Largest `/drip` body, as httpbin.
const MAX_DRIP: usize = 10 * 1024 * 1024;

fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

fn rng_for(head: &Head) -> Result<StdRng, Box<Response>> {
    match head.query("seed") {
        Some(seed) => match seed.parse::<u64>() {
            Ok(seed) => Ok(StdRng::seed_from_u64(seed)),
            Err(_) => Err(Box::new(bad_request("seed must be an integer\n"))),
        },
        None => Ok(StdRng::from_rng(&mut rand::rng())),
    }
}

fn octets(body: Body) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        body,
    )
        .into_response()
}

/// `/bytes/{n}?seed=`: `n` random bytes, deterministic for a given seed.
pub(crate) async fn bytes(Path(n): Path<String>, head: Head) -> Response {
    let Ok(n) = n.parse::<usize>() else {
        return bad_request("n must be a non-negative integer\n");
    };
    let mut rng = match rng_for(&head) {
        Ok(rng) => rng,
        Err(res) => return *res,
    };
    let mut buf = vec![0u8; n.min(MAX_BYTES)];
    rng.fill_bytes(&mut buf);
    octets(Body::from(buf))
}

/// `/stream-bytes/{n}?seed=&chunk_size=`: `n` random bytes, chunked.
pub(crate) async fn stream_bytes(Path(n): Path<String>, head: Head) -> Response {
    let Ok(n) = n.parse::<usize>() else {
        return bad_request("n must be a non-negative integer\n");
    };
    let chunk = match head.query("chunk_size").map(|c| c.parse::<usize>()) {
        None => 10 * 1024,
        Some(Ok(c)) => c.max(1),
        Some(Err(_)) => return bad_request("chunk_size must be an integer\n"),
    };
    let rng = match rng_for(&head) {
        Ok(rng) => rng,
        Err(res) => return *res,
    };
    let chunks = stream::unfold(
        (rng, n.min(MAX_STREAM_BYTES)),
        move |(mut rng, left)| async move {
            if left == 0 {
                return None;
            }
            let mut buf = vec![0u8; left.min(chunk)];
            rng.fill_bytes(&mut buf);
            let len = buf.len();
            Some((Ok::<_, Infallible>(Bytes::from(buf)), (rng, left - len)))
        },
    );
    octets(Body::from_stream(chunks))
}

/// `/stream/{n}`: `n` (at most 100) JSON lines, each the `/get` echo plus an
/// `id`.
pub(crate) async fn stream(Path(n): Path<String>, head: Head) -> Response {
    let Ok(n) = n.parse::<usize>() else {
        return bad_request("n must be a non-negative integer\n");
    };
    let base = head.dict(&["args", "headers", "origin", "url"]);
    let lines = (0..n.min(100)).map(move |id| {
        let mut line = base.clone();
        if let Some(obj) = line.as_object_mut() {
            obj.insert("id".into(), id.into());
            // Keep httpbin's sorted key order.
            obj.sort_keys();
        }
        let mut text = serde_json::to_vec(&line).unwrap_or_default();
        text.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(text))
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream::iter(lines)),
    )
        .into_response()
}

/// `/range/{n}?chunk_size=&duration=`: a resource of `n` letters that
/// honours one `Range: bytes=` range.
pub(crate) async fn range(Path(n): Path<String>, head: Head) -> Response {
    let etag = format!("range{n}");
    let n = match n.parse::<usize>() {
        Ok(n) if n > 0 && n <= MAX_RANGE => n,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                [
                    (header::ETAG, etag),
                    (header::ACCEPT_RANGES, "bytes".to_string()),
                ],
                "number of bytes must be in the range (0, 102400]",
            )
                .into_response();
        }
    };
    let chunk = head
        .query("chunk_size")
        .and_then(|c| c.parse::<usize>().ok())
        .map_or(10 * 1024, |c| c.max(1));
    let duration = head
        .query("duration")
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(0.0);
    let Some((first, last)) = requested_range(head.header(header::RANGE), n) else {
        return (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [
                (header::ETAG, etag),
                (header::ACCEPT_RANGES, "bytes".to_string()),
                (header::CONTENT_RANGE, format!("bytes */{n}")),
            ],
        )
            .into_response();
    };
    let status = if first == 0 && last == n - 1 {
        StatusCode::OK
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    let pause_per_byte = duration / n as f64;
    let chunks = stream::unfold(first, move |pos| async move {
        if pos > last {
            return None;
        }
        let end = (pos + chunk).min(last + 1);
        let bytes: Vec<u8> = (pos..end).map(|i| b'a' + (i % 26) as u8).collect();
        if pause_per_byte > 0.0 {
            let pause = pause_per_byte * bytes.len() as f64;
            tokio::time::sleep(Duration::from_secs_f64(pause)).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(bytes)), end))
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::ETAG, etag),
            (header::ACCEPT_RANGES, "bytes".to_string()),
            (header::CONTENT_LENGTH, (last + 1 - first).to_string()),
            (header::CONTENT_RANGE, format!("bytes {first}-{last}/{n}")),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// The inclusive byte range a `Range` header asks of `n` bytes (the whole
/// resource without one); `None` when unsatisfiable.
fn requested_range(header: Option<&str>, n: usize) -> Option<(usize, usize)> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Some((0, n - 1));
    };
    // Only the first range of a list is served, as httpbin does.
    let spec = spec.split(',').next()?.trim();
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    let (first, last) = if start.is_empty() {
        let suffix: usize = end.parse().ok()?;
        (n.saturating_sub(suffix), n - 1)
    } else {
        let first: usize = start.parse().ok()?;
        let last = if end.is_empty() {
            n - 1
        } else {
            end.parse::<usize>().ok()?.min(n - 1)
        };
        (first, last)
    };
    (first <= last && last < n).then_some((first, last))
}

/// `/drip?duration=2&numbytes=10&code=200&delay=0`: waits `delay` seconds,
/// then sends `numbytes` asterisks spread over `duration` seconds.
pub(crate) async fn drip(head: Head) -> Response {
    let float = |name: &str, default: f64| -> Option<f64> {
        match head.query(name) {
            None => Some(default),
            Some(v) => v.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0),
        }
    };
    let (Some(duration), Some(delay)) = (float("duration", 2.0), float("delay", 0.0)) else {
        return bad_request("invalid drip duration or delay\n");
    };
    let numbytes = match head.query("numbytes").map(|n| n.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n.min(MAX_DRIP),
        Some(_) => return bad_request("number of bytes must be positive\n"),
    };
    let status = match head.query("code").map(|c| c.parse::<u16>()) {
        None => StatusCode::OK,
        Some(Ok(c)) => match StatusCode::from_u16(c) {
            Ok(s) if !s.is_informational() => s,
            _ => return bad_request("invalid status code\n"),
        },
        Some(Err(_)) => return bad_request("invalid status code\n"),
    };
    tokio::time::sleep(Duration::from_secs_f64(delay.min(60.0))).await;
    let pause = Duration::from_secs_f64(duration.min(600.0) / numbytes as f64);
    let drops = stream::unfold(0usize, move |sent| async move {
        if sent == numbytes {
            return None;
        }
        if sent > 0 {
            tokio::time::sleep(pause).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from_static(b"*")), sent + 1))
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, numbytes.to_string()),
        ],
        Body::from_stream(drops),
    )
        .into_response()
}

/// `/base64/{value}`: decodes URL-safe (or standard) base64, padding
/// optional.
pub(crate) async fn base64(Path(value): Path<String>) -> Response {
    let normalized: String = value
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .filter(|c| *c != '=')
        .collect();
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(normalized)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let body = decoded
        .unwrap_or_else(|| "Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l".to_string());
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// `/links/{n}`: redirects to the first page.
pub(crate) async fn links_start(Path(n): Path<String>) -> Response {
    match n.parse::<usize>() {
        Ok(n) => found(StatusCode::FOUND, &format!("/links/{n}/0")),
        Err(_) => bad_request("n must be an integer\n"),
    }
}

/// `/links/{n}/{offset}`: a page of `n` (at most 200) links to its siblings.
pub(crate) async fn links(Path((n, offset)): Path<(String, String)>) -> Response {
    let (Ok(n), Ok(offset)) = (n.parse::<usize>(), offset.parse::<usize>()) else {
        return bad_request("n and offset must be integers\n");
    };
    let n = n.clamp(1, 200);
    let mut html = String::from("<html><head><title>Links</title></head><body>");
    for i in 0..n {
        if i == offset {
            html.push_str(&format!("{i} "));
        } else {
            html.push_str(&format!("<a href='/links/{n}/{i}'>{i}</a> "));
        }
    }
    html.push_str("</body></html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

#[cfg(test)]
mod tests {
    use super::requested_range;

    #[test]
    fn ranges() {
        assert_eq!(requested_range(None, 10), Some((0, 9)));
        assert_eq!(requested_range(Some("bytes=2-4"), 10), Some((2, 4)));
        assert_eq!(requested_range(Some("bytes=5-"), 10), Some((5, 9)));
        assert_eq!(requested_range(Some("bytes=-3"), 10), Some((7, 9)));
        assert_eq!(requested_range(Some("bytes=8-20"), 10), Some((8, 9)));
        assert_eq!(requested_range(Some("bytes=0-1,4-5"), 10), Some((0, 1)));
        assert_eq!(requested_range(Some("bytes=10-12"), 10), None);
        assert_eq!(requested_range(Some("bytes=4-2"), 10), None);
        assert_eq!(requested_range(Some("bytes=x-2"), 10), None);
        assert_eq!(requested_range(Some("items=1-2"), 10), Some((0, 9)));
    }
}
