//! The TaskManager's data plane: a tokio runtime of its own for subtasks, apart from the one
//! that runs the REST servers, the JobManager, RPC and the metric service. A job that keeps
//! every core busy then competes with the control plane only as OS threads do, and its threads
//! run at a lower scheduling priority (nice 10), so `/overview`, a cancel, a checkpoint trigger
//! or a shutdown are served in milliseconds whatever the jobs do.

use tokio::runtime::{Builder, Handle, Runtime};

/// How much lower than the control plane subtask threads are scheduled (Linux nice steps).
const SUBTASK_NICE: i32 = 10;

/// The subtask runtime; shut down (without waiting for its tasks) when dropped.
pub struct DataPlane {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl DataPlane {
    /// A runtime of `threads` worker threads named `weir-subtask`.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("weir-subtask")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Self {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Where subtasks are spawned.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        // Dropping a runtime blocks on its tasks, which is not allowed inside another runtime.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Lowers the calling thread's priority (on Linux `setpriority` with 0 names the calling
/// thread). A failure leaves the thread at normal priority, which is only less polite.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, SUBTASK_NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtasks_run_on_lower_priority_threads_of_their_own() {
        let plane = DataPlane::start(2).unwrap();
        let (name, nice) = plane
            .handle()
            .block_on(async {
                tokio::spawn(async {
                    let name = std::thread::current().name().map(str::to_string);
                    // SAFETY: getpriority reads the calling thread's nice value.
                    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
                    (name, nice)
                })
                .await
            })
            .unwrap();
        assert_eq!(name.as_deref(), Some("weir-subtask"));
        assert_eq!(nice, SUBTASK_NICE);
    }
}
