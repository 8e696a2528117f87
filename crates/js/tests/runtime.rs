//! The JavaScript runtime: loading, lifecycle, the k6 core modules.

mod common;

use std::collections::BTreeMap;

use common::{iterate, iterate_script, with_vu, Script};
use stampede_js::{IterationOutcome, ScriptError, Vu};

#[test]
fn exports_options_and_functions() {
    let s = Script::new(
        "export const options = { vus: 2, thresholds: { checks: ['rate>0.9'] } };\n\
         export function setup() {}\nexport default function () {}\n",
    );
    let out = with_vu(
        &s.path,
        BTreeMap::new(),
        |_| {},
        |vu| {
            let vu = vu.unwrap();
            (vu.options().unwrap(), vu.exported_functions())
        },
    );
    let (opts, funcs) = out.result;
    assert_eq!(opts.unwrap()["vus"], 2);
    assert!(funcs.contains(&"setup".to_string()));
    assert!(funcs.contains(&"default".to_string()));
}

#[test]
fn syntax_errors_point_at_file_line_and_column() {
    let s = Script::new("export default function () {\n  let x = ;\n}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(err.contains("SyntaxError"), "{err}");
    assert!(err.contains("script.js:2:"), "{err}");
}

#[test]
fn init_exceptions_carry_a_stack() {
    let s = Script::new("function boom() { throw new Error('bad init'); }\nboom();\nexport default function () {}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(err.starts_with("Error: bad init"), "{err}");
    assert!(err.contains("script.js:1:"), "{err}");
}

#[test]
fn relative_imports_open_and_require() {
    let s = Script::with_files(
        "import { twice } from './lib/math.js';\n\
         const cjs = require('./lib/legacy.js');\n\
         const text = open('./data.txt');\n\
         const bin = open('./data.txt', 'b');\n\
         export default function () {\n\
           if (twice(2) !== 4) throw new Error('import');\n\
           if (cjs.name !== 'legacy') throw new Error('require');\n\
           if (text.trim() !== 'root' || bin.byteLength !== 5) throw new Error('open');\n\
           if (lib.fromLib.trim() !== 'lib') throw new Error('open relative to module');\n\
         }\n\
         import * as lib from './lib/math.js';\n",
        &[
            ("lib/math.js", "export function twice(x) { return 2 * x; }\nexport const fromLib = open('./data.txt');\n"),
            ("lib/data.txt", "lib\n"),
            ("lib/legacy.js", "module.exports = { name: 'legacy' };\n"),
            ("data.txt", "root\n"),
        ],
    );
    let out = iterate_script(&s, 1);
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

#[test]
fn open_outside_init_and_remote_imports_fail_clearly() {
    let out = iterate("export default function () { open('./x.txt'); }", 1);
    match &out.result[0] {
        IterationOutcome::Failed(e) => {
            assert!(e.contains("only available in the init stage"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let s =
        Script::new("import x from 'http://127.0.0.1:1/lib.js';\nexport default function () {}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.unwrap().to_string();
    assert!(
        err.contains("only supported schemes for imports are file and https"),
        "{err}"
    );
    // Port 1 on loopback refuses: k6's message for a module it cannot fetch.
    let s =
        Script::new("import x from 'https://127.0.0.1:1/lib.js';\nexport default function () {}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.unwrap().to_string();
    assert!(
        err.contains(
            "The moduleSpecifier \"https://127.0.0.1:1/lib.js\" couldn't be retrieved from the \
             resolved url \"https://127.0.0.1:1/lib.js\". Error : \"Get \"https://127.0.0.1:1/lib.js\": \
             dial tcp 127.0.0.1:1: connect: connection refused\""
        ),
        "{err}"
    );
    let s = Script::new("import x from 'k6/nope';\nexport default function () {}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    assert!(out
        .result
        .unwrap()
        .to_string()
        .contains("unknown module: k6/nope"));
}

#[test]
fn env_vu_and_iter_globals() {
    let s = Script::new(
        "export default function () {\n\
           if (__ENV.GREETING !== 'hi') throw new Error('env ' + __ENV.GREETING);\n\
           if (__VU !== 1) throw new Error('vu');\n\
           console.log('iter', __ITER);\n\
         }\n",
    );
    let env = BTreeMap::from([("GREETING".to_string(), "hi".to_string())]);
    let out = with_vu(
        &s.path,
        env,
        |_| {},
        |vu| {
            let vu = vu.unwrap();
            (0..2)
                .map(|i| {
                    vu.run_iteration(
                        stampede_js::IterationRequest {
                            exec: "default",
                            iteration_in_scenario: i,
                            iteration_in_instance: i,
                            iteration_in_test: i,
                        },
                        None,
                    )
                })
                .collect::<Vec<_>>()
        },
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed; 2],
        "{:?}",
        out.logs
    );
    assert!(out.logged("msg=\"iter 0\""), "{:?}", out.logs);
    assert!(out.logged("msg=\"iter 1\""), "{:?}", out.logs);
}

#[test]
fn checks_groups_and_iteration_metrics() {
    let out = iterate(
        "import { check, group } from 'k6';\n\
         export default function () {\n\
           check(1, { 'one': (v) => v === 1, 'two': (v) => v === 2 });\n\
           group('outer', () => { group('inner', () => { check(true, { 'nested': (v) => v }); }); });\n\
         }\n",
        3,
    );
    assert_eq!(out.result, vec![IterationOutcome::Completed; 3]);
    assert_eq!(out.count("checks", &[]), 9);
    assert_eq!(out.count("checks", &[("check", "two")]), 3);
    let nested = out
        .agg(
            "checks",
            &[("check", "nested"), ("group", "::outer::inner")],
        )
        .unwrap();
    assert_eq!(nested.samples(), 3);
    assert_eq!(out.count("group_duration", &[("group", "::outer")]), 3);
    assert_eq!(
        out.count("group_duration", &[("group", "::outer::inner")]),
        3
    );
    assert_eq!(out.count("iterations", &[]), 3);
    assert_eq!(out.count("iteration_duration", &[("group", "")]), 3);
}

#[test]
fn iteration_exceptions_are_reported_and_the_next_iteration_runs() {
    let out = iterate(
        "export default function () { if (__ITER === 0) { throw new Error('first'); } }",
        2,
    );
    match &out.result[0] {
        IterationOutcome::Failed(e) => {
            assert!(e.starts_with("Error: first"), "{e}");
            assert!(e.contains("script.js:1:"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.result[1], IterationOutcome::Completed);
}

#[test]
fn custom_metrics() {
    let out = iterate(
        "import { Counter, Gauge, Rate, Trend } from 'k6/metrics';\n\
         const c = new Counter('my_counter');\n\
         const g = new Gauge('my_gauge');\n\
         const r = new Rate('my_rate');\n\
         const t = new Trend('my_trend', true);\n\
         export default function () {\n\
           c.add(2, { kind: 'a' }); g.add(__ITER); r.add(__ITER % 2 === 0); t.add(12.5);\n\
           if (c.add('abc') !== false) throw new Error('invalid value accepted');\n\
           try { new Counter('late'); throw new Error('declared late'); } catch (e) {\n\
             if (!String(e.message).includes('init context')) throw e; }\n\
         }\n",
        4,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed; 4],
        "{:?}",
        out.logs
    );
    let c = out.agg("my_counter", &[("kind", "a")]).unwrap();
    assert_eq!(
        c.stat(&"count".parse().unwrap(), std::time::Duration::from_secs(1)),
        Some(8.0)
    );
    let r = out.agg("my_rate", &[]).unwrap();
    assert_eq!(
        r.stat(&"rate".parse().unwrap(), std::time::Duration::from_secs(1)),
        Some(0.5)
    );
    assert_eq!(out.count("my_trend", &[]), 4);
    assert!(
        out.logged("'abc' is an invalid value for metric 'my_counter'"),
        "{:?}",
        out.logs
    );
    let def = out
        .registry
        .def(out.registry.lookup("my_trend").unwrap().id);
    assert_eq!(def.contains, stampede_metrics::ValueType::Time);
}

#[test]
fn encoding_and_crypto() {
    let out = iterate(
        "import encoding from 'k6/encoding';\n\
         import crypto from 'k6/crypto';\n\
         function eq(a, b) { if (a !== b) throw new Error(a + ' !== ' + b); }\n\
         export default function () {\n\
           eq(encoding.b64encode('hello?'), 'aGVsbG8/');\n\
           eq(encoding.b64encode('hello?', 'url'), 'aGVsbG8_');\n\
           eq(encoding.b64encode('hi', 'rawstd'), 'aGk');\n\
           eq(encoding.b64decode('aGk', 'rawstd', 's'), 'hi');\n\
           eq(new Uint8Array(encoding.b64decode('aGk=')).length, 2);\n\
           eq(crypto.md5('hello', 'hex'), '5d41402abc4b2a76b9719d911017c592');\n\
           eq(crypto.sha256('hello', 'hex'), '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');\n\
           eq(crypto.hmac('sha256', 'key', 'The quick brown fox jumps over the lazy dog', 'hex'), 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');\n\
           const h = crypto.createHash('sha1'); h.update('hel'); h.update('lo');\n\
           eq(h.digest('hex'), 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d');\n\
           eq(crypto.randomBytes(8).byteLength, 8);\n\
           eq(crypto.sha512('', 'base64').length, 88);\n\
         }\n",
        1,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?} {:?}",
        out.result,
        out.logs
    );
}

#[test]
fn shared_array_and_execution_info() {
    let out = iterate(
        "import { SharedArray } from 'k6/data';\n\
         import exec from 'k6/execution';\n\
         const data = new SharedArray('users', () => [{ name: 'a' }, { name: 'b' }]);\n\
         function eq(a, b) { if (a !== b) throw new Error(a + ' !== ' + b); }\n\
         export default function () {\n\
           eq(data.length, 2); eq(data[1].name, 'b');\n\
           let names = []; for (const u of data) names.push(u.name); eq(names.join(), 'a,b');\n\
           eq(data.map((u) => u.name).join(), 'a,b');\n\
           eq(exec.vu.idInInstance, 1);\n\
           eq(exec.vu.iterationInInstance, __ITER);\n\
           exec.vu.tags.team = 'blue';\n\
           eq(exec.vu.tags.team, 'blue');\n\
           eq(typeof exec.test.options, 'object');\n\
           try { data[0].name = 'x'; } catch (e) {}\n\
           eq(data[0].name, 'a');\n\
         }\n",
        2,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed; 2],
        "{:?} {:?}",
        out.result,
        out.logs
    );
    assert_eq!(out.count("iterations", &[("team", "blue")]), 2);
}

#[test]
fn timers_run_before_the_iteration_ends() {
    let out = iterate(
        "import { setTimeout } from 'k6/timers';\n\
         export default function () {\n\
           let fired = [];\n\
           setTimeout(() => fired.push('b'), 20);\n\
           setTimeout(() => { fired.push('a'); }, 5);\n\
           const id = setInterval(() => { fired.push('i'); if (fired.length > 3) clearInterval(id); }, 1);\n\
           Promise.resolve().then(() => console.log('microtask'));\n\
         }\n",
        1,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
    assert!(out.logged("microtask"));
}

#[test]
fn async_default_functions_settle() {
    let out = iterate(
        "export default async function () {\n\
           await new Promise((r) => setTimeout(r, 5));\n\
           throw new Error('after await');\n\
         }\n",
        1,
    );
    match &out.result[0] {
        IterationOutcome::Failed(e) => assert!(e.contains("after await"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn setup_teardown_and_handle_summary() {
    let s = Script::new(
        "export function setup() { return { token: 'abc', n: [1, 2] }; }\n\
         export default function (data) { if (data.token !== 'abc') throw new Error('data'); data.n.push(3); }\n\
         export function teardown(data) { if (data.n.length !== 2) throw new Error('teardown got a mutated copy'); }\n\
         export function handleSummary(d) { return { stdout: 'total ' + d.metrics.x, 'out.bin': new Uint8Array([1, 2]).buffer }; }\n",
    );
    let out = with_vu(
        &s.path,
        BTreeMap::new(),
        |_| {},
        |vu| {
            let vu = vu.unwrap();
            let data: std::sync::Arc<str> = vu.call_setup().unwrap().unwrap().into();
            let it = vu.run_iteration(
                stampede_js::IterationRequest {
                    exec: "default",
                    iteration_in_scenario: 0,
                    iteration_in_instance: 0,
                    iteration_in_test: 0,
                },
                Some(&data),
            );
            // Setup data is parsed once per VU: mutations stay with that VU.
            let mutated = vu.call_teardown(Some(&data));
            // The engine runs teardown in its own VU, which gets a fresh copy.
            let fresh: std::sync::Arc<str> = data.to_string().into();
            let td = vu.call_teardown(Some(&fresh));
            let hs = vu
                .call_handle_summary(&serde_json::json!({"metrics": {"x": 5}}))
                .unwrap();
            (it, mutated, td, hs)
        },
    );
    let (it, mutated, td, hs) = out.result;
    assert_eq!(it, IterationOutcome::Completed, "{:?}", out.logs);
    let err = mutated.unwrap_err().to_string();
    assert!(err.contains("teardown got a mutated copy"), "{err}");
    td.unwrap();
    let hs = hs.unwrap();
    assert_eq!(hs[0], ("stdout".to_string(), b"total 5".to_vec()));
    assert_eq!(hs[1], ("out.bin".to_string(), vec![1, 2]));
}

#[test]
fn jslib_k6_utils_is_built_in() {
    let out = iterate(
        "import { uuidv4, randomIntBetween, randomItem, randomString, findBetween } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';\n\
         export default function () {\n\
           if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuidv4())) throw new Error('uuid');\n\
           const n = randomIntBetween(3, 5); if (n < 3 || n > 5) throw new Error('int');\n\
           if (![1, 2].includes(randomItem([1, 2]))) throw new Error('item');\n\
           if (randomString(7).length !== 7) throw new Error('string');\n\
           if (findBetween('<a>x</a><a>y</a>', '<a>', '</a>', true).join() !== 'x,y') throw new Error('between');\n\
         }\n",
        1,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

#[test]
fn fail_and_check_in_init_are_errors() {
    let out = iterate(
        "import { fail } from 'k6';\nexport default function () { fail('oops'); }",
        1,
    );
    match &out.result[0] {
        IterationOutcome::Failed(e) => assert!(e.starts_with("GoError: oops"), "{e}"),
        other => panic!("{other:?}"),
    }
    let s = Script::new(
        "import { check } from 'k6';\ncheck(1, { a: true });\nexport default function () {}\n",
    );
    let out = with_vu(
        &s.path,
        BTreeMap::new(),
        |_| {},
        |vu| vu.err().map(|e| e.to_string()),
    );
    assert!(out.result.unwrap().contains("init context"));
}

#[test]
fn abort_stops_with_the_reason() {
    let out = iterate("import exec from 'k6/execution';\nexport default function () { exec.test.abort('enough'); }", 1);
    assert_eq!(out.result[0], IterationOutcome::Aborted("enough".into()));
    let _ = ScriptError::Interrupted;
}

#[test]
fn vus_loading_compiled_modules_get_native_modules_too() {
    // The second VU loads every module from the first one's bytecode.
    let s = Script::new(
        "import encoding from 'k6/encoding';\nimport crypto from 'k6/crypto';\nimport { check } from 'k6';\n\
         export default function () {\n\
           if (encoding.b64encode('hi') !== 'aGk=') throw new Error('encoding');\n\
           if (crypto.md5('a', 'hex').length !== 32) throw new Error('crypto');\n\
         }\n",
    );
    assert_eq!(
        iterate_together(&s, 2),
        vec![IterationOutcome::Completed; 2]
    );
}

#[test]
fn optional_builtins_come_when_the_code_names_them() {
    let out = iterate(
        "import encoding from 'k6/encoding';\n\
         const has = (name) => Object.getOwnPropertyNames(globalThis).includes(name);\n\
         export default function () {\n\
           // Named only through strings: nothing optional was added yet.\n\
           if (has('Ma' + 'p') || has('Uint8' + 'Array')) throw new Error('loaded early');\n\
           // Native code creating a binary buffer brings typed arrays along.\n\
           const buf = encoding.b64decode('aGk=');\n\
           if (buf.byteLength !== 2 || !has('Uint8' + 'Array')) throw new Error('no typed arrays');\n\
         }\n",
        1,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
    let out = iterate(
        "export default function () {\n\
           const m = new Map([[1, 'a']]);\n\
           const s = new Set([1, 1]);\n\
           const v = new DataView(new ArrayBuffer(4));\n\
           v.setUint8(0, 7);\n\
           if (m.get(1) !== 'a' || s.size !== 1 || new Uint8Array(v.buffer)[0] !== 7) throw new Error('builtins');\n\
           if (typeof WeakRef !== 'function' || typeof performance.now() !== 'number') throw new Error('weakref/performance');\n\
           if (btoa('hi') !== 'aGk=') throw new Error('btoa');\n\
         }\n",
        1,
    );
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

/// Runs one iteration of `source` in `n` VUs at once, on one thread (so in
/// one shared QuickJS runtime); returns their outcomes by VU.
fn iterate_together(s: &Script, n: u64) -> Vec<IterationOutcome> {
    let program = stampede_js::Program::load(&s.path).unwrap();
    let test = std::sync::Arc::new(stampede_js::TestEnv::probe(
        program,
        BTreeMap::new(),
        std::sync::Arc::new(stampede_js::log::Logger::capturing()),
    ));
    common::local(async move {
        let mut handles = Vec::new();
        for id in 1..=n {
            let t = test.clone();
            let sig = stampede_js::coro::InterruptSignal::new();
            let cfg = stampede_js::VuConfig {
                id,
                id_in_test: id,
                emitter: stampede_js::Emitter::detached(),
                interrupt: sig.clone(),
            };
            let co = stampede_js::coro::Coro::new(stampede_js::VU_STACK_SIZE, move || {
                let mut vu = Vu::new(t, cfg).unwrap();
                vu.run_iteration(
                    stampede_js::IterationRequest {
                        exec: "default",
                        iteration_in_scenario: 0,
                        iteration_in_instance: 0,
                        iteration_in_test: id,
                    },
                    None,
                )
            })
            .unwrap();
            handles.push(tokio::task::spawn_local(co.run(sig)));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
}

#[test]
fn vus_sharing_a_runtime_keep_their_own_frames_jobs_and_realm() {
    // VU 1 suspends deep inside its JavaScript while the others run theirs:
    // their stacks must not show its frames, nobody may run its promise
    // jobs early, and every VU's native functions are of its own realm.
    let out = iterate_together(
        &Script::new("import exec from 'k6/execution';\n\
         import { sleep } from 'k6';\n\
         let mine = null;\n\
         function deep() { sleep(0.05); }\n\
         export default async function () {\n\
           const id = exec.vu.idInTest;\n\
           if (mine !== null) throw new Error('module state shared');\n\
           mine = id;\n\
           globalThis.owner = id;\n\
           if (Object.getPrototypeOf(sleep) !== Function.prototype) throw new Error('foreign Function.prototype');\n\
           let phase = 'sync';\n\
           const job = Promise.resolve().then(() => {\n\
             if (phase !== 'after') throw new Error('job of VU ' + id + ' ran during its sleep');\n\
             return globalThis.owner;\n\
           });\n\
           if (id === 1) {\n\
             deep();\n\
           } else {\n\
             sleep(0.01);\n\
             const st = new Error('x').stack;\n\
             if (st.includes('deep')) throw new Error('stack of VU ' + id + ' shows another VU: ' + st);\n\
             try { null.x; } catch (e) { sleep(0.005); if (!(e instanceof TypeError)) throw new Error('exception lost'); }\n\
           }\n\
           phase = 'after';\n\
           if (await job !== id) throw new Error('job ran in another VU');\n\
           if (globalThis.owner !== id || mine !== id) throw new Error('globals shared');\n\
         }\n"),
        3,
    );
    assert_eq!(out, vec![IterationOutcome::Completed; 3]);
}

#[test]
fn runaway_recursion_stops_at_the_limit_without_touching_other_vus_stacks() {
    // VU stacks lie side by side in one mapping (no guard page between
    // them): VU 3 recursing without end, in JavaScript, through native
    // callbacks and in JSON, must get a stack-overflow error while VUs 1 and
    // 2 sleep under 200 frames whose locals must all survive.
    let out = iterate_together(
        &Script::new("import exec from 'k6/execution';\n\
         import { sleep } from 'k6';\n\
         function chain(n, id) {\n\
           const local = 'frame ' + n + ' of VU ' + id;\n\
           if (n === 0) { sleep(0.05); return [local]; }\n\
           const rest = chain(n - 1, id);\n\
           rest.push(local);\n\
           return rest;\n\
         }\n\
         function forever(n) { return forever(n + 1) + 1; }\n\
         function viaNative(n) { return [n].map((x) => viaNative(x + 1))[0]; }\n\
         function nested() { let o = {}; for (let i = 0; i < 100000; i++) o = { o }; return JSON.stringify(o); }\n\
         function overflows(f) {\n\
           try { f(0); } catch (e) { return /stack/i.test(String(e)); }\n\
           return false;\n\
         }\n\
         export default function () {\n\
           const id = exec.vu.idInTest;\n\
           if (id === 3) {\n\
             sleep(0.01);\n\
             for (const f of [forever, viaNative, nested]) {\n\
               if (!overflows(f)) throw new Error(f.name + ' did not overflow');\n\
             }\n\
             return;\n\
           }\n\
           const frames = chain(200, id);\n\
           frames.forEach((f, n) => {\n\
             if (f !== 'frame ' + n + ' of VU ' + id) throw new Error('corrupted: ' + f);\n\
           });\n\
         }\n"),
        3,
    );
    assert_eq!(out, vec![IterationOutcome::Completed; 3]);
}

#[test]
fn missing_exports_and_modules_are_named_in_full() {
    // QuickJS cut module names at 64 bytes ("…/0."); k6 names the import.
    let spec = "./vendor/jslib.k6.io/k6-summary/0.0.2/a-rather-long-directory-name/index.js";
    let s = Script::with_files(
        &format!("import {{ textSummary }} from '{spec}';\nexport default function () {{}}\n"),
        &[(&spec[2..], "export const other = 1;\n")],
    );
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(
        err.contains(&format!(
            "SyntaxError: The requested module \"{spec}\" does not provide an export named \"textSummary\""
        )),
        "{err}"
    );
    let s = Script::new("import { x } from './nope/missing.js';\nexport default function () {}\n");
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(
        err.contains("The moduleSpecifier \"./nope/missing.js\" couldn't be found on local disk."),
        "{err}"
    );
}

#[test]
fn chaos_phases_parse_durations_like_k6_options() {
    let s = Script::new(
        "import chaos from 'stampede/chaos';\n\
         export const options = { scenarios: chaos.phases({ baseline: '1m30s', inject: '1d', recover: 250 }) };\n\
         export default function () {}\n",
    );
    let out = with_vu(&s.path, BTreeMap::new(), |_| {}, |vu| vu.unwrap().options());
    let opts = out.result.unwrap().expect("options are exported");
    assert_eq!(opts["scenarios"]["inject"]["startTime"], "90000ms");
    assert_eq!(opts["scenarios"]["recover"]["startTime"], "86490000ms");
    assert_eq!(opts["scenarios"]["recover"]["duration"], "250ms");

    let bad = Script::new(
        "import chaos from 'stampede/chaos';\n\
         export const options = { scenarios: chaos.phases({ baseline: '5 minutes' }) };\n\
         export default function () {}\n",
    );
    let out = with_vu(&bad.path, BTreeMap::new(), |_| {}, |vu| vu.err());
    let err = out.result.expect("init fails").to_string();
    assert!(err.contains("invalid duration \"5 minutes\""), "{err}");
}
