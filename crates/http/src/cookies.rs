//! An RFC 6265 cookie jar with the semantics of Go's `net/http/cookiejar`
//! (which k6 uses), and Go's `Set-Cookie` parser.
//!
//! A VU owns its jar; methods take `&self` so `http.batch` requests in flight
//! together can all update it (nothing is borrowed across an await).

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::header_list::is_token_byte;
use crate::request::RequestCookie;
use crate::response::ResponseCookie;

/// Attributes for [`CookieJar::set`] (k6 `jar.set(url, name, value, opts)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieOptions {
    /// `Domain`; empty makes a host-only cookie.
    pub domain: Option<String>,
    /// `Path`; empty uses the URL's directory.
    pub path: Option<String>,
    /// `Expires`.
    pub expires: Option<SystemTime>,
    /// `Max-Age` in seconds; zero or negative deletes.
    pub max_age: Option<i64>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    value: String,
    domain: String,
    path: String,
    host_only: bool,
    secure: bool,
    expires: Option<SystemTime>,
    creation: u64,
}

impl Entry {
    fn should_send(&self, https: bool, host: &str, path: &str) -> bool {
        self.domain_match(host) && path_match(&self.path, path) && (https || !self.secure)
    }

    fn domain_match(&self, host: &str) -> bool {
        if self.domain == host {
            return true;
        }
        !self.host_only && has_dot_suffix(host, &self.domain)
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// A VU's cookie jar.
#[derive(Debug, Default)]
pub struct CookieJar {
    entries: RefCell<Vec<Entry>>,
    seq: Cell<u64>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a cookie as if `url` had answered with it (k6 `jar.set`).
    /// Returns false when the jar rejects it (bad domain, non-HTTP URL).
    pub fn set(&self, url: &Url, name: &str, value: &str, opts: &CookieOptions) -> bool {
        let c = ParsedCookie {
            name: name.to_string(),
            value: value.to_string(),
            domain: opts.domain.clone().unwrap_or_default(),
            path: opts.path.clone().unwrap_or_default(),
            expires: opts.expires,
            max_age: match opts.max_age {
                None | Some(0) => 0,
                Some(n) if n < 0 => -1,
                Some(n) => n,
            },
            secure: opts.secure,
            http_only: opts.http_only,
        };
        self.store(url, c, SystemTime::now())
    }

    /// Stores the cookie of one `Set-Cookie` header value received from `url`.
    pub fn set_from_header(&self, url: &Url, set_cookie: &str) {
        if let Some(c) = parse_set_cookie(set_cookie) {
            self.store(url, c, SystemTime::now());
        }
    }

    /// The cookies that a request to `url` sends, in the order they are sent
    /// (longest path first, then oldest first), as (name, value).
    pub fn cookies_for_url(&self, url: &Url) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.for_url(url, SystemTime::now, |e| {
            out.push((e.name.clone(), e.value.clone()))
        });
        out
    }

    /// Deletes every cookie a request to `url` would send (k6 `jar.clear`).
    pub fn clear(&self, url: &Url) {
        self.remove_matching(url, None);
    }

    /// Deletes the cookies named `name` that a request to `url` would send
    /// (k6 `jar.delete`).
    pub fn delete(&self, url: &Url, name: &str) {
        self.remove_matching(url, Some(name));
    }

    /// Deletes every cookie (k6 `jar.clearAll`).
    pub fn clear_all(&self) {
        self.entries.borrow_mut().clear();
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    fn remove_matching(&self, url: &Url, name: Option<&str>) {
        let Some((https, host, path)) = target(url) else {
            return;
        };
        self.entries
            .borrow_mut()
            .retain(|e| !(e.should_send(https, &host, path) && name.is_none_or(|n| n == e.name)));
    }

    fn for_url(&self, url: &Url, now: impl FnOnce() -> SystemTime, mut f: impl FnMut(&Entry)) {
        let mut entries = self.entries.borrow_mut();
        if entries.is_empty() {
            return;
        }
        let Some((https, host, path)) = target(url) else {
            return;
        };
        let now = now();
        entries.retain(|e| !e.expired(now));
        let mut selected: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.should_send(https, &host, path))
            .collect();
        selected.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.creation.cmp(&b.creation))
        });
        for e in selected {
            f(e);
        }
    }

    /// The cookies the first hop of a request sends, in order, as (name,
    /// value): per-request cookies first, then the jar's unless replaced.
    /// For k6's `res.request.cookies` and `res.request.headers.Cookie`.
    pub fn request_cookies(
        jar: Option<&CookieJar>,
        url: &Url,
        extra: &[RequestCookie],
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = extra
            .iter()
            .map(|c| (c.name.clone(), c.value.clone()))
            .collect();
        if let Some(jar) = jar {
            jar.for_url(url, SystemTime::now, |e| {
                if !extra.iter().any(|c| c.replace && c.name == e.name) {
                    out.push((e.name.clone(), e.value.clone()));
                }
            });
        }
        out
    }

    /// The `Cookie` header for a request: per-request cookies first, then the
    /// jar's unless replaced (k6 `SetRequestCookies`).
    pub(crate) fn header_value(
        jar: Option<&CookieJar>,
        url: &Url,
        extra: &[RequestCookie],
        out: &mut String,
    ) {
        for c in extra {
            push_cookie(out, &c.name, &c.value);
        }
        if let Some(jar) = jar {
            jar.for_url(url, SystemTime::now, |e| {
                if !extra.iter().any(|c| c.replace && c.name == e.name) {
                    push_cookie(out, &e.name, &e.value);
                }
            });
        }
    }

    fn store(&self, url: &Url, c: ParsedCookie, now: SystemTime) -> bool {
        let Some((_, host, _)) = target(url) else {
            return false;
        };
        let path = if c.path.starts_with('/') {
            c.path
        } else {
            default_path(url.path())
        };
        let Some((domain, host_only)) = domain_and_type(&host, &c.domain) else {
            return false;
        };
        let mut entries = self.entries.borrow_mut();
        let pos = entries
            .iter()
            .position(|e| e.name == c.name && e.domain == domain && e.path == path);
        let expires = if c.max_age < 0 {
            None
        } else if c.max_age > 0 {
            Some(now + Duration::from_secs(c.max_age as u64))
        } else {
            c.expires
        };
        let delete = c.max_age < 0 || (c.max_age == 0 && expires.is_some_and(|e| e <= now));
        if delete {
            if let Some(i) = pos {
                entries.remove(i);
            }
            return true;
        }
        let creation = match pos {
            Some(i) => entries[i].creation,
            None => {
                let s = self.seq.get();
                self.seq.set(s + 1);
                s
            }
        };
        let entry = Entry {
            name: c.name,
            value: c.value,
            domain,
            path,
            host_only,
            secure: c.secure,
            expires,
            creation,
        };
        match pos {
            Some(i) => entries[i] = entry,
            None => entries.push(entry),
        }
        true
    }
}

