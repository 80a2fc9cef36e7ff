//! Server functions, one file per area: thin wrappers of auth check → service call.

pub mod system;
