//! `seeds/`: every seed that ever failed, one per line, replayed by the test suite and
//! by `sim replay`.
//!
//! A line is `SEED FLAGS... # note`, exactly as a failing sweep prints it; blank lines and
//! lines starting with `#` are comments. The flags are the run flags of `sim run`.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::hunt::flags::{parse_seed, RunFlags};
use crate::world::RunConfig;

/// One recorded seed and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedLine {
    pub file: PathBuf,
    pub line: usize,
    pub config: RunConfig,
    pub note: String,
}

#[derive(Parser, Debug)]
#[command(no_binary_name = true)]
struct LineFlags {
    #[command(flatten)]
    flags: RunFlags,
}

/// Parses one line; `Ok(None)` for blanks and comments.
pub fn parse_line(text: &str) -> Result<Option<(RunConfig, String)>, String> {
    let (body, note) = match text.split_once('#') {
        Some((body, note)) => (body.trim(), note.trim().to_string()),
        None => (text.trim(), String::new()),
    };
    if body.is_empty() {
        return Ok(None);
    }
    let mut words = body.split_whitespace();
    let seed = parse_seed(words.next().expect("a non-empty line has a word"))?;
    let flags = LineFlags::try_parse_from(words).map_err(|e| {
        let rendered = e.render().to_string();
        rendered.lines().next().unwrap_or("bad flags").trim_start_matches("error: ").to_string()
    })?;
    flags.flags.check()?;
    Ok(Some((flags.flags.config(seed), note)))
}

/// Every seed line of a file, or of every `*.txt` file of a directory (sorted by name).
pub fn load(path: &Path) -> Result<Vec<SeedLine>, String> {
    let files = if path.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| format!("{}: cannot read the directory: {e}", path.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        for (number, text) in text.lines().enumerate() {
            let parsed =
                parse_line(text).map_err(|e| format!("{}:{}: {e}", file.display(), number + 1))?;
            if let Some((config, note)) = parsed {
                lines.push(SeedLine { file: file.clone(), line: number + 1, config, note });
            }
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hunt::flags::flags_of;

    #[test]
    fn a_line_round_trips_through_the_flags_a_sweep_prints() {
        let (config, note) = parse_line(
            "42 --workload bank --clients 2 --txns 9 --keys 3 --faults drop # lost update",
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.seed, 42);
        assert_eq!(note, "lost update");
        assert_eq!(
            flags_of(&config),
            "--workload bank --clients 2 --txns 9 --keys 3 --faults drop"
        );
        let (defaults, _) = parse_line("0x10").unwrap().unwrap();
        assert_eq!(defaults.seed, 16);
    }

    #[test]
    fn comments_and_blanks_are_skipped_and_bad_lines_say_why() {
        assert_eq!(parse_line("   "), Ok(None));
        assert_eq!(parse_line("# a comment"), Ok(None));
        assert!(parse_line("seven").unwrap_err().contains("`seven`"));
        assert!(parse_line("7 --workload nope").unwrap_err().contains("unknown workload"));
        assert!(parse_line("7 --frobnicate").unwrap_err().contains("--frobnicate"));
    }
}