fn push_cookie(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push_str("; ");
    }
    out.push_str(name);
    out.push('=');
    // Go quotes values containing a space or comma.
    if value.contains([' ', ',']) {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// (https, lowercase host without port, path) for http(s) URLs.
fn target(url: &Url) -> Option<(bool, String, &str)> {
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let host = match url.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    Some((https, host, path))
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

fn has_dot_suffix(s: &str, suffix: &str) -> bool {
    s.len() > suffix.len()
        && s.ends_with(suffix)
        && s.as_bytes()[s.len() - suffix.len() - 1] == b'.'
}

/// RFC 6265 5.1.4 path-match.
fn path_match(cookie_path: &str, req_path: &str) -> bool {
    if req_path == cookie_path {
        return true;
    }
    if let Some(rest) = req_path.strip_prefix(cookie_path) {
        return cookie_path.ends_with('/') || rest.starts_with('/');
    }
    false
}

/// RFC 6265 5.1.4 default-path.
fn default_path(path: &str) -> String {
    if path.is_empty() || !path.starts_with('/') {
        return "/".to_string();
    }
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// The cookie's domain and whether it is host-only, or None if the domain
/// attribute is not acceptable for `host` (Go `domainAndType`, without the
/// public-suffix check).
fn domain_and_type(host: &str, domain: &str) -> Option<(String, bool)> {
    if domain.is_empty() {
        return Some((host.to_string(), true));
    }
    if is_ip(host) {
        return (host == domain).then(|| (host.to_string(), false));
    }
    let domain = domain.strip_prefix('.').unwrap_or(domain);
    if domain.is_empty() || domain.ends_with('.') {
        return None;
    }
    let domain = domain.to_ascii_lowercase();
    if host != domain && !has_dot_suffix(host, &domain) {
        return None;
    }
    Some((domain, false))
}

/// One parsed `Set-Cookie` (Go `http.Cookie`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedCookie {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) domain: String,
    pub(crate) path: String,
    pub(crate) expires: Option<SystemTime>,
    /// Go's convention: 0 absent, -1 delete, else seconds.
    pub(crate) max_age: i64,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
}

impl ParsedCookie {
    pub(crate) fn into_response_cookie(self) -> ResponseCookie {
        ResponseCookie {
            name: self.name,
            value: self.value,
            domain: self.domain,
            path: self.path,
            http_only: self.http_only,
            secure: self.secure,
            max_age: self.max_age,
            expires: self.expires.map(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            }),
        }
    }
}

/// Go's `parseCookieValue`: strips one pair of quotes, rejects bytes Go rejects.
fn parse_cookie_value(raw: &str) -> Option<String> {
    let v = if raw.len() > 1 && raw.starts_with('"') && raw.ends_with('"') {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    let ok = v
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b';' && b != b'\\');
    ok.then(|| v.to_string())
}

/// Parses one `Set-Cookie` header value like Go's `readSetCookies`.
pub(crate) fn parse_set_cookie(line: &str) -> Option<ParsedCookie> {
    let mut parts = line.trim().split(';');
    let first = parts.next()?.trim();
    let (name, value) = first.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return None;
    }
    let value = parse_cookie_value(value.trim())?;
    let mut c = ParsedCookie {
        name: name.to_string(),
        value,
        domain: String::new(),
        path: String::new(),
        expires: None,
        max_age: 0,
        secure: false,
        http_only: false,
    };
    for attr in parts {
        let attr = attr.trim();
        if attr.is_empty() {
            continue;
        }
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr, ""),
        };
        if !key.bytes().all(is_token_byte) {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let Some(val) = parse_cookie_value(val) else {
            continue;
        };
        match key.as_str() {
            "secure" => c.secure = true,
            "httponly" => c.http_only = true,
            "domain" => c.domain = val,
            "path" => c.path = val,
            "max-age" => {
                let Ok(secs) = val.parse::<i64>() else {
                    continue;
                };
                if secs != 0 && val.starts_with('0') {
                    continue;
                }
                c.max_age = if secs <= 0 { -1 } else { secs };
            }
            "expires" => c.expires = parse_expires(&val),
            _ => {}
        }
    }
    Some(c)
}

