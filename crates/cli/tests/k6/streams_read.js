// compare: counts
// k6/experimental/streams: pull- and start-based sources read to the end,
// backpressure (desiredSize, CountQueuingStrategy, a custom size), cancel
// reaching the source, releaseLock and a second reader. Check names carry
// the values seen, so a difference from k6 shows as a different check (read
// results are not JSON.stringify'd: k6 builds them from a Go map, in random
// key order).
import { check } from 'k6';
import { ReadableStream, CountQueuingStrategy, ReadableStreamDefaultReader } from 'k6/experimental/streams';
import streams from 'k6/experimental/streams';

export const options = { iterations: 4, vus: 2, thresholds: { checks: ['rate==1'] } };

const tick = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function readAll(reader) {
  const out = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

// Read in the init context, with top-level await.
const initRead = await new ReadableStream({
  start(c) {
    c.enqueue('init');
    c.close();
  },
}).getReader().read();

export default async function () {
  check(initRead, { [`init read: ${initRead.value}/${initRead.done}`]: (r) => r.value === 'init' && r.done === false });
  check(streams, {
    [`default export: ${Object.keys(streams).sort().join(',')}`]: (m) => m.ReadableStream !== undefined,
  });

  // A pull source: pulls until the queue holds highWaterMark chunks, then
  // once per chunk read.
  let next = 1;
  const pulls = [];
  const pulled = new ReadableStream(
    {
      pull(c) {
        pulls.push(c.desiredSize);
        if (next <= 5) c.enqueue(next++);
        else c.close();
      },
    },
    new CountQueuingStrategy({ highWaterMark: 2 }),
  );
  await tick(5);
  const before = pulls.join(',');
  check(before, { [`pulls before any read: ${before}`]: (p) => p === '2,1' });
  check(pulled, { [`locked before getReader: ${pulled.locked}`]: (s) => s.locked === false });
  const reader = pulled.getReader();
  check(pulled, { [`locked after getReader: ${pulled.locked}`]: (s) => s.locked === true });
  const values = await readAll(reader);
  check(values, { [`pulled values: ${values.join(',')}`]: (v) => v.join(',') === '1,2,3,4,5' });
  check(pulls, { [`desiredSize at each pull: ${pulls.join(',')}`]: (p) => p.length === 6 });
  const last = await reader.read();
  check(last, {
    [`read after done: ${last.value}/${last.done} ${'value' in last}`]: (r) => r.done === true && r.value === undefined,
  });
  let closed = 'pending';
  await reader.closed.then(() => { closed = 'resolved'; });
  check(closed, { [`closed: ${closed}`]: (c) => c === 'resolved' });

  // A start source: chunks and close queued up front; desiredSize falls
  // with each chunk and may go below zero.
  const sizes = [];
  const started = new ReadableStream(
    {
      start(c) {
        sizes.push(c.desiredSize);
        for (const x of ['a', 'b', 'c', 'd']) {
          c.enqueue(x);
          sizes.push(c.desiredSize);
        }
        c.close();
        sizes.push(c.desiredSize);
      },
    },
    { highWaterMark: 3 },
  );
  check(sizes, { [`desiredSize in start: ${sizes.join(',')}`]: (s) => s.join(',') === '3,2,1,0,-1,-1' });
  const chunks = await readAll(started.getReader());
  check(chunks, { [`started values: ${chunks.join('')}`]: (c) => c.join('') === 'abcd' });

  // A custom size: the queue counts string lengths.
  let ctl;
  new ReadableStream({ start(c) { ctl = c; } }, { highWaterMark: 10, size: (chunk) => chunk.length });
  ctl.enqueue('abc');
  ctl.enqueue('defg');
  check(ctl, { [`desiredSize by length: ${ctl.desiredSize}`]: (c) => c.desiredSize === 3 });
  const strategy = new CountQueuingStrategy({ highWaterMark: 7 });
  check(strategy, {
    [`count strategy: ${JSON.stringify(strategy)} size=${strategy.size('anything')}`]: (s) => s.highWaterMark === 7 && s.size() === 1,
  });

  // A push source: chunks arrive from timers after start's promise.
  const pushed = new ReadableStream({
    start(c) {
      return tick(2).then(() => {
        let n = 0;
        const id = setInterval(() => {
          c.enqueue(`t${n++}`);
          if (n === 3) {
            clearInterval(id);
            c.close();
          }
        }, 1);
      });
    },
  });
  const timed = await readAll(pushed.getReader());
  check(timed, { [`pushed values: ${timed.join(',')}`]: (t) => t.join(',') === 't0,t1,t2' });

  // An async pull: the next pull waits for the previous one.
  let inFlight = 0;
  let maxInFlight = 0;
  let k = 0;
  const slow = new ReadableStream({
    async pull(c) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick(1);
      inFlight--;
      c.enqueue(k++);
      if (k === 3) c.close();
    },
  });
  const slowValues = await readAll(slow.getReader());
  check(slowValues, {
    [`async pull values: ${slowValues.join(',')} at most ${maxInFlight} at once`]: (v) => v.join(',') === '0,1,2' && maxInFlight === 1,
  });

  // cancel: the reason reaches the source, queued chunks are dropped.
  let reason;
  const cancelled = new ReadableStream(
    {
      start(c) {
        c.enqueue(1);
        c.enqueue(2);
        c.enqueue(3);
      },
      cancel(r) {
        reason = r;
        return 'ignored';
      },
    },
    { highWaterMark: 5 },
  );
  const cr = cancelled.getReader();
  const first = await cr.read();
  const cancelResult = await cr.cancel('enough');
  const afterCancel = await cr.read();
  check(reason, {
    [`cancel reason: ${reason}, result ${cancelResult}, then ${afterCancel.value}/${afterCancel.done} after ${first.value}`]: (r) =>
      r === 'enough' && cancelResult === undefined && afterCancel.done === true,
  });
  let streamReason;
  const s2 = new ReadableStream({ cancel: (r) => { streamReason = r; } });
  await s2.cancel('from stream');
  check(streamReason, { [`stream.cancel reason: ${streamReason}`]: (r) => r === 'from stream' });

  // releaseLock: another reader continues where the first stopped.
  const shared = new ReadableStream({
    start(c) {
      for (const x of [10, 20, 30]) c.enqueue(x);
      c.close();
    },
  }, { highWaterMark: 5 });
  const r1 = shared.getReader();
  const one = await r1.read();
  r1.releaseLock();
  const unlocked = shared.locked;
  const r2 = new ReadableStreamDefaultReader(shared);
  const rest = await readAll(r2);
  check(rest, {
    [`second reader: ${one.value} then ${rest.join(',')}, unlocked ${unlocked}`]: (r) =>
      one.value === 10 && r.join(',') === '20,30' && unlocked === false,
  });
}
