//! Facts about this process read from `/proc` (Linux): its threads, resident memory and open
//! files. These stand in for the JVM figures Flink reports.

/// One thread: its id, name and scheduler state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadEntry {
    pub tid: u64,
    pub name: String,
    /// `RUNNABLE`, `WAITING`, … mapped from the kernel's state letter.
    pub state: String,
    /// The kernel function the thread sleeps in (`/proc/.../wchan`), "" when it runs: the
    /// innermost frame the kernel lets a process read of its own threads.
    pub wait_channel: String,
    /// The kernel's state letter (`R` running or runnable, `S` sleeping, `D` in I/O, …).
    pub state_letter: char,
}

/// The threads of this process.
pub fn threads() -> Vec<ThreadEntry> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in entries.flatten() {
        let tid: u64 = e.file_name().to_string_lossy().parse().unwrap_or(0);
        let dir = e.path();
        let name = std::fs::read_to_string(dir.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // The state letter follows the parenthesised command name.
        let letter = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("?");
        let state = match letter {
            "R" => "RUNNABLE",
            "S" => "WAITING",
            "D" => "BLOCKED",
            "T" | "t" => "STOPPED",
            "Z" => "TERMINATED",
            _ => "UNKNOWN",
        };
        out.push(ThreadEntry {
            tid,
            name,
            state: state.into(),
            state_letter: letter.chars().next().unwrap_or('?'),
            wait_channel: std::fs::read_to_string(dir.join("wchan"))
                .map(|w| {
                    if w.trim() == "0" {
                        String::new()
                    } else {
                        w.trim().to_string()
                    }
                })
                .unwrap_or_default(),
        });
    }
    out.sort_by_key(|t| t.tid);
    out
}

/// Resident set size in bytes.
pub fn rss_bytes() -> u64 {
    status_kb("VmRSS:") * 1024
}

/// Peak resident set size in bytes.
pub fn peak_rss_bytes() -> u64 {
    status_kb("VmHWM:") * 1024
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time this process has used (user + system), in nanoseconds.
pub fn cpu_time_ns() -> u64 {
    // Fields 14 and 15 of /proc/self/stat, in USER_HZ ticks (100 per second on Linux). The
    // command name (field 2) may hold spaces, so count from the closing parenthesis.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) * 10_000_000
}

/// When this process started, in seconds since the epoch (0 where unknown): its start in clock
/// ticks after boot (field 22 of /proc/self/stat) plus the boot time (`btime` of /proc/stat).
pub fn start_time_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let ticks: u64 = rest
        .split_whitespace()
        .nth(19)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if boot == 0 {
        return 0.0;
    }
    boot as f64 + ticks as f64 / 100.0
}

/// Virtual memory size in bytes.
pub fn virtual_bytes() -> u64 {
    status_kb("VmSize:") * 1024
}

/// Physical memory of the machine in bytes (`MemTotal`), 0 where unknown.
pub fn total_memory_bytes() -> u64 {
    meminfo_bytes("MemTotal:")
}

/// One line of `/proc/meminfo` (`MemAvailable:`, `SwapTotal:`, …) in bytes, 0 where unknown.
pub fn meminfo_bytes(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The machine's one-minute load average, -1 where unknown.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(-1.0)
}

/// Number of open file descriptors.
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// The soft limit on open file descriptors.
pub fn max_fds() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_threads_memory_and_files() {
        let t = threads();
        assert!(!t.is_empty());
        assert!(t.iter().all(|t| !t.state.is_empty()));
        assert!(rss_bytes() > 0);
        assert!(open_fds() > 0);
        assert!(max_fds() >= open_fds());
        assert!(virtual_bytes() >= rss_bytes());
        let _ = cpu_time_ns();
    }
}
