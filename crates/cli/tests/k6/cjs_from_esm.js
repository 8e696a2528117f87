// compare: counts
// ES module imports of CommonJS files (named, default, namespace,
// re-exported), a UMD bundle, a top-level return, require()
// of a file that open()s relative to itself, and k6's evaluation order.
import { check } from 'k6';
import { mark } from './lib/cjs/mark.js';
import order from './lib/cjs/order.js';
import summary, { textSummary, version, missing } from './lib/cjs/summary-umd.js';
import { FormData } from './lib/cjs/formdata-like.js';
import * as data from './lib/cjs/reads-data.js';
import { count } from './lib/cjs/reexport.js';
import compiled, { helper } from './lib/cjs/compiled-esm.js';

const required = require('./lib/cjs/reads-data.js');

export const options = { iterations: 2 };

export default function () {
  const fd = new FormData();
  fd.append('a', 1);
  check(null, {
    'named import': () => textSummary({ metrics: { a: 1, b: 2 } }) === 'total 2',
    'default import is module.exports': () => summary.version === version && version === '0.0.2',
    'missing name is undefined': () => missing === undefined,
    'top-level return': () => fd.parts.length === 1,
    'open relative to the CommonJS file': () => data.words.join() === 'alpha,beta,gamma',
    'require returns the same exports': () => required.count === data.count && count() === 3,
    'evaluated in order': () => mark && order.seen === 'set by mark.js',
    'this is module.exports': () => order.self === true,
    '__esModule: default is exports.default': () => compiled() === 'default fn' && helper() === 'helper',
  });
}
