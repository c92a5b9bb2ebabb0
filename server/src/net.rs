//! The network edge: the accept loop, TLS, and every limit a client meets
//! before a handler runs.
//!
//! - at most [`Limits::max_connections`] connections at once; past that the
//!   server stops accepting (the kernel's backlog waits) rather than run
//!   out of file descriptors;
//! - a TLS handshake must finish within [`Limits::handshake`];
//! - request headers must arrive within [`Limits::headers`], which is also
//!   how long an idle keep-alive connection may wait for its next request;
//! - a whole request, body included, gets [`Limits::request`];
//! - bodies are capped per route (see `router`), and kiosks are
//!   authenticated from their headers before a body byte is read.
//!
//! Architecture invariant: no client can hold a connection, a body buffer
//! or a handler longer than these limits.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long and how much a client may take.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub handshake: Duration,
    pub headers: Duration,
    pub request: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        // 768 leaves room under systemd's default 1,024 descriptors for the
        // database, the log and the webhook's sockets.
        Limits {
            max_connections: 768,
            handshake: Duration::from_secs(10),
            headers: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// A network range in CIDR form, e.g. `10.0.0.0/8` or `::1/128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("{s:?} is not an address range like 10.0.0.0/8 or 127.0.0.1");
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, p.parse::<u8>().map_err(|_| bad())?),
            None => {
                let a = s.parse::<IpAddr>().map_err(|_| bad())?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The address a request really comes from: the peer, or, when the peer is
/// a trusted proxy, the right-most address in `X-Forwarded-For` that is not
/// itself a trusted proxy. Anything a client can forge further left is ignored.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    if !trusted.iter().any(|c| c.contains(peer)) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !trusted.iter().any(|c| c.contains(*ip))).unwrap_or(peer)
}

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(
    listener: std::net::TcpListener,
    app: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's backlog.
        let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, or a connection reset before accept:
                // wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (app, acceptor, limits) = (app.clone(), acceptor.clone(), limits.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            match acceptor {
                None => connection(TokioIo::new(stream), peer, app, &limits).await,
                Some(acceptor) => match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => connection(TokioIo::new(tls), peer, app, &limits).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
}

/// One HTTP/1.1 connection with its timers; the router sees the peer as
/// `ConnectInfo`.
async fn connection<I>(io: TokioIo<I>, peer: SocketAddr, app: axum::Router, limits: &Limits)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {})) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.headers)
        .keep_alive(true)
        .serve_connection(io, TowerToHyperService::new(service));
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_the_addresses_they_say() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()) && !one.contains("127.0.0.2".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()), "IPv4-mapped IPv6");
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_right_most_untrusted_address() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.9".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(client_ip(proxy, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap(), "1.2.3.4 is what the client claimed");
        // Not from a trusted proxy: the header is the client's own words.
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
