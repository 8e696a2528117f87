// compare: counts
// k6/experimental/streams failures: controller.error(), throwing and
// rejecting sources, locked streams, released readers, bad arguments and
// what k6 v1.1.0 does not support (byte streams, BYOB readers, tee). Check
// names carry the error names and messages seen.
import { check } from 'k6';
import { ReadableStream, CountQueuingStrategy, ReadableStreamDefaultReader } from 'k6/experimental/streams';

export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };

const show = (e) => (e !== null && typeof e === 'object' ? `${e.name}: ${e.message}` : String(e));

function thrown(f) {
  try {
    f();
    return 'no error';
  } catch (e) {
    return show(e);
  }
}

async function rejected(p) {
  try {
    const r = await p;
    return `resolved ${r !== null && typeof r === 'object' ? `${r.value}/${r.done}` : r}`;
  } catch (e) {
    return show(e);
  }
}

function expect(label, got, want) {
  check(got, { [`${label}: ${got}`]: (g) => g === want });
}

export default async function () {
  // controller.error(): pending and later reads reject, closed rejects.
  let ctl;
  const errored = new ReadableStream({ start(c) { ctl = c; } });
  const reader = errored.getReader();
  const pending = rejected(reader.read());
  const closed = rejected(reader.closed);
  ctl.error(new TypeError('broken source'));
  expect('pending read', await pending, 'TypeError: broken source');
  expect('closed', await closed, 'TypeError: broken source');
  expect('later read', await rejected(reader.read()), 'TypeError: broken source');
  expect('desiredSize when errored', String(ctl.desiredSize), 'null');
  expect('enqueue when errored', thrown(() => ctl.enqueue(1)), 'TypeError: cannot close or enqueue');
  expect('close when errored', thrown(() => ctl.close()), 'TypeError: cannot close or enqueue');
  expect('error again', thrown(() => ctl.error('again')), 'no error');
  expect('reader.cancel when errored', await rejected(reader.cancel()), 'TypeError: broken source');
  reader.releaseLock();
  expect('closed after release', await rejected(reader.closed), 'TypeError: stream is not readable');
  expect('stream.cancel when errored', await rejected(errored.cancel()), 'TypeError: broken source');

  // A closed stream refuses chunks.
  let closer;
  new ReadableStream({ start(c) { closer = c; c.close(); } });
  expect('desiredSize when closed', String(closer.desiredSize), '0');
  expect('enqueue when closed', thrown(() => closer.enqueue(1)), 'TypeError: cannot close or enqueue');

  // Errors of the source's callbacks.
  expect('error() of a string', await rejected(new ReadableStream({ start(c) { c.error('plain'); } }).getReader().read()), 'plain');
  expect('start throws', thrown(() => new ReadableStream({ start() { throw new Error('no start'); } })), 'Error: no start');
  expect('start rejects', await rejected(new ReadableStream({ start: () => Promise.reject(new RangeError('late')) }).getReader().read()), 'RangeError: late');
  expect('pull throws', await rejected(new ReadableStream({ pull() { throw new Error('no pull'); } }).getReader().read()), 'Error: no pull');
  expect('pull rejects', await rejected(new ReadableStream({ pull: async () => { throw new SyntaxError('async pull'); } }).getReader().read()), 'SyntaxError: async pull');
  expect('cancel throws', await rejected(new ReadableStream({ cancel() { throw new Error('no cancel'); } }).cancel('x')), 'Error: no cancel');
  expect('cancel rejects', await rejected(new ReadableStream({ cancel: () => Promise.reject(new TypeError('async cancel')) }).getReader().cancel()), 'TypeError: async cancel');

  // The size of a chunk must be a finite, non-negative number.
  let sized;
  const sizedStream = new ReadableStream({ start(c) { sized = c; } }, { highWaterMark: 4, size: (chunk) => chunk });
  expect('negative size', thrown(() => sized.enqueue(-1)), 'RangeError: size must be a finite, non-NaN number');
  expect('read after a bad size', await rejected(sizedStream.getReader().read()), 'RangeError: size must be a finite, non-NaN number');

  // Locks.
  const locked = new ReadableStream();
  const owner = locked.getReader();
  expect('getReader when locked', thrown(() => locked.getReader()), 'TypeError: stream is locked');
  expect('new reader when locked', thrown(() => new ReadableStreamDefaultReader(locked)), 'TypeError: stream is locked');
  expect('cancel when locked', await rejected(locked.cancel()), 'TypeError: cannot cancel a locked stream');
  const waiting = rejected(owner.read());
  owner.releaseLock();
  expect('read pending at releaseLock', await waiting, 'TypeError: reader released');
  expect('closed after releaseLock', await rejected(owner.closed), 'TypeError: stream is readable');
  expect('read after releaseLock', await rejected(owner.read()), 'TypeError: stream is undefined');
  expect('cancel after releaseLock', await rejected(owner.cancel()), 'TypeError: stream is undefined');
  expect('releaseLock twice', thrown(() => owner.releaseLock()), 'no error');
  expect('unlocked', String(locked.locked), 'false');

  // Arguments.
  expect('source not an object', thrown(() => new ReadableStream(42)), 'TypeError: underlyingSource must be an object');
  expect('source type', thrown(() => new ReadableStream({ type: 'other' })), 'TypeError: invalid underlying source type');
  expect('start not a function', thrown(() => new ReadableStream({ start: 'x' })), 'TypeError: underlyingSource.[[start]] must be a function');
  expect('pull not a function', thrown(() => new ReadableStream({ pull: 1 })), 'TypeError: underlyingSource.[[pull]] must be a function');
  expect('cancel not a function', thrown(() => new ReadableStream({ cancel: {} })), 'TypeError: underlyingSource.[[cancel]] must be a function');
  expect('negative highWaterMark', thrown(() => new ReadableStream({}, { highWaterMark: -1 })), 'RangeError: highWaterMark must be a non-negative number');
  expect('NaN highWaterMark', thrown(() => new ReadableStream({}, { highWaterMark: NaN })), 'RangeError: highWaterMark must be a non-negative number');
  expect('size not a function', thrown(() => new ReadableStream({}, { size: 1 })), 'TypeError: size must be a function');
  expect('strategy not an object', thrown(() => new ReadableStream({}, 3)), 'TypeError: CountQueuingStrategy argument must be an object');
  expect('CountQueuingStrategy()', thrown(() => new CountQueuingStrategy()), 'TypeError: CountQueuingStrategy takes a single argument');
  expect('CountQueuingStrategy({})', thrown(() => new CountQueuingStrategy({})), "TypeError: CountQueuingStrategy argument must have 'highWaterMark' property");
  expect('reader of no stream', thrown(() => new ReadableStreamDefaultReader({})), 'TypeError: ReadableStreamDefaultReader argument must be a ReadableStream');
  expect('getReader mode', thrown(() => new ReadableStream().getReader({ mode: 'other' })), "TypeError: options.mode is not 'byob'");

  // Not supported by k6 v1.1.0.
  expect('byte stream', thrown(() => new ReadableStream({ type: 'bytes' })), "GoError: NotSupportedError:'bytes' stream is not supported yet");
  expect('byob reader', thrown(() => new ReadableStream().getReader({ mode: 'byob' })), "GoError: NotSupportedError:'byob' mode is not supported yet");
  expect('tee', thrown(() => new ReadableStream().tee()), "GoError: NotSupportedError:'tee()' is not supported yet");
  try {
    new ReadableStream({ type: 'bytes' });
  } catch (e) {
    expect('GoError value', JSON.stringify(e.value), '{"name":"NotSupportedError","message":"\'bytes\' stream is not supported yet"}');
  }
}
