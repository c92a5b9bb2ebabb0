//! TLS to PostgreSQL (issue 30), on rustls as the rest of the server, in
//! libpq's words: `sslmode=require` encrypts (and checks the certificate
//! only if `sslrootcert` names a CA), `sslmode=verify-full` checks the
//! certificate against `sslrootcert` (or the public roots) and the host
//! name. Without an sslmode, or with `disable` or `prefer`, the connection
//! is plain as before: a district's Unix socket needs no TLS.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL asked for.
#[derive(Debug, PartialEq)]
pub enum Mode {
    /// Plain, or whatever tokio-postgres makes of `disable`/`prefer`.
    Plain,
    /// Encrypted; the certificate checked only against `sslrootcert`.
    Require,
    /// Encrypted; the certificate and the host name checked.
    VerifyFull,
}

/// The URL without the TLS settings tokio-postgres does not read, the
/// mode, and the CA file, if any.
pub fn split(url: &str) -> Result<(String, Mode, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), Mode::Plain, None)) };
    let (mut kept, mut mode, mut ca) = (Vec::new(), Mode::Plain, None);
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        match (key, value.as_str()) {
            ("sslmode", "require") => mode = Mode::Require,
            ("sslmode", "verify-full") => mode = Mode::VerifyFull,
            ("sslmode", "verify-ca") => {
                return Err(
                    "sslmode=verify-ca is not supported: use sslmode=verify-full (it checks the host name too) \
                     with sslrootcert=/path/to/ca.pem"
                        .into(),
                )
            }
            ("sslrootcert", _) => ca = Some(value),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, mode, ca))
}

/// The connector for `mode`; `None` for a plain connection.
pub fn connector(mode: &Mode, ca: Option<&str>) -> Result<Option<MakeRustlsConnect>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match (mode, ca) {
        (Mode::Plain, _) => return Ok(None),
        (Mode::Require, None) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        (_, ca) => builder.with_root_certificates(roots(ca)?).with_no_client_auth(),
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// The CA of `sslrootcert`, or the public roots.
fn roots(ca: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    let Some(path) = ca else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let pem = std::fs::read(path).map_err(|e| format!("sslrootcert={path}: {e}"))?;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("sslrootcert={path}: {e}"))?;
        roots.add(cert).map_err(|e| format!("sslrootcert={path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert={path} holds no PEM certificate"));
    }
    Ok(roots)
}

/// `sslmode=require` without a CA, as libpq: encrypted against listeners,
/// not against a host that pretends to be the database. The handshake's
/// signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_settings_are_read_and_the_rest_passed_on() {
        let (url, mode, ca) =
            split("postgresql://s@db:5432/shoumen?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
                .unwrap();
        assert_eq!(
            (url.as_str(), mode, ca.as_deref()),
            ("postgresql://s@db:5432/shoumen?application_name=x", Mode::VerifyFull, Some("/etc/ca.pem"))
        );
        assert_eq!(split("postgresql://s@db/shoumen?sslmode=require").unwrap().1, Mode::Require);
        assert_eq!(
            split("postgresql://s@db/shoumen").unwrap(),
            ("postgresql://s@db/shoumen".into(), Mode::Plain, None)
        );
        // disable and prefer are tokio-postgres's own.
        assert_eq!(split("postgresql://s@db/x?sslmode=disable").unwrap().0, "postgresql://s@db/x?sslmode=disable");
        assert!(split("postgresql://s@db/x?sslmode=verify-ca").unwrap_err().contains("verify-full"));
        let missing = connector(&Mode::VerifyFull, Some("/nonexistent/ca.pem")).err().unwrap();
        assert!(missing.contains("sslrootcert=/nonexistent/ca.pem"), "{missing}");
    }
}
