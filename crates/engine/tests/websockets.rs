//! k6/ws and the WebSocket class end to end: scripts run through the engine
//! against WebSocket servers started here (an echo and a broadcast room, see
//! `common/ws_servers.rs`) and the httpbin test server.

mod common;
#[path = "common/ws_servers.rs"]
mod ws_servers;

use common::{run_script_with, Run};
use stampede_demo::TestServer;
use stampede_engine::ExitCode;
use ws_servers::WsServer;

/// Runs `script` with `WS_URL` (the echo), `BROADCAST_URL` and `BASE_URL`
/// (httpbin) in its environment.
fn run(script: &str, echo: &WsServer, room: Option<&WsServer>) -> Run {
    let http = TestServer::start_in_background();
    let run = run_script_with(script, &http.url(), |cfg| {
        cfg.system_env.insert("WS_URL".into(), echo.url());
        if let Some(r) = room {
            cfg.system_env.insert("BROADCAST_URL".into(), r.url());
        }
    })
    .unwrap();
    drop(http);
    run
}

#[test]
fn k6_ws_events_in_order_with_metrics_and_tags() {
    let echo = ws_servers::echo();
    let run = run(
        "import ws from 'k6/ws';\nimport { check } from 'k6';\n\
         export const options = { iterations: 2 };\n\
         export default function () {\n\
           const seen = [];\n\
           const url = `${__ENV.WS_URL}/chat?x=1`;\n\
           const res = ws.connect(url, { tags: { kind: 'echo' }, headers: { 'Sec-WebSocket-Protocol': 'chat' } }, (socket) => {\n\
             seen.push('setup');\n\
             socket.on('open', () => {\n\
               seen.push('open');\n\
               socket.send('hello');\n\
               socket.sendBinary(new Uint8Array([1, 2, 3]).buffer);\n\
               socket.ping();\n\
               socket.send('ping from-server');\n\
             });\n\
             socket.on('message', (m) => seen.push('message:' + m));\n\
             socket.on('binaryMessage', (b) => seen.push('binary:' + new Uint8Array(b).join('.')));\n\
             socket.on('pong', () => seen.push('pong'));\n\
             socket.on('ping', () => { seen.push('ping'); socket.close(); });\n\
             socket.on('close', (code) => seen.push('close:' + code));\n\
           });\n\
           check(res, {\n\
             'status 101': (r) => r.status === 101 && r.error === '',\n\
             'url kept': (r) => r.url === url,\n\
             'subprotocol header': (r) => r.headers['Sec-Websocket-Protocol'] === 'chat',\n\
           });\n\
           check(seen, { 'events in order': (s) => s.join() === 'setup,open,message:hello,binary:1.2.3,pong,ping,close:1001' });\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&[
        "status 101",
        "url kept",
        "subprotocol header",
        "events in order",
    ]);
    let url = format!("{}/chat?x=1", echo.url());
    let tags = [
        ("url", url.as_str()),
        ("status", "101"),
        ("subproto", "chat"),
        ("kind", "echo"),
        ("scenario", "default"),
        ("group", ""),
    ];
    assert_eq!(run.count("ws_sessions", &tags), 2);
    assert_eq!(run.count("ws_connecting", &tags), 2);
    assert_eq!(run.count("ws_session_duration", &tags), 2);
    // send and sendBinary count; ping() does not.
    assert_eq!(run.count("ws_msgs_sent", &tags), 6);
    assert_eq!(run.count("ws_msgs_received", &tags), 4);
    assert_eq!(run.count("ws_ping", &tags), 2);
    // No request metrics for the upgrade, as k6.
    assert_eq!(run.count("http_reqs", &[]), 0);
    assert!(run.count("data_sent", &[]) > 300);
    assert!(run.count("data_received", &[]) > 300);
    assert!(echo.counts.wait_all_closed());
}

