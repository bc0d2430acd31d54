//! The time an invocation has left, from the deadline the Lambda runtime hands each invocation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Time kept back from the Lambda deadline to report the result.
pub const MARGIN: Duration = Duration::from_millis(500);
/// The budget when the runtime gives no usable deadline (local emulators send a fixed number of
/// milliseconds rather than a point in time).
pub const UNKNOWN_BUDGET: Duration = Duration::from_secs(60);

/// The invocation's deadline (`Context::deadline`, milliseconds since the epoch) as an `Instant`,
/// less [`MARGIN`].
pub fn from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = if deadline_ms > now_ms {
        Duration::from_millis(deadline_ms - now_ms).saturating_sub(MARGIN)
    } else {
        UNKNOWN_BUDGET
    };
    Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_deadline_is_kept_less_the_margin() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = from_epoch_ms(now_ms + 3_000) - Instant::now();
        assert!(
            left <= Duration::from_millis(2_500) && left > Duration::from_millis(2_000),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_in_the_past_means_the_runtime_gave_none() {
        let left = from_epoch_ms(600_000) - Instant::now();
        assert!(left > Duration::from_secs(50), "{left:?}");
    }
}
