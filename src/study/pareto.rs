//! Design-space charts: every explored design as a marker, cost (LUTs) on x
//! against merit (frames per second) on y, and the Pareto-optimal designs,
//! those no other design beats on both, joined by a step line. Written as
//! SVG and PNG by [`crate::study::plot`], with the data as JSON beside them.

use crate::study::plot::{self, Figure, Panel, Series, Style};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One explored design: its cost, its merit and its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// A Pareto scatter chart: less x is better, more y is better.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pareto {
    pub title: String,
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    /// A logarithmic y axis; every y must then be positive.
    pub log_y: bool,
    pub points: Vec<Point>,
}

/// The Pareto-optimal points, with x minimised and y maximised: indices
/// into `points`, by increasing x (and y). A point is optimal when no other
/// has an x as small and a y as large, one of them strictly; equal points
/// are optimal together, and a point with a non-finite coordinate never is.
pub fn pareto_front(points: &[Point]) -> Vec<usize> {
    let mut order: Vec<usize> =
        (0..points.len()).filter(|&i| points[i].x.is_finite() && points[i].y.is_finite()).collect();
    // Cheapest first; of equal cost, the best first.
    order.sort_by(|&a, &b| {
        points[a].x.total_cmp(&points[b].x).then(points[b].y.total_cmp(&points[a].y)).then(a.cmp(&b))
    });
    let mut front: Vec<usize> = vec![];
    for i in order {
        let keep = match front.last() {
            None => true,
            Some(&last) => {
                let (p, best) = (&points[i], &points[last]);
                p.y > best.y || (p.x == best.x && p.y == best.y)
            }
        };
        if keep {
            front.push(i);
        }
    }
    front
}

/// The JSON document: the chart and the indices of its front.
#[derive(Serialize)]
struct Data<'a> {
    #[serde(flatten)]
    chart: &'a Pareto,
    front: Vec<usize>,
}

