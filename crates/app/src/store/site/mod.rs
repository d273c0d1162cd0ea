//! Queries of the public site and the operators' console: policy versions
//! and acknowledgements, tracked links, privacy inquiries, support tickets,
//! announcements and the therapist directory.

mod announcements;
mod directory;
mod inquiries;
mod policies;
mod tickets;
mod tracked_links;

pub use announcements::AnnouncementRow;
pub use directory::DirectoryRow;
pub use inquiries::InquiryRow;
pub use policies::{Acknowledgement, PolicyVersion};
pub use tickets::{TicketMessage, TicketRow};
pub use tracked_links::TrackedLink;
