//! k6 archives on the server: `stampede submit` packs a script with a
//! local import, a binary `open()` file and a remote module (served over
//! HTTPS with its own CA, which the server does not trust: it can only run
//! what the archive holds) and gets the same counts as `stampede run`;
//! malformed, oversized and path-escaping archives are refused with
//! nothing created; a target outside the allow-list is refused before the
//! run exists, with no request at the target.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::harness::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// URL-safe base64 without padding (what the test server's `/base64/`
/// decodes into the response body).
fn url_b64(data: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Writes the project: an entry script importing `lib/helper.js` (which
/// opens a binary file relative to itself) and a remote module.
fn project(dir: &Path, module_url: &str) {
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/data.bin"), [0u8, 255, 7, 0, 128]).unwrap();
    std::fs::write(
        dir.join("lib/helper.js"),
        "const bin = open('./data.bin', 'b');\n\
         export function binOk() {\n\
           const b = new Uint8Array(bin);\n\
           return b.length === 5 && b[0] === 0 && b[1] === 255 && b[4] === 128;\n\
         }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("load.js"),
        format!(
            "import http from 'k6/http';\n\
             import {{ check }} from 'k6';\n\
             import {{ binOk }} from './lib/helper.js';\n\
             import {{ answer }} from '{module_url}';\n\
             export const options = {{ vus: 2, iterations: 8, thresholds: {{ checks: ['rate==1'] }} }};\n\
             export default function () {{\n\
               const res = http.get(`${{__ENV.BASE}}/get`);\n\
               check(res, {{\n\
                 'status 200': (r) => r.status === 200,\n\
                 'binary file': () => binOk(),\n\
                 'remote module': () => answer === 42,\n\
               }});\n\
             }}\n"
        ),
    )
    .unwrap();
}

/// The counts two runs must agree on, from a `--summary-export` document.
fn counts(summary: &Value) -> Vec<(String, Value)> {
    let m = &summary["metrics"];
    vec![
        ("http_reqs".into(), m["http_reqs"]["count"].clone()),
        ("iterations".into(), m["iterations"]["count"].clone()),
        ("checks passes".into(), m["checks"]["passes"].clone()),
        ("checks fails".into(), m["checks"]["fails"].clone()),
    ]
}

#[test]
fn submit_uploads_an_archive_that_runs_like_run() {
    let target = stampede_demo::TestServer::start_in_background();
    let modules = stampede_demo::TestServer::start_tls_in_background();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, modules.certificate_pem().unwrap()).unwrap();
    let cache = dir.path().join("cache");
    let module_url = format!(
        "{}/base64/{}",
        modules.url(),
        url_b64("export const answer = 42;")
    );
    let work = dir.path().join("project");
    project(&work, &module_url);
    let script = work.join("load.js");
    let base = format!("BASE={}", target.url());
    let module_env = [
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ("STAMPEDE_CACHE_DIR", cache.to_str().unwrap()),
    ];

    // Locally: the reference counts (and the lock file of the module).
    let export = dir.path().join("local.json");
    let out = stampede(
        &[
            "run",
            "-q",
            "-a",
            "",
            "-e",
            &base,
            "--summary-export",
            export.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
        &module_env,
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let local: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(local["metrics"]["checks"]["passes"], 24, "{local}");

    // On the server (which does not trust the module server's CA).
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let cfg = tempfile::tempdir().unwrap();
    let cfg_dir = cfg.path().to_str().unwrap();
    let login_env = [("STAMPEDE_CONFIG_DIR", cfg_dir)];
    let out = stampede(
        &["login", &server.url()],
        &login_env,
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let envs = [module_env[0], module_env[1], login_env[0]];
    let out = stampede(
        &["submit", "-e", &base, script.to_str().unwrap()],
        &envs,
        "",
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let run: i64 = stdout
        .split("run: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no run id in {stdout}"));
    let token = login(&server.addr, "admin", ADMIN_PASSWORD);
    let r = wait_final(&server.addr, &token, run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(counts(&r["summary"]), counts(&local), "{r}");

    // The scenario keeps the archive whole and the entry script as text.
    let (s, v) = call(
        &server.addr,
        "GET",
        &format!("/api/v1/scenarios/{}", r["scenario_id"]),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert!(
        v["files"]["load.js"]
            .as_str()
            .is_some_and(|t| t.contains("binOk")),
        "{v}"
    );
    let names = v["archive"]["files"].to_string();
    assert!(
        names.contains("lib/data.bin")
            && names.contains("lib/helper.js")
            && names.contains("/base64/"),
        "{v}"
    );

    // `stampede archive` + `submit archive.tar`: the same run again, from
    // a copy whose original files are gone.
    let tar = dir.path().join("load.tar");
    let out = stampede(
        &[
            "archive",
            "-O",
            tar.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
        &module_env,
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&work).unwrap();
    let out = stampede(
        &[
            "submit",
            "-q",
            "--name",
            "from-tar",
            "-e",
            &base,
            tar.to_str().unwrap(),
        ],
        &login_env,
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let (_, runs) = call(
        &server.addr,
        "GET",
        "/api/v1/runs?limit=1",
        Some(&token),
        None,
    );
    let last = &runs["items"][0];
    assert_ne!(last["id"].as_i64(), Some(run));
    assert_eq!(counts(&last["summary"]), counts(&local), "{last}");
}

/// One ustar entry written by hand (type flag `kind`, link target `link`),
/// as a hostile client could.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: u8, link: &str, data: &[u8]) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A k6 archive with `extra` entries after its own.
fn archive_with(extra: &[(&str, u8, &str)]) -> String {
    let meta =
        br#"{"type":"js","options":{},"filename":"file:///p/s.js","pwd":"file:///p","env":{}}"#;
    let mut t = Vec::new();
    raw_entry(&mut t, "metadata.json", b'0', "", meta);
    raw_entry(&mut t, "data", b'0', "", b"export default function () {}");
    for (name, kind, link) in extra {
        raw_entry(&mut t, name, *kind, link, b"");
    }
    t.extend_from_slice(&[0; 1024]);
    B64.encode(t)
}

#[test]
fn bad_archives_are_refused_and_nothing_is_created() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &["--max-body", "200000"]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let post = |body: Value| call(&addr, "POST", "/api/v1/scenarios", Some(&token), Some(body));

    // A well-formed one is accepted (the control case).
    let (s, v) = post(json!({"name": "good", "archive": archive_with(&[])}));
    assert_eq!(s, 201, "{v}");
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/scenarios/{}", v["id"]),
        Some(&token),
        None,
    );
    assert_eq!(s, 204);

    let not_tar = B64.encode(b"export default function () {}");
    let no_meta = {
        let mut t = Vec::new();
        raw_entry(&mut t, "data", b'0', "", b"x");
        t.extend_from_slice(&[0; 1024]);
        B64.encode(t)
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"archive": "%% not base64"}), 422, "not base64"),
        (json!({"archive": not_tar}), 422, "not a valid k6 archive"),
        (json!({"archive": no_meta}), 422, "metadata.json is missing"),
        (
            json!({"archive": archive_with(&[("file/../../etc/cron.d/x", b'0', "")])}),
            422,
            "climbs out",
        ),
        (
            json!({"archive": archive_with(&[("/etc/cron.d/x", b'0', "")])}),
            422,
            "absolute path",
        ),
        (
            json!({"archive": archive_with(&[("file/p/evil.js", b'2', "/etc/passwd")])}),
            422,
            "symbolic link",
        ),
        (
            json!({"archive": archive_with(&[("file/p/evil.js", b'1', "/etc/passwd")])}),
            422,
            "may only link",
        ),
        (
            json!({"archive": archive_with(&[]), "script": "export default function () {}"}),
            422,
            "not several",
        ),
        (
            json!({"archive": archive_with(&[]), "entry": "s.js"}),
            422,
            "does not go with `archive`",
        ),
        (json!({"archive": "A".repeat(300_000)}), 413, ""),
    ];
    for (mut body, status, why) in cases {
        body["name"] = "bad".into();
        let (s, v) = post(body.clone());
        assert_eq!(
            s,
            status,
            "{v} for {}",
            &body.to_string()[..80.min(body.to_string().len())]
        );
        assert!(
            v["error"]["message"].as_str().unwrap_or("").contains(why),
            "{v}"
        );
    }
    let (_, list) = call(&addr, "GET", "/api/v1/scenarios", Some(&token), None);
    assert_eq!(list["total"], 0, "nothing created: {list}");
    let (_, runs) = call(&addr, "GET", "/api/v1/runs", Some(&token), None);
    assert_eq!(runs["total"], 0, "{runs}");
}

/// A loopback listener that counts connections (and never answers), for
/// up to `secs` seconds.
fn counting_target(secs: u64) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            match listener.accept() {
                Ok((mut s, _)) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                    let _ = s.read(&mut [0u8; 64]);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (addr, hits)
}

#[test]
fn a_disallowed_target_is_refused_before_any_request() {
    let (target, hits) = counting_target(120);
    let port = target.rsplit(':').next().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Only 127.0.0.2 is allowed: the listener on 127.0.0.1 is not.
    let server = ServerProc::start(data.path(), None, &["--allow-target", "127.0.0.2"]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);

    // A literal address: refused when saved.
    let literal = format!(
        "import http from 'k6/http';\n\
         export default function () {{ http.get('http://{target}/get'); }}\n"
    );
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&token),
        Some(json!({"name": "literal", "script": literal})),
    );
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "target_not_allowed", "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("http://{target}")) && msg.contains("script.js"),
        "{msg}"
    );

    // A name the start request's `hosts` maps there: refused at start,
    // before the run exists.
    let named = format!(
        "import http from 'k6/http';\n\
         export default function () {{ http.get('http://api.internal.test:{port}/get'); }}\n"
    );
    let scenario = create_scenario(&addr, &token, "named", &named);
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&token),
        Some(json!({"iterations": 1, "options": {"hosts": {"api.internal.test": "127.0.0.1"}}})),
    );
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "target_not_allowed", "{v}");
    assert_eq!(v["error"]["details"][0]["ip"], "127.0.0.1", "{v}");
    let (_, runs) = call(&addr, "GET", "/api/v1/runs", Some(&token), None);
    assert_eq!(runs["total"], 0, "no run created: {runs}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request reached the target"
    );
}

