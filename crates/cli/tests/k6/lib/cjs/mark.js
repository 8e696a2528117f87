globalThis.__orderMark = 'set by mark.js';
export const mark = true;
