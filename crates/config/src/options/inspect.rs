//! Options as `k6 inspect` prints them: every script key in k6's order,
//! `null` where unset.

use serde_json::{json, Map, Value};

use super::{Options, RawScenario, RawStage, RawThresholdSet, TlsAuth, TlsVersions, SCRIPT_KEYS};
use crate::duration::K6Duration;
use crate::executor::ExecutorKind;

fn dur(d: Option<K6Duration>) -> Value {
    d.map_or(Value::Null, |d| Value::String(d.to_string()))
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn strings<T: ToString>(list: Option<&[T]>) -> Value {
    list.map_or(Value::Null, |l| {
        l.iter().map(|s| Value::String(s.to_string())).collect()
    })
}

fn map_json<V: Into<Value> + Clone>(m: Option<&std::collections::BTreeMap<String, V>>) -> Value {
    m.map_or(Value::Null, |m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect::<Map<_, _>>()
            .into()
    })
}

/// Stages as `[{"duration": "30s", "target": 10}]`.
pub(crate) fn stages_json(stages: Option<&[RawStage]>) -> Value {
    stages.map_or(Value::Null, |st| {
        st.iter()
            .map(|s| json!({"duration": dur(s.duration), "target": opt(s.target)}))
            .collect()
    })
}

impl RawScenario {
    /// The scenario as `k6 inspect` prints it: base keys, `options` if
    /// set, then the executor's own keys, `null` where unset.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("executor".into(), self.executor.name().into());
        m.insert("startTime".into(), dur(self.start_time));
        m.insert("gracefulStop".into(), dur(self.graceful_stop));
        m.insert("env".into(), map_json(self.env.as_ref()));
        m.insert("exec".into(), opt(self.exec.clone()));
        m.insert("tags".into(), map_json(self.tags.as_ref()));
        if let Some(options) = &self.options {
            m.insert("options".into(), options.clone());
        }
        for key in self.executor.own_keys() {
            let value = match *key {
                "vus" => opt(self.vus),
                "iterations" => opt(self.iterations),
                "maxDuration" => dur(self.max_duration),
                "duration" => dur(self.duration),
                "startVUs" => opt(self.start_vus),
                "stages" => stages_json(self.stages.as_deref()),
                "gracefulRampDown" => dur(self.graceful_ramp_down),
                "rate" => opt(self.rate),
                "startRate" => opt(self.start_rate),
                "timeUnit" => dur(self.time_unit),
                "preAllocatedVUs" => opt(self.pre_allocated_vus),
                // k6 fills externally-controlled's maxVUs from vus when parsing.
                "maxVUs" if self.executor == ExecutorKind::ExternallyControlled => {
                    opt(self.max_vus.or(self.vus))
                }
                "maxVUs" => opt(self.max_vus),
                _ => Value::Null,
            };
            m.insert((*key).into(), value);
        }
        Value::Object(m)
    }
}

fn scenarios_json(scenarios: Option<&[(String, RawScenario)]>) -> Value {
    scenarios.map_or(Value::Null, |list| {
        let mut sorted: Vec<&(String, RawScenario)> = list.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted
            .into_iter()
            .map(|(name, s)| (name.clone(), s.to_json()))
            .collect::<Map<_, _>>()
            .into()
    })
}

fn thresholds_json(sets: Option<&[RawThresholdSet]>) -> Value {
    sets.map_or(Value::Null, |sets| {
        sets.iter()
            .map(|set| {
                let list: Vec<Value> = set
                    .thresholds
                    .iter()
                    .map(|t| {
                        if t.abort_on_fail {
                            json!({"threshold": t.expr, "abortOnFail": true, "delayAbortEval": dur(t.delay_abort_eval)})
                        } else {
                            Value::String(t.expr.clone())
                        }
                    })
                    .collect();
                (set.selector.clone(), Value::Array(list))
            })
            .collect::<Map<_, _>>()
            .into()
    })
}

