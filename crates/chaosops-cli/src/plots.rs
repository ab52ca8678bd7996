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
            .label(policy.clone())
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

/// Writes a chart-sized SVG that says why there is no chart.
fn no_data(path: &Path, title: &str, why: &str) -> PlotResult {
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let style = ("sans-serif", 20).into_font().color(&BLACK);
    root.draw(&Text::new(title.to_owned(), (40, 60), ("sans-serif", 24)))?;
    root.draw(&Text::new(why.to_owned(), (40, 240), style))?;
    root.present()?;
    Ok(())
}

/// Hard tier: each policy as a point at (rogue detection rate, MTTR of its resolved
/// episodes), labelled with its success rate. A policy that resolved no hard episode has
/// no MTTR: it is drawn in a "never resolved" band above the axis, not at a made-up time.
/// Without hard-tier episodes the file says so instead of drawing an empty grid.
pub fn rogue_vs_mttr(eval: &Evaluation, path: &Path) -> PlotResult {
    const TITLE: &str = "Hard tier: rogue detection rate vs mean time to resolve";
    let hard: Vec<_> = eval
        .aggregates
        .iter()
        .filter(|a| a.tier == Difficulty::Hard && a.episodes > 0)
        .collect();
    if hard.is_empty() {
        return no_data(
            path,
            TITLE,
            "No data: this evaluation has no hard-tier episodes (add --tiers hard).",
        );
    }
    let resolved_max = hard.iter().filter_map(|a| a.mttr).fold(5.0_f64, f64::max);
    // The "never resolved" band sits above the highest MTTR.
    let band = resolved_max * 1.25;
    let top = resolved_max * 1.45;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(TITLE, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.05f64..1.3, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("rogue detection rate")
        .y_desc("MTTR of resolved episodes (steps, lower is better)")
        .y_label_formatter(&|y| {
            if *y > resolved_max * 1.1 {
                String::new()
            } else {
                format!("{y:.0}")
            }
        })
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(-0.05, resolved_max * 1.1), (1.3, resolved_max * 1.1)],
        BLACK.mix(0.3),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        "never resolved".to_owned(),
        (-0.03, band + top * 0.05),
        ("sans-serif", 14).into_font().color(&BLACK.mix(0.6)),
    )))?;
    for (i, a) in hard.iter().enumerate() {
        let c = color(
            eval.policies
                .iter()
                .position(|p| *p == a.policy)
                .unwrap_or(i),
        );
        let x = a.rogue_detection_rate.unwrap_or(0.0);
        let label = match a.mttr {
            Some(mttr) => format!(
                "{}: success {:.0}%, MTTR {mttr:.1}",
                a.policy,
                a.success_rate * 100.0
            ),
            None => format!("{}: never resolved (success 0%)", a.policy),
        };
        let y = a.mttr.unwrap_or(band);
        if a.mttr.is_some() {
            chart.draw_series(std::iter::once(Circle::new((x, y), 8, c.filled())))?;
        } else {
            chart.draw_series(std::iter::once(Cross::new((x, y), 8, c.stroke_width(3))))?;
        }
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (x + 0.02, y + top * (0.03 + 0.04 * i as f64)),
                ("sans-serif", 14),
            )))?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaosops_eval::eval::{evaluate, EvalConfig};
    use chaosops_roles::PolicyKind;
    use std::num::NonZeroUsize;

    fn svg(policies: &[PolicyKind], tiers: &[Difficulty]) -> String {
        let registry = crate::registry().unwrap();
        let config = EvalConfig {
            policies: policies.to_vec(),
            tiers: tiers.to_vec(),
            episodes_per_type: 2,
            seed_offset: 0,
            variation: Default::default(),
            split: Default::default(),
        };
        let eval = evaluate(registry, &config, NonZeroUsize::MIN, &|| ()).unwrap();
        let path = std::env::temp_dir().join(format!(
            "chaosops-plot-{}-{}.svg",
            std::process::id(),
            tiers.len() * 10 + policies.len()
        ));
        rogue_vs_mttr(&eval, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        text
    }

    #[test]
    fn the_chart_shows_success_and_marks_policies_that_never_resolve() {
        let text = svg(
            &[PolicyKind::Oracle, PolicyKind::Heuristic, PolicyKind::Noop],
            &[Difficulty::Hard],
        );
        assert!(text.contains("oracle: success 100%, MTTR"), "{text}");
        assert!(text.contains("heuristic: success "), "{text}");
        assert!(text.contains("noop: never resolved (success 0%)"), "{text}");
        assert!(
            text.contains("\nnever resolved\n"),
            "the band is labelled:\n{text}"
        );
    }

    #[test]
    fn without_hard_episodes_the_chart_says_there_is_no_data() {
        let text = svg(&[PolicyKind::Oracle], &[Difficulty::Easy]);
        assert!(text.contains("No data: this evaluation has no hard-tier episodes"));
        assert!(!text.contains("\nrogue detection rate\n"), "{text}");
    }
}
