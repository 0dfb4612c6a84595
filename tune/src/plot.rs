//! Charts for the benchmark figures and tuning reports, written as SVG and PNG with plotters.
//!
//! Text layout needs a TrueType font: `ESMM_FONT`, else the first of [`FONT_PATHS`] that exists;
//! without one, rendering returns an error naming the paths tried.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Where a sans-serif font for PNG text is looked for.
pub const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// One named series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart: several series over a shared x axis.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x axis (base 2).
    pub log_x: bool,
    /// A horizontal reference line (e.g. 1.0 = parity with cuBLAS).
    pub reference_y: Option<f64>,
    /// The data.
    pub series: Vec<Series>,
}

/// A grouped bar chart: for each group (x tick), one bar per series.
#[derive(Clone, Debug)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Group labels, left to right.
    pub groups: Vec<String>,
    /// (series label, one value per group).
    pub bars: Vec<(String, Vec<f64>)>,
    /// Stack the series instead of placing them side by side.
    pub stacked: bool,
}

/// A heatmap: rows × columns of values with row and column labels.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Title above the plot.
    pub title: String,
    /// Row labels (top to bottom).
    pub rows: Vec<String>,
    /// Column labels (left to right).
    pub cols: Vec<String>,
    /// `values[r][c]`; NaN cells are drawn grey.
    pub values: Vec<Vec<f64>>,
}

fn font_ready() -> bool {
    use std::sync::OnceLock;
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let candidates = std::env::var("ESMM_FONT").ok().into_iter().chain(FONT_PATHS.iter().map(|s| s.to_string()));
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Writes `<stem>.svg` and `<stem>.png`; evaluates to the files written. Both need a font for text layout.
macro_rules! render_to_both {
    ($stem:expr, $size:expr, $draw:ident, $chart:expr) => {{
        let stem: &Path = $stem;
        if !font_ready() {
            return Err(format!(
                "no TrueType font found for chart text (tried ESMM_FONT and {FONT_PATHS:?}); cannot draw {}",
                stem.display()
            )
            .into());
        }
        if let Some(dir) = stem.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let svg = stem.with_extension("svg");
        {
            let root = SVGBackend::new(&svg, $size).into_drawing_area();
            $draw(&root, $chart)?;
            root.present()?;
        }
        let png = stem.with_extension("png");
        {
            let root = BitMapBackend::new(&png, $size).into_drawing_area();
            $draw(&root, $chart)?;
            root.present()?;
        }
        vec![svg, png]
    }};
}

impl LineChart {
    /// Renders to `<stem>.svg` and `<stem>.png`.
    pub fn render(&self, stem: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
        Ok(render_to_both!(stem, (960, 600), draw_line, self))
    }
}

impl BarChart {
    /// Renders to `<stem>.svg` and `<stem>.png`.
    pub fn render(&self, stem: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
        Ok(render_to_both!(stem, (960, 600), draw_bars, self))
    }
}

impl Heatmap {
    /// Renders to `<stem>.svg` and `<stem>.png`.
    pub fn render(&self, stem: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
        let h = (120 + 22 * self.rows.len()).min(4000) as u32;
        Ok(render_to_both!(stem, (1100, h.max(300)), draw_heatmap, self))
    }
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo, hi)
}

