//! The producer's end of a remote channel: drains the local channel onto the connection,
//! spending credit on data.

use super::inbound::CLOSE_LINGER;
use super::wire::{credit_cost, read_frame, write_frame, BatchEncoder, Frame};
use super::{ChannelId, JobLink, PeerAddress};
use crate::channel::{ChannelReceiver, StreamElement};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use weir_core::WeirError;

/// How an outbound channel ended when it did not fail.
enum Ended {
    /// Everything up to the end of input was sent.
    Delivered,
    /// The job was cancelled here.
    Cancelled,
    /// The consumer stopped on purpose (its subtask ended, or its job was cancelled), and why.
    PeerClosed(String),
}

/// What the connection's reading half hears from the consumer.
enum FromPeer {
    Credit(u32),
    Closed(String),
    Broken(String),
}

/// Runs the channel until its end of input is sent, the job is cancelled, or it fails (then the
/// producing subtask is failed through `link`).
pub(super) async fn ship(
    id: ChannelId,
    to: PeerAddress,
    mut rx: ChannelReceiver,
    link: JobLink,
    timeout: Duration,
) {
    match run(id, &to, &mut rx, &link, timeout).await {
        Ok(Ended::Delivered) | Ok(Ended::Cancelled) => {}
        // Dropping the local end tells the producing subtask its consumer went away, as on an
        // in-process channel.
        Ok(Ended::PeerClosed(why)) => {
            tracing::debug!("channel {id:?} to {to} closed by its consumer: {why}");
            drop(rx)
        }
        Err(e) => {
            if !link.cancel.is_cancelled() {
                let e = WeirError::new(format!(
                    "sending to the subtask {} of the next vertex at {to} failed: {e}",
                    id.target + 1
                ));
                link.fail(e).await;
            }
        }
    }
}

async fn connect(to: &PeerAddress, timeout: Duration) -> Result<TcpStream, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut wait = Duration::from_millis(20);
    loop {
        match TcpStream::connect(&to.0).await {
            Ok(s) => return Ok(s),
            Err(e) if tokio::time::Instant::now() + wait >= deadline => {
                return Err(format!("cannot connect: {e}"))
            }
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

async fn run(
    id: ChannelId,
    to: &PeerAddress,
    rx: &mut ChannelReceiver,
    link: &JobLink,
    timeout: Duration,
) -> Result<Ended, String> {
    let cancel = &link.cancel;
    let stream = tokio::select! {
        _ = cancel.cancelled() => return Ok(Ended::Cancelled),
        s = connect(to, timeout) => s?,
    };
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut wr = BufWriter::with_capacity(256 * 1024, wr);
    let io = |e: std::io::Error| e.to_string();
    write_frame(&mut wr, &Frame::Hello(id)).await.map_err(io)?;
    wr.flush().await.map_err(io)?;
    let answer = tokio::select! {
        _ = cancel.cancelled() => return Ok(Ended::Cancelled),
        f = read_frame(&mut rd) => f.map_err(|e| e.to_string())?,
    };
    let capacity = match answer {
        Some(Frame::Accepted { credit }) => credit.max(1),
        Some(Frame::Close(why)) => {
            return Err(format!("the TaskManager refused the channel: {why}"))
        }
        Some(other) => return Err(format!("unexpected answer {other:?}")),
        None => return Err("the TaskManager closed the connection".into()),
    };
    // The reading half runs apart, so waiting for credit never loses half a frame to a select.
    let (peer_tx, mut peer) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let said = match read_frame(&mut rd).await {
                Ok(Some(Frame::Credit(n))) => FromPeer::Credit(n),
                Ok(Some(Frame::Close(why))) => FromPeer::Closed(why),
                Ok(Some(other)) => FromPeer::Broken(format!("unexpected frame {other:?}")),
                Ok(None) => FromPeer::Broken("the connection was closed".into()),
                Err(e) => FromPeer::Broken(e.to_string()),
            };
            let last = !matches!(said, FromPeer::Credit(_));
            if peer_tx.send(said).is_err() || last {
                return;
            }
        }
    });
    let result = drain(rx, &mut wr, &mut peer, link, capacity).await;
    reader.abort();
    result
}

