//! A small chart description rendered with `plotters` to SVG and PNG: lines with markers and
//! error bars, shaded interval bands, scatter points, reference lines, optional log axes, and a
//! legend placed in the emptiest corner.

use std::path::{Path, PathBuf};

use fpe_experiments::error::Context;

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::tables::write;

/// Width and height of every plot in pixels.
const SIZE: (u32, u32) = (900, 600);

/// How the points of a series are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Solid line.
    Solid,
    /// Dashed line (references, fits).
    Dashed,
    /// Thin, light line (one seed's arms joined in a paired plot).
    Thin,
    /// Points only.
    None,
}

/// Marker drawn at each point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    /// Filled circle.
    Circle,
    /// Filled triangle.
    Triangle,
    /// Cross.
    Cross,
    /// No marker.
    None,
}

/// One legend entry: points `(x, y, error)`, the error drawn as ± bar.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// Legend text.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// Line style.
    pub line: Line,
    /// Marker style.
    pub marker: Marker,
    /// `(x, y, ±error)`.
    pub points: Vec<(f64, f64, Option<f64>)>,
    /// A shaded band `(x, low, high)` behind the line (95 % intervals).
    pub band: Option<Vec<(f64, f64, f64)>>,
}

impl Series {
    /// A solid line with circles and error bars.
    pub(crate) fn line(
        name: impl Into<String>,
        color: RGBColor,
        points: Vec<(f64, f64, Option<f64>)>,
    ) -> Self {
        Series {
            name: name.into(),
            color,
            line: Line::Solid,
            marker: Marker::Circle,
            points,
            band: None,
        }
    }
}

/// A chart: title, axis labels, log flags and series.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chart {
    /// Caption.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// log10 x axis (non-positive x dropped).
    pub log_x: bool,
    /// log10 y axis (non-positive y dropped, no error bars).
    pub log_y: bool,
    /// Series in legend order.
    pub series: Vec<Series>,
    /// Names of the integer x positions 0, 1, … (a categorical axis); empty for a numeric axis.
    pub x_names: Vec<String>,
}

/// Colour of the `i`-th series (Tableau 10).
pub(crate) fn palette(i: usize) -> RGBColor {
    const P: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = P[i % P.len()];
    RGBColor(r, g, b)
}

/// A stable colour per arm name, so an arm looks the same in every plot; the arms past the ten
/// palette colours get colours of their own.
pub(crate) fn arm_color(arm: &str) -> RGBColor {
    const ARMS: [&str; 13] = [
        "random",
        "clause",
        "feature",
        "dense",
        "wide_dense",
        "nm",
        "clause_by_weight",
        "overlap",
        "contiguous",
        "dropconnect",
        "wide_sparse_scratch",
        "set",
        "rigl",
    ];
    match arm {
        "dense" => RGBColor(40, 40, 40),
        "wide_sparse_scratch" => RGBColor(0, 0, 128),
        "set" => RGBColor(128, 128, 0),
        "rigl" => RGBColor(0, 110, 110),
        a => palette(ARMS.iter().position(|x| *x == a).unwrap_or(a.len() + 3)),
    }
}

type Pt = (f64, f64, Option<f64>);

impl Chart {
    /// Pixel size: [`SIZE`], widened for a categorical axis so its names do not overlap.
    fn size(&self) -> (u32, u32) {
        let names = u32::try_from(self.x_names.len()).unwrap_or(u32::MAX);
        (
            SIZE.0.max(names.saturating_mul(120).saturating_add(120)),
            SIZE.1,
        )
    }

    /// A value on an axis after its log transform; `None` where the axis cannot show it.
    fn axis(v: f64, log: bool) -> Option<f64> {
        if log {
            (v > 0.0).then(|| v.log10())
        } else {
            v.is_finite().then_some(v)
        }
    }

    /// Each series' band after the log transforms, sorted by x, dropping what cannot be shown.
    fn transformed_bands(&self) -> Vec<Vec<(f64, f64, f64)>> {
        self.series
            .iter()
            .map(|s| {
                let mut b: Vec<(f64, f64, f64)> = s
                    .band
                    .iter()
                    .flatten()
                    .filter_map(|&(x, lo, hi)| {
                        Some((
                            Self::axis(x, self.log_x)?,
                            Self::axis(lo, self.log_y)?,
                            Self::axis(hi, self.log_y)?,
                        ))
                    })
                    .collect();
                b.sort_by(|a, c| a.0.total_cmp(&c.0));
                b
            })
            .collect()
    }

