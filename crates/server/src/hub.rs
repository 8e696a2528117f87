//! The live fan-out: every message for WebSocket subscribers (snapshots,
//! progress, state changes) goes through one bounded broadcast channel.
//!
//! Publishing never waits: a subscriber that falls more than the channel's
//! capacity behind gets `Lagged` on its next receive and is disconnected
//! (it can reconnect and re-read stored data), so a slow client never slows
//! a run or the other clients.

use std::sync::Arc;

use serde_json::Value;
use stampede_store::RunId;
use tokio::sync::broadcast;

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
}

impl Hub {
    /// A hub buffering `capacity` messages per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Self { tx }
    }

    /// Sends `msg` to every subscriber (none listening is fine).
    pub fn publish(&self, run_id: Option<RunId>, msg: Value) {
        let _ = self.tx.send(Arc::new(HubMessage {
            run_id,
            text: msg.to_string(),
        }));
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
}
