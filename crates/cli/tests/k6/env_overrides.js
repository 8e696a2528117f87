// compare: counts
// env: K6_ITERATIONS=7
export const options = { iterations: 3 };
export default function () {}
