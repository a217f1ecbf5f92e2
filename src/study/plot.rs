//! Line charts: the SVG document is built here from the series (same data,
//! byte-identical document), and rasterised to PNG by resvg with the DejaVu
//! Sans font of Debian's `fonts-dejavu-core`.

use resvg::{tiny_skia, usvg};
use std::fmt::Write;
use std::path::Path;

/// One line of a chart: its name in the legend and its points, drawn in
/// the order given.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One chart with axes, a legend and its series.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// x-axis ticks (position, label); empty for evenly spaced numeric ticks.
    pub x_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
}

/// Panels side by side under a title and a smaller subtitle.
#[derive(Clone, Debug)]
pub struct Figure {
    pub title: String,
    pub subtitle: String,
    pub panels: Vec<Panel>,
}

pub const PANEL_WIDTH: u32 = 480;
pub const PANEL_HEIGHT: u32 = 360;
pub const HEADER_HEIGHT: u32 = 52;
/// PNG pixels per SVG unit: twice the SVG size keeps text sharp.
pub const PNG_SCALE: u32 = 2;

/// The font files PNG rendering needs: regular and bold DejaVu Sans.
pub const FONT_FILES: [&str; 2] =
    ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"];
const FONT_FAMILY: &str = "DejaVu Sans";

// Colour-blind-safe colours (Okabe-Ito) and marker shapes, by series index.
const COLOURS: [&str; 4] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7"];
const MARKERS: [Marker; 4] = [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond];

// The plot area inside a panel.
const LEFT: f64 = 74.0;
const RIGHT: f64 = PANEL_WIDTH as f64 - 20.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = PANEL_HEIGHT as f64 - 52.0;

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Figure {
    /// Width and height of the SVG document.
    pub fn size(&self) -> (u32, u32) {
        (PANEL_WIDTH * self.panels.len().max(1) as u32, HEADER_HEIGHT + PANEL_HEIGHT)
    }
}

/// The figure as a standalone SVG document.
pub fn svg(fig: &Figure) -> Result<String, String> {
    let (width, height) = fig.size();
    let mut o = String::new();
    let _ = writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT_FAMILY}, sans-serif">"#
    );
    let _ = writeln!(o, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let centre = f64::from(width) / 2.0;
    text(&mut o, "title", centre, 22.0, "middle", 16.0, true, &fig.title);
    text(&mut o, "subtitle", centre, 42.0, "middle", 12.0, false, &fig.subtitle);
    for (i, panel) in fig.panels.iter().enumerate() {
        let _ = writeln!(o, r#"<g class="panel" transform="translate({},{HEADER_HEIGHT})">"#, i as u32 * PANEL_WIDTH);
        draw_panel(&mut o, panel)?;
        let _ = writeln!(o, "</g>");
    }
    let _ = writeln!(o, "</svg>");
    Ok(o)
}

/// An SVG document (from [`svg`]) rasterised to PNG at [`PNG_SCALE`].
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    let mut options = usvg::Options { font_family: FONT_FAMILY.to_string(), ..Default::default() };
    for file in FONT_FILES {
        let data = std::fs::read(file).map_err(|_| missing_font(file))?;
        options.fontdb_mut().load_font_data(data);
    }
    options.fontdb_mut().set_sans_serif_family(FONT_FAMILY);
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| format!("cannot read the SVG to rasterise: {e}"))?;
    let size = tree.size();
    let scale = PNG_SCALE as f32;
    let (w, h) = ((size.width() * scale).round() as u32, (size.height() * scale).round() as u32);
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| format!("cannot make a {w}x{h} image"))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| format!("cannot encode the PNG: {e}"))
}

/// Checks that the fonts PNG rendering needs are installed.
pub fn check_fonts() -> Result<(), String> {
    match FONT_FILES.iter().find(|f| !Path::new(f).is_file()) {
        Some(file) => Err(missing_font(file)),
        None => Ok(()),
    }
}

fn missing_font(file: &str) -> String {
    format!("cannot load the font {file} for the PNG plots: sudo apt-get install fonts-dejavu-core")
}

