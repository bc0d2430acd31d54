//! Median, min and max of repeated measurements, and how they are printed.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Self {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    pub fn millis(durations: &[Duration]) -> Option<Self> {
        Self::of(
            &durations
                .iter()
                .map(|d| d.as_secs_f64() * 1000.0)
                .collect::<Vec<_>>(),
        )
    }

    pub fn mib(bytes: &[u64]) -> Option<Self> {
        Self::of(
            &bytes
                .iter()
                .map(|b| *b as f64 / (1024.0 * 1024.0))
                .collect::<Vec<_>>(),
        )
    }
}

impl fmt::Display for Spread {
    /// `12.3 (11.9–13.0)`, with as many decimals as the size of the numbers calls for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |x: f64| {
            if x >= 100.0 {
                format!("{x:.0}")
            } else if x >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        };
        write!(f, "{} ({}–{})", p(self.median), p(self.min), p(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = Spread::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
        let s = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Spread::of(&[]).is_none());
        assert_eq!(
            Spread::of(&[12.34, 11.0, 150.0]).unwrap().to_string(),
            "12.3 (11.0–150)"
        );
    }
}
