// compare: counts
import { check } from 'k6';
import encoding from 'k6/encoding';
import crypto from 'k6/crypto';
export const options = { iterations: 1 };
export default function () {
  check(null, {
    'b64': () => encoding.b64encode('hello world') === 'aGVsbG8gd29ybGQ=',
    'b64url raw': () => encoding.b64encode('?>?', 'rawurl') === 'Pz4_',
    'b64 decode': () => encoding.b64decode('aGVsbG8gd29ybGQ=', 'std', 's') === 'hello world',
    'md5': () => crypto.md5('abc', 'hex') === '900150983cd24fb0d6963f7d28e17f72',
    'sha1 b64': () => crypto.sha1('abc', 'base64') === 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
    'sha384': () => crypto.sha384('abc', 'hex').startsWith('cb00753f45a35e8b'),
    'hmac': () => crypto.hmac('sha256', 'key', 'The quick brown fox jumps over the lazy dog', 'hex') === 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    'random': () => crypto.randomBytes(4).byteLength === 4,
  });
}
