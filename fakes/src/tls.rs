//! The TLS setup shared by every HTTP client of the project; see [`payments_api::tls`].

pub use payments_api::tls::{client_config, install_provider};
