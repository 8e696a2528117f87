export const options = { scenarios: { x: { executor: 'constant-vu', vus: 1, duration: '1s' } } };
export default function () {}
