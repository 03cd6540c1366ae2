//! An answer sent as the byte slices it is made of, without joining them first.
//!
//! `/jobs/overview` is a few fresh lines (running jobs) around one cached block (the lines of
//! every finished job, tens of kilobytes once there are a hundred): joining them copied the
//! block on every request only for the kernel to copy it again. Sent as pieces, the block goes
//! out of the cache as it is (hyper writes the pieces with one vectored write) and the
//! `Content-Length` is still exact.

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A response body of byte slices, sent in order.
#[derive(Debug, Default)]
pub struct Pieces {
    pieces: VecDeque<Bytes>,
    len: u64,
}

impl Pieces {
    /// Appends `piece` (empty ones are skipped).
    pub fn push(&mut self, piece: impl Into<Bytes>) {
        let piece = piece.into();
        if !piece.is_empty() {
            self.len += piece.len() as u64;
            self.pieces.push_back(piece);
        }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.pieces.pop_front().map(|piece| {
            self.len -= piece.len() as u64;
            Ok(Frame::data(piece))
        });
        Poll::Ready(next)
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn the_pieces_arrive_in_order_with_their_exact_length() {
        let mut body = Pieces::default();
        body.push(&b"{\"jobs\":["[..]);
        body.push(Vec::new());
        body.push(Bytes::from_owner(std::sync::Arc::<[u8]>::from(&b"1,2"[..])));
        body.push(&b"]}"[..]);
        assert_eq!(body.size_hint().exact(), Some(14));
        assert!(!body.is_end_stream());
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(&all[..], b"{\"jobs\":[1,2]}");
    }
}
