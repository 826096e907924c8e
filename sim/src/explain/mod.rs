//! What a person sees: a history as one line per transaction (`render`), the run report
//! with its sequence diagrams (`report`), and a history in Jepsen/Elle's format (`elle`).

pub mod elle;
pub mod render;
pub mod report;
