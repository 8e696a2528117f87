//! Native part of `k6/net/grpc`: `.proto` files compiled at run time (protox)
//! into descriptors, requests and responses as dynamic messages with
//! protojson's mapping (prost-reflect), unary calls through
//! [`stampede_http::grpc`], and `grpc_req_duration` with k6's tags.
//!
//! A client is an index into the VU's list; the JavaScript part
//! (`js/grpc.js`) wraps it in the `Client` class and turns errors into
//! k6's `GoError`s.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, Exception, Object, Result, Value};
use serde_json::{json, Map, Value as Json};
use stampede_http::grpc::{code, GrpcCall, GrpcConn, GrpcConnectOptions, GrpcReply, Metadata};
use stampede_metrics::Builtin;

use super::set_fn;
use crate::coro::suspend;
use crate::host::now_ns;
use crate::state::VuState;

/// k6's default `invoke` timeout.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// k6's default `connect` timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// One `grpc.Client`.
#[derive(Default)]
struct ClientState {
    /// Methods by `/package.Service/Method`.
    methods: HashMap<String, MethodDescriptor>,
    conn: Option<Rc<GrpcConn>>,
    addr: String,
    /// Connection bytes already counted into the VU's data counters.
    counted: (u64, u64),
}

type Clients = Rc<RefCell<Vec<ClientState>>>;

/// Everything a call needs once its arguments are read.
struct Prepared {
    conn: Rc<GrpcConn>,
    call: GrpcCall,
    output: MessageDescriptor,
    discard: bool,
    tags: Vec<(String, String)>,
}

/// Builds the native part of `k6/net/grpc`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let clients: Clients = Rc::default();

    let c = clients.clone();
    set_fn(&obj, "newClient", move || -> u32 {
        let mut c = c.borrow_mut();
        c.push(ClientState::default());
        (c.len() - 1) as u32
    })?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(
        &obj,
        "load",
        move |ctx: Ctx<'js>,
              id: u32,
              paths: Value<'js>,
              files: Vec<String>|
              -> Result<Array<'js>> {
            if !s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "load must be called in the init context",
                ));
            }
            let root = s.test.program.root_dir().to_path_buf();
            let mut includes: Vec<PathBuf> = Vec::new();
            if let Some(arr) = paths.as_array() {
                for p in arr.iter::<String>() {
                    includes.push(root.join(p?));
                }
            }
            if includes.is_empty() {
                includes.push(root.clone());
            }
            let pool = compile(&s.test.program, &includes, &files)
                .map_err(|e| Exception::throw_message(&ctx, &e))?;
            register(&ctx, &c, id, &pool)
        },
    )?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(
        &obj,
        "loadProtoset",
        move |ctx: Ctx<'js>, id: u32, path: String| -> Result<Array<'js>> {
            if !s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "load must be called in the init context",
                ));
            }
            let full = crate::program::normalize(&s.test.program.root_dir().join(&path));
            let data = s.test.program.read(&full).map_err(|e| {
                Exception::throw_message(&ctx, &format!("couldn't open protoset: {e}"))
            })?;
            let pool = DescriptorPool::decode(&data[..]).map_err(|e| {
                Exception::throw_message(
                    &ctx,
                    &format!("couldn't unmarshal protoset file {path}: {e}"),
                )
            })?;
            register(&ctx, &c, id, &pool)
        },
    )?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(
        &obj,
        "connect",
        move |ctx: Ctx<'js>, id: u32, addr: String, params: Opt<Value<'js>>| -> Result<bool> {
            if s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "connecting to a gRPC server in the init context is not supported",
                ));
            }
            let opts = connect_params(&ctx, params.0)?;
            let client = s.test.http.client.clone();
            let target = addr.clone();
            let conn =
                suspend(move || async move { GrpcConn::connect(&client, &target, &opts).await })
                    .map_err(|_| super::k6::interrupted(&ctx))?
                    .map_err(|e| Exception::throw_message(&ctx, &e))?;
            let mut clients = c.borrow_mut();
            let st = client_mut(&ctx, &mut clients, id)?;
            // A connection replaced without close() keeps its bytes counted.
            if let Some(old) = st.conn.take() {
                count_bytes(&s, &old, &mut st.counted);
            }
            st.counted = (0, 0);
            count_bytes(&s, &conn, &mut st.counted);
            st.conn = Some(Rc::new(conn));
            st.addr = addr;
            Ok(true)
        },
    )?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(
        &obj,
        "invoke",
        move |ctx: Ctx<'js>,
              id: u32,
              method: String,
              request: Option<String>,
              params: Opt<Value<'js>>|
              -> Result<Value<'js>> {
            let p = prepare(&ctx, &s, &c, id, &method, request, params.0)?;
            let (conn, call) = (p.conn.clone(), p.call.clone());
            let start = Instant::now();
            let reply = suspend(move || async move { conn.invoke(&call).await })
                .map_err(|_| super::k6::interrupted(&ctx))?;
            finish(&ctx, &s, &c, id, p, reply, start.elapsed())
        },
    )?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(
        &obj,
        "asyncInvoke",
        move |ctx: Ctx<'js>,
              id: u32,
              method: String,
              request: Option<String>,
              params: Opt<Value<'js>>|
              -> Result<Value<'js>> {
            let (st, cl) = (s.clone(), c.clone());
            let prepared = prepare(&ctx, &s, &c, id, &method, request, params.0);
            crate::ops::promise(&ctx, &s.ops, prepared, move |p| async move {
                let start = Instant::now();
                let reply = p.conn.invoke(&p.call).await;
                let took = start.elapsed();
                crate::ops::settle(move |ctx| finish(ctx, &st, &cl, id, p, reply, took))
            })
        },
    )?;

    let (s, c) = (state.clone(), clients.clone());
    set_fn(&obj, "close", move |ctx: Ctx<'js>, id: u32| -> Result<()> {
        let mut clients = c.borrow_mut();
        let st = client_mut(&ctx, &mut clients, id)?;
        if let Some(conn) = st.conn.take() {
            count_bytes(&s, &conn, &mut st.counted);
        }
        Ok(())
    })?;

    Ok(obj)
}

