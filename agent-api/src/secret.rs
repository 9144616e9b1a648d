//! Constant-time comparison of secrets (tokens, digests, CSRF values).

/// Whether two secrets are equal, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_secrets_match_and_others_do_not() {
        assert!(same_secret("gsp_nt_abc", "gsp_nt_abc"));
        assert!(!same_secret("gsp_nt_abc", "gsp_nt_abd"));
        assert!(!same_secret("gsp_nt_abc", "gsp_nt_ab"));
        assert!(same_secret("", ""));
    }
}
