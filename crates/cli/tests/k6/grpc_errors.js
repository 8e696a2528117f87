// compare: counts
// k6/net/grpc when calls fail: statuses sent by the server (with their
// percent-encoded messages), trailers-only responses, unknown services and
// methods, a deadline exceeded (k6 then records no grpc_req_duration),
// dial errors, and the errors thrown for bad arguments and misuse.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const ADDR = __ENV.BASE_URL.replace(/^https?:\/\//, '');
const client = new grpc.Client();
client.load(['data'], 'hello.proto');

function caught(f) {
  try {
    return ['returned', f()];
  } catch (e) {
    return [e.name, e.message];
  }
}

const inInit = [
  caught(() => client.connect(ADDR, { plaintext: true })),
  caught(() => client.invoke('hello.HelloService/SayHello', {})),
];

export const options = {
  iterations: 1,
  thresholds: {
    'grpc_req_duration{status:5}': ['max<2000'],
    'grpc_req_duration{status:12}': ['max<2000'],
  },
};

function stable(v) {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function observe(label, value) {
  check(value, { [`${label}: ${stable(value)}`]: () => true });
}

function withoutDate(md) {
  const out = {};
  for (const k of Object.keys(md)) if (k !== 'date') out[k] = md[k];
  return out;
}

export default function () {
  observe('in init', inInit);
  observe('load outside init', caught(() => client.load(['data'], 'hello.proto')));
  observe('invoke before connect', caught(() => client.invoke('hello.HelloService/SayHello', {})));
  observe('refused', caught(() => new grpc.Client().connect('127.0.0.1:1', { plaintext: true })));
  observe('bad plaintext', caught(() => client.connect(ADDR, { plaintext: 'yes' })));
  observe('unknown connect param', caught(() => client.connect(ADDR, { plaintext: true, nope: 1 })));
  client.connect(ADDR, { plaintext: true });

  const failed = client.invoke('hello.HelloService/Fail', { code: 5, message: 'no such thing: 50% off ✓' });
  observe('not found', [String(failed.status), +failed.status, failed.error, withoutDate(failed.headers), withoutDate(failed.trailers)]);
  observe('not found message', failed.message);
  check(failed, { 'status is StatusNotFound': (r) => r.status === grpc.StatusNotFound });

  const invalid = client.invoke('hello.HelloService/Fail', { code: grpc.StatusInvalidArgument, message: 'bad' });
  observe('invalid', [String(invalid.status), +invalid.status, invalid.error]);

  const unimplemented = client.invoke('hello.Unimplemented/Nothing', {});
  observe('unknown service on the server', [String(unimplemented.status), +unimplemented.status, unimplemented.error]);

  const streaming = client.invoke('hello.HelloService/LotsOfReplies', {});
  observe('streaming method', [String(streaming.status), +streaming.status, streaming.error]);

  const late = client.invoke('hello.HelloService/Sleep', { ms: 1500 }, { timeout: '100ms' });
  observe('deadline', [String(late.status), +late.status, late.error, late.headers, late.trailers]);
  check(late, { 'status is StatusDeadlineExceeded': (r) => r.status === grpc.StatusDeadlineExceeded });

  const slow = client.invoke('hello.HelloService/Sleep', { ms: 50 }, { timeout: 2000 });
  observe('in time', [String(slow.status), +slow.status, slow.message.reply]);

  observe('bad method', caught(() => client.invoke('hello.HelloService/Nope', {})));
  observe('unknown service', caught(() => client.invoke('nope.Service/Call', {})));
  observe('empty method', caught(() => client.invoke('', {})));
  observe('unknown param', caught(() => client.invoke('hello.HelloService/SayHello', {}, { nope: 1 })));
  observe('metadata not a string', caught(() => client.invoke('hello.HelloService/SayHello', {}, { metadata: { a: 1 } })));
  observe('bad timeout', caught(() => client.invoke('hello.HelloService/SayHello', {}, { timeout: 'abc' })));
  observe('null request', caught(() => client.invoke('hello.HelloService/SayHello', null)));
  const unknownField = caught(() => client.invoke('hello.HelloService/SayHello', { bogus: 1 }));
  observe('unknown field', [unknownField[0], unknownField[1].startsWith('unable to serialise request object to protocol buffer: ')]);
  client.close();
}
