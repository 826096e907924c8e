//! Virtual clocks: each process reads true simulated time through its own offset and
//! drift, so timeouts and TTLs run fast or slow and processes disagree about "now".

/// `local = offset + true + true * drift_ppm / 1_000_000`, in microseconds. Integer
/// arithmetic only: floats would make a run depend on rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    pub offset_us: u64,
    /// Parts per million, strictly between -1_000_000 and 1_000_000.
    pub drift_ppm: i64,
}

const MILLION: i128 = 1_000_000;

impl Clock {
    pub fn new(offset_us: u64, drift_ppm: i64) -> Clock {
        assert!(drift_ppm.abs() < 1_000_000, "a clock must move forward: drift {drift_ppm}ppm");
        Clock { offset_us, drift_ppm }
    }

    /// What this process's clock reads at true time `true_us` (saturating at `u64::MAX`).
    pub fn local(&self, true_us: u64) -> u64 {
        let t = i128::from(true_us);
        let local = i128::from(self.offset_us) + t + t * i128::from(self.drift_ppm) / MILLION;
        local.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The earliest true time at which this clock reads at least `local_us`: when a
    /// process's deadline, stated in its own time, falls due.
    pub fn true_time_at(&self, local_us: u64) -> u64 {
        if local_us <= self.local(0) {
            return 0;
        }
        let elapsed = i128::from(local_us) - i128::from(self.offset_us);
        let rate = MILLION + i128::from(self.drift_ppm);
        let estimate = (elapsed * MILLION + rate - 1) / rate;
        // A time this clock reaches only past the end of true time (a store's "never",
        // `u64::MAX`, on a slow clock): due never, which is the last instant.
        if estimate >= i128::from(u64::MAX) || self.local(u64::MAX) < local_us {
            return u64::MAX;
        }
        let mut t = estimate.max(0) as u64;
        // Integer division of the forward map can be off by one either way; settle it.
        while self.local(t) < local_us {
            t += 1;
        }
        while t > 0 && self.local(t - 1) >= local_us {
            t -= 1;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_time_at_inverts_local_exactly() {
        for clock in [Clock::new(0, 0), Clock::new(1_234, 777), Clock::new(50_000, -9_999)] {
            for local in [0, 1, 999, 50_000, 50_001, 1_000_000, 123_456_789] {
                let t = clock.true_time_at(local);
                assert!(clock.local(t) >= local, "{clock:?} at {t} reads below {local}");
                if t > 0 {
                    assert!(clock.local(t - 1) < local, "{clock:?}: {t} is not the earliest");
                }
            }
        }
    }

    #[test]
    fn a_deadline_of_never_is_due_at_the_end_of_time_at_once() {
        // A store may ask for a tick at `u64::MAX` (a table whose entries never expire):
        // a slow clock never reads it, a fast one does early; neither may spin.
        for clock in [Clock::new(0, -9_999), Clock::new(50_000, 777), Clock::new(0, 0)] {
            let t = clock.true_time_at(u64::MAX);
            assert!(t == u64::MAX || clock.local(t) == u64::MAX, "{clock:?}: {t}");
        }
    }

    #[test]
    fn drift_makes_a_clock_run_fast_or_slow() {
        assert_eq!(Clock::new(0, 1_000).local(1_000_000), 1_001_000);
        assert_eq!(Clock::new(10, -1_000).local(1_000_000), 999_010);
    }
}
