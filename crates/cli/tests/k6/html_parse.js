// compare: counts
// k6/html: parseHTML and res.html() with goquery's traversals, forms and links.
import http from 'k6/http';
import { parseHTML } from 'k6/html';
import { check, group } from 'k6';

export const options = { iterations: 2, vus: 1, thresholds: { checks: ['rate==1'] } };

const PAGE = `<html><head><title>Shop &amp; more</title></head><body>
<ul id="items"><li class="item" data-id="1" data-price="9.5">one</li><li class="item sel" data-id="2">two <b>bold</b></li><li>three</li></ul>
<a href="/next?page=2" class="nav">Next</a><a href="/prev">Prev</a>
<select name="size"><option value="s">S</option><option value="m" selected>M</option></select>
</body></html>`;

export default function () {
  const base = __ENV.BASE_URL;
  group('parseHTML', () => {
    const doc = parseHTML(PAGE);
    check(doc, {
      'title text': (d) => d.find('title').text() === 'Shop & more',
      'three items': (d) => d.find('li').size() === 3,
      'class filter': (d) => d.find('li').filter('.item').size() === 2,
      'children and parent': (d) => d.find('#items').children().size() === 3 && d.find('b').parent().attr('class') === 'item sel',
      'attr and default': (d) => d.find('a').attr('href') === '/next?page=2' && d.find('a').attr('nope', 'x') === 'x',
      'data attributes': (d) => d.find('li').first().data('price') === 9.5 && d.find('li').eq(1).data().id === 2,
      'eq, last, next, prev': (d) => d.find('li').eq(1).next().text() === 'three' && d.find('li').last().prev().attr('class') === 'item sel',
      'each and map': (d) => d.find('li').map((i, s) => s.text()).join('|') === 'one|two bold|three',
      'elements': (d) => d.find('li').get(0).textContent() === 'one' && d.find('li').get(1).nodeName() === 'li',
      'contains pseudo': (d) => d.find('a:contains("Prev")').attr('href') === '/prev',
      'select val': (d) => d.find('select').val() === 'm',
      'is, not, has': (d) => d.find('li').is('.sel') && d.find('li').not('.sel').size() === 2 && d.find('li').has('b').size() === 1,
      'html of first': (d) => d.find('li').eq(1).html() === 'two <b>bold</b>',
    });
  });
  group('res.html', () => {
    const page = http.get(`${base}/html`);
    check(page, {
      'h1': (r) => r.html('h1').text() === 'Herman Melville - Moby-Dick',
      'paragraph': (r) => r.html().find('p').text().includes('Ahab'),
    });
    const form = http.get(`${base}/forms/post`).html();
    check(form, {
      'form action': (f) => f.find('form').attr('action') === '/post',
      'inputs': (f) => f.find('input').size() === 11,
      'radio values': (f) => f.find('input[type=radio]').map((i, s) => s.val()).join(',') === 'small,medium,large',
      'serialize': (f) => f.find('form').serialize() === 'comments=&custemail=&custname=&custtel=&delivery=',
      'form element': (f) => f.find('form').get(0).method() === 'post' && f.find('form').get(0).elements().length === 15,
    });
    const links = http.get(`${base}/links/5/0`).html('a');
    check(links, {
      'links': (l) => l.size() === 4,
      'resolved href': (l) => l.get(0).href() === `${base}/links/5/1`,
    });
  });
}