fn client_mut<'a>(
    ctx: &Ctx<'_>,
    clients: &'a mut [ClientState],
    id: u32,
) -> Result<&'a mut ClientState> {
    clients
        .get_mut(id as usize)
        .ok_or_else(|| Exception::throw_type(ctx, "not a grpc.Client"))
}

/// Adds the connection's bytes since the last count to the VU's
/// `data_sent`/`data_received` (k6 counts them at the socket too).
fn count_bytes(s: &VuState, conn: &GrpcConn, counted: &mut (u64, u64)) {
    let (sent, received) = conn.bytes();
    s.bytes_sent
        .set(s.bytes_sent.get() + sent.saturating_sub(counted.0));
    s.bytes_received
        .set(s.bytes_received.get() + received.saturating_sub(counted.1));
    *counted = (sent, received);
}

/// Compiles `.proto` files found in `includes` (plus the well-known types).
/// Looks `.proto` files up in an include directory through the program,
/// so they are read once, go into archives, and come from the archive
/// (never the disk) when running one.
struct ProgramIncludes {
    program: std::sync::Arc<crate::Program>,
    include: PathBuf,
}

impl protox::file::FileResolver for ProgramIncludes {
    fn resolve_path(&self, path: &std::path::Path) -> Option<String> {
        let rel = path.strip_prefix(&self.include).ok()?;
        let parts: Option<Vec<&str>> = rel
            .components()
            .map(|c| match c {
                std::path::Component::Normal(p) => p.to_str(),
                _ => None,
            })
            .collect();
        parts.map(|p| p.join("/"))
    }

    fn open_file(&self, name: &str) -> std::result::Result<protox::file::File, protox::Error> {
        let full = crate::program::normalize(&self.include.join(name));
        if self.program.stat(&full).is_err() {
            return Err(protox::Error::file_not_found(name));
        }
        let data = self
            .program
            .read(&full)
            .map_err(|e| protox::Error::new(std::io::Error::other(e)))?;
        let text = String::from_utf8(data.to_vec()).map_err(|_| {
            protox::Error::new(std::io::Error::other(format!("{name}: not valid UTF-8")))
        })?;
        protox::file::File::from_source(name, &text)
    }
}

