// k6/experimental/streams: the part of the WHATWG Streams standard that k6
// v1.1.0 ships — ReadableStream over a default (not byte) underlying source,
// its default controller and reader, and CountQueuingStrategy — with k6's
// exports, argument checks and error names and messages.
//
// Everything is JavaScript: chunks move through promises on the VU's event
// loop. A public object (stream, reader, controller) holds closures over an
// internal record; `streams` maps a public stream to its record so that
// `new ReadableStreamDefaultReader(stream)` can find it.

const streams = new WeakMap();

// k6 throws a GoError for what it does not support (byte streams, BYOB
// readers, tee), its `value` the underlying { name, message }.
class GoError extends Error {}
Object.defineProperty(GoError.prototype, 'name', { value: 'GoError', writable: true, configurable: true });

function notSupported(message) {
  const e = new GoError(`NotSupportedError:${message}`);
  e.value = { name: 'NotSupportedError', message };
  return e;
}

// k6 accepts as a dictionary what its JS engine exports as a map: ordinary
// objects, but no primitives, functions, arrays, dates, collections,
// promises, buffers, typed arrays or boxed numbers, booleans and symbols.
const NOT_DICTIONARIES = [Date, Map, Set, Promise, ArrayBuffer, Number, Boolean, Symbol, BigInt];
function isDictionary(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  if (ArrayBuffer.isView(v)) return v instanceof DataView;
  return !NOT_DICTIONARIES.some((C) => v instanceof C);
}

function readOnly(obj, name, value) {
  Object.defineProperty(obj, name, { value, writable: false, enumerable: true, configurable: false });
}

function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  return d;
}

function markHandled(promise) {
  promise.then(undefined, () => {});
}

function rejectedDeferred(reason) {
  const d = deferred();
  d.reject(reason);
  markHandled(d.promise);
  return d;
}

// --- queuing strategies -----------------------------------------------------

// The count strategy's size: 1 for every chunk (length 1, as in k6).
function size(chunk) {
  return 1;
}

// k6's CountQueuingStrategy constructor, also used (with the strategy given
// to ReadableStream) to build a stream's strategy; `chunkSize` is left out
// when nullish.
function countQueuingStrategy(init, chunkSize, proto) {
  const name = 'CountQueuingStrategy';
  if (!isDictionary(init)) throw new TypeError(`${name} argument must be an object`);
  if (init.highWaterMark === undefined || init.highWaterMark === null) {
    throw new TypeError(`${name} argument must have 'highWaterMark' property`);
  }
  const strategy = Object.create(proto);
  readOnly(strategy, 'highWaterMark', init.highWaterMark);
  if (chunkSize !== undefined && chunkSize !== null) readOnly(strategy, 'size', chunkSize);
  return strategy;
}

export function CountQueuingStrategy() {
  if (arguments.length !== 1) throw new TypeError('CountQueuingStrategy takes a single argument');
  const proto = new.target ? new.target.prototype : CountQueuingStrategy.prototype;
  return countQueuingStrategy(arguments[0], size, proto);
}

// The strategy of a new stream, as k6 builds it: a missing highWaterMark is
// set to 1 on the object given (k6 writes it there), a size property, even
// undefined, replaces the default.
function streamStrategy(args) {
  const given = args.length > 1 && args[1] !== undefined && args[1] !== null ? Object(args[1]) : {};
  if (given.highWaterMark === undefined || given.highWaterMark === null) given.highWaterMark = 1;
  let chunkSize = size;
  if (args.length > 0 && args[0] !== undefined && args[0] !== null) {
    const type = Object(args[0]).type;
    if (type !== undefined && type !== null && String(type) === 'bytes') chunkSize = undefined;
  }
  if ('size' in given) chunkSize = given.size;
  return countQueuingStrategy(given, chunkSize, Object.prototype);
}

function sizeAlgorithm(strategy) {
  const f = strategy.size;
  if (f === undefined || f === null) return size;
  if (typeof f !== 'function') throw new TypeError('size must be a function');
  return f;
}

