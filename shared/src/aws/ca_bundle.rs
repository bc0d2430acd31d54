//! `AWS_CA_BUNDLE`: the CAs a deployment adds to the compiled-in roots.

use std::path::Path;
use std::sync::OnceLock;

use rustls::pki_types::CertificateDer;

const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";

/// The CAs of `AWS_CA_BUNDLE` (as the AWS CLI reads it: a proxy that re-signs TLS), read and
/// logged once, at cold start: the SDK's client trusts them, and so does the alarm-forwarder's
/// PagerDuty client, since such a proxy re-signs that traffic too. Unset: none.
pub fn extra_cas() -> &'static [CertificateDer<'static>] {
    static CAS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    CAS.get_or_init(
        || match std::env::var_os(CA_BUNDLE_VAR).filter(|p| !p.is_empty()) {
            Some(path) => read_ca_bundle(Path::new(&path)),
            None => Vec::new(),
        },
    )
}

/// The usable CAs of a PEM file, saying at error level when there are none (every AWS request
/// through a re-signing proxy will fail) and at warning level which ones were left out.
pub fn read_ca_bundle(path: &Path) -> Vec<CertificateDer<'static>> {
    let checked = match read_bounded(path) {
        Ok(bytes) => usable_certs(&bytes),
        Err(problem) => Checked {
            certs: Vec::new(),
            unusable: 0,
            first_problem: Some(problem),
        },
    };
    if checked.certs.is_empty() {
        tracing::error!(
            var = CA_BUNDLE_VAR,
            path = %path.display(),
            problem = checked.first_problem.as_deref().unwrap_or("holds no certificate"),
            "{CA_BUNDLE_VAR} is not used: set it to a PEM file of the CA certificates to trust for AWS, or unset it"
        );
    } else if let Some(problem) = &checked.first_problem {
        tracing::warn!(
            var = CA_BUNDLE_VAR,
            path = %path.display(),
            trusted = checked.certs.len(),
            left_out = checked.unusable,
            first_problem = %problem,
            "{CA_BUNDLE_VAR}: {} of its certificates cannot be used and are left out; the other {} are trusted",
            checked.unusable,
            checked.certs.len()
        );
    }
    checked.certs
}

/// Far above any real bundle (the whole Mozilla store is about 200 KiB as PEM).
const MAX_BUNDLE_BYTES: u64 = 4 << 20;

/// The file's bytes, if it is a regular file of a bundle's size: a device would be read until
/// memory runs out, and a FIFO would hold the cold start until Lambda's init timeout.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read ({e})"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_BUNDLE_BYTES {
        return Err(format!("is larger than {} MiB", MAX_BUNDLE_BYTES >> 20));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BUNDLE_BYTES).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot be read ({e})"))?;
    Ok(bytes)
}

struct Checked {
    certs: Vec<CertificateDer<'static>>,
    unusable: usize,
    first_problem: Option<String>,
}

/// The certificates of a PEM file a trust store can use: the SDK's trust store panics on one it
/// cannot parse, so only checked ones reach it, and one bad entry (a bundle is often the
/// distribution's with a corporate CA appended) does not take the others with it.
fn usable_certs(bytes: &[u8]) -> Checked {
    use rustls::pki_types::pem::PemObject;
    let mut checked = Checked {
        certs: Vec::new(),
        unusable: 0,
        first_problem: None,
    };
    let note = |checked: &mut Checked, problem: String| {
        checked.unusable += 1;
        checked.first_problem.get_or_insert(problem);
    };
    for (index, cert) in CertificateDer::pem_slice_iter(bytes).enumerate() {
        match cert {
            Err(e) => note(&mut checked, format!("entry {} is not PEM ({e})", index + 1)),
            Ok(cert) => match rustls::RootCertStore::empty().add(cert.clone()) {
                Ok(()) => checked.certs.push(cert),
                Err(e) => note(
                    &mut checked,
                    format!("certificate {} cannot be a CA ({e})", index + 1),
                ),
            },
        }
    }
    if checked.certs.is_empty() && checked.first_problem.is_none() {
        checked.first_problem = Some("holds no certificate".into());
    }
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::pem_of;

    #[test]
    fn an_extra_bundle_keeps_its_usable_certificates_and_names_the_first_it_leaves_out() {
        let roots = &webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let one = pem_of(roots[..1].iter().map(|c| c.as_ref()));
        let two = pem_of(roots[1..2].iter().map(|c| c.as_ref()));
        let checked = usable_certs(one.as_bytes());
        assert_eq!((checked.certs.len(), checked.unusable), (1, 0));
        assert!(checked.first_problem.is_none());

        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let mixed = format!("{one}{broken}{two}");
        let checked = usable_certs(mixed.as_bytes());
        assert_eq!(checked.certs.len(), 2, "the good ones on either side are kept");
        assert_eq!(checked.unusable, 1);
        let problem = checked.first_problem.unwrap();
        assert!(problem.starts_with("certificate 2 cannot be a CA"), "{problem}");

        for nothing in [&b""[..], b"not a certificate at all"] {
            let checked = usable_certs(nothing);
            assert!(checked.certs.is_empty());
            assert_eq!(checked.first_problem.as_deref(), Some("holds no certificate"));
        }
        let unfinished = format!("{one}-----BEGIN CERTIFICATE-----\nAAAA\n");
        let checked = usable_certs(unfinished.as_bytes());
        assert_eq!((checked.certs.len(), checked.unusable), (1, 1));
        assert!(checked.first_problem.unwrap().contains("is not PEM"));
    }

    #[test]
    fn an_unreadable_bundle_trusts_nothing_extra() {
        assert!(read_ca_bundle(Path::new("/nonexistent/ops-lambdas-ca.pem")).is_empty());
        assert_eq!(
            read_bounded(Path::new("/dev/zero")).unwrap_err(),
            "is not a regular file"
        );
        assert_eq!(read_bounded(Path::new("/")).unwrap_err(), "is not a regular file");
    }
}
