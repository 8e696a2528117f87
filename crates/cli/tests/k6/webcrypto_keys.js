// compare: counts
// Web Crypto keys: ECDSA, ECDH and RSA (PKCS#1 v1.5, PSS, OAEP) with keys
// made by openssl, imported and exported as PKCS#8, SPKI, raw and JWK, and
// generated keys; every check passes in k6 v1.1.0 and in Stampede.
import { check } from 'k6';
import encoding from 'k6/encoding';

export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };

const EC_PKCS8 = encoding.b64decode('MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjAPrYvC8KGzK/EW4+ZQn6PElHvvRBYmYxfgi6K86EgahRANCAAT9Edc97PPbOWw+6JaLfO6YPlmOVPB+cfXKA3sJNCflNozrJGV9TsiRgvoAV2p7eO5l6LpmZwDMCEAVV0NapkYP');
const EC_SPKI = encoding.b64decode('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/RHXPezz2zlsPuiWi3zumD5ZjlTwfnH1ygN7CTQn5TaM6yRlfU7IkYL6AFdqe3juZei6ZmcAzAhAFVdDWqZGDw==');
const RSA_PKCS8 = encoding.b64decode('MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAMBMbHVwTd69PsE+25wnPZOXTOIRCaAG32NBgE2UhQiigOwqy0P9dEbpGWVgkw5F2rRRuwG4cy9JREKdMcczPX/ewIp+TSenfktOkDontH+QJQQSjy/nG+4Cw+RnxG3J4e3FXOYjWRwW83t4RnP+XSaaNVBjYfHFo0Bw5Q1+DGvzAgMBAAECgYBT2P7xtiY+GQZj/KSFUhbnY/GCISuxO03sWYM4UKoxOao9T+uRmdI5mSoZqiJ09sCGH50LAwI2fBvnb+NkmFMXzOtWnc02inTf3r0JxHMy8u1GdSU2F82n2zudNhbBJ2Doc6Iuc9P9i8tX1pkHSBZpkViwIjhKw5+gcInSQyFrAQJBAN4Q2aMwhiwaBZAsE4ogkycD9ZCB86Dj4UWFwjK4lCjubi77OI3wG7+YgEoLuPUL/UGg0yXqwgpghkKKHNrw0wcCQQDdrxX4UXu3NE4rEYMyrPDxTB33e8p9zNYxByjtxbGC1PgX3O3jXReQUuv4Lv732b81AyHWL/mWL8U3b9eUmQi1AkBDKVt5ZJqfyfr2wK3kL7fxq9vgKb1yYplmOm8igfqlan8+jFJtczohN1FNk8ALtOWSrL5PkHHBS7Ive7AAc6ePAkAgh73Ql5xw8OL7nPFEsW4V6paHJ4o6VaGkxikyYw0+ZqQVVF0wPQvlKNXpsHPHyRMu40vG03lrmYz2KppW+vH1AkAsdCreNPuQcfKmlLKIT77fAo9TkK7x83KXGfPepcu6K4sQsW3WscdSNxVzKKOl9VBtFRhA2BRBhGtj29bOGwnm');
const RSA_SPKI = encoding.b64decode('MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDATGx1cE3evT7BPtucJz2Tl0ziEQmgBt9jQYBNlIUIooDsKstD/XRG6RllYJMORdq0UbsBuHMvSURCnTHHMz1/3sCKfk0np35LTpA6J7R/kCUEEo8v5xvuAsPkZ8RtyeHtxVzmI1kcFvN7eEZz/l0mmjVQY2HxxaNAcOUNfgxr8wIDAQAB');

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
  const data = bytes('the data to sign');
  const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' };
  const ecPrivate = await subtle.importKey('pkcs8', EC_PKCS8, ecdsa, true, ['sign']);
  const ecPublic = await subtle.importKey('spki', EC_SPKI, ecdsa, true, ['verify']);
  check(ecPrivate, {
    // k6 v1.1.0's namedCurve is no plain string: only its JSON is compared.
    'ec private key': (k) => k.type === 'private' && k.algorithm.name === 'ECDSA' && JSON.stringify(k.algorithm).includes('"P-256"'),
  });
  check(await subtle.exportKey('pkcs8', ecPrivate), { 'ec pkcs8 round trip': (d) => hex(d) === hex(EC_PKCS8) });
  check(await subtle.exportKey('spki', ecPublic), { 'ec spki round trip': (d) => hex(d) === hex(EC_SPKI) });
  const point = await subtle.exportKey('raw', ecPublic);
  check(point, { 'ec raw public point': (p) => p.byteLength === 65 && hex(p).startsWith('04fd11d73decf3db') });
  check(await subtle.exportKey('jwk', ecPrivate), {
    'ec jwk': (j) =>
      j.kty === 'EC' && j.crv === 'P-256' &&
      j.x === '_RHXPezz2zlsPuiWi3zumD5ZjlTwfnH1ygN7CTQn5TY' &&
      j.y === 'jOskZX1OyJGC-gBXant47mXoumZnAMwIQBVXQ1qmRg8' &&
      j.d === 'jAPrYvC8KGzK_EW4-ZQn6PElHvvRBYmYxfgi6K86EgY',
  });
  const fromRaw = await subtle.importKey('raw', point, ecdsa, true, ['verify']);
  for (const hash of ['SHA-256', 'SHA-384', 'SHA-512']) {
    const sig = await subtle.sign({ name: 'ECDSA', hash }, ecPrivate, data);
    check(sig, { 'ecdsa signature size': (s) => s.byteLength === 64 });
    check(await subtle.verify({ name: 'ECDSA', hash }, fromRaw, sig, data), { 'ecdsa verify': (ok) => ok === true });
    check(await subtle.verify({ name: 'ECDSA', hash }, ecPublic, sig, bytes('other data')), {
      'ecdsa verify other data': (ok) => ok === false,
    });
  }
  check(await failure(subtle.sign({ name: 'ECDSA' }, ecPrivate, data)), { 'ecdsa without hash': (n) => n === 'SyntaxError' });
  check(await failure(subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ecPublic, data)), {
    'sign with a public key': (n) => n === 'InvalidAccessError',
  });
  check(await failure(subtle.exportKey('spki', ecPrivate)), { 'spki of a private key': (n) => n === 'InvalidAccessError' });
  for (const namedCurve of ['P-384', 'P-521']) {
    const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
    const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-512' }, pair.privateKey, data);
    check(sig, { 'generated ecdsa signature size': (s) => s.byteLength === (namedCurve === 'P-384' ? 96 : 132) });
    check(await subtle.verify({ name: 'ECDSA', hash: 'SHA-512' }, pair.publicKey, sig, data), {
      'generated ecdsa verify': (ok) => ok === true,
    });
  }

  const ecdh = { name: 'ECDH', namedCurve: 'P-256' };
  const dhPrivate = await subtle.importKey('pkcs8', EC_PKCS8, ecdh, true, ['deriveBits']);
  const dhPublic = await subtle.importKey('spki', EC_SPKI, ecdh, true, []);
  check(await subtle.deriveBits({ name: 'ECDH', public: dhPublic }, dhPrivate, 256), {
    'ecdh known secret': (b) => hex(b) === 'e6475d9992d53ea9ef3bd676edba531b2f0ef1aca88f231731882074fa5aded5',
  });
  const alice = await subtle.generateKey(ecdh, true, ['deriveBits']);
  const bob = await subtle.generateKey(ecdh, true, ['deriveBits']);
  const ab = await subtle.deriveBits({ name: 'ECDH', public: bob.publicKey }, alice.privateKey, 128);
  const ba = await subtle.deriveBits({ name: 'ECDH', public: alice.publicKey }, bob.privateKey, 128);
  check(ab, { 'ecdh agreement': (b) => b.byteLength === 16 && hex(b) === hex(ba) });
  check(await failure(subtle.deriveBits({ name: 'ECDH', public: bob.publicKey }, alice.privateKey, 1024)), {
    'ecdh too long': (n) => n === 'OperationError',
  });

  // k6 v1.1.0 cannot use an imported RSA public key (verify, encrypt and
  // SPKI export fail): public-key operations use generated keys.
  const pkcs1 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const rsaPrivate = await subtle.importKey('pkcs8', RSA_PKCS8, pkcs1, true, ['sign']);
  const rsaPublic = await subtle.importKey('spki', RSA_SPKI, pkcs1, true, ['verify']);
  check(rsaPublic, { 'rsa public key': (k) => k.algorithm.modulusLength === 1024 && k.algorithm.hash.name === 'SHA-256' });
  const rsaSig = await subtle.sign('RSASSA-PKCS1-v1_5', rsaPrivate, data);
  check(hex(await subtle.digest('SHA-256', rsaSig)), { 'rsassa known signature': (h) => h === 'a14d245426687ba353555c1d8a97714c6184ded31957d7b8fcdf124ae77fc72a' });
  check(await subtle.exportKey('pkcs8', rsaPrivate), { 'rsa pkcs8 round trip': (d) => hex(d) === hex(RSA_PKCS8) });
  const rsaJwk = await subtle.exportKey('jwk', rsaPrivate);
  check(rsaJwk, { 'rsa jwk': (j) => j.kty === 'RSA' && j.e === 'AQAB' && typeof j.qi === 'string' && typeof j.dp === 'string' });
  check(await subtle.exportKey('jwk', rsaPublic), { 'rsa public jwk': (j) => j.n === rsaJwk.n && j.e === rsaJwk.e });
  const fromJwk = await subtle.importKey('jwk', rsaJwk, pkcs1, false, ['sign']);
  check(await subtle.sign('RSASSA-PKCS1-v1_5', fromJwk, data), { 'rsa jwk import signs the same': (s) => hex(s) === hex(rsaSig) });
  check(await failure(subtle.exportKey('raw', rsaPublic)), { 'raw rsa export': (n) => n === 'NotSupportedError' });
  const rsaParams = (name) => ({ name, modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' });
  const signer = await subtle.generateKey(rsaParams('RSASSA-PKCS1-v1_5'), true, ['sign', 'verify']);
  const signed = await subtle.sign('RSASSA-PKCS1-v1_5', signer.privateKey, data);
  check(await subtle.verify('RSASSA-PKCS1-v1_5', signer.publicKey, signed, data), { 'rsassa verify': (ok) => ok === true });
  check(await subtle.verify('RSASSA-PKCS1-v1_5', signer.publicKey, signed, bytes('other data')), { 'rsassa verify other data': (ok) => ok === false });
  const pss = await subtle.generateKey(rsaParams('RSA-PSS'), true, ['sign', 'verify']);
  const pssSig = await subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, pss.privateKey, data);
  check(await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pss.publicKey, pssSig, data), { 'rsa-pss verify': (ok) => ok === true });
  check(await failure(subtle.sign({ name: 'RSA-PSS' }, pss.privateKey, data)), { 'rsa-pss without salt': (n) => n === 'SyntaxError' });
  const generated = await subtle.generateKey(rsaParams('RSA-OAEP'), true, ['encrypt', 'decrypt']);
  check(generated, {
    'generated rsa usages': (p) => p.publicKey.usages.join() === 'encrypt' && p.privateKey.usages.join() === 'decrypt',
  });
  const spki = await subtle.exportKey('spki', generated.publicKey);
  const reimported = await subtle.importKey('spki', spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt']);
  check(await subtle.exportKey('jwk', reimported), { 'generated rsa spki': (j) => j.kty === 'RSA' && j.e === 'AQAB' && reimported.algorithm.modulusLength === 1024 });
  const label = bytes('label');
  const sealed = await subtle.encrypt({ name: 'RSA-OAEP', label }, generated.publicKey, data);
  check(await subtle.decrypt({ name: 'RSA-OAEP', label }, generated.privateKey, sealed), {
    'generated rsa-oaep round trip': (p) => hex(p) === hex(data),
  });
  check(await failure(subtle.decrypt({ name: 'RSA-OAEP' }, generated.privateKey, sealed)), { 'rsa-oaep wrong label': (n) => n === 'OperationError' });
  check(await failure(subtle.generateKey({ name: 'Ed25519' }, true, ['sign'])), { 'ed25519 not supported': (n) => n === 'NotSupportedError' });
  check(await failure(subtle.importKey('raw', bytes('pw'), 'PBKDF2', false, ['deriveBits'])), {
    'pbkdf2 not supported': (n) => n === 'NotSupportedError',
  });
}
