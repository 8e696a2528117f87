//! Line charts as inline SVG: no script, no network. Each chart scales to
//! its container (`viewBox`), keeps gaps where a series has no value, and
//! has one invisible column per interval whose `<title>` is the hover
//! tooltip with every series' value.

use std::fmt::Write;

use super::escape;

const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// One line of a chart.
pub(crate) struct Line {
    pub name: String,
    pub color: &'static str,
    /// One value per x position (`None`: no value there).
    pub values: Vec<Option<f64>>,
}

/// A chart's data.
pub(crate) struct Chart<'a> {
    /// Seconds from the start, one per position.
    pub xs: Vec<f64>,
    pub lines: Vec<Line>,
    /// Formats a y value (axis labels and tooltips).
    pub fmt: &'a dyn Fn(f64) -> String,
    /// Fill the area under a chart's only line.
    pub area: bool,
}

/// `0:05`, `1:30`, `1:02:00`.
pub(crate) fn clock(secs: f64) -> String {
    let s = secs.round().max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A "nice" upper bound and step for an axis from 0 to `max` with about
/// `ticks` steps (1, 2, 2.5 or 5 times a power of ten).
pub(crate) fn nice_axis(max: f64, ticks: usize) -> (f64, f64) {
    if max.is_nan() || max <= 0.0 || !max.is_finite() {
        return (1.0, 0.25);
    }
    let raw = max / ticks as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    (top.max(step), step)
}

/// A step for time ticks: at most about 8 labels.
fn time_step(span: f64) -> f64 {
    const STEPS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        14_400.0, 28_800.0,
    ];
    STEPS
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or(86_400.0)
}

impl Chart<'_> {
    /// The SVG, or `None` when no line has a value.
    pub(crate) fn svg(&self, label: &str) -> Option<String> {
        let max = self
            .lines
            .iter()
            .flat_map(|l| l.values.iter().flatten())
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NAN, f64::max);
        if max.is_nan() || self.xs.is_empty() {
            return None;
        }
        let (top, step) = nice_axis(max, 4);
        let x0 = self.xs[0];
        let x_last = *self.xs.last().expect("not empty");
        // One interval past the last start, so the last point has room.
        let dx = if self.xs.len() > 1 {
            (x_last - x0) / (self.xs.len() - 1) as f64
        } else {
            1.0
        };
        let span = (x_last - x0).max(dx);
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let px = |x: f64| LEFT + (x - x0) / span * pw;
        let py = |y: f64| TOP + ph - (y / top).clamp(0.0, 1.05) * ph;

        let mut s = String::new();
        let _ = write!(
            s,
            "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\">",
            escape(label)
        );
        // Horizontal grid and y labels.
        let mut y = 0.0;
        while y <= top + step * 0.01 {
            let yy = py(y);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
                 <text class=\"ylabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                W - RIGHT,
                LEFT - 8.0,
                yy + 4.0,
                escape(&(self.fmt)(y))
            );
            y += step;
        }
        // Time ticks.
        let tstep = time_step(span);
        let mut t = (x0 / tstep).ceil() * tstep;
        while t <= x_last + 1e-9 {
            let xx = px(t);
            let _ = write!(
                s,
                "<line class=\"tick\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <text class=\"xlabel\" x=\"{xx:.1}\" y=\"{:.1}\">{}</text>",
                TOP + ph,
                TOP + ph + 4.0,
                H - 10.0,
                clock(t)
            );
            t += tstep;
        }
        let _ = write!(
            s,
            "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            W - RIGHT,
            TOP + ph,
            TOP + ph
        );
        // Lines (split at gaps), with an area under a lone line.
        for line in &self.lines {
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (x, v) in self.xs.iter().zip(&line.values) {
                match v.filter(|v| v.is_finite()) {
                    Some(v) => runs.last_mut().expect("one run").push((px(*x), py(v))),
                    None => {
                        if !runs.last().expect("one run").is_empty() {
                            runs.push(Vec::new());
                        }
                    }
                }
            }
            for run in runs.iter().filter(|r| !r.is_empty()) {
                let pts: String = run
                    .iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                if self.area && self.lines.len() == 1 && run.len() > 1 {
                    let (fx, _) = run[0];
                    let (lx, _) = run[run.len() - 1];
                    let _ = write!(
                        s,
                        "<polygon class=\"area\" fill=\"{}\" points=\"{fx:.1},{:.1} {pts} {lx:.1},{:.1}\"/>",
                        line.color,
                        TOP + ph,
                        TOP + ph
                    );
                }
                if run.len() == 1 {
                    let (x, y) = run[0];
                    let _ = write!(
                        s,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{}\"/>",
                        line.color
                    );
                } else {
                    let _ = write!(
                        s,
                        "<polyline class=\"line\" stroke=\"{}\" points=\"{pts}\"/>",
                        line.color
                    );
                }
            }
        }
        // Hover columns with tooltips.
        s.push_str("<g class=\"hover\">");
        let col = (pw / self.xs.len() as f64).max(0.5);
        for (i, x) in self.xs.iter().enumerate() {
            let mut tip = clock(*x);
            for line in &self.lines {
                if let Some(v) = line.values.get(i).copied().flatten() {
                    let _ = write!(tip, "\n{}: {}", line.name, (self.fmt)(v));
                }
            }
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{col:.2}\" height=\"{ph:.1}\"><title>{}</title></rect>",
                px(*x) - col / 2.0,
                escape(&tip)
            );
        }
        s.push_str("</g></svg>");
        Some(s)
    }

    /// The legend (HTML, below the chart).
    pub(crate) fn legend(&self) -> String {
        let mut s = String::from("<div class=\"legend\">");
        for l in &self.lines {
            let _ = write!(
                s,
                "<span><i style=\"background:{}\"></i>{}</span>",
                l.color,
                escape(&l.name)
            );
        }
        s.push_str("</div>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes() {
        assert_eq!(nice_axis(0.0, 4), (1.0, 0.25));
        assert_eq!(nice_axis(7.0, 4), (8.0, 2.0));
        assert_eq!(nice_axis(95.0, 4), (100.0, 25.0));
        assert_eq!(nice_axis(1234.0, 4), (1500.0, 500.0));
        assert_eq!(clock(65.0), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(time_step(30.0), 5.0);
        assert_eq!(time_step(7200.0), 900.0);
    }

    #[test]
    fn gaps_split_lines() {
        let fmt = |v: f64| format!("{v}");
        let c = Chart {
            xs: vec![0.0, 1.0, 2.0, 3.0],
            lines: vec![Line {
                name: "a<b".into(),
                color: "#123456",
                values: vec![Some(1.0), Some(2.0), None, Some(4.0)],
            }],
            fmt: &fmt,
            area: false,
        };
        let svg = c.svg("label").unwrap();
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("<title>0:03\na&lt;b: 4</title>"), "{svg}");
        assert!(c.legend().contains("a&lt;b"));
        let empty = Chart {
            xs: vec![0.0],
            lines: vec![Line {
                name: "x".into(),
                color: "#000",
                values: vec![None],
            }],
            fmt: &fmt,
            area: true,
        };
        assert!(empty.svg("e").is_none());
    }
}
