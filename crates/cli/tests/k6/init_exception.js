throw new Error('broken init');
export default function () {}
