//! MCCP2: everything the server sends after `IAC SB MCCP2 IAC SE` is one
//! zlib stream, flushed at every write so the client sees each burst at
//! once, and finished cleanly (`Z_FINISH`) when compression ends.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;

/// The zlib stream of one connection.
pub struct Compressor {
    encoder: ZlibEncoder<Vec<u8>>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor::new()
    }
}

impl Compressor {
    /// A new stream.
    pub fn new() -> Self {
        Compressor {
            encoder: ZlibEncoder::new(Vec::new(), Compression::default()),
        }
    }

    /// Compresses `plain` and appends to `out` everything the client needs
    /// to read it now (a sync flush).
    pub fn compress(&mut self, plain: &[u8], out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(plain);
        let _ = self.encoder.flush();
        out.append(self.encoder.get_mut());
    }

    /// Ends the stream: appends its last bytes to `out`.
    pub fn finish(self, out: &mut Vec<u8>) {
        if let Ok(rest) = self.encoder.finish() {
            out.extend_from_slice(&rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn inflates_back_to_the_plain_stream_burst_by_burst() {
        let mut z = Compressor::new();
        let mut wire = Vec::new();
        let mut inflater = flate2::Decompress::new(true);
        let bursts: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("burst {i}: ada says, \"hello\"\r\n").into_bytes())
            .collect();
        for burst in &bursts {
            let start = wire.len();
            z.compress(burst, &mut wire);
            // Each burst can be read as soon as it arrives.
            let mut out = Vec::with_capacity(4096);
            inflater
                .decompress_vec(&wire[start..], &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(&out, burst);
        }
        z.finish(&mut wire);
        let mut all = Vec::new();
        flate2::read::ZlibDecoder::new(&wire[..])
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, bursts.concat());
        assert!(wire.len() < all.len());
    }
}
