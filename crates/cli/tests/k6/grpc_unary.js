// compare: counts
// k6/net/grpc unary calls against the test server's hello.HelloService
// (data/hello.proto): load, connect (h2c), invoke and asyncInvoke, the
// protojson shape of responses (unpopulated fields, int64 as strings, enums
// by name, bytes in base64, wrappers, maps, oneofs), metadata, tags and
// grpc_req_duration. Check names carry the observed values, so a
// disagreement shows up as differing checks.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const ADDR = __ENV.BASE_URL.replace(/^https?:\/\//, '');
const client = new grpc.Client();
const methods = client.load(['data'], 'hello.proto');

export const options = {
  iterations: 2,
  thresholds: {
    grpc_req_duration: ['p(95)<2000'],
    'grpc_req_duration{method:SayHello}': ['max<2000'],
    'grpc_req_duration{name:custom-name}': ['max<2000'],
    'grpc_req_duration{service:hello.HelloService,status:0}': ['avg<2000'],
  },
};

// JSON with sorted keys: k6's objects come from Go maps, whose key order
// is not the declaration order.
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

export default async function () {
  observe('methods', methods);
  observe('connect', client.connect(ADDR, { plaintext: true, timeout: '5s' }));

  const full = client.invoke('hello.HelloService/SayHello', {
    greeting: 'bob',
    times: 3,
    big: '9007199254740993',
    mood: 'HAPPY',
    tags: ['a', 'b'],
    inner: { note: 'n' },
    blob: 'AQI=',
    loud: true,
    ratio: 1.5,
    nickname: 'bobby',
  }, { metadata: { 'x-echo-one': '1', 'x-echo-two': 'two' } });
  observe('full status', [String(full.status), typeof full.status, full.status == 0, full.status === 0]);
  observe('full error', full.error);
  observe('full message', full.message);
  observe('full headers', withoutDate(full.headers));
  observe('full trailers', full.trailers);
  observe('response keys', Object.keys(full).sort());
  check(full, { 'status is StatusOK': (r) => r && r.status === grpc.StatusOK });

  const empty = client.invoke('/hello.HelloService/SayHello', {});
  observe('empty message', empty.message);

  const numbers = client.invoke('hello.HelloService/SayHello', { greeting: 'pick', big: 12, mood: 2, ratio: 0.25 });
  observe('numbers message', numbers.message);

  const named = client.invoke('hello.HelloService/SayHello', { greeting: 'tagged' }, {
    tags: { name: 'custom-name', extra: 'yes' },
    timeout: 5000,
  });
  observe('named reply', named.message.reply);

  const discarded = client.invoke('hello.HelloService/SayHello', { greeting: 'x' }, { discardResponseMessage: true });
  observe('discarded', [String(discarded.status), discarded.message]);

  const later = await client.asyncInvoke('hello.HelloService/SayHello', { greeting: 'async' });
  observe('async', [String(later.status), later.status === grpc.StatusOK, later.message.reply, later.error]);

  const ok = client.invoke('hello.HelloService/Fail', { code: 0, message: 'fine' });
  observe('fail with OK', [String(ok.status), ok.message.reply]);

  const statuses = {};
  for (const k of Object.keys(grpc)) if (k.startsWith('Status')) statuses[k] = [String(grpc[k]), +grpc[k], JSON.stringify(grpc[k])];
  observe('status constants', statuses);

  client.close();
  client.close();
  try {
    client.invoke('hello.HelloService/SayHello', {});
  } catch (e) {
    observe('after close', [e.name, e.message]);
  }
}
