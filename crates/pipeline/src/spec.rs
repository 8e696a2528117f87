//! The pipeline file: stages of k6 scripts with their gates, as users
//! write it in YAML. Every struct denies unknown fields, so a typo is an
//! error with its line rather than a silently ignored gate.
//!
//! ```yaml
//! name: seed-000
//! env: { BASE_URL: "http://127.0.0.1:3000" }
//! stages:
//!   smoke:
//!     script: smoke.js
//!   load:
//!     script: load.js
//!     needs: [smoke]
//!     gate: { compare: { baseline: baseline.yaml } }
//!   stress:
//!     script: breaking-point.js
//!     needs: [smoke]
//!     gate: { breaking_point: { min_vus: 20, slo: { error_rate: 0.01 } } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stampede_chaos::ChaosConfig;
use stampede_chaos::Slo;

/// A whole pipeline file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Shown in reports (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// Environment variables (`-e`) for every stage.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Stages by name, in file order.
    pub stages: indexmap_like::Ordered<StageSpec>,
}

/// What to do with the rest of the pipeline when a stage's gate fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop: every stage not started yet is skipped.
    #[default]
    Stop,
    /// Skip only the stages that need this one (directly or not).
    SkipDependants,
    /// Carry on as if it passed (the pipeline still fails).
    Continue,
}

/// The kind of test a stage is, which picks the seed's recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Quick validation.
    Smoke,
    /// Performance targets under expected load.
    Load,
    /// Limits and the breaking point.
    Stress,
    /// Sudden surge and recovery.
    Spike,
    /// Faults and resilience.
    Chaos,
    /// Stability over time.
    Soak,
    /// Anything else.
    Other,
}

impl StageKind {
    /// The kind a stage's name suggests (`smoke`, `load-api` → smoke, load).
    pub fn from_name(name: &str) -> StageKind {
        let n = name.to_ascii_lowercase();
        for (key, kind) in [
            ("smoke", StageKind::Smoke),
            ("load", StageKind::Load),
            ("stress", StageKind::Stress),
            ("break", StageKind::Stress),
            ("spike", StageKind::Spike),
            ("chaos", StageKind::Chaos),
            ("soak", StageKind::Soak),
        ] {
            if n.contains(key) {
                return kind;
            }
        }
        StageKind::Other
    }
}

/// One stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// The k6 script, relative to the pipeline file.
    #[serde(default)]
    pub script: String,
    /// What kind of test it is (default: guessed from the name).
    #[serde(default)]
    pub kind: Option<StageKind>,
    /// Stages that must pass (or be continued past) before this one runs.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Environment variables (`-e`) for this stage, over the pipeline's.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Option overrides passed as flags (`vus`, `duration`, `iterations`).
    #[serde(default)]
    pub options: StageOptions,
    /// The gate.
    #[serde(default)]
    pub gate: Gate,
    /// What a failed gate does to the rest.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// An optional stage runs only when asked for (`--include NAME`), and
    /// its gate never fails the pipeline.
    #[serde(default)]
    pub optional: bool,
    /// Longest the stage may run (k6 duration); it is stopped and fails after.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Fault targets started for this stage (a chaos agent); the script
    /// gets `CHAOS_AGENT` and `CHAOS_<NAME>_ADDR`, and every fault is
    /// restored when the stage ends.
    #[serde(default)]
    pub chaos: Option<ChaosConfig>,
    /// Replaces the seed's recommendation when the gate fails.
    #[serde(default)]
    pub recommendation: Option<String>,
}

impl StageSpec {
    /// The stage's kind, given or guessed from `name`.
    pub fn kind(&self, name: &str) -> StageKind {
        self.kind.unwrap_or_else(|| StageKind::from_name(name))
    }
}

/// Option overrides of a stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageOptions {
    /// `--vus`.
    #[serde(default)]
    pub vus: Option<u64>,
    /// `--duration` (k6 duration).
    #[serde(default)]
    pub duration: Option<String>,
    /// `--iterations`.
    #[serde(default)]
    pub iterations: Option<u64>,
}

/// What a stage must meet to pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// The script's thresholds must pass (default true).
    #[serde(default = "yes")]
    pub thresholds: bool,
    /// No regression against a baseline (`stampede compare`).
    #[serde(default)]
    pub compare: Option<CompareGate>,
    /// The breaking point must be at least this high.
    #[serde(default)]
    pub breaking_point: Option<BreakingPointGate>,
    /// The service must recover this fast after a fault or spike.
    #[serde(default)]
    pub recovery: Option<RecoveryGate>,
}

fn yes() -> bool {
    true
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            thresholds: true,
            compare: None,
            breaking_point: None,
            recovery: None,
        }
    }
}

/// `compare:` of a gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareGate {
    /// Baseline YAML or results file, relative to the pipeline file.
    pub baseline: String,
    /// Largest allowed growth of a statistic, in percent (default 10).
    #[serde(default)]
    pub max_regression_pct: Option<f64>,
    /// Latency growth below this many ms never regresses (default 0).
    #[serde(default)]
    pub latency_tolerance_ms: Option<f64>,
    /// Do not fail on baseline endpoints the run did not request.
    #[serde(default)]
    pub allow_missing: bool,
}

/// `breaking_point:` of a gate: the load at which the SLO first broke.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakingPointGate {
    /// The SLO whose first breach is the breaking point (default: any error).
    #[serde(default)]
    pub slo: Option<Slo>,
    /// Pass only when the breaking point is at least this many VUs (or
    /// the SLO never broke).
    #[serde(default)]
    pub min_vus: Option<f64>,
    /// Pass only when the breaking point is at least this many requests/s.
    #[serde(default)]
    pub min_rps: Option<f64>,
}

/// `recovery:` of a gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryGate {
    /// The SLO that must hold again.
    pub slo: Slo,
    /// For this many consecutive intervals (default 3).
    #[serde(default)]
    pub k: Option<usize>,
    /// Longest acceptable recovery (k6 duration).
    pub max: String,
    /// The scenario that starts when the fault or spike ends (default `recover`).
    #[serde(default)]
    pub scenario: Option<String>,
    /// Or the end of the fault as a time from the start of the test.
    #[serde(default)]
    pub fault_end: Option<String>,
}

/// Stages keep the file's order (a `BTreeMap` would sort them), which is
/// the order people read them and the tie-break of the schedule.
pub mod indexmap_like {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde::ser::{Serialize, SerializeMap, Serializer};

    /// Named values in insertion order; names are unique.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Ordered<T>(pub Vec<(String, T)>);

    impl<T> Ordered<T> {
        /// The value named `name`.
        pub fn get(&self, name: &str) -> Option<&T> {
            self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
        }
        /// Names and values in order.
        pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
            self.0.iter().map(|(n, v)| (n, v))
        }
        /// How many.
        pub fn len(&self) -> usize {
            self.0.len()
        }
        /// Whether there are none.
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T: Serialize> Serialize for Ordered<T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = Ordered<T>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of named stages")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                    let mut out: Vec<(String, T)> = Vec::new();
                    while let Some((k, v)) = a.next_entry::<String, T>()? {
                        if out.iter().any(|(n, _)| *n == k) {
                            return Err(serde::de::Error::custom(format!(
                                "stage {k:?} is declared twice"
                            )));
                        }
                        out.push((k, v));
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }
}
