//! Email alerts: a small SMTP client (RFC 5321) with STARTTLS (RFC 3207,
//! rustls with ring: the project's one TLS stack) and AUTH PLAIN
//! (RFC 4616). `lettre` would bring its own transport stack and features
//! to audit for a second TLS library; sending one short text message needs
//! only the commands below.
//!
//! Channel config: `{"host", "port"?: 587, "from", "to": [..], "starttls"?:
//! true, "username"?, "ca"?}`; the password is the channel's secret.
//! Credentials are never sent over a connection that is not encrypted,
//! except to a loopback relay. `ca` (PEM certificates) adds trust roots
//! for this channel only: a company relay with a private CA is verified
//! like any other, never accepted blindly.

use base64::Engine;
use serde_json::Value;
use stampede_store::Alert;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The SMTP settings of a channel.
#[derive(Debug, PartialEq)]
pub struct SmtpConfig {
    host: String,
    port: u16,
    from: String,
    to: Vec<String>,
    starttls: bool,
    username: Option<String>,
    /// Trust roots added to the webpki ones for this channel.
    ca: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// The certificates of a channel's `ca`; every PEM block must be one.
fn ca_certs(v: &Value) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let pem = match v {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.len() <= 64 * 1024 => s,
        _ => return Err("`ca` must be PEM certificates (a string of at most 64 KiB)".into()),
    };
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`ca` is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("`ca` holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in &certs {
        roots
            .add(c.clone())
            .map_err(|e| format!("`ca` holds a certificate that cannot be a trust root: {e}"))?;
    }
    Ok(certs)
}

/// The TLS client of a channel: the webpki roots, and its own `ca`.
fn connector(ca: &[rustls::pki_types::CertificateDer<'static>]) -> tokio_rustls::TlsConnector {
    if ca.is_empty() {
        return crate::alerts::notify::tls_connector();
    }
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Checked when the channel was saved (`ca_certs`).
    roots.add_parsable_certificates(ca.iter().cloned());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

fn address(v: &str, what: &str) -> Result<String, String> {
    let ok = v.len() <= 254
        && v.contains('@')
        && !v
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("invalid {what} address '{v}'"))
    }
}

impl SmtpConfig {
    /// Parses and checks a channel's config.
    pub fn parse(config: &Value) -> Result<Self, String> {
        let host = config["host"]
            .as_str()
            .filter(|h| !h.is_empty())
            .ok_or("an email channel needs `host`")?;
        let port = match &config["port"] {
            Value::Null => 587,
            v => v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or("`port` must be 1 to 65535")?,
        };
        let from = address(
            config["from"]
                .as_str()
                .ok_or("an email channel needs `from`")?,
            "from",
        )?;
        let to = config["to"]
            .as_array()
            .filter(|a| !a.is_empty() && a.len() <= 50)
            .ok_or("an email channel needs `to`: a list of 1 to 50 addresses")?
            .iter()
            .map(|v| address(v.as_str().unwrap_or(""), "to"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: host.to_string(),
            port,
            from,
            to,
            starttls: config["starttls"].as_bool().unwrap_or(true),
            username: config["username"].as_str().map(str::to_string),
            ca: ca_certs(&config["ca"])?,
        })
    }
}

/// Reads one (possibly multi-line) reply; `Err` unless its code is `want`.
async fn reply<S: AsyncRead + Unpin>(r: &mut BufReader<S>, want: &[u16]) -> Result<String, String> {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .await
            .map_err(|e| format!("SMTP read failed: {e}"))?;
        if n == 0 || line.len() < 4 || all.len() > 64 * 1024 {
            return Err(format!(
                "the SMTP server closed or answered badly: {all}{line}"
            ));
        }
        all.push_str(&line);
        if line.as_bytes()[3] != b'-' {
            let code: u16 = line[..3]
                .parse()
                .map_err(|_| format!("bad SMTP reply: {line}"))?;
            return if want.contains(&code) {
                Ok(all)
            } else {
                Err(format!("SMTP server answered: {}", all.trim_end()))
            };
        }
    }
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    r: &mut BufReader<S>,
    line: &str,
    want: &[u16],
) -> Result<String, String> {
    r.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| format!("SMTP write failed: {e}"))?;
    reply(r, want).await
}

