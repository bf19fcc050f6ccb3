//! What the benchmark binaries share: CPU accounting from `/proc`.

pub mod cpu;
