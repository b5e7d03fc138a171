//! The TLS setup every HTTP client of the project shares.

use std::sync::OnceLock;

use rustls::ClientConfig;

/// Installs rustls' ring provider as the process default, once. HTTP clients are built with
/// `reqwest`'s `rustls-no-provider` feature (no aws-lc C build), which needs this first.
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another library may have installed one already; any provider will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// rustls' client configuration with the platform's verifier (the system's trusted
/// certificates), built once for the process and cloned for each HTTP client. Building it
/// reads and parses every certificate the system trusts, milliseconds that each client
/// spent again: each fake's webhook client, a server's PG and relay clients, a harness's.
pub fn client_config() -> ClientConfig {
    use rustls_platform_verifier::ConfigVerifierExt as _;
    static CONFIG: OnceLock<ClientConfig> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            install_provider();
            ClientConfig::with_platform_verifier()
                .expect("a TLS provider is installed, so the verifier builds")
        })
        .clone()
}
