//! k6's REST API for a running test (`--address`, default `localhost:6565`):
//! `GET /v1/status` and `PATCH /v1/status` (pause, resume, scale, stop), in
//! k6's JSON:API shapes, and the `status`, `pause`, `resume` and `scale`
//! commands that call it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use serde_json::{json, Value};
use stampede_engine::{ControlError, RunControl, RunStatus, StopReason};
use stampede_js::log::{Level, Logger};

/// k6's default address of the REST API.
pub const DEFAULT_ADDRESS: &str = "localhost:6565";

/// Serves the API for `control` on `address` until the process ends. As in
/// k6, an address that cannot be bound is a warning, not a failure.
pub async fn serve(address: &str, control: RunControl, logger: Arc<Logger>) {
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => "bind: address already in use".to_string(),
                _ => e.to_string(),
            };
            logger.log(
                Level::Warning,
                "Error from API server",
                &[("error", &format!("listen tcp {address}: {why}"))],
            );
            return;
        }
    };
    let app = Router::new()
        .route("/v1/status", get(get_status).patch(patch_status))
        .with_state(control);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

fn status_document(s: RunStatus) -> Value {
    json!({"data": {"type": "status", "id": "default", "attributes": {
        "status": s.status,
        "paused": s.paused,
        "vus": s.vus,
        "vus-max": s.vus_max,
        "stopped": s.stopped,
        "running": s.running,
        "tainted": s.tainted,
    }}})
}

fn api_error(code: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({"errors": [{
        "status": code.as_u16().to_string(),
        "title": title,
        "detail": detail,
    }]});
    (code, Json(body)).into_response()
}

async fn get_status(State(control): State<RunControl>) -> Json<Value> {
    Json(status_document(control.status()))
}

/// Applies `stopped`, then `paused`, then `vus`/`vus-max`, as k6 does.
async fn patch_status(State(control): State<RunControl>, body: String) -> Response {
    let doc: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, "Invalid data", &e.to_string()),
    };
    let attrs = &doc["data"]["attributes"];
    let int = |name: &str| -> Result<Option<i64>, String> {
        match &attrs[name] {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be an integer")),
        }
    };
    let (vus, vus_max) = match (int("vus"), int("vus-max")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return api_error(StatusCode::BAD_REQUEST, "Invalid data", &e);
        }
    };
    if attrs["stopped"].as_bool() == Some(true) {
        control.stop(StopReason::Api);
    }
    if let Some(paused) = attrs["paused"].as_bool() {
        let result = if paused {
            control.pause()
        } else {
            control.resume();
            Ok(())
        };
        if let Err(e) = result {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Pause error",
                &e.to_string(),
            );
        }
    }
    if vus.is_some() || vus_max.is_some() {
        if vus.is_some_and(|v| v < 0) || vus_max.is_some_and(|v| v < 0) {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Config update error",
                "invalid configuration supplied: the number of VUs can't be negative",
            );
        }
        let current = control.status();
        let vus = vus.map_or(current.vus, |v| v as u64);
        if let Err(e) = control.scale(vus, vus_max.map(|m| m as u64)) {
            let (code, title) = match e {
                ControlError::NotScalable => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "Execution config error")
                }
                _ => (StatusCode::BAD_REQUEST, "Config update error"),
            };
            return api_error(code, title, &e.to_string());
        }
    }
    Json(status_document(control.status())).into_response()
}

/// Options of the commands that talk to a running test.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Address of the running test's REST API.
    #[arg(short, long, default_value = DEFAULT_ADDRESS)]
    pub address: String,
}

/// Options of `stampede scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The number of VUs to run.
    #[arg(short = 'u', long)]
    pub vus: Option<i64>,
    /// The most VUs the test may use.
    #[arg(short = 'm', long)]
    pub max: Option<i64>,
}

/// `stampede status`: prints the running test's status.
pub fn status(args: ApiArgs) -> i32 {
    call(&args.address, None)
}

/// `stampede pause` / `stampede resume`.
pub fn set_paused(args: ApiArgs, paused: bool) -> i32 {
    call(
        &args.address,
        Some(
            json!({"data": {"type": "status", "id": "default", "attributes": {"paused": paused}}}),
        ),
    )
}

/// `stampede scale --vus N [--max M]`.
pub fn scale(args: ScaleArgs) -> i32 {
    if args.vus.is_none() && args.max.is_none() {
        eprintln!("Specify either -u/--vus or -m/--max");
        return stampede_engine::ExitCode::Generic.code();
    }
    let mut attrs = serde_json::Map::new();
    if let Some(v) = args.vus {
        attrs.insert("vus".into(), v.into());
    }
    if let Some(m) = args.max {
        attrs.insert("vus-max".into(), m.into());
    }
    call(
        &args.api.address,
        Some(json!({"data": {"type": "status", "id": "default", "attributes": attrs}})),
    )
}

/// GETs (or PATCHes with `patch`) the status and prints it as k6 does.
fn call(address: &str, patch: Option<Value>) -> i32 {
    let url = format!("http://{address}/v1/status");
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(request(&url, patch)));
    match result {
        Ok(doc) => {
            print!("{}", status_text(&doc["data"]["attributes"]));
            stampede_engine::ExitCode::Ok.code()
        }
        Err(e) => {
            eprintln!("{e}");
            stampede_engine::ExitCode::Generic.code()
        }
    }
}

async fn request(url: &str, patch: Option<Value>) -> Result<Value, String> {
    use http::Method;
    use stampede_http::{Client, ClientConfig, Request};
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid address: {e}"))?;
    let mut req = match &patch {
        Some(body) => {
            let mut r = Request::new(Method::PATCH, parsed);
            r.body = body.to_string().into();
            r.headers
                .push(("Content-Type".into(), "application/json".into()));
            r
        }
        None => Request::new(Method::GET, parsed),
    };
    req.timeout = std::time::Duration::from_secs(10);
    let client = Client::new(ClientConfig::default()).map_err(|e| e.to_string())?;
    let ex = client.session().request(req, None).await;
    let res = ex.response;
    if let Some(e) = res.error {
        return Err(format!("cannot reach the test's REST API at {url}: {e}"));
    }
    let doc: Value = serde_json::from_slice(&res.body)
        .map_err(|e| format!("the REST API answered {}: {e}", res.status))?;
    if let Some(errors) = doc["errors"].as_array() {
        let text: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["title"].as_str().unwrap_or("error"),
                    e["detail"].as_str().unwrap_or("")
                )
            })
            .collect();
        return Err(text.join("\n"));
    }
    Ok(doc)
}

/// The status as k6's `status` command prints it (YAML, with k6's quoting
/// of `paused`, `vus` and `vus-max`).
fn status_text(a: &Value) -> String {
    let quoted = |v: &Value| format!("\"{}\"", v.to_string().trim_matches('"'));
    format!(
        "status: {}\npaused: {}\nvus: {}\nvus-max: {}\nstopped: {}\nrunning: {}\ntainted: {}\n",
        a["status"],
        quoted(&a["paused"]),
        quoted(&a["vus"]),
        quoted(&a["vus-max"]),
        a["stopped"],
        a["running"],
        a["tainted"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_status_as_k6() {
        let doc = status_document(RunStatus {
            status: 7,
            paused: false,
            vus: 2,
            vus_max: 5,
            stopped: false,
            running: true,
            tainted: false,
        });
        assert_eq!(
            status_text(&doc["data"]["attributes"]),
            "status: 7\npaused: \"false\"\nvus: \"2\"\nvus-max: \"5\"\nstopped: false\nrunning: true\ntainted: false\n"
        );
    }
}
