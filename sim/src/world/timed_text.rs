//! Sentences with virtual times in them, kept typed until they are printed.
//!
//! The simulator says why a run stopped (a panic at some instant, a liveness failure after
//! the faults healed) in sentences that name moments of virtual time. Those moments stay
//! numbers here, so that the reports can write them in their one unit, ms (through
//! [`format_ms`], the one formatter), without reading words back out of a string; the
//! store's own words (a panic message, a process's complaint) pass through untouched.

use crate::check::report::format_ms;

/// A sentence made of words and moments of virtual time (µs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimedText {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Words(String),
    TimeUs(u64),
}

impl TimedText {
    /// `self` followed by `words`.
    pub fn words(mut self, words: impl AsRef<str>) -> TimedText {
        let words = words.as_ref();
        match self.pieces.last_mut() {
            Some(Piece::Words(last)) => last.push_str(words),
            _ => self.pieces.push(Piece::Words(words.to_string())),
        }
        self
    }

    /// `self` followed by the moment `us` µs of virtual time.
    pub fn time_us(mut self, us: u64) -> TimedText {
        self.pieces.push(Piece::TimeUs(us));
        self
    }

    /// `self` followed by `more`.
    pub fn then(mut self, more: TimedText) -> TimedText {
        for piece in more.pieces {
            self = match piece {
                Piece::Words(words) => self.words(words),
                Piece::TimeUs(us) => self.time_us(us),
            };
        }
        self
    }

    /// The sentence as the reports print it: times in ms (`53.087ms`).
    pub fn in_ms(&self) -> String {
        self.render(format_ms)
    }

    /// The sentence as the simulator counts: times in µs (`53087us`).
    pub fn in_us(&self) -> String {
        self.render(|us| format!("{us}us"))
    }

    fn render(&self, time: impl Fn(u64) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Words(words) => out.push_str(words),
                Piece::TimeUs(us) => out.push_str(&time(*us)),
            }
        }
        out
    }
}

impl From<String> for TimedText {
    fn from(words: String) -> TimedText {
        TimedText::default().words(words)
    }
}

impl From<&str> for TimedText {
    fn from(words: &str) -> TimedText {
        TimedText::default().words(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_ms_for_reports_and_in_us_for_the_simulator() {
        // Only the typed moments change unit; words that look like times stay as written.
        let text = TimedText::from("n1 panicked at ")
            .time_us(53087)
            .words(": 12us bus, ")
            .then(TimedText::from("now ").time_us(7))
            .time_us(0);
        assert_eq!(text.in_ms(), "n1 panicked at 53.087ms: 12us bus, now 0.007ms0.000ms");
        assert_eq!(text.in_us(), "n1 panicked at 53087us: 12us bus, now 7us0us");
    }
}
