//! `/cookies` and its setters.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::redirect::found;
use super::request::{json, Head};

/// `/cookies`: the cookies the request carried.
pub(crate) async fn list(head: Head) -> Response {
    let cookies: serde_json::Map<String, Value> = head
        .cookies()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json(&json!({ "cookies": cookies }))
}

/// `/cookies/set?name=value...`: sets them and redirects to `/cookies`.
pub(crate) async fn set_from_query(head: Head) -> Response {
    let pairs = head.query_pairs();
    let secure = head.scheme == "https";
    redirect_setting(pairs.iter().map(|(k, v)| set_cookie(k, v, secure)))
}

/// `/cookies/set/{name}/{value}`.
pub(crate) async fn set_one(Path((name, value)): Path<(String, String)>, head: Head) -> Response {
    let secure = head.scheme == "https";
    redirect_setting([set_cookie(&name, &value, secure)].into_iter())
}

/// `/cookies/delete?name...`: expires them and redirects to `/cookies`.
pub(crate) async fn delete(head: Head) -> Response {
    let deletions = head
        .query_pairs()
        .into_iter()
        .map(|(k, _)| format!("{k}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"));
    redirect_setting(deletions)
}

fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/{secure}")
}

fn redirect_setting(cookies: impl Iterator<Item = String>) -> Response {
    let mut res = found(StatusCode::FOUND, "/cookies");
    for cookie in cookies {
        match HeaderValue::from_str(&cookie) {
            Ok(v) => {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            Err(_) => {
                return (StatusCode::BAD_REQUEST, "invalid cookie\n").into_response();
            }
        }
    }
    res
}
