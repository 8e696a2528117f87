//! The static targets of a test: where its literal URLs lead, as far as
//! that is known before it runs and without asking DNS.
//!
//! A server refuses a run whose script names a target outside its
//! allow-list before anything starts (the engine's `blacklistIPs` check
//! still guards every connection at run time, for the targets only known
//! then: URLs built from variables, names only DNS can resolve). What is
//! sound to know up front, and all this reports:
//!
//! - `http`, `https`, `ws` and `wss` URLs written literally in the test's
//!   JavaScript/TypeScript files (the entry script, its local and remote
//!   modules), whose host is an IP literal or a name the `hosts` option
//!   maps to an address (the engine connects to exactly that address);
//! - a URL whose host part is built (`${…}`, `' + x + '`) or a plain DNS
//!   name is not reported: only DNS at run time knows where it leads, and
//!   asking DNS here would itself send traffic the test did not ask for.
//!
//! Data files (`open()`ed JSON, CSV…) are not scanned: their URLs may be
//! payloads, not targets.

use std::collections::BTreeSet;
use std::net::IpAddr;

use stampede_config::options::HostAddress;
use stampede_js::Archive;

use crate::protocol::StaticTarget;

/// The script files of `archive` (entry script and modules) and the URLs
/// in them that lead to a known address, with `hosts` overrides applied.
pub fn static_targets(archive: &Archive, hosts: &[(String, HostAddress)]) -> Vec<StaticTarget> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut scan = |file: &str, text: &str| {
        for (url, host, port) in literal_urls(text) {
            if let Some(ip) = address_of(&host, port, hosts) {
                if seen.insert((url.clone(), ip)) {
                    out.push(StaticTarget {
                        url,
                        file: file.to_string(),
                        ip,
                    });
                }
            }
        }
    };
    scan(archive.main(), &archive.main_source());
    let names: Vec<String> = archive.file_names().map(String::from).collect();
    for name in names.iter().filter(|n| is_script(n)) {
        if let Some(data) = archive.file(name) {
            if let Ok(text) = std::str::from_utf8(&data) {
                scan(name, text);
            }
        }
    }
    out
}

/// Whether a module name is JavaScript or TypeScript (remote modules often
/// have no extension: they are scripts too).
fn is_script(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("js" | "mjs" | "cjs" | "ts" | "mts" | "cts") => true,
        None => name.starts_with("https://"),
        _ => false,
    }
}

/// Where `host:port` connects without DNS: a `hosts` override (by
/// `host:port`, then `host`, as the engine looks it up), else an IP literal.
fn address_of(host: &str, port: u16, hosts: &[(String, HostAddress)]) -> Option<IpAddr> {
    let with_port = format!("{host}:{port}");
    let lookup = |key: &str| hosts.iter().find(|(n, _)| n == key).map(|(_, a)| a.ip);
    lookup(&with_port)
        .or_else(|| lookup(host))
        .or_else(|| host.trim_matches(['[', ']']).parse::<IpAddr>().ok())
}

/// Every literal `scheme://authority` in `text` whose authority is written
/// out whole, as (the URL up to its authority, host, port).
fn literal_urls(text: &str) -> Vec<(String, String, u16)> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("://").map(|i| i + from) {
        from = at + 3;
        let scheme_start = lower[..at]
            .rfind(|c: char| !c.is_ascii_alphabetic())
            .map_or(0, |i| i + 1);
        let default_port = match &lower[scheme_start..at] {
            "http" | "ws" => 80,
            "https" | "wss" => 443,
            _ => continue,
        };
        let rest = &text[from..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || is_delimiter(c))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        // A template or concatenation continues the host: not literal.
        let next = rest[end..].chars().next();
        if authority.is_empty()
            || authority.contains("${")
            || (matches!(next, Some('"' | '\'' | '`')) && concatenated(&rest[end + 1..]))
        {
            continue;
        }
        let hostport = authority.rsplit('@').next().unwrap_or(authority);
        let Some((host, port)) = split_host_port(hostport, default_port) else {
            continue;
        };
        let url = format!("{}{}", &text[scheme_start..from], authority);
        out.push((url, host.to_ascii_lowercase(), port));
    }
    out
}

/// Characters that end a URL inside source code.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | ')' | '(' | ',' | ';' | '<' | '>' | '\\'
        )
}

/// Whether the code after a closing quote adds to the string (`+ x`).
fn concatenated(after: &str) -> bool {
    after.trim_start().starts_with('+')
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(v6) = s.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if rest.is_empty() => default_port,
            None => return None,
        };
        return Some((format!("[{host}]"), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((s.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use stampede_js::FileData;

    fn urls(text: &str) -> Vec<(String, String, u16)> {
        literal_urls(text)
    }

    #[test]
    fn finds_literal_urls_and_skips_built_ones() {
        let src = r#"
            http.get('http://10.1.2.3/api?x=1');
            http.get("https://[fd00::1]:8443/x");
            const ws = 'wss://user:pw@192.168.0.9:9000';
            http.get(`http://${host}/x`);
            http.get('http://' + host + '/x');
            http.get('http://10.0.0.' + n);
            http.get(`${base}/x`);
            // HTTP://Example.COM:81/ is a name: DNS decides
            const u = 'ftp://10.9.9.9/';
        "#;
        assert_eq!(
            urls(src),
            [
                ("http://10.1.2.3".into(), "10.1.2.3".into(), 80),
                ("https://[fd00::1]:8443".into(), "[fd00::1]".into(), 8443),
                (
                    "wss://user:pw@192.168.0.9:9000".into(),
                    "192.168.0.9".into(),
                    9000
                ),
                ("HTTP://Example.COM:81".into(), "example.com".into(), 81),
            ]
        );
    }

    #[test]
    fn reports_ip_literals_and_hosts_overrides_only() {
        let mut files = BTreeMap::new();
        files.insert(
            "/p/lib.js".to_string(),
            FileData::from(&b"export const u = 'http://api.internal:8080/';"[..]),
        );
        files.insert(
            "/p/urls.json".to_string(),
            FileData::from(&b"[\"http://10.0.0.7/\"]"[..]),
        );
        let a = Archive::from_files(
            "/p/s.js",
            "import { u } from './lib.js';\n\
             http.get('http://127.0.0.1:3000/'); http.get('https://example.com/');"
                .into(),
            files,
            serde_json::json!({}),
            BTreeMap::new(),
        );
        let hosts = vec![(
            "api.internal:8080".to_string(),
            "10.2.3.4".parse::<HostAddress>().unwrap(),
        )];
        let t = static_targets(&a, &hosts);
        let got: Vec<(&str, &str, String)> = t
            .iter()
            .map(|t| (t.url.as_str(), t.file.as_str(), t.ip.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("http://127.0.0.1:3000", "/p/s.js", "127.0.0.1".to_string()),
                (
                    "http://api.internal:8080",
                    "/p/lib.js",
                    "10.2.3.4".to_string()
                ),
            ],
            "names without an override and data files are not targets"
        );
    }
}
