//! The server's certificate: supplied by the operator, or self-signed on
//! first start and kept under the data directory so that its fingerprint,
//! which clients may pin, stays the same across restarts.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// What went wrong loading or making the certificate.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A PEM file did not hold what it should.
    #[error("{path}: {why}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Only one of certificate and key was given.
    #[error("--cert and --key must be given together")]
    Incomplete,
    /// Generating the self-signed certificate failed.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A certificate chain with its private key.
#[derive(Debug)]
pub struct ServerIdentity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// Where the chain came from.
    pub cert_path: PathBuf,
    /// Whether it was made just now.
    pub generated: bool,
}

/// The SHA-256 of a certificate's DER, as clients pin it: lowercase hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    hex(&Sha256::digest(cert.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ServerIdentity {
    /// The leaf certificate's fingerprint.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.chain[0])
    }

    /// Loads `cert` and `key` when given; otherwise loads
    /// `data_dir/quic-cert.pem` and `data_dir/quic-key.pem`, making them
    /// (self-signed for `localhost` and the given names) if absent.
    pub fn load_or_create(
        data_dir: &Path,
        cert: Option<&Path>,
        key: Option<&Path>,
        names: &[String],
    ) -> Result<ServerIdentity, CertError> {
        match (cert, key) {
            (Some(c), Some(k)) => Self::load(c, k, false),
            (None, None) => {
                let c = data_dir.join("quic-cert.pem");
                let k = data_dir.join("quic-key.pem");
                if c.exists() && k.exists() {
                    return Self::load(&c, &k, false);
                }
                fs::create_dir_all(data_dir).map_err(|source| CertError::Io {
                    path: data_dir.into(),
                    source,
                })?;
                let mut subject_alt_names = vec!["localhost".to_owned()];
                subject_alt_names.extend(names.iter().cloned());
                let made = rcgen::generate_simple_self_signed(subject_alt_names)?;
                write_private(&k, made.signing_key.serialize_pem().as_bytes())?;
                fs::write(&c, made.cert.pem()).map_err(|source| CertError::Io {
                    path: c.clone(),
                    source,
                })?;
                Self::load(&c, &k, true)
            }
            _ => Err(CertError::Incomplete),
        }
    }

    fn load(cert: &Path, key: &Path, generated: bool) -> Result<ServerIdentity, CertError> {
        let pem_err = |path: &Path, why: String| CertError::Pem {
            path: path.into(),
            why,
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| pem_err(cert, e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| pem_err(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_err(cert, "no certificate in file".into()));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| pem_err(key, e.to_string()))?;
        Ok(ServerIdentity {
            chain,
            key: key_der,
            cert_path: cert.into(),
            generated,
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CertError> {
    let io_err = |source| CertError::Io {
        path: path.into(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err)?;
    io::Write::write_all(&mut file, bytes).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServerIdentity::load_or_create(dir.path(), None, None, &[]).unwrap();
        assert!(first.generated);
        let second = ServerIdentity::load_or_create(dir.path(), None, None, &[]).unwrap();
        assert!(!second.generated);
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.fingerprint().len(), 64);
    }

    #[test]
    fn cert_without_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let r = ServerIdentity::load_or_create(dir.path(), Some(Path::new("c.pem")), None, &[]);
        assert!(matches!(r, Err(CertError::Incomplete)));
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.pem");
        let k = dir.path().join("k.pem");
        fs::write(&c, "not a cert").unwrap();
        fs::write(&k, "not a key").unwrap();
        let err = ServerIdentity::load_or_create(dir.path(), Some(&c), Some(&k), &[]).unwrap_err();
        assert!(err.to_string().contains("c.pem"), "{err}");
    }
}