fn draw_line<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, c: &LineChart) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let tx = |x: f64| if c.log_x { x.max(1e-12).log2() } else { x };
    let (x0, x1) = range_of(c.series.iter().flat_map(|s| s.points.iter().map(|p| tx(p.0))));
    let (_, y1) = range_of(c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).chain(c.reference_y));
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0.0..y1 * 1.08)?;
    let log_x = c.log_x;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&|x| if log_x { format!("{}", 2f64.powf(*x).round()) } else { format!("{x:.3}") })
        .draw()?;
    if let Some(y) = c.reference_y {
        chart.draw_series(LineSeries::new(vec![(x0, y), (x1, y)], BLACK.mix(0.5).stroke_width(1)))?;
    }
    for (i, s) in c.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = s.points.iter().filter(|p| p.1.is_finite()).map(|p| (tx(p.0), p.1)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw()?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, c: &BarChart) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let groups = c.groups.len().max(1);
    let per_group = if c.stacked { 1 } else { c.bars.len().max(1) };
    let y1 = if c.stacked {
        (0..groups).map(|g| c.bars.iter().map(|b| b.1.get(g).copied().unwrap_or(0.0).max(0.0)).sum::<f64>()).fold(0.0, f64::max)
    } else {
        range_of(c.bars.iter().flat_map(|b| b.1.iter().copied())).1
    };
    let slots = groups * (per_group + 1);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..slots as f64, 0.0..y1.max(1e-9) * 1.1)?;
    // Group names go under each group's centre (drawn below, not as axis ticks, whose positions
    // the axis picks and which would miss most groups).
    chart.configure_mesh().disable_x_mesh().y_desc(&c.y_label).x_labels(0).draw()?;
    for (g, label) in c.groups.iter().enumerate() {
        let centre = (g * (per_group + 1)) as f64 + per_group as f64 / 2.0;
        let (px, py) = chart.backend_coord(&(centre, 0.0));
        let style = ("sans-serif", 13).into_text_style(root).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(label.clone(), (px, py + 6), style))?;
    }
    for (i, (label, values)) in c.bars.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let rects: Vec<Rectangle<(f64, f64)>> = (0..groups)
            .map(|g| {
                let v = values.get(g).copied().unwrap_or(0.0).max(0.0);
                let (x, base) = if c.stacked {
                    let below: f64 = c.bars[..i].iter().map(|b| b.1.get(g).copied().unwrap_or(0.0).max(0.0)).sum();
                    ((g * (per_group + 1)) as f64, below)
                } else {
                    ((g * (per_group + 1) + i) as f64, 0.0)
                };
                Rectangle::new([(x + 0.05, base), (x + 0.95, base + if v.is_finite() { v } else { 0.0 })], color.filled())
            })
            .collect();
        chart
            .draw_series(rects)?
            .label(label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart.configure_series_labels().position(SeriesLabelPosition::UpperLeft).background_style(WHITE.mix(0.85)).border_style(BLACK).draw()?;
    Ok(())
}

fn draw_heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, c: &Heatmap) -> DrawResult
where
    DB::ErrorType: 'static,
{
    use plotters::coord::ranged1d::SegmentValue;
    root.fill(&WHITE)?;
    let (lo, hi) = range_of(c.values.iter().flatten().copied());
    let (nr, nc) = (c.rows.len().max(1) as u32, c.cols.len().max(1) as u32);
    let rows = c.rows.clone();
    let cols = c.cols.clone();
    // Segmented axes: cell i spans [i, i + 1) and its label sits at its centre. Row 0 is drawn
    // at the top.
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(420)
        .build_cartesian_2d((0..nc).into_segmented(), (0..nr).into_segmented())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc as usize + 1)
        .y_labels(nr as usize + 1)
        .x_label_formatter(&move |v| match v {
            SegmentValue::CenterOf(i) => cols.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&move |v| match v {
            SegmentValue::CenterOf(i) if *i < nr => rows.get((nr - 1 - *i) as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    for (r, row) in c.values.iter().enumerate() {
        for (col, v) in row.iter().enumerate() {
            let color = if v.is_finite() {
                let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                RGBColor((40.0 + 215.0 * t) as u8, (180.0 - 120.0 * t) as u8, (90.0 - 60.0 * t) as u8)
            } else {
                RGBColor(200, 200, 200)
            };
            let (x, y) = (col as u32, nr - 1 - r as u32);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(SegmentValue::Exact(x), SegmentValue::Exact(y)), (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1))],
                color.filled(),
            )))?;
            if v.is_finite() {
                chart.draw_series(std::iter::once(Text::new(
                    format!("{v:.2}"),
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    ("sans-serif", 13).into_font().color(&WHITE),
                )))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_svg_with_their_data() {
        let dir = std::env::temp_dir().join(format!("esmm-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = LineChart {
            title: "speedup vs density".into(),
            x_label: "density".into(),
            y_label: "× cuBLAS".into(),
            log_x: false,
            reference_y: Some(1.0),
            series: vec![Series { label: "k25".into(), points: vec![(0.125, 2.0), (0.5, 1.1), (1.0, 0.6)] }],
        };
        let files = line.render(&dir.join("line")).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("speedup vs density") && svg.contains("k25"));
        let bars = BarChart {
            title: "overhead".into(),
            y_label: "ms".into(),
            groups: vec!["1024".into(), "2048".into()],
            bars: vec![("pattern A".into(), vec![0.1, 0.2]), ("gemm".into(), vec![1.0, f64::NAN])],
            stacked: true,
        };
        let files = bars.render(&dir.join("bars")).unwrap();
        assert!(std::fs::read_to_string(&files[0]).unwrap().contains("pattern A"));
        let heat = Heatmap { title: "heat".into(), rows: vec!["a".into(), "b".into()], cols: vec!["x".into()], values: vec![vec![1.0], vec![f64::NAN]] };
        let files = heat.render(&dir.join("heat")).unwrap();
        assert!(files[0].exists());
        for f in &files {
            assert!(std::fs::metadata(f).unwrap().len() > 100);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
