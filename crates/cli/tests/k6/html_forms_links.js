// compare: counts
// Response.clickLink() and submitForm(), and object bodies encoded as Go's
// url.Values (keys sorted, QueryEscape).
import http from 'k6/http';
import { check } from 'k6';
import encoding from 'k6/encoding';

export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };

const page = '<form action="/anything/x?q=1#top"><input name="b" value="2"><input name="a" value="1 !">'
  + '<button type="submit" name="go" value="yes">Go</button></form><a id="none">no href</a>';

function thrown(f) {
  try {
    f();
    return 'no error';
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}

export default function () {
  const B = __ENV.BASE_URL;
  const body = http.post(`${B}/post`, { b: '1 2', a: ['x', 'y'], c: "!*()'" });
  check(body, {
    'object body as url.Values': (r) => r.request.body === "a=x&a=y&b=1+2&c=%21%2A%28%29%27",
  });

  const links = http.get(`${B}/links/3/1`);
  check(links.clickLink(), {
    'first link': (r) => r.status === 200 && r.url === `${B}/links/3/0` && r.request.method === 'GET',
  });
  check(links.clickLink({ selector: 'a:last-child', params: { headers: { 'X-A': 'b' } } }), {
    'chosen link with params': (r) => r.url === `${B}/links/3/2` && r.request.headers['X-A'][0] === 'b',
  });
  check(links.clickLink(5), { 'a number is no options': (r) => r.url === `${B}/links/3/0` });

  const pizza = http.get(`${B}/forms/post`);
  const sent = pizza.submitForm({ fields: { custname: 'Ann', size: 'large' } });
  check(sent, {
    'posted form': (r) => r.status === 200 && r.url === `${B}/post` && r.request.method === 'POST',
    'form fields': (r) => r.request.body === 'comments=&custemail=&custname=Ann&custtel=&delivery=&size=large',
  });

  const own = http.get(`${B}/base64/${encoding.b64encode(page, 'rawurl')}`);
  const got = own.submitForm({ params: { tags: { name: 'own form' } } });
  check(got, {
    'GET form replaces the query': (r) => r.url === `${B}/anything/x?a=1+%21&b=2&go=yes#top` && r.request.method === 'GET',
    'query arrives': (r) => r.json('args.a') === '1 !' && r.json('args.go') === 'yes' && r.json('args.q') === undefined,
  });
  const other = own.submitForm({ submitSelector: 'input[name=b]', fields: { b: 3 } });
  check(other, { 'fields win': (r) => r.url === `${B}/anything/x?a=1+%21&b=3#top` });

  check(null, {
    'no element': () => thrown(() => pizza.clickLink({ selector: 'a.missing' }))
      === `GoError: no element found for selector 'a.missing' in response '${B}/forms/post'`,
    'no href': () => thrown(() => own.clickLink({ selector: '#none' }))
      === `GoError: no valid href attribute value found on element '#none' in response '${own.url}'`,
    'no form': () => thrown(() => links.submitForm())
      === `GoError: no form found for selector 'form' in response '${B}/links/3/1'`,
    'null options': () => thrown(() => links.clickLink(null))
      === 'TypeError: Cannot convert undefined or null to object',
  });
}
