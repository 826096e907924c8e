//! Bounded quotes of input in error messages.
//!
//! An error shows the input it is about, so a person can see what was wrong, but never
//! more than [`ECHO_MAX_BYTES`] of any one piece of it: a megabyte-long line must not come
//! back as a megabyte-long error (on `occ-node`'s stderr, in a reply, in `sim check`'s
//! message). A clipped piece ends in `… (N more bytes)`.

use std::borrow::Cow;

/// The most bytes of one piece of input an error message quotes.
pub const ECHO_MAX_BYTES: usize = 200;

/// The most bytes of a whole message that quotes input: a backstop for input that escapes
/// the quote marks (serde does not escape a backtick inside `` `...` ``).
pub const MESSAGE_MAX_BYTES: usize = 1_000;

/// `text` if it is at most [`ECHO_MAX_BYTES`] long, else its start and a marker.
pub fn clip(text: &str) -> Cow<'_, str> {
    clip_to(text, ECHO_MAX_BYTES)
}

fn clip_to(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max || is_clipped(text, max) {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} more bytes)", &text[..end], text.len() - end))
}

/// `message` with every quoted piece (`"..."`, with backslash escapes, or `` `...` ``)
/// longer than [`ECHO_MAX_BYTES`] clipped, the closing quote kept so the rest still reads;
/// then the whole clipped to [`MESSAGE_MAX_BYTES`]. For messages that quote input without
/// bounding it themselves: serde's, the checker's `{:?}` of keys and values.
pub fn clip_quoted(message: &str) -> Cow<'_, str> {
    let bytes = message.as_bytes();
    if message.len() <= ECHO_MAX_BYTES {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len().min(MESSAGE_MAX_BYTES * 2));
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if quote != b'"' && quote != b'`' {
            i += 1;
            continue;
        }
        // Find the closing quote; quote marks and backslashes are ASCII, so they never
        // occur inside a multi-byte character and every index found is a char boundary.
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end] != quote {
            end += if quote == b'"' && bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        let inner = &message[start..end];
        if inner.len() > ECHO_MAX_BYTES && !is_clipped(inner, ECHO_MAX_BYTES) {
            out.push_str(&message[copied..start]);
            out.push_str(&clip(inner));
            copied = end;
        }
        i = end + 1;
    }
    if copied == 0 && message.len() <= MESSAGE_MAX_BYTES {
        return Cow::Borrowed(message);
    }
    out.push_str(&message[copied..]);
    Cow::Owned(clip_to(&out, MESSAGE_MAX_BYTES).into_owned())
}

/// Text already cut to `max` (so clipping twice changes nothing): at most `max` bytes,
/// then `… (N more bytes)`, itself at most 37 bytes.
fn is_clipped(text: &str, max: usize) -> bool {
    text.len() <= max + 37 && text.ends_with(" more bytes)") && text.contains("… (")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        assert_eq!(clip_quoted(input), expect, "{input:?}");
    }

    #[test]
    fn long_quoted_pieces_are_clipped_and_the_message_reads_on() {
        let long = "x".repeat(250);
        let kept = "x".repeat(200);
        check("short `a` \"b\"", "short `a` \"b\"");
        check(
            &format!("invalid type: string \"{long}\", expected u64 at line 1 column 9"),
            &format!(
                "invalid type: string \"{kept}… (50 more bytes)\", expected u64 at line 1 column 9"
            ),
        );
        check(
            &format!("unknown variant `{long}`, expected `a` or `{long}`"),
            &format!("unknown variant `{kept}… (50 more bytes)`, expected `a` or `{kept}… (50 more bytes)`"),
        );
        // Escaped quotes stay inside their string; an unclosed quote runs to the end.
        let escaped = format!("\\\"{}", "y".repeat(300));
        let message = format!("key \"{escaped}\" and \"z\"");
        let clipped = clip_quoted(&message);
        assert!(clipped.ends_with("(102 more bytes)\" and \"z\""), "{clipped}");
        check(&format!("open \"{long}"), &format!("open \"{kept}… (50 more bytes)"));
        // Clipping twice (the checker's message, then the command line's) changes nothing.
        let huge = format!("value \"{}\" and more", "h".repeat(1_000_000));
        let once = clip_quoted(&huge).into_owned();
        assert_eq!(clip_quoted(&once), once);
    }

    #[test]
    fn clipping_respects_characters_and_bounds_the_whole_message() {
        let wide = "é".repeat(150); // 300 bytes
        let clipped = clip(&wide);
        assert!(clipped.starts_with(&"é".repeat(100)) && clipped.ends_with("(100 more bytes)"));
        // A backtick inside a backtick quote escapes the per-piece bound, not the whole one.
        let sneaky = format!("unknown variant `a`{}`", "b".repeat(5_000));
        let clipped = clip_quoted(&sneaky);
        assert!(clipped.len() < MESSAGE_MAX_BYTES + 40, "{} bytes", clipped.len());
        assert!(clipped.ends_with("more bytes)"), "{clipped}");
        assert_eq!(clip_quoted(&clipped), clipped, "clipping twice changes nothing");
    }
}