/// The message text: headers, a blank line, the body, dot-stuffed.
pub fn message(cfg: &SmtpConfig, alert: &Alert, event: &str) -> String {
    let subject: String = format!(
        "[stampede] {} {}: {}",
        alert.severity, event, alert.rule_name
    )
    .chars()
    .filter(|c| !c.is_control())
    .collect();
    let body = format!(
        "{}\r\n\r\nAlert {} ({}) on {}\r\nfired at {}\r\n",
        alert.message, alert.id, alert.state, alert.subject, alert.fired_at
    );
    let mut text = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
        cfg.from,
        cfg.to.join(", "),
        subject
    );
    for line in body.replace("\r\n", "\n").split('\n') {
        if line.starts_with('.') {
            text.push('.');
        }
        text.push_str(line);
        text.push_str("\r\n");
    }
    text
}

/// Sends one alert email.
pub async fn send_alert(
    config: &Value,
    password: Option<&str>,
    alert: &Alert,
    event: &str,
) -> Result<String, String> {
    let cfg = SmtpConfig::parse(config)?;
    let tcp = TcpStream::connect((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", cfg.host, cfg.port))?;
    let loopback = tcp.peer_addr().is_ok_and(|a| a.ip().is_loopback());
    let mut r: BufReader<Box<dyn Io>> = BufReader::new(Box::new(tcp));
    reply(&mut r, &[220]).await?;
    let mut ehlo = command(&mut r, "EHLO stampede", &[250]).await?;
    let mut tls = false;
    if cfg.starttls {
        if !ehlo.to_ascii_uppercase().contains("STARTTLS") {
            return Err("the SMTP server does not offer STARTTLS (set \"starttls\": false to send in clear)".into());
        }
        command(&mut r, "STARTTLS", &[220]).await?;
        let plain = r.into_inner();
        let name =
            rustls::pki_types::ServerName::try_from(cfg.host.clone()).map_err(|e| e.to_string())?;
        let stream = connector(&cfg.ca)
            .connect(name, plain)
            .await
            .map_err(|e| format!("STARTTLS failed: {e}"))?;
        r = BufReader::new(Box::new(stream));
        tls = true;
        ehlo = command(&mut r, "EHLO stampede", &[250]).await?;
    }
    if let Some(user) = &cfg.username {
        if !tls && !loopback {
            return Err("refusing to send SMTP credentials without TLS".into());
        }
        if !ehlo.to_ascii_uppercase().contains("AUTH") {
            return Err("the SMTP server does not offer AUTH".into());
        }
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{user}\0{}", password.unwrap_or_default()));
        command(&mut r, &format!("AUTH PLAIN {token}"), &[235]).await?;
    }
    command(&mut r, &format!("MAIL FROM:<{}>", cfg.from), &[250]).await?;
    for to in &cfg.to {
        command(&mut r, &format!("RCPT TO:<{to}>"), &[250, 251]).await?;
    }
    command(&mut r, "DATA", &[354]).await?;
    let done = command(&mut r, &format!("{}.", message(&cfg, alert, event)), &[250]).await?;
    let _ = command(&mut r, "QUIT", &[221]).await;
    Ok(done.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configs_are_checked() {
        let ok =
            SmtpConfig::parse(&json!({"host": "127.0.0.1", "from": "a@x", "to": ["b@y"]})).unwrap();
        assert_eq!((ok.port, ok.starttls), (587, true));
        for (bad, needle) in [
            (json!({"from": "a@x", "to": ["b@y"]}), "host"),
            (json!({"host": "h", "from": "a@x", "to": []}), "`to`"),
            (
                json!({"host": "h", "from": "a@x>\r\nRCPT", "to": ["b@y"]}),
                "invalid from",
            ),
            (
                json!({"host": "h", "from": "a@x", "to": ["b@y"], "port": 0}),
                "port",
            ),
            (
                json!({"host": "h", "from": "a@x", "to": ["b@y"], "ca": "not a certificate"}),
                "no PEM certificate",
            ),
            (
                json!({"host": "h", "from": "a@x", "to": ["b@y"],
                       "ca": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
                "cannot be a trust root",
            ),
            (
                json!({"host": "h", "from": "a@x", "to": ["b@y"], "ca": 5}),
                "`ca` must be PEM",
            ),
        ] {
            let err = SmtpConfig::parse(&bad).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    /// A minimal SMTP sink on loopback: accepts one message, returns the
    /// transcript of what the client sent.
    async fn sink(offer_starttls: bool) -> (u16, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (conn, _) = l.accept().await.unwrap();
            let mut r = BufReader::new(conn);
            let mut seen = String::new();
            r.get_mut().write_all(b"220 sink ESMTP\r\n").await.unwrap();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return seen;
                }
                seen.push_str(&line);
                let answer: &[u8] = if in_data {
                    if line != ".\r\n" {
                        continue;
                    }
                    in_data = false;
                    b"250 queued\r\n"
                } else if line.starts_with("EHLO") {
                    if offer_starttls {
                        b"250-sink\r\n250 STARTTLS\r\n"
                    } else {
                        b"250-sink\r\n250 AUTH PLAIN\r\n"
                    }
                } else if line.starts_with("AUTH") {
                    b"235 ok\r\n"
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go\r\n"
                } else if line.starts_with("QUIT") {
                    r.get_mut().write_all(b"221 bye\r\n").await.unwrap();
                    return seen;
                } else {
                    b"250 ok\r\n"
                };
                r.get_mut().write_all(answer).await.unwrap();
            }
        });
        (port, task)
    }

    fn alert() -> Alert {
        Alert {
            id: 9,
            rule_id: Some(1),
            rule_name: "errors".into(),
            severity: stampede_store::Severity::Critical,
            subject: "run:3".into(),
            run_id: None,
            state: stampede_store::AlertState::Firing,
            value: Some(0.5),
            message: "error rate 50%\n.leading dot".into(),
            fired_at: time::OffsetDateTime::UNIX_EPOCH,
            resolved_at: None,
            acknowledged_by: None,
            acknowledged_at: None,
        }
    }

    #[tokio::test]
    async fn an_alert_is_mailed_through_an_smtp_sink() {
        let (port, task) = sink(false).await;
        let cfg = json!({"host": "127.0.0.1", "port": port, "from": "s@x", "to": ["a@y", "b@y"],
                         "starttls": false, "username": "bot"});
        let done = send_alert(&cfg, Some("pw"), &alert(), "fired")
            .await
            .unwrap();
        assert!(done.starts_with("250"), "{done}");
        let seen = task.await.unwrap();
        assert!(
            seen.contains("MAIL FROM:<s@x>\r\nRCPT TO:<a@y>\r\nRCPT TO:<b@y>\r\nDATA"),
            "{seen}"
        );
        assert!(
            seen.contains("Subject: [stampede] critical fired: errors"),
            "{seen}"
        );
        assert!(
            seen.contains("\r\n..leading dot\r\n"),
            "dot-stuffed: {seen}"
        );
        // AUTH PLAIN of "\0bot\0pw", allowed in clear to a loopback relay only.
        assert!(seen.contains("AUTH PLAIN AGJvdABwdw=="), "{seen}");
    }

    #[tokio::test]
    async fn starttls_is_required_unless_turned_off() {
        let (port, task) = sink(false).await;
        let cfg = json!({"host": "127.0.0.1", "port": port, "from": "s@x", "to": ["a@y"]});
        let err = send_alert(&cfg, None, &alert(), "fired").await.unwrap_err();
        assert!(err.contains("does not offer STARTTLS"), "{err}");
        task.abort();
    }
}
