//! Conditional requests and header echoes: `/cache`, `/cache/{n}`,
//! `/etag/{etag}`, `/response-headers`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderName, HeaderValue, StatusCode};
use rand::RngCore;
use serde_json::{Map, Value};

use super::request::{json, Head};

const GET_FIELDS: &[&str] = &["args", "headers", "origin", "url"];

/// `/cache`: 304 for any conditional request, else `/get` with
/// `Last-Modified` and a fresh `ETag`.
pub(crate) async fn cache(head: Head) -> Response {
    if head.headers.contains_key(header::IF_MODIFIED_SINCE)
        || head.headers.contains_key(header::IF_NONE_MATCH)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut res = json(&head.dict(GET_FIELDS));
    let mut tag = [0u8; 16];
    rand::rng().fill_bytes(&mut tag);
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// `/cache/{n}`: `/get` with `Cache-Control: public, max-age=n`.
pub(crate) async fn cache_for(Path(n): Path<String>, head: Head) -> Response {
    let Ok(n) = n.parse::<u64>() else {
        return (StatusCode::BAD_REQUEST, "n must be an integer\n").into_response();
    };
    let mut res = json(&head.dict(GET_FIELDS));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={n}")) {
        res.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    res
}

/// `/etag/{etag}`: honours `If-None-Match` (304) and `If-Match` (412).
pub(crate) async fn etag(Path(etag): Path<String>, head: Head) -> Response {
    let if_none_match = entity_tags(head.header(header::IF_NONE_MATCH));
    let if_match = entity_tags(head.header(header::IF_MATCH));
    let listed = |tags: &[String]| tags.iter().any(|t| *t == etag || t == "*");
    let mut res = if !if_none_match.is_empty() && listed(&if_none_match) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if if_none_match.is_empty() && !if_match.is_empty() && !listed(&if_match) {
        return StatusCode::PRECONDITION_FAILED.into_response();
    } else {
        json(&head.dict(GET_FIELDS))
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The tags of an `If-Match`/`If-None-Match` list, quotes and `W/` removed.
fn entity_tags(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or("")
        .split(',')
        .map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.trim_matches('"').to_string()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// `/response-headers?name=value...`: sets those headers, and returns every
/// response header (its own `Content-Length` included) as JSON.
pub(crate) async fn response_headers(head: Head) -> Response {
    let mut extra = Vec::new();
    for (name, value) in head.query_pairs() {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            // Framing headers would corrupt the response itself.
            (Ok(n), _) if n == header::CONTENT_LENGTH || n == header::TRANSFER_ENCODING => {
                return (StatusCode::BAD_REQUEST, "framing headers cannot be set\n")
                    .into_response();
            }
            (Ok(_), Ok(v)) => extra.push((name, v)),
            _ => return (StatusCode::BAD_REQUEST, "invalid header\n").into_response(),
        }
    }
    // The body lists Content-Length, which depends on the body: iterate to
    // the fixed point, as httpbin does.
    let mut length = 0;
    let body = loop {
        let mut grouped: Vec<(String, Vec<String>)> = vec![
            ("Content-Length".into(), vec![length.to_string()]),
            ("Content-Type".into(), vec!["application/json".into()]),
        ];
        for (name, value) in &extra {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match grouped
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some((_, values)) => values.push(value),
                None => grouped.push((name.clone(), vec![value])),
            }
        }
        grouped.sort_by(|a, b| a.0.cmp(&b.0));
        let map: Map<String, Value> = grouped
            .into_iter()
            .map(|(n, mut vs)| {
                let v = if vs.len() == 1 {
                    Value::String(vs.remove(0))
                } else {
                    Value::Array(vs.into_iter().map(Value::String).collect())
                };
                (n, v)
            })
            .collect();
        let mut body = serde_json::to_vec_pretty(&Value::Object(map)).unwrap_or_default();
        body.push(b'\n');
        if body.len() == length {
            break body;
        }
        length = body.len();
    };
    let mut res = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    for (name, value) in extra {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            res.headers_mut().append(name, value);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::entity_tags;

    #[test]
    fn parses_entity_tag_lists() {
        assert_eq!(entity_tags(Some(r#""a", W/"b",c"#)), ["a", "b", "c"]);
        assert!(entity_tags(None).is_empty());
    }
}
