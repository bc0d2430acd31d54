//! The proxy the AWS clients take from the environment, said at cold start.

use hyper_util::client::proxy::matcher::Matcher;

/// Logs the proxy the connector sends AWS requests over HTTPS to, told by the matcher it builds
/// from the same variables (`HTTPS_PROXY` or `https_proxy`, else `ALL_PROXY` or `all_proxy`), with
/// `NO_PROXY` as it is: a proxy sends AWS traffic around VPC endpoints unless `NO_PROXY` names every
/// one (which one host cannot tell), and a value the connector cannot use fails or is ignored
/// without a word from it. Scheme, host and port only: the URL can carry a password.
pub(super) fn log(var: &dyn Fn(&str) -> Option<String>) {
    match route(var) {
        Route::Direct => {}
        Route::Proxy { var: name, proxy } => tracing::info!(
            var = name,
            proxy = %proxy,
            no_proxy = %first(var, NO_PROXY).map(|(_, v)| v).unwrap_or_default(),
            "AWS requests go through a proxy unless NO_PROXY names their hosts (VPC endpoints)"
        ),
        Route::Unusable { var: name, why } => tracing::warn!(var = name, "{name} {why}"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Direct,
    Proxy { var: &'static str, proxy: String },
    Unusable { var: &'static str, why: &'static str },
}

const NO_PROXY: [&str; 2] = ["NO_PROXY", "no_proxy"];

const IGNORED: &str =
    "is not a proxy URL the AWS clients can use (http://host:port), so they ignore it and connect directly";
const SOCKS: &str =
    "names a SOCKS proxy, which the AWS clients cannot use: every AWS request through it fails; name an HTTP proxy";
const UNENCODED: &str =
    "holds an '@' the proxy URL cannot hold there (an '@', '/', '?' or '#' in the user or \
     password must be percent-encoded, '@' as %40): AWS requests through it fail; the value is not shown";

fn first(var: &dyn Fn(&str) -> Option<String>, names: [&'static str; 2]) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|n| var(n).map(|v| (n, v)))
}

fn route(var: &dyn Fn(&str) -> Option<String>) -> Route {
    // hyper-util turns every proxy off under CGI (the httpoxy attack).
    if var("REQUEST_METHOD").is_some() {
        return Route::Direct;
    }
    // Any HTTPS destination: without NO_PROXY the matcher answers every one alike.
    let aws = http::Uri::from_static("https://sts.amazonaws.com/");
    let mut unusable = Route::Direct;
    for names in [["HTTPS_PROXY", "https_proxy"], ["ALL_PROXY", "all_proxy"]] {
        // The first of the pair that is set is the one read, even when empty.
        let Some((name, value)) = first(var, names).filter(|(_, v)| !v.is_empty()) else {
            continue;
        };
        let Some(intercept) = Matcher::builder().https(value.as_str()).build().intercept(&aws) else {
            if unusable == Route::Direct {
                unusable = Route::Unusable {
                    var: name,
                    why: IGNORED,
                };
            }
            continue;
        };
        let proxy = intercept.uri();
        let raw_authority = value
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().cloned());
        // hyper-util splits user info at the first '@', and the URI parser ends the authority at
        // the first '/', '?' or '#': an '@' left in what hyper-util kept, or one beyond the
        // authority, is part of a user name or password; say so without the value.
        let ats = |text: &str| text.matches('@').count();
        let outside_authority = ats(&value) != raw_authority.as_ref().map_or(0, |a| ats(a.as_str()));
        let kept_userinfo = proxy.authority().is_some_and(|a| a.as_str().contains('@'));
        if kept_userinfo || outside_authority {
            return Route::Unusable {
                var: name,
                why: UNENCODED,
            };
        }
        if proxy.scheme_str().is_some_and(|s| s.starts_with("socks")) {
            return Route::Unusable {
                var: name,
                why: SOCKS,
            };
        }
        // Host and port alone, never the authority's text.
        let host = proxy.host().unwrap_or_default();
        let port = proxy.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        return Route::Proxy {
            var: name,
            proxy: format!("{}://{host}{port}", proxy.scheme_str().unwrap_or("http")),
        };
    }
    unusable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn proxy(var: &'static str, proxy: &str) -> Route {
        Route::Proxy {
            var,
            proxy: proxy.to_string(),
        }
    }

    #[test]
    fn the_proxy_in_use_is_named_without_its_credentials() {
        assert_eq!(route(&env(&[])), Route::Direct);
        assert_eq!(
            route(&env(&[("HTTP_PROXY", "http://p:1")])),
            Route::Direct,
            "AWS is HTTPS"
        );
        assert_eq!(
            route(&env(&[("HTTPS_PROXY", "http://user:s3cret@proxy.corp:3128")])),
            proxy("HTTPS_PROXY", "http://proxy.corp:3128")
        );
        assert_eq!(
            route(&env(&[
                ("https_proxy", "proxy.corp:3128"),
                ("ALL_PROXY", "http://all:1")
            ])),
            proxy("https_proxy", "http://proxy.corp:3128")
        );
        assert_eq!(
            route(&env(&[
                ("HTTPS_PROXY", ""),
                ("https_proxy", "http://lower:1"),
                ("ALL_PROXY", "http://all:1")
            ])),
            proxy("ALL_PROXY", "http://all:1"),
            "an empty HTTPS_PROXY is read, and falls back to ALL_PROXY as the connector does"
        );
    }

    #[test]
    fn a_value_the_connector_cannot_use_is_said_without_showing_it() {
        let unusable = |var, why| Route::Unusable { var, why };
        assert_eq!(
            route(&env(&[
                ("HTTPS_PROXY", "not a url"),
                ("all_proxy", "http://all:1")
            ])),
            proxy("all_proxy", "http://all:1"),
            "the connector falls back to ALL_PROXY too"
        );
        assert_eq!(
            route(&env(&[("HTTPS_PROXY", "ftp://proxy.corp:21")])),
            unusable("HTTPS_PROXY", IGNORED)
        );
        assert_eq!(
            route(&env(&[("HTTPS_PROXY", " http://p:1")])),
            unusable("HTTPS_PROXY", IGNORED)
        );
        assert_eq!(
            route(&env(&[("HTTPS_PROXY", "socks5://s:1080")])),
            unusable("HTTPS_PROXY", SOCKS)
        );
        let leaky = route(&env(&[("HTTPS_PROXY", "http://user:12/ss@proxy.corp:3128")]));
        assert_eq!(leaky, unusable("HTTPS_PROXY", UNENCODED));
        let said = format!("{leaky:?}");
        assert!(
            !said.contains("user:12") && !said.contains("proxy.corp"),
            "{said}"
        );
    }

    #[test]
    fn a_password_with_an_at_sign_is_never_shown() {
        for value in [
            "http://alice@corp.com:S3cret@proxy.corp:3128",
            "http://u:p@ss@proxy.corp:3128",
            "http://u:p@ss@[::1]:3128",
            "http://u:p@ss/w@proxy.corp:3128",
            "http://alice@corp.com:31337/x@proxy.corp:3128",
            "http://alice@corp.com:pw?x@proxy.corp:3128",
        ] {
            // Only the variable's name and a fixed text: nothing of the value can be in it.
            match route(&env_of(vec![("HTTPS_PROXY", value.to_string())])) {
                Route::Unusable { var, why } => {
                    assert_eq!(var, "HTTPS_PROXY");
                    assert!([IGNORED, SOCKS, UNENCODED].contains(&why), "{value}: {why}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        assert_eq!(
            route(&env_of(vec![(
                "HTTPS_PROXY",
                "http://alice%40corp.com:S3cret@[::1]:3128".to_string()
            )])),
            proxy("HTTPS_PROXY", "http://[::1]:3128")
        );
    }

    #[test]
    fn cgi_sends_aws_direct_and_no_proxy_is_said_beside_the_proxy() {
        assert_eq!(
            route(&env(&[
                ("HTTPS_PROXY", "http://p:1"),
                ("NO_PROXY", ".amazonaws.com")
            ])),
            proxy("HTTPS_PROXY", "http://p:1"),
            "NO_PROXY is logged with it: one host cannot tell whether it names every endpoint"
        );
        assert_eq!(
            route(&env(&[("HTTPS_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")])),
            Route::Direct
        );
    }

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
}
