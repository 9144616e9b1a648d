//! Bit-level reading and writing, and the variable-length codes the snapshot
//! payload is made of.
//!
//! [`BitWriter`] appends values of 1 to 32 bits, most significant bit first,
//! into a byte buffer it keeps between uses (so a writer reused every tick
//! does not allocate). [`BitReader`] reads them back and reports running off
//! the end as [`Overrun`] instead of panicking: payloads come from the network.
//!
//! Two codes sit on top:
//!
//! * **Exp-Golomb** ([`BitWriter::write_golomb`]) for counts and id gaps: 0
//!   costs 1 bit, 1–2 cost 3, 3–6 cost 5, and so on.
//! * **Residuals** ([`Residual`]) for a quantized value predicted by the
//!   reader: `0` for an exact prediction, a short and a long class for small
//!   and medium errors, and an escape to the absolute value.

/// The reader ran off the end of the payload, or met a value no writer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("snapshot payload ends early or holds an impossible value")]
pub struct Overrun;

/// Something bits are written to: a [`BitWriter`], or a [`BitCount`] that
/// only measures what writing would cost. Record encoders are written once,
/// generic over the sink, so the cost the sender budgets with is exactly
/// what it then writes.
pub trait BitSink {
    /// Writes the low `bits` bits of `value` (`bits` in 0..=32).
    fn write(&mut self, value: u32, bits: u32);

    /// Writes one bit.
    #[inline]
    fn write_bool(&mut self, bit: bool) {
        self.write(u32::from(bit), 1);
    }

    /// Writes `value` in order-0 Exp-Golomb code: `n` zero bits, then the
    /// `n + 1` bits of `value + 1`. 0 costs 1 bit, 1–2 cost 3, 3–6 cost 5.
    #[inline]
    fn write_golomb(&mut self, value: u32) {
        let v = u64::from(value) + 1;
        let n = 63 - v.leading_zeros();
        if n + 1 + n <= 32 {
            self.write(v as u32, n + 1 + n);
        } else {
            self.write(0, n);
            self.write((v >> 16) as u32, n + 1 - 16);
            self.write((v & 0xFFFF) as u32, 16);
        }
    }
}

/// A [`BitSink`] that counts bits and keeps none.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BitCount(pub u32);

impl BitSink for BitCount {
    #[inline]
    fn write(&mut self, _value: u32, bits: u32) {
        self.0 += bits;
    }
}

/// Appends bits to a byte buffer, most significant first.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    pending: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what was written, keeping the buffer's capacity.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.pending = 0;
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }

    /// Forgets everything after the first `bits` bits.
    pub fn truncate(&mut self, bits: usize) {
        if bits >= self.bit_len() {
            return;
        }
        let whole = bits / 8;
        let rem = (bits % 8) as u32;
        let partial = if whole < self.bytes.len() {
            u64::from(self.bytes[whole])
        } else {
            // The cut falls inside the pending bits, whose top `rem` bits stay.
            (self.acc << (8 - self.pending)) & 0xFF
        };
        self.bytes.truncate(whole);
        self.acc = if rem == 0 { 0 } else { partial >> (8 - rem) };
        self.pending = rem;
    }

    /// Appends `len` bits of `source` (bytes a writer finished) starting at
    /// bit `start`.
    pub fn append(&mut self, source: &[u8], start: usize, len: usize) {
        let mut r = BitReader {
            bytes: source,
            bit: start,
        };
        let mut left = len;
        while left > 0 {
            let take = left.min(32) as u32;
            let value = r.read(take).unwrap_or(0);
            self.write(value, take);
            left -= take as usize;
        }
    }

    /// The bytes, with the last partial byte padded with zero bits.
    pub fn finish(&mut self) -> &[u8] {
        if self.pending > 0 {
            let byte = (self.acc << (8 - self.pending)) as u8;
            self.bytes.push(byte);
            self.acc = 0;
            self.pending = 0;
        }
        &self.bytes
    }
}

