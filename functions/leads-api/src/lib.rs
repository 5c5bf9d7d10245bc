//! The leads API Lambda: Spartan CRM reads and edits leads in our table; the next sync
//! (or sooner) pushes the edits to Twenty. Routing and HTTP shapes live here; the
//! edits themselves in `spartan_sync::store`.

mod body;
mod handler;
mod route;

pub use handler::{LeadsApi, handle};
pub use route::Route;
