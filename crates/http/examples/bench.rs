//! Requests per second from one thread: `bench URL [VUS] [SECONDS]`.
//!
//! Each VU is a task doing sequential GETs on its own session, on one
//! current-thread runtime, as the engine runs them. Bounded in time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use stampede_http::{Client, ClientConfig, Request};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url: url::Url = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("http://127.0.0.1:8080/")
        .parse()
        .expect("URL");
    let vus: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let client = Client::new(ClientConfig::default()).unwrap();
    let count = Rc::new(Cell::new(0u64));
    let errors = Rc::new(Cell::new(0u64));
    let end = Instant::now() + Duration::from_secs(secs);
    local.block_on(&rt, async {
        let mut tasks = Vec::new();
        for _ in 0..vus {
            let session = client.session();
            let (url, count, errors) = (url.clone(), count.clone(), errors.clone());
            tasks.push(tokio::task::spawn_local(async move {
                while Instant::now() < end {
                    let ex = session.request(Request::get(url.clone()), None).await;
                    if ex.response.error.is_some() {
                        errors.set(errors.get() + 1);
                    }
                    count.set(count.get() + 1);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    println!(
        "{} requests, {} errors, {:.0} req/s",
        count.get(),
        errors.get(),
        count.get() as f64 / secs as f64
    );
}
