//! How bugs are found: one run judged (`outcome`), ranges of seeds swept in parallel
//! (`sweep`), failing runs shrunk (`shrink`), and the files that keep what was found
//! (`seeds/` lines in `seeds`, shrunk runs in `replay_file`).

pub mod flags;
pub mod outcome;
pub mod replay_file;
pub mod seeds;
pub mod shrink;
pub mod sweep;
