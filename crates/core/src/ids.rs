//! Ids in Flink's wire formats: 32 lower-case hex digits for jobs and vertices.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Parses 32 hex digits into a u128, the shape of every Flink `AbstractID`.
fn parse_hex32(s: &str) -> Result<u128, String> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}' is not a valid id: expected 32 hexadecimal characters"
        ));
    }
    u128::from_str_radix(s, 16).map_err(|e| format!("'{s}' is not a valid id: {e}"))
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
                write!(f, "{:032x}", self.0)
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

impl VertexId {
    /// The id of vertex number `index` of `job`: stable for the job's lifetime.
    pub fn for_job(job: JobId, index: usize) -> Self {
        let mixed =
            job.0.rotate_left(17) ^ ((index as u128 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Self(mixed)
    }
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
    }

    #[test]
    fn vertex_ids_differ_per_index_and_job() {
        let job = JobId(7);
        assert_ne!(VertexId::for_job(job, 0), VertexId::for_job(job, 1));
        assert_ne!(VertexId::for_job(job, 0), VertexId::for_job(JobId(8), 0));
    }
}
