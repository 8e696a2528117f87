// compare: counts
// k6/ws when things go wrong: refused connections, a server that does not
// upgrade, a bad scheme, a connection dropped without a close frame,
// exceptions in handlers and invalid socket timers.
import ws from 'k6/ws';
import { check } from 'k6';

export const options = { iterations: 2 };

export default function () {
  const base = __ENV.BASE_URL.replace(/^http/, 'ws');
  const refused = ws.connect('ws://127.0.0.1:1/', () => {});
  check(refused, { refused: (r) => r.status === 0 && r.error === 'dial tcp 127.0.0.1:1: connect: connection refused' });

  const plain = ws.connect(`${base}/get`, () => {});
  check(plain, { 'not upgraded': (r) => r.status === 200 && r.error === '' && r.body.includes('"url"') });

  const scheme = ws.connect(`${__ENV.BASE_URL}/ws/echo`, () => {});
  check(scheme, { 'bad scheme': (r) => r.error === 'malformed ws or wss URL' });

  const dropped = [];
  ws.connect(`${base}/ws/echo`, (socket) => {
    socket.on('open', () => socket.send('!drop'));
    socket.on('error', (e) => dropped.push(`${e}`));
    socket.on('close', (code) => dropped.push(code));
  });
  check(dropped, { 'dropped connection': (d) => d.join() === 'websocket: close 1006 (abnormal closure): unexpected EOF,1006' });

  let timer = '';
  try {
    ws.connect(`${base}/ws/echo`, (socket) => socket.setTimeout(() => {}, 0));
  } catch (e) {
    timer = `${e}`;
  }
  check(timer, { 'zero timeout refused': (t) => t === 'GoError: setTimeout requires a >0 timeout parameter, received 0.00' });

  const closes = [];
  let thrown = '';
  try {
    ws.connect(`${base}/ws/echo`, (socket) => {
      socket.on('open', () => { throw new Error('boom'); });
      socket.on('close', (code) => closes.push(code));
    });
  } catch (e) {
    thrown = `${e}`;
  }
  check(thrown, { 'handler exception propagates after close': (t) => t.startsWith('Error: boom') && closes.join() === '1001' });

  let args = '';
  try {
    ws.connect(`${base}/ws/echo`);
  } catch (e) {
    args = `${e}`;
  }
  check(args, { 'callback required': (a) => a === 'GoError: invalid number of arguments to ws.connect' });

  const late = [];
  ws.connect(`${base}/ws/echo`, (socket) => {
    socket.on('open', () => {
      socket.close(1000);
      socket.send('after close');
    });
    socket.on('error', (e) => late.push(`${e}`));
    socket.on('close', (code) => late.push(code));
  });
  check(late, { 'send after close': (l) => l.join() === '1000,websocket: close sent' });
}
