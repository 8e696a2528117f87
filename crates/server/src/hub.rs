//! The live fan-out: every message for WebSocket subscribers (snapshots,
//! progress, state changes) goes through one bounded broadcast channel.
//!
//! Publishing never waits: a subscriber that falls more than the channel's
//! capacity behind gets `Lagged` on its next receive and is disconnected
//! (it can reconnect and re-read stored data), so a slow client never slows
//! a run or the other clients.
//!
//! With several servers (`leader.rs`) the hub also hands every message it
//! publishes to a fan-out channel that relays it through Redis pub/sub to
//! the other replicas, which deliver it to their own subscribers with
//! [`Hub::deliver`] (never relayed again): a client watches a run on any
//! replica, whichever one supervises it.

use std::sync::Arc;

use serde_json::Value;
use stampede_store::RunId;
use tokio::sync::{broadcast, mpsc};

/// One message: its run (if it concerns one) and its JSON text.
#[derive(Debug)]
pub struct HubMessage {
    /// The run it concerns.
    pub run_id: Option<RunId>,
    /// The JSON text sent to clients.
    pub text: String,
}

/// The broadcast side.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<HubMessage>>,
    fanout: Arc<std::sync::OnceLock<mpsc::UnboundedSender<Arc<HubMessage>>>>,
}

impl Hub {
    /// A hub buffering `capacity` messages per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Self {
            tx,
            fanout: Default::default(),
        }
    }

    /// Sends `msg` to every subscriber (none listening is fine), and to
    /// the other replicas when there are several.
    pub fn publish(&self, run_id: Option<RunId>, msg: Value) {
        let m = Arc::new(HubMessage {
            run_id,
            text: msg.to_string(),
        });
        if let Some(f) = self.fanout.get() {
            let _ = f.send(m.clone());
        }
        let _ = self.tx.send(m);
    }

    /// Delivers a message another replica published to this replica's
    /// subscribers only.
    pub fn deliver(&self, run_id: Option<RunId>, text: String) {
        let _ = self.tx.send(Arc::new(HubMessage { run_id, text }));
    }

    /// The messages this hub publishes from now on, to relay to the other
    /// replicas (set once).
    pub fn fan_out(&self) -> Option<mpsc::UnboundedReceiver<Arc<HubMessage>>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.fanout.set(tx).ok().map(|_| rx)
    }

    /// A new subscriber's receiver.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubMessage>> {
        self.tx.subscribe()
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_subscriber_lags_without_blocking_the_publisher() {
        let hub = Hub::new(4);
        let mut slow = hub.subscribe();
        for i in 0..10 {
            hub.publish(Some(RunId(1)), serde_json::json!({ "i": i }));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(6))
        ));
    }

    #[tokio::test]
    async fn published_messages_fan_out_delivered_ones_do_not() {
        let hub = Hub::new(8);
        let mut out = hub.fan_out().unwrap();
        assert!(hub.fan_out().is_none(), "set once");
        let mut sub = hub.subscribe();
        hub.publish(Some(RunId(3)), serde_json::json!({"a": 1}));
        hub.deliver(Some(RunId(4)), "{\"b\":2}".into());
        assert_eq!(out.recv().await.unwrap().text, "{\"a\":1}");
        assert!(
            out.try_recv().is_err(),
            "a delivered message is not relayed"
        );
        assert_eq!(sub.recv().await.unwrap().run_id, Some(RunId(3)));
        assert_eq!(sub.recv().await.unwrap().run_id, Some(RunId(4)));
    }
}
