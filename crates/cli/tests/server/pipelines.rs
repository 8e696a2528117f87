//! Pipelines through the API (issue 18): a short pipeline of inline and
//! stored scripts against the demo target passes every gate and is followed
//! over the WebSocket; one whose smoke gate fails stops with its dependants
//! skipped and the seed's verdict; invalid files are 422s with their lines
//! before anything runs; viewers cannot start one; the reports download
//! and the JUnit XML is well-formed.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

const SMOKE: &str = r#"import http from 'k6/http';
import { check } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };
export default function () {
  const res = http.get(`${__ENV.BASE}${__ENV.PATH || '/get'}`);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
"#;

const PIPELINE: &str = "name: api-short
stages:
  smoke:
    script: smoke.js
    options: { vus: 1, iterations: 3 }
  load:
    script: load.js
    needs: [smoke]
    options: { vus: 2, duration: 2s }
  stress:
    script: smoke.js
    needs: [smoke]
    options: { vus: 2, duration: 2s }
    gate:
      breaking_point: { min_vus: 1 }
";

fn start(addr: &str, token: &str, body: Value) -> (u16, Value) {
    call(addr, "POST", "/api/v1/pipelines", Some(token), Some(body))
}

fn wait_pipeline(addr: &str, token: &str, id: i64) -> Value {
    poll(180, "the pipeline to end", || {
        let (_, v) = call(
            addr,
            "GET",
            &format!("/api/v1/pipelines/{id}"),
            Some(token),
            None,
        );
        (v["status"] != "running").then_some(v)
    })
}

/// `GET /api/v1/pipelines/{id}/{file}`: (status, head, body).
fn download(addr: &str, token: &str, id: i64, file: &str) -> (u16, String, Vec<u8>) {
    http_raw(
        addr,
        "GET",
        &format!("/api/v1/pipelines/{id}/{file}"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

fn stage<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {p}"))
}

/// Checks that `xml` is well-formed (every tag closed in order, one root)
/// and returns the names of its elements in document order.
fn xml_elements(xml: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("a closed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name.trim()), "{xml}");
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap()
            .to_string();
        assert!(
            !open.is_empty() || names.is_empty(),
            "more than one root: {xml}"
        );
        names.push(name.clone());
        if !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed {open:?}: {xml}");
    names
}

fn ws_all(addr: &str, token: &str) -> tungstenite::WebSocket<TcpStream> {
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/ws"
    ))
    .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    tungstenite::client::client(req, stream)
        .expect("WebSocket handshake")
        .0
}

#[test]
fn pipelines_run_gate_stop_and_report_through_the_api() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let load = create_scenario(&addr, &token, "load", SMOKE);
    let env = json!({"BASE": target.url()});

    // Invalid files: every problem with its line, and nothing started.
    let bad = "stages:\n  smoke:\n    script: smoke.js\n  load:\n    script: smoke.js\n    needs: [smok]\n    timeout: soon\n";
    let (s, v) = start(
        &addr,
        &token,
        json!({"pipeline": bad, "files": {"smoke.js": SMOKE}}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "invalid_pipeline");
    let details = v["error"]["details"].as_array().unwrap();
    assert!(
        details
            .iter()
            .any(|d| d["line"] == 6 && d["message"].as_str().unwrap().contains("smok")),
        "{v}"
    );
    assert!(details.iter().any(|d| d["line"] == 7), "{v}");
    let (s, v) = start(&addr, &token, json!({"pipeline": "stages:\n  a: [\n"}));
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["details"][0]["line"].as_u64().is_some(), "{v}");
    // A script the pipeline names but nobody gives; a script that does not load.
    let (s, v) = start(&addr, &token, json!({"pipeline": PIPELINE}));
    assert_eq!(s, 422, "{v}");
    let (s, v) = start(
        &addr,
        &token,
        json!({"pipeline": PIPELINE, "scenarios": {"load.js": load},
               "files": {"smoke.js": "export default function ( {"}}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"][0]["line"], 4, "{v}");
    // Process faults would act on the server's host.
    let chaos = "stages:\n  chaos:\n    script: smoke.js\n    chaos:\n      processes:\n        db: { pause: { pid: 1 } }\n";
    let (s, v) = start(
        &addr,
        &token,
        json!({"pipeline": chaos, "files": {"smoke.js": SMOKE}}),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"][0]["line"], 4, "{v}");
    // A proxy is load from the server: only to the allowed targets
    // (loopback by default; 192.0.2.1 is never dialled, only checked).
    let proxy = "stages:\n  outage:\n    script: smoke.js\n    chaos:\n      proxies:\n        t: { upstream: '${UP}' }\n";
    let (s, v) = start(
        &addr,
        &token,
        json!({"pipeline": proxy, "files": {"smoke.js": SMOKE}, "env": {"UP": "192.0.2.1:80"}}),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed targets"),
        "{v}"
    );
    let (_, list) = call(&addr, "GET", "/api/v1/pipelines", Some(&token), None);
    assert_eq!(list["total"], 0, "{list}");

    // Viewers read, never start.
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&token),
        Some(json!({"username": "vic", "password": "viewer-password-1", "role": "viewer"})),
    );
    assert_eq!(s, 201);
    let viewer = login(&addr, "vic", "viewer-password-1");
    let ok_body = json!({"pipeline": PIPELINE, "scenarios": {"load.js": load},
                         "files": {"smoke.js": SMOKE}, "env": env});
    let (s, v) = start(&addr, &viewer, ok_body.clone());
    assert_eq!(s, 403, "{v}");

    // The short pipeline passes, followed over the WebSocket.
    let mut ws = ws_all(&addr, &token);
    let (s, p) = start(&addr, &token, ok_body);
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["status"], "running");
    let mut states = Vec::new();
    loop {
        let tungstenite::Message::Text(t) = ws.read().expect("messages until the pipeline ends")
        else {
            continue;
        };
        let m: Value = serde_json::from_str(&t).unwrap();
        if m["type"] == "pipeline" && m["pipeline_id"] == id {
            for s in m["stages"].as_array().unwrap() {
                let pair = (s["name"].to_string(), s["state"].to_string());
                if !states.contains(&pair) {
                    states.push(pair);
                }
            }
            if m["status"] != "running" {
                break;
            }
        }
    }
    assert!(
        states.contains(&("\"stress\"".into(), "\"running\"".into())),
        "{states:?}"
    );
    let p = wait_pipeline(&addr, &viewer, id);
    assert_eq!(p["status"], "passed", "{p}");
    assert_eq!(p["passed"], true, "{p}");
    for name in ["smoke", "load", "stress"] {
        let st = stage(&p, name);
        assert_eq!(st["state"], "passed", "{st}");
        let run = st["run_id"].as_i64().unwrap();
        let r = get_run(&addr, &viewer, run);
        assert_eq!(
            r["started_by"],
            json!({"kind": "pipeline", "ref": id.to_string()})
        );
        assert_eq!(r["status"], "passed", "{r}");
    }
    assert!(
        stage(&p, "stress")["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "breaking_point" && c["ok"] == true),
        "{p}"
    );
    assert!(
        p["decisions"][0].as_str().unwrap().contains("Deploy"),
        "{p}"
    );

    // Reports: JUnit XML, JSON and HTML.
    let (s, head, xml) = download(&addr, &viewer, id, "report.xml");
    assert_eq!(s, 200);
    assert!(head.contains("attachment"), "{head}");
    let elements = xml_elements(&text(&xml));
    assert_eq!(elements[0], "testsuites", "{elements:?}");
    assert_eq!(
        elements.iter().filter(|e| *e == "testsuite").count(),
        3,
        "{elements:?}"
    );
    assert!(!elements.iter().any(|e| e == "failure"), "{}", text(&xml));
    let (s, _, json_report) = download(&addr, &viewer, id, "report.json");
    assert_eq!(s, 200);
    let report: Value = serde_json::from_slice(&json_report).unwrap();
    assert_eq!(report["passed"], true);
    let (s, _, html) = download(&addr, &viewer, id, "report.html");
    assert_eq!(s, 200);
    assert!(text(&html).contains("/api/v1/export/"), "{}", text(&html));
    let (s, _) = call(
        &addr,
        "GET",
        &format!("/api/v1/pipelines/{id}/report.pdf"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 404);

    // A failing smoke gate: its dependants are skipped, the verdict says fix.
    let (s, p) = start(
        &addr,
        &token,
        json!({"pipeline": PIPELINE, "scenarios": {"load.js": load},
               "files": {"smoke.js": SMOKE},
               "env": {"BASE": target.url(), "PATH": "/status/500"}}),
    );
    assert_eq!(s, 201, "{p}");
    let id2 = p["id"].as_i64().unwrap();
    let p = wait_pipeline(&addr, &token, id2);
    assert_eq!(p["status"], "failed", "{p}");
    assert_eq!(stage(&p, "smoke")["state"], "failed", "{p}");
    for name in ["load", "stress"] {
        let st = stage(&p, name);
        assert_eq!(st["state"], "skipped", "{st}");
        assert!(st["run_id"].is_null(), "{st}");
    }
    let decision = p["decisions"][0].as_str().unwrap();
    assert!(decision.starts_with("smoke"), "{decision}");
    let (_, _, xml) = download(&addr, &token, id2, "report.xml");
    let elements = xml_elements(&text(&xml));
    assert!(elements.iter().any(|e| e == "failure"), "{}", text(&xml));
    assert!(elements.iter().any(|e| e == "skipped"), "{}", text(&xml));

    // Stopping an ended pipeline is a conflict; the list pages.
    let (s, _) = call(
        &addr,
        "POST",
        &format!("/api/v1/pipelines/{id2}/stop"),
        Some(&token),
        None,
    );
    assert_eq!(s, 409);
    let (_, list) = call(
        &addr,
        "GET",
        "/api/v1/pipelines?limit=1",
        Some(&viewer),
        None,
    );
    assert_eq!(
        (list["total"].as_u64(), list["items"][0]["id"].as_i64()),
        (Some(2), Some(id2))
    );
}

#[test]
fn a_stopped_pipeline_aborts_and_a_restart_errors_a_running_one() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let long = "stages:\n  soak:\n    script: smoke.js\n    options: { vus: 1, duration: 5m }\n  after:\n    script: smoke.js\n    needs: [soak]\n";
    let body = json!({"pipeline": long, "name": "long", "files": {"smoke.js": SMOKE},
                      "env": {"BASE": target.url()}});
    let running_run = |id: i64| {
        poll(60, "the stage's run to run", || {
            let (_, p) = call(
                &addr,
                "GET",
                &format!("/api/v1/pipelines/{id}"),
                Some(&token),
                None,
            );
            let run = stage(&p, "soak")["run_id"].as_i64()?;
            (get_run(&addr, &token, run)["status"] == "running").then_some(run)
        })
    };

    // Stopped through the API: the running stage stops, the rest is skipped.
    let (s, p) = start(&addr, &token, body.clone());
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    let run = running_run(id);
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/pipelines/{id}/stop"),
        Some(&token),
        None,
    );
    assert_eq!(s, 202, "{v}");
    let p = wait_pipeline(&addr, &token, id);
    assert_eq!(p["status"], "aborted", "{p}");
    assert_eq!(stage(&p, "after")["state"], "skipped", "{p}");
    let r = wait_final(&addr, &token, run);
    assert_ne!(r["status"], "running", "{r}");
    let (_, audit) = call(&addr, "GET", "/api/v1/audit", Some(&token), None);
    assert!(audit.to_string().contains("pipeline.stop"), "{audit}");

    // A server killed mid-pipeline: after the restart it is errored.
    let (s, p) = start(&addr, &token, body);
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    running_run(id);
    server.kill9();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let (_, p) = call(
        &addr,
        "GET",
        &format!("/api/v1/pipelines/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(p["status"], "errored", "{p}");
    assert!(p["error"].as_str().unwrap().contains("interrupted"), "{p}");
    let (_, list) = call(&addr, "GET", "/api/v1/pipelines", Some(&token), None);
    assert_eq!(list["total"], 2, "{list}");
}
