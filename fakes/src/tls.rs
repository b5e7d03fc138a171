//! The TLS setup shared by every HTTP client of the project.

/// Installs rustls' ring provider as the process default, once. HTTP clients are built with
/// `reqwest`'s `rustls-no-provider` feature (no aws-lc C build), which needs this first.
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another library may have installed one already; any provider will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
