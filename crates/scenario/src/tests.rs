//! Parsing and validation: good files compile, and every kind of bad input
//! is reported at its line and column.

use std::path::Path;

use super::*;

fn parse(src: &str) -> Result<Scenario, Vec<Diagnostic>> {
    Scenario::parse(src, Path::new("t.yaml"))
}

fn errors(src: &str) -> Vec<String> {
    match parse(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(e) => e.iter().map(|d| d.to_string()).collect(),
    }
}

const GOOD: &str = "\
name: shop
base_url: http://127.0.0.1:3000
load: { executor: shared-iterations, vus: 2, iterations: 10 }
variables: { tier: pro, products: [1, 2, 3] }
requests:
  - name: login
    once: per-connection
    POST: /api/auth/login
    json: { email: a@b, password: x }
    extract: { token: json.access_token }
  - name: list
    weight: 70
    GET: /api/products?page={{random 1 50}}
    headers: { Authorization: 'Bearer {{token}}' }
    check: { status: 200, json.items: exists }
  - name: order
    weight: 30
    POST: /api/orders
    json: { product_id: '{{random_item products}}', quantity: 1 }
    retry: { on: [503, 429], max: 3, backoff: exponential, base: 100ms }
thresholds: { http_req_duration: ['p(95)<500'] }
";

#[test]
fn a_good_file_compiles_into_k6_options() {
    let s = parse(GOOD).unwrap_or_else(|e| panic!("{e:?}"));
    let c = s.compiled();
    assert_eq!(c.once_order, [0]);
    assert_eq!(c.main, [1, 2]);
    assert_eq!(c.weights.as_deref(), Some(&[70, 100][..]));
    let o = s.options();
    assert_eq!(o["scenarios"]["default"]["executor"], "shared-iterations");
    assert_eq!(o["scenarios"]["default"]["iterations"], 10);
    assert_eq!(o["thresholds"]["http_req_duration"][0], "p(95)<500");
    let names: Vec<&str> = c.requests[1]
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["list: json.items exists", "list: status is 200"]);
}

#[test]
fn unknown_keys_and_wrong_types_are_placed() {
    let e = errors(&GOOD.replace("    GET: /api/products", "    GTE: /api/products"));
    assert!(e[0].starts_with("t.yaml:13:"), "{e:?}");
    assert!(e[0].contains("unknown field `GTE`"), "{e:?}");
    let e = errors(&GOOD.replace("weight: 70", "weight: lots"));
    assert!(e[0].starts_with("t.yaml:12:"), "{e:?}");
    assert!(e[0].contains("invalid"), "{e:?}");
}

#[test]
fn undefined_variables_are_placed_at_their_use() {
    let e = errors(&GOOD.replace("Bearer {{token}}", "Bearer {{tokn}}"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.yaml:14:41: undefined variable \"tokn\""),
        "{e:?}"
    );
}

#[test]
fn once_cycles_are_errors() {
    let src = "\
base_url: http://127.0.0.1:1
load: { vus: 1, duration: 1s }
requests:
  - name: a
    once: per-vu
    GET: /a?x={{y}}
    extract: { x: json.x }
  - name: b
    once: per-vu
    GET: /b?y={{x}}
    extract: { y: json.y }
  - name: c
    GET: /c
";
    let e = errors(src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.yaml:4:11:"), "{e:?}");
    assert!(e[0].contains("cycle: a -> b -> a"), "{e:?}");
}

#[test]
fn once_requests_run_in_the_order_their_values_need() {
    let src = "\
base_url: http://127.0.0.1:1
load: { vus: 1, duration: 1s }
requests:
  - name: profile
    once: per-vu
    GET: /me?t={{token}}
  - name: login
    once: per-vu
    POST: /login
    extract: { token: header.X-Token }
  - name: c
    GET: /c
";
    let s = parse(src).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(s.compiled().once_order, [1, 0]);
}

#[test]
fn feeders_missing_or_malformed_are_placed() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("s.yaml");
    let src = "\
base_url: http://127.0.0.1:1
load: { vus: 1, duration: 1s }
feeders:
  users: { csv: users.csv }
requests:
  - name: a
    GET: /u/{{users.email}}
";
    std::fs::write(&yaml, src).unwrap();
    let e: Vec<String> = Scenario::load(&yaml)
        .err()
        .unwrap()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(
        e[0].contains("s.yaml:4:17: feeder \"users\": cannot read"),
        "{e:?}"
    );
    std::fs::write(dir.path().join("users.csv"), "email,pw\na@b\n").unwrap();
    let e = Scenario::load(&yaml).err().unwrap();
    assert!(
        e[0].to_string()
            .contains("line 2: 1 fields where the header has 2"),
        "{e:?}"
    );
    std::fs::write(dir.path().join("users.csv"), "mail,pw\na@b,x\n").unwrap();
    let e = Scenario::load(&yaml).err().unwrap();
    assert_eq!(e[0].line, 7, "{e:?}");
    assert!(e[0].message.contains("no column \"email\""), "{e:?}");
    std::fs::write(dir.path().join("users.csv"), "email,pw\na@b,x\n").unwrap();
    assert!(Scenario::load(&yaml).is_ok());
}

