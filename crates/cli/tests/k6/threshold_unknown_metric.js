export const options = { iterations: 1, thresholds: { no_such_metric: ['count>1'] } };
export default function () {}
