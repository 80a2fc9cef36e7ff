//! Where a webhook may go (server-side request forgery): http or https only, no user name or
//! password in the URL, and, unless the endpoint allows private addresses, only public
//! addresses: never loopback, private, link-local, unspecified, multicast, documentation,
//! benchmarking, shared (CGNAT) or reserved ranges, nor their IPv6 equivalents and IPv4
//! addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
//!
//! The check is made on the addresses the connection uses: the strict client resolves names
//! with [`PublicOnly`], which drops every non-public address, so a name that resolved to a
//! public address when the endpoint was saved and to `127.0.0.1` now (DNS rebinding) is
//! refused at connection time. Literal IP hosts never reach a resolver and are checked by
//! [`literal_refused`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination is refused (shown in the delivery log and as the field error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{host} resolves to {addr}, which is not a public address (allow private addresses on the endpoint to send there)"
)]
pub struct Refused {
    pub host: String,
    pub addr: IpAddr,
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network", 0.0.0.0 included
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local (cloud metadata services live here)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96).
    let embedded = |hi: &[u16]| {
        Ipv4Addr::new(
            (hi[0] >> 8) as u8,
            hi[0] as u8,
            (hi[1] >> 8) as u8,
            hi[1] as u8,
        )
    };
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(embedded(&s[6..]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(&s[6..]));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address in bits 16–47.
        return is_public_v4(embedded(&s[1..3]));
    }
    !((s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only 100::/64
}

/// The URL if it is one a webhook may take (syntax only): `http`/`https`, a host, no user
/// name or password, at most 2,048 characters.
pub fn parse_url(raw: &str) -> Result<Url, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 2048 {
        return Err("网址须为 1–2048 个字符 / The URL must be 1 to 2048 characters");
    }
    let url = Url::parse(raw).map_err(|_| "不是有效的网址 / Not a valid URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("只支持 http 和 https / Only http and https URLs");
    }
    if url.host().is_none() {
        return Err("网址缺少主机名 / The URL has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("网址不能包含用户名或密码 / No user name or password in the URL");
    }
    Ok(url)
}

/// A literal IP host that is not public (hostnames are checked when they are resolved).
pub fn literal_refused(url: &Url) -> Option<Refused> {
    let addr = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    (!is_public(addr)).then(|| Refused {
        host: addr.to_string(),
        addr,
    })
}

/// The save-time check: a literal address or any address the host resolves to now that is
/// not public. A name that does not resolve now is accepted (its deliveries are checked
/// when they connect).
pub async fn check(url: &Url) -> Result<(), Refused> {
    if let Some(refused) = literal_refused(url) {
        return Err(refused);
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
        return Ok(());
    };
    for addr in addrs {
        if !is_public(addr.ip()) {
            return Err(Refused {
                host: host.to_owned(),
                addr: addr.ip(),
            });
        }
    }
    Ok(())
}

/// A resolver that answers only public addresses: a name with none is refused with
/// [`Refused`] (found again in the request error's sources).
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            match (public.is_empty(), found.first()) {
                (true, Some(first)) => Err(Box::new(Refused {
                    host,
                    addr: first.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}

/// The [`Refused`] somewhere in an error's chain of sources.
pub fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        let refused = [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
        ];
        for ip in refused {
            let addr: IpAddr = ip.parse().expect(ip);
            assert!(!is_public(addr), "{ip} must be refused");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in public {
            let addr: IpAddr = ip.parse().expect(ip);
            assert!(is_public(addr), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        for bad in [
            "",
            "not a url",
            "ftp://example.com/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com/x",
            "https://user@example.com/x",
            "http://",
            "https:// /x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad:?}");
        }
        assert!(parse_url(&format!("https://example.com/{}", "a".repeat(2040))).is_err());
        assert!(parse_url("https://example.com/hook?x=1").is_ok());
        assert!(parse_url(" http://203.0.114.1:8080/h ").is_ok());
    }

    #[test]
    fn literal_private_hosts_are_refused_names_wait_for_resolution() {
        let refused = |u: &str| literal_refused(&parse_url(u).expect(u));
        assert!(refused("http://127.0.0.1:9/x").is_some());
        assert!(refused("http://[::1]/x").is_some());
        assert!(refused("http://[::ffff:7f00:1]/x").is_some());
        assert!(refused("http://169.254.169.254/latest/meta-data").is_some());
        assert!(refused("http://8.8.8.8/x").is_none());
        assert!(refused("http://localhost/x").is_none());
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused() {
        let url = parse_url("http://localhost:9/x").expect("url");
        let err = check(&url).await.expect_err("localhost is loopback");
        assert_eq!(err.host, "localhost");
        assert!(err.to_string().contains("not a public address"));
    }
}
