//! Ids in Flink's wire formats: 32 lower-case hex digits for jobs and vertices.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Parses 32 hex digits into a u128, the shape of every Flink `AbstractID`.
fn parse_hex32(s: &str) -> Result<u128, String> {
    let invalid = || format!("'{s}' is not a valid id: expected 32 hexadecimal characters");
    if s.len() != 32 {
        return Err(invalid());
    }
    // 32 digits of 4 bits fill a u128 exactly, so shifting cannot overflow (and this is on
    // every per-job request's path, where from_str_radix's checked steps showed).
    let mut id = 0u128;
    for b in s.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(invalid()),
        };
        id = id << 4 | u128::from(digit);
    }
    Ok(id)
}

/// `id` as 32 lowercase hex digits. Ids are written into every answer that names a job (a
/// job list writes a hundred), where the integer formatter's generic path showed.
fn hex32(id: u128) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((id >> (124 - 4 * i)) & 0xf) as usize];
    }
    out
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(pub u128);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().as_u128())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let digits = hex32(self.0);
                match std::str::from_utf8(&digits) {
                    Ok(text) => f.pad(text),
                    Err(_) => write!(f, "{:032x}", self.0),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:032x})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                parse_hex32(s).map(Self)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
    };
}

hex_id!(
    /// Identifies one submitted job, as Flink's `JobID`.
    JobId
);
hex_id!(
    /// Identifies one vertex of a job graph, as Flink's `JobVertexID`. Derived from the job id
    /// and the vertex position so the same file submitted twice gets distinct ids.
    VertexId
);

hex_id!(
    /// Identifies one asynchronous operation (a checkpoint, savepoint or stop trigger), as
    /// Flink's `TriggerId`; a client may choose it to make retries idempotent.
    TriggerId
);

/// SeaTunnel's ids are positive 64-bit numbers, Flink's are 128 bits. weir gives every job an
/// id whose upper 64 bits are zero and whose lower 64 bits are a positive SeaTunnel id, so one
/// job has one id on every API: SeaTunnel's `733584788375666689` is Flink's
/// `0000000000000000` followed by `0a2e377a73c30001` (the same number in 16 hex digits), and
/// back. A 128-bit id a Flink client chose itself does not fit; SeaTunnel shows it folded to
/// 63 bits (see `seatunnel_id`), which is unique in practice but found only by search.
impl JobId {
    /// A fresh job id: positive, unique in this process and roughly time-ordered, laid out as
    /// SeaTunnel's FlakeId generator lays out its ids (ms since 2018-01-01 << 22, then a
    /// sequence and a member index), so ids look alike whichever API created the job.
    pub fn generate() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        /// 2018-01-01T00:00:00Z, SeaTunnel's id epoch.
        const EPOCH_MS: u64 = 1_514_764_800_000;
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(EPOCH_MS);
        let candidate = (now.saturating_sub(EPOCH_MS) & ((1 << 41) - 1)) << 22;
        // The sequence occupies bits 16..22; stepping by 1 << 16 keeps the member index 0.
        let mut last = LAST.load(Ordering::Relaxed);
        loop {
            let next = candidate.max(last + (1 << 16));
            match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Self(next as u128),
                Err(seen) => last = seen,
            }
        }
    }

    /// The job with SeaTunnel id `id`; `None` for ids SeaTunnel never issues (zero, negative).
    pub fn from_seatunnel(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id as u128))
    }

    /// This job's SeaTunnel id: the lower half when the upper half is zero (every id weir
    /// generates or a SeaTunnel client chose), else the two halves folded into 63 bits.
    pub fn seatunnel_id(self) -> i64 {
        let (hi, lo) = ((self.0 >> 64) as u64, self.0 as u64);
        if hi == 0 && lo > 0 && lo <= i64::MAX as u64 {
            lo as i64
        } else {
            ((hi ^ lo) & (i64::MAX as u64)).max(1) as i64
        }
    }
}

impl VertexId {
    /// The id of vertex number `index` of `job`: stable for the job's lifetime.
    pub fn for_job(job: JobId, index: usize) -> Self {
        let mixed =
            job.0.rotate_left(17) ^ ((index as u128 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Self(mixed)
    }
}

/// A stable 32-bit hash (FNV-1a): for names that must not change between runs of the binary,
/// such as a sink's identity inside its transaction names.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_round_trips_through_hex() {
        let id = JobId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<JobId>(), Ok(id));
    }

    #[test]
    fn malformed_ids_are_rejected_with_a_reason() {
        assert!("xyz"
            .parse::<JobId>()
            .unwrap_err()
            .contains("32 hexadecimal"));
        assert!("g".repeat(32).parse::<JobId>().is_err());
        assert!(format!("+{}", "0".repeat(31)).parse::<JobId>().is_err());
        assert!(format!("{}é", "0".repeat(30)).parse::<JobId>().is_err());
        assert_eq!(
            JobId(0x0123_4567_89ab_cdef_0000_0000_0000_00f1).to_string(),
            format!("{:032x}", 0x0123_4567_89ab_cdef_0000_0000_0000_00f1_u128)
        );
        assert_eq!(format!("{:>34}", JobId(1)), format!("  {:032x}", 1));
        let mixed = "0123456789abcdefABCDEF0000000001".parse::<JobId>();
        assert_eq!(mixed, Ok(JobId(0x0123456789abcdefabcdef0000000001)));
    }

    #[test]
    fn seatunnel_ids_map_to_flink_ids_and_back() {
        let id = JobId::from_seatunnel(733_584_788_375_666_689).unwrap();
        assert_eq!(id.to_string(), "00000000000000000a2e377a73c30001");
        assert_eq!(id.seatunnel_id(), 733_584_788_375_666_689);
        assert_eq!(JobId::from_seatunnel(0), None);
        assert_eq!(JobId::from_seatunnel(-5), None);
        let foreign = JobId(u128::MAX);
        assert!(foreign.seatunnel_id() > 0);
    }

    #[test]
    fn generated_ids_are_positive_unique_and_ordered() {
        let ids: Vec<JobId> = (0..1000).map(|_| JobId::generate()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0].0 < pair[1].0);
        }
        for id in &ids {
            assert!(id.seatunnel_id() > 0);
            assert_eq!(JobId::from_seatunnel(id.seatunnel_id()), Some(*id));
        }
    }

    #[test]
    fn vertex_ids_differ_per_index_and_job() {
        let job = JobId(7);
        assert_ne!(VertexId::for_job(job, 0), VertexId::for_job(job, 1));
        assert_ne!(VertexId::for_job(job, 0), VertexId::for_job(JobId(8), 0));
    }
}
