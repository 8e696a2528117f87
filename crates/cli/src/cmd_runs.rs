//! `stampede runs`: the server's runs, newest first, as a table.

use clap::Args;
use http::Method;
use serde_json::Value;

use crate::client::{load, runtime, Api};

/// Arguments of `stampede runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The server (default: the one of `stampede login`, or STAMPEDE_URL).
    #[arg(long)]
    pub server: Option<String>,
    /// Only runs of this scenario id.
    #[arg(long)]
    pub scenario: Option<i64>,
    /// Only runs in these states (comma-separated).
    #[arg(long)]
    pub status: Option<String>,
    /// How many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

/// Runs the command; returns the exit code.
pub fn run(args: RunsArgs) -> i32 {
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let creds = load(args.server.as_deref())?;
            let api = Api::new(&creds.url, Some(creds.token))?;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &args.limit.to_string());
            if let Some(s) = args.scenario {
                q.append_pair("scenario_id", &s.to_string());
            }
            if let Some(s) = &args.status {
                q.append_pair("status", s);
            }
            api.call(Method::GET, &format!("/api/v1/runs?{}", q.finish()), None)
                .await
        })
    });
    match result {
        Ok(doc) => {
            print!("{}", table(&doc));
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn table(doc: &Value) -> String {
    let mut out = format!(
        "{:>6}  {:>8}  {:<10}  {:>4}  {}\n",
        "ID", "SCENARIO", "STATUS", "EXIT", "CREATED"
    );
    for r in doc["items"].as_array().into_iter().flatten() {
        let exit = r["exit_code"]
            .as_i64()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:>6}  {:>8}  {:<10}  {:>4}  {}\n",
            r["id"].to_string(),
            r["scenario_id"].to_string(),
            r["status"].as_str().unwrap_or("?"),
            exit,
            r["created_at"].as_str().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_a_table() {
        let doc = serde_json::json!({"items": [
            {"id": 3, "scenario_id": 1, "status": "passed", "exit_code": 0, "created_at": "2026-01-01T00:00:00Z"},
            {"id": 2, "scenario_id": 1, "status": "running", "exit_code": null, "created_at": "x"}
        ]});
        let t = table(&doc);
        assert!(
            t.contains("     3         1  passed         0  2026-01-01T00:00:00Z"),
            "{t}"
        );
        assert!(t.contains("running        -"), "{t}");
    }
}
