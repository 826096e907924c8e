//! Integration tests of the `sim` crate, one module per topic.

mod check;
