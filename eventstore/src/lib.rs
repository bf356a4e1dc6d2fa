//! The event store: one `events` table on PostgreSQL or SQLite, atomic appends to one or
//! more streams with optimistic concurrency, and gap-safe reads by global position.
//!
//! Why not postgres-es/sqlite-es directly: we keep their table layout (aggregate_type,
//! aggregate_id, sequence, event_type, event_version, payload, metadata) and the cqrs-es
//! `Aggregate` contract, but a command here may append to several streams at once
//! (a user and its email reservation; an organization and its tenant's count) and
//! must do so in one transaction, and every event needs a gap-safe global position.
#![forbid(unsafe_code)]

mod cache;
mod conns;
mod db;
mod fuse;
mod store;
mod turns;

pub use db::{copy_text_escape, Db, Dialect, DEFAULT_SQLITE_URL};
pub use turns::StreamTurn;
pub mod testing;
pub use store::{
    decide, snapshot_interval, time_text, Changes, CommitTicket, Committed, Loaded, Metadata, Planned, Projector,
    SqlArg, StoreError, StoredEvent, Tx, WriteTx, SNAPSHOT_EVERY,
};