fn compile(
    program: &std::sync::Arc<crate::Program>,
    includes: &[PathBuf],
    files: &[String],
) -> std::result::Result<DescriptorPool, String> {
    let mut resolver = protox::file::ChainFileResolver::new();
    for include in includes {
        resolver.add(ProgramIncludes {
            program: program.clone(),
            include: include.clone(),
        });
    }
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    for f in files {
        compiler.open_file(f).map_err(|e| match e.file() {
            Some(_) => e.to_string(),
            None => format!("{f}: {e}"),
        })?;
    }
    Ok(compiler.descriptor_pool())
}

/// Makes a pool's methods callable by a client; returns k6's method infos.
fn register<'js>(
    ctx: &Ctx<'js>,
    clients: &Clients,
    id: u32,
    pool: &DescriptorPool,
) -> Result<Array<'js>> {
    let mut clients = clients.borrow_mut();
    let st = client_mut(ctx, &mut clients, id)?;
    let out = Array::new(ctx.clone())?;
    let mut i = 0;
    for svc in pool.services() {
        for m in svc.methods() {
            let full = format!("/{}/{}", svc.full_name(), m.name());
            let info = Object::new(ctx.clone())?;
            info.set("package", svc.package_name())?;
            info.set("service", svc.name())?;
            info.set("full_method", full.as_str())?;
            info.set("name", m.name())?;
            info.set("is_client_stream", m.is_client_streaming())?;
            info.set("is_server_stream", m.is_server_streaming())?;
            out.set(i, info)?;
            i += 1;
            st.methods.insert(full, m);
        }
    }
    Ok(out)
}

/// k6's `%#v` of a parameter value, near enough for its error texts.
fn go_repr<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> String {
    if let Some(s) = v.as_string() {
        return format!("{:?}", s.to_string().unwrap_or_default());
    }
    crate::value::to_display_string(ctx, v).unwrap_or_default()
}

/// A duration parameter: milliseconds as a number, or a Go duration text.
fn duration_param<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> std::result::Result<Duration, String> {
    use stampede_config::K6Duration;
    if let Some(ms) = v.as_number() {
        return Ok(K6Duration::from_millis_f64(ms).to_std_or_zero());
    }
    let text = crate::value::to_display_string(ctx, v).unwrap_or_default();
    K6Duration::parse_go(&text)
        .map(K6Duration::to_std_or_zero)
        .map_err(|e| e.go_message())
}

fn connect_params<'js>(ctx: &Ctx<'js>, params: Option<Value<'js>>) -> Result<GrpcConnectOptions> {
    let mut opts = GrpcConnectOptions {
        plaintext: false,
        timeout: DEFAULT_CONNECT_TIMEOUT,
    };
    let Some(p) = params.as_ref().and_then(Value::as_object) else {
        return Ok(opts);
    };
    let fail = |msg: String| {
        Exception::throw_message(ctx, &format!("invalid grpc.connect() parameters: {msg}"))
    };
    for kv in p.props::<String, Value>() {
        let (k, v) = kv?;
        match k.as_str() {
            "plaintext" => match v.as_bool() {
                Some(b) => opts.plaintext = b,
                None => {
                    return Err(fail(format!(
                        "invalid plaintext value: '{}', it needs to be boolean",
                        go_repr(ctx, &v)
                    )))
                }
            },
            "timeout" => {
                opts.timeout = duration_param(ctx, &v)
                    .map_err(|e| fail(format!("invalid timeout value: {e}")))?
            }
            "reflect" => match v.as_bool() {
                Some(false) => {}
                Some(true) => {
                    return Err(Exception::throw_message(
                        ctx,
                        "the gRPC reflection protocol (reflect: true) is not supported by Stampede: load the .proto files with client.load() instead",
                    ))
                }
                None => {
                    return Err(fail(format!(
                        "invalid reflect value: '{}', it needs to be boolean",
                        go_repr(ctx, &v)
                    )))
                }
            },
            "reflectMetadata" => {}
            "maxReceiveSize" | "maxSendSize" => {
                let ok = v.as_int().is_some_and(|n| n >= 0)
                    || v.as_float().is_some_and(|f| f >= 0.0 && f.fract() == 0.0);
                if !ok {
                    return Err(fail(format!(
                        "invalid {k} value: '{}', it needs to be a positive integer",
                        go_repr(ctx, &v)
                    )));
                }
            }
            "tls" => {
                return Err(Exception::throw_message(
                    ctx,
                    "the tls parameter of grpc.connect() (client certificates, CA certificates) is not supported by Stampede",
                ))
            }
            other => return Err(fail(format!("unknown connect param: {other:?}"))),
        }
    }
    Ok(opts)
}

