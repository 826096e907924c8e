//! Reading a history file: one JSON event per line, with errors that name the line.

use std::fmt;
use std::io::BufRead;

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

/// The longest line a history may have, newline excluded: 64 MiB. A longer line is
/// refused as soon as it passes the limit, without reading the rest of it, so endless
/// input (`/dev/zero`) costs no more memory than this. It is far above what one event
/// of the store this harness ships needs (its whole commit is bounded well below it).
pub const LINE_BYTES_MAX: usize = 64 << 20;

/// Parses a JSON Lines history held in memory: [`read_history`] over its bytes.
pub fn parse_history(text: &str) -> Result<Vec<Event>, HistoryError> {
    read_history(text.as_bytes(), LINE_BYTES_MAX)
}

/// Reads a JSON Lines history, one line at a time, holding at most one line of
/// `line_max` bytes besides the events. Every line is one event; blank lines are refused
/// (except at the very end) so that event `i` is always line `i + 1` and errors found
/// later by [`crate::check::check`] point at the right line. A line that is too long,
/// not UTF-8, starts with a byte-order mark or holds a JSON array is refused with what
/// it is and where.
pub fn read_history(mut reader: impl BufRead, line_max: usize) -> Result<Vec<Event>, HistoryError> {
    let mut events = Vec::new();
    let mut line = Vec::new();
    // Position of the first blank line, while only blank lines have followed it.
    let mut blank_from: Option<usize> = None;
    for position in 0.. {
        line.clear();
        if !read_line(&mut reader, &mut line, line_max, position)? {
            break;
        }
        let text = line_text(&line, position)?;
        if text.trim().is_empty() {
            blank_from = blank_from.or(Some(position));
            continue;
        }
        if let Some(blank) = blank_from {
            return Err(HistoryError::at(
                blank,
                "blank line: a history has exactly one event per line",
            ));
        }
        events.push(parse_line(position, text)?);
    }
    Ok(events)
}

/// Reads one line into `line` without its newline; `false` at the end of the input.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    line_max: usize,
    position: usize,
) -> Result<bool, HistoryError> {
    let mut any = false;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(HistoryError::at(position, format!("cannot read this line: {e}")))
            }
        };
        if buffer.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, end) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (buffer.len(), false),
        };
        if line.len() + take > line_max {
            let so_far = line.len() + take;
            return Err(HistoryError::at(
                position,
                format!(
                    "line longer than {line_max} bytes (read {so_far} bytes of it{}): a history has one event per line, and no event is this long",
                    if end { "" } else { " with no end yet" }
                ),
            ));
        }
        line.extend_from_slice(&buffer[..take]);
        reader.consume(take + usize::from(end));
        if end {
            return Ok(true);
        }
    }
}

/// The line as text: refused if it is not UTF-8 or starts the file with a byte-order mark.
fn line_text(line: &[u8], position: usize) -> Result<&str, HistoryError> {
    let text = std::str::from_utf8(line).map_err(|e| {
        let at = e.valid_up_to();
        HistoryError::at(
            position,
            format!("not UTF-8: the byte at offset {at} of the line is 0x{:02x}; a history is UTF-8 text", line[at]),
        )
    })?;
    if position == 0 && text.starts_with('\u{feff}') {
        return Err(HistoryError::at(
            position,
            "starts with a UTF-8 byte-order mark (EF BB BF), which JSON Lines does not allow: save the file without it",
        ));
    }
    Ok(text)
}

/// One non-blank line as an event (blank lines are [`read_history`]'s to judge).
fn parse_line(position: usize, line: &str) -> Result<Event, HistoryError> {
    if line.trim_start().starts_with('[') {
        return Err(HistoryError::at(
            position,
            "a JSON array, not an event: a history has one JSON object per line (JSON Lines), not one array of them",
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

    #[test]
    fn hostile_lines_are_refused_with_what_and_where() {
        let good = "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"ops\":[]}";
        check_err(&format!("\u{feff}{good}\n"), 1, "byte-order mark");
        check_err(&format!("{good}\n[{good}]\n"), 2, "a JSON array, not an event");
        let nested = format!("{}{}", "{\"a\":".repeat(10_000), "1");
        check_err(&format!("{good}\n{nested}\n"), 2, "not a history event");
        let latin1 = [good.as_bytes(), b"\n{\"key\":\"\xff\"}\n"].concat();
        let err = read_history(&latin1[..], 100).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("not UTF-8") && err.message.contains("0xff"), "{err}");
    }

    #[test]
    fn an_endless_line_is_refused_once_it_passes_the_limit() {
        // Proves endless input (`/dev/zero`) ends with an error naming the line and how
        // much of it was read, rather than growing without bound.
        let good = "{\"index\":0,\"time\":1,\"process\":0,\"type\":\"invoke\",\"ops\":[]}\n";
        let endless = std::io::Read::chain(good.as_bytes(), std::io::repeat(b'x'));
        let err = read_history(std::io::BufReader::with_capacity(64, endless), 1000).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("line longer than 1000 bytes (read 1"), "{err}");
        assert!(err.message.contains("no end yet"), "{err}");
        let exact = format!("{}\n", "x".repeat(1000));
        let err = read_history(exact.as_bytes(), 1000).unwrap_err();
        assert!(err.message.contains("not a history event"), "a line at the limit is read: {err}");
    }
}
