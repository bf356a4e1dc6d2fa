//! Rate limits kept in memory (per process) with `governor` (GCRA): a burst of `limit`
//! requests per key, refilled evenly over `window`. Keys are the sign-in endpoints'
//! email (per project) and client address (per project), see `routes::auth::limit`,
//! and the client address (per project) of SSO starts (`sso::start`).
//! The client address is the peer's, or, behind a proxy listed in
//! `AUTHIO_TRUSTED_PROXIES`, the nearest address in `X-Forwarded-For` that is not one of
//! those proxies (`client_ip`).
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The answer to a request over its limit: `429 rate_limited`, `Retry-After` the whole
/// seconds (rounded up) until one more is allowed.
pub fn refused(wait: Duration) -> crate::error::ApiError {
    let mut e = crate::error::ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many sign-in requests; retry later",
    );
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    e.retry_after = Some(u32::try_from(secs).unwrap_or(u32::MAX));
    e
}

#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<DefaultKeyedRateLimiter<String>>,
}

impl RateLimiter {
    /// `limit` requests per `window` for each key (at least one).
    pub fn new(limit: u32, window: Duration) -> Self {
        let limit = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let period = (window / limit.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(limit)).allow_burst(limit);
        Self { inner: Arc::new(DefaultKeyedRateLimiter::keyed(quota)) }
    }

    /// Count a request for `key`: `Err(wait)` when the key is over its limit, with how
    /// long until one more is allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.inner.len() > 100_000 {
            self.inner.retain_recent();
            self.inner.shrink_to_fit();
        }
        self.inner
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// A network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or `x::/n`.
    pub fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.trim().parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u8) {
            match a {
                IpAddr::V4(v) => (u32::from(v) as u128, 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        };
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (_, ip) => ip,
        };
        let ((net, width), (addr, width2)) = (bits(self.addr), bits(ip));
        if width != width2 {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
        (net & mask) == (addr & mask)
    }
}

/// `AUTHIO_TRUSTED_PROXIES`: comma-separated addresses or networks.
pub fn parse_proxies(s: &str) -> Result<Vec<Net>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Net::parse(p).ok_or_else(|| format!("{p:?} is not an address or network")))
        .collect()
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the
/// rightmost `X-Forwarded-For` entry that is not a trusted proxy (entries further left
/// were written by the client and could be anything), or the leftmost when all are.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted: &[Net]) -> Option<IpAddr> {
    let peer = peer?;
    let trusted_ip = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !trusted_ip(peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> =
        forwarded_for.unwrap_or("").split(',').filter_map(|h| h.trim().parse::<IpAddr>().ok()).collect();
    hops.iter().rev().copied().find(|ip| !trusted_ip(*ip)).or(hops.first().copied()).or(Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_match_their_addresses() {
        let n = Net::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.1.2.3")) && !n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.9.9.9")), "a mapped IPv4 address");
        let v6 = Net::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        assert!(Net::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(Net::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "1.2.3.4/x", "::/129"] {
            assert!(Net::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let trusted = parse_proxies("127.0.0.1, 10.0.0.0/8").unwrap();
        let peer = Some(ip("127.0.0.1"));
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), Some("1.1.1.1"), &trusted),
            Some(ip("203.0.113.9")),
            "not a proxy: its header is ignored"
        );
        assert_eq!(client_ip(peer, Some("203.0.113.7"), &trusted), Some(ip("203.0.113.7")));
        assert_eq!(
            client_ip(peer, Some("6.6.6.6, 203.0.113.7, 10.1.1.1"), &trusted),
            Some(ip("203.0.113.7")),
            "a spoofed left entry is passed over"
        );
        assert_eq!(client_ip(peer, Some("10.2.2.2, 10.1.1.1"), &trusted), Some(ip("10.2.2.2")));
        assert_eq!(client_ip(peer, None, &trusted), peer);
        assert_eq!(client_ip(peer, Some("garbage"), &[]), peer, "no trusted proxies: the peer");
        assert!(parse_proxies("10.0.0.0/8, nope").is_err());
    }

    #[test]
    fn a_burst_then_a_wait() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| l.check("k").is_ok()));
        let wait = l.check("k").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(l.check("other").is_ok(), "keys are apart");
    }
}