    /// Points after the log transforms, dropping what a log axis cannot show.
    fn transformed(&self) -> Vec<Vec<Pt>> {
        let t = Self::axis;
        self.series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .filter_map(|&(x, y, e)| {
                        Some((
                            t(x, self.log_x)?,
                            t(y, self.log_y)?,
                            if self.log_y {
                                None
                            } else {
                                e.filter(|e| e.is_finite())
                            },
                        ))
                    })
                    .collect()
            })
            .collect()
    }

    /// Renders to `dir/stem.svg` and `dir/stem.png`; returns the PNG path, or `None` when no
    /// series has a point to draw (nothing is written then).
    ///
    /// # Errors
    /// Drawing or writing errors.
    pub(crate) fn save(&self, dir: &Path, stem: &str) -> Result<Option<PathBuf>> {
        let pts = self.transformed();
        if pts.iter().all(Vec::is_empty) {
            return Ok(None);
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw(&root, &pts)?;
            root.present()
                .map_err(|e| Error::Plot(format!("{stem}.svg: {e}")))?;
        }
        write(&dir.join(format!("{stem}.svg")), &svg)?;
        // The bitmap backend encodes by file extension: render to a temporary PNG, then move its
        // bytes into place atomically.
        let png = dir.join(format!("{stem}.png"));
        let tmp = dir.join(format!(".{stem}.render-{}.png", std::process::id()));
        let drawn = (|| -> Result<()> {
            let root = BitMapBackend::new(&tmp, self.size()).into_drawing_area();
            self.draw(&root, &pts)?;
            root.present()
                .map_err(|e| Error::Plot(format!("{stem}.png: {e}")))?;
            Ok(())
        })();
        let bytes = drawn.and_then(|()| {
            Ok(std::fs::read(&tmp).with_context(|| format!("reading {}", tmp.display()))?)
        });
        let _ = std::fs::remove_file(&tmp);
        fpe_io::write_atomic(&png, &bytes?)
            .with_context(|| format!("writing {}", png.display()))?;
        Ok(Some(png))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        pts: &[Vec<Pt>],
    ) -> Result<()> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| {
            Error::Plot(format!("plotting `{}`: {e}", self.title))
        };
        root.fill(&WHITE).map_err(err)?;
        let all = pts.iter().flatten();
        let xs: Vec<f64> = all.clone().map(|p| p.0).collect();
        let mut ys: Vec<f64> = all
            .flat_map(|p| [p.1 - p.2.unwrap_or(0.0), p.1 + p.2.unwrap_or(0.0)])
            .collect();
        let bands = self.transformed_bands();
        ys.extend(bands.iter().flatten().flat_map(|b| [b.1, b.2]));
        let (x0, x1) = padded(&xs, 0.05);
        let (y0, y1) = padded(&ys, 0.08);
        let mut chart = ChartBuilder::on(root)
            .caption(
                &self.title,
                (
                    "sans-serif",
                    if self.title.chars().count() > 80 {
                        16
                    } else {
                        20
                    },
                ),
            )
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let fx = |v: &f64| {
            if self.x_names.is_empty() {
                return tick(*v, self.log_x);
            }
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                self.x_names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let fy = |v: &f64| tick(*v, self.log_y);
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(if self.x_names.is_empty() {
                10
            } else {
                self.x_names.len() + 2
            })
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 15))
            .x_max_light_lines(1)
            .y_max_light_lines(1)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(218, 218, 218))
            .draw()
            .map_err(err)?;
        // Bands first, so every line and marker is drawn over them.
        for (s, b) in self.series.iter().zip(&bands) {
            if b.len() < 2 {
                continue;
            }
            let outline: Vec<(f64, f64)> = b
                .iter()
                .map(|p| (p.0, p.2))
                .chain(b.iter().rev().map(|p| (p.0, p.1)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    s.color.mix(0.16).filled(),
                )))
                .map_err(err)?;
        }
        for (s, p) in self.series.iter().zip(pts) {
            if p.is_empty() {
                continue;
            }
            let color = s.color;
            let style = ShapeStyle::from(color).stroke_width(2);
            let xy: Vec<(f64, f64)> = p.iter().map(|q| (q.0, q.1)).collect();
            match s.line {
                Line::Solid => {
                    chart
                        .draw_series(LineSeries::new(xy.clone(), style))
                        .map_err(err)?;
                }
                Line::Dashed => {
                    chart
                        .draw_series(DashedLineSeries::new(xy.clone(), 8, 5, style))
                        .map_err(err)?;
                }
                Line::Thin => {
                    let thin = ShapeStyle::from(color.mix(0.35)).stroke_width(1);
                    chart
                        .draw_series(LineSeries::new(xy.clone(), thin))
                        .map_err(err)?;
                }
                Line::None => {}
            }
            chart
                .draw_series(p.iter().filter_map(|q| {
                    q.2.map(|e| {
                        ErrorBar::new_vertical(
                            q.0,
                            q.1 - e,
                            q.1,
                            q.1 + e,
                            ShapeStyle::from(color).stroke_width(1),
                            8,
                        )
                    })
                }))
                .map_err(err)?;
            let anno = match s.marker {
                Marker::Circle => {
                    chart.draw_series(xy.iter().map(|&c| Circle::new(c, 4, color.filled())))
                }
                Marker::Triangle => chart.draw_series(
                    xy.iter()
                        .map(|&c| TriangleMarker::new(c, 6, color.filled())),
                ),
                Marker::Cross => chart.draw_series(xy.iter().map(|&c| Cross::new(c, 5, style))),
                Marker::None => chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>()),
            }
            .map_err(err)?;
            // A series without a name has no legend entry (e.g. one line per seed).
            if s.name.is_empty() {
                continue;
            }
            // Legend glyph: a short line (unless points only) and a dot (unless no marker).
            let half = if s.line == Line::None { 0 } else { 12 };
            let dot = if s.marker == Marker::None {
                ShapeStyle::from(WHITE.mix(0.0))
            } else {
                color.filled()
            };
            anno.label(&s.name).legend(move |(x, y)| {
                EmptyElement::at((x + 12, y))
                    + PathElement::new(vec![(-half, 0), (half, 0)], style)
                    + Circle::new((0, 0), 4, dot)
            });
        }
        if !has_legend(&self.series) {
            return Ok(());
        }
        chart
            .configure_series_labels()
            .position(legend_corner(
                pts,
                (x0, x1),
                (y0, y1),
                self.series.iter().filter(|s| !s.name.is_empty()).count(),
            ))
            .background_style(WHITE.mix(0.88))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 15))
            .margin(10)
            .draw()
            .map_err(err)?;
        Ok(())
    }
}