#[test]
fn k6_ws_socket_timers_and_close_codes() {
    let echo = ws_servers::echo();
    let run = run(
        "import ws from 'k6/ws';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1 };\n\
         export default function () {\n\
           const log = [];\n\
           let n = 0;\n\
           ws.connect(__ENV.WS_URL, (socket) => {\n\
             socket.on('open', () => {\n\
               socket.setInterval(() => { n++; socket.send('tick' + n); }, 20);\n\
               socket.setTimeout(() => socket.send('close 4001 done'), 150);\n\
             });\n\
             socket.on('message', (m) => log.push(m));\n\
             socket.on('error', (e) => log.push(`error:${e}:${e.code}:${e.text}`));\n\
             socket.on('close', (c) => log.push('close:' + c));\n\
           });\n\
           check(log, {\n\
             'interval ran': (l) => l.filter((x) => x.startsWith('tick')).length >= 3,\n\
             'server close reported': (l) => l.slice(-2).join() === 'error:websocket: close 4001: done:4001:done,close:4001',\n\
           });\n\
           const codes = [];\n\
           ws.connect(__ENV.WS_URL, (socket) => {\n\
             socket.on('open', () => socket.close(4000));\n\
             socket.on('close', (c) => codes.push(c));\n\
           });\n\
           ws.connect(__ENV.WS_URL, (socket) => {\n\
             socket.on('open', () => socket.send('close 1000 bye'));\n\
             socket.on('error', () => codes.push('unexpected error'));\n\
             socket.on('close', (c) => codes.push(c));\n\
           });\n\
           ws.connect(__ENV.WS_URL, (socket) => {\n\
             socket.on('open', () => socket.send('drop'));\n\
             socket.on('error', (e) => codes.push(String(e)));\n\
             socket.on('close', (c) => codes.push(c));\n\
           });\n\
           check(codes, { 'close codes': (c) => c.join() === '4000,1000,websocket: close 1006 (abnormal closure): unexpected EOF,1006' });\n\
           let threw = '';\n\
           try { ws.connect(__ENV.WS_URL, (s) => { s.setTimeout(() => {}, 0); }); } catch (e) { threw = String(e); }\n\
           check(threw, { 'zero timeout refused': (t) => t === 'GoError: setTimeout requires a >0 timeout parameter, received 0.00' });\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&[
        "interval ran",
        "server close reported",
        "close codes",
        "zero timeout refused",
    ]);
    assert_eq!(run.count("ws_sessions", &[]), 5);
    assert!(echo.counts.wait_all_closed());
}

#[test]
fn k6_ws_failed_connections() {
    let echo = ws_servers::echo();
    let run = run(
        "import ws from 'k6/ws';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1 };\n\
         export default function () {\n\
           const refused = ws.connect('ws://127.0.0.1:1/', () => {});\n\
           check(refused, { 'refused': (r) => r.status === 0 && r.error === 'dial tcp 127.0.0.1:1: connect: connection refused' });\n\
           const plain = ws.connect(__ENV.BASE_URL.replace('http', 'ws') + '/status/404', () => {});\n\
           check(plain, { 'not upgraded': (r) => r.status === 404 && r.error === '' });\n\
           const scheme = ws.connect(__ENV.BASE_URL, () => {});\n\
           check(scheme, { 'bad scheme': (r) => r.error === 'malformed ws or wss URL' });\n\
           let threw = '';\n\
           try { ws.connect('ws://127.0.0.1:18/x', { tags: 1 }); } catch (e) { threw = String(e); }\n\
           check(threw, { 'needs a function': (t) => t === 'GoError: last argument to ws.connect must be a function' });\n\
           let thrown = '';\n\
           try { ws.connect(__ENV.WS_URL, (s) => { s.on('open', () => { throw new Error('boom'); }); s.on('close', (c) => { thrown += c + ' '; }); }); } catch (e) { thrown += e.message; }\n\
           check(thrown, { 'handler exception closes then propagates': (t) => t === '1001 boom' });\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&[
        "refused",
        "not upgraded",
        "bad scheme",
        "needs a function",
        "handler exception closes then propagates",
    ]);
    // Every attempt is a session, as in k6; the 404's has a status tag.
    assert_eq!(run.count("ws_sessions", &[]), 4);
    assert_eq!(run.count("ws_sessions", &[("status", "404")]), 1);
    assert_eq!(run.count("ws_session_duration", &[]), 4);
    assert!(echo.counts.wait_all_closed());
}

#[test]
fn k6_ws_throw_option_throws_on_failure() {
    let echo = ws_servers::echo();
    let run = run(
        "import ws from 'k6/ws';\n\
         export const options = { iterations: 1, throw: true };\n\
         export default function () { ws.connect('ws://127.0.0.1:1/', () => {}); }\n",
        &echo,
        None,
    );
    assert!(
        run.logged("dial tcp 127.0.0.1:1: connect: connection refused"),
        "{:?}",
        run.logs
    );
}

