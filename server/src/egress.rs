//! Where the relay may connect: not to the server's own network.
//!
//! A client chooses its `webhook_url`, so without a guard the relay would POST wherever a
//! client points it: the loopback services of the server's host, the private network behind
//! it, a cloud's metadata service. Every address the relay dials is checked here, *as it is
//! dialled*: host names go through [`GuardedResolver`], the only resolver of the relay's HTTP
//! client, which drops refused addresses from the answer; the connection is made to the
//! addresses it answers, so a name that resolves to a public address once and to a private
//! one the next time (DNS rebinding) is checked each time. Literal addresses in the URL are
//! checked by [`Egress::check_url`] before the request, since they are never resolved. The
//! relay's client follows no redirect and uses no proxy, so neither can take a delivery
//! elsewhere.
//!
//! Refused by default: everything that is not a public unicast address (loopback,
//! private, shared and link-local ranges with the metadata address `169.254.169.254`,
//! unspecified, multicast, broadcast, documentation and reserved ranges, IPv6 unique-local
//! and link-local, and IPv4 addresses mapped or translated into IPv6), and the cloud
//! metadata addresses that are public (`168.63.129.16`). `relay.allow_private` lists the
//! networks to allow all the same, for sandboxes and tests.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Networks the relay never reaches unless allowed. Ordered as the RFCs list them.
const REFUSED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    // Azure's metadata and DNS address: public, but the host's own.
    "168.63.129.16/32",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// Why the relay does not connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the webhook URL is not a valid http(s) URL")]
    BadUrl,
    #[error("the webhook address {0} is not public; the relay does not deliver there")]
    Private(IpAddr),
    #[error("the webhook host resolves to no public address; the relay does not deliver there")]
    NoPublicAddress,
}

/// The relay's rule on addresses.
#[derive(Debug, Clone)]
pub struct Egress {
    refused: Vec<IpNet>,
    allowed: Vec<IpNet>,
}

impl Egress {
    /// Refuses the non-public networks except those in `allowed`.
    pub fn new(allowed: &[IpNet]) -> Self {
        Self {
            refused: REFUSED
                .iter()
                .map(|net| net.parse().expect("the refused networks are valid"))
                .collect(),
            allowed: allowed.to_vec(),
        }
    }

    /// Whether the relay may connect to `address`.
    pub fn permits(&self, address: IpAddr) -> bool {
        // `::ffff:127.0.0.1` is 127.0.0.1.
        let address = address.to_canonical();
        if self.allowed.iter().any(|net| net.contains(&address)) {
            return true;
        }
        !self.refused.iter().any(|net| net.contains(&address))
    }

    /// Checks a URL before a delivery: its scheme, and its host when it is a literal address
    /// (a name is checked when it is resolved, at connect time).
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, Refused> {
        let url = reqwest::Url::parse(url).map_err(|_| Refused::BadUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::BadUrl);
        }
        // The URL parser writes every literal address in its usual form (`2130706433` is
        // `127.0.0.1`); IPv6 ones in brackets. A trailing dot is dropped, as resolvers do.
        let host = url.host_str().ok_or(Refused::BadUrl)?;
        let address = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .parse::<IpAddr>()
            .ok();
        match address {
            Some(address) if !self.permits(address) => Err(Refused::Private(address)),
            _ => Ok(url),
        }
    }
}

/// The system resolver, answering only the addresses [`Egress`] permits.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    egress: Arc<Egress>,
}

impl GuardedResolver {
    pub fn new(egress: Arc<Egress>) -> Self {
        Self { egress }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = self.egress.clone();
        Box::pin(async move {
            // Port 0: the connector puts the URL's port in.
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> = found.filter(|a| egress.permits(a.ip())).collect();
            if permitted.is_empty() {
                return Err(Box::new(Refused::NoPublicAddress) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_refused_unless_allowed() {
        let strict = Egress::new(&[]);
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "::ffff:127.0.0.1",
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "168.63.129.16",
            "0.0.0.0",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "224.0.0.1",
            "255.255.255.255",
            "64:ff9b::7f00:1",
        ] {
            assert!(!strict.permits(refused.parse().unwrap()), "{refused}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(strict.permits(public.parse().unwrap()), "{public}");
        }
        let sandbox = Egress::new(&["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        assert!(sandbox.permits("127.0.0.1".parse().unwrap()));
        assert!(sandbox.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(sandbox.permits("::1".parse().unwrap()));
        assert!(!sandbox.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn literal_hosts_are_checked_before_sending() {
        let strict = Egress::new(&[]);
        for url in [
            "http://127.0.0.1:8080/x",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            assert!(
                matches!(strict.check_url(url), Err(Refused::Private(_))),
                "{url}"
            );
        }
        assert_eq!(strict.check_url("ftp://example.com/"), Err(Refused::BadUrl));
        assert!(strict.check_url("https://example.com/hook").is_ok());
    }
}
