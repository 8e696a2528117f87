//! Rules of the format that need no source positions: parsing a check,
//! ordering `once` requests by the values they need from each other, and
//! turning the `load`, `thresholds` and `http` sections into k6 options.
//! `compile.rs` places their errors.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::compile::{duration, path_of, Problems};
use crate::format::{ScenarioFile, Text};
use crate::types::{CRequest, Check, CheckKind, Want};

fn want(v: &Value) -> Want {
    match v {
        Value::String(s) if s == "exists" => Want::Exists,
        other => Want::Equals(other.clone()),
    }
}

fn describe(w: &Want) -> String {
    match w {
        Want::Exists => "exists".into(),
        Want::Equals(v) => format!("== {v}"),
    }
}

pub(crate) fn check(req: &str, key: &str, v: &Value) -> Result<Check, String> {
    let (kind, what) = if key == "status" {
        let list: Vec<u16> = match v {
            Value::Number(n) => vec![n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or("a status is a number from 100 to 599")?],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or("statuses are numbers from 100 to 599")?,
            _ => return Err("a status or a list of statuses".into()),
        };
        let text: Vec<String> = list.iter().map(u16::to_string).collect();
        (
            CheckKind::Status(list),
            format!("status is {}", text.join(" or ")),
        )
    } else if let Some(p) = key.strip_prefix("json.") {
        let w = want(v);
        let what = format!("json.{p} {}", describe(&w));
        (CheckKind::Json(path_of(p), w), what)
    } else if let Some(h) = key.strip_prefix("header.") {
        let w = match v {
            Value::String(s) if s == "exists" => Want::Exists,
            Value::String(s) => Want::Equals(Value::String(s.clone())),
            _ => return Err("a header is checked against a text or exists".into()),
        };
        let what = format!("header.{h} {}", describe(&w));
        (CheckKind::Header(h.to_string(), w), what)
    } else if key == "body_contains" {
        let s = v.as_str().ok_or("body_contains takes a text")?;
        (
            CheckKind::BodyContains(s.to_string()),
            format!("body contains {s:?}"),
        )
    } else if key == "duration" {
        let s = v.as_str().ok_or("duration takes a limit like \"<500ms\"")?;
        let (inclusive, rest) = if let Some(r) = s.strip_prefix("<=") {
            (true, r)
        } else if let Some(r) = s.strip_prefix('<') {
            (false, r)
        } else {
            return Err("duration takes a limit like \"<500ms\"".into());
        };
        let d = duration(rest.trim())?;
        (
            CheckKind::Duration {
                inclusive,
                limit_ms: d.as_secs_f64() * 1000.0,
            },
            format!("duration {s}"),
        )
    } else {
        return Err(
            "unknown check: use status, json.<path>, header.<Name>, body_contains or duration"
                .into(),
        );
    };
    Ok(Check {
        name: format!("{req}: {what}"),
        kind,
    })
}

/// `once` requests ordered so that each runs after the `once` requests
/// extracting what it uses; `Err` holds a cycle.
pub(crate) fn once_order(
    reqs: &[CRequest],
    uses: &[HashSet<String>],
    extracted: &HashMap<&str, Vec<usize>>,
) -> Result<Vec<usize>, Vec<usize>> {
    let once: Vec<usize> = (0..reqs.len()).filter(|i| reqs[*i].once).collect();
    let deps = |i: usize| -> Vec<usize> {
        let mut d: Vec<usize> = uses[i]
            .iter()
            .flat_map(|v| extracted.get(v.as_str()).into_iter().flatten().copied())
            .filter(|j| *j != i && reqs[*j].once)
            .collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    // Depth-first, in file order; a node met again while on the stack closes
    // a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; reqs.len()];
    let mut order = Vec::new();
    fn visit(
        i: usize,
        deps: &dyn Fn(usize) -> Vec<usize>,
        mark: &mut [Mark],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match mark[i] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let at = stack.iter().position(|x| *x == i).unwrap_or(0);
                return Err(stack[at..].to_vec());
            }
            Mark::New => {}
        }
        mark[i] = Mark::Open;
        stack.push(i);
        for d in deps(i) {
            visit(d, deps, mark, stack, order)?;
        }
        stack.pop();
        mark[i] = Mark::Done;
        order.push(i);
        Ok(())
    }
    for &i in &once {
        visit(i, &deps, &mut mark, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// The k6 options of the file; whether it wants HTTP/2 and cookies.
pub(crate) fn options(file: &ScenarioFile, p: &mut Problems<'_>) -> (Value, Option<bool>, bool) {
    let l = &file.load;
    let mut sc = Map::new();
    let executor = l.executor.map_or("constant-vus", |e| e.name());
    sc.insert("executor".into(), json!(executor));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            sc.insert(k.into(), v);
        }
    };
    put("vus", l.vus.map(Value::from));
    put("duration", l.duration.clone().map(Value::from));
    put("iterations", l.iterations.map(Value::from));
    put("rate", l.rate.map(Value::from));
    put("timeUnit", l.time_unit.clone().map(Value::from));
    put("preAllocatedVUs", l.pool.map(Value::from));
    put("maxVUs", l.max_vus.map(Value::from));
    put("startVUs", l.start_vus.map(Value::from));
    put("startRate", l.start_rate.map(Value::from));
    put("gracefulStop", l.graceful_stop.clone().map(Value::from));
    put(
        "gracefulRampDown",
        l.graceful_ramp_down.clone().map(Value::from),
    );
    put("maxDuration", l.max_duration.clone().map(Value::from));
    put(
        "stages",
        l.stages.as_ref().map(|s| {
            Value::Array(
                s.iter()
                    .map(|st| json!({"duration": st.duration, "target": st.target}))
                    .collect(),
            )
        }),
    );
    sc.insert("exec".into(), json!("default"));
    let mut o = Map::new();
    o.insert("scenarios".into(), json!({ "default": Value::Object(sc) }));
    if !file.thresholds.is_empty() {
        o.insert(
            "thresholds".into(),
            serde_json::to_value(&file.thresholds).unwrap_or_default(),
        );
    }
    let h = &file.http;
    let cookies = h.cookies.unwrap_or(true);
    if cookies {
        o.insert("noCookiesReset".into(), json!(true));
    }
    if let Some(v) = h.insecure_skip_tls_verify {
        o.insert("insecureSkipTLSVerify".into(), json!(v));
    }
    if let Some(v) = h.max_redirects {
        o.insert("maxRedirects".into(), json!(v));
    }
    if let Some(v) = &h.user_agent {
        o.insert("userAgent".into(), json!(v));
    }
    if let Some(v) = h.discard_response_bodies {
        o.insert("discardResponseBodies".into(), json!(v));
    }
    if h.tls_min.is_some() || h.tls_max.is_some() {
        let mut t = Map::new();
        if let Some(v) = &h.tls_min {
            t.insert("min".into(), json!(v));
        }
        if let Some(v) = &h.tls_max {
            t.insert("max".into(), json!(v));
        }
        o.insert("tlsVersion".into(), Value::Object(t));
    }
    let http2 = match h.version.as_ref().map(Text::as_text).as_deref() {
        None => None,
        Some("1.1") => Some(false),
        Some("2") | Some("2.0") => Some(true),
        Some(other) => {
            p.add(
                Some("http"),
                "version",
                format!("http.version: {other:?} is neither \"1.1\" nor \"2\""),
            );
            None
        }
    };
    (Value::Object(o), http2, cookies)
}