impl BitSink for BitWriter {
    #[inline]
    fn write(&mut self, value: u32, bits: u32) {
        debug_assert!(bits <= 32);
        if bits == 0 {
            return;
        }
        let value = u64::from(value) & ((1u64 << bits) - 1);
        // Up to 7 bits wait in the accumulator; whole bytes go out together.
        self.acc = (self.acc << bits) | value;
        self.pending += bits;
        let whole = self.pending / 8;
        if whole > 0 {
            self.pending -= whole * 8;
            let out = (self.acc >> self.pending).to_be_bytes();
            self.bytes.extend_from_slice(&out[8 - whole as usize..]);
            self.acc &= (1u64 << self.pending) - 1;
        }
    }
}

/// Bits an order-0 Exp-Golomb code of `value` takes.
#[inline]
pub fn golomb_bits(value: u32) -> u32 {
    let v = u64::from(value) + 1;
    2 * (63 - v.leading_zeros()) + 1
}

/// Reads what a [`BitWriter`] wrote.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    /// Bits not yet read, padding included.
    pub fn remaining(&self) -> usize {
        self.bytes.len() * 8 - self.bit
    }

    /// Reads `bits` bits (0..=32).
    #[inline]
    pub fn read(&mut self, bits: u32) -> Result<u32, Overrun> {
        debug_assert!(bits <= 32);
        if bits as usize > self.remaining() {
            return Err(Overrun);
        }
        if bits == 0 {
            return Ok(0);
        }
        let first = self.bit / 8;
        if let Some(chunk) = self.bytes.get(first..first + 8) {
            // Eight bytes hold any 32 bits at any offset: one load, two shifts.
            let word = u64::from_be_bytes(chunk.try_into().expect("eight bytes"));
            let offset = (self.bit % 8) as u32;
            self.bit += bits as usize;
            return Ok(((word << offset) >> (64 - bits)) as u32);
        }
        let mut value: u64 = 0;
        let mut left = bits;
        while left > 0 {
            let byte = self.bytes[self.bit / 8];
            let offset = (self.bit % 8) as u32;
            let take = left.min(8 - offset);
            let chunk = (byte >> (8 - offset - take)) & ((1u16 << take) - 1) as u8;
            value = (value << take) | u64::from(chunk);
            left -= take;
            self.bit += take as usize;
        }
        Ok(value as u32)
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bool(&mut self) -> Result<bool, Overrun> {
        Ok(self.read(1)? == 1)
    }

    /// Reads an order-0 Exp-Golomb value.
    #[inline]
    pub fn read_golomb(&mut self) -> Result<u32, Overrun> {
        let mut zeros = 0;
        while !self.read_bool()? {
            zeros += 1;
            if zeros > 32 {
                return Err(Overrun);
            }
        }
        let rest = if zeros > 16 {
            let hi = self.read(zeros - 16)?;
            (u64::from(hi) << 16) | u64::from(self.read(16)?)
        } else {
            u64::from(self.read(zeros)?)
        };
        let v = (1u64 << zeros) | rest;
        u32::try_from(v - 1).map_err(|_| Overrun)
    }
}

/// Maps a signed value to an unsigned one with small magnitudes first:
/// 0, -1, 1, -2, 2... become 0, 1, 2, 3, 4...
#[inline]
pub fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// The inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// A prefix code for a quantized value that the reader predicts.
///
/// | prefix | then | means |
/// | --- | --- | --- |
/// | `0` | | exactly the prediction |
/// | `10` | `short` bits | error of zigzag 1 ..= 2^short |
/// | `110` | `long` bits | the next 2^long errors |
/// | `111` | `full` bits | the absolute value |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residual {
    /// Bits of the short class.
    pub short: u32,
    /// Bits of the long class.
    pub long: u32,
    /// Bits of an absolute value.
    pub full: u32,
}

impl Residual {
    /// Writes `actual` as predicted by `predicted`, both in `0..2^full`.
    #[inline]
    pub fn write<S: BitSink>(&self, w: &mut S, predicted: u32, actual: u32) {
        let error = actual.wrapping_sub(predicted) as i32;
        let z = zigzag(error);
        if z == 0 {
            w.write(0, 1);
        } else if z <= 1 << self.short {
            w.write((0b10 << self.short) | (z - 1), 2 + self.short);
        } else if z - 1 - (1 << self.short) < 1 << self.long {
            w.write(
                (0b110 << self.long) | (z - 1 - (1 << self.short)),
                3 + self.long,
            );
        } else {
            w.write(0b111, 3);
            w.write(actual, self.full);
        }
    }

