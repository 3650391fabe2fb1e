//! The `web-download` import's fetch: image bytes from an operator-allowed URL. Only hosts
//! on the allowlist are fetched, redirects included (each is checked again); a host
//! named by name must resolve to public addresses (never loopback, link-local — cloud
//! metadata services live there — unspecified or multicast ones), which the connection
//! then uses, so a name cannot be re-resolved elsewhere between the check and the
//! connection. An address listed literally is allowed as it is.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::TryStreamExt;
use imagehub_catalog::{ByteStream, Error, Result, WebSource};

/// Redirects a fetch follows, each checked against the allowlist.
const MAX_REDIRECTS: usize = 5;

/// Fetches image bytes over HTTP(S) from allowed hosts.
pub struct WebFetcher {
    allowed: Arc<Allowlist>,
    client: reqwest::Client,
}

/// The hosts an operator allows: `host` (any port) or `host:port`.
#[derive(Debug)]
struct Allowlist(Vec<(String, Option<u16>)>);

impl Allowlist {
    fn admits(&self, url: &reqwest::Url) -> bool {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return false };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        matches!(url.scheme(), "http" | "https")
            && self.0.iter().any(|(h, p)| h.eq_ignore_ascii_case(host) && p.is_none_or(|p| p == port))
    }
}

/// An address a name may resolve to: a globally routable one. Not loopback, link-local
/// (169.254/16: cloud metadata), private (10/8, 172.16/12, 192.168/16), shared (100.64/10,
/// another metadata home), 0/8, 192.0.0/24, benchmarking (198.18/15), reserved (240/4),
/// multicast or broadcast; in IPv6 not loopback, unspecified, multicast, link- or
/// site-local, unique-local (fc00::/7, where IPv6 metadata services sit), and an IPv4
/// address carried inside one (mapped, compatible, NAT64 64:ff9b::/96, 6to4 2002::/16)
/// is judged as that IPv4 address.
fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let carried = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(v4);
            }
            if s[..6] == [0, 0, 0, 0, 0, 0] {
                // ::a.b.c.d (IPv4-compatible), :: and ::1 among them.
                return public_v4(carried(s[6], s[7])) && !v6.is_loopback() && !v6.is_unspecified();
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return public_v4(carried(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return public_v4(carried(s[1], s[2]));
            }
            let link_or_site_local = (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xffc0) == 0xfec0;
            let unique_local = (s[0] & 0xfe00) == 0xfc00;
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || link_or_site_local || unique_local)
        }
    }
}

fn public_v4(v4: std::net::Ipv4Addr) -> bool {
    let o = v4.octets();
    let shared = o[0] == 100 && (o[1] & 0xc0) == 64;
    let ietf = o[0] == 192 && o[1] == 0 && o[2] == 0;
    let benchmarking = o[0] == 198 && (o[1] & 0xfe) == 18;
    let reserved = o[0] >= 240;
    !(v4.is_loopback()
        || v4.is_link_local()
        || v4.is_private()
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || o[0] == 0
        || shared
        || ietf
        || benchmarking
        || reserved)
}

/// Resolves names for the client, keeping only the addresses [`public`] admits.
struct CheckedResolver;

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| public(a.ip())).collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl WebFetcher {
    /// A fetcher for the hosts of `allowlist` (`host` or `host:port` entries).
    pub fn new(allowlist: &[String]) -> Result<Self> {
        let mut allowed = Vec::new();
        for entry in allowlist {
            let entry = entry.trim();
            let (host, port) = match entry.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') || h.ends_with(']') => (
                    h,
                    Some(
                        p.parse::<u16>()
                            .map_err(|_| Error::invalid(format!("web-download host {entry:?}: bad port")))?,
                    ),
                ),
                _ => (entry, None),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(Error::invalid(format!("web-download host {entry:?} is empty")));
            }
            allowed.push((host.to_owned(), port));
        }
        let allowed = Arc::new(Allowlist(allowed));
        let policy_list = allowed.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the first URL and every redirect so far.
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if policy_list.admits(attempt.url()) {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("a redirect to {to}, a host this server may not fetch from"))
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .dns_resolver(Arc::new(CheckedResolver))
            // A proxy would resolve the names itself, past the checked resolver.
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(10))
            // A host that stops sending fails the import instead of holding it.
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Internal(format!("no HTTP client for web-download: {e}")))?;
        Ok(Self { allowed, client })
    }
}

#[async_trait::async_trait]
impl WebSource for WebFetcher {
    fn check(&self, uri: &str) -> Result<()> {
        let url = reqwest::Url::parse(uri).map_err(|e| Error::invalid(format!("URI {uri:?} is not a URL: {e}")))?;
        // An address written in the URL is not resolved: only its listing admits it.
        if !self.allowed.admits(&url) {
            return Err(Error::invalid(format!("URI {uri} is not on a host this server may fetch images from")));
        }
        Ok(())
    }

    async fn open(&self, uri: &str) -> Result<ByteStream> {
        self.check(uri)?;
        let failed = |e: reqwest::Error| {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            Error::invalid(format!("cannot download {uri}: {text}"))
        };
        let resp = self.client.get(uri).send().await.map_err(failed)?;
        if !resp.status().is_success() {
            return Err(Error::invalid(format!("cannot download {uri}: the server answered {}", resp.status())));
        }
        Ok(Box::pin(resp.bytes_stream().map_err(std::io::Error::other)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_and_the_address_classes() {
        let f =
            WebFetcher::new(&["images.example.com".into(), "127.0.0.1:8080".into(), "mirror.example.org:8443".into()])
                .unwrap();
        assert!(f.check("https://images.example.com/a.qcow2").is_ok());
        assert!(f.check("http://127.0.0.1:8080/a.raw").is_ok(), "a listed address, loopback or not");
        assert!(f.check("http://127.0.0.1:8081/a.raw").is_err(), "another port");
        assert!(f.check("https://mirror.example.org:8443/x").is_ok());
        assert!(f.check("https://mirror.example.org/x").is_err(), "the listed port only");
        assert!(f.check("http://169.254.169.254/latest/meta-data").is_err(), "metadata service");
        assert!(f.check("ftp://images.example.com/a").is_err());
        assert!(f.check("not a url").is_err());
        for ip in [
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "100.100.100.200",
            "192.0.0.192",
            "198.18.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fec0::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "ff02::1",
        ] {
            assert!(!public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::", "64:ff9b::5db8:d822", "::ffff:93.184.216.34"] {
            assert!(public(ip.parse().unwrap()), "{ip}");
        }
    }
}
