//! Which `Host` names the server answers: the defence against DNS rebinding.
//!
//! A page on `attacker.example` that re-points its name at 127.0.0.1 makes the browser send
//! same-origin requests to a server on the developer's machine, with `Host:
//! attacker.example`; the browser then lets that page read the answers (GraphiQL's page with
//! the demo's token, the API with it). So a server listening on a loopback address answers
//! only loopback names (`localhost`, `*.localhost`, `127.0.0.1` and the rest of 127/8,
//! `[::1]`) unless `--allowed-hosts` lists others; a server on another address answers any
//! name unless `--allowed-hosts` lists some. Anything else gets 421 Misdirected Request in the
//! API's own error format, before any other work.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::SharedState;

/// The `Host` names a server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// Decided by the listener when the server starts: loopback names (and the public
    /// URL's host, held here) on a loopback address, any name elsewhere.
    Auto(Option<String>),
    /// Every name.
    Any,
    /// Loopback names only.
    Loopback,
    /// These names (lower case, without port; `.example.com` also allows its subdomains),
    /// and loopback names when the listener is a loopback address.
    Only(Arc<[String]>, bool),
}

impl HostPolicy {
    /// From `--allowed-hosts` (empty: [`HostPolicy::Auto`]; `*`: any name) and the host of
    /// `--public-url`, which a proxy in front of the server forwards as `Host`.
    pub fn from_list(hosts: &[String], public_url: Option<&str>) -> Self {
        let public = public_url.and_then(|url| {
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            host_name(rest.split('/').next().unwrap_or_default())
        });
        let mut hosts: Vec<String> = hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() {
            Self::Auto(public)
        } else if hosts.iter().any(|h| h == "*") {
            Self::Any
        } else {
            hosts.extend(public);
            Self::Only(hosts.into(), false)
        }
    }

    /// The policy for a server listening on `addr`.
    pub fn resolve(self, addr: SocketAddr) -> Self {
        let loopback = addr.ip().is_loopback();
        match self {
            Self::Auto(None) if loopback => Self::Loopback,
            Self::Auto(Some(public)) if loopback => Self::Only(vec![public].into(), true),
            Self::Auto(_) => Self::Any,
            Self::Only(hosts, _) => Self::Only(hosts, loopback),
            other => other,
        }
    }

    /// Whether a request with this `Host` header value is answered. HTTP/1.1 requires
    /// `Host`; a request without one names no host to trust where names are checked.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let name = || host.and_then(host_name);
        match self {
            Self::Any | Self::Auto(_) => true,
            Self::Loopback => name().is_some_and(|name| is_loopback_name(&name)),
            Self::Only(hosts, loopback) => name().is_some_and(|name| {
                (*loopback && is_loopback_name(&name))
                    || hosts.iter().any(|allowed| {
                        allowed == &name
                            || (allowed.starts_with('.')
                                && (name.ends_with(allowed.as_str()) || name == allowed[1..]))
                    })
            }),
        }
    }
}

/// The name of a `Host` value, lower case, without its port (`[::1]:8080` -> `::1`).
fn host_name(value: &str) -> Option<String> {
    let value = value.trim();
    let name = if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next()?
    } else {
        value.rsplit_once(':').map_or(value, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                value
            }
        })
    };
    (!name.is_empty()).then(|| name.trim_end_matches('.').to_ascii_lowercase())
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The middleware in front of every route.
pub async fn check(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    if state.allowed_hosts.allows(host) {
        return next.run(req).await;
    }
    let message = "this server does not answer for that Host name; list it in \
                   --allowed-hosts (STEPGRAPH_ALLOWED_HOSTS)";
    let status = StatusCode::MISDIRECTED_REQUEST;
    if req.uri().path().starts_with("/api/") {
        crate::rest::error::ApiError::plain(status.as_u16(), message).into_response()
    } else {
        crate::http::graphql::error_response(status, "MISDIRECTED_REQUEST", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_loopback_listener_answers_loopback_names_only() {
        let p = HostPolicy::Auto(None).resolve(addr("127.0.0.1:8080"));
        for ok in [
            "localhost:8080",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "app.localhost:5173",
            "LOCALHOST",
        ] {
            assert!(p.allows(Some(ok)), "{ok}");
        }
        for refused in [
            "attacker.example:8080",
            "localhost.attacker.example",
            "10.0.0.1",
            "",
        ] {
            assert!(!p.allows(Some(refused)), "{refused}");
        }
        assert!(!p.allows(None));
    }

    #[test]
    fn other_listeners_answer_any_name_unless_a_list_is_given() {
        let p = HostPolicy::Auto(None).resolve(addr("0.0.0.0:8080"));
        assert!(p.allows(Some("anything.example")));
        let p = HostPolicy::from_list(&["api.example.com".into(), ".corp.example".into()], None)
            .resolve(addr("0.0.0.0:8080"));
        assert!(p.allows(Some("api.example.com:443")));
        assert!(p.allows(Some("a.corp.example")));
        assert!(p.allows(Some("corp.example")));
        assert!(!p.allows(Some("evilcorp.example")));
        assert!(!p.allows(Some("localhost")));
        let p = HostPolicy::from_list(&["dev.example".into()], None).resolve(addr("127.0.0.1:1"));
        assert!(p.allows(Some("dev.example")) && p.allows(Some("localhost:1")));
        assert_eq!(HostPolicy::from_list(&["*".into()], None), HostPolicy::Any);
        // Behind a proxy on the same machine, the public URL's host is answered too.
        let p = HostPolicy::from_list(&[], Some("https://api.example.com/base"))
            .resolve(addr("127.0.0.1:8080"));
        assert!(p.allows(Some("api.example.com")) && p.allows(Some("localhost")));
        assert!(!p.allows(Some("attacker.example")));
    }
}
