//! Whether the REST listeners speak TLS, and with which files: resolved once at start-up by
//! [`resolve`] from Flink's switches and weir's PEM options.
//!
//! - `security.ssl.rest.enabled` (Flink): TLS on every REST listener (Flink's API, SeaTunnel's
//!   v1 and v2) and on the Prometheus port.
//! - `security.ssl.rest.authentication-enabled` (Flink): mutual TLS, clients present a
//!   certificate.
//! - `security.ssl.rest.certificate`, `security.ssl.rest.private-key`,
//!   `security.ssl.rest.trust-certificates` (weir's): PEM files in place of Flink's Java
//!   keystores (`security.ssl.rest.keystore`, `truststore`), which weir does not read; setting
//!   those is an error that says how to convert them.

use crate::config::ClusterConfig;
use std::path::PathBuf;
use weir_rest::tls::TlsFiles;

/// The keys this module reads (so the start-up check of `security.*` lets them through).
pub const KEYS: &[&str] = &[
    "security.ssl.rest.enabled",
    "security.ssl.rest.authentication-enabled",
    "security.ssl.rest.certificate",
    "security.ssl.rest.private-key",
    "security.ssl.rest.trust-certificates",
];

/// The listeners' TLS files, or `None` for plain HTTP.
pub fn resolve(config: &ClusterConfig) -> Result<Option<TlsFiles>, String> {
    if !config.bool("security.ssl.rest.enabled")? {
        return Ok(None);
    }
    for key in [
        "security.ssl.rest.keystore",
        "security.ssl.rest.truststore",
        "security.ssl.keystore",
        "security.ssl.truststore",
    ] {
        if !config.get(key).trim().is_empty() {
            return Err(format!(
                "{key} is a Java keystore, which weir does not read: give PEM files instead, \
                 security.ssl.rest.certificate and security.ssl.rest.private-key (and \
                 security.ssl.rest.trust-certificates for mutual TLS). To convert a keystore: \
                 keytool -importkeystore -srckeystore KS.jks -destkeystore ks.p12 -deststoretype PKCS12, then \
                 openssl pkcs12 -in ks.p12 -nokeys -out cert.pem and openssl pkcs12 -in ks.p12 -nocerts -nodes -out key.pem"
            ));
        }
    }
    let file = |key: &str| -> Result<PathBuf, String> {
        let v = config.get(key);
        if v.trim().is_empty() {
            Err(format!(
                "security.ssl.rest.enabled is on but {key} is not set (a PEM file)"
            ))
        } else {
            Ok(PathBuf::from(v.trim()))
        }
    };
    let client_cas = if config.bool("security.ssl.rest.authentication-enabled")? {
        Some(file("security.ssl.rest.trust-certificates")?)
    } else {
        None
    };
    Ok(Some(TlsFiles {
        certificate: file("security.ssl.rest.certificate")?,
        private_key: file("security.ssl.rest.private-key")?,
        client_cas,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(opts: &[&str]) -> Result<ClusterConfig, String> {
        let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        ClusterConfig::load(None, &opts)
    }

    #[test]
    fn plain_http_unless_enabled() {
        assert_eq!(resolve(&config(&[]).unwrap()).unwrap(), None);
        let off = config(&["security.ssl.rest.enabled=false"]).unwrap();
        assert_eq!(resolve(&off).unwrap(), None);
    }

    #[test]
    fn enabled_needs_pem_files_and_mutual_tls_needs_its_cas() {
        let on = "security.ssl.rest.enabled=true";
        let e = resolve(&config(&[on]).unwrap()).unwrap_err();
        assert!(e.contains("security.ssl.rest.certificate"), "{e}");
        let both = [
            on,
            "security.ssl.rest.certificate=/c.pem",
            "security.ssl.rest.private-key=/k.pem",
        ];
        let files = resolve(&config(&both).unwrap()).unwrap().unwrap();
        assert_eq!(files.certificate, PathBuf::from("/c.pem"));
        assert_eq!(files.client_cas, None);
        let mut mutual = both.to_vec();
        mutual.push("security.ssl.rest.authentication-enabled=true");
        let e = resolve(&config(&mutual).unwrap()).unwrap_err();
        assert!(e.contains("trust-certificates"), "{e}");
        mutual.push("security.ssl.rest.trust-certificates=/ca.pem");
        let files = resolve(&config(&mutual).unwrap()).unwrap().unwrap();
        assert_eq!(files.client_cas, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn java_keystores_are_refused_with_how_to_convert_them() {
        let c = config(&[
            "security.ssl.rest.enabled=true",
            "security.ssl.rest.keystore=/ks.jks",
        ])
        .unwrap();
        let e = resolve(&c).unwrap_err();
        assert!(
            e.contains("keytool") && e.contains("security.ssl.rest.private-key"),
            "{e}"
        );
    }

    #[test]
    fn other_security_options_are_still_refused_at_load() {
        assert!(config(&["security.ssl.internal.enabled=true"]).is_err());
        assert!(config(&["security.kerberos.login.keytab=/k"]).is_err());
        assert!(config(&["security.ssl.rest.enabled=true"]).is_ok());
    }
}