/// Whether any series has a legend entry (a named series).
fn has_legend(series: &[Series]) -> bool {
    series.iter().any(|s| !s.name.is_empty())
}

/// Range of `v` with `frac` padding on each side; a degenerate range is widened.
fn padded(v: &[f64], frac: f64) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 0.5 };
        return (lo - d, hi + d);
    }
    (lo - frac * span, hi + frac * span)
}

/// Tick label: plain numbers, or powers of ten on a log axis.
fn tick(v: f64, log: bool) -> String {
    if log {
        // Plain numbers where they read well (widths 2 … 256), powers of ten elsewhere.
        let x = 10f64.powf(v);
        if (1.0..1e5).contains(&x) {
            return if x >= 10.0 {
                format!("{x:.0}")
            } else {
                let s = format!("{x:.1}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            };
        }
        if (v - v.round()).abs() < 1e-6 {
            return format!("1e{}", v.round() as i64);
        }
        return format!("{:.1e}", 10f64.powf(v));
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The corner whose box (legend-sized, in data fractions) holds the fewest points.
fn legend_corner(
    pts: &[Vec<Pt>],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    n: usize,
) -> SeriesLabelPosition {
    let (w, h) = (0.42, (0.05 * n as f64 + 0.05).min(0.7));
    let count = |left: bool, top: bool| {
        pts.iter()
            .flatten()
            .filter(|p| {
                let fx = (p.0 - x0) / (x1 - x0);
                let fy = (p.1 - y0) / (y1 - y0);
                let inx = if left { fx <= w } else { fx >= 1.0 - w };
                let iny = if top { fy >= 1.0 - h } else { fy <= h };
                inx && iny
            })
            .count()
    };
    let corners = [
        (false, false, SeriesLabelPosition::LowerRight),
        (false, true, SeriesLabelPosition::UpperRight),
        (true, true, SeriesLabelPosition::UpperLeft),
        (true, false, SeriesLabelPosition::LowerLeft),
    ];
    corners
        .into_iter()
        .min_by_key(|(l, t, _)| count(*l, *t))
        .map(|c| c.2)
        .unwrap_or(SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests;
