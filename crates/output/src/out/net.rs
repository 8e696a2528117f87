//! The network outputs' HTTP client: blocking calls on the output's own
//! thread, over a current-thread Tokio runtime it owns (the engine's
//! runtimes are never touched). HTTP/1.1 for InfluxDB, Prometheus and
//! OTLP/HTTP, HTTP/2 for OTLP/gRPC (with prior knowledge on `http://`,
//! ALPN on `https://`). One kept-alive connection per kind; a broken one
//! is replaced on the next call.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::crypto::ring;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use url::Url;

/// What came back.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// Trailers (gRPC status), lower-case names.
    pub trailers: Vec<(String, String)>,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
}

/// A blocking HTTP client for one output.
pub(crate) struct Client {
    rt: tokio::runtime::Runtime,
    insecure: bool,
    timeout: Duration,
    user_agent: String,
    h1: Option<(String, http1::SendRequest<Full<Bytes>>)>,
    h2: Option<(String, http2::SendRequest<Full<Bytes>>)>,
}

impl Client {
    /// A client; `insecure` skips certificate checks (`..._INSECURE`).
    pub(crate) fn new(insecure: bool, timeout: Duration) -> std::io::Result<Client> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client {
            rt,
            insecure,
            timeout,
            user_agent: format!("stampede/{}", env!("CARGO_PKG_VERSION")),
            h1: None,
            h2: None,
        })
    }

    /// Sets the `User-Agent` (k6's outputs each have their own).
    pub(crate) fn with_user_agent(mut self, ua: &str) -> Self {
        self.user_agent = ua.to_owned();
        self
    }

    /// An HTTP/1.1 request; `Err` for transport errors (any status is `Ok`).
    pub(crate) fn request(
        &mut self,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let key = origin(url)?;
        let req = self.build(method, url, headers, body, false)?;
        let timeout = self.timeout;
        let insecure = self.insecure;
        let cached = self.h1.take().filter(|(k, s)| *k == key && !s.is_closed());
        let res = self.rt.block_on(async move {
            let mut sender = match cached {
                Some((_, s)) => s,
                None => match connect(url, insecure, false, timeout).await? {
                    Io::Plain(t) => h1_over(t).await?,
                    Io::Tls(t) => h1_over(*t).await?,
                },
            };
            let call = async {
                sender.ready().await.map_err(|e| e.to_string())?;
                let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
                read_reply(resp).await
            };
            let reply = tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| format!("request timed out after {timeout:?}"))??;
            Ok::<_, String>((reply, sender))
        });
        let (reply, sender) = res?;
        self.h1 = Some((key, sender));
        Ok(reply)
    }

    /// A unary gRPC call (`/package.Service/Method`) with a protobuf message;
    /// returns the response message, or the gRPC error.
    pub(crate) fn grpc(
        &mut self,
        url: &Url,
        path: &str,
        headers: &[(String, String)],
        message: &[u8],
    ) -> Result<Vec<u8>, String> {
        let key = origin(url)?;
        let framed = stampede_http::grpc::frame(message);
        let mut target = url.clone();
        target.set_path(path);
        let mut hs: Vec<(String, String)> = vec![
            ("content-type".into(), "application/grpc".into()),
            ("te".into(), "trailers".into()),
        ];
        hs.extend(headers.iter().cloned());
        let req = self.build("POST", &target, &hs, framed, true)?;
        let timeout = self.timeout;
        let insecure = self.insecure;
        let cached = self.h2.take().filter(|(k, s)| *k == key && !s.is_closed());
        let res = self.rt.block_on(async move {
            let mut sender = match cached {
                Some((_, s)) => s,
                None => match connect(url, insecure, true, timeout).await? {
                    Io::Plain(t) => h2_over(t).await?,
                    Io::Tls(t) => h2_over(*t).await?,
                },
            };
            let call = async {
                sender.ready().await.map_err(|e| e.to_string())?;
                let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
                read_reply(resp).await
            };
            let reply = tokio::time::timeout(timeout, call)
                .await
                .map_err(|_| format!("gRPC call timed out after {timeout:?}"))??;
            Ok::<_, String>((reply, sender))
        });
        let (reply, sender) = res?;
        self.h2 = Some((key, sender));
        if reply.status != 200 {
            return Err(format!("HTTP status {} from the gRPC server", reply.status));
        }
        // A trailers-only response carries the status in its headers.
        let find = |k: &str| {
            reply
                .trailers
                .iter()
                .chain(&reply.headers)
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        match find("grpc-status").as_deref() {
            Some("0") => {}
            Some(code) => {
                let msg = find("grpc-message").unwrap_or_default();
                let msg = percent_encoding::percent_decode_str(&msg).decode_utf8_lossy();
                return Err(format!("gRPC status {code}: {msg}"));
            }
            None => return Err("the gRPC response has no grpc-status".into()),
        }
        let body = reply.body;
        if body.len() < 5 {
            return Ok(Vec::new());
        }
        let n = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        Ok(body[5..(5 + n).min(body.len())].to_vec())
    }

    fn build(
        &self,
        method: &str,
        url: &Url,
        headers: &[(String, String)],
        body: impl Into<Bytes>,
        h2: bool,
    ) -> Result<http::Request<Full<Bytes>>, String> {
        let mut b = http::Request::builder().method(method);
        if h2 {
            b = b.uri(url.as_str()).version(http::Version::HTTP_2);
        } else {
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            b = b.uri(path).header("host", host_header(url)?);
        }
        b = b.header("user-agent", &self.user_agent);
        if let Some(auth) = basic_auth(url) {
            b = b.header("authorization", auth);
        }
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(body.into()))
            .map_err(|e| format!("invalid request: {e}"))
    }
}

