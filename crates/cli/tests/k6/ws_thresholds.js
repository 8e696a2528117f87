// Thresholds on the WebSocket metrics, by tag; one fails (exit 99).
import ws from 'k6/ws';

export const options = {
  iterations: 2,
  thresholds: {
    'ws_connecting{status:101}': ['p(95)<5000'],
    ws_session_duration: ['max<10000'],
    'ws_msgs_received{kind:a}': ['count==2'],
    'ws_msgs_sent{kind:a}': ['count==2'],
    ws_ping: ['avg<0'],
  },
};

export default function () {
  const url = `${__ENV.BASE_URL.replace(/^http/, 'ws')}/ws/echo`;
  for (const kind of ['a', 'b']) {
    ws.connect(url, { tags: { kind } }, (socket) => {
      socket.on('open', () => {
        if (kind === 'a') socket.send('x');
        socket.ping();
      });
      socket.on('pong', () => {
        if (kind === 'b') socket.close();
      });
      socket.on('message', () => socket.close());
    });
  }
}