fn tls_version_json(v: Option<TlsVersions>) -> Value {
    v.map_or(
        Value::Null,
        |v| json!({"min": v.min.map_or("", |v| v.name()), "max": v.max.map_or("", |v| v.name())}),
    )
}

fn tls_auth_json(v: Option<&[TlsAuth]>) -> Value {
    v.map_or(Value::Null, |list| {
        list.iter()
            .map(|a| json!({"cert": a.cert, "key": a.key, "password": a.password, "domains": a.domains}))
            .collect()
    })
}

impl Options {
    /// This layer as `k6 inspect` prints a script's options.
    pub fn to_inspect_json(&self) -> Value {
        let mut m = Map::new();
        for key in SCRIPT_KEYS {
            if let Some(v) = self.inspect_value(key) {
                m.insert((*key).to_owned(), v);
            }
        }
        Value::Object(m)
    }

    /// The JSON for one script key; `None` to leave the key out (k6 omits
    /// `cloud` when unset).
    pub(crate) fn inspect_value(&self, key: &str) -> Option<Value> {
        Some(match key {
            "paused" => opt(self.paused),
            "vus" => opt(self.vus),
            "duration" => dur(self.duration),
            "iterations" => opt(self.iterations),
            "stages" => stages_json(self.stages.as_deref()),
            "scenarios" => scenarios_json(self.scenarios.as_deref()),
            "executionSegment" => opt(self.execution_segment.map(|s| s.to_string())),
            "executionSegmentSequence" => opt(self
                .execution_segment_sequence
                .as_ref()
                .map(ToString::to_string)),
            "noSetup" => opt(self.no_setup),
            "setupTimeout" => dur(self.setup_timeout),
            "noTeardown" => opt(self.no_teardown),
            "teardownTimeout" => dur(self.teardown_timeout),
            "rps" => opt(self.rps),
            "dns" => json!({
                "ttl": opt(self.dns.ttl.map(|t| t.to_string())),
                "select": opt(self.dns.select.map(|s| s.to_string())),
                "policy": opt(self.dns.policy.map(|p| p.to_string())),
            }),
            "maxRedirects" => opt(self.max_redirects),
            "userAgent" => opt(self.user_agent.clone()),
            "batch" => opt(self.batch),
            "batchPerHost" => opt(self.batch_per_host),
            "httpDebug" => opt(self.http_debug.clone()),
            "insecureSkipTLSVerify" => opt(self.insecure_skip_tls_verify),
            "tlsCipherSuites" => strings(self.tls_cipher_suites.as_deref()),
            "tlsVersion" => tls_version_json(self.tls_version),
            "tlsAuth" => tls_auth_json(self.tls_auth.as_deref()),
            "throw" => opt(self.throw),
            "thresholds" => thresholds_json(self.thresholds.as_deref()),
            "blacklistIPs" => strings(self.blacklist_ips.as_deref()),
            "blockHostnames" => strings(self.block_hostnames.as_deref()),
            "hosts" => self.hosts.as_ref().map_or(Value::Null, |h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                    .collect::<Map<_, _>>()
                    .into()
            }),
            "noConnectionReuse" => opt(self.no_connection_reuse),
            "noVUConnectionReuse" => opt(self.no_vu_connection_reuse),
            "minIterationDuration" => dur(self.min_iteration_duration),
            "ext" => self.ext.clone().unwrap_or(Value::Null),
            "summaryTrendStats" => strings(self.summary_trend_stats.as_deref()),
            "summaryTimeUnit" => opt(self.summary_time_unit.map(|u| u.name())),
            "systemTags" => self.system_tags.as_ref().map_or(Value::Null, |tags| {
                let mut sorted = tags.clone();
                sorted.sort();
                sorted.dedup();
                sorted.into()
            }),
            "tags" => map_json(self.tags.as_ref()),
            "metricSamplesBufferSize" => opt(self.metric_samples_buffer_size),
            "noCookiesReset" => opt(self.no_cookies_reset),
            "discardResponseBodies" => opt(self.discard_response_bodies),
            "cloud" => self.cloud.clone()?,
            _ => return None,
        })
    }
}
