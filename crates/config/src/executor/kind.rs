//! Executor type names and the keys each accepts.

use std::fmt;

/// The seven k6 executor types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutorKind {
    /// `shared-iterations`.
    SharedIterations,
    /// `per-vu-iterations`.
    PerVuIterations,
    /// `constant-vus`.
    ConstantVus,
    /// `ramping-vus`.
    RampingVus,
    /// `constant-arrival-rate`.
    ConstantArrivalRate,
    /// `ramping-arrival-rate`.
    RampingArrivalRate,
    /// `externally-controlled`.
    ExternallyControlled,
}

/// Keys every scenario accepts, in k6's JSON order.
pub(crate) const BASE_KEYS: &[&str] = &[
    "executor",
    "startTime",
    "gracefulStop",
    "env",
    "exec",
    "tags",
    "options",
];

impl ExecutorKind {
    /// Every executor type.
    pub const ALL: [ExecutorKind; 7] = [
        Self::SharedIterations,
        Self::PerVuIterations,
        Self::ConstantVus,
        Self::RampingVus,
        Self::ConstantArrivalRate,
        Self::RampingArrivalRate,
        Self::ExternallyControlled,
    ];

    /// The name used in scripts, e.g. `"constant-vus"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SharedIterations => "shared-iterations",
            Self::PerVuIterations => "per-vu-iterations",
            Self::ConstantVus => "constant-vus",
            Self::RampingVus => "ramping-vus",
            Self::ConstantArrivalRate => "constant-arrival-rate",
            Self::RampingArrivalRate => "ramping-arrival-rate",
            Self::ExternallyControlled => "externally-controlled",
        }
    }

    /// Looks an executor up by its script name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The executor-specific keys, in k6's JSON order.
    pub fn own_keys(self) -> &'static [&'static str] {
        match self {
            Self::SharedIterations | Self::PerVuIterations => &["vus", "iterations", "maxDuration"],
            Self::ConstantVus => &["vus", "duration"],
            Self::RampingVus => &["startVUs", "stages", "gracefulRampDown"],
            Self::ConstantArrivalRate => {
                &["rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"]
            }
            Self::RampingArrivalRate => &[
                "startRate",
                "timeUnit",
                "stages",
                "preAllocatedVUs",
                "maxVUs",
            ],
            Self::ExternallyControlled => &["vus", "duration", "maxVUs"],
        }
    }

    /// Every key a scenario of this type accepts, in k6's JSON order.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        BASE_KEYS.iter().chain(self.own_keys()).copied()
    }

    /// Whether a scenario of this type accepts `key`.
    pub fn accepts(self, key: &str) -> bool {
        BASE_KEYS.contains(&key) || self.own_keys().contains(&key)
    }
}

impl fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
