export function setup() { throw new Error('setup failed'); }
export default function () {}
