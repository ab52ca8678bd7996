//! The evaluation's two SVG charts, drawn with plotters.

use std::path::Path;

use chaosops_model::Difficulty;
use plotters::prelude::*;

use chaosops_eval::eval::Evaluation;

const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Mean reward per tier, one line per policy.
pub fn reward_by_tier(eval: &Evaluation, path: &Path) -> PlotResult {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let rewards: Vec<f64> = eval.aggregates.iter().map(|a| a.mean_reward).collect();
    let lo = rewards.iter().copied().fold(0.0_f64, f64::min);
    let hi = rewards.iter().copied().fold(0.0_f64, f64::max);
    let pad = ((hi - lo) * 0.1).max(10.0);
    let tiers = &eval.tiers;
    let mut chart = ChartBuilder::on(&root)
        .caption("Mean episode reward by tier", ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            -0.25f64..(tiers.len() as f64 - 0.75),
            (lo - pad)..(hi + pad),
        )?;
    chart
        .configure_mesh()
        .x_labels(tiers.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                tiers
                    .get(i as usize)
                    .map_or_else(String::new, |t: &Difficulty| t.to_string())
            } else {
                String::new()
            }
        })
        .x_desc("tier")
        .y_desc("mean reward")
        .draw()?;
    for (pi, policy) in eval.policies.iter().enumerate() {
        let points: Vec<(f64, f64)> = tiers
            .iter()
            .enumerate()
            .filter_map(|(ti, tier)| {
                eval.aggregates
                    .iter()
                    .find(|a| a.policy == *policy && a.tier == *tier)
                    .map(|a| (ti as f64, a.mean_reward))
            })
            .collect();
        let c = color(pi);
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(3)))?
            .label(*policy)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 5, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Hard tier: each policy as a point at (rogue detection rate, MTTR); a policy that never
/// resolved is drawn at the step budget.
pub fn rogue_vs_mttr(eval: &Evaluation, path: &Path) -> PlotResult {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let points: Vec<(&str, f64, f64)> = eval
        .aggregates
        .iter()
        .filter(|a| a.tier == Difficulty::Hard)
        .map(|a| {
            let max_steps = f64::from(chaosops_sim::curriculum::max_steps_for(Difficulty::Hard));
            (
                a.policy,
                a.rogue_detection_rate.unwrap_or(0.0),
                a.mttr.unwrap_or(max_steps),
            )
        })
        .collect();
    let max_mttr = points.iter().map(|p| p.2).fold(5.0_f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Hard tier: rogue detection rate vs mean time to resolve",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.05f64..1.1, 0.0..max_mttr)?;
    chart
        .configure_mesh()
        .x_desc("rogue detection rate")
        .y_desc("MTTR (steps, lower is better)")
        .draw()?;
    for (i, (policy, x, y)) in points.iter().enumerate() {
        let c = color(eval.policies.iter().position(|p| p == policy).unwrap_or(i));
        chart
            .draw_series(std::iter::once(Circle::new((*x, *y), 8, c.filled())))?
            .label(*policy)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        chart.draw_series(std::iter::once(Text::new(
            policy.to_string(),
            (*x + 0.02, *y + max_mttr * 0.03),
            ("sans-serif", 16),
        )))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