/// Sends what the producer writes, as credit allows.
async fn drain(
    rx: &mut ChannelReceiver,
    wr: &mut (impl tokio::io::AsyncWrite + Unpin),
    peer: &mut mpsc::UnboundedReceiver<FromPeer>,
    link: &JobLink,
    capacity: u32,
) -> Result<Ended, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut credit = capacity;
    let mut encoder = BatchEncoder::default();
    let mut pending: Option<StreamElement> = None;
    loop {
        let sendable = match &pending {
            Some(StreamElement::Data(b)) => credit >= credit_cost(b, capacity),
            Some(_) => true,
            None => false,
        };
        if sendable {
            match pending.take() {
                Some(StreamElement::Data(b)) => {
                    credit -= credit_cost(&b, capacity);
                    let encoded = encoder.encode(&b).map_err(|e| e.to_string())?;
                    write_frame(wr, &Frame::Data(encoded)).await.map_err(io)?;
                }
                Some(StreamElement::Barrier(b)) => {
                    write_frame(wr, &Frame::Barrier(b)).await.map_err(io)?;
                    // A barrier waits for nothing: the consumer aligns on it.
                    wr.flush().await.map_err(io)?;
                }
                Some(StreamElement::Watermark(w)) => {
                    write_frame(wr, &Frame::Watermark(w)).await.map_err(io)?
                }
                Some(StreamElement::EndOfInput) => {
                    write_frame(wr, &Frame::EndOfInput).await.map_err(io)?;
                    wr.flush().await.map_err(io)?;
                    // Credit still in flight is read until the consumer closes: closing with
                    // unread bytes would reset the connection under the data it still reads.
                    let _ = wr.shutdown().await;
                    linger(peer).await;
                    return Ok(Ended::Delivered);
                }
                None => {}
            }
            continue;
        }
        if pending.is_none() {
            if let Some(next) = rx.try_recv() {
                pending = Some(next);
                continue;
            }
        }
        // Nothing more to send right now: what is buffered goes out before waiting.
        wr.flush().await.map_err(io)?;
        tokio::select! {
            _ = link.cancel.cancelled() => {
                close(wr, peer, "the producing job was cancelled").await;
                return Ok(Ended::Cancelled);
            }
            said = peer.recv() => match said {
                Some(FromPeer::Credit(n)) => credit = credit.saturating_add(n).min(capacity),
                Some(FromPeer::Closed(why)) => return Ok(Ended::PeerClosed(why)),
                Some(FromPeer::Broken(e)) => return Err(e),
                None => return Err("the connection's reader stopped".into()),
            },
            next = rx.recv(), if pending.is_none() => match next {
                Some(next) => pending = Some(next),
                // The producing subtask is gone without ending its output: it failed or was
                // cancelled, and its job says so; the consumer must not take this for an end.
                None => {
                    close(wr, peer, "the producing subtask stopped").await;
                    return Ok(Ended::Cancelled);
                }
            },
        }
    }
}

/// Says why this end stops and waits (briefly) for the consumer to close.
async fn close(
    wr: &mut (impl tokio::io::AsyncWrite + Unpin),
    peer: &mut mpsc::UnboundedReceiver<FromPeer>,
    why: &str,
) {
    let _ = write_frame(wr, &Frame::Close(why.into())).await;
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
    linger(peer).await;
}

/// Reads what the consumer still says until it closes, for at most [`CLOSE_LINGER`].
async fn linger(peer: &mut mpsc::UnboundedReceiver<FromPeer>) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(FromPeer::Credit(_)) = peer.recv().await {}
    })
    .await;
}
