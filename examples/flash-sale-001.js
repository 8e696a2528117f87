// Flash-sale simulation of the shop (seed 001 Phase 4.2): a sudden crowd
// where 90% of the users try to buy the same product,
// `flash-sale-product-001`, through POST /api/orders and 10% browse. Every
// order must be either created (201) or refused as out of stock (409), the
// shop must never sell more units than it had, and teardown() checks that
// the product's stock went down by exactly the orders created and never
// below zero.
//
//   stampede run examples/flash-sale-001.js                                 # 20 VUs, ~10 s
//   stampede run -e VUS=2000 -e DURATION=3m examples/flash-sale-001.js  # the crowd of seed 001's spike
//
// VUS             peak users (default 20)
// DURATION        how long they stay (default 8s)
// RAMP_DURATION   how fast they arrive (default 1s)
// FLASH_STOCK     units the product has at most (default 100, the demo target's;
//                 `stampede target --flash-stock N` changes it): more orders
//                 created than this fails the run
// EXPECT_SOLD_OUT whether the product must be sold out at the end (default true)
// LATENCY_FACTOR  multiplies the latency thresholds (default 1)
//
// The demo target never restocks the product: restart it to run the sale
// again from the start.

import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, envBool, envDuration, envInt, ms } from './lib/config.js';
import { browseProducts, FLASH_PRODUCT_ID, orderBody } from './lib/shop.js';

const flashOrdersCreated = new Counter('flash_orders_created');
const flashOrdersSoldOut = new Counter('flash_orders_sold_out');

const VUS = envInt('VUS', 20);
const RAMP = envDuration('RAMP_DURATION', '1s');
const EXPECT_SOLD_OUT = envBool('EXPECT_SOLD_OUT', true);

export const options = {
  scenarios: {
    flash_sale: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: RAMP, target: VUS }, // the sale opens
        { duration: envDuration('DURATION', '8s'), target: VUS },
        { duration: RAMP, target: 0 },
      ],
      gracefulRampDown: '2s',
    },
  },
  thresholds: {
    checks: ['rate==1'], // every order answered 201 or 409, and teardown's verification passed
    http_req_failed: ['rate<0.001'], // 409 is expected here (see below), so only real failures count
    'http_req_duration{endpoint:orders_create}': [`p(95)<${ms(500)}`], // baseline.yaml orders_create
    flash_orders_created: ['count>0', `count<=${envInt('FLASH_STOCK', 100)}`], // never oversold
  },
};

function stockNow() {
  const res = http.get(`${BASE_URL}/api/products/${FLASH_PRODUCT_ID}`, { tags: { endpoint: 'products_get' } });
  if (res.status !== 200) throw new Error(`GET /api/products/${FLASH_PRODUCT_ID} answered ${res.status}: ${res.body}`);
  return res.json('stock');
}

export function setup() {
  const stock = stockNow();
  console.log(`${FLASH_PRODUCT_ID}: ${stock} units before the sale`);
  return { initialStock: stock };
}

export default function () {
  const productId = FLASH_PRODUCT_ID;

  // 90% try to buy the same product
  if (Math.random() < 0.9) {
    // The seed posts the object itself, which k6 sends as a form; the API takes JSON.
    const response = http.post(`${BASE_URL}/api/orders`, orderBody([{ product_id: productId, quantity: 1 }]), {
      headers: JSON_HEADERS,
      tags: { endpoint: 'orders_create', kind: 'write' },
      responseCallback: http.expectedStatuses(201, 409),
    });

    // The seed's two checks ('order created': 201, 'out of stock handled':
    // 409) cannot both pass on one response; this is what it means.
    check(response, {
      'order created or out of stock handled': (r) => r.status === 201 || r.status === 409,
    });
    if (response.status === 201) flashOrdersCreated.add(1);
    if (response.status === 409) flashOrdersSoldOut.add(1);
  } else {
    // 10% normal traffic
    browseProducts();
  }
}

export function teardown(data) {
  const remaining = stockNow();
  console.log(`${FLASH_PRODUCT_ID}: ${remaining} of ${data.initialStock} units left`);
  check(remaining, {
    'verify: stock never below zero': (n) => n >= 0,
    'verify: no stock appeared': (n) => n <= data.initialStock,
  });
  if (EXPECT_SOLD_OUT) check(remaining, { 'verify: sold out': (n) => n === 0 });
}
