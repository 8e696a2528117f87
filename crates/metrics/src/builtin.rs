//! k6's built-in metrics, registered first with fixed ids.

use crate::kind::{MetricType, ValueType};
use crate::registry::{Metric, MetricId};

macro_rules! builtins {
    ($($variant:ident => $name:literal, $kind:ident, $contains:ident;)*) => {
        /// k6's built-in metrics; `Builtin::X.metric()` is a constant handle.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($kind), ", ", stringify!($contains), ").")]
                $variant,
            )*
        }

        impl Builtin {
            /// Every built-in metric, in id order.
            pub const ALL: [Builtin; [$(Builtin::$variant),*].len()] = [$(Builtin::$variant),*];

            /// The metric name exactly as k6 spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Builtin::$variant => $name,)*
                }
            }

            /// The metric's type.
            pub const fn kind(self) -> MetricType {
                match self {
                    $(Builtin::$variant => MetricType::$kind,)*
                }
            }

            /// What the metric's values measure.
            pub const fn contains(self) -> ValueType {
                match self {
                    $(Builtin::$variant => ValueType::$contains,)*
                }
            }
        }
    };
}

builtins! {
    Vus => "vus", Gauge, Default;
    VusMax => "vus_max", Gauge, Default;
    Iterations => "iterations", Counter, Default;
    IterationDuration => "iteration_duration", Trend, Time;
    DroppedIterations => "dropped_iterations", Counter, Default;
    DataSent => "data_sent", Counter, Data;
    DataReceived => "data_received", Counter, Data;
    Checks => "checks", Rate, Default;
    GroupDuration => "group_duration", Trend, Time;
    HttpReqs => "http_reqs", Counter, Default;
    HttpReqFailed => "http_req_failed", Rate, Default;
    HttpReqDuration => "http_req_duration", Trend, Time;
    HttpReqBlocked => "http_req_blocked", Trend, Time;
    HttpReqConnecting => "http_req_connecting", Trend, Time;
    HttpReqTlsHandshaking => "http_req_tls_handshaking", Trend, Time;
    HttpReqSending => "http_req_sending", Trend, Time;
    HttpReqWaiting => "http_req_waiting", Trend, Time;
    HttpReqReceiving => "http_req_receiving", Trend, Time;
    WsConnecting => "ws_connecting", Trend, Time;
    WsSessionDuration => "ws_session_duration", Trend, Time;
    WsMsgsSent => "ws_msgs_sent", Counter, Default;
    WsMsgsReceived => "ws_msgs_received", Counter, Default;
    WsSessions => "ws_sessions", Counter, Default;
    WsPing => "ws_ping", Trend, Time;
    GrpcReqDuration => "grpc_req_duration", Trend, Time;
}

impl Builtin {
    /// The metric's fixed id (its position in [`Builtin::ALL`]).
    pub const fn id(self) -> MetricId {
        MetricId(self as u32)
    }

    /// The hot-path handle of this metric.
    pub const fn metric(self) -> Metric {
        Metric {
            id: self.id(),
            kind: self.kind(),
        }
    }

    /// The built-in metric with this id, if it is one.
    pub fn from_id(id: MetricId) -> Option<Builtin> {
        Builtin::ALL.get(id.0 as usize).copied()
    }

    /// The built-in metric with this name, if it is one.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_declaration_order() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.id(), MetricId(i as u32));
            assert_eq!(Builtin::from_id(b.id()), Some(*b));
            assert_eq!(Builtin::from_name(b.name()), Some(*b));
        }
        assert_eq!(Builtin::ALL.len(), 25);
        assert_eq!(Builtin::from_id(MetricId(25)), None);
    }

    #[test]
    fn kinds_match_k6() {
        assert_eq!(Builtin::Vus.kind(), MetricType::Gauge);
        assert_eq!(Builtin::HttpReqFailed.kind(), MetricType::Rate);
        assert_eq!(Builtin::DataSent.contains(), ValueType::Data);
        assert_eq!(Builtin::HttpReqDuration.contains(), ValueType::Time);
        assert_eq!(Builtin::WsMsgsSent.contains(), ValueType::Default);
        assert_eq!(
            Builtin::HttpReqTlsHandshaking.name(),
            "http_req_tls_handshaking"
        );
    }
}
