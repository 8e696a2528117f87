//! Loading a pipeline file: parse, then check everything that can be
//! checked before anything runs — unknown stages in `needs`, cycles,
//! missing scripts and baselines, bad durations, empty gates — and report
//! *every* problem with the line it is on.
//!
//! serde_yaml gives the line of a syntax or type error; for the semantic
//! checks, which run on the parsed value, [`Lines`] finds the line of a
//! stage and of a field within it in the source text.
//!
//! Scripts and baselines come from a [`Source`]: files relative to the
//! pipeline file (the CLI), or files and scenario references given with
//! the request (the server), so both check the same things the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use stampede_config::K6Duration;
use stampede_output::results::baseline::Baseline;

use crate::spec::PipelineSpec;

/// One problem of a pipeline file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a pipeline file cannot run.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.file, .problems))]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

fn render(file: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", file.display()))
        .collect();
    lines.join("\n")
}

/// Where a pipeline's scripts and baselines come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Files on disk, relative to this directory (the pipeline file's).
    Dir(PathBuf),
    /// Files given with the pipeline by path (inline scripts, their
    /// modules, baselines), and script names that resolve elsewhere (the
    /// server's stored scenarios).
    Files {
        /// Path → content.
        files: BTreeMap<String, String>,
        /// Script names the runner resolves itself.
        external: BTreeSet<String>,
    },
}

impl Source {
    /// Whether `path` (as the pipeline names it) is a file of this source.
    pub fn exists(&self, path: &str) -> bool {
        match self {
            Source::Dir(d) => d.join(path).is_file(),
            Source::Files { files, external } => {
                files.contains_key(path) || external.contains(path)
            }
        }
    }

    /// Where a missing file was looked for, for messages.
    fn hint(&self) -> &'static str {
        match self {
            Source::Dir(_) => "paths are relative to the pipeline file",
            Source::Files { .. } => "give it in `files` or `scenarios`",
        }
    }

    /// The text of `path`.
    pub fn read(&self, path: &str) -> Result<String, String> {
        match self {
            Source::Dir(d) => std::fs::read_to_string(d.join(path))
                .map_err(|e| format!("cannot read {}: {e}", d.join(path).display())),
            Source::Files { files, .. } => files
                .get(path)
                .cloned()
                .ok_or_else(|| format!("{path} is not among the pipeline's files")),
        }
    }

    /// The baseline `path` names: a YAML baseline or a results file.
    pub fn baseline(&self, path: &str) -> Result<Baseline, String> {
        if let Source::Dir(d) = self {
            return Baseline::load(&d.join(path)).map_err(|e| e.to_string());
        }
        let text = self.read(path)?;
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
            if map.contains_key("schema") {
                let results = stampede_output::results::parse_results(Path::new(path), &text)
                    .map_err(|e| e.to_string())?;
                return Ok(Baseline::from_results(&results));
            }
        }
        Baseline::parse_yaml(path, &text).map_err(|e| e.to_string())
    }
}

/// A validated pipeline, ready to run.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// The file's content.
    pub spec: PipelineSpec,
    /// Its name (the file's `name`, else the file stem).
    pub name: String,
    /// Where scripts and baselines come from.
    pub source: Source,
}

impl Pipeline {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Pipeline, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            file: path.into(),
            problems: vec![Problem {
                line: None,
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::parse(&text, &dir)
            .map_err(|problems| LoadError {
                file: path.into(),
                problems,
            })
            .map(|mut p| {
                if p.name.is_empty() {
                    p.name = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "pipeline".into());
                }
                p
            })
    }

    /// Parses and validates pipeline text whose paths are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Pipeline, Vec<Problem>> {
        Self::parse_from(text, Source::Dir(dir.to_path_buf()))
    }

    /// Parses and validates pipeline text whose scripts and baselines come
    /// from `source`.
    pub fn parse_from(text: &str, source: Source) -> Result<Pipeline, Vec<Problem>> {
        let spec: PipelineSpec = serde_yaml::from_str(text).map_err(|e| {
            vec![Problem {
                line: e.location().map(|l| l.line()),
                message: e.to_string().split(" at line ").next().unwrap_or("").into(),
            }]
        })?;
        let problems = validate(&spec, text, &source);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Pipeline {
            name: spec.name.clone().unwrap_or_default(),
            spec,
            source,
        })
    }
}

/// The line of stage `stage` in pipeline text, or of `field` within it
/// (for checks a runner adds on top of [`Pipeline::parse_from`]'s).
pub fn line_of(text: &str, stage: &str, field: Option<&str>) -> Option<usize> {
    Lines(text).of(stage, field)
}

/// Parses a k6 duration (`30s`, `1m30s`); negative ones are refused.
pub fn duration(s: &str) -> Result<Duration, String> {
    K6Duration::parse(s)
        .map_err(|e| e.to_string())?
        .to_std()
        .ok_or_else(|| format!("duration {s:?} is negative"))
}

