//! One TCP connection to one Kafka broker: length-prefixed frames, correlation ids, and the
//! API versions both sides speak (asked once, when the connection opens). Every request goes
//! through [`Connection::call`], which picks the highest version both the broker and weir
//! understand, never above the cap the caller names (newer versions of some requests change
//! their meaning, such as topic ids instead of names).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, Request, StrBytes};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use weir_core::{WeirError, WeirResult};

/// Frames larger than this are refused rather than allocated (a broker never sends them; a
/// peer that is not a broker might).
const MAX_FRAME: usize = 256 << 20;

/// An open connection to one broker.
pub struct Connection {
    addr: String,
    stream: BufReader<TcpStream>,
    correlation: i32,
    client_id: StrBytes,
    /// API key → (min, max) version the broker supports.
    versions: HashMap<i16, (i16, i16)>,
    timeout: Duration,
}

impl Connection {
    /// Connects to `addr` (`host:port`) and asks which API versions it speaks.
    pub async fn open(addr: &str, client_id: &str, timeout: Duration) -> WeirResult<Connection> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| WeirError::new(format!("connecting to Kafka broker {addr} timed out")))?
            .map_err(|e| WeirError::new(format!("cannot connect to Kafka broker {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            addr: addr.to_string(),
            stream: BufReader::new(stream),
            correlation: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            versions: HashMap::new(),
            timeout,
        };
        // ApiVersions v0 is the one every broker answers, whatever it speaks otherwise.
        let req = ApiVersionsRequest::default();
        let resp: ApiVersionsResponse = conn.send(&req, 0, timeout).await?;
        if resp.error_code != 0 {
            return Err(WeirError::new(format!(
                "Kafka broker {addr} refused ApiVersions: {}",
                error_name(resp.error_code)
            )));
        }
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(conn)
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The version of `R` to use: the highest both sides speak, at most `cap`.
    pub fn version<R: Request>(&self, cap: i16) -> WeirResult<i16> {
        let (min, max) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            WeirError::new(format!(
                "Kafka broker {} does not support API {}",
                self.addr,
                api_name(R::KEY)
            ))
        })?;
        let ours = R::VERSIONS;
        let v = max.min(ours.max).min(cap);
        if v < min.max(ours.min) {
            return Err(WeirError::new(format!(
                "Kafka broker {} speaks {} versions {min}..{max}, weir {}..{}",
                self.addr,
                api_name(R::KEY),
                ours.min,
                ours.max.min(cap)
            )));
        }
        Ok(v)
    }

    /// Sends `req` at the highest common version up to `cap` and reads its response.
    pub async fn call<R: Request>(&mut self, req: &R, cap: i16) -> WeirResult<R::Response> {
        let v = self.version::<R>(cap)?;
        let timeout = self.timeout;
        self.send(req, v, timeout).await
    }

    /// Like [`call`](Self::call), allowing `extra` beyond the usual timeout (a fetch that
    /// waits on the broker for data).
    pub async fn call_waiting<R: Request>(
        &mut self,
        req: &R,
        cap: i16,
        extra: Duration,
    ) -> WeirResult<R::Response> {
        let v = self.version::<R>(cap)?;
        let timeout = self.timeout + extra;
        self.send(req, v, timeout).await
    }

    async fn send<R: Request>(
        &mut self,
        req: &R,
        version: i16,
        timeout: Duration,
    ) -> WeirResult<R::Response> {
        self.correlation = self.correlation.wrapping_add(1);
        let correlation = self.correlation;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::with_capacity(256);
        buf.put_i32(0);
        let encoded = header
            .encode(&mut buf, R::header_version(version))
            .and_then(|_| req.encode(&mut buf, version));
        encoded
            .map_err(|e| WeirError::new(format!("encoding {} request: {e}", api_name(R::KEY))))?;
        let len = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        let addr = self.addr.clone();
        let io = async {
            self.stream.get_mut().write_all(&buf).await?;
            let len = self.stream.read_i32().await?;
            if len < 0 || len as usize > MAX_FRAME {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("frame of {len} bytes"),
                ));
            }
            let mut body = vec![0u8; len as usize];
            self.stream.read_exact(&mut body).await?;
            Ok(Bytes::from(body))
        };
        let mut body = tokio::time::timeout(timeout, io)
            .await
            .map_err(|_| {
                WeirError::new(format!(
                    "Kafka broker {addr} did not answer {} within {timeout:?}",
                    api_name(R::KEY)
                ))
            })?
            .map_err(|e| WeirError::new(format!("Kafka broker {addr}: {e}")))?;
        let decoded = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .and_then(|h| {
                if h.correlation_id != correlation {
                    Err(anyhow::anyhow!(
                        "answer to request {} where {correlation} was expected",
                        h.correlation_id
                    ))
                } else {
                    R::Response::decode(&mut body, version)
                }
            });
        let resp = decoded.map_err(|e| {
            WeirError::new(format!(
                "Kafka broker {addr}: unreadable {} response: {e}",
                api_name(R::KEY)
            ))
        })?;
        if body.has_remaining() {
            tracing::debug!(
                api = api_name(R::KEY),
                left = body.remaining(),
                "response has bytes weir does not read"
            );
        }
        Ok(resp)
    }
}

/// Kafka's name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`).
pub fn error_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        Some(e) => format!("{e:?}"),
        None => format!("error {code}"),
    }
}

/// A readable name for an API key.
pub fn api_name(key: i16) -> String {
    match kafka_protocol::messages::ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => format!("API {key}"),
    }
}

/// Whether a response error means "ask again, maybe elsewhere" rather than "this fails".
pub fn is_retriable(code: i16) -> bool {
    kafka_protocol::ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable())
}

/// `Message::VERSIONS` for a message type, for tests and logs.
pub fn versions<M: Message>() -> (i16, i16) {
    (M::VERSIONS.min, M::VERSIONS.max)
}
