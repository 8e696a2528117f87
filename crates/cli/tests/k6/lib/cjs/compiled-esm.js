"use strict";
// What TypeScript and Babel emit for an ES module compiled to CommonJS.
Object.defineProperty(exports, "__esModule", { value: true });
exports.helper = void 0;
exports.default = function def() { return 'default fn'; };
const helper = () => 'helper';
exports.helper = helper;
