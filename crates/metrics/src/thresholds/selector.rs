//! Threshold selectors: `metric` or `metric{tag:value,...}` (a sub-metric).

use crate::gofmt::go_quote;
use crate::tags::TagSet;

use super::error::ThresholdError;

/// What a threshold applies to: a metric, or the sub-metric of its samples
/// whose tags contain `tags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// The tags a sample must have to count (empty: the whole metric).
    pub tags: TagSet,
    /// The text between the braces as written, trimmed (k6 names the
    /// sub-metric with it); `None` for a plain metric.
    pub suffix: Option<String>,
}

impl Selector {
    /// A selector for the whole metric `name`.
    pub fn metric(name: &str) -> Self {
        Selector {
            metric: name.to_owned(),
            tags: TagSet::empty(),
            suffix: None,
        }
    }

    /// Parses a selector as k6 does: the first `{` and the last `}` delimit
    /// the tags, which must close the string; tags are split on `,`, each on
    /// its first `:` (so `group:::a` is the group `::a`); keys and values are
    /// trimmed of whitespace and then of quotes (`"` and `'`).
    pub fn parse(s: &str) -> Result<Self, ThresholdError> {
        let err = |reason: String| ThresholdError::Selector {
            selector: s.to_owned(),
            reason,
        };
        let open = s.find('{');
        let close = s.rfind('}');
        let (open, close) = match (open, close) {
            (None, None) => return Ok(Selector::metric(s)),
            (Some(o), Some(c)) => (o, c),
            _ => {
                return Err(err(format!(
                    "metric {} has unmatched opening/close curly brace",
                    go_quote(s)
                )))
            }
        };
        if close < open {
            return Err(err(format!(
                "metric {} closing curly brace appears before opening one",
                go_quote(s)
            )));
        }
        if close != s.len() - 1 {
            return Err(err(format!(
                "metric {} lacks a closing curly brace in its last position",
                go_quote(s)
            )));
        }
        let inner = &s[open + 1..close];
        for tag in inner.split(',') {
            match tag.split_once(':') {
                Some((_, value)) if !value.is_empty() => {}
                _ => {
                    return Err(err(format!(
                        "metric {} tag expression is malformed",
                        go_quote(tag)
                    )))
                }
            }
        }
        let suffix = inner.trim();
        let unquote = |x: &str| x.trim().trim_matches(['"', '\'']).to_owned();
        let tags = TagSet::from_pairs(suffix.split(',').filter(|kv| !kv.is_empty()).map(|kv| {
            match kv.split_once(':') {
                Some((k, v)) => (unquote(k), unquote(v)),
                None => (unquote(kv), String::new()),
            }
        }));
        Ok(Selector {
            metric: s[..open].to_owned(),
            tags,
            suffix: Some(suffix.to_owned()),
        })
    }

    /// The (sub-)metric's name as k6 shows it: `metric`, or
    /// `metric{<suffix>}` with the tags as written (trimmed).
    pub fn name(&self) -> String {
        match &self.suffix {
            Some(suffix) => format!("{}{{{suffix}}}", self.metric),
            None if self.tags.is_empty() => self.metric.clone(),
            None => {
                let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{}{{{}}}", self.metric, tags.join(","))
            }
        }
    }

