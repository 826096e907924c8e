//! What a person sees: a history as one line per transaction (`render`), the run report
//! with its sequence diagrams (`report`), the same as one HTML page with a Lamport diagram
//! and each key's versions (`html`), both drawn from one `scene` (the run's messages and
//! marks labelled, its transactions named, its sentences worded), and a history in
//! Jepsen/Elle's format (`elle`).

pub mod elle;
pub mod html;
pub mod render;
pub mod report;
pub mod scene;
