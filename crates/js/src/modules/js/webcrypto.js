// Web Crypto as k6 v1.1.0 has it: the global `crypto` (getRandomValues,
// randomUUID, subtle) and k6/experimental/webcrypto. This part checks
// arguments, normalizes algorithms, builds CryptoKeys and names errors with
// k6's names and texts; the cryptography is native
// (stampede:native/k6/experimental/webcrypto), on bytes and key handles.
import n from 'stampede:native/k6/experimental/webcrypto';

const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
const AES = ['AES-CBC', 'AES-CTR', 'AES-GCM', 'AES-KW'];
const EC = ['ECDSA', 'ECDH'];
const RSA = ['RSASSA-PKCS1-v1_5', 'RSA-PSS', 'RSA-OAEP'];
const KEYS = [...AES, 'HMAC', ...EC, ...RSA];
const SIGNERS = ['HMAC', 'ECDSA', 'RSASSA-PKCS1-v1_5', 'RSA-PSS'];
const CIPHERS = [...AES, 'RSA-OAEP'];

// Algorithms each operation knows (k6's registry: no PBKDF2, HKDF, Ed25519
// or X25519 in v1.1.0).
const REGISTERED = {
  digest: HASHES,
  generateKey: KEYS,
  importKey: KEYS,
  exportKey: KEYS,
  encrypt: CIPHERS,
  decrypt: CIPHERS,
  sign: SIGNERS,
  verify: SIGNERS,
  deriveBits: ['ECDH'],
  deriveKey: ['ECDH'],
};

const ENCRYPTION = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const SIGNING = ['sign', 'verify'];
const USAGES = {
  'AES-CBC': ENCRYPTION,
  'AES-CTR': ENCRYPTION,
  'AES-GCM': ENCRYPTION,
  'AES-KW': ['wrapKey', 'unwrapKey'],
  HMAC: SIGNING,
  ECDSA: SIGNING,
  ECDH: ['deriveKey', 'deriveBits'],
  'RSASSA-PKCS1-v1_5': SIGNING,
  'RSA-PSS': SIGNING,
  'RSA-OAEP': ENCRYPTION,
};
// k6 lets AES-KW keys be imported with every AES usage.
const IMPORT_USAGES = { ...USAGES, 'AES-KW': ENCRYPTION };
// Usages that go to the public key of a generated pair.
const PUBLIC_USAGES = ['verify', 'encrypt', 'wrapKey'];

