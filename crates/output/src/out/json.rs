//! `--out json`: one JSON object per line, as k6 v1.1 writes them: a
//! `Metric` line the first time a metric appears, then a `Point` per sample.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use stampede_metrics::{MetricDef, Registry, Sample, TagSet};

use super::target::Target;
use super::timefmt::write_rfc3339;
use super::{MetricMetas, Output, OutputContext};
use crate::jsfmt::go_g;

/// Serialized tag sets kept for reuse; cleared when it grows past this.
const TAG_CACHE_MAX: usize = 16 * 1024;

/// The JSON lines output.
pub struct JsonOutput {
    path: Option<PathBuf>,
    metas: Arc<MetricMetas>,
    offset: i32,
    target: Option<Target>,
    /// Metric definitions by id, once looked up; `Some` also means the
    /// `Metric` line was written.
    defs: Vec<Option<MetricDef>>,
    tags: HashMap<TagSet, Box<str>>,
    line: String,
}

impl JsonOutput {
    /// A JSON output to `arg` (`""` or `-`: stdout; `.gz`: gzipped).
    pub fn new(arg: &str, ctx: &OutputContext) -> Self {
        JsonOutput {
            path: (!arg.is_empty() && arg != "-").then(|| PathBuf::from(arg)),
            metas: ctx.metrics.clone(),
            offset: ctx.utc_offset_secs,
            target: None,
            defs: Vec::new(),
            tags: HashMap::new(),
            line: String::with_capacity(512),
        }
    }

