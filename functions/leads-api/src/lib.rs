//! The leads API Lambda: Spartan CRM reads and edits leads in our table; the next sync
//! (or sooner) pushes the edits to Twenty. Routing and HTTP shapes live here; the
//! edits themselves in `spartan_sync::store`.

mod body;
mod feed;
mod handler;
mod objects;
mod resolve;
mod route;
mod sync;

pub use handler::{LeadsApi, OPENAPI, handle};
pub use route::{ROUTES, Route};
