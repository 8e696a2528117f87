//! A small gRPC service for `k6/net/grpc` tests. [`crate::TestServer`] serves
//! it beside httpbin on the same address (HTTP/2 with prior knowledge, or
//! ALPN `h2` over TLS), outside httpbin's request counting and CORS headers.
//!
//! The service is [`HELLO_PROTO`] (`hello.HelloService`), handled with
//! dynamic messages (no generated code):
//!
//! | Method | What |
//! | --- | --- |
//! | `SayHello` | `reply` = `"hello " + greeting`, the other fields copied, `counts` = `{"tags": number of tags}`; metadata `x-echo-*` comes back as response headers, and the trailer `x-served-by: stampede-demo` |
//! | `Fail` | the status `code` with the message `message` (in the trailers) |
//! | `Sleep` | answers after `ms` milliseconds (at most 10 s), deadline or not |
//! | `LotsOfReplies` | `UNIMPLEMENTED` (server streaming is not served) |
//!
//! Any other method, and the service `hello.Unimplemented`, answer
//! `UNIMPLEMENTED` with grpc-go's texts (`unknown method X for service Y`,
//! `unknown service Y`). Requests that are not `application/grpc` get `415`.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MapKey, ReflectMessage, Value};

/// The service's `.proto` file (`hello.proto`, package `hello`).
pub const HELLO_PROTO: &str = include_str!("hello.proto");

/// The router serving `hello.HelloService` and `hello.Unimplemented`.
pub fn grpc_router() -> Router {
    Router::new()
        .route("/hello.HelloService/{method}", post(hello))
        .route("/hello.Unimplemented/{method}", post(unimplemented_service))
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(InMemory);
        resolver.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler
            .open_file("hello.proto")
            .expect("hello.proto compiles");
        compiler.descriptor_pool()
    })
}

struct InMemory;

impl protox::file::FileResolver for InMemory {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == "hello.proto" {
            protox::file::File::from_source(name, HELLO_PROTO)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// A gRPC status code (the subset the service uses).
mod code {
    pub(super) const OK: u32 = 0;
    pub(super) const INVALID_ARGUMENT: u32 = 3;
    pub(super) const UNIMPLEMENTED: u32 = 12;
    pub(super) const INTERNAL: u32 = 13;
}

async fn unimplemented_service(headers: HeaderMap) -> Response {
    if let Some(r) = not_grpc(&headers) {
        return r;
    }
    status_only(code::UNIMPLEMENTED, "unknown service hello.Unimplemented")
}

async fn hello(Path(method): Path<String>, headers: HeaderMap, body: Body) -> Response {
    if let Some(r) = not_grpc(&headers) {
        return r;
    }
    let pool = pool();
    let service = pool
        .get_service_by_name("hello.HelloService")
        .expect("the service is in hello.proto");
    let Some(m) = service.methods().find(|m| m.name() == method) else {
        return status_only(
            code::UNIMPLEMENTED,
            &format!("unknown method {method} for service hello.HelloService"),
        );
    };
    if m.is_server_streaming() || m.is_client_streaming() {
        return status_only(
            code::UNIMPLEMENTED,
            &format!("method {method} is not served"),
        );
    }
    let Ok(body) = body.collect().await.map(|c| c.to_bytes()) else {
        return status_only(code::INTERNAL, "cannot read the request");
    };
    let request = match unframe(&body).map(|b| DynamicMessage::decode(m.input(), b)) {
        Some(Ok(r)) => r,
        _ => {
            return status_only(
                code::INTERNAL,
                "grpc: error unmarshalling request: bad message",
            )
        }
    };
    let mut reply = DynamicMessage::new(m.output());
    let mut extra_headers = Vec::new();
    let mut status = (code::OK, String::new());
    match method.as_str() {
        "SayHello" => {
            say_hello(&request, &mut reply);
            for (name, value) in headers.iter() {
                if name.as_str().starts_with("x-echo-") {
                    extra_headers.push((name.clone(), value.clone()));
                }
            }
        }
        "Fail" => {
            let c = int(&request, "code").clamp(0, 16) as u32;
            let msg = string(&request, "message");
            if c == code::OK {
                reply.set_field_by_name("reply", Value::String(msg));
            } else {
                status = (c, msg);
            }
        }
        "Sleep" => {
            let ms = int(&request, "ms").clamp(0, 10_000) as u64;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reply.set_field_by_name("reply", Value::String(format!("slept {ms}ms")));
        }
        _ => status = (code::INVALID_ARGUMENT, format!("no handler for {method}")),
    }
    if status.0 != code::OK {
        return status_only(status.0, &status.1);
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(code::OK));
    trailers.insert("x-served-by", HeaderValue::from_static("stampede-demo"));
    let frames = vec![
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(frame(&reply.encode_to_vec()))),
        Ok(hyper::body::Frame::trailers(trailers)),
    ];
    let body = Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
        frames,
    )));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/grpc"));
    for (k, v) in extra_headers {
        h.append(k, v);
    }
    res
}

fn say_hello(req: &DynamicMessage, reply: &mut DynamicMessage) {
    let greeting = string(req, "greeting");
    reply.set_field_by_name("reply", Value::String(format!("hello {greeting}")));
    for name in [
        "times", "big", "mood", "tags", "inner", "blob", "loud", "ratio", "nickname",
    ] {
        if let Some(field) = req.descriptor().get_field_by_name(name) {
            if req.has_field(&field) {
                let v = req.get_field(&field).into_owned();
                reply.set_field_by_name(name, v);
            }
        }
    }
    let tags = req
        .get_field_by_name("tags")
        .and_then(|v| v.as_list().map(|l| l.len()))
        .unwrap_or(0);
    let mut counts = std::collections::HashMap::new();
    counts.insert(
        MapKey::String("tags".into()),
        Value::I32(i32::try_from(tags).unwrap_or(i32::MAX)),
    );
    reply.set_field_by_name("counts", Value::Map(counts));
    if greeting == "pick" {
        reply.set_field_by_name("picked", Value::String("yes".into()));
    }
}

fn int(m: &DynamicMessage, name: &str) -> i64 {
    match m.get_field_by_name(name).as_deref() {
        Some(Value::I32(v)) => i64::from(*v),
        _ => 0,
    }
}

fn string(m: &DynamicMessage, name: &str) -> String {
    m.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The message of a length-prefixed, uncompressed gRPC frame.
fn unframe(body: &[u8]) -> Option<&[u8]> {
    let (head, rest) = body.split_at_checked(5)?;
    if head[0] != 0 {
        return None;
    }
    let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    rest.get(..n)
}

fn frame(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.into()
}

/// A trailers-only response: the status in the response headers.
fn status_only(code: u32, message: &str) -> Response {
    let mut res = Response::new(Body::empty());
    let h = res.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from(code));
    if !message.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&percent_encode(message)) {
            h.insert("grpc-message", v);
        }
    }
    res
}

/// grpc-message's percent-encoding: printable ASCII but `%` stays as is.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn not_grpc(headers: &HeaderMap) -> Option<Response> {
    let ok = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if ok {
        return None;
    }
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proto_compiles_and_frames_round_trip() {
        let svc = pool().get_service_by_name("hello.HelloService").unwrap();
        assert_eq!(svc.methods().count(), 4);
        let f = frame(b"abc");
        assert_eq!(&f[..], b"\0\0\0\0\x03abc");
        assert_eq!(unframe(&f), Some(&b"abc"[..]));
        assert_eq!(unframe(b"\0\0\0\0\x09abc"), None);
        assert_eq!(percent_encode("50% off\n"), "50%25 off%0A");
    }
}
