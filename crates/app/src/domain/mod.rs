//! Values that have been checked once, at the edge, so the rest of the code can
//! trust them ("parse, don't validate").

mod email;
mod name;
mod password;
mod profile;
mod text;

pub use email::Email;
pub use name::DisplayName;
pub use password::NewPassword;
pub use profile::{ProfileDetails, TimeZoneName};
pub use text::{clean_text, Lines, TextProblem};
