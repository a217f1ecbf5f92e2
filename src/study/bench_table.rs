//! The table of `mbnn bench`: one row per figure, measured beside its
//! baseline, with the target it must reach; shared by the unit and engine
//! parts of the benchmark.

use serde::Serialize;
use std::fmt::Write;
use std::time::Instant;

/// One line of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub figure: String,
    pub unit: String,
    pub baseline: Option<f64>,
    pub project: f64,
    /// project / baseline.
    pub ratio: Option<f64>,
    pub target: String,
    /// None when the figure has no target (shown for comparison).
    pub met: Option<bool>,
    /// The designs, tools and settings behind the numbers.
    pub source: String,
}

impl Row {
    pub(super) fn new(
        figure: &str,
        unit: &str,
        baseline: Option<f64>,
        project: f64,
        target: Target,
        source: String,
    ) -> Row {
        Row {
            figure: figure.to_string(),
            unit: unit.to_string(),
            baseline,
            project,
            ratio: baseline.map(|b| project / b),
            target: target.text(),
            met: target.met(project, baseline),
            source,
        }
    }
}

impl Row {
    /// A criterion figure (generator, golden model) as a row.
    pub(super) fn from_figure(f: crate::study::benchfig::Figure) -> Row {
        Row {
            ratio: f.baseline.map(|b| f.value / b),
            figure: f.name,
            unit: f.unit,
            baseline: f.baseline,
            project: f.value,
            target: f.target.unwrap_or_else(|| "-".into()),
            met: f.met,
            source: format!("cargo bench --bench speed (criterion, median): {}", f.source),
        }
    }
}

/// What a figure must reach.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    None,
    /// At most this many times the baseline.
    AtMostTimesBaseline(f64),
    EqualsBaseline,
    AtMost(f64),
    AtLeast(f64),
    /// At most the baseline and at most the value.
    AtMostAndBaseline(f64),
    AtMostBaseline,
    AtLeastBaseline,
}

impl Target {
    pub(super) fn met(self, v: f64, baseline: Option<f64>) -> Option<bool> {
        let b = baseline.unwrap_or(f64::NAN);
        match self {
            Target::None => None,
            Target::AtMostTimesBaseline(x) => Some(v <= x * b),
            Target::EqualsBaseline => Some(v == b),
            Target::AtMost(t) => Some(v <= t),
            Target::AtLeast(t) => Some(v >= t),
            Target::AtMostAndBaseline(t) => Some(v <= t && v <= b),
            Target::AtMostBaseline => Some(v <= b),
            Target::AtLeastBaseline => Some(v >= b),
        }
    }

    pub(super) fn text(self) -> String {
        match self {
            Target::None => "-".into(),
            Target::AtMostTimesBaseline(x) => format!("<= {x} x baseline"),
            Target::EqualsBaseline => "= baseline".into(),
            Target::AtMost(t) => format!("<= {t}"),
            Target::AtLeast(t) => format!(">= {t}"),
            Target::AtMostAndBaseline(t) => format!("<= {t} and <= baseline"),
            Target::AtMostBaseline => "<= baseline".into(),
            Target::AtLeastBaseline => ">= baseline".into(),
        }
    }
}

pub(super) fn progress(step: &str, t0: Instant) {
    eprintln!("[{:>7.1}s] bench: {step}", t0.elapsed().as_secs_f64());
}

/// The table for people.
pub fn render(rows: &[Row]) -> String {
    let num = |v: f64| {
        if v.abs() >= 1e5 {
            format!("{v:.3e}")
        } else if v.abs() >= 100.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.3}")
        }
    };
    let mut o = String::new();
    let fw = rows.iter().map(|r| r.figure.len()).max().unwrap_or(0).max(6);
    let _ = writeln!(
        o,
        "{:<fw$} {:>8} {:>10} {:>10} {:>6} {:<24} met",
        "figure", "unit", "baseline", "project", "ratio", "target"
    );
    for r in rows {
        let met = match r.met {
            None => "-",
            Some(true) => "yes",
            Some(false) => "NO",
        };
        let _ = writeln!(
            o,
            "{:<fw$} {:>8} {:>10} {:>10} {:>6} {:<24} {met}",
            r.figure,
            r.unit,
            r.baseline.map(num).unwrap_or_else(|| "-".into()),
            num(r.project),
            r.ratio.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into()),
            r.target
        );
    }
    o
}
