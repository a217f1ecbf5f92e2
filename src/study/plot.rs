//! Line and scatter charts: the SVG document is built here from the series
//! (same data, byte-identical document), and rasterised to PNG by resvg with
//! the DejaVu Sans font of Debian's `fonts-dejavu-core`.
//!
//! The SVG is written here rather than by `plotters` (0.3.7, weighed for the
//! design-space charts): its SVG backend rounds every coordinate to a whole
//! pixel, writes no groups or classes to test the document by and scales
//! every font size by 1/1.24; ticks at chosen positions of a numeric axis
//! need a coordinate type of our own; and its bitmap backend finds fonts
//! through the system's fontconfig and FreeType, more packages to install.

use resvg::{tiny_skia, usvg};
use std::fmt::Write;
use std::path::Path;

/// How a series is drawn; every style puts a marker on each point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A line through the points in the order given.
    Line,
    /// Markers alone, half transparent so that crowded points show.
    Markers,
    /// A staircase through the points in the order given: from each point
    /// across to the next one's x, then up or down to it.
    Steps,
}

/// One series of a chart: its name in the legend, its points and how they
/// are drawn.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    /// A text beside each point, or none at all (empty).
    pub labels: Vec<String>,
}

impl Series {
    /// A line through `points`, unlabelled.
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series { name: name.to_string(), points, style: Style::Line, labels: vec![] }
    }
}

/// One chart with axes, a legend and its series.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// x-axis ticks (position, label); empty for evenly spaced numeric ticks.
    pub x_ticks: Vec<(f64, String)>,
    /// A logarithmic y axis, in decades; every y must then be positive.
    pub log_y: bool,
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

/// Data to panel coordinates along one axis, linear or logarithmic.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
    log: bool,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        let f = |v: f64| if self.log { v.log10() } else { v };
        self.from + (f(v) - f(self.lo)) / (f(self.hi) - f(self.lo)) * (self.to - self.from)
    }
}

/// Why the panel's data cannot be drawn, if it cannot.
fn check(p: &Panel) -> Result<(), String> {
    for s in &p.series {
        let problem = if s.points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            "has a non-finite point"
        } else if p.log_y && s.points.iter().any(|&(_, y)| y <= 0.0) {
            "has a y of 0 or below on a logarithmic axis"
        } else if !s.labels.is_empty() && s.labels.len() != s.points.len() {
            "has labels for some points but not all"
        } else {
            continue;
        };
        return Err(format!("series {:?} of the plot {:?} {problem}", s.name, p.title));
    }
    Ok(())
}

fn draw_panel(o: &mut String, p: &Panel) -> Result<(), String> {
    check(p)?;
    let xs: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|pt| pt.0)).collect();
    let ys: Vec<f64> = p.series.iter().flat_map(|s| s.points.iter().map(|pt| pt.1)).collect();
    let (y_lo, y_hi, y_ticks) = if p.log_y { log_ticks(&ys) } else { value_ticks(&ys) };
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
    let x = Scale { lo: x_min - pad, hi: x_max + pad, from: LEFT, to: RIGHT, log: false };
    let y = Scale { lo: y_lo, hi: y_hi, from: BOTTOM, to: TOP, log: p.log_y };

    text(o, "panel-title", (LEFT + RIGHT) / 2.0, 20.0, "middle", 14.0, true, &p.title);
    draw_legend(o, &p.series);
    draw_axes(o, p, (x, &x_ticks), (y, &y_ticks));
    for (i, s) in p.series.iter().enumerate() {
        draw_series(o, i, s, x, y);
    }
    Ok(())
}

