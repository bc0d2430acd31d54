//! A trend in plain text: one block per day. The scale runs from the lowest day (or half the
//! highest, whichever is lower) to the highest, so a steady climb shows as a climb while a cent's
//! wobble on a steady bill does not look like a spike.

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▅▅▆▆▇█` for a rising series, all `█` for steady spend, `▁` for a day without cost (when
/// others had some); an empty series is empty. A credit below zero reads as no cost.
pub fn sparkline(values: &[f64]) -> String {
    let clean = |v: &f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let high = values.iter().map(clean).fold(0.0, f64::max);
    let low = values.iter().map(clean).fold(high / 2.0, f64::min);
    values
        .iter()
        .map(|v| {
            if high < 0.005 {
                return BLOCKS[0];
            }
            let step = ((clean(v) - low) / (high - low) * (BLOCKS.len() - 1) as f64).round();
            BLOCKS[(step.max(0.0) as usize).min(BLOCKS.len() - 1)]
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
            "▅▅▆▆▇▇█",
            "a steady climb shows"
        );
        assert_eq!(
            sparkline(&[5.0, 5.0, 5.0]),
            "███",
            "steady spend is not zero spend"
        );
        assert_eq!(sparkline(&[10.0, 10.01, 10.0]), "███", "a cent is not a spike");
        assert_eq!(sparkline(&[20.0, 40.0]), "▁█", "a doubling is");
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
