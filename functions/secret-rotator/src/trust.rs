//! Which certificate authorities `verify-full` trusts: `PG_CA_BUNDLE`'s file, the RDS authorities
//! compiled in, or the system's roots.
//!
//! The RDS authorities are not in any system store, so without them `verify-full` against RDS fails
//! once deployed. They are compiled in from `rds-ca/rds-ca-bundle.pem` (its header says where it
//! came from and when; `rds-ca/refresh.sh` regenerates it), and used for `PG_CA_BUNDLE=rds`, or for a
//! host under `.rds.amazonaws.com` when `PG_CA_BUNDLE` is unset. They come with the system's roots:
//! RDS Proxy endpoints share the suffix but serve ACM certificates under Amazon Root CA 1–4.

use std::path::PathBuf;

use rustls::RootCertStore;

const RDS_BUNDLE: &[u8] = include_bytes!("../rds-ca/rds-ca-bundle.pem");

/// The value of `PG_CA_BUNDLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaBundle {
    /// Unset: the system's roots, and the RDS authorities for RDS hosts.
    Default,
    /// `rds`: the RDS authorities and the system's roots, for every host.
    Rds,
    /// A PEM file.
    File(PathBuf),
}

impl CaBundle {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None => Self::Default,
            Some(v) if v.eq_ignore_ascii_case("rds") => Self::Rds,
            Some(path) => Self::File(PathBuf::from(path)),
        }
    }

    /// The roots for every host the bundle does not single out.
    pub fn roots(&self) -> Result<RootCertStore, String> {
        match self {
            Self::Default => Ok(system_roots()),
            Self::Rds => rds_and_system_roots(),
            Self::File(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                pem_roots(&pem, &path.display().to_string())
            }
        }
    }

    /// Whether `host` is checked against [`rds_and_system_roots`] rather than [`Self::roots`].
    pub fn rds_for(&self, host: &str) -> bool {
        *self == Self::Default && is_rds_host(host)
    }
}

/// RDS endpoints are `<name>.<id>.<region>.rds.amazonaws.com` (instances, clusters, proxies).
pub fn is_rds_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.ends_with(".rds.amazonaws.com")
}

pub fn rds_roots() -> Result<RootCertStore, String> {
    pem_roots(RDS_BUNDLE, "the compiled-in RDS bundle")
}

pub fn rds_and_system_roots() -> Result<RootCertStore, String> {
    let mut roots = rds_roots()?;
    roots.roots.extend(system_roots().roots);
    Ok(roots)
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for cert in ops_shared::tls::system_roots() {
        // One unusable certificate in the system store must not take the others with it.
        let _ = roots.add(cert);
    }
    roots
}

fn pem_roots(pem: &[u8], origin: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| format!("{origin} is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{origin} holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{origin} holds no certificate"));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rds_bundle_holds_every_certificate_of_its_file() {
        let in_file = String::from_utf8_lossy(RDS_BUNDLE)
            .matches("-----BEGIN CERTIFICATE-----")
            .count();
        assert!(in_file >= 100, "{in_file}");
        assert_eq!(rds_roots().unwrap().len(), in_file);
    }

    #[test]
    fn the_rds_bundle_has_the_current_roots_of_the_main_regions() {
        let text = String::from_utf8_lossy(RDS_BUNDLE).to_string();
        let mut subjects = String::new();
        for cert in rustls_pemfile::certs(&mut text.as_bytes()) {
            // The CN is in the DER as plain text.
            subjects.push_str(&String::from_utf8_lossy(cert.unwrap().as_ref()));
        }
        for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
            for kind in ["RSA2048 G1", "RSA4096 G1", "ECC384 G1"] {
                let cn = format!("Amazon RDS {region} Root CA {kind}");
                assert!(subjects.contains(&cn), "{cn} is missing");
            }
        }
    }

    #[test]
    fn the_variable_selects_the_bundle() {
        assert_eq!(CaBundle::parse(None), CaBundle::Default);
        assert_eq!(CaBundle::parse(Some("rds")), CaBundle::Rds);
        assert_eq!(CaBundle::parse(Some("RDS")), CaBundle::Rds);
        assert_eq!(
            CaBundle::parse(Some("/etc/ca.pem")),
            CaBundle::File("/etc/ca.pem".into())
        );
    }

    #[test]
    fn rds_hosts_get_the_rds_authorities_only_when_no_bundle_is_set() {
        let host = "app.cluster-abc123.eu-west-1.rds.amazonaws.com";
        assert!(CaBundle::Default.rds_for(host));
        assert!(CaBundle::Default.rds_for("db.abc.us-east-1.RDS.amazonaws.com."));
        // An explicit bundle is the operator's choice, for every host.
        assert!(!CaBundle::File("/etc/ca.pem".into()).rds_for(host));
        // Rds trusts the RDS authorities through roots() already.
        assert!(!CaBundle::Rds.rds_for(host));
        for other in [
            "db.example.com",
            "rds.amazonaws.com.example.com",
            "myrds.amazonaws.com",
            "localhost",
        ] {
            assert!(!CaBundle::Default.rds_for(other), "{other}");
        }
    }

    #[test]
    fn rds_hosts_also_trust_the_system_roots_for_rds_proxy() {
        let rds = rds_roots().unwrap().len();
        let system = system_roots().len();
        assert!(system > 0, "the test machine has system roots");
        assert_eq!(rds_and_system_roots().unwrap().len(), rds + system);
        assert_eq!(CaBundle::Rds.roots().unwrap().len(), rds + system);
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let err = pem_roots(b"not a certificate", "x.pem").unwrap_err();
        assert!(err.contains("x.pem holds no certificate"), "{err}");
    }
}
