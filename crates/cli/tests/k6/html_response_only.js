// compare: counts
// Response.html() without importing k6/html: the module loads on first use.
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 3, vus: 2, thresholds: { checks: ['rate==1'] } };

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/html`);
  check(res, {
    'selector argument': (r) => r.html('h1').text() === 'Herman Melville - Moby-Dick',
    'twice': (r) => r.html('h1').size() === 1 && r.html('p').size() === 1,
    'find on the document': (r) => r.html().find('p').size() === 1,
  });
}
