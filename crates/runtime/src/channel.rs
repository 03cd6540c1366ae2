//! Bounded channels between subtasks, bounded by rows in flight rather than by message count,
//! so a slow consumer slows its producers by the same amount of data whatever the batch size.
//!
//! A sender takes permits (one per row, at most the capacity for a single huge batch) before
//! enqueuing; the receiver gives them back when it takes the batch out. Control elements
//! (barriers, watermarks, end of input) take no permit, so they are never stuck behind a full
//! buffer of data on the producer side and always follow the data sent before them.

use crate::batch::Batch;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, Semaphore};

/// A checkpoint barrier: everything sent before it belongs to checkpoint `checkpoint_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Barrier {
    pub checkpoint_id: u64,
    pub timestamp_ms: i64,
}

/// What flows on a channel.
#[derive(Debug, Clone)]
pub enum StreamElement {
    Data(Batch),
    Barrier(Barrier),
    Watermark(i64),
    /// The producer has no more data: bounded input is exhausted.
    EndOfInput,
}

struct Shared {
    permits: Semaphore,
    capacity: usize,
    in_flight: AtomicUsize,
}

/// The producing end.
#[derive(Clone)]
pub struct ChannelSender {
    tx: mpsc::UnboundedSender<(StreamElement, usize)>,
    shared: Arc<Shared>,
}

/// The consuming end.
pub struct ChannelReceiver {
    rx: mpsc::UnboundedReceiver<(StreamElement, usize)>,
    shared: Arc<Shared>,
}

/// Raised when the other end is gone (the job is being torn down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

/// A channel holding at most `capacity_rows` rows in flight.
pub fn channel(capacity_rows: usize) -> (ChannelSender, ChannelReceiver) {
    let capacity = capacity_rows.max(1);
    let shared = Arc::new(Shared {
        permits: Semaphore::new(capacity),
        capacity,
        in_flight: AtomicUsize::new(0),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    (
        ChannelSender {
            tx,
            shared: shared.clone(),
        },
        ChannelReceiver { rx, shared },
    )
}

impl ChannelSender {
    /// Sends, waiting while the channel is full.
    pub async fn send(&self, element: StreamElement) -> Result<(), Disconnected> {
        let rows = match &element {
            StreamElement::Data(b) => b.num_rows().min(self.shared.capacity),
            _ => 0,
        };
        if rows > 0 {
            let permit = self
                .shared
                .permits
                .acquire_many(rows as u32)
                .await
                .map_err(|_| Disconnected)?;
            permit.forget();
            self.shared.in_flight.fetch_add(rows, Ordering::Relaxed);
        }
        self.tx.send((element, rows)).map_err(|_| Disconnected)
    }

    /// A gauge on this channel's fill.
    pub fn gauge(&self) -> ChannelGauge {
        ChannelGauge(self.shared.clone())
    }

    /// Rows currently buffered.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }
}

/// Reads how full a channel is, for the `inPoolUsage`/`outPoolUsage` gauges.
#[derive(Clone)]
pub struct ChannelGauge(Arc<Shared>);

impl std::fmt::Debug for ChannelGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelGauge({:.2})", self.usage())
    }
}

impl ChannelGauge {
    /// Share of the capacity in use, 0.0..=1.0.
    pub fn usage(&self) -> f64 {
        self.0.in_flight.load(Ordering::Relaxed) as f64 / self.0.capacity as f64
    }
}

impl ChannelReceiver {
    /// A gauge on this channel's fill.
    pub fn gauge(&self) -> ChannelGauge {
        ChannelGauge(self.shared.clone())
    }

    /// Receives the next element; `None` once every sender is gone and the buffer is empty.
    pub async fn recv(&mut self) -> Option<StreamElement> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next element if one is buffered now, without waiting.
    pub fn try_recv(&mut self) -> Option<StreamElement> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match self.poll_recv(&mut cx) {
            Poll::Ready(e) => e,
            Poll::Pending => None,
        }
    }

    /// Polls for the next element (what a subtask reading several inputs, some of them
    /// blocked by barrier alignment, uses).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<StreamElement>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some((element, rows))) => {
                if rows > 0 {
                    self.shared.in_flight.fetch_sub(rows, Ordering::Relaxed);
                    self.shared.permits.add_permits(rows);
                }
                Poll::Ready(Some(element))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for ChannelReceiver {
    fn drop(&mut self) {
        // Wake any producer blocked on a full channel: nobody will drain it any more.
        self.shared.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::time::Duration;

    fn rows(n: usize) -> StreamElement {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let arr = Int64Array::from_iter_values(0..n as i64);
        StreamElement::Data(Batch::inserts(
            RecordBatch::try_new(schema, vec![Arc::new(arr)]).unwrap(),
        ))
    }

    #[tokio::test]
    async fn a_full_channel_blocks_the_sender_until_rows_are_taken() {
        let (tx, mut rx) = channel(10);
        tx.send(rows(6)).await.unwrap();
        tx.send(rows(4)).await.unwrap();
        assert_eq!(tx.in_flight(), 10);
        let blocked = tokio::time::timeout(Duration::from_millis(50), tx.send(rows(1))).await;
        assert!(blocked.is_err(), "the 11th row must wait");
        // Control elements are never blocked by data.
        tx.send(StreamElement::EndOfInput).await.unwrap();
        assert!(matches!(rx.recv().await, Some(StreamElement::Data(b)) if b.num_rows() == 6));
        tokio::time::timeout(Duration::from_millis(500), tx.send(rows(1)))
            .await
            .expect("room after a receive")
            .unwrap();
    }

    #[tokio::test]
    async fn oversized_batches_pass_alone_and_dropping_the_receiver_unblocks() {
        let (tx, rx) = channel(4);
        tx.send(rows(100)).await.unwrap();
        assert_eq!(tx.in_flight(), 4);
        let waiter = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(rows(1)).await }
        });
        drop(rx);
        assert_eq!(waiter.await.unwrap(), Err(Disconnected));
    }
}
