// compare: counts
// The browser-like WebSocket of k6/experimental/websockets: events,
// listeners, binaryType, pings, close codes, several sockets in one
// iteration with a timer, a refused connection.
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout } from 'k6/timers';
import { check } from 'k6';

export const options = {
  iterations: 2,
  thresholds: {
    'ws_sessions{status:101}': ['count==4'],
    ws_msgs_received: ['count==4'],
    ws_msgs_sent: ['count==10'],
  },
};

export default function () {
  const url = `${__ENV.BASE_URL.replace(/^http/, 'ws')}/ws/echo`;
  const log = [];
  const ws = new WebSocket(url);
  check(ws, { connecting: (w) => w.readyState === 0 && w.binaryType === 'blob' && w.url === url });
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    log.push(`open:${ws.readyState}`);
    ws.send('hello');
    ws.send(new Uint8Array([1, 2, 3]));
    ws.ping();
  };
  ws.addEventListener('message', (e) => {
    log.push(typeof e.data === 'string' ? `text:${e.data}` : `binary:${new Uint8Array(e.data).join('.')}`);
    closeWhenAllArrived();
  });
  // k6 may deliver the pong before or after the echoed messages: count it
  // apart so that the order of the other events can be checked exactly, and
  // close only once everything arrived.
  let pongs = 0;
  ws.onpong = () => {
    pongs++;
    closeWhenAllArrived();
  };
  const closeWhenAllArrived = () => {
    if (log.length === 3 && pongs === 1) ws.send('!close 4000 done');
  };
  ws.onerror = (e) => log.push(`error:${e.error}`);
  ws.onclose = () => {
    log.push(`close:${ws.readyState}`);
    check(log, {
      'class events': (l) => l.join() === 'open:1,text:hello,binary:1.2.3,error:websocket: close 4000: done,close:3',
      'one pong': () => pongs === 1,
    });
  };

  const chat = new WebSocket(url, ['chat']);
  chat.onopen = () => setTimeout(() => chat.close(), 20);
  chat.onclose = () => check(chat, { 'subprotocol chosen': (w) => w.protocol === 'chat' && w.readyState === 3 });

  const refused = new WebSocket('ws://127.0.0.1:1/');
  refused.onerror = (e) => check(e, { 'refused error': (x) => x.error === 'dial tcp 127.0.0.1:1: connect: connection refused' });
  refused.onclose = () => check(refused, { 'refused closed': (w) => w.readyState === 3 });
}
