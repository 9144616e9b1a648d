//! Why a buffer is not a valid message.

use flatbuffers::InvalidFlatbuffer;
use thiserror::Error;

/// Why a buffer is not a valid message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DecodeError {
    /// The flatbuffers verifier rejected the buffer.
    #[error("invalid flatbuffer: {0}")]
    Invalid(#[from] InvalidFlatbuffer),
    /// The buffer is over the size limit for its channel.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The buffer's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message's union was empty or of a kind this version does not know.
    #[error("unknown or missing message type")]
    UnknownType,
    /// A field the protocol requires is missing.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field is present but its value is out of range.
    #[error("invalid field `{field}`: {why}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl DecodeError {
    /// Whether the error is about size rather than content.
    pub fn is_too_large(&self) -> bool {
        matches!(self, DecodeError::TooLarge { .. })
    }
}