impl Pareto {
    /// The chart as a one-panel figure: all points as half-transparent
    /// markers, the front over them as a labelled staircase.
    pub fn figure(&self) -> Figure {
        let front = pareto_front(&self.points);
        let all = Series {
            name: format!("explored ({})", self.points.len()),
            points: self.points.iter().map(|p| (p.x, p.y)).collect(),
            style: Style::Markers,
            labels: vec![],
        };
        let best = Series {
            name: format!("Pareto-optimal ({})", front.len()),
            points: front.iter().map(|&i| (self.points[i].x, self.points[i].y)).collect(),
            style: Style::Steps,
            labels: front.iter().map(|&i| self.points[i].label.clone()).collect(),
        };
        let panel = Panel {
            title: String::new(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            x_ticks: vec![],
            log_y: self.log_y,
            series: vec![all, best],
        };
        Figure { title: self.title.clone(), subtitle: self.subtitle.clone(), panels: vec![panel] }
    }

    /// The chart's data as pretty JSON: its fields and `front`, the indices
    /// of the Pareto-optimal points by increasing x.
    pub fn json(&self) -> Result<String, String> {
        let data = Data { chart: self, front: pareto_front(&self.points) };
        Ok(serde_json::to_string_pretty(&data).map_err(|e| e.to_string())? + "\n")
    }

    /// Writes `<stem>.json`, `<stem>.svg` and `<stem>.png` into `dir`;
    /// nothing is written if the chart cannot be drawn.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, String> {
        let svg = plot::svg(&self.figure())?;
        let png = plot::png(&svg)?;
        let files = [(format!("{stem}.json"), self.json()?), (format!("{stem}.svg"), svg)];
        let mut written = crate::util::files::write_files(dir, &files)?;
        let path = dir.join(format!("{stem}.png"));
        std::fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn points(xy: &[(f64, f64)]) -> Vec<Point> {
        xy.iter().enumerate().map(|(i, &(x, y))| Point { x, y, label: format!("p{i}") }).collect()
    }

    /// FPGA-like designs: LUTs against frames per second over four decades.
    fn chart() -> Pareto {
        let xy = [
            (1200.0, 150.0),
            (2500.0, 900.0),
            (3100.0, 700.0),
            (5200.0, 4100.0),
            (6000.0, 3900.0),
            (9000.0, 12000.0),
            (14000.0, 11000.0),
            (21000.0, 52000.0),
            (800.0, 20.0),
            (18000.0, 9000.0),
        ];
        Pareto {
            title: "Binary networks on an FPGA".into(),
            subtitle: "every explored design; the Pareto-optimal ones joined".into(),
            x_label: "LUTs".into(),
            y_label: "frames per second".into(),
            log_y: true,
            points: points(&xy),
        }
    }

    #[test]
    fn front_minimises_x_and_maximises_y() {
        let p = points(&[
            (10.0, 100.0),        // 0: optimal
            (20.0, 90.0),         // 1: beaten by 0 on both
            (20.0, 300.0),        // 2: optimal
            (5.0, 50.0),          // 3: optimal, the cheapest
            (30.0, 300.0),        // 4: as good as 2, dearer
            (40.0, 1000.0),       // 5: optimal, the best
            (10.0, 100.0),        // 6: equal to 0, optimal with it
            (5.0, 40.0),          // 7: as cheap as 3, worse
            (f64::NAN, 5e3),      // 8: not a number
            (1.0, f64::INFINITY), // 9: not finite
        ]);
        assert_eq!(pareto_front(&p), [3, 0, 6, 2, 5]);
        assert_eq!(pareto_front(&[]), Vec::<usize>::new());
        assert_eq!(pareto_front(&p[1..2]), [0]);
    }

    proptest! {
        /// The sweep agrees with the definition, on small integers that tie often.
        #[test]
        fn front_is_the_undominated_points(xy in prop::collection::vec((0u8..8, 0u8..8), 0..40)) {
            let p = points(&xy.iter().map(|&(x, y)| (f64::from(x), f64::from(y))).collect::<Vec<_>>());
            let dominated = |i: usize| p.iter().any(|q| q.x <= p[i].x && q.y >= p[i].y && (q.x < p[i].x || q.y > p[i].y));
            let mut want: Vec<usize> = (0..p.len()).filter(|&i| !dominated(i)).collect();
            want.sort_by(|&a, &b| p[a].x.total_cmp(&p[b].x).then(a.cmp(&b)));
            prop_assert_eq!(pareto_front(&p), want);
        }
    }

    #[test]
    fn figure_marks_every_point_and_labels_the_front() {
        let c = chart();
        let fig = c.figure();
        let panel = &fig.panels[0];
        assert!(panel.log_y);
        assert_eq!(panel.series[0].points.len(), c.points.len());
        assert_eq!(panel.series[0].name, "explored (10)");
        assert_eq!(panel.series[1].name, "Pareto-optimal (6)");
        assert_eq!(panel.series[1].labels, ["p8", "p0", "p1", "p3", "p5", "p7"]);
        let svg = plot::svg(&fig).unwrap();
        for text in ["LUTs", "frames per second", "Binary networks on an FPGA", ">10k<", ">p7<"] {
            assert!(svg.contains(text), "{text:?} is not in the SVG");
        }
    }

    #[test]
    fn renders_are_deterministic_and_the_png_decodes_to_twice_the_size() {
        plot::check_fonts().unwrap();
        let render = || {
            let svg = plot::svg(&chart().figure()).unwrap();
            let png = plot::png(&svg).unwrap();
            (svg, png)
        };
        let (svg, png) = render();
        assert_eq!(render(), (svg, png.clone()), "two renders differ");
        let image = resvg::tiny_skia::Pixmap::decode_png(&png).expect("the PNG decodes");
        let (w, h) = chart().figure().size();
        assert_eq!((image.width(), image.height()), (w * plot::PNG_SCALE, h * plot::PNG_SCALE));
    }

    #[test]
    fn write_puts_json_svg_and_png_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dse");
        let written = chart().write(&out, "pareto").unwrap();
        let names: Vec<String> =
            written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["pareto.json", "pareto.svg", "pareto.png"]);
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("pareto.json")).unwrap()).unwrap();
        assert_eq!(json["front"], serde_json::json!([8, 0, 1, 3, 5, 7]));
        assert_eq!(json["points"][7], serde_json::json!({"x": 21000.0, "y": 52000.0, "label": "p7"}));
        let back: Pareto = serde_json::from_value(json).unwrap();
        assert_eq!(back.points, chart().points);

        let mut bad = chart();
        bad.points[0].y = 0.0;
        let empty = dir.path().join("bad");
        assert!(bad.write(&empty, "pareto").unwrap_err().contains("logarithmic"));
        assert!(!empty.exists(), "nothing is written for a chart that cannot be drawn");
    }
}
