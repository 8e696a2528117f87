//! Seed 000's decision tree: after each stage, what its outcome means and
//! what to do next. Smoke fails → fix the issues; targets missed →
//! optimize the system; breaking point not acceptable → scale the system;
//! resilience not validated → improve failover; everything passed →
//! deploy to production.

use crate::spec::StageKind;

/// The question a kind of stage answers in the seed's tree.
pub fn question(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Smoke => "Smoke test passes?",
        StageKind::Load => "Performance targets met?",
        StageKind::Stress => "Breaking point acceptable?",
        StageKind::Spike => "Recovers from the spike?",
        StageKind::Chaos => "Resilience validated?",
        StageKind::Soak => "Stable over time?",
        StageKind::Other => "Gate passed?",
    }
}

/// The seed's recommendation when a stage of `kind` fails its gate.
pub fn recommendation(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Smoke => "Fix issues: the service fails basic requests; nothing else is worth running until smoke passes.",
        StageKind::Load => "Optimize the system: performance targets are missed under the expected load (see the failed thresholds and regressions).",
        StageKind::Stress => "Scale the system: the breaking point is below what is needed.",
        StageKind::Spike => "Improve elasticity: the service does not absorb a sudden surge or recover from it in time.",
        StageKind::Chaos => "Improve failover: resilience is not validated (errors or slow recovery when a dependency fails).",
        StageKind::Soak => "Find the leak: the service degrades over a long run (memory, connections, queues).",
        StageKind::Other => "Investigate the failed gate.",
    }
}

/// The final line when every required gate passed.
pub const ALL_PASSED: &str = "Deploy to production: every required gate passed.";