#[test]
fn a_declarative_scenario_is_submitted_with_its_feeder() {
    let target = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("project");
    std::fs::create_dir_all(work.join("data")).unwrap();
    std::fs::write(work.join("data/users.csv"), "name\nann\nbob\ncid\n").unwrap();
    let yaml = work.join("plan.yaml");
    std::fs::write(
        &yaml,
        "base_url: \"{{env BASE}}\"\n\
         load: { executor: shared-iterations, vus: 1, iterations: 6 }\n\
         feeders: { users: { csv: data/users.csv } }\n\
         requests:\n\
         \x20 - name: hello\n\
         \x20   GET: /get?user={{users.name}}\n\
         \x20   check: { status: 200, body_contains: user }\n",
    )
    .unwrap();
    let base = format!("BASE={}", target.url());
    let export = dir.path().join("local.json");
    let out = stampede(
        &[
            "run",
            "-q",
            "-a",
            "",
            "-e",
            &base,
            "--summary-export",
            export.to_str().unwrap(),
            yaml.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let local: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(local["metrics"]["checks"]["passes"], 12, "{local}");

    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let cfg = tempfile::tempdir().unwrap();
    let login_env = [("STAMPEDE_CONFIG_DIR", cfg.path().to_str().unwrap())];
    let out = stampede(
        &["login", &server.url()],
        &login_env,
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = stampede(
        &["submit", "-q", "-e", &base, yaml.to_str().unwrap()],
        &login_env,
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let token = login(&server.addr, "admin", ADMIN_PASSWORD);
    let (_, runs) = call(
        &server.addr,
        "GET",
        "/api/v1/runs?limit=1",
        Some(&token),
        None,
    );
    let last = &runs["items"][0];
    assert_eq!(last["status"], "passed", "{last}");
    assert_eq!(counts(&last["summary"]), counts(&local), "{last}");
}