/// Reads an `invoke` call's arguments as k6's `buildInvokeRequest` does, in
/// its order of checks.
fn prepare<'js>(
    ctx: &Ctx<'js>,
    s: &Rc<VuState>,
    clients: &Clients,
    id: u32,
    method: &str,
    request: Option<String>,
    params: Option<Value<'js>>,
) -> Result<Prepared> {
    if s.in_init() {
        return Err(Exception::throw_message(
            ctx,
            "invoking RPC methods in the init context is not supported",
        ));
    }
    let (conn, desc, addr) = {
        let mut clients = clients.borrow_mut();
        let st = client_mut(ctx, &mut clients, id)?;
        let Some(conn) = st.conn.clone() else {
            return Err(Exception::throw_message(
                ctx,
                "no gRPC connection, you must call connect first",
            ));
        };
        if method.is_empty() {
            return Err(Exception::throw_message(
                ctx,
                "method to invoke cannot be empty",
            ));
        }
        let path = if method.starts_with('/') {
            method.to_string()
        } else {
            format!("/{method}")
        };
        let Some(desc) = st.methods.get(&path).cloned() else {
            return Err(Exception::throw_message(
                ctx,
                &format!("method {path:?} not found in file descriptors"),
            ));
        };
        (conn, desc, st.addr.clone())
    };
    let fail = |msg: String| {
        Exception::throw_message(
            ctx,
            &format!("invalid GRPC's client.invoke() parameters: {msg}"),
        )
    };
    let mut metadata = Vec::new();
    let mut tags = Vec::new();
    let mut timeout = DEFAULT_CALL_TIMEOUT;
    let mut discard = false;
    if let Some(p) = params.as_ref().and_then(Value::as_object) {
        for kv in p.props::<String, Value>() {
            let (k, v) = kv?;
            match k.as_str() {
                "metadata" => {
                    if v.is_null() || v.is_undefined() {
                        continue;
                    }
                    let Some(md) = v.as_object() else {
                        return Err(fail(
                            "invalid metadata param: must be an object with key-value pairs".into(),
                        ));
                    };
                    for kv in md.props::<String, Value>() {
                        let (name, value) = kv?;
                        let bytes = if name.ends_with("-bin") {
                            if value.is_string() || !value.is_object() {
                                return Err(fail(format!(
                                    "invalid metadata param: {name:?} value must be binary"
                                )));
                            }
                            crate::bytes::to_bytes(ctx, &value)?
                        } else {
                            match value.as_string() {
                                Some(t) => t.to_string()?.into_bytes(),
                                None => {
                                    return Err(fail(format!(
                                        "invalid metadata param: {name:?} value must be a string"
                                    )))
                                }
                            }
                        };
                        metadata.push((name.to_ascii_lowercase(), bytes));
                    }
                }
                "tags" => {
                    tags = super::k6::js_tags(ctx, Some(v))
                        .map_err(|_| fail("metric tags: invalid tags".into()))?;
                }
                "timeout" => {
                    timeout = duration_param(ctx, &v)
                        .map_err(|e| fail(format!("invalid timeout value: {e}")))?;
                    if timeout.is_zero() {
                        timeout = DEFAULT_CALL_TIMEOUT;
                    }
                }
                "discardResponseMessage" => discard = v.as_bool().unwrap_or(false),
                other => return Err(fail(format!("unknown param: {other:?}"))),
            }
        }
    }
    let Some(request) = request else {
        return Err(Exception::throw_type(
            ctx,
            "Cannot convert undefined or null to object",
        ));
    };
    let mut de = serde_json::Deserializer::from_str(&request);
    let message = DynamicMessage::deserialize(desc.input(), &mut de).map_err(|e| {
        Exception::throw_message(
            ctx,
            &format!("unable to serialise request object to protocol buffer: {e}"),
        )
    })?;
    let path = format!("/{}/{}", desc.parent_service().full_name(), desc.name());
    let sys = &s.test.http.system_tags;
    let mut all: Vec<(String, String)> = Vec::new();
    let mut system = |k: &str, v: String| {
        if sys.contains(k) {
            all.push((k.to_string(), v));
        }
    };
    system("url", format!("{addr}{path}"));
    system("service", desc.parent_service().full_name().to_string());
    system("method", desc.name().to_string());
    if !tags.iter().any(|(k, _)| k == "name") {
        system("name", path.clone());
    }
    all.extend(tags);
    Ok(Prepared {
        conn,
        call: GrpcCall {
            path,
            metadata,
            message: message.encode_to_vec().into(),
            timeout,
        },
        output: desc.output(),
        discard,
        tags: all,
    })
}

