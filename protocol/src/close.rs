//! Application close codes: why a connection was closed.
//!
//! A QUIC connection is closed with one of these codes and a short reason, so a
//! client can tell a protocol error from an operator shutdown.

/// Why a connection ended. The numeric value is the QUIC application error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CloseCode {
    /// Normal end: the player quit.
    Normal = 0,
    /// The peer sent bytes that do not decode as the protocol says.
    Malformed = 1,
    /// The peer sent a frame or datagram over the size limits.
    TooLarge = 2,
    /// The handshake was refused (version, name...); the refusal frame says more.
    Refused = 3,
    /// The handshake did not arrive in time.
    HandshakeTimeout = 4,
    /// The server is shutting down.
    ShuttingDown = 5,
    /// The client did not read fast enough and its queue overflowed.
    TooSlow = 6,
    /// Nothing arrived from the client for too long.
    Idle = 7,
    /// The peer broke the protocol's rules (unexpected message, second stream...).
    ProtocolViolation = 8,
    /// The same account logged in from another connection, which goes on
    /// with the character.
    TakenOver = 9,
}

impl CloseCode {
    /// Every code, for lookups and tests.
    pub const ALL: [CloseCode; 10] = [
        CloseCode::Normal,
        CloseCode::Malformed,
        CloseCode::TooLarge,
        CloseCode::Refused,
        CloseCode::HandshakeTimeout,
        CloseCode::ShuttingDown,
        CloseCode::TooSlow,
        CloseCode::Idle,
        CloseCode::ProtocolViolation,
        CloseCode::TakenOver,
    ];

    /// The QUIC application error code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The code with this numeric value, if it is one of ours.
    pub fn from_code(code: u64) -> Option<CloseCode> {
        Self::ALL.into_iter().find(|c| u64::from(c.code()) == code)
    }

    /// A short lowercase description, used as the QUIC close reason.
    pub fn describe(self) -> &'static str {
        match self {
            CloseCode::Normal => "bye",
            CloseCode::Malformed => "malformed message",
            CloseCode::TooLarge => "message too large",
            CloseCode::Refused => "refused",
            CloseCode::HandshakeTimeout => "handshake timeout",
            CloseCode::ShuttingDown => "server shutting down",
            CloseCode::TooSlow => "client too slow",
            CloseCode::Idle => "idle timeout",
            CloseCode::ProtocolViolation => "protocol violation",
            CloseCode::TakenOver => "logged in elsewhere",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in CloseCode::ALL {
            assert_eq!(CloseCode::from_code(u64::from(c.code())), Some(c));
        }
        assert_eq!(CloseCode::from_code(999), None);
    }
}
