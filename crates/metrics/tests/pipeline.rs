//! Two workers record, ship wire snapshots, and a controller merges them and
//! evaluates thresholds: the result equals one process recording everything.

use std::time::Duration;

use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{
    Aggregate, Builtin, MetricType, Registry, Sink, Stat, Store, TagSet, ValueType, WireSnapshot,
};

struct Worker {
    reg: Registry,
    sink: Sink,
}

impl Worker {
    fn new(extra: &[&str]) -> Self {
        let reg = Registry::new();
        // Different registration order on each worker: ids differ, names agree.
        for name in extra {
            reg.register(name, MetricType::Counter, ValueType::Default)
                .unwrap();
        }
        reg.register("cart_latency", MetricType::Trend, ValueType::Time)
            .unwrap();
        Worker {
            reg,
            sink: Sink::new(),
        }
    }

    fn request(&mut self, name: &str, ms: f64, ok: bool) {
        let tags = TagSet::from_pairs([("name", name), ("status", if ok { "200" } else { "500" })]);
        self.sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, 0);
        self.sink
            .add(Builtin::HttpReqDuration.metric(), &tags, ms, 0);
        self.sink.add(
            Builtin::HttpReqFailed.metric(),
            &tags,
            if ok { 0.0 } else { 1.0 },
            0,
        );
        let cart = self.reg.lookup("cart_latency").unwrap();
        self.sink.add(cart, &tags, ms / 2.0, 0);
    }

    fn flush(&mut self, start: u64, end: u64) -> String {
        self.sink.take(start, end).to_wire(&self.reg).to_json()
    }
}

#[test]
fn distributed_equals_local() {
    let mut a = Worker::new(&["pad_a"]);
    let mut b = Worker::new(&["pad_b1", "pad_b2"]);
    let mut local = Worker::new(&[]);
    for i in 0..500u32 {
        let ms = f64::from(i % 97) * 3.7 + 0.25;
        let ok = i % 13 != 0;
        let name = if i % 3 == 0 { "cart" } else { "home" };
        if i % 2 == 0 {
            a.request(name, ms, ok);
        } else {
            b.request(name, ms, ok);
        }
        local.request(name, ms, ok);
    }

    let controller = Registry::new();
    let mut merged = Store::new();
    for json in [a.flush(0, 10), b.flush(0, 10)] {
        let snap = WireSnapshot::from_json(&json)
            .unwrap()
            .into_snapshot(&controller)
            .unwrap();
        merged.apply(&snap);
    }
    let mut direct = Store::new();
    direct.apply(&local.sink.take(0, 10));

    let cart_ctrl = controller.lookup("cart_latency").unwrap().id;
    let cart_local = local.reg.lookup("cart_latency").unwrap().id;
    let elapsed = Duration::from_secs(10);
    let stats: Vec<Stat> = [
        "avg", "min", "med", "max", "p(90)", "p(95)", "p(99.9)", "count",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    for (m_ctrl, m_local) in [
        (Builtin::HttpReqs.id(), Builtin::HttpReqs.id()),
        (Builtin::HttpReqDuration.id(), Builtin::HttpReqDuration.id()),
        (Builtin::HttpReqFailed.id(), Builtin::HttpReqFailed.id()),
        (cart_ctrl, cart_local),
    ] {
        for sel in [
            TagSet::empty(),
            TagSet::from_pairs([("name", "cart")]),
            TagSet::from_pairs([("status", "500")]),
        ] {
            let x = merged.get(m_ctrl, &sel).unwrap();
            let y = direct.get(m_local, &sel).unwrap();
            let (vx, vy) = (x.values(&stats, elapsed), y.values(&stats, elapsed));
            assert_eq!(vx.len(), vy.len());
            for ((k, a), (_, b)) in vx.iter().zip(&vy) {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{k}: {a} vs {b}");
            }
            if let (Aggregate::Trend(tx), Aggregate::Trend(ty)) = (&x, &y) {
                assert_eq!(tx.count(), ty.count());
            }
        }
    }

    let specs = vec![
        ThresholdSpec::new("http_req_failed", "rate<0.05"),
        ThresholdSpec::new("http_req_duration{name:cart}", "p(95)<400"),
        ThresholdSpec::new("cart_latency", "max<=200"),
        ThresholdSpec::new("http_reqs{status:500}", "count<100"),
    ];
    let mut th_merged = Thresholds::new(specs.clone()).unwrap();
    assert!(th_merged.validate(&controller).is_empty());
    let mut th_direct = Thresholds::new(specs).unwrap();
    assert!(th_direct.validate(&local.reg).is_empty());
    let e1 = th_merged.evaluate(&merged, elapsed);
    let e2 = th_direct.evaluate(&direct, elapsed);
    assert_eq!(e1, e2);
    assert_eq!(e1.breached, ["http_req_failed"]);
    assert_eq!(merged.metrics_seen().len(), 4);
}
