//! The web dashboard's settings, read as k6 reads them: `K6_WEB_DASHBOARD`
//! (or `--web-dashboard`, or `webDashboard` in the options) turns it on;
//! `K6_WEB_DASHBOARD_HOST`, `_PORT`, `_PERIOD`, `_OPEN` and `_EXPORT`, or
//! the same keys in `--out web-dashboard=port=5666&export=report.html`
//! (query syntax; the output's parameters win over the environment), tune it.
//!
//! Every setting is validated before the run starts, and all problems are
//! reported together.

use std::time::Duration;

use stampede_config::K6Duration;

/// k6's default port.
pub const DEFAULT_PORT: u16 = 5665;

/// How the dashboard runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    /// The interface to listen on (k6's default: `localhost`).
    pub host: String,
    /// The port; `None` when `-1` disabled the HTTP server (the report is
    /// still written with `export`).
    pub port: Option<u16>,
    /// The length of one interval on the charts (Stampede's default: 1s,
    /// k6's: 10s).
    pub period: Duration,
    /// Open the page in the system's browser when the run starts.
    pub open: bool,
    /// Write the HTML report to this file at the end of the run.
    pub export: Option<String>,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            host: "localhost".into(),
            port: Some(DEFAULT_PORT),
            period: Duration::from_secs(1),
            open: false,
            export: None,
        }
    }
}

impl DashboardConfig {
    /// The settings from `K6_WEB_DASHBOARD_*` in `env`, then the parameters
    /// of a `--out web-dashboard=PARAMS` output (if any); every invalid
    /// value is reported.
    pub fn resolve(
        env: &[(String, String)],
        out_params: Option<&str>,
    ) -> Result<Self, Vec<String>> {
        let mut cfg = DashboardConfig::default();
        let mut errors = Vec::new();
        for (k, v) in env {
            if let Some(key) = k.strip_prefix("K6_WEB_DASHBOARD_") {
                cfg.set(&key.to_ascii_lowercase(), v, k, &mut errors);
            }
        }
        if let Some(params) = out_params.filter(|p| !p.is_empty()) {
            for pair in params.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
                let source = format!("web-dashboard output parameter {k:?}");
                if !cfg.set(k, v, &source, &mut errors) {
                    errors.push(format!(
                        "unknown web-dashboard output parameter {k:?} (known: host, port, period, \
                         open, export)"
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// Sets one key; returns whether the key is known.
    fn set(&mut self, key: &str, value: &str, source: &str, errors: &mut Vec<String>) -> bool {
        match key {
            "host" => self.host = value.trim().to_owned(),
            "port" => match value.trim() {
                "-1" => self.port = None,
                v => match v.parse::<u16>() {
                    Ok(p) => self.port = Some(p),
                    Err(_) => errors.push(format!(
                        "{source}: invalid port {value:?}: give 0..65535, or -1 to disable the \
                         HTTP server"
                    )),
                },
            },
            "period" => match K6Duration::parse(value.trim())
                .ok()
                .and_then(|d| d.to_std())
            {
                Some(d) if d >= Duration::from_millis(100) => self.period = d,
                _ => errors.push(format!(
                    "{source}: invalid period {value:?}: give a duration of at least 100ms, \
                     such as 1s or 10s"
                )),
            },
            "open" => match value.trim() {
                "true" | "1" => self.open = true,
                "false" | "0" | "" => self.open = false,
                _ => errors.push(format!("{source}: invalid boolean {value:?}")),
            },
            "export" => {
                self.export = Some(value.trim().to_owned()).filter(|s| !s.is_empty());
            }
            _ => return false,
        }
        true
    }

    /// The address to listen on: `localhost` and an empty host mean the
    /// IPv4 loopback (k6 binds `localhost` the same way by default).
    pub fn bind_address(&self) -> Option<String> {
        let port = self.port?;
        let host = match self.host.as_str() {
            "" | "localhost" => "127.0.0.1",
            h => h,
        };
        Some(if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }
}

/// Whether `spec` (an `--out` value) names the web dashboard; returns its
/// parameters (`""` when none).
pub fn out_params(spec: &str) -> Option<&str> {
    match spec.split_once('=') {
        Some(("web-dashboard", params)) => Some(params),
        None if spec == "web-dashboard" => Some(""),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_k6s_but_one_second_intervals() {
        let c = DashboardConfig::resolve(&[], None).unwrap();
        assert_eq!(c.bind_address().as_deref(), Some("127.0.0.1:5665"));
        assert_eq!(c.period, Duration::from_secs(1));
        assert!(!c.open && c.export.is_none());
    }

    #[test]
    fn environment_then_output_parameters() {
        let e = env(&[
            ("K6_WEB_DASHBOARD_PORT", "6000"),
            ("K6_WEB_DASHBOARD_PERIOD", "10s"),
            ("K6_WEB_DASHBOARD_EXPORT", "r.html"),
            ("K6_WEB_DASHBOARD_HOST", "::1"),
            ("K6_OTHER", "x"),
        ]);
        let c = DashboardConfig::resolve(&e, Some("port=6001&open")).unwrap();
        assert_eq!(c.bind_address().as_deref(), Some("[::1]:6001"));
        assert_eq!(c.period, Duration::from_secs(10));
        assert_eq!(c.export.as_deref(), Some("r.html"));
        assert!(c.open);
    }

    #[test]
    fn port_minus_one_disables_the_server() {
        let e = env(&[("K6_WEB_DASHBOARD_PORT", "-1")]);
        let c = DashboardConfig::resolve(&e, None).unwrap();
        assert_eq!(c.bind_address(), None);
    }

    #[test]
    fn every_bad_value_is_reported() {
        let e = env(&[
            ("K6_WEB_DASHBOARD_PORT", "abc"),
            ("K6_WEB_DASHBOARD_PERIOD", "1ms"),
            ("K6_WEB_DASHBOARD_OPEN", "maybe"),
        ]);
        let errs = DashboardConfig::resolve(&e, Some("colour=red")).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].contains("K6_WEB_DASHBOARD_PORT") && errs[0].contains("abc"));
        assert!(errs[3].contains("colour"));
    }

    #[test]
    fn out_specs() {
        assert_eq!(out_params("web-dashboard"), Some(""));
        assert_eq!(out_params("web-dashboard=port=1"), Some("port=1"));
        assert_eq!(out_params("json=x.json"), None);
        assert_eq!(out_params("web-dashboardx"), None);
    }
}
