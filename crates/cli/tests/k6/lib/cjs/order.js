// Runs when its importer's imports evaluate, after the ones before it.
exports.seen = globalThis.__orderMark || 'unset';
exports.self = this === module.exports;
