// A TypeScript module imported by ts_types.ts.
export interface Point {
  x: number;
  y: number;
}

export type Maybe<T> = T | undefined;

export enum Color {
  Red,
  Green = 5,
  Blue,
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export class Counter {
  private count: number = 0;

  constructor(public readonly name: string, protected step?: number) {}

  inc(): number {
    this.count += this.step ?? 1;
    return this.count;
  }
}
