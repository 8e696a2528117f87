//! The echo endpoints: `/get`, `/post` and friends, `/anything`, `/delay`,
//! and the one-field ones (`/headers`, `/ip`, `/user-agent`, `/uuid`).

use std::time::Duration;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rand::RngCore;
use serde_json::json;

use super::request::{json, Exchange, Head};

const GET_FIELDS: &[&str] = &["args", "headers", "origin", "url"];
const BODY_FIELDS: &[&str] = &[
    "args", "data", "files", "form", "headers", "json", "origin", "url",
];
const ANYTHING_FIELDS: &[&str] = &[
    "args", "data", "files", "form", "headers", "json", "method", "origin", "url",
];
/// Longest `/delay`, as httpbin.
const MAX_DELAY_SECS: f64 = 10.0;

/// `GET /get`.
pub(crate) async fn get(head: Head) -> Response {
    json(&head.dict(GET_FIELDS))
}

/// `/post`, `/put`, `/patch`, `/delete`.
pub(crate) async fn with_body(ex: Exchange) -> Response {
    json(&ex.dict(BODY_FIELDS))
}

/// `/anything` and `/anything/{*path}`: any method.
pub(crate) async fn anything(ex: Exchange) -> Response {
    json(&ex.dict(ANYTHING_FIELDS))
}

/// `/delay/{secs}`: fractional seconds, capped at 10.
pub(crate) async fn delay(Path(secs): Path<String>, ex: Exchange) -> Response {
    let Some(secs) = secs.parse::<f64>().ok().filter(|s| s.is_finite()) else {
        return (
            StatusCode::BAD_REQUEST,
            "delay must be a number of seconds\n",
        )
            .into_response();
    };
    tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, MAX_DELAY_SECS))).await;
    json(&ex.dict(&["args", "data", "files", "form", "headers", "origin", "url"]))
}

/// `/headers`.
pub(crate) async fn headers(head: Head) -> Response {
    json(&json!({ "headers": head.headers_json() }))
}

/// `/ip`.
pub(crate) async fn ip(head: Head) -> Response {
    json(&json!({ "origin": head.origin() }))
}

/// `/user-agent`.
pub(crate) async fn user_agent(head: Head) -> Response {
    json(&json!({ "user-agent": head.header(http::header::USER_AGENT) }))
}

/// `/uuid`: a random (version 4) UUID.
pub(crate) async fn uuid() -> Response {
    json(&json!({ "uuid": uuid_v4() }))
}

fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_shape() {
        let u = super::uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
