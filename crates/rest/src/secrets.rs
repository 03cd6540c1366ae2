//! Which configuration values are secrets, so the endpoints that show configuration
//! (`/jobmanager/config`, `/jobmanager/environment`'s command line) show `******` in their place,
//! as Flink's `GlobalConfiguration.isSensitive` does: a read-only credential must not reveal an
//! operator's password.

/// What Flink shows instead of a secret.
pub const HIDDEN: &str = "******";

/// Parts of a key that mark its value as a secret (Flink's list, plus weir's own).
const SENSITIVE: &[&str] = &[
    "password",
    "secret",
    "fs.azure.account.key",
    "apikey",
    "api-key",
    "auth-params",
    "service-key",
    "token",
    "basic-auth",
    "jaas.config",
    "http-headers",
    "credentials",
];

/// Whether `key`'s value is a secret.
pub fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| key.contains(s))
}

/// `value`, or [`HIDDEN`] if `key` is a secret.
pub fn shown<'a>(key: &str, value: &'a str) -> &'a str {
    if is_sensitive(key) {
        HIDDEN
    } else {
        value
    }
}

/// A command line with the values of secret `-D key=value` (or `-Dkey=value`) options hidden.
pub fn masked_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_d = false;
    for arg in args {
        let (prefix, option) = if after_d {
            ("", arg.as_str())
        } else if let Some(rest) = arg.strip_prefix("-D") {
            ("-D", rest)
        } else {
            ("", "")
        };
        after_d = arg == "-D" || arg == "--dynamic";
        match option.split_once('=') {
            Some((key, _)) if is_sensitive(key) => out.push(format!("{prefix}{key}={HIDDEN}")),
            _ => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_and_the_rest_shown() {
        assert_eq!(
            shown("seatunnel.engine.http.basic-auth-password", "pw"),
            HIDDEN
        );
        assert_eq!(shown("s3.secret-key", "k"), HIDDEN);
        assert_eq!(shown("rest.auth.credentials-file", "/etc/x"), HIDDEN);
        assert_eq!(shown("rest.port", "8081"), "8081");
        let args = [
            "start",
            "-D",
            "a.password=x",
            "-Drest.port=1",
            "-Ds3.secret-key=y",
            "-D",
            "rest.port=2",
        ];
        assert_eq!(
            masked_args(args.iter().map(|s| s.to_string())),
            [
                "start",
                "-D",
                "a.password=******",
                "-Drest.port=1",
                "-Ds3.secret-key=******",
                "-D",
                "rest.port=2"
            ]
        );
    }
}
