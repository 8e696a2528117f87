//! `/status/{codes}`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode, Version};
use rand::Rng;
use serde_json::json;

use super::request::{json_with_status, Head};

const TEAPOT: &str = r#"
    -=[ teapot ]=-

       _...._
     .'  _ _ `.
    | ."` ^ `". _,
    \_;`"---"`|//
      |       ;/
      \_     _/
        `"""`
"#;

/// `/status/{codes}`: one code, or a comma-separated weighted choice such
/// as `200:3,500` (weight 1 when omitted).
pub(crate) async fn status(Path(codes): Path<String>, head: Head) -> Response {
    let roll = rand::rng().random::<f64>();
    match pick(&codes, roll) {
        Some(code) if (100..200).contains(&code) => informational(code, &head).await,
        Some(code) => respond(code),
        None => (StatusCode::BAD_REQUEST, "Invalid status code").into_response(),
    }
}

/// Chooses a code from `codes` given a uniform `roll` in `[0, 1)`.
fn pick(codes: &str, roll: f64) -> Option<u16> {
    let mut choices = Vec::new();
    for choice in codes.split(',') {
        let (code, weight) = match choice.split_once(':') {
            Some((c, w)) => (c, w.trim().parse::<f64>().ok()?),
            None => (choice, 1.0),
        };
        let code = code.trim().parse::<u16>().ok()?;
        if !(100..=999).contains(&code) || weight.is_nan() || weight < 0.0 {
            return None;
        }
        choices.push((code, weight));
    }
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut target = roll * total;
    for &(code, weight) in &choices {
        if target < weight {
            return Some(code);
        }
        target -= weight;
    }
    choices.last().map(|c| c.0)
}

fn respond(code: u16) -> Response {
    let status = StatusCode::from_u16(code).expect("code checked to be in 100..=999");
    let mut res = match code {
        406 => json_with_status(
            status,
            &json!({
                "message": "Client did not request a supported media type.",
                "accept": ["image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"],
            }),
        ),
        418 => (status, [(header::CONTENT_TYPE, "text/plain")], TEAPOT).into_response(),
        402 => (status, "Fuck you, pay me!").into_response(),
        _ => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "",
        )
            .into_response(),
    };
    let h = res.headers_mut();
    match code {
        301 | 302 | 303 | 305 | 307 => {
            h.insert(header::LOCATION, HeaderValue::from_static("/redirect/1"));
        }
        401 => {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="Fake Realm""#),
            );
        }
        402 => {
            h.insert(
                "x-more-info",
                HeaderValue::from_static("http://vimeo.com/22053820"),
            );
        }
        407 => {
            h.insert(
                header::PROXY_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="Fake Realm""#),
            );
        }
        418 => {
            h.insert(
                "x-more-info",
                HeaderValue::from_static("http://tools.ietf.org/html/rfc2324"),
            );
        }
        _ => {}
    }
    res
}

/// hyper cannot send a 1xx as the final response, and a real client would
/// wait for a final one after it anyway: send the 1xx as an interim response
/// and follow it with an empty 200. A bare 101 closes the connection.
async fn informational(code: u16, head: &Head) -> Response {
    let status = StatusCode::from_u16(code).expect("code checked to be 1xx");
    let status_line = format!(
        "HTTP/1.1 {} {}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Informational")
    );
    if let (Some(conn), Version::HTTP_11) = (&head.conn, head.version) {
        if status == StatusCode::SWITCHING_PROTOCOLS {
            conn.close_with_raw(Bytes::from(status_line));
            // The connection task drops the connection; no response follows.
            return std::future::pending().await;
        }
        conn.send_before_response(Bytes::from(status_line));
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn picks_single_and_weighted_codes() {
        assert_eq!(pick("418", 0.99), Some(418));
        assert_eq!(pick("200,500", 0.1), Some(200));
        assert_eq!(pick("200,500", 0.6), Some(500));
        assert_eq!(pick("200:0,500:1", 0.0), Some(500));
        assert_eq!(pick("200:3,500:1", 0.74), Some(200));
        assert_eq!(pick("200:3,500:1", 0.76), Some(500));
        assert_eq!(pick("abc", 0.5), None);
        assert_eq!(pick("200:x", 0.5), None);
        assert_eq!(pick("42", 0.5), None);
    }
}
