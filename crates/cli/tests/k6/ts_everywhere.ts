// compare: counts
// TypeScript with types in every position (generics, overloads, guards,
// assertion functions, modifiers, enums, as const/satisfies, this params).
import { check } from 'k6';
import type { Options } from 'k6/options';
export const options: Options = { iterations: 1 };
type Fn<T> = (x: T) => T;
const id = <T,>(x: T): T => x;
function over(a: string): string;
function over(a: number): number;
function over(a: any): any { return a; }
function isStr(x: unknown): x is string { return typeof x === 'string'; }
function assertNum(x: unknown): asserts x is number { if (typeof x !== 'number') throw new Error('nan'); }
class Box<T> {
  static count = 0;
  #secret = 1;
  private readonly items: readonly T[] = [];
  declare tag?: string;
  constructor(private value: T, public label?: string) { Box.count++; }
  get(): T { return this.value; }
  static { Box.count = 0; }
}
const enum Dir { Up = 1, Down }
enum Color { Red = 'r', Green = 'g' }
let later!: number;
later = 3;
const tuple: [string, number?] = ['a'];
const conf = { a: 1 } as const satisfies Record<string, number>;
type Keys = keyof typeof conf;
const k: Keys = 'a';
const maybe: { v?: { w: number } } = { v: { w: 2 } };
const fn: Fn<number> = (x) => x * 2;
abstract class Shape { abstract area(): number; describe(this: Shape): string { return 'area ' + this.area(); } }
class Sq extends Shape implements Iterable<number> { constructor(private s: number) { super(); } area() { return this.s ** 2; } *[Symbol.iterator](): Iterator<number> { yield this.s; } }
declare global { interface Window { x: number } }
export default function (): void {
  assertNum(later);
  check(null, {
    generics: () => id<string>('s') === 's' && over(2) === 2 && isStr('x'),
    classes: () => new Box<number>(5, 'l').get() === 5 && new Box(1).label === undefined,
    enums: () => Dir.Down === 2 && Color.Green === 'g',
    misc: () => tuple[0] === 'a' && conf[k] === 1 && maybe.v!.w === 2 && fn(2) === 4,
    shapes: () => new Sq(3).describe() === 'area 9' && [...new Sq(2)][0] === 2,
  });
}
