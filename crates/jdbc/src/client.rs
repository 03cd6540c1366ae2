//! Reaching the database: the connection settings a job file gives (`Connection`), one open
//! connection to either database (`Client`), and running that I/O from the synchronous
//! prepare step (`run_blocking`).

use crate::url::{Dialect, JdbcUrl};
use crate::{mysql, pg};
use std::time::Duration;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::Options;

/// How to reach the database, as the job file says.
#[derive(Debug, Clone)]
pub struct Connection {
    pub url: JdbcUrl,
    pub user: String,
    pub password: Option<String>,
    pub timeout: Duration,
}

impl Connection {
    /// Opens a connection to the database the URL names.
    pub async fn open(&self) -> WeirResult<Client> {
        let (url, user, password) = (&self.url, &self.user, self.password.as_deref());
        Ok(match url.dialect {
            Dialect::Postgres => Client::Pg(pg::connect(url, user, password, self.timeout).await?),
            Dialect::MySql => Client::My(mysql::connect(url, user, password, self.timeout).await?),
        })
    }

    /// Reads `url`, `driver`, `user`/`username`, `password` and `connection_check_timeout_sec`.
    pub fn from_options(o: &Options) -> WeirResult<Connection> {
        let e = WeirError::new;
        let url = JdbcUrl::parse(&o.str("url").map_err(e)?.unwrap_or_default())?;
        url.check_driver(o.str("driver").map_err(e)?.as_deref())?;
        let user = o
            .first_key(&["user", "username"])
            .and_then(|k| o.str(k).ok().flatten())
            .ok_or_else(|| {
                WeirError::new("option 'user' is missing").with_hint("name the database user")
            })?;
        let timeout = o
            .i64("connection_check_timeout_sec")
            .map_err(e)?
            .unwrap_or(30)
            .clamp(1, 3600) as u64;
        Ok(Connection {
            url,
            user,
            password: o.str("password").map_err(e)?,
            timeout: Duration::from_secs(timeout),
        })
    }
}

/// One open connection, to PostgreSQL or to MySQL/MariaDB.
pub enum Client {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

impl Client {
    /// Whether the connection can still be used (a MySQL connection says so only when used).
    pub fn is_alive(&self) -> bool {
        match self {
            Client::Pg(c) => !c.is_closed(),
            Client::My(_) => true,
        }
    }

    /// Ends the session politely (a PostgreSQL client closes when dropped).
    pub async fn close(self) {
        if let Client::My(c) = self {
            let _ = c.disconnect().await;
        }
    }
}
