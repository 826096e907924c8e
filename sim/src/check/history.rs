//! Reading a history file: one JSON event per line, with errors that name the line.

use std::fmt;

use workloads::history::Event;

/// Why a history could not be checked: the file (or an in-memory event list) is not a
/// well-formed history. `line` is 1-based; for in-memory events it is the event's position
/// in the slice plus one, which is its line in a file written one event per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    pub line: usize,
    pub message: String,
}

impl HistoryError {
    pub(crate) fn at(position: usize, message: impl Into<String>) -> HistoryError {
        HistoryError { line: position + 1, message: message.into() }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HistoryError {}

/// Parses a JSON Lines history. Every line is one event; blank lines are refused (except
/// at the very end of the file) so that event `i` is always line `i + 1` and errors found
/// later by [`crate::check::check`] point at the right line.
pub fn parse_history(text: &str) -> Result<Vec<Event>, HistoryError> {
    let mut events = Vec::new();
    let body = text.trim_end();
    if body.is_empty() {
        return Ok(events);
    }
    for (position, line) in body.lines().enumerate() {
        events.push(parse_line(position, line)?);
    }
    Ok(events)
}

pub(crate) fn parse_line(position: usize, line: &str) -> Result<Event, HistoryError> {
    if line.trim().is_empty() {
        return Err(HistoryError::at(
            position,
            "blank line: a history has exactly one event per line",
        ));
    }
    // serde quotes the offending value whole: a long line must not echo back whole.
    serde_json::from_str::<Event>(line).map_err(|e| {
        let message = node::clip::clip_quoted(&e.to_string()).into_owned();
        HistoryError::at(position, format!("not a history event: {message}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(text: &str, line: usize, needle: &str) {
        let err = parse_history(text).unwrap_err();
        assert_eq!(err.line, line, "{err}");
        assert!(err.message.contains(needle), "{err}");
    }

    #[test]
    fn parses_events_and_tolerates_a_trailing_newline() {
        let text = "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"ops\":[{\"f\":\"r\",\"key\":\"x\"}]}\n\n";
        assert_eq!(parse_history(text).unwrap().len(), 1);
        assert!(parse_history("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let good = "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"ops\":[]}";
        check_err(&format!("{good}\n{{\"index\":1}}\n"), 2, "missing field");
        check_err(&format!("{good}\n\n{good}\n"), 2, "blank line");
        check_err(&format!("{good}\nnot json\n"), 2, "not a history event");
        check_err(
            "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"maybe\",\"ops\":[]}",
            1,
            "unknown variant",
        );
    }
}
