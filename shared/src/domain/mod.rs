//! Domain types shared by the client, the store and the engine.

pub mod clock;
mod lead_id;
mod mirror_set;
mod object_name;
mod policy;
mod record;
mod rules;
mod sweep;
mod timestamp;

pub use lead_id::LeadId;
pub use mirror_set::{MirrorRole, MirrorSet, Mirrored};
pub use object_name::ObjectName;
pub use policy::{ConflictPolicy, SYSTEM_FIELDS};
pub use record::{RecordError, RemoteRecord, content_hash};
pub use rules::ConflictRules;
pub use sweep::unseen_by;
pub use timestamp::{Timestamp, TimestampError};
