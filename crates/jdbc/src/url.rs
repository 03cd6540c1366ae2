//! SeaTunnel's `url` option: a JDBC URL, of which weir understands the PostgreSQL and
//! MySQL/MariaDB forms. The driver is chosen from the URL (the `driver` option is accepted and
//! only checked against it).

use std::collections::BTreeMap;
use weir_core::{WeirError, WeirResult};

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
}

impl Dialect {
    /// The name SeaTunnel's dialects go by.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL",
        }
    }

    /// An identifier quoted for this database.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
            Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
        }
    }

    /// A dotted table path (`db.schema.table`, `db.table`) quoted part by part.
    pub fn quote_path(self, path: &str) -> String {
        path.split('.')
            .map(|p| self.quote(p))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A parsed JDBC URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcUrl {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
    /// URL parameters (`?sslmode=disable&...`), by name.
    pub params: BTreeMap<String, String>,
}

impl JdbcUrl {
    /// Reads `jdbc:postgresql://host[:port][/db][?k=v&...]` and `jdbc:mysql://` /
    /// `jdbc:mariadb://` URLs.
    pub fn parse(url: &str) -> WeirResult<JdbcUrl> {
        let bad = |why: &str| {
            WeirError::new(format!("url '{url}' {why}")).with_hint(
                "write jdbc:postgresql://host:5432/database or jdbc:mysql://host:3306/database",
            )
        };
        let rest = url
            .trim()
            .strip_prefix("jdbc:")
            .ok_or_else(|| bad("is not a JDBC URL (it does not start with jdbc:)"))?;
        let (scheme, rest) = rest
            .split_once("://")
            .ok_or_else(|| bad("has no '://' after the database name"))?;
        let (dialect, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" => (Dialect::Postgres, 5432),
            "mysql" | "mariadb" => (Dialect::MySql, 3306),
            other => {
                return Err(WeirError::new(format!(
                    "url '{url}': weir's Jdbc connector reads PostgreSQL, MySQL and MariaDB, not '{other}'"
                )))
            }
        };
        let (authority_path, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match authority_path.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (authority_path, None),
        };
        // Several hosts (failover lists) are not supported: take none silently.
        if authority.contains(',') {
            return Err(bad("lists several hosts; weir connects to one"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| bad(&format!("has a bad port '{p}'")))?;
                (h.trim_matches(|c| c == '[' || c == ']').to_string(), port)
            }
            _ => (authority.to_string(), default_port),
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        let mut params = BTreeMap::new();
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(k.to_string(), v.to_string());
        }
        Ok(JdbcUrl {
            dialect,
            host,
            port,
            database: path.filter(|p| !p.is_empty()).map(str::to_string),
            params,
        })
    }

    /// Checks SeaTunnel's `driver` option against the URL.
    pub fn check_driver(&self, driver: Option<&str>) -> WeirResult<()> {
        let Some(driver) = driver else {
            return Ok(());
        };
        let fits = match self.dialect {
            Dialect::Postgres => driver == "org.postgresql.Driver",
            Dialect::MySql => matches!(
                driver,
                "com.mysql.cj.jdbc.Driver" | "com.mysql.jdbc.Driver" | "org.mariadb.jdbc.Driver"
            ),
        };
        if fits {
            Ok(())
        } else {
            Err(WeirError::new(format!(
                "driver '{driver}' does not fit a {} url",
                self.dialect.name()
            ))
            .with_hint("weir picks the driver from the url; remove 'driver' or make it match"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_urls_parse() {
        let u = JdbcUrl::parse(
            "jdbc:postgresql://127.0.0.1:5433/shop?sslmode=disable&stringtype=unspecified",
        )
        .unwrap();
        assert_eq!(u.dialect, Dialect::Postgres);
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 5433));
        assert_eq!(u.database.as_deref(), Some("shop"));
        assert_eq!(u.params["sslmode"], "disable");
        let m = JdbcUrl::parse("jdbc:mysql://db.example.com/app?useSSL=false").unwrap();
        assert_eq!((m.dialect, m.port), (Dialect::MySql, 3306));
        let maria = JdbcUrl::parse("jdbc:mariadb://[::1]:3307").unwrap();
        assert_eq!(
            (maria.host.as_str(), maria.port, maria.database),
            ("::1", 3307, None)
        );
        assert!(m.check_driver(Some("com.mysql.cj.jdbc.Driver")).is_ok());
        assert!(m.check_driver(Some("org.postgresql.Driver")).is_err());
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, want) in [
            ("postgresql://h/db", "does not start with jdbc:"),
            ("jdbc:oracle:thin:@h:1521:x", "has no '://'"),
            ("jdbc:sqlserver://h:1433", "not 'sqlserver'"),
            ("jdbc:mysql://h:port/db", "bad port 'port'"),
            ("jdbc:mysql://a:3306,b:3306/db", "lists several hosts"),
        ] {
            let e = JdbcUrl::parse(url).unwrap_err().message;
            assert!(e.contains(want), "{url}: {e}");
        }
        assert_eq!(
            Dialect::Postgres.quote_path("public.my\"t"),
            "\"public\".\"my\"\"t\""
        );
        assert_eq!(Dialect::MySql.quote_path("db.t"), "`db`.`t`");
    }
}
