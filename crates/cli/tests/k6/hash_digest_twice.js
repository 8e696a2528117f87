// compare: counts
// k6's hashers are Go hashes: digest() does not reset them.
import crypto from 'k6/crypto';
import { check } from 'k6';

export const options = { iterations: 1 };

export default function () {
  const h = crypto.createHash('sha256');
  h.update('hel');
  const hex = h.digest('hex');
  const b64 = h.digest('base64');
  h.update('lo');
  const m = crypto.createHMAC('sha256', 'key');
  m.update('data');
  check(null, {
    'same digest in two encodings': () =>
      hex === 'd6a81f224bbf2f7c22baddbd5d40730eb20cfb0b3d74e10cab61788214caceb1' &&
      b64 === '1qgfIku/L3wiut29XUBzDrIM+ws9dOEMq2F4ghTKzrE=',
    'update after digest continues': () => h.digest('hex') === crypto.sha256('hello', 'hex'),
    'hmac digest twice': () =>
      m.digest('hex') === m.digest('hex') && m.digest('hex') === crypto.hmac('sha256', 'key', 'data', 'hex'),
  });
}