/// Emits the call's metrics and builds k6's response object.
fn finish<'js>(
    ctx: &Ctx<'js>,
    s: &Rc<VuState>,
    clients: &Clients,
    id: u32,
    p: Prepared,
    mut reply: GrpcReply,
    took: Duration,
) -> Result<Value<'js>> {
    {
        let mut clients = clients.borrow_mut();
        if let Some(st) = clients.get_mut(id as usize) {
            if st.conn.as_ref().is_some_and(|c| Rc::ptr_eq(c, &p.conn)) {
                count_bytes(s, &p.conn, &mut st.counted);
            }
        }
    }
    let decoded = match reply.body.take() {
        Some(body) if reply.status == code::OK => {
            match DynamicMessage::decode(p.output.clone(), body) {
                Ok(m) => Some(m),
                Err(e) => {
                    reply.status = code::INTERNAL;
                    reply.message = format!("grpc: failed to unmarshal the received message: {e}");
                    None
                }
            }
        }
        _ => None,
    };
    // k6 pushes the sample with the call's context, so a call past its
    // deadline records nothing.
    if !reply.deadline_exceeded {
        let status = reply.status.to_string();
        let mut extra: Vec<(&str, &str)> = p
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if s.test.http.system_tags.contains("status") {
            extra.push(("status", &status));
        }
        let tags = s.tags_with(&extra);
        s.emitter.emit(
            Builtin::GrpcReqDuration.metric(),
            &tags,
            took.as_secs_f64() * 1000.0,
            now_ns(),
        );
    }
    let message = if p.discard {
        Json::Null
    } else {
        let m = decoded.unwrap_or_else(|| DynamicMessage::new(p.output.clone()));
        to_protojson(&m)
    };
    let error = if reply.status == code::OK {
        Json::Null
    } else {
        json!({"code": reply.status, "message": reply.message, "details": []})
    };
    let res = json!({
        "message": message,
        "error": error,
        "headers": metadata_json(&reply.headers),
        "trailers": metadata_json(&reply.trailers),
        "status": reply.status,
    });
    ctx.json_parse(res.to_string())
}

fn metadata_json(md: &Metadata) -> Json {
    let mut m = Map::new();
    for (k, v) in md {
        m.insert(k.clone(), json!(v));
    }
    Json::Object(m)
}