// Errors as k6 makes them: `name` and `message` own enumerable properties,
// `String(e)` is `Name: message`.
function error(name, message) {
  const e = new Error();
  e.name = name;
  Object.defineProperty(e, 'message', {
    value: message,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return e;
}

// Native failures arrive as plain `{name, message}` objects.
function rethrow(e) {
  if (e !== null && typeof e === 'object' && !(e instanceof Error) && typeof e.name === 'string') {
    throw error(e.name, String(e.message));
  }
  throw e;
}

// A subtle method: a promise, rejected with the error of any failed check.
function method(name, fn) {
  const f = async function (...args) {
    try {
      return fn(...args);
    } catch (e) {
      return rethrow(e);
    }
  };
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

function normalize(algorithm, op) {
  let params;
  if (typeof algorithm === 'string') {
    params = { name: algorithm };
  } else if (algorithm !== null && typeof algorithm === 'object') {
    params = algorithm;
  } else {
    throw error('SyntaxError', 'algorithm cannot be interpreted as a string or an object');
  }
  let name = params.name === undefined || params.name === null ? '' : String(params.name).toUpperCase();
  if (name === 'RSASSA-PKCS1-V1_5') name = 'RSASSA-PKCS1-v1_5';
  if (!REGISTERED[op].includes(name)) {
    throw error('NotSupportedError', `algorithm "${name}" doesn't support (in implementation) operation "${op}"`);
  }
  return { name, params };
}

function param(params, key) {
  const v = params[key];
  if (v === undefined || v === null) {
    throw error('SyntaxError', `could not get ${key} from algorithm parameter`);
  }
  return v;
}

function hashOf(params) {
  return normalize(param(params, 'hash'), 'digest').name;
}

function isBufferSource(v) {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function bufferSource(v) {
  if (!isBufferSource(v)) {
    throw error('OperationError', 'data is neither an ArrayBuffer, nor a TypedArray nor DataView');
  }
  return v;
}

function usageList(usages) {
  return usages === undefined || usages === null ? [] : Array.from(usages, String);
}

// --- keys -------------------------------------------------------------------
const TOKEN = Symbol('CryptoKey');
let handleOf;

class CryptoKey {
  #handle;

  constructor(token, type, extractable, algorithm, usages, handle) {
    if (token !== TOKEN) throw new TypeError('Illegal constructor');
    this.type = type;
    this.extractable = extractable;
    this.algorithm = algorithm;
    this.usages = usages;
    this.#handle = handle;
  }

  static {
    handleOf = (k) => (k !== null && typeof k === 'object' && #handle in k ? k.#handle : undefined);
  }
}

const HASH_BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };

// A new CryptoKey over `handle`, its algorithm completed from the key itself.
function makeKey(name, handle, extractable, usages, extra) {
  const info = n.describe(handle);
  const algorithm = { name };
  if (AES.includes(name)) {
    algorithm.length = info.length;
  } else if (name === 'HMAC') {
    algorithm.hash = { name: extra.hash };
    algorithm.length = extra.length === undefined ? info.length : extra.length;
  } else if (EC.includes(name)) {
    algorithm.namedCurve = info.curve;
  } else {
    algorithm.modulusLength = info.modulusLength;
    algorithm.publicExponent = new Uint8Array(info.publicExponent);
    algorithm.hash = { name: extra.hash };
  }
  return new CryptoKey(TOKEN, info.type, !!extractable, algorithm, usages, handle);
}

function requireUsages(key) {
  if ((key.type === 'secret' || key.type === 'private') && key.usages.length === 0) {
    throw error('SyntaxError', 'usages cannot not be empty for a secret or private CryptoKey');
  }
  return key;
}

function checkUsages(name, usages, imported) {
  const allowed = (imported ? IMPORT_USAGES : USAGES)[name];
  for (const u of usages) {
    if (!allowed.includes(u)) {
      throw error('SyntaxError', imported ? `invalid key usage: ${u}` : 'invalid key usage');
    }
  }
}

function keyPair(name, handles, extractable, usages, extra) {
  const publicUsages = usages.filter((u) => PUBLIC_USAGES.includes(u));
  const privateUsages = usages.filter((u) => !PUBLIC_USAGES.includes(u));
  return {
    privateKey: makeKey(name, handles[0], extractable, privateUsages, extra),
    publicKey: makeKey(name, handles[1], true, publicUsages, extra),
  };
}

function generateKey(algorithm, extractable, keyUsages) {
  const { name, params } = normalize(algorithm, 'generateKey');
  const usages = usageList(keyUsages);
  if (AES.includes(name)) {
    checkUsages(name, usages, false);
    const length = Number(param(params, 'length'));
    if (length !== 128 && length !== 192 && length !== 256) {
      throw error('OperationError', 'invalid key length');
    }
    return requireUsages(makeKey(name, n.generateSecret(length / 8), extractable, usages));
  }
  if (name === 'HMAC') {
    const hash = hashOf(params);
    checkUsages(name, usages, false);
    const length = params.length === undefined ? HASH_BLOCK_BITS[hash] : Math.trunc(Number(params.length));
    if (!(length >= 8)) throw error('OperationError', 'invalid key length');
    const handle = n.generateSecret(Math.floor(length / 8));
    return requireUsages(makeKey(name, handle, extractable, usages, { hash, length }));
  }
  if (EC.includes(name)) {
    const curve = String(param(params, 'namedCurve'));
    const handles = n.generateEc(curve);
    checkUsages(name, usages, false);
    return keyPair(name, handles, extractable, usages);
  }
  const hash = hashOf(params);
  const bits = Number(param(params, 'modulusLength'));
  const exponent = params.publicExponent === undefined ? new Uint8Array([1, 0, 1]) : params.publicExponent;
  checkUsages(name, usages, false);
  if (!(bits >= 256) || bits % 8 !== 0 || bits > 16384) {
    throw error('OperationError', `invalid modulusLength ${params.modulusLength}`);
  }
  return keyPair(name, n.generateRsa(bits, bufferSource(exponent)), extractable, usages, { hash });
}

const FORMATS = ['raw', 'pkcs8', 'spki', 'jwk'];

function importKey(format, keyData, algorithm, extractable, keyUsages) {
  format = String(format);
  if (!FORMATS.includes(format)) throw error('ImplementationError', `unsupported format ${format}`);
  if (format === 'jwk') {
    if (keyData === null || typeof keyData !== 'object') {
      throw error('DataError', 'invalid keyData format for JWK format');
    }
  } else {
    bufferSource(keyData);
  }
  const { name, params } = normalize(algorithm, 'importKey');
  const usages = usageList(keyUsages);
  let key;
  if (AES.includes(name) || name === 'HMAC') {
    const hash = name === 'HMAC' ? hashOf(params) : undefined;
    checkUsages(name, usages, true);
    if (format !== 'raw' && format !== 'jwk') {
      throw error('NotSupportedError', `unsupported key format ${format}`);
    }
    const handle = n.importKey('secret', format, keyData);
    const bytes = n.describe(handle).length / 8;
    if (name === 'HMAC') {
      if (bytes === 0) throw error('DataError', 'key length cannot be 0');
      key = makeKey(name, handle, extractable, usages, { hash });
    } else {
      if (bytes !== 16 && bytes !== 24 && bytes !== 32) {
        throw error('DataError', `invalid key length ${bytes} bytes`);
      }
      key = makeKey(name, handle, extractable, usages);
    }
  } else if (EC.includes(name)) {
    const curve = String(param(params, 'namedCurve'));
    key = makeKey(name, n.importKey('ec', format, keyData, curve), extractable, usages);
  } else {
    const hash = hashOf(params);
    if (format === 'raw') {
      throw error('NotSupportedError', `unsupported key format raw for algorithm ${name}`);
    }
    key = makeKey(name, n.importKey('rsa', format, keyData), extractable, usages, { hash });
  }
  return requireUsages(key);
}

const AES_JWK_MODE = { 'AES-CBC': 'CBC', 'AES-CTR': 'CTR', 'AES-GCM': 'GCM' };

function exportKey(format, key) {
  if (key === null || typeof key !== 'object') throw error('InvalidAccessError', 'key is not an object');
  const handle = handleOf(key);
  if (handle === undefined) {
    throw error('ImplementationError', 'unable to extract CryptoKey from key object');
  }
  const name = key.algorithm.name;
  if (!key.extractable) throw error('InvalidAccessError', 'the key is not extractable');
  if (name === 'AES-KW') throw error('NotSupportedError', `unsupported algorithm ${name}`);
  format = String(format);
  if (!FORMATS.includes(format)) throw error('NotSupportedError', `unsupported key format ${format}`);
  if (key.type !== 'secret') return n.exportKey(format, handle);
  if (format === 'raw') return n.exportKey('raw', handle);
  if (format !== 'jwk') throw error('NotSupportedError', `unsupported key format ${format}`);
  const own = n.exportKey('jwk', handle);
  const alg =
    name === 'HMAC'
      ? 'HS' + key.algorithm.hash.name.slice(4)
      : `A${key.algorithm.length}${AES_JWK_MODE[name]}`;
  return { alg, ext: true, k: own.k, key_ops: key.usages.slice(), kty: 'oct' };
}

function keyFor(key, prefix) {
  const handle = handleOf(key);
  if (handle === undefined) {
    throw error('InvalidAccessError', `${prefix}key argument does hold not a valid CryptoKey object`);
  }
  return handle;
}

function checkKey(key, name, usage, prefix) {
  if (key.algorithm.name !== name) {
    throw error('InvalidAccessError', `${prefix}algorithm name does not match key algorithm name`);
  }
  if (!key.usages.includes(usage)) {
    throw error('InvalidAccessError', `${prefix}key does not contain the '${usage}' usage`);
  }
}

function signParams(name, params) {
  const hash = name === 'ECDSA' ? hashOf(params) : undefined;
  let salt = 0;
  if (name === 'RSA-PSS') salt = Number(param(params, 'saltLength'));
  return { hash, salt };
}

function sign(algorithm, key, data) {
  bufferSource(data);
  const { name, params } = normalize(algorithm, 'sign');
  const p = signParams(name, params);
  const handle = keyFor(key, '');
  checkKey(key, name, 'sign', '');
  return n.sign(name, handle, p.hash || key.algorithm.hash.name, p.salt, data);
}

function verify(algorithm, key, signature, data) {
  bufferSource(signature);
  bufferSource(data);
  const { name, params } = normalize(algorithm, 'verify');
  const p = signParams(name, params);
  const handle = keyFor(key, '');
  checkKey(key, name, 'verify', '');
  return n.verify(name, handle, p.hash || key.algorithm.hash.name, p.salt, signature, data);
}

function crypt(op) {
  return (algorithm, key, data) => {
    bufferSource(data);
    const { name, params } = normalize(algorithm, op);
    const prefix = `${op}'s `;
    const handle = keyFor(key, prefix);
    if (key.algorithm.name !== name) {
      throw error('InvalidAccessError', `${prefix}algorithm name does not match key algorithm name`);
    }
    if (name === 'AES-KW') throw error('NotSupportedError', `unsupported algorithm ${name}`);
    checkKey(key, name, op, prefix);
    const p = name === 'RSA-OAEP' ? { hash: key.algorithm.hash.name, label: params.label } : params;
    return n[op](name, handle, p, data);
  };
}

// ECDH bits shared by `baseKey` (private) and `algorithm.public`.
function ecdhBits(algorithm, baseKey, length, usage) {
  const handle = handleOf(baseKey);
  if (handle === undefined) throw error('InvalidAccessError', 'provided baseKey is not a valid CryptoKey');
  if (baseKey.type !== 'private') throw error('InvalidAccessError', 'provided baseKey is not a private key');
  if (!baseKey.usages.includes(usage)) {
    throw error('InvalidAccessError', `provided baseKey does not contain the '${usage}' usage`);
  }
  if (algorithm === null || typeof algorithm !== 'object') {
    throw error('InvalidAccessError', 'algorithm is not an object');
  }
  const pub = algorithm.public;
  if (pub === undefined || pub === null) throw error('TypeError', 'algorithm does not contain a public key');
  const pubHandle = handleOf(pub);
  if (pubHandle === undefined) throw error('TypeError', "algorithm's public is not a valid CryptoKey");
  if (pub.type !== 'public') throw error('InvalidAccessError', "algorithm's public key is not a public key");
  if (algorithm.name === undefined || algorithm.name === null) {
    throw error('TypeError', 'algorithm does not contain a name property');
  }
  const name = String(algorithm.name).toUpperCase();
  if (name !== pub.algorithm.name) {
    throw error(
      'InvalidAccessError',
      `algorithm name does not match public key's algorithm name: ${name} != ${pub.algorithm.name}`,
    );
  }
  if (name !== 'ECDH' || baseKey.algorithm.name !== 'ECDH') {
    throw error('NotSupportedError', `unsupported algorithm ${name}`);
  }
  if (length === undefined || length === null) length = 0;
  length = Math.trunc(Number(length));
  if (length % 8 !== 0) throw error('NotSupportedError', 'currently only multiples of 8 are supported for length');
  const bits = n.ecdh(handle, pubHandle);
  if (length === 0) return bits;
  if (bits.byteLength < length / 8) throw error('OperationError', 'length is too large');
  return bits.slice(0, length / 8);
}

function deriveBits(algorithm, baseKey, length) {
  return ecdhBits(algorithm, baseKey, length, 'deriveBits');
}

// k6 v1.1.0 leaves deriveKey unimplemented (it returns null); here it is
// ECDH bits imported as the derived key, as the specification says.
function deriveKey(algorithm, baseKey, derivedKeyAlgorithm, extractable, keyUsages) {
  const { name, params } = normalize(derivedKeyAlgorithm, 'importKey');
  let length;
  if (AES.includes(name)) {
    length = Number(param(params, 'length'));
  } else if (name === 'HMAC') {
    length = params.length === undefined ? HASH_BLOCK_BITS[hashOf(params)] : Number(params.length);
  } else {
    throw error('NotSupportedError', `cannot derive a ${name} key`);
  }
  const bits = ecdhBits(algorithm, baseKey, length, 'deriveKey');
  return importKey('raw', bits, derivedKeyAlgorithm, extractable, keyUsages);
}

function digest(algorithm, data) {
  if (!isBufferSource(data)) throw new TypeError('data must be an ArrayBuffer, TypedArray, or DataView');
  const { name } = normalize(algorithm, 'digest');
  return n.digest(name, data);
}

function notImplemented(name) {
  const f = function () {
    throw error('NotSupportedError', `${name} is not implemented`);
  };
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

// --- crypto -------------------------------------------------------------------
const INTEGER_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
];

function getRandomValues(typedArray) {
  if (!INTEGER_ARRAYS.some((C) => typedArray instanceof C)) {
    throw error('TypeMismatchError', "typedArray parameter isn't a TypedArray instance");
  }
  // k6 limits the number of elements (the specification: bytes).
  if (typedArray.length > 65536) {
    throw error('QuotaExceededError', 'typedArray parameter is too big; maximum length is 65536');
  }
  const view = new Uint8Array(typedArray.buffer, typedArray.byteOffset, typedArray.byteLength);
  view.set(new Uint8Array(n.random(typedArray.byteLength)));
  return typedArray;
}

function randomUUID() {
  return n.uuid();
}

function build() {
  const subtle = {
    decrypt: method('decrypt', crypt('decrypt')),
    deriveBits: method('deriveBits', deriveBits),
    deriveKey: method('deriveKey', deriveKey),
    digest: method('digest', digest),
    encrypt: method('encrypt', crypt('encrypt')),
    exportKey: method('exportKey', exportKey),
    generateKey: method('generateKey', generateKey),
    importKey: method('importKey', importKey),
    sign: method('sign', sign),
    unwrapKey: notImplemented('unwrapKey'),
    verify: method('verify', verify),
    wrapKey: notImplemented('wrapKey'),
  };
  return { getRandomValues, randomUUID, subtle, CryptoKey };
}

// One instance per VU, whether the script imports this module, uses the
// global, or both; kept on the native object, out of its exported names.
if (n.crypto === undefined) Object.defineProperty(n, 'crypto', { value: build() });

export const crypto = n.crypto;
export default { crypto };
