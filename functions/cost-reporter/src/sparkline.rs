//! A trend in plain text: one block per day. `▁` is a day without cost; the other seven run from
//! the lowest day (or half the highest, whichever is lower) to the highest, so a steady climb shows
//! as a climb, a cent's wobble on a steady bill does not look like a spike, and a quiet day never
//! reads as a day without cost.

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▅▆▆▇▇██` for a rising series, all `█` for steady spend; an empty series is empty. A credit
/// below zero reads as no cost.
pub fn sparkline(values: &[f64]) -> String {
    let clean = |v: &f64| if v.is_finite() && *v >= 0.005 { *v } else { 0.0 };
    let high = values.iter().map(clean).fold(0.0, f64::max);
    let low = values
        .iter()
        .map(clean)
        .filter(|v| *v > 0.0)
        .fold(high / 2.0, f64::min);
    values
        .iter()
        .map(|v| {
            let v = clean(v);
            if v == 0.0 {
                return BLOCKS[0];
            }
            let steps = (BLOCKS.len() - 2) as f64;
            let step = 1.0 + ((v - low) / (high - low).max(f64::MIN_POSITIVE) * steps).round();
            BLOCKS[(step as usize).clamp(1, BLOCKS.len() - 1)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_reads_as_its_shape() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), "▁▂▃▄▅▆▇█");
        assert_eq!(
            sparkline(&[40.0, 42.0, 44.0, 46.0, 48.0, 50.0, 52.0]),
            "▅▆▆▇▇██",
            "a steady climb shows"
        );
        assert_eq!(
            sparkline(&[5.0, 5.0, 5.0]),
            "███",
            "steady spend is not zero spend"
        );
        assert_eq!(sparkline(&[10.0, 10.01, 10.0]), "███", "a cent is not a spike");
        assert_eq!(
            sparkline(&[20.0, 40.0]),
            "▂█",
            "a doubling is, and the quiet day still had cost"
        );
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(
            sparkline(&[-3.0, 0.0, 10.0]),
            "▁▁█",
            "a credit day does not break the scale"
        );
        assert_eq!(sparkline(&[f64::NAN, 1.0]), "▁█");
    }
}