/// protojson with `EmitUnpopulated`, as k6 marshals responses: every field
/// but unset oneof members, unset singular messages (and proto2 scalars) as
/// `null`, 64-bit integers as strings, enums by name, bytes in base64.
pub(crate) fn to_protojson(m: &DynamicMessage) -> Json {
    let opts = prost_reflect::SerializeOptions::new().skip_default_fields(false);
    let mut v = m
        .serialize_with_options(serde_json::value::Serializer, &opts)
        .unwrap_or(Json::Null);
    fill_unpopulated(&mut v, &m.descriptor());
    v
}

fn fill_unpopulated(v: &mut Json, desc: &MessageDescriptor) {
    if desc.full_name().starts_with("google.protobuf.") {
        return;
    }
    let Json::Object(obj) = v else { return };
    let mut rest = std::mem::take(obj);
    // Rebuilt in field order, with the nulls where they belong.
    for field in desc.fields() {
        let name = field.json_name();
        let Some(mut value) = rest.remove(name) else {
            if field.containing_oneof().is_none() {
                obj.insert(name.to_string(), Json::Null);
            }
            continue;
        };
        if let prost_reflect::Kind::Message(inner) = field.kind() {
            if field.is_map() {
                let value_desc = inner.map_entry_value_field();
                if let (prost_reflect::Kind::Message(vd), Json::Object(entries)) =
                    (value_desc.kind(), &mut value)
                {
                    for e in entries.values_mut() {
                        fill_unpopulated(e, &vd);
                    }
                }
            } else if let Json::Array(items) = &mut value {
                for e in items {
                    fill_unpopulated(e, &inner);
                }
            } else {
                fill_unpopulated(&mut value, &inner);
            }
        }
        obj.insert(name.to_string(), value);
    }
    obj.extend(rest);
}

use prost_reflect::ReflectMessage;

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.proto"),
            r#"syntax = "proto3";
package t;
import "google/protobuf/wrappers.proto";
message Inner { string a = 1; Inner deeper = 2; }
message M {
  int64 big = 1;
  Inner inner = 2;
  repeated Inner list = 3;
  map<string, Inner> byname = 4;
  google.protobuf.StringValue wrapped = 5;
  oneof pick { string x = 6; int32 y = 7; }
  optional string maybe = 8;
  bytes raw = 9;
  enum E { ZERO = 0; ONE = 1; }
  E e = 10;
}
service S { rpc Call(M) returns (M); }
"#,
        )
        .unwrap();
        let program = crate::Program::from_source(&dir.path().join("main.js"), "");
        compile(&program, &[dir.path().to_path_buf()], &["t.proto".into()]).unwrap()
    }

    #[test]
    fn protojson_emits_unpopulated_fields_as_k6() {
        let pool = pool();
        let desc = pool.get_message_by_name("t.M").unwrap();
        let m = DynamicMessage::new(desc.clone());
        assert_eq!(
            to_protojson(&m).to_string(),
            r#"{"big":"0","inner":null,"list":[],"byname":{},"wrapped":null,"raw":"","e":"ZERO"}"#
        );
        let mut de = serde_json::Deserializer::from_str(
            r#"{"big":"12","inner":{},"list":[{"a":"x"}],"byname":{"k":{}},"wrapped":"w","y":3,"raw":"AQI=","e":"ONE"}"#,
        );
        let m = DynamicMessage::deserialize(desc, &mut de).unwrap();
        assert_eq!(
            to_protojson(&m).to_string(),
            r#"{"big":"12","inner":{"a":"","deeper":null},"list":[{"a":"x","deeper":null}],"byname":{"k":{"a":"","deeper":null}},"wrapped":"w","y":3,"raw":"AQI=","e":"ONE"}"#
        );
    }

    #[test]
    fn unknown_fields_and_files_are_errors() {
        let pool = pool();
        let desc = pool.get_message_by_name("t.M").unwrap();
        let mut de = serde_json::Deserializer::from_str(r#"{"nope":1}"#);
        assert!(DynamicMessage::deserialize(desc, &mut de).is_err());
        let dir = tempfile::tempdir().unwrap();
        let program = crate::Program::from_source(&dir.path().join("main.js"), "");
        assert!(compile(
            &program,
            &[dir.path().to_path_buf()],
            &["missing.proto".into()]
        )
        .is_err());
    }
}
