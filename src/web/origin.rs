//! Which `Origin` a state-changing request may come from (the CSRF middleware's second
//! check, after the session's token). In production: exactly `BASE_URL`. In `mujibak dev`
//! also the same port under any loopback name (`localhost`, `127.0.0.1`, `[::1]`) or
//! under the IP address the browser connected to (a LAN address), so a developer can open
//! the app however they reach it.

/// Whether a request whose `Origin` is `origin` (and `Host` is `host`) is our own.
pub fn allowed(origin: &str, base_url: &str, host: Option<&str>, dev: bool) -> bool {
    if origin == base_url {
        return true;
    }
    if !dev {
        return false;
    }
    let (Ok(origin), Ok(base)) = (url::Url::parse(origin), url::Url::parse(base_url)) else { return false };
    if origin.scheme() != base.scheme() || origin.port_or_known_default() != base.port_or_known_default() {
        return false;
    }
    let loopback = match origin.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    // The host the browser connected to (`Host`), as `name:port` or `name` for port 80/443.
    let authority = match (origin.host_str(), origin.port()) {
        (Some(name), Some(port)) => format!("{name}:{port}"),
        (Some(name), None) => name.to_owned(),
        (None, _) => return false,
    };
    // Only an IP address: a domain name could be rebound to this machine by another site.
    let is_ip = matches!(origin.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    let same_host = is_ip && host.is_some_and(|h| h.eq_ignore_ascii_case(&authority));
    loopback || same_host
}

#[cfg(test)]
mod tests {
    use super::allowed;

    const BASE: &str = "http://localhost:8080";

    #[test]
    fn production_accepts_exactly_base_url() {
        assert!(allowed("https://app.mujibak.com", "https://app.mujibak.com", None, false));
        for other in ["http://127.0.0.1:8080", "https://app.mujibak.com.evil.sa", "null"] {
            assert!(!allowed(other, "https://app.mujibak.com", Some("app.mujibak.com"), false), "{other}");
        }
    }

    #[test]
    fn dev_accepts_the_loopback_spellings_and_the_lan_host_of_the_same_port() {
        for ok in
            ["http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "http://127.1.2.3:8080"]
        {
            assert!(allowed(ok, BASE, Some("127.0.0.1:8080"), true), "{ok}");
        }
        assert!(allowed("http://192.168.1.20:8080", BASE, Some("192.168.1.20:8080"), true));
    }

    #[test]
    fn dev_still_refuses_other_ports_schemes_and_sites() {
        for bad in [
            "http://127.0.0.1:9090",
            "https://localhost:8080",
            "http://evil.example:8080",
            "http://192.168.1.20:8080",
            "null",
        ] {
            assert!(!allowed(bad, BASE, Some("127.0.0.1:8080"), true), "{bad}");
        }
        // A domain rebound to this machine names itself in Host too: still refused.
        assert!(!allowed("http://rebound.example:8080", BASE, Some("rebound.example:8080"), true));
    }
}