#[test]
fn bad_values_are_reported_together() {
    let src = "\
base_url: http://127.0.0.1:1
load: { vus: 1, duration: 1s }
requests:
  - name: a
    GET: /a
    check: { colour: red, status: ok }
    extract: { v: xpath.//a }
    timeout: soon
  - name: a
    method: GET
";
    let e = errors(src);
    let all = e.join("\n");
    assert!(all.contains("check \"colour\": unknown check"), "{all}");
    assert!(all.contains("check \"status\""), "{all}");
    assert!(
        all.contains("must start with json., header. or regex:"),
        "{all}"
    );
    assert!(all.contains("timeout: \"soon\" is not a duration"), "{all}");
    assert!(all.contains("defined twice"), "{all}");
    assert!(all.contains("give exactly one of GET"), "{all}");
}

#[test]
fn load_errors_come_from_the_options_validation() {
    let e = errors(&GOOD.replace(
        "executor: shared-iterations, vus: 2, iterations: 10",
        "executor: constant-arrival-rate, rate: 5",
    ));
    assert!(
        e.iter().any(|m| m.starts_with("t.yaml:3:1: load:")),
        "{e:?}"
    );
}

#[test]
fn json_files_parse_with_positions() {
    let src = r#"{"load": {"vus": 1, "duration": "1s"}, "requests": [{"name": "a", "GET": "http://127.0.0.1:1/", "bogus": 1}]}"#;
    let e = Scenario::parse(src, Path::new("s.json")).err().unwrap();
    assert_eq!((e[0].line, e[0].col > 60), (1, true), "{e:?}");
    assert!(e[0].message.contains("unknown field `bogus`"), "{e:?}");
}

#[test]
fn the_schema_describes_the_format() {
    let s = schema();
    let props = &s["properties"];
    for key in [
        "load",
        "requests",
        "feeders",
        "variables",
        "thresholds",
        "http",
    ] {
        assert!(props.get(key).is_some(), "{key} missing from the schema");
    }
    assert_eq!(s["additionalProperties"], false);
    let req = &s["$defs"]["RequestSpec"];
    assert_eq!(req["additionalProperties"], false);
    assert!(req["properties"].get("GET").is_some());
}

#[test]
fn the_k6_script_has_the_same_requests_and_checks() {
    let s = parse(GOOD).unwrap();
    let js = s.to_k6_script(None);
    assert!(js.contains("export const options"));
    assert!(js.contains("\"list: status is 200\""));
    assert!(js.contains("\"login: extract token\""));
    assert!(js.contains("if (p < 70) req1();"));
    assert!(js.contains("else if (p < 100) req2();"));
    assert!(js.contains("tags: {name: \"order\"}"));
}

#[test]
fn the_published_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scenario.schema.json");
    let now = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
    if std::env::var_os("STAMPEDE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == now,
        "docs/scenario.schema.json is stale: run STAMPEDE_UPDATE_SCHEMA=1 cargo test -p stampede-scenario"
    );
}

#[test]
fn examples_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["load.yaml", "flash-sale.yaml"] {
        if let Err(e) = Scenario::load(&dir.join(name)) {
            panic!("{name}: {e:?}");
        }
    }
}

#[test]
fn an_archive_holds_the_scenario_and_its_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let yaml = dir.path().join("plan/s.yaml");
    std::fs::create_dir_all(yaml.parent().unwrap()).unwrap();
    let src = "\
base_url: http://127.0.0.1:1
load: { executor: shared-iterations, vus: 1, iterations: 1 }
feeders:
  users: { csv: ../data/users.csv }