function highWaterMark(strategy) {
  const hwm = strategy.highWaterMark;
  if (hwm === undefined || hwm === null) return 1;
  if (typeof hwm !== 'number' || Number.isNaN(hwm) || hwm < 0) {
    throw new RangeError('highWaterMark must be a non-negative number');
  }
  return hwm;
}

// --- ReadableStream ---------------------------------------------------------

function underlyingSourceDict(source) {
  const type = source.type;
  if (type !== undefined && String(type) !== 'bytes') throw new TypeError('invalid underlying source type');
  const dict = { type };
  for (const k of ['start', 'pull', 'cancel']) {
    if (k in source) dict[k] = { fn: source[k] };
  }
  return dict;
}

function callback(dict, name) {
  const entry = dict[name];
  if (entry === undefined) return undefined;
  if (typeof entry.fn !== 'function') {
    throw new TypeError(`underlyingSource.[[${name}]] must be a function`);
  }
  return entry.fn;
}

export function ReadableStream() {
  const proto = new.target ? new.target.prototype : ReadableStream.prototype;
  const strategy = streamStrategy(arguments);
  const source = arguments[0];
  let dict = {};
  if (arguments.length > 0 && source !== undefined) {
    if (!isDictionary(source)) throw new TypeError('underlyingSource must be an object');
    dict = underlyingSourceDict(source);
  }
  if (dict.type === 'bytes') throw notSupported("'bytes' stream is not supported yet");
  const chunkSize = sizeAlgorithm(strategy);
  const hwm = highWaterMark(strategy);

  const stream = { state: 'readable', reader: null, storedError: undefined, disturbed: false, controller: null };
  const start = callback(dict, 'start');
  const pull = callback(dict, 'pull');
  const cancel = callback(dict, 'cancel');
  setUpController(stream, source, start, pull, cancel, hwm, chunkSize);

  const obj = Object.create(proto);
  Object.defineProperty(obj, 'locked', { get: () => stream.reader !== null, enumerable: true, configurable: false });
  readOnly(obj, 'source', null);
  readOnly(obj, 'cancel', (reason) => {
    if (stream.reader !== null) return Promise.reject(new TypeError('cannot cancel a locked stream'));
    return streamCancel(stream, reason);
  });
  readOnly(obj, 'getReader', (options) => {
    if (options !== undefined && options !== null && typeof options !== 'object' && typeof options !== 'function') {
      const shown = typeof options === 'symbol' ? options.description : String(options);
      throw new TypeError(`could not convert function call parameter 0: could not convert ${shown} to sobek.Object`);
    }
    const mode = options === undefined || options === null ? undefined : options.mode;
    if (mode === undefined) return newReader(stream, ReadableStreamDefaultReader.prototype);
    if (String(mode) !== 'byob') throw new TypeError("options.mode is not 'byob'");
    throw notSupported("'byob' mode is not supported yet");
  });
  readOnly(obj, 'tee', tee);
  streams.set(obj, stream);
  return obj;
}

// k6 also has `locked` on the prototype.
Object.defineProperty(ReadableStream.prototype, 'locked', {
  get() {
    const stream = streams.get(this);
    return stream === undefined ? undefined : stream.reader !== null;
  },
  enumerable: true,
  configurable: false,
});

function tee() {
  throw notSupported("'tee()' is not supported yet");
}

function streamCancel(stream, reason) {
  stream.disturbed = true;
  if (stream.state === 'closed') return Promise.resolve(undefined);
  if (stream.state === 'errored') return Promise.reject(stream.storedError);
  streamClose(stream);
  const controller = stream.controller;
  resetQueue(controller);
  const result = controller.cancelAlgorithm(reason);
  clearAlgorithms(controller);
  return result.then(() => undefined);
}

function streamClose(stream) {
  stream.state = 'closed';
  const reader = stream.reader;
  if (reader === null) return;
  reader.closed.resolve(undefined);
  const requests = reader.readRequests;
  reader.readRequests = [];
  for (const r of requests) r.close();
}

