// Flash sale (seed 003, Flux-Gate's load-test.k6.js, kept as written):
// 100 VUs ramp up over 20 s to buy one product, `iphone-15`, with 100 units.
// Each order carries a fresh idempotency key; the service answers 200
// (accepted), 302 (sent to the waiting room: over the admission rate) or
// 409 (sold out). The custom metrics are seed 003's "Custom Metrics".
//
// On top of the seed: thresholds from its "Expected Results" (every answer
// valid, the local latency percentiles) and a teardown() that does the
// seed's "Verification" through the target's GET /verify: the test FAILS
// unless nothing was oversold, accepted orders == initial stock - remaining
// stock, and the sale sold exactly EXPECTED_STOCK units ("Must be exactly
// 100").
//
//   stampede run examples/flash-sale.js               # the seed's run: 100 VUs, 25 s
//   stampede run -e PEAK_VUS=20 -e TIME_SCALE=0.4 examples/flash-sale.js  # smaller and quicker
//
// PEAK_VUS        peak VUs (default 100, the seed's; the first stage goes to half)
// TIME_SCALE      multiplies the seed's 10s/10s/5s stages (default 1)
// STOCK           units put on sale by setup() (default 100)
// PRODUCT_ID      the product (default iphone-15)
// EXPECTED_STOCK  units the verification expects sold (default STOCK)
// LATENCY_FACTOR  multiplies seed 003's latency targets (default 1)

import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { envInt, envNumber, envString, ms, scaleDuration, scaleVUs } from './lib/config.js';

const PEAK_VUS = envInt('PEAK_VUS', 100);
const TIME_SCALE = envNumber('TIME_SCALE', 1);
const STOCK = envInt('STOCK', 100);
const PRODUCT_ID = envString('PRODUCT_ID', 'iphone-15');
const EXPECTED_STOCK = envInt('EXPECTED_STOCK', STOCK);

export const options = {
    scenarios: {
        flash_sale: {
            executor: 'ramping-vus',
            startVUs: 0,
            stages: [
                { duration: scaleDuration('10s', TIME_SCALE), target: scaleVUs(50, PEAK_VUS / 100) },   // Ramp up
                { duration: scaleDuration('10s', TIME_SCALE), target: PEAK_VUS },  // Peak load
                { duration: scaleDuration('5s', TIME_SCALE), target: 0 },     // Ramp down
            ],
            gracefulRampDown: '0s',
        },
    },
    thresholds: {
        // Expected Results: every answer is 200, 302 or 409 ...
        'checks{check:valid response}': ['rate==1'],
        // ... and the verification in teardown() passes.
        'checks{phase:verify}': ['rate==1'],
        // Latency Percentiles, "Expected (local)".
        order_latency: [`p(50)<${ms(5)}`, `p(90)<${ms(10)}`, `p(95)<${ms(20)}`, `p(99)<${ms(50)}`],
        // Never more orders accepted than units on sale.
        orders_accepted: [`count<=${STOCK}`],
    },
};

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';

// Custom Metrics
const orderAccepted = new Counter('orders_accepted');
const orderRejected = new Counter('orders_rejected');
const rateLimited = new Counter('rate_limited');
const orderLatency = new Trend('order_latency');

export function setup() {
    // Initialize 100 items
    const payload = JSON.stringify({
        productId: PRODUCT_ID,
        quantity: STOCK
    });
    const res = http.post(`${BASE_URL}/init`, payload, {
        headers: { 'Content-Type': 'application/json' }
    });
    if (res.status !== 200) {
        throw new Error(`POST ${BASE_URL}/init answered ${res.status}: ${res.body}`);
    }
}

export default function () {
    const payload = JSON.stringify({
        productId: PRODUCT_ID,
        userId: uuidv4(),
    });

    const params = {
        redirects: 0,  // Don't follow 302
        headers: {
            'Content-Type': 'application/json',
            'x-idempotency-key': uuidv4(),
        },
    };

    const res = http.post(`${BASE_URL}/order`, payload, params);

    check(res, {
        'valid response': (r) => [200, 302, 409].includes(r.status),
    });

    orderLatency.add(res.timings.duration);

    if (res.status === 200) orderAccepted.add(1);
    if (res.status === 409) orderRejected.add(1);
    if (res.status === 302) rateLimited.add(1);
}

// Verification: "If this returns > 100, we oversold ... Must be exactly 100".
export function teardown() {
    const res = http.get(`${BASE_URL}/verify?productId=${encodeURIComponent(PRODUCT_ID)}`, {
        tags: { phase: 'verify' },
    });
    if (res.status !== 200) {
        exec.test.fail(`verification failed: GET /verify answered ${res.status}: ${res.body}`);
        return;
    }
    const sale = res.json();
    console.log(
        `${PRODUCT_ID}: ${sale.orders_accepted} orders accepted, ${sale.remaining} of ${sale.initial} units left, ` +
            `${sale.sold_out_rejections} sold-out answers, ${sale.rate_limited} sent to the waiting room, oversold: ${sale.oversold}`,
    );
    const tags = { phase: 'verify' };
    const results = {
        'nothing oversold': !sale.oversold && sale.orders_accepted <= sale.initial,
        'accepted orders == initial stock - remaining': sale.orders_accepted === sale.initial - sale.remaining,
        [`exactly ${EXPECTED_STOCK} orders accepted`]: sale.orders_accepted === EXPECTED_STOCK,
        'stock is 0': sale.remaining === 0,
    };
    const failed = [];
    for (const [name, ok] of Object.entries(results)) {
        check(ok, { [`verify: ${name}`]: (v) => v === true }, tags);
        if (!ok) failed.push(name);
    }
    if (failed.length > 0) {
        exec.test.fail(`verification failed: ${failed.join('; ')} (${JSON.stringify(sale)})`);
    }
}
