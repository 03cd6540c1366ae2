//! Process status metrics under the names Flink's dashboard reads (`Status.JVM.*`). weir has
//! no JVM, so each name carries the honest process equivalent:
//!
//! | Flink name | weir value |
//! |---|---|
//! | `Status.JVM.CPU.Load` | share of all cores this process used since the previous read (0..1) |
//! | `Status.JVM.CPU.Time` | user + system CPU time of the process, ns |
//! | `Status.JVM.Memory.Heap.Used` / `.Committed` | resident set size (all memory the process holds) |
//! | `Status.JVM.Memory.Heap.Max` | physical memory of the machine |
//! | `Status.JVM.Memory.NonHeap.*`, `.Metaspace.*`, `.Direct.*`, `.Mapped.*` | 0: no such pools outside a JVM |
//! | `Status.JVM.GarbageCollector.All.{Count,Time,TimeMsPerSecond}` | 0: no garbage collector |
//! | `Status.JVM.Threads.Count` | OS threads of the process |
//! | `Status.JVM.FileDescriptor.{Max,Open}` (and `Status.FileDescriptor.{Max,Open}.Count`) | fd soft limit / open fds |

use crate::group::MetricGroup;
use crate::kinds::GaugeValue;
use std::sync::Mutex;
use std::time::Instant;
use weir_core::process;

/// Adds the process status metrics to a JobManager or TaskManager group.
pub fn register_process_metrics(g: &mut MetricGroup) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let last: Mutex<(Instant, u64, f64)> =
        Mutex::new((Instant::now(), process::cpu_time_ns(), 0.0));
    g.gauge("Status.JVM.CPU.Load", move || {
        let now = Instant::now();
        let cpu = process::cpu_time_ns();
        let Ok(mut l) = last.lock() else {
            return GaugeValue::Float(0.0);
        };
        let wall = now.duration_since(l.0).as_nanos() as f64;
        // Below a second the tick granularity of /proc (10 ms) makes the figure noise.
        if wall >= 1e9 {
            l.2 = (cpu.saturating_sub(l.1) as f64 / wall / cores).clamp(0.0, 1.0);
            *l = (now, cpu, l.2);
        }
        GaugeValue::Float(l.2)
    });
    g.gauge("Status.JVM.CPU.Time", || {
        GaugeValue::Int(process::cpu_time_ns() as i64)
    });
    for name in [
        "Status.JVM.Memory.Heap.Used",
        "Status.JVM.Memory.Heap.Committed",
    ] {
        g.gauge(name, || GaugeValue::Int(process::rss_bytes() as i64));
    }
    g.gauge("Status.JVM.Memory.Heap.Max", || {
        GaugeValue::Int(process::total_memory_bytes() as i64)
    });
    for pool in ["NonHeap", "Metaspace"] {
        for field in ["Used", "Committed", "Max"] {
            g.gauge(&format!("Status.JVM.Memory.{pool}.{field}"), || {
                GaugeValue::Int(0)
            });
        }
    }
    for pool in ["Direct", "Mapped"] {
        for field in ["Count", "MemoryUsed", "TotalCapacity"] {
            g.gauge(&format!("Status.JVM.Memory.{pool}.{field}"), || {
                GaugeValue::Int(0)
            });
        }
    }
    for field in ["Count", "Time"] {
        g.gauge(&format!("Status.JVM.GarbageCollector.All.{field}"), || {
            GaugeValue::Int(0)
        });
    }
    g.gauge("Status.JVM.GarbageCollector.All.TimeMsPerSecond", || {
        GaugeValue::Float(0.0)
    });
    g.gauge("Status.JVM.Threads.Count", || {
        GaugeValue::Int(process::threads().len() as i64)
    });
    for name in [
        "Status.JVM.FileDescriptor.Max",
        "Status.FileDescriptor.Max.Count",
    ] {
        g.gauge(name, || GaugeValue::Int(process::max_fds() as i64));
    }
    for name in [
        "Status.JVM.FileDescriptor.Open",
        "Status.FileDescriptor.Open.Count",
    ] {
        g.gauge(name, || GaugeValue::Int(process::open_fds() as i64));
    }
}
