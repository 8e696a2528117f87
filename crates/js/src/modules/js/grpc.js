// k6/net/grpc: unary calls with .proto files loaded at run time. The
// client's work is native (stampede:native/k6/net/grpc); errors it throws
// become k6's GoErrors here. Streaming (grpc.Stream) and the reflection
// protocol are not supported.
import n from 'stampede:native/k6/net/grpc';

function goError(message) {
  const e = new Error(message);
  Object.defineProperty(e, 'name', { value: 'GoError', writable: true, configurable: true });
  return e;
}

function go(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error && e.name === 'Error') throw goError(e.message);
    throw e;
  }
}

const ID = Symbol('grpc client');

function requestJSON(request) {
  if (request === null || request === undefined) return undefined;
  return JSON.stringify(Object(request));
}

export class Client {
  constructor() {
    Object.defineProperty(this, ID, { value: n.newClient() });
  }

  load(importPaths, ...protoFiles) {
    return go(() => n.load(this[ID], importPaths, protoFiles.map(String)));
  }

  loadProtoset(protosetPath) {
    return go(() => n.loadProtoset(this[ID], String(protosetPath)));
  }

  connect(address, params) {
    return go(() => n.connect(this[ID], String(address), params));
  }

  invoke(method, request, params) {
    return go(() => response(n.invoke(this[ID], String(method), requestJSON(request), params)));
  }

  asyncInvoke(method, request, params) {
    return n.asyncInvoke(this[ID], String(method), requestJSON(request), params)
      .then(response, (e) => {
        if (e instanceof Error && e.name === 'Error') throw goError(e.message);
        throw e;
      });
  }

  close() {
    return go(() => n.close(this[ID]));
  }
}

export class Stream {
  constructor() {
    throw goError('grpc.Stream (streaming RPCs) is not supported by Stampede');
  }
}

// Status codes are Go's codes.Code values in k6: objects that compare equal
// (===) to the constants, loosely equal (==) to their number, and print as
// their name ("OK", "NotFound"). Number objects, one per code, do the same.
const CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound',
  'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition',
  'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];
const CODES = CODE_NAMES.map((name, i) => {
  const c = new Number(i);
  Object.defineProperty(c, 'toString', { value: () => name });
  return c;
});

function code(n) {
  return CODES[n] !== undefined ? CODES[n] : n;
}

function response(res) {
  res.status = code(res.status);
  return res;
}

export const StatusOK = CODES[0];
export const StatusCanceled = CODES[1];
export const StatusUnknown = CODES[2];
export const StatusInvalidArgument = CODES[3];
export const StatusDeadlineExceeded = CODES[4];
export const StatusNotFound = CODES[5];
export const StatusAlreadyExists = CODES[6];
export const StatusPermissionDenied = CODES[7];
export const StatusResourceExhausted = CODES[8];
export const StatusFailedPrecondition = CODES[9];
export const StatusAborted = CODES[10];
export const StatusOutOfRange = CODES[11];
export const StatusUnimplemented = CODES[12];
export const StatusInternal = CODES[13];
export const StatusUnavailable = CODES[14];
export const StatusDataLoss = CODES[15];
export const StatusUnauthenticated = CODES[16];

export default {
  Client, Stream,
  StatusOK, StatusCanceled, StatusUnknown, StatusInvalidArgument, StatusDeadlineExceeded,
  StatusNotFound, StatusAlreadyExists, StatusPermissionDenied, StatusResourceExhausted,
  StatusFailedPrecondition, StatusAborted, StatusOutOfRange, StatusUnimplemented,
  StatusInternal, StatusUnavailable, StatusDataLoss, StatusUnauthenticated,
};
