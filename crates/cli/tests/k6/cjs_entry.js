// compare: counts
// An entry script written in CommonJS: options, setup and default through
// module.exports and exports, built-in and local modules through require().
const { check } = require('k6');
const helper = require('./lib/cjs/helper.js');
const words = require('./lib/cjs/reads-data.js');

module.exports.options = {
  iterations: 3,
  thresholds: { checks: ['rate==1'] },
};

exports.setup = function () {
  return { base: __ENV.BASE_URL };
};

module.exports.default = function (data) {
  check(helper.fetch(`${data.base}/status/204`), {
    'require(k6/http) works': (s) => s === 204,
    'required file opened its data': () => words.count() === 3,
  });
};
