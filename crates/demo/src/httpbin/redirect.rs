//! Redirect chains and `/redirect-to`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

use super::request::Head;

/// `/redirect/{n}`: relative redirects unless `?absolute=true`.
pub(crate) async fn redirect(Path(n): Path<String>, head: Head) -> Response {
    let absolute = head
        .query("absolute")
        .is_some_and(|a| a.eq_ignore_ascii_case("true"));
    chain(&n, &head, absolute)
}

/// `/relative-redirect/{n}`.
pub(crate) async fn relative(Path(n): Path<String>, head: Head) -> Response {
    chain(&n, &head, false)
}

/// `/absolute-redirect/{n}`.
pub(crate) async fn absolute(Path(n): Path<String>, head: Head) -> Response {
    chain(&n, &head, true)
}

fn chain(n: &str, head: &Head, absolute: bool) -> Response {
    let Some(n) = n.parse::<u32>().ok().filter(|&n| n >= 1) else {
        return (StatusCode::BAD_REQUEST, "n must be a positive integer\n").into_response();
    };
    let path = match (n, absolute) {
        (1, _) => "/get".to_string(),
        (_, false) => format!("/relative-redirect/{}", n - 1),
        (_, true) => format!("/absolute-redirect/{}", n - 1),
    };
    let location = if absolute {
        format!("{}://{}{}", head.scheme, head.host(), path)
    } else {
        path
    };
    found(StatusCode::FOUND, &location)
}

/// `/redirect-to?url=&status_code=`: any method; codes outside 3xx are
/// ignored (302), as httpbin does.
pub(crate) async fn redirect_to(head: Head) -> Response {
    let Some(url) = head.query("url") else {
        return (StatusCode::BAD_REQUEST, "missing url parameter\n").into_response();
    };
    let status = head
        .query("status_code")
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (300..400).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::FOUND);
    found(status, &url)
}

/// An empty redirect response to `location`.
pub(crate) fn found(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(loc) => (
            status,
            [
                (header::LOCATION, loc),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
            ],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect location\n").into_response(),
    }
}
