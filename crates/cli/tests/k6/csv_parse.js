// compare: counts
// k6/experimental/csv and k6/experimental/fs: parse() shared by all VUs, a
// streaming Parser, and a File read by position.
import { open, SeekMode } from 'k6/experimental/fs';
import csv from 'k6/experimental/csv';
import { check } from 'k6';

export const options = { iterations: 4, vus: 2, thresholds: { checks: ['rate==1'] } };

const file = await open('./data/people.csv');
const rows = await csv.parse(file, { skipFirstLine: true });
const people = await csv.parse(await open('./data/people.csv'), { asObjects: true });
const parser = new csv.Parser(await open('./data/people.csv'), { fromLine: 1, toLine: 2 });
const raw = await open('./data/people.csv');

export default async function () {
  check(rows, {
    'rows': (r) => r.length === 3 && Array.isArray(r),
    'quoted comma': (r) => r[0][2] === 'New York, NY',
    'escaped quotes and newline': (r) => r[2][0] === 'carl "the third"' && r[2][2] === 'multi\nline',
    'read-only': (r) => { try { r[0] = 1; return false; } catch (e) { return true; } },
  });
  check(people, {
    'objects': (p) => p[1].name === 'bob' && p[1].age === '25',
  });
  const next = await parser.next();
  check(next, { 'parser gives a row or is done': (n) => (n.done ? n.value.length === 0 : n.value.length === 3) });
  const info = await raw.stat();
  const buf = new Uint8Array(4);
  await raw.seek(0, SeekMode.Start);
  const n = await raw.read(buf);
  check(info, {
    'stat': (i) => i.name === 'people.csv' && i.size > 50,
    'read': () => n === 4 && String.fromCharCode(...buf) === 'name',
  });
}