/// Go accepts `Mon, 02 Jan 2006 15:04:05 GMT` and `Mon, 02-Jan-2006 15:04:05 MST`.
fn parse_expires(val: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(val)
        .ok()
        .or_else(|| httpdate::parse_http_date(&val.replace('-', " ")).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn names(jar: &CookieJar, url: &str) -> String {
        jar.cookies_for_url(&u(url))
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn parses_attributes_like_go() {
        let c = parse_set_cookie(
            "a=\"b c\"; Path=/x; Domain=.Example.com; Max-Age=10; Secure; HttpOnly",
        )
        .unwrap();
        assert_eq!(c.name, "a");
        assert_eq!(c.value, "b c");
        assert_eq!(c.path, "/x");
        assert_eq!(c.domain, ".Example.com");
        assert_eq!(c.max_age, 10);
        assert!(c.secure && c.http_only);
        assert_eq!(parse_set_cookie("a=1; Max-Age=0").unwrap().max_age, -1);
        assert_eq!(parse_set_cookie("a=1; Max-Age=010").unwrap().max_age, 0);
        assert!(parse_set_cookie("noequals").is_none());
        assert!(parse_set_cookie("bad name=1").is_none());
        let e = parse_set_cookie("a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(e.into_response_cookie().expires, Some(1_445_412_480_000));
        let e = parse_set_cookie("a=1; expires=Wed, 21-Oct-2015 07:28:00 GMT").unwrap();
        assert!(e.expires.is_some());
    }

    #[test]
    fn host_only_vs_domain() {
        let jar = CookieJar::new();
        jar.set_from_header(&u("http://example.com/"), "h=1");
        jar.set_from_header(&u("http://example.com/"), "d=2; Domain=example.com");
        assert_eq!(names(&jar, "http://example.com/"), "h=1; d=2");
        assert_eq!(names(&jar, "http://www.example.com/"), "d=2");
        assert_eq!(names(&jar, "http://other.com/"), "");
        // A domain the host is not within is rejected.
        jar.set_from_header(&u("http://example.com/"), "x=1; Domain=other.com");
        assert_eq!(names(&jar, "http://other.com/"), "");
    }

    #[test]
    fn ip_hosts_accept_only_their_own_domain() {
        let jar = CookieJar::new();
        jar.set_from_header(&u("http://127.0.0.1:8080/"), "a=1; Domain=127.0.0.1");
        jar.set_from_header(&u("http://127.0.0.1:8080/"), "b=1; Domain=0.0.1");
        assert_eq!(names(&jar, "http://127.0.0.1:9090/"), "a=1");
    }

    #[test]
    fn paths_order_and_default_path() {
        let jar = CookieJar::new();
        jar.set_from_header(&u("http://h/a/b/page"), "dflt=1");
        jar.set_from_header(&u("http://h/"), "root=1; Path=/");
        jar.set_from_header(&u("http://h/"), "deep=1; Path=/a/b/c");
        assert_eq!(names(&jar, "http://h/a/b/c/d"), "deep=1; dflt=1; root=1");
        assert_eq!(names(&jar, "http://h/a/b"), "dflt=1; root=1");
        assert_eq!(names(&jar, "http://h/a/bc"), "root=1");
    }

    #[test]
    fn secure_only_over_https() {
        let jar = CookieJar::new();
        jar.set_from_header(&u("https://h/"), "s=1; Secure");
        assert_eq!(names(&jar, "http://h/"), "");
        assert_eq!(names(&jar, "https://h/"), "s=1");
    }

    #[test]
    fn expiry_and_deletion() {
        let jar = CookieJar::new();
        let url = u("http://h/");
        jar.set_from_header(&url, "a=1");
        jar.set_from_header(&url, "b=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(names(&jar, "http://h/"), "a=1");
        jar.set_from_header(&url, "a=2; Max-Age=100");
        assert_eq!(names(&jar, "http://h/"), "a=2");
        jar.set_from_header(&url, "a=x; Max-Age=0");
        assert_eq!(names(&jar, "http://h/"), "");
    }

    #[test]
    fn replace_keeps_creation_order() {
        let jar = CookieJar::new();
        let url = u("http://h/");
        jar.set_from_header(&url, "a=1");
        jar.set_from_header(&url, "b=1");
        jar.set_from_header(&url, "a=2");
        assert_eq!(names(&jar, "http://h/"), "a=2; b=1");
    }

    #[test]
    fn k6_jar_api() {
        let jar = CookieJar::new();
        let url = u("http://h/p");
        assert!(jar.set(&url, "a", "1", &CookieOptions::default()));
        assert!(jar.set(
            &url,
            "b",
            "2",
            &CookieOptions {
                path: Some("/".into()),
                ..Default::default()
            }
        ));
        assert!(!jar.set(
            &url,
            "c",
            "3",
            &CookieOptions {
                domain: Some("other".into()),
                ..Default::default()
            }
        ));
        assert_eq!(names(&jar, "http://h/p"), "a=1; b=2");
        jar.delete(&url, "a");
        assert_eq!(names(&jar, "http://h/p"), "b=2");
        jar.clear(&url);
        assert!(jar.is_empty());
        jar.set(&url, "a", "1", &CookieOptions::default());
        jar.clear_all();
        assert!(jar.is_empty());
    }

    #[test]
    fn request_cookies_first_and_replace() {
        let jar = CookieJar::new();
        let url = u("http://h/");
        jar.set_from_header(&url, "rc=1");
        jar.set_from_header(&url, "other=jar");
        let extra = vec![
            RequestCookie {
                name: "mine".into(),
                value: "v".into(),
                replace: false,
            },
            RequestCookie {
                name: "other".into(),
                value: "o".into(),
                replace: true,
            },
        ];
        let mut out = String::new();
        CookieJar::header_value(Some(&jar), &url, &extra, &mut out);
        assert_eq!(out, "mine=v; other=o; rc=1");
        let list = CookieJar::request_cookies(Some(&jar), &url, &extra);
        let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["mine", "other", "rc"]);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,200}") {
            let _ = parse_set_cookie(&s);
        }
    }
}