fn validate(spec: &PipelineSpec, text: &str, source: &Source) -> Vec<Problem> {
    let lines = Lines(text);
    let mut out = Vec::new();
    let mut add = |stage: &str, field: Option<&str>, message: String| {
        out.push(Problem {
            line: lines.of(stage, field),
            message,
        })
    };
    if spec.stages.is_empty() {
        add("", None, "the pipeline has no stages".into());
    }
    for (name, st) in spec.stages.iter() {
        if st.script.is_empty() {
            add(name, None, format!("stage {name:?} has no script"));
        } else if !source.exists(&st.script) {
            add(
                name,
                Some("script"),
                format!(
                    "stage {name:?}: script {:?} not found ({})",
                    st.script,
                    source.hint()
                ),
            );
        }
        for need in &st.needs {
            if need == name {
                add(name, Some("needs"), format!("stage {name:?} needs itself"));
            } else if spec.stages.get(need).is_none() {
                let known: Vec<&str> = spec.stages.iter().map(|(n, _)| n.as_str()).collect();
                add(
                    name,
                    Some("needs"),
                    format!(
                        "stage {name:?} needs unknown stage {need:?} (stages: {})",
                        known.join(", ")
                    ),
                );
            } else if spec.stages.get(need).is_some_and(|n| n.optional) && !st.optional {
                add(
                    name,
                    Some("needs"),
                    format!("required stage {name:?} cannot need optional stage {need:?}"),
                );
            }
        }
        let mut durations: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &st.timeout {
            durations.push(("timeout", t));
        }
        if let Some(d) = &st.options.duration {
            durations.push(("duration", d));
        }
        if let Some(r) = &st.gate.recovery {
            durations.push(("max", &r.max));
            if let Some(f) = &r.fault_end {
                durations.push(("fault_end", f));
            }
            if r.fault_end.is_some() && r.scenario.is_some() {
                add(
                    name,
                    Some("recovery"),
                    format!("stage {name:?}: give the recovery either `scenario` or `fault_end`"),
                );
            }
        }
        for (field, d) in durations {
            if let Err(e) = duration(d) {
                add(
                    name,
                    Some(field),
                    format!("stage {name:?}: bad {field} {d:?}: {e}"),
                );
            }
        }
        if let Some(c) = &st.gate.compare {
            if !source.exists(&c.baseline) {
                add(
                    name,
                    Some("baseline"),
                    format!(
                        "stage {name:?}: baseline {:?} not found ({})",
                        c.baseline,
                        source.hint()
                    ),
                );
            }
        }
        if let Some(c) = &st.chaos {
            // Upstreams naming variables are checked when the stage
            // starts, once `-e` values are known.
            let mut c = c.clone();
            for p in c.proxies.values_mut() {
                if p.upstream.contains("${") {
                    p.upstream = "127.0.0.1:1".into();
                }
            }
            for p in c.problems() {
                add(name, Some("chaos"), format!("stage {name:?}: chaos: {p}"));
            }
        }
        let g = &st.gate;
        if !g.thresholds
            && g.compare.is_none()
            && g.breaking_point.is_none()
            && g.recovery.is_none()
        {
            add(
                name,
                Some("gate"),
                format!("stage {name:?}: the gate checks nothing (thresholds: false and no other condition)"),
            );
        }
    }
    for cycle in cycles(spec) {
        add(
            &cycle[0],
            Some("needs"),
            format!(
                "the stages depend on each other in a cycle: {}",
                cycle.join(" → ")
            ),
        );
    }
    out
}

/// Each dependency cycle once, as the path of stage names that closes it.
fn cycles(spec: &PipelineSpec) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let names: Vec<&String> = spec.stages.iter().map(|(n, _)| n).collect();
    let idx = |n: &str| names.iter().position(|x| *x == n);
    let mut mark = vec![Mark::New; names.len()];
    let mut found = Vec::new();
    fn visit(
        i: usize,
        spec: &PipelineSpec,
        names: &[&String],
        idx: &dyn Fn(&str) -> Option<usize>,
        mark: &mut [Mark],
        path: &mut Vec<usize>,
        found: &mut Vec<Vec<String>>,
    ) {
        mark[i] = Mark::Active;
        path.push(i);
        for need in &spec.stages.0[i].1.needs {
            let Some(j) = idx(need) else { continue };
            if j == i {
                continue; // reported as "needs itself"
            }
            match mark[j] {
                Mark::Active => {
                    let start = path.iter().position(|&p| p == j).unwrap_or(0);
                    let mut c: Vec<String> =
                        path[start..].iter().map(|&p| names[p].clone()).collect();
                    c.push(names[j].clone());
                    found.push(c);
                }
                Mark::New => visit(j, spec, names, idx, mark, path, found),
                Mark::Done => {}
            }
        }
        path.pop();
        mark[i] = Mark::Done;
    }
    for i in 0..names.len() {
        if mark[i] == Mark::New {
            visit(
                i,
                spec,
                &names,
                &idx,
                &mut mark,
                &mut Vec::new(),
                &mut found,
            );
        }
    }
    found
}

