//! How to reach the broker, and what to say when it cannot be reached.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{ConnectionError, MqttOptions, Transport};

/// How to reach the broker.
#[derive(Clone, Debug)]
pub struct MqttConfig {
    /// `mqtt://[user:password@]host:1883` or `mqtts://…:8883`.
    pub url: String,
    /// zigbee2mqtt's base topic.
    pub base_topic: String,
    /// The client id of the persistent session: one per database, the same
    /// for every server process on it (they take turns with it).
    pub client_id: String,
    /// A PEM file of the CA that signed the broker's certificate (mqtts);
    /// the system's roots otherwise.
    pub ca: Option<std::path::PathBuf>,
}

impl MqttConfig {
    /// The topic filters to subscribe to: a community's sensors under
    /// `<base>/<community>/<sensor>`, a one-community server's under
    /// `<base>/<sensor>`.
    pub fn filters(&self) -> [String; 2] {
        [format!("{}/+", self.base_topic), format!("{}/+/+", self.base_topic)]
    }
}

/// The broker's options from the config.
pub fn options(config: &MqttConfig) -> Result<MqttOptions, String> {
    let sep = if config.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}client_id={}", config.url, config.client_id);
    let mut opts = MqttOptions::parse_url(url)
        .map_err(|e| format!("--mqtt {}: {e}; e.g. mqtt://user:password@127.0.0.1:1883", config.url))?;
    opts.set_clean_session(false).set_manual_acks(true).set_keep_alive(Duration::from_secs(30));
    // A zigbee2mqtt message is a few hundred bytes; a packet past this
    // breaks the connection (see `run`), and never costs more memory.
    opts.set_max_packet_size(MAX_PACKET, 64 << 10);
    if is_tls(config) {
        let mut roots = rustls::RootCertStore::empty();
        match &config.ca {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                    roots.add(cert).map_err(|e| format!("--mqtt-ca {}: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        opts.set_transport(Transport::tls_with_config(tls.into()));
    }
    Ok(opts)
}

/// The largest packet read from the broker.
pub const MAX_PACKET: usize = 16 << 20;
/// Oversized packets in a row after which the session is reset.
pub const POISON_AFTER: u32 = 3;

fn is_tls(config: &MqttConfig) -> bool {
    config.url.starts_with("mqtts://") || config.url.starts_with("ssl://")
}

/// A connection error as the Sensors page and the log say it: what failed
/// and which option to check.
pub(super) fn explain(e: &ConnectionError, config: &MqttConfig) -> String {
    let tls_failed = |e: &dyn std::fmt::Display| {
        format!("TLS with the broker failed ({e}): check --mqtt-ca (the PEM of the CA that signed the broker's certificate) and the host in --mqtt")
    };
    match e {
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?}): check the user and password in --mqtt (mqtt://user:password@host:port)")
        }
        ConnectionError::Tls(e) => tls_failed(e),
        // rustls reports a refused certificate as an I/O error.
        ConnectionError::Io(e) if is_tls(config) && e.kind() == std::io::ErrorKind::InvalidData => tls_failed(e),
        ConnectionError::Io(e) => {
            format!("cannot reach the broker ({e}): check the host and port in --mqtt and that the broker is running")
        }
        e => e.to_string(),
    }
}