    fn metric_line(&mut self, def: &MetricDef) {
        let out = &mut self.line;
        out.push_str(r#"{"type":"Metric","data":{"name":"#);
        write_string(out, &def.name);
        out.push_str(r#","type":""#);
        out.push_str(def.kind.as_str());
        out.push_str(r#"","contains":""#);
        out.push_str(def.contains.as_str());
        out.push_str(r#"","thresholds":["#);
        let meta = self.metas.get(&*def.name);
        for (i, t) in meta.iter().flat_map(|m| &m.thresholds).enumerate() {
            if i > 0 {
                out.push(',');
            }
            // k6 encodes threshold sources without HTML escaping.
            write_json_string(out, t, false);
        }
        out.push_str(r#"],"submetrics":"#);
        match meta.filter(|m| !m.submetrics.is_empty()) {
            None => out.push_str("null"),
            Some(m) => {
                out.push('[');
                for (i, s) in m.submetrics.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(r#"{"name":"#);
                    write_string(out, &s.name);
                    out.push_str(r#","suffix":"#);
                    write_string(out, &s.suffix);
                    out.push_str(r#","tags":"#);
                    write_tags(out, &s.tags);
                    out.push('}');
                }
                out.push(']');
            }
        }
        out.push_str(r#"},"metric":"#);
        write_string(out, &def.name);
        out.push_str("}\n");
    }

    fn point_line(&mut self, name: &str, sample: &Sample) {
        let out = &mut self.line;
        out.push_str(r#"{"metric":"#);
        write_string(out, name);
        out.push_str(r#","type":"Point","data":{"time":""#);
        write_rfc3339(out, sample.time_ns, self.offset, true);
        out.push_str(r#"","value":"#);
        if sample.value.is_finite() {
            out.push_str(&go_g(sample.value));
        } else {
            // Not representable in JSON; k6 fails to encode such a sample.
            out.push_str("null");
        }
        out.push_str(r#","tags":"#);
        if self.tags.len() >= TAG_CACHE_MAX {
            self.tags.clear();
        }
        let tags = self.tags.entry(sample.tags.clone()).or_insert_with(|| {
            let mut s = String::new();
            write_tags(&mut s, &sample.tags);
            s.into_boxed_str()
        });
        out.push_str(tags);
        out.push_str("}}\n");
    }
}

/// A tag set as a JSON object, keys sorted; `vu` and `iter` (k6's
/// metadata) go into a following `"metadata"` object, as k6 writes them.
fn write_tags(out: &mut String, tags: &TagSet) {
    let write_object = |out: &mut String, pairs: &mut dyn Iterator<Item = (&str, &str)>| {
        out.push('{');
        for (i, (k, v)) in pairs.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(out, k);
            out.push(':');
            write_string(out, v);
        }
        out.push('}');
    };
    write_object(out, &mut tags.iter().filter(|(k, _)| !is_metadata(k)));
    let mut metadata = METADATA
        .iter()
        .filter_map(|k| tags.get(k).map(|v| (*k, v)))
        .peekable();
    if metadata.peek().is_some() {
        out.push_str(r#","metadata":"#);
        write_object(out, &mut metadata);
    }
}

/// The system tags k6 keeps as metadata (non-indexable), in its order.
pub(crate) const METADATA: [&str; 2] = ["vu", "iter"];

/// Whether tag `key` is one of k6's metadata.
pub(crate) fn is_metadata(key: &str) -> bool {
    METADATA.contains(&key)
}

/// A JSON string as k6's encoder (easyjson) writes it: `"` `\` `\n` `\r`
/// `\t` escaped, other control characters and `<` `>` `&` as `\u00XX`,
/// U+2028 and U+2029 escaped; the rest verbatim.
fn write_string(out: &mut String, s: &str) {
    write_json_string(out, s, true);
}

/// [`write_string`], with `<` `>` `&` escaped only when `html` is set.
fn write_json_string(out: &mut String, s: &str, html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 || (html && matches!(c, '<' | '>' | '&')) => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl Output for JsonOutput {
    fn description(&self) -> String {
        match &self.path {
            None => "json(stdout)".into(),
            Some(p) => format!("json ({})", p.display()),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        self.target = Some(Target::open(self.path.as_deref())?);
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        if self.target.is_none() {
            return Err(io::Error::other("json output used before start()"));
        }
        self.line.clear();
        for sample in samples {
            let id = sample.metric.id.0 as usize;
            if id >= self.defs.len() {
                self.defs.resize(id + 1, None);
            }
            if self.defs[id].is_none() {
                let Some(def) = registry.get_def(sample.metric.id) else {
                    continue;
                };
                self.metric_line(&def);
                self.defs[id] = Some(def);
            }
            let name = self.defs[id].as_ref().map(|d| d.name.clone());
            if let Some(name) = name {
                self.point_line(&name, sample);
            }
            if self.line.len() >= 64 * 1024 {
                let target = self.target.as_mut().expect("checked above");
                target.write_all(self.line.as_bytes())?;
                self.line.clear();
            }
        }
        let target = self.target.as_mut().expect("checked above");
        target.write_all(self.line.as_bytes())?;
        self.line.clear();
        Ok(())
    }

    fn stop(&mut self) -> io::Result<()> {
        match self.target.take() {
            Some(t) => t.finish(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vu_and_iter_are_metadata() {
        // k6 v1.1.0 with systemTags ['vu', 'iter', 'scenario', ...].
        let mut s = String::new();
        let tags = TagSet::from_pairs([
            ("iter", "0"),
            ("scenario", "default"),
            ("vu", "1"),
            ("x", "y"),
        ]);
        write_tags(&mut s, &tags);
        assert_eq!(
            s,
            r#"{"scenario":"default","x":"y"},"metadata":{"vu":"1","iter":"0"}"#
        );
    }

    #[test]
    fn strings_escaped_like_k6() {
        // k6 v1.1.0 --out json, tag values from c.add(1, {...}).
        let mut s = String::new();
        write_string(&mut s, "x&y<z>\"q\"");
        assert_eq!(s, r#""x\u0026y\u003cz\u003e\"q\"""#);
        let cases = [
            ("\u{2028}", r#""\u2028""#),
            ("\u{1}\t", r#""\u0001\t""#),
            ("é€😀", "\"é€😀\""),
            ("a\nb", r#""a\nb""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("b,c", r#""b,c""#),
        ];
        for (input, want) in cases {
            let mut s = String::new();
            write_string(&mut s, input);
            assert_eq!(s, want);
        }
    }
}
