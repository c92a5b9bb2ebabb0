//! The network edge: the accept loop, TLS, and every limit a client meets
//! before a handler runs.
//!
//! - at most [`Limits::per_client_connections`] connections from one
//!   address (a trusted proxy's are not counted per address), checked
//!   before a slot of the global cap is taken, so one client cannot hold
//!   every slot;
//! - at most [`Limits::max_connections`] connections at once; past that the
//!   server stops accepting (the kernel's backlog waits) rather than run
//!   out of file descriptors;
//! - a TLS handshake must finish within [`Limits::handshake`];
//! - a new connection's first request headers must arrive within
//!   [`Limits::first_headers`], later ones within [`Limits::headers`],
//!   which is also how long an idle keep-alive connection may wait;
//! - at most [`Limits::per_client_requests`] requests in flight per client
//!   address (through trusted proxies); more are answered 503 at once;
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
    /// The first request's headers on a new connection.
    pub first_headers: Duration,
    pub headers: Duration,
    pub request: Duration,
    pub per_client_connections: usize,
    pub per_client_requests: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        // 768 leaves room under systemd's default 1,024 descriptors for the
        // database, the log and the webhook's sockets. A browser opens 6
        // connections, a kiosk 1; an office or a carrier's NAT puts many
        // behind one address, hence 48.
        Limits {
            max_connections: 768,
            handshake: Duration::from_secs(10),
            first_headers: Duration::from_secs(5),
            headers: Duration::from_secs(10),
            request: Duration::from_secs(30),
            per_client_connections: 48,
            per_client_requests: 24,
        }
    }
}

/// Counts what each client address holds (connections, or requests in
/// flight) against a cap; a taken place is given back when its guard drops.
#[derive(Default)]
pub struct PerClient {
    held: std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>,
}

/// One place taken in a [`PerClient`].
pub struct Place {
    counts: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    /// Takes a place for `ip`, or `None` when it already holds `cap`.
    pub fn take(counts: &Arc<PerClient>, ip: IpAddr, cap: usize) -> Option<Place> {
        let mut held = counts.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Place { counts: counts.clone(), ip })
    }

    /// Places `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut held = self.counts.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.ip);
            }
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

/// Serves `app` on `listener` until the task is dropped; `trusted` are the
/// proxies whose clients are counted by `X-Forwarded-For`.
pub async fn serve(
    listener: std::net::TcpListener,
    app: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    trusted: Vec<Cidr>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (connections, requests) = (Arc::new(PerClient::default()), Arc::new(PerClient::default()));
    let trusted = Arc::new(trusted);
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
        // One address past its share is closed at once and gives its slot
        // back: it never holds the places everyone else needs.
        let place = if trusted.iter().any(|c| c.contains(peer.ip())) {
            None
        } else {
            match PerClient::take(&connections, peer.ip(), limits.per_client_connections) {
                Some(p) => Some(p),
                None => {
                    tracing::debug!(%peer, "too many connections from one address; closed");
                    continue;
                }
            }
        };
        let (app, acceptor, limits, requests, trusted) =
            (app.clone(), acceptor.clone(), limits.clone(), requests.clone(), trusted.clone());
        tokio::spawn(async move {
            let _held = (permit, place);
            let _ = stream.set_nodelay(true);
            let edge = Edge { app, limits, requests, trusted };
            match acceptor {
                None => connection(TokioIo::new(stream), peer, edge).await,
                Some(acceptor) => match tokio::time::timeout(edge.limits.handshake, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => connection(TokioIo::new(tls), peer, edge).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
        });
    }
}

/// What one connection needs of the server.
struct Edge {
    app: axum::Router,
    limits: Limits,
    requests: Arc<PerClient>,
    trusted: Arc<Vec<Cidr>>,
}

/// One HTTP/1.1 connection with its timers; the router sees the peer as
/// `ConnectInfo`.
async fn connection<I>(io: TokioIo<I>, peer: SocketAddr, edge: Edge)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Edge { app, limits, requests, trusted } = edge;
    let started = Arc::new(tokio::sync::Notify::new());
    let first = started.clone();
    let cap = limits.per_client_requests;
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        first.notify_one();
        req.extensions_mut().insert(ConnectInfo(peer));
        let (app, requests, client) = (app.clone(), requests.clone(), client_ip(peer.ip(), req.headers(), &trusted));
        async move {
            let Some(_place) = PerClient::take(&requests, client, cap) else {
                tracing::debug!(%client, "too many requests in flight from one client");
                return Ok::<_, Infallible>(busy());
            };
            Ok(app.oneshot(req).await.unwrap_or_else(|e| match e {}))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.headers)
        .keep_alive(true)
        .serve_connection(io, TowerToHyperService::new(service));
    tokio::pin!(conn);
    // A new connection must say something soon: until its first request
    // arrives it holds a slot for nothing.
    tokio::select! {
        r = &mut conn => return finished(peer, r),
        first = tokio::time::timeout(limits.first_headers, started.notified()) => {
            if first.is_err() {
                tracing::debug!(%peer, "no request within the first-request timeout");
                return;
            }
        }
    }
    finished(peer, conn.await);
}

fn finished(peer: SocketAddr, r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        tracing::debug!(%peer, error = %e, "connection ended");
    }
}

/// The answer to a client with too many requests in flight.
fn busy() -> axum::response::Response {
    use axum::response::IntoResponse;
    let headers = [(axum::http::header::RETRY_AFTER, "5")];
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        headers,
        "too many requests at once from your address; try again in a few seconds",
    )
        .into_response()
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
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "1.2.3.4 is what the client claimed"
        );
        // Not from a trusted proxy: the header is the client's own words.
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
