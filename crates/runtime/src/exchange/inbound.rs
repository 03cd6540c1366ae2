//! The consumer's end of a remote channel: reads the connection into the local channel and
//! gives credit back as rows move on.

use super::wire::{credit_cost, read_frame, write_frame, BatchDecoder, Frame};
use super::{Expected, Inner};
use crate::channel::StreamElement;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use weir_core::WeirError;

/// How long a closing end keeps reading so that its `Close` is heard.
pub(super) const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// How long a new connection may take to name its channel.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one incoming connection.
pub(super) async fn serve(inner: Arc<Inner>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(256 * 1024, rd);
    let mut wr = BufWriter::new(wr);
    let hello = tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut rd)).await;
    let id = match hello {
        Ok(Ok(Some(Frame::Hello(id)))) => id,
        Ok(Err(e)) => {
            tracing::warn!("refused a data connection from {peer}: {e}");
            let _ = write_frame(&mut wr, &Frame::Close(e.to_string())).await;
            let _ = wr.flush().await;
            return;
        }
        _ => return,
    };
    let Some(Expected { tx, capacity, link }) = inner.claim(&id).await else {
        let why = format!(
            "no subtask here waits for channel {} of job {} attempt {} (its attempt has ended, or was never deployed here)",
            id.edge, id.job, id.attempt
        );
        let _ = write_frame(&mut wr, &Frame::Close(why)).await;
        let _ = wr.flush().await;
        return;
    };
    let fail = |e: String| {
        WeirError::new(format!(
            "the data connection from subtask {} of the previous vertex at {peer} broke: {e}",
            id.source + 1
        ))
    };
    if write_frame(&mut wr, &Frame::Accepted { credit: capacity })
        .await
        .is_err()
        || wr.flush().await.is_err()
    {
        return link
            .fail(fail("it closed before the channel opened".into()))
            .await;
    }
    let mut decoder = BatchDecoder::default();
    let mut credit_open = true;
    let cancel = link.cancel.clone();
    loop {
        let frame = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                return close(&mut wr, &mut rd, "the consuming job was cancelled").await;
            }
            f = read_frame(&mut rd) => f,
        };
        let element = match frame {
            Ok(Some(Frame::Data(encoded))) => match decoder.decode(encoded) {
                Ok(batch) => StreamElement::Data(batch),
                Err(e) => return link.fail(fail(e.to_string())).await,
            },
            Ok(Some(Frame::Barrier(b))) => StreamElement::Barrier(b),
            Ok(Some(Frame::Watermark(w))) => StreamElement::Watermark(w),
            Ok(Some(Frame::EndOfInput)) => StreamElement::EndOfInput,
            // The producer stopped on purpose: its job is cancelled or failing, and the
            // JobManager cancels this end too. Until then the input stays open.
            Ok(Some(Frame::Close(_))) => {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = link.failures.closed() => {}
                }
                return;
            }
            Ok(Some(other)) => return link.fail(fail(format!("unexpected frame {other:?}"))).await,
            Ok(None) => return link.fail(fail("the connection was closed".into())).await,
            Err(e) => return link.fail(fail(e.to_string())).await,
        };
        let cost = match &element {
            StreamElement::Data(b) => credit_cost(b, capacity),
            _ => 0,
        };
        let end = matches!(element, StreamElement::EndOfInput);
        let sent = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            r = tx.send(element) => r,
        };
        if sent.is_err() {
            // The consuming subtask has stopped: tell the producer, as an in-process channel
            // tells its sender by closing.
            return close(&mut wr, &mut rd, "the consuming subtask has stopped").await;
        }
        if end {
            return;
        }
        // A producer that has sent its end of input closes while credit is still on its way
        // back; whether the connection really broke, the next read tells.
        if cost > 0 && credit_open {
            let credited = write_frame(&mut wr, &Frame::Credit(cost)).await;
            credit_open = credited.is_ok() && wr.flush().await.is_ok();
        }
    }
}

/// Says why this end stops, then reads what the producer still sends until it closes (briefly),
/// so the producer hears the `Close` and not a reset connection.
async fn close(wr: &mut (impl AsyncWrite + Unpin), rd: &mut (impl AsyncRead + Unpin), why: &str) {
    let _ = write_frame(wr, &Frame::Close(why.into())).await;
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Ok(Some(_)) = read_frame(rd).await {}
    })
    .await;
}