/// Data to panel coordinates along one axis.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }
}

fn draw_panel(o: &mut String, p: &Panel) -> Result<(), String> {
    for s in &p.series {
        if s.points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return Err(format!("series {:?} of the plot {:?} has a non-finite point", s.name, p.title));
        }
    }
    let xs: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|pt| pt.0)).collect();
    let ys: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|pt| pt.1)).collect();
    let (y_lo, y_hi, y_ticks) = value_ticks(&ys);
    let x_ticks = if p.x_ticks.is_empty() {
        let (_, _, ticks) = value_ticks(&xs);
        ticks
    } else {
        p.x_ticks.clone()
    };
    // Padding keeps the first and last points off the y axis and the edge.
    let positions: Vec<f64> = xs.iter().copied().chain(x_ticks.iter().map(|t| t.0)).collect();
    let (x_min, x_max) = min_max(&positions).unwrap_or((0.0, 1.0));
    let pad = if x_max > x_min { 0.05 * (x_max - x_min) } else { 0.5 };
    let x = Scale { lo: x_min - pad, hi: x_max + pad, from: LEFT, to: RIGHT };
    let y = Scale { lo: y_lo, hi: y_hi, from: BOTTOM, to: TOP };

    text(o, "panel-title", (LEFT + RIGHT) / 2.0, 20.0, "middle", 14.0, true, &p.title);
    draw_legend(o, &p.series);
    let _ = writeln!(o, r##"<g class="grid" stroke="#dddddd" stroke-width="1">"##);
    for (v, _) in &y_ticks {
        let _ =
            writeln!(o, r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}"/>"#, num(LEFT), num(RIGHT), yv = num(y.at(*v)));
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g class="axes" stroke="black" stroke-width="1">"#);
    let _ =
        writeln!(o, r#"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>"#, l = num(LEFT), r = num(RIGHT), b = num(BOTTOM));
    let _ = writeln!(o, r#"<line x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>"#, l = num(LEFT), t = num(TOP), b = num(BOTTOM));
    for (v, _) in &x_ticks {
        let xv = num(x.at(*v));
        let _ = writeln!(o, r#"<line x1="{xv}" y1="{}" x2="{xv}" y2="{}"/>"#, num(BOTTOM), num(BOTTOM + 4.0));
    }
    for (v, _) in &y_ticks {
        let yv = num(y.at(*v));
        let _ = writeln!(o, r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}"/>"#, num(LEFT - 4.0), num(LEFT));
    }
    let _ = writeln!(o, "</g>");
    for (v, label) in &x_ticks {
        text(o, "x-tick", x.at(*v), BOTTOM + 17.0, "middle", 11.0, false, label);
    }
    for (v, label) in &y_ticks {
        text(o, "y-tick", LEFT - 7.0, y.at(*v) + 4.0, "end", 11.0, false, label);
    }
    text(o, "x-label", (LEFT + RIGHT) / 2.0, BOTTOM + 40.0, "middle", 12.0, false, &p.x_label);
    let (lx, ly) = (18.0, (TOP + BOTTOM) / 2.0);
    let _ = writeln!(
        o,
        r#"<text class="y-label" x="{x}" y="{y}" transform="rotate(-90 {x} {y})" text-anchor="middle" font-size="12">{}</text>"#,
        escape(&p.y_label),
        x = num(lx),
        y = num(ly),
    );
    for (i, s) in p.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(o, r#"<g class="series" data-name="{}" stroke="{colour}" fill="{colour}">"#, escape(&s.name));
        let points: Vec<String> =
            s.points.iter().map(|&(px, py)| format!("{},{}", num(x.at(px)), num(y.at(py)))).collect();
        let _ = writeln!(o, r#"<polyline fill="none" stroke-width="2" points="{}"/>"#, points.join(" "));
        for &(px, py) in &s.points {
            marker(o, MARKERS[i % MARKERS.len()], x.at(px), y.at(py));
        }
        let _ = writeln!(o, "</g>");
    }
    Ok(())
}

/// One row above the plot area: a line-and-marker sample and the name of
/// every series.
fn draw_legend(o: &mut String, series: &[Series]) {
    let _ = writeln!(o, r#"<g class="legend">"#);
    let mut at = LEFT;
    let y = 40.0;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            o,
            r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}" stroke="{colour}" stroke-width="2"/>"#,
            num(at),
            num(at + 24.0),
            yv = num(y - 4.0)
        );
        let _ = writeln!(o, r#"<g stroke="{colour}" fill="{colour}">"#);
        marker(o, MARKERS[i % MARKERS.len()], at + 12.0, y - 4.0);
        let _ = writeln!(o, "</g>");
        text(o, "legend-entry", at + 30.0, y, "start", 12.0, false, &s.name);
        // About 0.6 em per character of DejaVu Sans at 12 px, then a gap.
        at += 30.0 + 7.2 * s.name.chars().count() as f64 + 18.0;
    }
    let _ = writeln!(o, "</g>");
}

fn marker(o: &mut String, shape: Marker, x: f64, y: f64) {
    let r = 4.0;
    let _ = match shape {
        Marker::Circle => writeln!(o, r#"<circle class="marker" cx="{}" cy="{}" r="{}"/>"#, num(x), num(y), num(r)),
        Marker::Square => writeln!(
            o,
            r#"<rect class="marker" x="{}" y="{}" width="{}" height="{}"/>"#,
            num(x - r),
            num(y - r),
            num(2.0 * r),
            num(2.0 * r)
        ),
        Marker::Triangle => polygon(o, &[(x, y - 1.2 * r), (x + 1.1 * r, y + 0.8 * r), (x - 1.1 * r, y + 0.8 * r)]),
        Marker::Diamond => polygon(o, &[(x, y - 1.3 * r), (x + 1.3 * r, y), (x, y + 1.3 * r), (x - 1.3 * r, y)]),
    };
}

fn polygon(o: &mut String, corners: &[(f64, f64)]) -> std::fmt::Result {
    let points: Vec<String> = corners.iter().map(|&(x, y)| format!("{},{}", num(x), num(y))).collect();
    writeln!(o, r#"<polygon class="marker" points="{}"/>"#, points.join(" "))
}

#[allow(clippy::too_many_arguments)]
fn text(o: &mut String, class: &str, x: f64, y: f64, anchor: &str, size: f64, bold: bool, content: &str) {
    let weight = if bold { r#" font-weight="bold""# } else { "" };
    let _ = writeln!(
        o,
        r#"<text class="{class}" x="{}" y="{}" text-anchor="{anchor}" font-size="{}"{weight}>{}</text>"#,
        num(x),
        num(y),
        num(size),
        escape(content)
    );
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().reduce(f64::min)?;
    let hi = values.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// A value axis from 0 (or below, for negative data) to a round number at
/// or above the largest value, with ticks every 1, 2, 2.5 or 5 times a
/// power of ten: (low end, high end, ticks).
fn value_ticks(values: &[f64]) -> (f64, f64, Vec<(f64, String)>) {
    let (lo, hi) = min_max(values).unwrap_or((0.0, 1.0));
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = magnitude
        * [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|&f| raw / magnitude <= f * (1.0 + 1e-9)).unwrap_or(10.0);
    let first = (lo / step).floor() as i64;
    let last = ((hi / step).ceil() as i64).max(first + 1);
    // Decimals the step needs: 0.25 needs two, 2.5 one, 50 none.
    let decimals =
        (0..=12).find(|&d| ((step * 10f64.powi(d)).round() - step * 10f64.powi(d)).abs() < 1e-6).unwrap_or(12);
    let ticks = (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            (v, format!("{:.*}", decimals as usize, if v == 0.0 { 0.0 } else { v }))
        })
        .collect();
    (first as f64 * step, last as f64 * step, ticks)
}

/// A coordinate with at most two decimals and no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::usvg::roxmltree;

    fn figure() -> Figure {
        let line = |name: &str, points: &[(f64, f64)]| Series { name: name.into(), points: points.to_vec() };
        Figure {
            title: "Area & path <against> K".into(),
            subtitle: "n = 64".into(),
            panels: vec![
                Panel {
                    title: "Area".into(),
                    x_label: "K (bases or bits)".into(),
                    y_label: "area (µm²)".into(),
                    x_ticks: (1..=3).map(|k| (k as f64, k.to_string())).collect(),
                    series: vec![
                        line("Group-Net", &[(1.0, 10.0), (2.0, 19.5), (3.0, 31.0)]),
                        line("fixed point", &[(1.0, 11.0), (2.0, 42.0), (3.0, 95.25)]),
                    ],
                },
                Panel {
                    title: "Path".into(),
                    x_label: "M × N".into(),
                    y_label: "critical path (ps)".into(),
                    x_ticks: vec![],
                    series: vec![line("PA-Net", &[(1.0, 120.0), (4.0, 180.0), (6.0, 200.0), (20.0, 260.0)])],
                },
            ],
        }
    }

    #[test]
    fn svg_is_well_formed_with_one_line_and_marker_per_point_per_series() {
        let fig = figure();
        let text = svg(&fig).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let (w, h) = fig.size();
        assert_eq!(root.attribute("width"), Some(w.to_string().as_str()));
        assert_eq!(root.attribute("height"), Some(h.to_string().as_str()));
        let series: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("series")).collect();
        let expected: Vec<&Series> = fig.panels.iter().flat_map(|p| &p.series).collect();
        assert_eq!(series.len(), expected.len());
        for (node, want) in series.iter().zip(&expected) {
            assert_eq!(node.attribute("data-name"), Some(want.name.as_str()));
            let lines: Vec<_> = node.children().filter(|n| n.has_tag_name("polyline")).collect();
            assert_eq!(lines.len(), 1, "{}: one polyline", want.name);
            let points = lines[0].attribute("points").unwrap().split(' ').count();
            assert_eq!(points, want.points.len(), "{}: polyline points", want.name);
            let markers = node.children().filter(|n| n.attribute("class") == Some("marker")).count();
            assert_eq!(markers, want.points.len(), "{}: markers", want.name);
        }
        let texts: Vec<String> =
            doc.descendants().filter(|n| n.has_tag_name("text")).map(|n| n.text().unwrap_or("").to_string()).collect();
        for label in ["area (µm²)", "critical path (ps)", "K (bases or bits)", "M × N", "Area & path <against> K"] {
            assert!(texts.iter().any(|t| t == label), "{label:?} is not among the texts {texts:?}");
        }
        // Both legends name their series.
        let legend = doc.descendants().filter(|n| n.attribute("class") == Some("legend-entry")).count();
        assert_eq!(legend, 3);
    }

    #[test]
    fn the_same_data_gives_the_same_bytes() {
        assert_eq!(svg(&figure()).unwrap(), svg(&figure()).unwrap());
    }

    #[test]
    fn value_axis_starts_at_zero_and_covers_the_data() {
        let (lo, hi, ticks) = value_ticks(&[12.0, 95.25]);
        assert_eq!((lo, hi), (0.0, 100.0));
        assert_eq!(ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["0", "20", "40", "60", "80", "100"]);
        let (_, hi, ticks) = value_ticks(&[0.3, 1.1]);
        assert_eq!(hi, 1.25);
        assert_eq!(ticks[1].1, "0.25");
        let (lo, hi, _) = value_ticks(&[]);
        assert!(lo < hi);
    }

    #[test]
    fn non_finite_points_are_an_error() {
        let mut fig = figure();
        fig.panels[0].series[0].points.push((4.0, f64::NAN));
        let err = svg(&fig).unwrap_err();
        assert!(err.contains("non-finite") && !err.contains('\n'), "{err}");
    }

    #[test]
    fn png_has_the_signature_and_twice_the_svg_size() {
        check_fonts().unwrap();
        let fig = figure();
        let bytes = png(&svg(&fig).unwrap()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let (w, h) = fig.size();
        assert_eq!((be(16), be(20)), (w * PNG_SCALE, h * PNG_SCALE));
        assert_eq!(png(&svg(&fig).unwrap()).unwrap(), bytes, "the PNG is deterministic too");
    }
}
