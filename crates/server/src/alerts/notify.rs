//! Notification channels: what each kind sends, and the delivery loop
//! with retries, exponential backoff and a log row per attempt. A delivery
//! in progress is a row of `alert_pending_deliveries` (attempts made, next
//! due, leased past the next attempt's end) until it succeeds or gives up,
//! so that when its server dies another (or the same, restarted) resumes it.
//!
//! Webhooks are one HTTP/1.1 POST through hyper's connection API (plain
//! TCP, or rustls with ring and the webpki roots for `https://` — the
//! stack the rest of the project uses, no second one). A generic webhook
//! gets the alert as JSON, signed with HMAC-SHA256 of the body when the
//! channel has a secret (`X-Stampede-Signature: sha256=<hex>`); a Slack
//! channel gets Slack's incoming-webhook payload (`text` plus `blocks`).
//! Email goes through [`crate::alerts::smtp`]. Every attempt is bounded by
//! a timeout, so a channel that accepts and never answers costs one
//! timeout per attempt, never a stuck task.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use stampede_store::{Alert, AlertState, Channel, ChannelKind, Delivery, Store};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::alerts::secret::SecretBox;

/// How a delivery is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The wait before the second attempt; doubled before each next one.
    pub first_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// One attempt's time limit.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The lease of a delivery whose next attempt starts at `start`: that
    /// attempt's end and a margin. A server alive keeps it ahead.
    pub fn lease_until(&self, start: time::OffsetDateTime) -> time::OffsetDateTime {
        start + self.timeout + Duration::from_secs(2)
    }

    /// The default, with the first backoff from `STAMPEDE_ALERT_RETRY_BACKOFF`
    /// (a k6 duration) when set: operators with slow receivers wait longer.
    pub fn from_env() -> Result<Self, String> {
        let mut p = Self::default();
        if let Ok(text) = std::env::var("STAMPEDE_ALERT_RETRY_BACKOFF") {
            p.first_backoff = stampede_config::K6Duration::parse(&text)
                .ok()
                .and_then(|d| d.to_std())
                .ok_or_else(|| format!("STAMPEDE_ALERT_RETRY_BACKOFF: not a duration: {text:?}"))?;
        }
        Ok(p)
    }

    /// The wait after attempt `n` (1-based) failed.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The generic webhook body.
pub fn webhook_payload(alert: &Alert, event: &str) -> Value {
    json!({
        "event": event,
        "alert": alert,
    })
}

/// Slack's incoming-webhook body.
pub fn slack_payload(alert: &Alert, event: &str) -> Value {
    let icon = match (alert.state, alert.severity) {
        (AlertState::Resolved, _) => ":white_check_mark:",
        (_, stampede_store::Severity::Critical) => ":red_circle:",
        (_, stampede_store::Severity::Warning) => ":warning:",
        _ => ":information_source:",
    };
    let text = format!(
        "{icon} [{}] {} — {} ({})",
        alert.severity,
        event.to_uppercase(),
        alert.message,
        alert.subject
    );
    json!({
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}

/// A delivery's row in `alert_pending_deliveries` and the attempts it
/// has made.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    /// The row.
    pub id: i64,
    /// Attempts made before (0 for a new delivery).
    pub attempts: u32,
}

/// Delivers `event` of `alert` to `channel`, retrying per `policy`, and
/// logs each attempt; `pending`, when the delivery is persisted, is
/// updated after each failed attempt and removed at the end. Returns
/// whether it was delivered.
pub async fn deliver(
    store: &Store,
    secrets: &SecretBox,
    channel: &Channel,
    alert: &Alert,
    event: &str,
    policy: &RetryPolicy,
    pending: Option<Pending>,
) -> bool {
    let done = deliver_attempts(store, secrets, channel, alert, event, policy, pending).await;
    if let Some(p) = pending {
        if let Err(e) = store.finish_pending_delivery(p.id).await {
            tracing::error!(error = %e, "cannot close a pending alert delivery");
        }
    }
    done
}

async fn deliver_attempts(
    store: &Store,
    secrets: &SecretBox,
    channel: &Channel,
    alert: &Alert,
    event: &str,
    policy: &RetryPolicy,
    pending: Option<Pending>,
) -> bool {
    let secret = match channel
        .secret
        .as_deref()
        .map(|s| secrets.open(s))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            log(
                store,
                channel,
                alert,
                event,
                1,
                Err(format!("cannot decrypt the secret: {e}")),
            )
            .await;
            return false;
        }
    };
    let first = pending.map_or(1, |p| p.attempts + 1);
    for attempt in first..=policy.attempts.max(1) {
        let res = tokio::time::timeout(
            policy.timeout,
            send(channel, secret.as_deref(), alert, event),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {:?}", policy.timeout)));
        let ok = res.is_ok();
        log(store, channel, alert, event, attempt, res).await;
        if ok {
            return true;
        }
        if attempt < policy.attempts {
            let wait = policy.backoff(attempt);
            if let Some(p) = pending {
                let next = time::OffsetDateTime::now_utc() + wait;
                if let Err(e) = store
                    .postpone_pending_delivery(
                        p.id,
                        i64::from(attempt),
                        next,
                        policy.lease_until(next),
                    )
                    .await
                {
                    tracing::error!(error = %e, "cannot record a pending alert delivery");
                }
            }
            tokio::time::sleep(wait).await;
        }
    }
    false
}

