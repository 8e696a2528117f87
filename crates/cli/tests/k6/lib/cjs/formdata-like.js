// Like formdata 0.0.2: a CommonJS file with a top-level return.
if (typeof module === 'object') {
  module.exports = { FormData: function () { this.parts = []; } };
  module.exports.FormData.prototype.append = function (k, v) { this.parts.push([k, v]); };
  return;
}
throw new Error('not reached');
