export const options = { vus: 1, duration: '10 minutes' };
export default function () {}
