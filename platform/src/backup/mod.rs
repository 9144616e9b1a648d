//! World backups, the node's half: [`archive`] makes a consistent archive
//! of a server's data directory while it runs and restores one; the store
//! that keeps archives is [`gsp_control::backup`].

pub mod archive;

pub use gsp_control::backup::BackupError;
