//! Resume tokens: what a world hands a player after a login, to sign in
//! again without a password. Made and stored like every GSP secret
//! ([`gsp_store::token`]): `gsp_rt_` and 64 hex digits, kept as SHA-256.

use std::time::Duration;

pub use gsp_store::token::digest;
use gsp_store::token::{generate_with, well_formed_with};

/// What every resume token starts with.
pub const TOKEN_PREFIX: &str = "gsp_rt_";
/// How long a resume token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A new random resume token.
pub(crate) fn generate() -> Result<String, getrandom::Error> {
    generate_with(TOKEN_PREFIX)
}

/// Whether `token` looks like a resume token (prefix and 64 lowercase hex digits).
pub(crate) fn well_formed(token: &str) -> bool {
    well_formed_with(token, TOKEN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_printable_and_recognised() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_ne!(a, b);
        assert!(a.starts_with("gsp_rt_") && a.len() == 7 + 64, "{a}");
        assert!(well_formed(&a));
        assert!(!well_formed(&a[..a.len() - 1]));
        assert!(!well_formed(&a.to_uppercase()));
        assert!(!well_formed("gsp_rt_"));
        assert!(!well_formed(&a.replace("gsp_rt_", "gsp_xx_")));
    }
}
