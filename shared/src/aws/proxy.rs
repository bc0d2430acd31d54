//! The proxy the AWS clients take from the environment, said at cold start.

/// Logs the proxy AWS requests over HTTPS go through, as the connector reads it (`HTTPS_PROXY`
/// or `https_proxy`, else `ALL_PROXY` or `all_proxy`; `NO_PROXY` exempts hosts): a proxy sends
/// AWS traffic around VPC endpoints unless `NO_PROXY` names them, and a value the connector
/// cannot use is ignored by it without a word. Scheme, host and port only: the URL can carry a
/// password.
pub(super) fn log(var: &dyn Fn(&str) -> Option<String>) {
    match https_proxy(var) {
        None => {}
        Some(Ok((name, proxy))) => tracing::info!(
            var = name,
            proxy = %proxy,
            no_proxy = var("NO_PROXY").or_else(|| var("no_proxy")).unwrap_or_default(),
            "AWS requests go through a proxy; NO_PROXY lists the hosts (VPC endpoints) that do not"
        ),
        Some(Err(name)) => tracing::warn!(
            var = name,
            "{name} is not a proxy URL the AWS clients can use (scheme://host:port), so they ignore it and connect directly"
        ),
    }
}

/// Which variable sets the HTTPS proxy and the proxy it names without credentials, or the name of
/// a variable that is set but cannot be used; `None` when no proxy applies.
fn https_proxy(var: &dyn Fn(&str) -> Option<String>) -> Option<Result<(&'static str, String), &'static str>> {
    let first = |names: [&'static str; 2]| {
        names
            .into_iter()
            .find_map(|n| var(n).map(|v| (n, v)))
            .filter(|(_, v)| !v.trim().is_empty())
    };
    let mut unusable = None;
    for names in [["HTTPS_PROXY", "https_proxy"], ["ALL_PROXY", "all_proxy"]] {
        let Some((name, value)) = first(names) else {
            continue;
        };
        match proxy_without_credentials(value.trim()) {
            Some(proxy) => return Some(Ok((name, proxy))),
            None => unusable = unusable.or(Some(name)),
        }
    }
    unusable.map(Err)
}

fn proxy_without_credentials(value: &str) -> Option<String> {
    let uri: http::Uri = value.parse().ok()?;
    let scheme = uri.scheme_str().unwrap_or("http");
    if !matches!(
        scheme,
        "http" | "https" | "socks4" | "socks4a" | "socks5" | "socks5h"
    ) {
        return None;
    }
    let authority = uri.authority()?.as_str();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    (!host_port.is_empty()).then(|| format!("{scheme}://{host_port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_in_use_is_named_without_its_credentials() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(https_proxy(&env(&[])), None);
        assert_eq!(
            https_proxy(&env(&[("HTTP_PROXY", "http://p:1")])),
            None,
            "AWS is HTTPS"
        );
        assert_eq!(
            https_proxy(&env(&[("HTTPS_PROXY", "http://user:s3cret@proxy.corp:3128")])),
            Some(Ok(("HTTPS_PROXY", "http://proxy.corp:3128".to_string())))
        );
        assert_eq!(
            https_proxy(&env(&[
                ("https_proxy", "proxy.corp:3128"),
                ("ALL_PROXY", "http://all:1")
            ])),
            Some(Ok(("https_proxy", "http://proxy.corp:3128".to_string())))
        );
        assert_eq!(
            https_proxy(&env(&[
                ("HTTPS_PROXY", "not a url"),
                ("all_proxy", "socks5://s:1080")
            ])),
            Some(Ok(("all_proxy", "socks5://s:1080".to_string()))),
            "the connector falls back to ALL_PROXY too"
        );
        assert_eq!(
            https_proxy(&env(&[("HTTPS_PROXY", "ftp://proxy.corp:21")])),
            Some(Err("HTTPS_PROXY"))
        );
        assert_eq!(https_proxy(&env(&[("HTTPS_PROXY", "  ")])), None);
    }
}