    /// Whether this selects a sub-metric (has tags).
    pub fn is_submetric(&self) -> bool {
        !self.tags.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tags(pairs: &[(&str, &str)]) -> TagSet {
        TagSet::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn plain_and_tagged() {
        let s = Selector::parse("http_req_duration").unwrap();
        assert_eq!(s, Selector::metric("http_req_duration"));
        assert_eq!(s.name(), "http_req_duration");
        assert!(!s.is_submetric());

        let s = Selector::parse("http_req_duration{name:x}").unwrap();
        assert_eq!(
            (s.metric.as_str(), &s.tags),
            ("http_req_duration", &tags(&[("name", "x")]))
        );
        assert_eq!(s.name(), "http_req_duration{name:x}");

        let s = Selector::parse("http_reqs{status:200,method:GET}").unwrap();
        assert_eq!(s.tags, tags(&[("status", "200"), ("method", "GET")]));

        let s = Selector::parse("group_duration{group:::a}").unwrap();
        assert_eq!(s.tags, tags(&[("group", "::a")]));
    }

    #[test]
    fn whitespace_and_quotes_like_k6() {
        // k6 v1.1.0 names these sub-metrics `checks{a : "b"}` and
        // `my_counter{b : 1 , "c":'2'}` and matches tags a=b, b=1 and c=2.
        let s = Selector::parse(r#"checks{ a : "b" }"#).unwrap();
        assert_eq!(s.tags, tags(&[("a", "b")]));
        assert_eq!(s.name(), r#"checks{a : "b"}"#);
        let s = Selector::parse(r#"my_counter{ b : 1 , "c":'2' }"#).unwrap();
        assert_eq!(s.tags, tags(&[("b", "1"), ("c", "2")]));
        assert_eq!(s.name(), r#"my_counter{b : 1 , "c":'2'}"#);
        // Accepted by k6 as written.
        assert_eq!(
            Selector::parse("checks{:b}").unwrap().tags,
            tags(&[("", "b")])
        );
        assert_eq!(
            Selector::parse("checks{a:b}}").unwrap().tags,
            tags(&[("a", "b}")])
        );
        assert_eq!(
            Selector::parse("checks{a:{b}").unwrap().tags,
            tags(&[("a", "{b")])
        );
        // Not trimmed: k6 then finds no such metric.
        assert_eq!(Selector::parse(" checks").unwrap().metric, " checks");
        assert_eq!(Selector::parse("checks {a:b}").unwrap().metric, "checks ");
    }

    #[test]
    fn errors_match_k6_wording() {
        let prefix =
            "unable to validate threshold expressions; reason: parsing metric name failed, ";
        let cases = [
            (
                "checks{a:b",
                r#"metric "checks{a:b" has unmatched opening/close curly brace"#,
            ),
            (
                "checks}",
                r#"metric "checks}" has unmatched opening/close curly brace"#,
            ),
            (
                "checks{a:b}x",
                r#"metric "checks{a:b}x" lacks a closing curly brace in its last position"#,
            ),
            (
                "checks}a:b{",
                r#"metric "checks}a:b{" closing curly brace appears before opening one"#,
            ),
            ("checks{a}", r#"metric "a" tag expression is malformed"#),
            ("checks{a:}", r#"metric "a:" tag expression is malformed"#),
            ("checks{}", r#"metric "" tag expression is malformed"#),
            ("checks{ }", r#"metric " " tag expression is malformed"#),
            ("checks{a:b,}", r#"metric "" tag expression is malformed"#),
            (
                "checks{a:b,,c:d}",
                r#"metric "" tag expression is malformed"#,
            ),
        ];
        for (sel, reason) in cases {
            let err = Selector::parse(sel).expect_err(sel);
            assert_eq!(err.to_string(), format!("{prefix}{reason}"));
        }
    }

    proptest! {
        #[test]
        fn round_trips_through_name(
            metric in "[a-z_]{2,10}",
            pairs in proptest::collection::vec(("[a-z]{1,4}", "[a-zA-Z0-9:/ ]{0,5}[a-z0-9]"), 0..4),
        ) {
            let sel = if pairs.is_empty() {
                metric.clone()
            } else {
                let tags: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{metric}{{{}}}", tags.join(","))
            };
            let s = Selector::parse(&sel).unwrap();
            prop_assert_eq!(&s.metric, &metric);
            let want = TagSet::from_pairs(pairs.iter().map(|(k, v)| (k.trim(), v.trim())));
            prop_assert_eq!(&s.tags, &want);
            prop_assert_eq!(Selector::parse(&s.name()).unwrap(), s);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Selector::parse(&s);
        }
    }
}
