// An exception thrown from TypeScript code fails the iteration as in k6.
interface Settings {
  iterations: number;
}
export const options: Settings = { iterations: 2 };

function fail(reason: string): never {
  throw new Error(reason);
}

export default function (): void {
  fail('boom');
}
