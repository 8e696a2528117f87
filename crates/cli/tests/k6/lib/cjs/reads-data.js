// require()d and imported: open() resolves against this file's directory.
const text = open('./words.txt');
exports.words = text.trim().split(/\s+/);
exports.count = function () { return exports.words.length; };
