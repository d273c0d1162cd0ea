//! Who is asking: passwords, second factors, sessions, throttling and CSRF.

pub mod csrf;
pub mod email_links;
pub mod enrolment;
mod hashing_pool;
pub mod operator;
pub mod password;
pub mod recovery;
pub mod second_factor;
pub mod session;
pub mod signin;
pub mod throttle;
pub mod tokens;
pub mod totp;