    /// Reads a value written against the same prediction; values outside
    /// `0..2^full` are refused.
    #[inline]
    pub fn read(&self, r: &mut BitReader<'_>, predicted: u32) -> Result<u32, Overrun> {
        let z = if !r.read_bool()? {
            0
        } else if !r.read_bool()? {
            r.read(self.short)? + 1
        } else if !r.read_bool()? {
            r.read(self.long)? + 1 + (1 << self.short)
        } else {
            return r.read(self.full);
        };
        let value = predicted.wrapping_add(unzigzag(z) as u32);
        if self.full < 32 && value >> self.full != 0 {
            return Err(Overrun);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golomb_lengths() {
        assert_eq!(golomb_bits(0), 1);
        assert_eq!(golomb_bits(1), 3);
        assert_eq!(golomb_bits(2), 3);
        assert_eq!(golomb_bits(3), 5);
        assert_eq!(golomb_bits(u32::MAX), 65);
    }

    #[test]
    fn truncate_and_append() {
        let mut w = BitWriter::new();
        w.write(0b1011, 4);
        let mark = w.bit_len();
        w.write(0x1FF, 9);
        w.truncate(mark);
        w.write(0b01, 2);
        let bytes = w.finish().to_vec();
        assert_eq!(bytes, vec![0b1011_0100]);
        let mut copy = BitWriter::new();
        copy.write(1, 1);
        copy.append(&bytes, 1, 5);
        assert_eq!(copy.finish(), &[0b1011_0100]);
        // Truncating at a byte boundary and inside the pending bits.
        let mut w = BitWriter::new();
        w.write(0xABCD, 16);
        w.write(0b111, 3);
        w.truncate(8);
        assert_eq!(w.finish(), &[0xAB]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut w = BitWriter::new();
        w.write(0b101, 3);
        let bytes = w.finish().to_vec();
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read(3), Ok(0b101));
        assert_eq!(r.read(5), Ok(0));
        assert_eq!(r.read(1), Err(Overrun));
        // A run of zeros longer than any code is refused, not looped on.
        assert_eq!(BitReader::new(&[0u8; 8]).read_golomb(), Err(Overrun));
    }

    proptest! {
        #[test]
        fn values_round_trip(values in proptest::collection::vec((any::<u32>(), 0u32..=32), 0..64)) {
            let mut w = BitWriter::new();
            for &(v, bits) in &values {
                w.write(v, bits);
            }
            let expected_bits: u32 = values.iter().map(|v| v.1).sum();
            prop_assert_eq!(w.bit_len(), expected_bits as usize);
            let bytes = w.finish().to_vec();
            // Copying every value's bits one by one gives the same bytes.
            let mut copy = BitWriter::new();
            let mut at = 0;
            for &(_, bits) in &values {
                copy.append(&bytes, at, bits as usize);
                at += bits as usize;
            }
            prop_assert_eq!(copy.finish(), &bytes[..]);
            let mut r = BitReader::new(&bytes);
            for &(v, bits) in &values {
                let mask = if bits == 32 { u32::MAX } else { (1u32 << bits) - 1 };
                prop_assert_eq!(r.read(bits).unwrap(), v & mask);
            }
        }

        #[test]
        fn golomb_and_residuals_round_trip(values in proptest::collection::vec((any::<u32>(), 0u32..(1 << 20), 0u32..(1 << 20)), 0..64)) {
            let code = Residual { short: 4, long: 9, full: 20 };
            let mut w = BitWriter::new();
            let mut bits = 0;
            for &(g, p, a) in &values {
                w.write_golomb(g);
                code.write(&mut w, p, a);
                let mut count = BitCount::default();
                count.write_golomb(g);
                code.write(&mut count, p, a);
                prop_assert_eq!(count.0, golomb_bits(g) + { let mut c = BitCount::default(); code.write(&mut c, p, a); c.0 });
                bits += count.0;
            }
            prop_assert_eq!(w.bit_len(), bits as usize);
            let bytes = w.finish().to_vec();
            let mut r = BitReader::new(&bytes);
            for &(g, p, a) in &values {
                prop_assert_eq!(r.read_golomb().unwrap(), g);
                prop_assert_eq!(code.read(&mut r, p).unwrap(), a);
            }
        }

        #[test]
        fn zigzag_round_trips(v in any::<i32>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