/// Finds lines in the pipeline's source text.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    /// The line of stage `stage` (under `stages:`), or of `field` within it.
    fn of(&self, stage: &str, field: Option<&str>) -> Option<usize> {
        let mut in_stages = false;
        let mut stage_indent = None;
        let mut found_stage = None;
        for (i, line) in self.0.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if indent == 0 {
                in_stages = trimmed.starts_with("stages:");
                if found_stage.is_some() {
                    break;
                }
                continue;
            }
            if !in_stages {
                continue;
            }
            let key = trimmed
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            match (found_stage, stage_indent) {
                (None, _) => {
                    if stage_indent.is_none() {
                        stage_indent = Some(indent);
                    }
                    if Some(indent) == stage_indent && key == stage {
                        found_stage = Some(i + 1);
                        if let Some(f) = field {
                            // Inline maps: `smoke: {script: x.js}` (after
                            // the stage's own key, which may be `f` too).
                            let value = trimmed.split_once(':').map_or("", |(_, v)| v);
                            if value.contains(&format!("{f}:")) {
                                return Some(i + 1);
                            }
                        }
                    }
                }
                (Some(_), Some(si)) => {
                    if indent <= si {
                        break;
                    }
                    if let Some(f) = field {
                        if key == f
                            || trimmed.contains(&format!(" {f}:"))
                            || trimmed.contains(&format!("{{{f}:"))
                        {
                            return Some(i + 1);
                        }
                    }
                }
                _ => {}
            }
        }
        if stage.is_empty() {
            return self
                .0
                .lines()
                .position(|l| l.starts_with("stages:"))
                .map(|i| i + 1);
        }
        found_stage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(d.path().join(f), "export default function () {}\n").unwrap();
        }
        d
    }

    fn problems(text: &str, dir: &Path) -> Vec<String> {
        Pipeline::parse(text, dir)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_field_named_like_its_stage_is_found_on_its_own_line() {
        let text = "stages:\n  chaos:\n    script: a.js\n    chaos:\n      proxies: {}\n  b: {script: b.js, chaos: {}}\n";
        assert_eq!(line_of(text, "chaos", Some("chaos")), Some(4));
        assert_eq!(line_of(text, "chaos", None), Some(2));
        assert_eq!(line_of(text, "b", Some("chaos")), Some(6));
        // A field the stage does not have: the stage's own line.
        assert_eq!(line_of(text, "b", Some("needs")), Some(6));
    }

    #[test]
    fn accepts_a_valid_pipeline_in_file_order() {
        let d = dir_with(&["a.js", "b.js"]);
        let p = Pipeline::parse(
            "stages:\n  zeta:\n    script: a.js\n  alpha:\n    script: b.js\n    needs: [zeta]\n    timeout: 2m\n",
            d.path(),
        )
        .unwrap();
        let names: Vec<&str> = p.spec.stages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let d = dir_with(&["a.js"]);
        let text = "\
stages:
  smoke:
    script: a.js
    timeout: 5 minutes
  load:
    script: missing.js
    needs: [smoke, nope]
  a:
    script: a.js
    needs: [b]
  b:
    script: a.js
    needs: [a]
";
        let p = problems(text, d.path());
        assert_eq!(
            p,
            [
                "line 4: stage \"smoke\": bad timeout \"5 minutes\": unknown unit \" minutes\" in duration \"5 minutes\"",
                "line 6: stage \"load\": script \"missing.js\" not found (paths are relative to the pipeline file)",
                "line 7: stage \"load\" needs unknown stage \"nope\" (stages: smoke, load, a, b)",
                "line 10: the stages depend on each other in a cycle: a → b → a",
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn syntax_and_unknown_fields_carry_lines() {
        let d = dir_with(&["a.js"]);
        let p = problems(
            "stages:\n  smoke:\n    script: a.js\n    gates: {}\n",
            d.path(),
        );
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 4: stages.smoke: unknown field `gates`"),
            "{p:?}"
        );
        let p = problems("stages:\n  smoke: [\n", d.path());
        assert!(p[0].starts_with("line "), "{p:?}");
        let p = problems(
            "stages:\n  s: {script: a.js}\n  s: {script: a.js}\n",
            d.path(),
        );
        assert!(p[0].contains("declared twice"), "{p:?}");
    }

    #[test]
    fn refuses_gates_that_check_nothing_and_optional_needs() {
        let d = dir_with(&["a.js"]);
        let p = problems(
            "stages:\n  soak:\n    script: a.js\n    optional: true\n  after:\n    script: a.js\n    needs: [soak]\n    gate: {thresholds: false}\n",
            d.path(),
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("line 7:") && p[0].contains("optional stage"),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("line 8:") && p[1].contains("checks nothing"),
            "{p:?}"
        );
    }
}
