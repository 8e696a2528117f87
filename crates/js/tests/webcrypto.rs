//! Web Crypto (`crypto`, `crypto.subtle`) end to end in a VU. Expected
//! values come from k6 v1.1.0 running the same calls.

mod common;

use common::{iterate, Script};
use stampede_js::IterationOutcome;

/// Runs `body` (the inside of an async default function that pushes the
/// names of failed expectations to `failed`) and asserts nothing failed.
fn expect_all(body: &str) {
    let source = format!(
        "const hex = (b) => Array.from(new Uint8Array(b)).map((x) => x.toString(16).padStart(2, '0')).join('');\n\
         const bytes = (s) => new Uint8Array(s.split('').map((c) => c.charCodeAt(0)));\n\
         async function rejects(p) {{ try {{ await p; return 'resolved'; }} catch (e) {{ return e.name; }} }}\n\
         export default async function () {{\n\
           const failed = [];\n\
           const expect = (name, ok) => {{ if (!ok) failed.push(name); }};\n\
           const subtle = crypto.subtle;\n\
           {body}\n\
           if (failed.length) throw new Error('failed: ' + failed.join(', '));\n\
         }}\n"
    );
    let out = iterate(&source, 1);
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

#[test]
fn random_values_and_uuids() {
    expect_all(
        "const a = new Uint32Array(8);\n\
         expect('same array', crypto.getRandomValues(a) === a);\n\
         expect('filled', a.some((x) => x !== 0));\n\
         expect('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));\n\
         let name = '';\n\
         try { crypto.getRandomValues(new Float32Array(2)); } catch (e) { name = e.name; }\n\
         expect('floats refused', name === 'TypeMismatchError');\n\
         try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { name = e.name; }\n\
         expect('quota', name === 'QuotaExceededError');",
    );
}

#[test]
fn digest_hmac_and_aes_match_k6() {
    expect_all(
        "expect('sha1', hex(await subtle.digest('SHA-1', bytes('hello'))) === 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d');\n\
         expect('md5 refused', (await rejects(subtle.digest('MD5', bytes('x')))) === 'NotSupportedError');\n\
         const hk = await subtle.importKey('raw', bytes('secret'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);\n\
         expect('hmac length', hk.algorithm.length === 48 && hk.algorithm.hash.name === 'SHA-256');\n\
         const sig = await subtle.sign('HMAC', hk, bytes('hello'));\n\
         expect('hmac', hex(sig) === '88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b');\n\
         expect('hmac verify', await subtle.verify('HMAC', hk, sig, bytes('hello')));\n\
         const jwk = await subtle.exportKey('jwk', hk);\n\
         expect('hmac jwk', jwk.k === 'c2VjcmV0' && jwk.alg === 'HS256' && jwk.kty === 'oct');\n\
         const raw = new Uint8Array(16).map((_, i) => i);\n\
         const iv = new Uint8Array(16).map((_, i) => 100 + i);\n\
         const cbc = await subtle.importKey('raw', raw, 'AES-CBC', true, ['encrypt', 'decrypt']);\n\
         const ct = await subtle.encrypt({ name: 'AES-CBC', iv }, cbc, bytes('hello'));\n\
         expect('cbc', hex(ct) === '4183c760d2f753bf6ef1d2581f6ce98b');\n\
         expect('cbc back', hex(await subtle.decrypt({ name: 'AES-CBC', iv }, cbc, ct)) === hex(bytes('hello')));\n\
         const gcm = await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);\n\
         const g = await subtle.encrypt({ name: 'AES-GCM', iv: iv.slice(0, 12), additionalData: bytes('aad') }, gcm, bytes('hello'));\n\
         expect('gcm', hex(g) === '720722c9b47879d005a9ab6fecb95a0b7c73996e41');\n\
         expect('no decrypt usage', (await rejects(subtle.decrypt({ name: 'AES-GCM', iv: iv.slice(0, 12) }, gcm, g))) === 'InvalidAccessError');\n\
         expect('not extractable', (await rejects(subtle.exportKey('raw', gcm))) === 'InvalidAccessError');\n\
         const ctr = await subtle.importKey('raw', raw, 'AES-CTR', true, ['encrypt']);\n\
         expect('ctr', hex(await subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, ctr, bytes('hello'))) === 'f6da02f0d2');\n\
         const gen = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);\n\
         expect('generated', gen.type === 'secret' && gen.algorithm.length === 256 && gen instanceof crypto.CryptoKey);\n\
         expect('bad length', (await rejects(subtle.generateKey({ name: 'AES-GCM', length: 100 }, true, ['encrypt']))) === 'OperationError');\n\
         expect('no usages', (await rejects(subtle.generateKey({ name: 'AES-GCM', length: 128 }, true, []))) === 'SyntaxError');",
    );
}

#[test]
fn ec_and_rsa_keys_sign_verify_encrypt_and_derive() {
    expect_all(
        "for (const namedCurve of ['P-256', 'P-384', 'P-521']) {\n\
           const kp = await subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);\n\
           expect(namedCurve + ' usages', kp.privateKey.usages.join() === 'sign' && kp.publicKey.usages.join() === 'verify');\n\
           const s = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, kp.privateKey, bytes('data'));\n\
           expect(namedCurve + ' verify', await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, kp.publicKey, s, bytes('data')));\n\
           const spki = await subtle.exportKey('spki', kp.publicKey);\n\
           const again = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve }, true, ['verify']);\n\
           expect(namedCurve + ' spki', await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, again, s, bytes('data')));\n\
           const jwk = await subtle.exportKey('jwk', kp.privateKey);\n\
           const back = await subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve }, true, ['sign']);\n\
           expect(namedCurve + ' jwk', hex(await subtle.exportKey('pkcs8', back)) === hex(await subtle.exportKey('pkcs8', kp.privateKey)));\n\
         }\n\
         const a = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits', 'deriveKey']);\n\
         const b = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);\n\
         const ab = await subtle.deriveBits({ name: 'ECDH', public: b.publicKey }, a.privateKey, 256);\n\
         const ba = await subtle.deriveBits({ name: 'ECDH', public: a.publicKey }, b.privateKey, 256);\n\
         expect('ecdh', ab.byteLength === 32 && hex(ab) === hex(ba));\n\
         expect('ecdh odd length', (await rejects(subtle.deriveBits({ name: 'ECDH', public: b.publicKey }, a.privateKey, 12))) === 'NotSupportedError');\n\
         const derived = await subtle.deriveKey({ name: 'ECDH', public: b.publicKey }, a.privateKey, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);\n\
         expect('derived key', hex(await subtle.exportKey('raw', derived)) === hex(ab).slice(0, 32));\n\
         const rsa = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);\n\
         const ct = await subtle.encrypt({ name: 'RSA-OAEP', label: bytes('l') }, rsa.publicKey, bytes('secret'));\n\
         expect('oaep', hex(await subtle.decrypt({ name: 'RSA-OAEP', label: bytes('l') }, rsa.privateKey, ct)) === hex(bytes('secret')));\n\
         expect('oaep label', (await rejects(subtle.decrypt({ name: 'RSA-OAEP' }, rsa.privateKey, ct))) === 'OperationError');\n\
         expect('rsa alg', rsa.publicKey.algorithm.modulusLength === 1024 && rsa.publicKey.algorithm.hash.name === 'SHA-256');\n\
         const pkcs8 = await subtle.exportKey('pkcs8', rsa.privateKey);\n\
         const signer = await subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);\n\
         const verifier = await subtle.importKey('jwk', await subtle.exportKey('jwk', rsa.publicKey), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);\n\
         const s1 = await subtle.sign('RSASSA-PKCS1-v1_5', signer, bytes('data'));\n\
         const s2 = await subtle.sign('RSASSA-PKCS1-v1_5', signer, bytes('data'));\n\
         expect('pkcs1 deterministic', hex(s1) === hex(s2));\n\
         expect('pkcs1 verify', await subtle.verify('RSASSA-PKCS1-v1_5', verifier, s1, bytes('data')));\n\
         expect('raw rsa refused', (await rejects(subtle.exportKey('raw', rsa.publicKey))) === 'NotSupportedError');\n\
         expect('ed25519 unknown', (await rejects(subtle.generateKey({ name: 'Ed25519' }, true, ['sign']))) === 'NotSupportedError');",
    );
}

#[test]
fn global_module_and_init_context_share_one_instance() {
    let s = Script::new(
        "import k6crypto from 'k6/crypto';\n\
         const lazy = typeof Object.getOwnPropertyDescriptor(globalThis, 'crypto').get === 'function';\n\
         const id = crypto.randomUUID();\n\
         const loaded = 'value' in Object.getOwnPropertyDescriptor(globalThis, 'crypto');\n\
         export default async function () {\n\
           if (!lazy || !loaded) throw new Error('the global is built on first use');\n\
           const { crypto: imported } = await import('k6/experimental/webcrypto');\n\
           if (imported !== crypto) throw new Error('two instances');\n\
           if (id.length !== 36) throw new Error('init-context uuid');\n\
           if (typeof k6crypto.sha256 !== 'function') throw new Error('k6/crypto');\n\
           globalThis.crypto = 1;\n\
           if (crypto !== 1) throw new Error('the global is writable');\n\
         }\n",
    );
    let out = common::iterate_script(&s, 1);
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}

#[test]
fn an_imported_module_is_the_global() {
    let s = Script::new(
        "import { crypto as imported } from 'k6/experimental/webcrypto';\n\
         export default function () {\n\
           if (imported !== crypto || typeof imported.subtle.digest !== 'function') {\n\
             throw new Error('two instances');\n\
           }\n\
         }\n",
    );
    let out = common::iterate_script(&s, 1);
    assert_eq!(
        out.result,
        vec![IterationOutcome::Completed],
        "{:?}",
        out.logs
    );
}
