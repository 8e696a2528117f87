//! What httpbin echoes back about a request: `args`, `headers`, `origin`,
//! `url`, `method`, and from the body `data`, `form`, `files`, `json`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri, Version};
use serde_json::{Map, Value};

use super::multipart;
use crate::server::conn::Connection;
use crate::server::Scheme;

/// Largest request body the echo endpoints read.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// The request line and headers, plus where the request came from.
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) scheme: &'static str,
    /// Present when served by this crate's accept loop.
    pub(crate) conn: Option<Connection>,
}

impl<S: Send + Sync> FromRequestParts<S> for Head {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Head::from_parts(parts))
    }
}

impl Head {
    fn from_parts(parts: &Parts) -> Head {
        Head {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts.headers.clone(),
            peer: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            scheme: parts.extensions.get::<Scheme>().map_or("http", |s| s.0),
            conn: parts.extensions.get::<Connection>().cloned(),
        }
    }

    /// A header's value as text, if present and visible ASCII.
    pub(crate) fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string's pairs, decoded, in order.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        form_pairs(self.uri.query().unwrap_or("").as_bytes())
    }

    /// The first value of query parameter `name`.
    pub(crate) fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `args`: query parameters, a list where one repeats.
    pub(crate) fn args(&self) -> Value {
        multi_dict(self.query_pairs())
    }

    /// `headers`: names title-cased as httpbin (Werkzeug) shows them,
    /// repeated headers joined with commas.
    pub(crate) fn headers_json(&self) -> Value {
        let mut out = BTreeMap::new();
        for name in self.headers.keys() {
            let joined = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(",");
            out.insert(title_case(name.as_str()), Value::String(joined));
        }
        Value::Object(out.into_iter().collect())
    }

    /// `origin`: `X-Forwarded-For` if sent, else the peer's IP address.
    pub(crate) fn origin(&self) -> String {
        if let Some(fwd) = self.header("x-forwarded-for") {
            return fwd.to_string();
        }
        self.peer
            .map_or_else(|| "127.0.0.1".to_string(), |p| p.ip().to_string())
    }

    /// The host the client addressed (`Host`, or the authority of an HTTP/2
    /// or absolute-form request).
    pub(crate) fn host(&self) -> String {
        self.uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| self.header(header::HOST).map(str::to_string))
            .unwrap_or_else(|| "localhost".to_string())
    }

    /// `url`: the full URL of the request.
    pub(crate) fn url(&self) -> String {
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        format!("{}://{}{}", self.scheme, self.host(), path)
    }

    /// The request's cookies, first value of each name.
    pub(crate) fn cookies(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for value in self.headers.get_all(header::COOKIE) {
            let text = String::from_utf8_lossy(value.as_bytes());
            for pair in text.split(';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                out.entry(k.trim().to_string())
                    .or_insert_with(|| v.trim().trim_matches('"').to_string());
            }
        }
        out
    }

    /// The echo fields that need no body.
    pub(crate) fn dict(&self, fields: &[&str]) -> Value {
        let mut out = BTreeMap::new();
        for &field in fields {
            let value = match field {
                "args" => self.args(),
                "headers" => self.headers_json(),
                "origin" => Value::String(self.origin()),
                "url" => Value::String(self.url()),
                "method" => Value::String(self.method.to_string()),
                _ => continue,
            };
            out.insert(field, value);
        }
        Value::Object(out.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

/// The whole request: head and body.
pub(crate) struct Exchange {
    pub(crate) head: Head,
    pub(crate) body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Exchange {
    type Rejection = Response;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let head = Head::from_parts(&parts);
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response()
        })?;
        Ok(Exchange { head, body })
    }
}

impl Exchange {
    /// The echo fields, body fields included, as one JSON object with
    /// httpbin's (sorted) key order.
    pub(crate) fn dict(&self, fields: &[&str]) -> Value {
        let Value::Object(head) = self.head.dict(fields) else {
            unreachable!("Head::dict returns an object")
        };
        let mut out: BTreeMap<String, Value> = head.into_iter().collect();
        if fields
            .iter()
            .any(|f| matches!(*f, "data" | "form" | "files" | "json"))
        {
            let body = self.body_fields();
            for (name, value) in [
                ("data", body.data),
                ("form", body.form),
                ("files", body.files),
                ("json", body.json),
            ] {
                if fields.contains(&name) {
                    out.insert(name.to_string(), value);
                }
            }
        }
        Value::Object(out.into_iter().collect())
    }