function streamError(stream, e) {
  stream.state = 'errored';
  stream.storedError = e;
  const reader = stream.reader;
  if (reader === null) return;
  reader.closed.reject(e);
  markHandled(reader.closed.promise);
  errorReadRequests(reader, e);
}

// --- ReadableStreamDefaultController ----------------------------------------

function setUpController(stream, source, start, pull, cancel, hwm, chunkSize) {
  const controller = {
    stream,
    queue: [],
    queueTotalSize: 0,
    started: false,
    closeRequested: false,
    pullAgain: false,
    pulling: false,
    hwm,
    size: chunkSize,
    pullAlgorithm: null,
    cancelAlgorithm: null,
    obj: null,
  };
  controller.pullAlgorithm = () => {
    if (pull === undefined) return Promise.resolve(undefined);
    try {
      const v = pull.call(source, controller.obj);
      return v instanceof Promise ? v : Promise.resolve(undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  controller.cancelAlgorithm = (reason) => {
    if (cancel === undefined) return Promise.resolve(undefined);
    try {
      const v = cancel.call(source, reason);
      return v instanceof Promise ? v : Promise.resolve(undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  controller.obj = controllerObject(controller);
  stream.controller = controller;

  const result = start === undefined ? undefined : start.call(source, controller.obj);
  const started = result instanceof Promise ? result : Promise.resolve(undefined);
  started.then(
    () => {
      controller.started = true;
      callPullIfNeeded(controller);
    },
    (r) => controllerError(controller, r),
  );
}

// As in k6, the controller's members live on its prototype, bound to it.
function controllerObject(controller) {
  const proto = {};
  Object.defineProperty(proto, 'desiredSize', {
    get: () => desiredSize(controller),
    enumerable: true,
    configurable: false,
  });
  readOnly(proto, 'constructor', () => {
    throw new TypeError('ReadableStreamDefaultController is not constructable');
  });
  readOnly(proto, 'close', () => {
    if (!canCloseOrEnqueue(controller)) throw new TypeError('cannot close or enqueue');
    controllerClose(controller);
  });
  readOnly(proto, 'enqueue', (chunk) => {
    if (!canCloseOrEnqueue(controller)) throw new TypeError('cannot close or enqueue');
    controllerEnqueue(controller, chunk);
  });
  readOnly(proto, 'error', (e) => controllerError(controller, e));
  return Object.create(proto);
}

function desiredSize(controller) {
  const state = controller.stream.state;
  if (state === 'errored') return null;
  if (state === 'closed') return 0;
  return controller.hwm - controller.queueTotalSize;
}

function canCloseOrEnqueue(controller) {
  return !controller.closeRequested && controller.stream.state === 'readable';
}

function resetQueue(controller) {
  controller.queue = [];
  controller.queueTotalSize = 0;
}

function clearAlgorithms(controller) {
  controller.pullAlgorithm = null;
  controller.cancelAlgorithm = null;
  controller.size = null;
}

function controllerClose(controller) {
  if (!canCloseOrEnqueue(controller)) return;
  controller.closeRequested = true;
  if (controller.queue.length === 0) {
    clearAlgorithms(controller);
    streamClose(controller.stream);
  }
}

function controllerEnqueue(controller, chunk) {
  if (!canCloseOrEnqueue(controller)) return;
  const stream = controller.stream;
  if (stream.reader !== null && stream.reader.readRequests.length > 0) {
    stream.reader.readRequests.shift().chunk(chunk);
  } else {
    let chunkSize;
    try {
      chunkSize = Number(controller.size.call(undefined, chunk));
    } catch (e) {
      controllerError(controller, e);
      throw e;
    }
    if (!(chunkSize >= 0) || chunkSize === Infinity) {
      const e = new RangeError('size must be a finite, non-NaN number');
      controllerError(controller, e);
      throw e;
    }
    controller.queue.push({ chunk, size: chunkSize });
    controller.queueTotalSize += chunkSize;
  }
  callPullIfNeeded(controller);
}

function controllerError(controller, e) {
  const stream = controller.stream;
  if (stream.state !== 'readable') return;
  resetQueue(controller);
  clearAlgorithms(controller);
  streamError(stream, e);
}

function shouldCallPull(controller) {
  if (!canCloseOrEnqueue(controller) || !controller.started) return false;
  const reader = controller.stream.reader;
  if (reader !== null && reader.readRequests.length > 0) return true;
  return desiredSize(controller) > 0;
}

function callPullIfNeeded(controller) {
  if (!shouldCallPull(controller)) return;
  if (controller.pulling) {
    controller.pullAgain = true;
    return;
  }
  controller.pulling = true;
  controller.pullAlgorithm().then(
    () => {
      controller.pulling = false;
      if (controller.pullAgain) {
        controller.pullAgain = false;
        callPullIfNeeded(controller);
      }
    },
    (e) => controllerError(controller, e),
  );
}

// Takes the next chunk for a read request, or queues the request and pulls.
function pullSteps(controller, request) {
  if (controller.queue.length > 0) {
    const { chunk, size: chunkSize } = controller.queue.shift();
    controller.queueTotalSize -= chunkSize;
    if (controller.queueTotalSize < 0) controller.queueTotalSize = 0;
    if (controller.closeRequested && controller.queue.length === 0) {
      clearAlgorithms(controller);
      streamClose(controller.stream);
    } else {
      callPullIfNeeded(controller);
    }
    request.chunk(chunk);
  } else {
    controller.stream.reader.readRequests.push(request);
    callPullIfNeeded(controller);
  }
}

// --- ReadableStreamDefaultReader --------------------------------------------

export function ReadableStreamDefaultReader() {
  if (arguments.length !== 1) throw new TypeError('ReadableStreamDefaultReader takes a single argument');
  const stream = streams.get(arguments[0]);
  if (stream === undefined) {
    throw new TypeError('ReadableStreamDefaultReader argument must be a ReadableStream');
  }
  return newReader(stream, new.target ? new.target.prototype : ReadableStreamDefaultReader.prototype);
}

function newReader(stream, proto) {
  if (stream.reader !== null) throw new TypeError('stream is locked');
  const reader = { stream, readRequests: [], closed: null };
  stream.reader = reader;
  if (stream.state === 'readable') {
    reader.closed = deferred();
  } else if (stream.state === 'closed') {
    reader.closed = deferred();
    reader.closed.resolve(undefined);
  } else {
    reader.closed = rejectedDeferred(stream.storedError);
  }

  const obj = Object.create(proto);
  Object.defineProperty(obj, 'closed', { get: () => reader.closed.promise, enumerable: true, configurable: false });
  readOnly(obj, 'cancel', (reason) => {
    if (reader.stream === null) return Promise.reject(new TypeError('stream is undefined'));
    return streamCancel(reader.stream, reason);
  });
  readOnly(obj, 'read', () => {
    const s = reader.stream;
    if (s === null) return Promise.reject(new TypeError('stream is undefined'));
    const d = deferred();
    const request = {
      chunk: (value) => d.resolve({ value, done: false }),
      close: () => d.resolve({ value: undefined, done: true }),
      error: (e) => d.reject(e),
    };
    s.disturbed = true;
    if (s.state === 'closed') request.close();
    else if (s.state === 'errored') request.error(s.storedError);
    else pullSteps(s.controller, request);
    return d.promise;
  });
  readOnly(obj, 'releaseLock', () => {
    const s = reader.stream;
    if (s === null) return;
    if (s.state === 'readable') {
      reader.closed.reject(new TypeError('stream is readable'));
      markHandled(reader.closed.promise);
    } else {
      reader.closed = rejectedDeferred(new TypeError('stream is not readable'));
    }
    s.reader = null;
    reader.stream = null;
    errorReadRequests(reader, new TypeError('reader released'));
  });
  return obj;
}

function errorReadRequests(reader, e) {
  const requests = reader.readRequests;
  reader.readRequests = [];
  for (const r of requests) r.error(e);
}

export default { ReadableStream, CountQueuingStrategy, ReadableStreamDefaultReader };
