// compare: counts
// k6/ws against httpbin's /ws/echo: event order, binary messages, pings
// both ways, socket timers, a server close with an application code.
import ws from 'k6/ws';
import { check } from 'k6';

export const options = {
  iterations: 3,
  thresholds: {
    ws_msgs_received: ['count==12'],
    'ws_sessions{status:101}': ['count==6'],
    'ws_msgs_sent{flow:echo}': ['count==12'],
  },
};

export default function () {
  const url = `${__ENV.BASE_URL.replace(/^http/, 'ws')}/ws/echo`;
  const events = [];
  const res = ws.connect(url, { tags: { flow: 'echo' } }, (socket) => {
    events.push('setup');
    socket.on('open', () => {
      events.push('open');
      socket.send('hello');
      socket.sendBinary(new Uint8Array([1, 2, 3]).buffer);
      socket.ping();
    });
    socket.on('message', (m) => {
      events.push(`message:${m}`);
      if (m === 'hello') socket.send('!binary 4');
    });
    socket.on('binaryMessage', (b) => {
      events.push(`binary:${new Uint8Array(b).join('.')}`);
      if (b.byteLength === 4) socket.send('!ping from-server');
    });
    socket.on('pong', () => events.push('pong'));
    socket.on('ping', () => {
      events.push('ping');
      socket.setTimeout(() => socket.close(), 10);
    });
    socket.on('close', (code) => events.push(`close:${code}`));
  });
  check(res, {
    upgraded: (r) => r.status === 101 && r.error === '' && r.url === url,
    'accept header': (r) => typeof r.headers['Sec-Websocket-Accept'] === 'string',
  });
  check(events, {
    'events in order': (e) => e.join() === 'setup,open,message:hello,binary:1.2.3,pong,binary:0.1.2.3,ping,close:1001',
  });

  const closing = [];
  ws.connect(`${url}?greeting=hi`, (socket) => {
    socket.on('message', (m) => {
      closing.push(m);
      socket.send('!close 4001 bye');
    });
    socket.on('error', (e) => closing.push(`${e}`));
    socket.on('close', (code) => closing.push(code));
  });
  check(closing, { 'server close is an error, then a close': (c) => c.join() === 'hi,websocket: close 4001: bye,4001' });
}
