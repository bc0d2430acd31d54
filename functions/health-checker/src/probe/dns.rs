//! `dns`: resolve a name through the system's resolver or a given one, and compare the answers or
//! the response code.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use crate::checks::{DnsCheck, DnsExpect, RecordKind};
use crate::outcome::Outcome;

fn options(timeout: Duration) -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    // Every run must see the answer as it is now, not as a warm container remembers it.
    opts.cache_size = 0;
    opts
}

fn resolver(at: Option<SocketAddr>, timeout: Duration) -> Result<TokioResolver, String> {
    let mut builder = match at {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver configuration: {e}"))?,
    };
    *builder.options_mut() = options(timeout);
    builder
        .build()
        .map_err(|e| format!("cannot build a resolver: {e}"))
}

fn record_type(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Txt => RecordType::TXT,
        RecordKind::Mx => RecordType::MX,
    }
}

/// Answers as text: addresses, names without the final dot, TXT strings joined, MX as "10 name".
fn answer_text(data: &RData) -> Option<String> {
    let name =
        |n: &hickory_resolver::proto::rr::Name| n.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    match data {
        RData::A(a) => Some(a.0.to_string()),
        RData::AAAA(a) => Some(a.0.to_string()),
        RData::CNAME(c) => Some(name(&c.0)),
        RData::MX(mx) => Some(format!("{} {}", mx.preference, name(&mx.exchange))),
        RData::TXT(txt) => Some(
            txt.txt_data
                .iter()
                .map(|d| String::from_utf8_lossy(d).into_owned())
                .collect::<String>(),
        ),
        _ => None,
    }
}

/// The response code the server sent, read from the error itself (its text says "Server Failure",
/// not SERVFAIL); `None` when no response came.
fn rcode_of(e: &NetError) -> Option<ResponseCode> {
    match e {
        NetError::Dns(DnsError::ResponseCode(code)) => Some(*code),
        NetError::Dns(DnsError::NoRecordsFound(none)) => Some(none.response_code),
        _ => None,
    }
}

/// The code's mnemonic, as a check's `expect_rcode` spells it.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

fn normalise(value: &str) -> String {
    value.trim().trim_end_matches('.').to_ascii_lowercase()
}

pub async fn probe(check: &DnsCheck, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let resolver = match resolver(check.resolver, timeout) {
        Ok(r) => r,
        Err(reason) => return Outcome::unhealthy(started.elapsed(), reason),
    };
    let query = if check.query.ends_with('.') {
        check.query.clone()
    } else {
        format!("{}.", check.query)
    };
    let result = resolver
        .lookup(query.as_str(), record_type(check.record_type))
        .await;
    let latency = started.elapsed();
    let (rcode, answers) = match result {
        Ok(lookup) => (
            "NOERROR".to_string(),
            lookup
                .answers()
                .iter()
                .filter_map(|r| answer_text(&r.data))
                .collect::<Vec<_>>(),
        ),
        Err(e) => match rcode_of(&e) {
            Some(code) => (rcode_name(code), Vec::new()),
            // No answer at all (a timeout, a refused connection): nothing to compare a code with.
            None => return Outcome::unhealthy(latency, format!("lookup of {} failed: {e}", check.query)),
        },
    };
    match &check.expect {
        DnsExpect::Rcode(expected) if *expected == rcode => {
            Outcome::healthy(latency, format!("{rcode} as expected"))
        }
        DnsExpect::Rcode(expected) => {
            Outcome::unhealthy(latency, format!("answered {rcode}, expected {expected}"))
        }
        DnsExpect::Answers if rcode != "NOERROR" => {
            Outcome::unhealthy(latency, format!("{} answered {rcode}", check.query))
        }
        DnsExpect::Answers if answers.is_empty() => Outcome::unhealthy(
            latency,
            format!("{} has no {:?} record", check.query, check.record_type),
        ),
        DnsExpect::Answers => Outcome::healthy(latency, answers.join(", ")),
        DnsExpect::Values(expected) => {
            let got: Vec<String> = answers.iter().map(|a| normalise(a)).collect();
            let missing: Vec<&String> = expected.iter().filter(|e| !got.contains(&normalise(e))).collect();
            if rcode != "NOERROR" {
                Outcome::unhealthy(latency, format!("{} answered {rcode}", check.query))
            } else if missing.is_empty() {
                Outcome::healthy(latency, answers.join(", "))
            } else {
                Outcome::unhealthy(
                    latency,
                    format!("missing {missing:?}; the answers were {answers:?}"),
                )
            }
        }
    }
}
