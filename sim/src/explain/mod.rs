//! What a person sees: a history as one line per transaction (`render`), the run report
//! with its sequence diagrams (`report`), the same as one HTML page with a Lamport diagram
//! and each key's versions (`html`), and a history in Jepsen/Elle's format (`elle`).

pub mod elle;
pub mod html;
pub mod render;
pub mod report;
