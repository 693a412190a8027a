//! `--plot`: loss and accuracy per epoch, training and test, as an SVG file.

use std::path::Path;

use plotters::prelude::*;

use crate::checkpoint::write_atomically;
use crate::trainer::History;
use crate::{Result, TrainError};

const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const TEST_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Draws the curves of `history` side by side — loss on the left, accuracy (%) on the
/// right — under `title`, and writes the SVG to `path` atomically.
pub(crate) fn write_svg(path: &Path, history: &History, title: &str) -> Result<()> {
    let mut svg = String::new();
    draw(&mut svg, history, title)
        .map_err(|e| TrainError::invalid("--plot", format!("cannot draw the curves: {e}")))?;
    write_atomically(path, svg.as_bytes())
}

type Series = Vec<(f64, f64)>;

fn draw(svg: &mut String, history: &History, title: &str) -> std::result::Result<(), String> {
    let epochs = &history.epochs;
    let at = |f: &dyn Fn(&crate::trainer::EpochStats) -> Option<f64>| -> Series {
        epochs
            .iter()
            .filter_map(|s| {
                f(s).filter(|v| v.is_finite())
                    .map(|v| ((s.epoch + 1) as f64, v))
            })
            .collect()
    };
    let train_loss = at(&|s| Some(s.train_loss));
    let test_loss = at(&|s| s.test.map(|t| t.loss));
    let train_acc = at(&|s| s.train_accuracy.map(|a| 100.0 * a));
    let test_acc = at(&|s| s.test.and_then(|t| t.accuracy).map(|a| 100.0 * a));

    let root = SVGBackend::with_string(svg, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(500);
    let x_max = epochs.len().max(2) as f64;

    let loss_max = train_loss
        .iter()
        .chain(&test_loss)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    panel(
        &left,
        "loss",
        x_max,
        0.0..(loss_max * 1.05).max(1e-3),
        &[("train", &train_loss), ("test", &test_loss)],
        SeriesLabelPosition::UpperRight,
    )?;

    let acc_min = train_acc
        .iter()
        .chain(&test_acc)
        .map(|p| p.1)
        .fold(100.0, f64::min);
    if !train_acc.is_empty() || !test_acc.is_empty() {
        panel(
            &right,
            "accuracy (%)",
            x_max,
            (acc_min - 2.0).clamp(0.0, 98.0)..100.0,
            &[("train", &train_acc), ("test", &test_acc)],
            SeriesLabelPosition::LowerRight,
        )?;
    }
    root.present().map_err(|e| e.to_string())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x_max: f64,
    y_range: std::ops::Range<f64>,
    series: &[(&str, &Series)],
    legend: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..x_max, y_range)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    for (&(name, points), color) in series.iter().zip([TRAIN_COLOR, TEST_COLOR]) {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(legend)
        .draw()
        .map_err(|e| err(&e))
}
