//! Who is at the other end of a request: the connection's peer or, when the peer is a reverse
//! proxy named in `[http] trusted_proxies`, the client that proxy names in `X-Forwarded-For`,
//! and whether that client spoke HTTPS to it (`X-Forwarded-Proto`), so the session cookie is
//! then marked Secure. Headers from anyone else are ignored: a client could write them itself to
//! dodge the sign-in limit or to lock someone else's address out.

use crate::config::Network;
use crate::web::Service;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub addr: IpAddr,
    /// The client reached a trusted proxy over HTTPS.
    pub https: bool,
}

impl FromRequestParts<Service> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &Service) -> Result<Client, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.ip());
        Ok(client(peer, &parts.headers, &s.trusted_proxies))
    }
}

/// The client behind `peer`: walking `X-Forwarded-For` from the right (each proxy appends the
/// address it was called from), the first hop that is not a trusted proxy. Stops at a hop that
/// is not an address, taking the last trusted one.
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> Client {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Client { addr: peer, https: false };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut addr = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip())) else {
            break;
        };
        addr = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    // The proxy nearest to clerk says how it was reached: the last value.
    let proto = headers.get_all("x-forwarded-proto").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last();
    Client { addr, https: proto.is_some_and(|p| p.trim().eq_ignore_ascii_case("https")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let trusted: Vec<Network> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "198.51.100.7, 203.0.113.5, 10.0.0.3"), ("x-forwarded-proto", "https")]);
        // From the proxy: the first untrusted hop from the right (198.51.100.7 is what the
        // client itself wrote, so not believed).
        assert_eq!(client(ip("10.0.0.2"), &forwarded, &trusted), Client { addr: ip("203.0.113.5"), https: true });
        // From anyone else the headers count for nothing.
        assert_eq!(client(ip("203.0.113.9"), &forwarded, &trusted), Client { addr: ip("203.0.113.9"), https: false });
        assert_eq!(client(ip("10.0.0.2"), &forwarded, &[]).addr, ip("10.0.0.2"));
        // No header: the proxy itself; a hop that is not an address ends the walk.
        assert_eq!(client(ip("10.0.0.2"), &HeaderMap::new(), &trusted).addr, ip("10.0.0.2"));
        let junk = headers(&[("x-forwarded-for", "203.0.113.5, unknown, 10.0.0.4")]);
        assert_eq!(client(ip("10.0.0.2"), &junk, &trusted).addr, ip("10.0.0.4"));
        // Several header lines are one list; a port after the address is allowed.
        let split = headers(&[("x-forwarded-for", "192.0.2.1"), ("x-forwarded-for", "203.0.113.5:4711")]);
        assert_eq!(client(ip("10.0.0.2"), &split, &trusted).addr, ip("203.0.113.5"));
    }
}
