//! Data between subtasks on different TaskManagers.
//!
//! A channel whose producer and consumer run in different processes is an in-process channel at
//! each end and a TCP connection between them: the producer's subtask writes into a local
//! [`crate::channel`] whose other end an outbound task drains onto the connection; an inbound
//! task on the consumer's TaskManager reads the connection into the local channel the consuming
//! subtask reads. Subtasks see the same channels as in one process, so barrier alignment,
//! watermarks and end of input work unchanged: they travel in band, in order with the data.
//!
//! Flow control is credit-based, as in Flink: the consumer grants credit for as many rows as its
//! channel holds and gives credit back as rows move on into it; the producer sends a batch only
//! with credit for it (control elements need none). A slow consumer therefore stops its remote
//! producer after a bounded number of rows, however large the socket buffers, and backpressure
//! crosses machines the way it crosses subtasks.
//!
//! Every channel has its own connection, opened by the producer and named by a [`ChannelId`]; the
//! consumer's [`Exchange`] waits a while for a connection that arrives before its own
//! deployment. A connection that breaks without a `Close` frame (a killed process, a lost
//! machine) fails the subtask at this end, so the job restarts from its latest checkpoint.

mod inbound;
mod outbound;
pub mod wire;

use crate::channel::{ChannelReceiver, ChannelSender};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use weir_core::{JobId, WeirError};

/// One channel of a job attempt: edge `edge` from subtask `source` to subtask `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId {
    pub job: JobId,
    pub attempt: u32,
    pub edge: u32,
    pub source: u32,
    pub target: u32,
}

/// Where another TaskManager's exchange listens (`host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress(pub String);

impl std::fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which subtasks of a deployment run here: per vertex, per subtask, `None` for here or the
/// address of the TaskManager that runs it.
#[derive(Debug, Clone, Default)]
pub struct Locality {
    pub remote: Vec<Vec<Option<PeerAddress>>>,
}

impl Locality {
    /// Every subtask here (the mini cluster, or a job on one TaskManager).
    pub fn all_local() -> Self {
        Self::default()
    }

    /// Where subtask `subtask` of vertex `vertex` runs, `None` when here.
    pub fn peer(&self, vertex: usize, subtask: usize) -> Option<&PeerAddress> {
        self.remote.get(vertex)?.get(subtask)?.as_ref()
    }

    pub fn is_local(&self, vertex: usize, subtask: usize) -> bool {
        self.peer(vertex, subtask).is_none()
    }
}

/// A network failure at one end of a channel, charged to the local subtask at that end.
#[derive(Debug, Clone)]
pub struct NetworkFailure {
    pub vertex: usize,
    pub subtask: usize,
    pub error: WeirError,
}

/// What an exchange task knows of its job: how to tell it a channel failed, and when it is
/// cancelled.
#[derive(Clone)]
pub struct JobLink {
    pub cancel: CancellationToken,
    pub failures: mpsc::UnboundedSender<NetworkFailure>,
    /// The local subtask at this end of the channel.
    pub vertex: usize,
    pub subtask: usize,
}

impl JobLink {
    /// Reports a broken channel, then keeps this end open until the job has reacted (it cancels
    /// its subtasks, or it has ended): a consuming subtask that saw its input close first would
    /// take it for the end of the input and finish.
    async fn fail(&self, error: WeirError) {
        let _ = self.failures.send(NetworkFailure {
            vertex: self.vertex,
            subtask: self.subtask,
            error,
        });
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            _ = self.failures.closed() => {}
        }
    }
}

/// How long a consumer waits for the producer's connection, and the producer for the
/// consumer's registration: deployments on different TaskManagers do not finish together.
pub const DEFAULT_ACCEPT_TIMEOUT: Duration = Duration::from_secs(60);

/// A consumer end waiting for its producer's connection.
struct Expected {
    tx: ChannelSender,
    capacity: u32,
    link: JobLink,
}

struct Inner {
    address: SocketAddr,
    expected: Mutex<HashMap<ChannelId, Expected>>,
    registered: Notify,
    accept_timeout: Duration,
    /// Where connection tasks run: the TaskManager's data plane, beside its subtasks.
    runtime: Handle,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// A TaskManager's data exchange: its listener for incoming channels and the outbound
/// connections of its subtasks.
#[derive(Clone)]
pub struct Exchange {
    inner: Arc<Inner>,
}

impl Exchange {
    /// Listens on `address` (port 0 for any free one). Connection tasks run on `runtime`.
    pub async fn bind(address: SocketAddr, runtime: Handle) -> std::io::Result<Exchange> {
        let listener = std::net::TcpListener::bind(address)?;
        Self::listen(listener, runtime)
    }

    /// Serves on a bound listener (what a TaskManager binds before it registers, so a bad
    /// `taskmanager.data.port` fails its start). Call within a tokio runtime.
    pub fn listen(listener: std::net::TcpListener, runtime: Handle) -> std::io::Result<Exchange> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let inner = Arc::new(Inner {
            address: listener.local_addr()?,
            expected: Mutex::new(HashMap::new()),
            registered: Notify::new(),
            accept_timeout: DEFAULT_ACCEPT_TIMEOUT,
            runtime,
            accept: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let Some(inner) = weak.upgrade() else { return };
                let rt = inner.runtime.clone();
                rt.spawn(inbound::serve(inner, stream, peer));
            }
        });
        if let Ok(mut a) = inner.accept.lock() {
            *a = Some(accept);
        }
        Ok(Exchange { inner })
    }

    /// The port it listens on (what a TaskManager registers as its data port).
    pub fn port(&self) -> u16 {
        self.inner.address.port()
    }

    /// Feeds `tx` from the remote producer of channel `id` once it connects; `capacity` is the
    /// channel's size in rows, the credit the producer starts with.
    pub fn expect(&self, id: ChannelId, tx: ChannelSender, capacity: usize, link: JobLink) {
        let capacity = capacity.clamp(1, u32::MAX as usize) as u32;
        if let Ok(mut e) = self.inner.expected.lock() {
            e.insert(id, Expected { tx, capacity, link });
        }
        self.inner.registered.notify_waiters();
    }

    /// Ships what `rx` receives to the consumer of channel `id` at `to`.
    pub fn send(&self, id: ChannelId, to: PeerAddress, rx: ChannelReceiver, link: JobLink) {
        let timeout = self.inner.accept_timeout;
        self.inner
            .runtime
            .spawn(outbound::ship(id, to, rx, link, timeout));
    }

    /// Forgets the consumer ends of an attempt that no producer connected to (its job ended).
    pub fn forget(&self, job: JobId, attempt: u32) {
        if let Ok(mut e) = self.inner.expected.lock() {
            e.retain(|id, _| !(id.job == job && id.attempt == attempt));
        }
    }
}

impl Inner {
    /// Takes the consumer end of `id`, waiting up to the accept timeout for it to be expected.
    async fn claim(&self, id: &ChannelId) -> Option<Expected> {
        let deadline = tokio::time::Instant::now() + self.accept_timeout;
        loop {
            let registered = self.registered.notified();
            tokio::pin!(registered);
            registered.as_mut().enable();
            if let Some(e) = self.expected.lock().ok()?.remove(id) {
                return Some(e);
            }
            if tokio::time::timeout_at(deadline, registered).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(a) = self.accept.get_mut().ok().and_then(Option::take) {
            a.abort();
        }
    }
}
