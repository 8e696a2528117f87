//! Compressed responses: `/gzip`, `/deflate`, `/brotli`, `/zstd`.

use std::io::Write;

use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use serde_json::Value;

use super::request::Head;

/// `/gzip`.
pub(crate) async fn gzip(head: Head) -> Response {
    encoded(&head, "gzipped", "gzip", |raw| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(raw)?;
        enc.finish()
    })
}

/// `/deflate`: zlib-wrapped deflate, as HTTP's `deflate` coding means.
pub(crate) async fn deflate(head: Head) -> Response {
    encoded(&head, "deflated", "deflate", |raw| {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(raw)?;
        enc.finish()
    })
}

/// `/brotli`.
pub(crate) async fn brotli(head: Head) -> Response {
    encoded(&head, "brotli", "br", |raw| {
        let mut out = Vec::new();
        {
            let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            enc.write_all(raw)?;
        }
        Ok(out)
    })
}

/// `/zstd` (not in httpbin).
pub(crate) async fn zstd(head: Head) -> Response {
    encoded(&head, "zstd", "zstd", |raw| zstd::encode_all(raw, 3))
}

fn encoded(
    head: &Head,
    flag: &str,
    coding: &'static str,
    compress: impl FnOnce(&[u8]) -> std::io::Result<Vec<u8>>,
) -> Response {
    let mut doc = head.dict(&["headers", "method", "origin"]);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(flag.to_string(), Value::Bool(true));
        obj.sort_keys();
    }
    let mut raw = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    raw.push(b'\n');
    match compress(&raw) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, coding),
            ],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
