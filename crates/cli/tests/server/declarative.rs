//! Declarative scenarios on the server (issue 19): `"kind": "declarative"`
//! with the YAML and its feeder, a 422 with every problem's file, line and
//! column (nothing stored), a kind that disagrees with the entry refused,
//! a feeder outside the uploaded files refused, runs split over segments
//! with the exact request count, and `stampede submit x.yaml` (with text
//! files, and with binary ones, which travel in an archive).

use serde_json::{json, Value};

use crate::harness::*;

/// 30 iterations shared by 3 VUs, one feeder row each: 30 requests however
/// the run is split.
const YAML: &str = r#"name: declared
base_url: "{{env BASE}}"
load: { executor: shared-iterations, vus: 3, iterations: 30, max_duration: 60s }
feeders: { users: { csv: data/users.csv, order: sequential } }
requests:
  - name: get
    GET: /get?user={{users.name}}
    check: { status: 200, json.args.user: exists }
thresholds: { checks: ["rate==1"], "http_reqs{name:get}": ["count==30"] }
"#;

const USERS: &str = "name\nana\nbob\ncy\n";

fn body(name: &str, yaml: &str) -> Value {
    json!({
        "name": name,
        "kind": "declarative",
        "entry": "shop.yaml",
        "files": {"shop.yaml": yaml, "data/users.csv": USERS},
    })
}

fn scenario_count(addr: &str, token: &str) -> u64 {
    let (s, v) = call(addr, "GET", "/api/v1/scenarios", Some(token), None);
    assert_eq!(s, 200, "{v}");
    v["total"].as_u64().unwrap()
}