    fn body_fields(&self) -> BodyFields {
        let content_type = self
            .head
            .header(header::CONTENT_TYPE)
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut form = Vec::new();
        let mut files = Vec::new();
        let mut data = Value::String(String::new());
        if content_type.starts_with("application/x-www-form-urlencoded") {
            form = form_pairs(&self.body);
        } else if content_type.starts_with("multipart/form-data") {
            let boundary = self
                .head
                .header(header::CONTENT_TYPE)
                .and_then(multipart::boundary);
            for part in boundary
                .map(|b| multipart::parse(&self.body, &b))
                .unwrap_or_default()
            {
                match part.filename {
                    Some(_) => {
                        let ct = part
                            .content_type
                            .as_deref()
                            .unwrap_or("application/octet-stream");
                        files.push((part.name, json_safe(&part.data, ct)));
                    }
                    None => {
                        form.push((part.name, String::from_utf8_lossy(&part.data).into_owned()))
                    }
                }
            }
        } else {
            data = Value::String(json_safe(&self.body, "application/octet-stream"));
        }
        // httpbin parses the raw body whatever its Content-Type says; form
        // bodies were consumed by the form parser, so they never parse.
        let json = match &data {
            Value::String(s) if !s.is_empty() => {
                serde_json::from_slice(&self.body).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        BodyFields {
            data,
            form: multi_dict(form),
            files: multi_dict(files),
            json,
        }
    }
}

struct BodyFields {
    data: Value,
    form: Value,
    files: Value,
    json: Value,
}

/// Text as is if it is UTF-8, else a base64 `data:` URL (httpbin's
/// `json_safe`).
pub(crate) fn json_safe(bytes: &[u8], content_type: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => format!(
            "data:{content_type};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs.
pub(crate) fn form_pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input).into_owned().collect()
}

/// Pairs as a JSON object: a string per name, or a list where it repeats.
pub(crate) fn multi_dict(pairs: Vec<(String, String)>) -> Value {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        grouped.entry(k).or_default().push(v);
    }
    let map: Map<String, Value> = grouped
        .into_iter()
        .map(|(k, mut vs)| {
            let value = if vs.len() == 1 {
                Value::String(vs.remove(0))
            } else {
                Value::Array(vs.into_iter().map(Value::String).collect())
            };
            (k, value)
        })
        .collect();
    Value::Object(map)
}

/// Python's `str.title()` as Werkzeug applies it to header names: a letter
/// is upper-cased after a non-letter, lower-cased after a letter.
pub(crate) fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut after_letter = false;
    for c in name.chars() {
        if c.is_ascii_alphabetic() {
            out.push(if after_letter {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            });
            after_letter = true;
        } else {
            out.push(if c == '_' { '-' } else { c });
            after_letter = false;
        }
    }
    out
}

/// httpbin's JSON responses: indented, with a trailing newline.
pub(crate) fn json(value: &Value) -> Response {
    json_with_status(StatusCode::OK, value)
}

/// [`json`] with another status.
pub(crate) fn json_with_status(status: StatusCode, value: &Value) -> Response {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_matches_python() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-b3-traceid"), "X-B3-Traceid");
        assert_eq!(title_case("x-foo1bar"), "X-Foo1Bar");
        assert_eq!(title_case("content-type"), "Content-Type");
    }

    #[test]
    fn multi_dict_lists_repeated_names() {
        let v = multi_dict(form_pairs(b"b=2&a=1&b=3&c=%20x"));
        assert_eq!(v, serde_json::json!({"a": "1", "b": ["2", "3"], "c": " x"}));
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn json_safe_encodes_binary() {
        assert_eq!(json_safe(b"hi", "x/y"), "hi");
        assert_eq!(json_safe(&[0xff, 0], "x/y"), "data:x/y;base64,/wA=");
    }
}
