// compare: counts
// Web Crypto: digests, HMAC, AES-CBC/CTR/GCM with known keys, random values
// and UUIDs; every check passes in k6 v1.1.0 and in Stampede.
import { check } from 'k6';

export const options = { iterations: 2, thresholds: { checks: ['rate==1'] } };

const hex = (b) => Array.from(new Uint8Array(b)).map((x) => x.toString(16).padStart(2, '0')).join('');
const bytes = (s) => new Uint8Array(s.split('').map((c) => c.charCodeAt(0)));
async function failure(p) {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e.name;
  }
}

export default async function () {
  const subtle = crypto.subtle;
  const data = bytes('hello world');
  const digests = {};
  for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
    digests[alg] = hex(await subtle.digest(alg, data));
  }
  check(digests, {
    'sha-1': (d) => d['SHA-1'] === '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed',
    'sha-256': (d) => d['SHA-256'] === 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9',
    'sha-384': (d) => d['SHA-384'].startsWith('fdbd8e75a67f29f701a4e040385e2e23'),
    'sha-512': (d) => d['SHA-512'].startsWith('309ecc489c12d6eb4cc40f50c902f2b4'),
  });
  check(await failure(subtle.digest('MD5', data)), { 'md5 not supported': (n) => n === 'NotSupportedError' });

  const hmac = await subtle.importKey('raw', bytes('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
  const sig = await subtle.sign('HMAC', hmac, bytes('The quick brown fox jumps over the lazy dog'));
  check(sig, {
    'hmac sign': (s) => hex(s) === 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
  });
  check(await subtle.verify('HMAC', hmac, sig, bytes('The quick brown fox jumps over the lazy dog')), {
    'hmac verify': (ok) => ok === true,
  });
  check(await subtle.verify('HMAC', hmac, sig, bytes('the quick brown fox')), {
    'hmac verify tampered': (ok) => ok === false,
  });
  check(await subtle.exportKey('jwk', hmac), {
    'hmac jwk': (j) => j.kty === 'oct' && j.k === 'a2V5' && j.alg === 'HS256' && j.ext === true,
  });
  check(hmac, {
    'hmac key': (k) => k.type === 'secret' && k.extractable && k.algorithm.name === 'HMAC' && k.algorithm.hash.name === 'SHA-256',
  });
  const generated = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-512' }, true, ['sign']);
  check(await subtle.exportKey('raw', generated), {
    'hmac generated length': (raw) => raw.byteLength === 128 && generated.algorithm.length === 1024,
  });

  const raw = new Uint8Array(16).map((_, i) => i);
  const iv = new Uint8Array(16).map((_, i) => 100 + i);
  const cbc = await subtle.importKey('raw', raw, 'AES-CBC', true, ['encrypt', 'decrypt']);
  const cbcText = await subtle.encrypt({ name: 'AES-CBC', iv }, cbc, bytes('hello'));
  check(cbcText, { 'aes-cbc encrypt': (c) => hex(c) === '4183c760d2f753bf6ef1d2581f6ce98b' });
  check(await subtle.decrypt({ name: 'AES-CBC', iv }, cbc, cbcText), {
    'aes-cbc decrypt': (p) => hex(p) === hex(bytes('hello')),
  });
  check(await failure(subtle.decrypt({ name: 'AES-CBC', iv }, cbc, new Uint8Array(16))), {
    'aes-cbc bad padding': (n) => n === 'OperationError',
  });
  const ctr = await subtle.importKey('raw', raw, { name: 'AES-CTR' }, true, ['encrypt', 'decrypt']);
  check(await subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, ctr, bytes('hello')), {
    'aes-ctr encrypt': (c) => hex(c) === 'f6da02f0d2',
  });
  const gcm = await subtle.importKey('raw', raw, 'AES-GCM', true, ['encrypt', 'decrypt']);
  const gcmParams = { name: 'AES-GCM', iv: iv.slice(0, 12), additionalData: bytes('aad') };
  const gcmText = await subtle.encrypt(gcmParams, gcm, bytes('hello'));
  check(gcmText, { 'aes-gcm encrypt': (c) => hex(c) === '720722c9b47879d005a9ab6fecb95a0b7c73996e41' });
  check(await subtle.decrypt(gcmParams, gcm, gcmText), {
    'aes-gcm decrypt': (p) => hex(p) === hex(bytes('hello')),
  });
  check(await failure(subtle.decrypt({ name: 'AES-GCM', iv: iv.slice(0, 12) }, gcm, gcmText)), {
    'aes-gcm wrong aad': (n) => n === 'OperationError',
  });
  check(await subtle.exportKey('jwk', gcm), {
    'aes jwk': (j) => j.k === 'AAECAwQFBgcICQoLDA0ODw' && j.alg === 'A128GCM' && j.key_ops.join() === 'encrypt,decrypt',
  });
  const gen = await subtle.generateKey({ name: 'AES-CBC', length: 256 }, false, ['encrypt', 'decrypt']);
  const roundTrip = await subtle.decrypt({ name: 'AES-CBC', iv }, gen, await subtle.encrypt({ name: 'AES-CBC', iv }, gen, data));
  check(roundTrip, { 'aes generated round trip': (p) => hex(p) === hex(data) && gen.algorithm.length === 256 });
  check(await failure(subtle.exportKey('raw', gen)), { 'not extractable': (n) => n === 'InvalidAccessError' });
  check(await failure(subtle.encrypt({ name: 'AES-GCM', iv: iv.slice(0, 12) }, cbc, data)), {
    'algorithm mismatch': (n) => n === 'InvalidAccessError',
  });
  check(await failure(subtle.importKey('raw', new Uint8Array(20), 'AES-GCM', true, ['encrypt'])), {
    'bad key length': (n) => n === 'DataError',
  });
  check(await failure(subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, [])), {
    'empty usages': (n) => n === 'SyntaxError',
  });

  const values = crypto.getRandomValues(new Uint8Array(32));
  check(values, { 'random values': (v) => v.length === 32 && v.some((x) => x !== 0) });
  let quota = '';
  try {
    crypto.getRandomValues(new Uint8Array(70000));
  } catch (e) {
    quota = String(e);
  }
  check(quota, { 'random values quota': (q) => q.includes('QuotaExceededError') });
  check(crypto.randomUUID(), {
    'uuid v4': (u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u),
  });
}
