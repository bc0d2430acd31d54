//! The wall time during which at least one request was waiting on moto. Summing each request's
//! wait counts overlapping requests once each, and moto answers one at a time, so a function that
//! sends its requests at once would seem to wait several times longer than it did.

use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Busy {
    in_flight: usize,
    since: Option<Instant>,
    total: Duration,
}

impl Busy {
    pub fn started(&mut self, now: Instant) {
        if self.in_flight == 0 {
            self.since = Some(now);
        }
        self.in_flight += 1;
    }

    pub fn finished(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            if let Some(since) = self.since.take() {
                self.total += now.saturating_duration_since(since);
            }
        }
    }

    /// Busy time so far, including a stretch still open at `now`.
    pub fn total(&self, now: Instant) -> Duration {
        self.total
            + self
                .since
                .map(|s| now.saturating_duration_since(s))
                .unwrap_or_default()
    }

    /// Starts counting from zero; requests in flight count from `now`.
    pub fn clear(&mut self, now: Instant) {
        self.total = Duration::ZERO;
        if self.in_flight > 0 {
            self.since = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_requests_count_their_wall_time_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut busy = Busy::default();
        busy.started(ms(0));
        busy.started(ms(5));
        busy.finished(ms(10));
        busy.finished(ms(20));
        assert_eq!(busy.total(ms(20)), Duration::from_millis(20));
        // An idle gap is not counted; a later request adds its own time.
        busy.started(ms(50));
        busy.finished(ms(53));
        assert_eq!(busy.total(ms(100)), Duration::from_millis(23));
    }

    #[test]
    fn a_clear_keeps_counting_a_request_still_in_flight_from_then() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut busy = Busy::default();
        busy.started(ms(0));
        busy.clear(ms(30));
        assert_eq!(busy.total(ms(40)), Duration::from_millis(10));
        busy.finished(ms(45));
        assert_eq!(busy.total(ms(90)), Duration::from_millis(15));
    }
}