requests:
  - name: a
    GET: /u/{{users.email}}
";
    std::fs::write(&yaml, src).unwrap();
    std::fs::write(dir.path().join("data/users.csv"), "email\na@b\n").unwrap();
    let s = Scenario::load(&yaml).unwrap();
    let tar = s
        .to_archive(serde_json::json!({}), Default::default())
        .to_tar();
    // The originals are gone: the archive alone is enough.
    drop(dir);
    let archive = Archive::from_tar(&tar).unwrap();
    assert!(
        archive.main().ends_with("/plan/s.yaml"),
        "{}",
        archive.main()
    );
    assert!(
        archive.file_names().any(|n| n.ends_with("/data/users.csv")),
        "{:?}",
        archive.file_names().collect::<Vec<_>>()
    );
    let back = Scenario::from_archive(&archive).unwrap().unwrap();
    assert_eq!(back.compiled().feeders["users"].rows.len(), 1);
    // A script archive is not a scenario.
    let js = Archive::from_files(
        "/p/s.js",
        "export default function () {}".into(),
        Default::default(),
        serde_json::json!({}),
        Default::default(),
    );
    assert!(Scenario::from_archive(&js).is_none());
}

#[test]
fn data_files_lists_what_travels_with_a_scenario() {
    let src = r#"
load: { vus: 1, iterations: 1 }
feeders: { users: { csv: data/users.csv }, more: { json: more.json } }
setup:
  - name: up
    POST: http://127.0.0.1:9/x
    multipart: { f: { file: data/users.csv }, t: text }
requests:
  - name: r
    POST: http://127.0.0.1:9/y
    multipart: { g: { file: logo.png } }
  - name: raw
    PUT: http://127.0.0.1:9/z
    body_file: blob.bin
"#;
    let file = crate::parse_file(src, std::path::Path::new("s.yaml")).unwrap();
    // Feeders by name (`more` before `users`), then uploads and bodies in
    // order.
    assert_eq!(
        file.data_files(),
        ["more.json", "data/users.csv", "logo.png", "blob.bin"]
    );
    let err =
        crate::parse_file("load: {}\nrequests: []\nbogus: 1\n", "s.yaml".as_ref()).unwrap_err();
    assert_eq!((err[0].line, err[0].col), (3, 1), "{}", err[0]);
}

#[test]
fn body_files_are_sent_byte_for_byte_and_opened_in_the_init_code_of_the_k6_script() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blob.bin"), [0xffu8, 0, 1]).unwrap();
    std::fs::write(dir.path().join("p.png"), [0x89u8, b'P']).unwrap();
    let src = "\
load: { vus: 1, iterations: 1, executor: shared-iterations }
requests:
  - name: raw
    PUT: http://127.0.0.1:9/z
    body_file: blob.bin
  - name: up
    POST: http://127.0.0.1:9/u
    multipart: { f: { file: p.png } }
";
    let s = Scenario::parse(src, &dir.path().join("s.yaml")).unwrap_or_else(|e| panic!("{e:?}"));
    match &s.compiled().requests[0].body {
        crate::compile::Body::File(b) => assert_eq!(&b[..], [0xff, 0, 1]),
        other => panic!("{other:?}"),
    }
    let js = s.to_k6_script(Some(dir.path()));
    assert!(
        js.contains("const files = {\n  \"blob.bin\": open(\"blob.bin\", 'b'),\n  \"p.png\": open(\"p.png\", 'b'),\n};"),
        "{js}"
    );
    assert!(
        js.contains("http.request(\"PUT\", url, files[\"blob.bin\"]"),
        "{js}"
    );
    assert!(js.contains("http.file(files[\"p.png\"]"), "{js}");

    let e = errors(&src.replace("body_file: blob.bin", "body_file: gone.bin"));
    assert!(
        e[0].starts_with("t.yaml:5:16: body_file: cannot read gone.bin"),
        "{e:?}"
    );
    let e = errors(&src.replace(
        "    body_file: blob.bin",
        "    body_file: blob.bin\n    body: x",
    ));
    assert!(
        e[0].contains("give at most one of json, form, multipart, body, body_file"),
        "{e:?}"
    );
}
