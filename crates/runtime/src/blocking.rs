//! Preparing a job is synchronous, yet connectors must ask their systems (a database, a
//! broker) what is there before a job may run. This runs such a question on a runtime and a
//! thread of its own, so it works whether or not the caller is inside a runtime.

use weir_core::{WeirError, WeirResult};

/// Runs `f` to completion on a runtime of its own, on a thread of its own: preparing a job is
/// synchronous and may be called from inside another runtime.
pub fn run_blocking<T: Send + 'static>(
    f: impl std::future::Future<Output = WeirResult<T>> + Send + 'static,
) -> WeirResult<T> {
    std::thread::Builder::new()
        .name("weir-prepare".into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| WeirError::new(format!("starting a runtime: {e}")))?
                .block_on(f)
        })
        .map_err(|e| WeirError::new(format!("starting a thread: {e}")))?
        .join()
        .map_err(|_| WeirError::new("preparing the job panicked"))?
}
