// k6/metrics: custom metrics.
import n from 'stampede:native/k6/metrics';

class Metric {
  constructor(type, name, isTime) {
    const id = n.register(type, name, isTime);
    Object.defineProperty(this, '_id', { value: id });
    Object.defineProperty(this, 'name', { value: name, enumerable: true });
  }
  add(value, tags) {
    return n.add(this._id, value, tags);
  }
}

export class Counter extends Metric {
  constructor(name, isTime) { super('counter', name, isTime); }
}
export class Gauge extends Metric {
  constructor(name, isTime) { super('gauge', name, isTime); }
}
export class Rate extends Metric {
  constructor(name, isTime) { super('rate', name, isTime); }
}
export class Trend extends Metric {
  constructor(name, isTime) { super('trend', name, isTime); }
}

export default { Counter, Gauge, Rate, Trend };
