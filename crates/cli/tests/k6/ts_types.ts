// compare: counts
// TypeScript: types stripped at load time, type-only imports dropped,
// enums and parameter properties compiled, relative .ts imports.
import http, { RefinedResponse, ResponseType } from 'k6/http';
import { Options } from 'k6/options';
import { check, group } from 'k6';
import type { Point } from './lib/shapes.ts';
import { Color, Counter, distance, type Maybe } from './lib/shapes.ts';

export const options: Options = {
  iterations: 2,
  thresholds: { checks: ['rate==1'], 'http_req_duration{name:get}': ['max>=0'] },
};

abstract class Base {
  abstract label(): string;
}

class Named extends Base {
  label(): string {
    return 'named';
  }
}

const origin = <Point>{ x: 0, y: 0 };

export default function (): void {
  const c = new Counter('c', 2);
  const none: Maybe<number> = undefined;
  group('types', () => {
    check(c, {
      'class with parameter properties': (k) => k.inc() === 2 && k.name === 'c',
      'enum': () => Color.Green === 5 && Color.Blue === 6 && Color[0] === 'Red',
      'functions': () => distance(origin, { x: 3, y: 4 } as Point) === 5,
      'abstract class': () => new Named().label() === 'named' && none === undefined,
    });
  });
  const res: RefinedResponse<ResponseType> = http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'get' } });
  check(res!, { 'status 200': (r) => r.status === 200 });
}