/// Grid lines at the y ticks, the axes with their ticks, tick labels and
/// axis titles.
fn draw_axes(
    o: &mut String,
    p: &Panel,
    (x, x_ticks): (Scale, &[(f64, String)]),
    (y, y_ticks): (Scale, &[(f64, String)]),
) {
    let _ = writeln!(o, r##"<g class="grid" stroke="#dddddd" stroke-width="1">"##);
    for (v, _) in y_ticks {
        let _ =
            writeln!(o, r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}"/>"#, num(LEFT), num(RIGHT), yv = num(y.at(*v)));
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, r#"<g class="axes" stroke="black" stroke-width="1">"#);
    let _ =
        writeln!(o, r#"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>"#, l = num(LEFT), r = num(RIGHT), b = num(BOTTOM));
    let _ = writeln!(o, r#"<line x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>"#, l = num(LEFT), t = num(TOP), b = num(BOTTOM));
    for (v, _) in x_ticks {
        let xv = num(x.at(*v));
        let _ = writeln!(o, r#"<line x1="{xv}" y1="{}" x2="{xv}" y2="{}"/>"#, num(BOTTOM), num(BOTTOM + 4.0));
    }
    for (v, _) in y_ticks {
        let yv = num(y.at(*v));
        let _ = writeln!(o, r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}"/>"#, num(LEFT - 4.0), num(LEFT));
    }
    let _ = writeln!(o, "</g>");
    for (v, label) in x_ticks {
        text(o, "x-tick", x.at(*v), BOTTOM + 17.0, "middle", 11.0, false, label);
    }
    for (v, label) in y_ticks {
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
}

/// The `i`th series in its style, then its point labels: above and left of
/// each point (where nothing lies on a front of least x and most y), or
/// above and right when the y axis is too close on the left.
fn draw_series(o: &mut String, i: usize, s: &Series, x: Scale, y: Scale) {
    let colour = COLOURS[i % COLOURS.len()];
    let opacity = if s.style == Style::Markers { r#" fill-opacity="0.5""# } else { "" };
    let _ =
        writeln!(o, r#"<g class="series" data-name="{}" stroke="{colour}" fill="{colour}"{opacity}>"#, escape(&s.name));
    let at: Vec<(f64, f64)> = s.points.iter().map(|&(px, py)| (x.at(px), y.at(py))).collect();
    let path = match s.style {
        Style::Line => at.clone(),
        Style::Steps => steps(&at),
        Style::Markers => vec![],
    };
    if !path.is_empty() {
        let points: Vec<String> = path.iter().map(|&(px, py)| format!("{},{}", num(px), num(py))).collect();
        let _ = writeln!(o, r#"<polyline fill="none" stroke-width="2" points="{}"/>"#, points.join(" "));
    }
    for &(px, py) in &at {
        marker(o, MARKERS[i % MARKERS.len()], px, py);
    }
    let _ = writeln!(o, "</g>");
    if s.labels.is_empty() {
        return;
    }
    let _ = writeln!(o, r#"<g class="point-labels">"#);
    for (&(px, py), label) in at.iter().zip(&s.labels) {
        let fits_left = px - 6.0 - text_width(label, 10.0) >= LEFT;
        let (lx, anchor) = if fits_left { (px - 6.0, "end") } else { (px + 6.0, "start") };
        text(o, "point-label", lx, py - 6.0, anchor, 10.0, false, label);
    }
    let _ = writeln!(o, "</g>");
}

/// A staircase through the points: across to the next x, then to its y.
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut path = vec![];
    for pair in points.windows(2) {
        path.push(pair[0]);
        path.push((pair[1].0, pair[0].1));
    }
    path.extend(points.last());
    path
}

/// About 0.6 em per character of DejaVu Sans.
fn text_width(s: &str, size: f64) -> f64 {
    0.6 * size * s.chars().count() as f64
}

/// One row above the plot area: a sample (line and marker, or marker
/// alone) and the name of every series.
fn draw_legend(o: &mut String, series: &[Series]) {
    let _ = writeln!(o, r#"<g class="legend">"#);
    let mut at = LEFT;
    let y = 40.0;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if s.style != Style::Markers {
            let _ = writeln!(
                o,
                r#"<line x1="{}" y1="{yv}" x2="{}" y2="{yv}" stroke="{colour}" stroke-width="2"/>"#,
                num(at),
                num(at + 24.0),
                yv = num(y - 4.0)
            );
        }
        let _ = writeln!(o, r#"<g stroke="{colour}" fill="{colour}">"#);
        marker(o, MARKERS[i % MARKERS.len()], at + 12.0, y - 4.0);
        let _ = writeln!(o, "</g>");
        text(o, "legend-entry", at + 30.0, y, "start", 12.0, false, &s.name);
        at += 30.0 + text_width(&s.name, 12.0) + 18.0;
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

/// A logarithmic value axis over the whole decades around the values, with
/// a tick at every decade, and at 2 and 5 times each when the axis spans
/// at most two decades: (low end, high end, ticks). The values are positive.
fn log_ticks(values: &[f64]) -> (f64, f64, Vec<(f64, String)>) {
    let (lo, hi) = min_max(values).unwrap_or((1.0, 10.0));
    let first = lo.log10().floor() as i32;
    let last = (hi.log10().ceil() as i32).max(first + 1);
    let mantissas: &[u32] = if last - first <= 2 { &[1, 2, 5] } else { &[1] };
    let mut ticks = vec![];
    for e in first..=last {
        for &m in mantissas.iter().take(if e == last { 1 } else { mantissas.len() }) {
            ticks.push((decade_value(m, e), decade_label(m, e)));
        }
    }
    (decade_value(1, first), decade_value(1, last), ticks)
}

/// m * 10^e, the double nearest to it.
fn decade_value(m: u32, e: i32) -> f64 {
    format!("{m}e{e}").parse().unwrap_or(f64::NAN)
}

/// m * 10^e as a tick label: 0.05, 200, 5k, 20M.
fn decade_label(m: u32, e: i32) -> String {
    const PREFIXES: [&str; 6] = ["", "k", "M", "G", "T", "P"];
    match usize::try_from(e) {
        Err(_) => format!("{:.*}", e.unsigned_abs() as usize, decade_value(m, e)),
        Ok(e) if e < 3 * PREFIXES.len() => format!("{}{}", u64::from(m) * 10u64.pow(e as u32 % 3), PREFIXES[e / 3]),
        Ok(_) => format!("{m}e{e}"),
    }
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
        let line = |name: &str, points: &[(f64, f64)]| Series::line(name, points.to_vec());
        Figure {
            title: "Area & path <against> K".into(),
            subtitle: "n = 64".into(),
            panels: vec![
                Panel {
                    title: "Area".into(),
                    x_label: "K (bases or bits)".into(),
                    y_label: "area (µm²)".into(),
                    x_ticks: (1..=3).map(|k| (k as f64, k.to_string())).collect(),
                    log_y: false,
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
                    log_y: false,
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

    /// A scatter on a logarithmic y axis: a cloud of markers and a labelled
    /// staircase over them.
    fn scatter() -> Figure {
        let steps = Series {
            name: "front".into(),
            points: vec![(1.0, 10.0), (2.0, 1000.0)],
            style: Style::Steps,
            labels: vec!["a <1>".into(), "b".into()],
        };
        let cloud = Series {
            name: "all".into(),
            points: vec![(1.0, 10.0), (1.5, 100.0), (2.0, 1000.0)],
            style: Style::Markers,
            labels: vec![],
        };
        let panel = Panel {
            title: String::new(),
            x_label: "LUTs".into(),
            y_label: "frames/s".into(),
            x_ticks: vec![],
            log_y: true,
            series: vec![cloud, steps],
        };
        Figure { title: "Scatter".into(), subtitle: String::new(), panels: vec![panel] }
    }

    #[test]
    fn scatter_draws_markers_alone_a_staircase_labels_and_a_log_axis() {
        let text = svg(&scatter()).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let series: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("series")).collect();
        assert_eq!(series.len(), 2);
        let (cloud, front) = (series[0], series[1]);
        assert_eq!(cloud.attribute("fill-opacity"), Some("0.5"));
        assert!(!cloud.children().any(|n| n.has_tag_name("polyline")), "markers alone");
        // 10 at the bottom, 1000 at the top: 100 halfway between.
        let cy: Vec<&str> = cloud.children().filter_map(|n| n.attribute("cy")).collect();
        assert_eq!(cy, [num(BOTTOM), num((TOP + BOTTOM) / 2.0), num(TOP)]);
        let line = front.children().find(|n| n.has_tag_name("polyline")).unwrap();
        let corners: Vec<&str> = line.attribute("points").unwrap().split(' ').collect();
        assert_eq!(corners.len(), 3, "across, then up: {corners:?}");
        let (x0, y0) = corners[0].split_once(',').unwrap();
        let (x2, y2) = corners[2].split_once(',').unwrap();
        assert_eq!(corners[1], format!("{x2},{y0}"));
        let f = |v: &str| v.parse::<f64>().unwrap();
        assert!(f(x0) < f(x2) && f(y0) > f(y2), "{corners:?}");
        let labels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("point-label"))
            .map(|n| n.text().unwrap_or(""))
            .collect();
        assert_eq!(labels, ["a <1>", "b"]);
        let ticks: Vec<&str> =
            doc.descendants().filter(|n| n.attribute("class") == Some("y-tick")).map(|n| n.text().unwrap()).collect();
        assert_eq!(ticks, ["10", "20", "50", "100", "200", "500", "1k"]);
        // The cloud's legend sample is a marker without a line.
        let legend = doc.descendants().find(|n| n.attribute("class") == Some("legend")).unwrap();
        assert_eq!(legend.children().filter(|n| n.has_tag_name("line")).count(), 1);
    }

    #[test]
    fn log_axis_spans_whole_decades() {
        let labels = |values: &[f64]| -> (f64, f64, Vec<String>) {
            let (lo, hi, ticks) = log_ticks(values);
            (lo, hi, ticks.into_iter().map(|t| t.1).collect())
        };
        assert_eq!(
            labels(&[150.0, 52000.0]),
            (100.0, 100000.0, vec!["100".into(), "1k".into(), "10k".into(), "100k".into()])
        );
        assert_eq!(labels(&[0.3, 20.0]).2, ["0.1", "1", "10", "100"]);
        assert_eq!(labels(&[3.0, 40.0]).2, ["1", "2", "5", "10", "20", "50", "100"]);
        assert_eq!(labels(&[1000.0, 1000.0]).2, ["1k", "2k", "5k", "10k"]);
        let (lo, hi, ticks) = log_ticks(&[0.02, 0.07]);
        assert_eq!((lo, hi, ticks[1].0), (0.01, 0.1, 0.02));
        assert_eq!(ticks[2].1, "0.05");
        assert_eq!([decade_label(2, 7), decade_label(5, 12), decade_label(1, 20)], ["20M", "5T", "1e20"]);
    }

    #[test]
    fn unplottable_scatters_are_one_line_errors() {
        let mut zero = scatter();
        zero.panels[0].series[0].points[0].1 = 0.0;
        let mut labels = scatter();
        labels.panels[0].series[1].labels.pop();
        for (fig, want) in [(zero, "logarithmic"), (labels, "labels")] {
            let err = svg(&fig).unwrap_err();
            assert!(err.contains(want) && !err.contains('\n'), "{err}");
        }
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