async fn h1_over<I>(io: I) -> Result<http1::SendRequest<Full<Bytes>>, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn h2_over<I>(io: I) -> Result<http2::SendRequest<Full<Bytes>>, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn read_reply(resp: http::Response<hyper::body::Incoming>) -> Result<Reply, String> {
    let status = resp.status().as_u16();
    let headers = pairs(resp.headers());
    let collected = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let trailers = collected.trailers().map(pairs).unwrap_or_default();
    Ok(Reply {
        status,
        body: collected.to_bytes().to_vec(),
        trailers,
        headers,
    })
}

fn pairs(h: &http::HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn origin(url: &Url) -> Result<String, String> {
    let host = url.host_str().ok_or_else(|| format!("{url}: no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{url}: no port"))?;
    Ok(format!("{}://{host}:{port}", url.scheme()))
}

fn host_header(url: &Url) -> Result<String, String> {
    let host = url.host_str().ok_or_else(|| format!("{url}: no host"))?;
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    })
}

/// `Authorization: Basic` from the URL's user info, if any.
fn basic_auth(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    use base64::Engine as _;
    let user = percent_encoding::percent_decode_str(url.username()).decode_utf8_lossy();
    let pass = url
        .password()
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    ))
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

async fn connect(url: &Url, insecure: bool, h2: bool, timeout: Duration) -> Result<Io, String> {
    let host = url
        .host_str()
        .ok_or_else(|| format!("{url}: no host"))?
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{url}: no port"))?;
    let addr = (host.trim_start_matches('[').trim_end_matches(']'), port);
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("dial tcp {host}:{port}: i/o timeout"))?
        .map_err(|e| format!("dial tcp {host}:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match url.scheme() {
        "http" => Ok(Io::Plain(tcp)),
        "https" => {
            let cfg = tls_config(insecure, h2);
            let name = ServerName::try_from(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            )
            .map_err(|e| format!("{host}: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(cfg)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
            Ok(Io::Tls(Box::new(tls)))
        }
        other => Err(format!("unsupported scheme {other:?} (use http or https)")),
    }
}

fn tls_config(insecure: bool, h2: bool) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions");
    let mut cfg = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(stampede_http::insecure_verifier(provider))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    cfg.alpn_protocols = if h2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Arc::new(cfg)
}
