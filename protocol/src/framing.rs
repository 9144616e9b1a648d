//! Length-prefixed frames on a byte stream, sans-I/O.
//!
//! Each frame is a `u32` little-endian length followed by that many bytes. The
//! [`FrameDecoder`] takes bytes in whatever pieces the transport hands over and
//! yields whole frames; a length over the limit is an error at once, before
//! any of the body is buffered, so a hostile peer cannot make it allocate.

use thiserror::Error;

/// Bytes in the length prefix.
pub const PREFIX_BYTES: usize = 4;

/// A frame announced a length over the decoder's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("frame of {len} bytes exceeds the limit of {max}")]
pub struct FrameTooLarge {
    /// The announced length.
    pub len: usize,
    /// The limit.
    pub max: usize,
}

/// Appends `payload` to `out` as one frame.
///
/// # Panics
/// If `payload` is longer than `u32::MAX` bytes, which no message of this
/// protocol can be.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("frame longer than u32::MAX");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
}

/// Splits a byte stream into frames.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame: usize,
    buf: Vec<u8>,
    /// Read position in `buf`; consumed bytes are compacted away lazily.
    pos: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            max_frame,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Adds bytes received from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed, or an error
    /// if the next frame announces a length over the limit.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameTooLarge> {
        let available = &self.buf[self.pos..];
        if available.len() < PREFIX_BYTES {
            self.compact();
            return Ok(None);
        }
        let mut prefix = [0u8; PREFIX_BYTES];
        prefix.copy_from_slice(&available[..PREFIX_BYTES]);
        let len = u32::from_le_bytes(prefix) as usize;
        if len > self.max_frame {
            return Err(FrameTooLarge {
                len,
                max: self.max_frame,
            });
        }
        if available.len() < PREFIX_BYTES + len {
            self.compact();
            return Ok(None);
        }
        let frame = available[PREFIX_BYTES..PREFIX_BYTES + len].to_vec();
        self.pos += PREFIX_BYTES + len;
        Ok(Some(frame))
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_frames_across_reads() {
        let mut wire = Vec::new();
        encode_frame(b"hello", &mut wire);
        encode_frame(b"", &mut wire);
        encode_frame(b"world!", &mut wire);
        let mut dec = FrameDecoder::new(64);
        let mut frames = Vec::new();
        for byte in &wire {
            dec.extend(std::slice::from_ref(byte));
            while let Some(f) = dec.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn refuses_oversized_frame_before_buffering_it() {
        let mut dec = FrameDecoder::new(16);
        dec.extend(&1_000_000u32.to_le_bytes());
        assert_eq!(
            dec.next_frame(),
            Err(FrameTooLarge {
                len: 1_000_000,
                max: 16
            })
        );
        assert_eq!(dec.buffered(), 4);
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_frames(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8),
            chunk in 1usize..17,
        ) {
            let mut wire = Vec::new();
            for p in &payloads {
                encode_frame(p, &mut wire);
            }
            let mut dec = FrameDecoder::new(64);
            let mut frames = Vec::new();
            for piece in wire.chunks(chunk) {
                dec.extend(piece);
                while let Some(f) = dec.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            prop_assert_eq!(frames, payloads);
        }
    }
}