#[test]
fn websocket_class_events_listeners_and_binary_types() {
    let echo = ws_servers::echo();
    let run = run(
        "import { WebSocket, Blob } from 'k6/experimental/websockets';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1 };\n\
         export default function () {\n\
           const seen = [];\n\
           const ws = new WebSocket(`${__ENV.WS_URL}/x`, 'chat', { tags: { kind: 'class' } });\n\
           check(ws, { 'connecting': (w) => w.readyState === 0 && w.binaryType === 'blob' && w.url === `${__ENV.WS_URL}/x` });\n\
           ws.onopen = (e) => {\n\
             seen.push(`open:${e.type}:${ws.readyState}:${ws.protocol}`);\n\
             ws.send('hello');\n\
             ws.send(new Uint8Array([1, 2]));\n\
             ws.ping();\n\
           };\n\
           ws.addEventListener('message', (e) => {\n\
             if (typeof e.data === 'string') { seen.push('text:' + e.data); return; }\n\
             if (e.data instanceof Blob) {\n\
               seen.push('blob:' + e.data.size);\n\
               ws.binaryType = 'arraybuffer';\n\
               ws.send('binary 3');\n\
               return;\n\
             }\n\
             seen.push('buffer:' + new Uint8Array(e.data).join('.'));\n\
             ws.send('close 4002 enough');\n\
           });\n\
           ws.addEventListener('pong', () => seen.push('pong'));\n\
           ws.onerror = (e) => seen.push('error:' + e.error);\n\
           ws.onclose = (e) => {\n\
             seen.push(`close:${e.code}:${e.reason}:${ws.readyState}`);\n\
             check(seen, { 'class events': (s) => s.join() === 'open:open:1:chat,text:hello,blob:2,pong,buffer:0.1.2,error:websocket: close 4002: enough,close:4002:enough:3' });\n\
           };\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["connecting", "class events"]);
    let url = format!("{}/x", echo.url());
    let tags = [
        ("url", url.as_str()),
        ("name", url.as_str()),
        ("status", "101"),
        ("subproto", "chat"),
        ("kind", "class"),
    ];
    assert_eq!(run.count("ws_sessions", &tags), 1);
    // Every frame written counts: 4 messages and the ping.
    assert_eq!(run.count("ws_msgs_sent", &tags), 5);
    assert_eq!(run.count("ws_msgs_received", &tags), 3);
    assert_eq!(run.count("ws_ping", &tags), 1);
    assert_eq!(run.count("ws_session_duration", &tags), 1);
    assert!(echo.counts.wait_all_closed());
}

#[test]
fn several_sockets_interleave_with_timers_and_async_requests() {
    let echo = ws_servers::echo();
    let room = ws_servers::broadcast();
    let run = run(
        "import { WebSocket } from 'k6/websockets';\nimport http from 'k6/http';\n\
         import { setTimeout } from 'k6/timers';\nimport { check } from 'k6';\n\
         export const options = { iterations: 2, vus: 2 };\n\
         export default async function () {\n\
           const order = [];\n\
           let closed = 0;\n\
           const sockets = ['a', 'b', 'c'].map((name) => {\n\
             const ws = new WebSocket(__ENV.BROADCAST_URL);\n\
             ws.onmessage = (e) => {\n\
               // The other VU shares the room: only this VU's messages count.\n\
               const [text, vu] = e.data.split(':')[1].split('-');\n\
               if (vu === String(__VU)) order.push(name + '<' + text);\n\
             };\n\
             ws.onclose = () => {\n\
               if (++closed < 3) return;\n\
               const at = (x) => order.indexOf(x);\n\
               check(order, {\n\
                 'every socket got every message': (o) => o.filter((x) => x.includes('<')).length === 9,\n\
                 'one before the timer': (o) => ['a<one', 'b<one', 'c<one'].every((x) => at(x) >= 0 && at(x) < at('timer')),\n\
                 'two after the timer, before the response': (o) => ['a<two', 'b<two', 'c<two'].every((x) => at(x) > at('timer') && at(x) < at('http 200')),\n\
                 'three after the response': (o) => ['a<three', 'b<three', 'c<three'].every((x) => at(x) > at('http 200')),\n\
               });\n\
             };\n\
             return ws;\n\
           });\n\
           await Promise.all(sockets.map((ws) => new Promise((r) => ws.addEventListener('open', r))));\n\
           sockets[0].send(`one-${__VU}`);\n\
           setTimeout(() => { order.push('timer'); sockets[1].send(`two-${__VU}`); }, 100);\n\
           const res = await http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/0.4`);\n\
           order.push('http ' + res.status);\n\
           sockets[2].send(`three-${__VU}`);\n\
           setTimeout(() => sockets.forEach((ws) => ws.close()), 150);\n\
         }\n",
        &echo,
        Some(&room),
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&[
        "every socket got every message",
        "one before the timer",
        "two after the timer, before the response",
        "three after the response",
    ]);
    assert_eq!(run.count("iterations", &[]), 2);
    assert_eq!(run.count("ws_sessions", &[]), 6);
    assert_eq!(run.count("ws_session_duration", &[]), 6);
    assert_eq!(run.count("http_reqs", &[]), 2);
    assert!(room.counts.wait_all_closed());
}

#[test]
fn a_throwing_listener_fails_the_iteration_and_closes_its_socket() {
    let echo = ws_servers::echo();
    let run = run(
        "import { WebSocket } from 'k6/experimental/websockets';\nimport { Counter } from 'k6/metrics';\n\
         const events = new Counter('events');\n\
         export const options = { iterations: 1 };\n\
         export default function () {\n\
           const ws = new WebSocket(__ENV.WS_URL);\n\
           ws.onopen = () => ws.send('x');\n\
           ws.onmessage = () => { throw new Error('listener failed'); };\n\
           ws.onerror = (e) => events.add(1, { what: 'error', text: e.error });\n\
           ws.onclose = () => events.add(1, { what: 'close' });\n\
         }\n",
        &echo,
        None,
    );
    assert!(run.logged("listener failed"), "{:?}", run.logs);
    assert_eq!(
        run.count(
            "events",
            &[("what", "error"), ("text", "Error: listener failed")]
        ),
        1
    );
    assert_eq!(run.count("events", &[("what", "close")]), 1);
    assert!(echo.counts.wait_all_closed());
}

#[test]
fn interrupted_vus_close_their_sockets() {
    let echo = ws_servers::echo();
    let started = std::time::Instant::now();
    let run = run(
        "import ws from 'k6/ws';\nimport { WebSocket } from 'k6/experimental/websockets';\n\
         export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '1s', gracefulStop: '0s' } } };\n\
         export default function () {\n\
           if (__VU === 1) {\n\
             // Never closes: only the end of the scenario stops it.\n\
             ws.connect(__ENV.WS_URL, (s) => { s.on('open', () => s.send('x')); s.setInterval(() => s.send('y'), 50); });\n\
           } else {\n\
             for (let i = 0; i < 3; i++) { const w = new WebSocket(__ENV.WS_URL); w.onopen = () => w.send('z'); }\n\
           }\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(run.count("iterations", &[]), 0);
    assert_eq!(echo.counts.total(), 4);
    assert!(
        echo.counts.wait_all_closed(),
        "{} sockets still open",
        echo.counts.open()
    );
}

#[test]
fn wss_through_tls_with_both_apis() {
    let tls = TestServer::start_tls_in_background();
    let run = run_script_with(
        "import ws from 'k6/ws';\nimport { WebSocket } from 'k6/experimental/websockets';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1, insecureSkipTLSVerify: true };\n\
         export default function () {\n\
           const url = `${__ENV.BASE_URL.replace('https', 'wss')}/ws/echo`;\n\
           let got = '';\n\
           const res = ws.connect(url, (s) => {\n\
             s.on('open', () => s.send('secure'));\n\
             s.on('message', (m) => { got = m; s.close(); });\n\
           });\n\
           check(res, { 'wss upgraded': (r) => r.status === 101 && got === 'secure' });\n\
           const w = new WebSocket(url);\n\
           w.onopen = () => w.send('class');\n\
           w.onmessage = (e) => { check(e, { 'wss class echo': (x) => x.data === 'class' }); w.close(); };\n\
         }\n",
        &tls.url(),
        |_| {},
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["wss upgraded", "wss class echo"]);
    assert_eq!(run.count("ws_sessions", &[("status", "101")]), 2);
}

#[test]
fn upgrade_requests_carry_the_jar_cookies_and_headers() {
    let echo = ws_servers::echo();
    let run = run(
        "import ws from 'k6/ws';\nimport http from 'k6/http';\nimport { WebSocket } from 'k6/experimental/websockets';\nimport { check } from 'k6';\n\
         export const options = { iterations: 1, userAgent: 'ws-test/1' };\n\
         export default function () {\n\
           const httpUrl = __ENV.WS_URL.replace('ws', 'http');\n\
           http.cookieJar().set(httpUrl, 'session', 'abc');\n\
           let lines = '';\n\
           ws.connect(__ENV.WS_URL, { headers: { 'X-Token': 't1' } }, (s) => {\n\
             s.on('open', () => s.send('headers'));\n\
             s.on('message', (m) => { lines = m; s.close(); });\n\
           });\n\
           check(lines, { 'k6/ws headers': (l) => l === 'cookie=session=abc\\nuser-agent=ws-test/1\\nx-token=t1\\n' });\n\
           const jar = new http.CookieJar();\n\
           jar.set(httpUrl, 'other', 'x');\n\
           const w = new WebSocket(__ENV.WS_URL, null, { jar, headers: { Cookie: 'mine=1' } });\n\
           w.onopen = () => w.send('headers');\n\
           w.onmessage = (e) => { check(e.data, { 'class headers': (l) => l === 'cookie=mine=1; other=x\\nuser-agent=ws-test/1\\n' }); w.close(); };\n\
         }\n",
        &echo,
        None,
    );
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    run.assert_checks_pass(&["k6/ws headers", "class headers"]);
}
