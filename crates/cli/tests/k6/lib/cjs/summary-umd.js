// A UMD bundle, shaped as jslib's k6-summary and k6-utils ship.
(function (root, factory) {
  if (typeof exports === 'object' && typeof module === 'object') module.exports = factory();
  else if (typeof define === 'function' && define.amd) define([], factory);
  else root.summary = factory();
})(this, function () {
  var helper = function (n) { return "total " + n; };
  return {
    textSummary: function (data) { return helper(Object.keys(data.metrics).length); },
    version: '0.0.2',
  };
});
