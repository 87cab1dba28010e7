//! C ABI over `trek-lib`.
//!
//! Placeholder until the C ABI issue: the crate exists so the workspace layout is final, and it
//! exports nothing yet.