pub fn declarative_scenarios(db: Option<&str>) {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let post = |b: Value| call(&addr, "POST", "/api/v1/scenarios", Some(&token), Some(b));

    // Bad input: each a 422, nothing stored.
    let bad = YAML.replace("{{users.name}}", "{{users.nme}}");
    let (s, v) = post(body("bad", &bad));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_scenario")),
        "{v}"
    );
    let d = &v["error"]["details"][0];
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64(), d["col"].as_u64()),
        (Some("shop.yaml"), Some(7), Some(22)),
        "{v}"
    );
    assert!(d["message"].as_str().unwrap().contains("nme"), "{v}");
    let (s, v) = post(body("bad", &YAML.replace("requests:", "request:")));
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("shop.yaml:"),
        "{v}"
    );
    let mut wrong_kind = body("bad", YAML);
    wrong_kind["kind"] = "k6".into();
    let (s, v) = post(wrong_kind);
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"kind\": \"declarative\""),
        "{v}"
    );
    let mut no_ext = body("bad", YAML);
    no_ext["entry"] = "shop.js".into();
    no_ext["files"] = json!({"shop.js": YAML});
    let (s, v) = post(no_ext);
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(json!({"name": "bad", "kind": "yaml", "script": YAML}));
    assert_eq!(s, 422, "an unknown kind: {v}");
    for outside in ["/etc/passwd", "../users.csv"] {
        let (s, v) = post(body("bad", &YAML.replace("data/users.csv", outside)));
        assert_eq!(s, 422, "{outside}: {v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains("not among the files sent with it"), "{m}");
    }
    assert_eq!(scenario_count(&addr, &token), 0, "nothing half-saved");

    // The editor's form reads a scenario's structure through the server.
    let parse = |b: Value| {
        call(
            &addr,
            "POST",
            "/api/v1/scenarios/parse",
            Some(&token),
            Some(b),
        )
    };
    let (s, v) = parse(json!({"text": YAML}));
    assert_eq!(s, 200, "{v}");
    let sc = &v["scenario"];
    assert_eq!(
        sc["load"],
        json!({"executor": "shared-iterations", "vus": 3, "iterations": 30, "max_duration": "60s"})
    );
    assert_eq!(sc["requests"][0]["GET"], "/get?user={{users.name}}", "{v}");
    assert_eq!(sc["requests"][0]["check"]["status"], 200, "{v}");
    assert!(sc["requests"][0].get("POST").is_none(), "no nulls: {v}");
    assert_eq!(sc["feeders"]["users"]["csv"], "data/users.csv");
    let (s, v) = parse(json!({"text": "load: {}\nrequests: []\nbogus: 1\n"}));
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"][0]["line"], 3, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("scenario.yaml:3:1: unknown field `bogus`"),
        "{v}"
    );
    let (s, v) = parse(json!({"text": YAML, "entry": "x.js"}));
    assert_eq!(s, 422, "{v}");

    // A good one: stored with its kind, run natively, split exactly.
    let (s, v) = post(body("declared", YAML));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["content"]["kind"], "declarative", "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, got) = call(
        &addr,
        "GET",
        &format!("/api/v1/scenarios/{id}"),
        Some(&token),
        None,
    );
    assert_eq!(got["content"]["kind"], "declarative", "{got}");
    assert_eq!(got["files"]["data/users.csv"], USERS);
    for workers in [1, 2] {
        let run = start_run(
            &addr,
            &token,
            id,
            json!({"workers": workers, "env": {"BASE": target.url()}}),
        );
        let r = wait_final(&addr, &token, run);
        assert_eq!(
            (r["status"].as_str(), r["exit_code"].as_i64()),
            (Some("passed"), Some(0)),
            "workers {workers}: {r}"
        );
        let m = &r["summary"]["metrics"];
        assert_eq!(m["http_reqs"]["count"], 30, "workers {workers}: {m}");
        assert_eq!(m["iterations"]["count"], 30, "workers {workers}");
        assert_eq!(m["checks"]["fails"], 0, "workers {workers}: {m}");
    }

    // A PUT that changes only the metadata keeps the kind; one that gives a
    // kind without content is refused.
    let (s, v) = call(
        &addr,
        "PUT",
        &format!("/api/v1/scenarios/{id}"),
        Some(&token),
        Some(json!({"description": "as data"})),
    );
    assert_eq!(
        (s, v["content"]["kind"].as_str()),
        (200, Some("declarative")),
        "{v}"
    );
    let (s, v) = call(
        &addr,
        "PUT",
        &format!("/api/v1/scenarios/{id}"),
        Some(&token),
        Some(json!({"kind": "k6"})),
    );
    assert_eq!(s, 422, "{v}");

    // `stampede submit x.yaml` uploads the YAML with its feeder.
    let cfg = tempfile::tempdir().unwrap();
    let cfg_dir = cfg.path().to_str().unwrap();
    let out = stampede(
        &["login", &server.url()],
        &[("STAMPEDE_CONFIG_DIR", cfg_dir)],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/users.csv"), USERS).unwrap();
    let yaml = dir.path().join("submitted.yaml");
    std::fs::write(&yaml, YAML).unwrap();
    let base = format!("BASE={}", target.url());
    let out = stampede(
        &["submit", "-q", "-e", &base, yaml.to_str().unwrap()],
        &[("STAMPEDE_CONFIG_DIR", cfg_dir)],
        "",
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("http_reqs"), "{stdout}");
    let (_, list) = call(
        &addr,
        "GET",
        "/api/v1/scenarios?name=submitted",
        Some(&token),
        None,
    );
    assert_eq!(list["total"], 1, "{list}");

    // Binary files (a raw body, a multipart upload) travel byte for byte:
    // `submit` sends the scenario as an archive then, and the run checks
    // what the server received.
    let bin = [0xffu8, 0x00, 0x01, 0xfe];
    std::fs::write(dir.path().join("data/blob.bin"), bin).unwrap();
    std::fs::write(dir.path().join("data/photo.png"), bin).unwrap();
    let yaml = dir.path().join("binary.yaml");
    std::fs::write(&yaml, BINARY).unwrap();
    let out = stampede(
        &["submit", "-q", "-e", &base, yaml.to_str().unwrap()],
        &[("STAMPEDE_CONFIG_DIR", cfg_dir)],
        "",
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("checks"), "{stdout}");
    let (_, list) = call(
        &addr,
        "GET",
        "/api/v1/scenarios?name=binary",
        Some(&token),
        None,
    );
    assert_eq!(list["total"], 1, "{list}");
}

/// Sends binary files, with a text feeder beside them; its thresholds fail
/// the run unless every byte arrived.
const BINARY: &str = r#"name: binary
base_url: "{{env BASE}}"
load: { executor: shared-iterations, vus: 2, iterations: 6, max_duration: 60s }
feeders: { users: { csv: data/users.csv } }
requests:
  - name: raw
    POST: /post?user={{users.name}}
    headers: { Content-Type: application/octet-stream }
    body_file: data/blob.bin
    check: { status: 200, json.data: "data:application/octet-stream;base64,/wAB/g==" }
  - name: upload
    POST: /post
    multipart: { photo: { file: data/photo.png, content_type: image/png }, note: hi }
    check: { status: 200, json.files.photo: "data:image/png;base64,/wAB/g==", json.form.note: hi }
thresholds: { checks: ["rate==1"], "http_reqs{name:raw}": ["count==6"], "http_reqs{name:upload}": ["count==6"] }
"#;