async fn log(
    store: &Store,
    channel: &Channel,
    alert: &Alert,
    event: &str,
    attempt: u32,
    res: Result<String, String>,
) {
    let (ok, detail) = match res {
        Ok(d) => (true, d),
        Err(e) => (false, e),
    };
    if !ok {
        tracing::warn!(channel = %channel.name, alert = alert.id, attempt, error = %detail, "alert delivery failed");
    }
    let d = Delivery {
        alert_id: alert.id,
        channel_id: Some(channel.id),
        event: event.into(),
        attempt: i64::from(attempt),
        ok,
        detail,
        at: time::OffsetDateTime::now_utc(),
    };
    if let Err(e) = store.record_delivery(&d).await {
        tracing::error!(error = %e, "cannot log an alert delivery");
    }
}

/// One attempt.
async fn send(
    channel: &Channel,
    secret: Option<&str>,
    alert: &Alert,
    event: &str,
) -> Result<String, String> {
    let url = || {
        channel.config["url"]
            .as_str()
            .ok_or_else(|| "the channel has no `url`".to_string())
    };
    match channel.kind {
        ChannelKind::Webhook => {
            let body = webhook_payload(alert, event).to_string();
            let mut headers = vec![("x-stampede-event".to_string(), event.to_string())];
            if let Some(s) = secret {
                headers.push((
                    "x-stampede-signature".into(),
                    format!("sha256={}", sign(s, &body)),
                ));
            }
            post_json(url()?, body, &headers).await
        }
        ChannelKind::Slack => {
            // A Slack webhook's URL is its secret: stored encrypted when given so.
            let target = secret
                .map(str::to_string)
                .map_or_else(|| url().map(str::to_string), Ok)?;
            post_json(&target, slack_payload(alert, event).to_string(), &[]).await
        }
        ChannelKind::Email => {
            crate::alerts::smtp::send_alert(&channel.config, secret, alert, event).await
        }
        ChannelKind::Ui => Ok("published on the WebSocket".into()),
    }
}

/// One attempt of a test notification through `channel` (`POST
/// /api/v1/alert-channels/{id}/test`), bounded by the policy's timeout:
/// the receiver's answer, or the precise error. Neither retried nor
/// logged; the event is `test`.
pub async fn send_test(
    secrets: &SecretBox,
    channel: &Channel,
    policy: &RetryPolicy,
) -> Result<String, String> {
    let secret = channel
        .secret
        .as_deref()
        .map(|s| secrets.open(s))
        .transpose()
        .map_err(|e| format!("cannot decrypt the secret: {e}"))?;
    let alert = Alert {
        id: 0,
        rule_id: None,
        rule_name: "test notification".into(),
        severity: stampede_store::Severity::Info,
        subject: "test".into(),
        run_id: None,
        state: AlertState::Firing,
        value: None,
        message: format!(
            "Stampede test notification through channel '{}'",
            channel.name
        ),
        fired_at: time::OffsetDateTime::now_utc(),
        resolved_at: None,
        acknowledged_by: None,
        acknowledged_at: None,
    };
    tokio::time::timeout(
        policy.timeout,
        send(channel, secret.as_deref(), &alert, "test"),
    )
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {:?}", policy.timeout)))
}

/// HMAC-SHA256 of `body` with `key`, in hex.
pub fn sign(key: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSTs a JSON body; `Ok("<status>")` for a 2xx answer.
pub async fn post_json(
    url: &str,
    body: String,
    headers: &[(String, String)],
) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err("the URL must start with http:// or https://".into()),
    };
    let host = uri
        .host()
        .ok_or("the URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let mut req = hyper::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            hyper::header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("stampede/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("invalid request: {e}"))?;
    if https {
        let tls = tls_connector()
            .connect(
                rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?,
                tcp,
            )
            .await
            .map_err(|e| format!("TLS handshake with {host} failed: {e}"))?;
        exchange(tls, req).await
    } else {
        exchange(tcp, req).await
    }
}

async fn exchange<S>(io: S, req: hyper::Request<Full<Bytes>>) -> Result<String, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let conn = tokio::spawn(conn);
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = res.status();
    // Read (a bounded part of) the answer so the connection closes cleanly.
    let body = res
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    conn.abort();
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    if status.is_success() {
        Ok(status.to_string())
    } else {
        Err(format!("answered {status}: {text}"))
    }
}

/// A rustls (ring) client with the webpki roots, built once.
pub(crate) fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 6,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn bad_urls_and_refused_connections_are_errors() {
        assert!(post_json("ftp://x/", "{}".into(), &[])
            .await
            .unwrap_err()
            .contains("http://"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = post_json(&format!("http://127.0.0.1:{port}/"), "{}".into(), &[])
            .await
            .unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
