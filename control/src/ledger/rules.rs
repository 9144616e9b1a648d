//! The ledger's rules, without I/O: amounts, accounts, idempotency keys and
//! the shape of a valid transaction.
//!
//! Everything here is checked when a value is built, so a [`Tx`] that
//! exists is balanced, its key is well formed and its accounts are known;
//! the store only has to add the rules that need the database (the key was
//! not used before, no wallet goes below zero).

use std::fmt;
use std::str::FromStr;

/// The largest amount one posting may carry: 10^15 milli-credits (a
/// trillion credits). Far above any real charge, and low enough that sums
/// of thousands of postings cannot overflow an `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// The most postings one transaction may have.
pub const MAX_POSTINGS: usize = 16;

/// The longest identifier (user, server, payment, admin, request id).
pub const MAX_ID_LEN: usize = 128;

/// The longest `who` or `memo` text.
pub const MAX_TEXT_LEN: usize = 500;

/// An amount of money in milli-credits (1 credit = 1000). Integers only:
/// a ledger never rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub i64);

impl Millis {
    /// Zero.
    pub const ZERO: Millis = Millis(0);

    /// `credits` whole credits, or `None` on overflow.
    pub fn from_credits(credits: i64) -> Option<Millis> {
        credits.checked_mul(1000).map(Millis)
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Millis) -> Option<Millis> {
        self.0.checked_add(other.0).map(Millis)
    }

    /// The negation, or `None` for `i64::MIN`.
    pub fn checked_neg(self) -> Option<Millis> {
        self.0.checked_neg().map(Millis)
    }
}

impl fmt::Display for Millis {
    /// As credits with three decimals: `-12.345`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", abs / 1000, abs % 1000)
    }
}

/// Why a value was refused by the ledger's rules. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// An identifier is empty, too long, or holds `:`, whitespace or control characters.
    #[error("invalid {what} {value:?}: 1 to {MAX_ID_LEN} characters, no ':' nor whitespace")]
    BadId {
        /// Which identifier ("server id").
        what: &'static str,
        /// The value given (cut to a readable length).
        value: String,
    },
    /// An idempotency key does not have one of the known shapes.
    #[error("invalid idempotency key {0:?}: expected charge:<server>:<period>, deposit:<payment>, grant:<admin>:<request> or reverse:<key>")]
    BadKey(String),
    /// An account name is not one of the chart's accounts.
    #[error("unknown account {0:?}: expected wallet:<user> or system:revenue|payments|grants")]
    BadAccount(String),
    /// `who` is empty or too long, or `memo` too long.
    #[error("invalid {what}: {why}")]
    BadText {
        /// `who` or `memo`.
        what: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// An amount is zero, negative where it must be positive, or beyond [`MAX_AMOUNT`].
    #[error("invalid amount {0}: must be positive and at most {MAX_AMOUNT} milli-credits")]
    BadAmount(i64),
    /// Too few or too many postings.
    #[error("a transaction needs 2 to {MAX_POSTINGS} postings, not {0}")]
    PostingCount(usize),
    /// The same account appears twice in one transaction.
    #[error("account {0} appears twice in one transaction")]
    DuplicateAccount(String),
    /// The postings do not sum to zero.
    #[error("the postings sum to {0} milli-credits instead of zero")]
    Unbalanced(i64),
    /// A reversal of a reversal was asked for (post the original again instead).
    #[error("{0} is a reversal and cannot itself be reversed")]
    NotReversible(String),
}

/// Checks an identifier used inside keys and account names.
fn check_id(what: &'static str, value: &str) -> Result<(), RuleError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .chars()
            .all(|c| c != ':' && !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(RuleError::BadId {
            what,
            value: value.chars().take(MAX_ID_LEN + 8).collect(),
        })
    }
}

/// The system accounts: the other side of every wallet movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemAccount {
    /// Credits earned by the platform from charges (credited by charges).
    Revenue,
    /// Money received from the payment provider (debited by deposits).
    Payments,
    /// Credits given away by admins (debited by grants).
    Grants,
}

impl SystemAccount {
    fn name(self) -> &'static str {
        match self {
            SystemAccount::Revenue => "revenue",
            SystemAccount::Payments => "payments",
            SystemAccount::Grants => "grants",
        }
    }
}

/// An account of the chart (see the [module docs](super) for the chart and
/// its signs). Stored as text: `wallet:<user>` or `system:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// A user's wallet: the credits they can spend. Never below zero.
    Wallet(String),
    /// A system account; its balance is usually negative or positive by
    /// design (it mirrors the wallets).
    System(SystemAccount),
}

impl Account {
    /// The wallet of `user` (an id of 1 to [`MAX_ID_LEN`] characters, no
    /// `:` nor whitespace).
    pub fn wallet(user: &str) -> Result<Account, RuleError> {
        check_id("user id", user)?;
        Ok(Account::Wallet(user.to_string()))
    }

    /// The platform's revenue account.
    pub const REVENUE: Account = Account::System(SystemAccount::Revenue);
    /// The payments (money received) account.
    pub const PAYMENTS: Account = Account::System(SystemAccount::Payments);
    /// The admin grants account.
    pub const GRANTS: Account = Account::System(SystemAccount::Grants);

    /// Whether this is a user's wallet (which may never go below zero).
    pub fn is_wallet(&self) -> bool {
        matches!(self, Account::Wallet(_))
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Wallet(user) => write!(f, "wallet:{user}"),
            Account::System(s) => write!(f, "system:{}", s.name()),
        }
    }
}

impl FromStr for Account {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Account, RuleError> {
        let bad = || RuleError::BadAccount(s.chars().take(200).collect());
        match s.split_once(':') {
            Some(("wallet", user)) => Account::wallet(user).map_err(|_| bad()),
            Some(("system", "revenue")) => Ok(Account::REVENUE),
            Some(("system", "payments")) => Ok(Account::PAYMENTS),
            Some(("system", "grants")) => Ok(Account::GRANTS),
            _ => Err(bad()),
        }
    }
}

/// What a transaction is, as named by its key's first segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A server's billing period.
    Charge,
    /// A payment received.
    Deposit,
    /// Credits given by an admin.
    Grant,
    /// The correction of an earlier transaction.
    Reversal,
}

impl Kind {
    /// The stored name: `charge`, `deposit`, `grant` or `reverse`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Deposit => "deposit",
            Kind::Grant => "grant",
            Kind::Reversal => "reverse",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An idempotency key: the identity of a transaction. Posting the same
/// key twice never moves money twice.
///
/// Text forms: `charge:<server>:<period>` (the period is the start of the
/// billed hour in Unix milliseconds, see [`crate::billing`]),
/// `deposit:<payment id>`, `grant:<admin>:<request id>`, and
/// `reverse:<original key>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdemKey {
    /// `charge:<server>:<period>`.
    Charge {
        /// The server billed.
        server: String,
        /// The billed period's start, Unix ms (non-negative).
        period: i64,
    },
    /// `deposit:<payment id>`.
    Deposit {
        /// The payment provider's id for the payment (or event).
        payment: String,
    },
    /// `grant:<admin>:<request id>`.
    Grant {
        /// The admin who granted.
        admin: String,
        /// The id of the admin's request (one per form submission).
        request: String,
    },
    /// `reverse:<original key>`; the original is never itself a reversal.
    Reverse(Box<IdemKey>),
}

impl IdemKey {
    /// `charge:<server>:<period>`.
    pub fn charge(server: &str, period: i64) -> Result<IdemKey, RuleError> {
        check_id("server id", server)?;
        if period < 0 {
            return Err(RuleError::BadKey(format!("charge:{server}:{period}")));
        }
        Ok(IdemKey::Charge {
            server: server.to_string(),
            period,
        })
    }

    /// `deposit:<payment id>`.
    pub fn deposit(payment: &str) -> Result<IdemKey, RuleError> {
        check_id("payment id", payment)?;
        Ok(IdemKey::Deposit {
            payment: payment.to_string(),
        })
    }

    /// `grant:<admin>:<request id>`.
    pub fn grant(admin: &str, request: &str) -> Result<IdemKey, RuleError> {
        check_id("admin id", admin)?;
        check_id("request id", request)?;
        Ok(IdemKey::Grant {
            admin: admin.to_string(),
            request: request.to_string(),
        })
    }

    /// `reverse:<original>`; refused when `original` is a reversal.
    pub fn reverse(original: &IdemKey) -> Result<IdemKey, RuleError> {
        if let IdemKey::Reverse(_) = original {
            return Err(RuleError::NotReversible(original.to_string()));
        }
        Ok(IdemKey::Reverse(Box::new(original.clone())))
    }

    /// What kind of transaction the key names.
    pub fn kind(&self) -> Kind {
        match self {
            IdemKey::Charge { .. } => Kind::Charge,
            IdemKey::Deposit { .. } => Kind::Deposit,
            IdemKey::Grant { .. } => Kind::Grant,
            IdemKey::Reverse(_) => Kind::Reversal,
        }
    }
}

impl fmt::Display for IdemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdemKey::Charge { server, period } => write!(f, "charge:{server}:{period}"),
            IdemKey::Deposit { payment } => write!(f, "deposit:{payment}"),
            IdemKey::Grant { admin, request } => write!(f, "grant:{admin}:{request}"),
            IdemKey::Reverse(original) => write!(f, "reverse:{original}"),
        }
    }
}

impl FromStr for IdemKey {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<IdemKey, RuleError> {
        let bad = || RuleError::BadKey(s.chars().take(300).collect());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "charge" => {
                let (server, period) = rest.split_once(':').ok_or_else(bad)?;
                // Digits only: no sign, no spaces, one canonical text per key.
                if period.is_empty() || !period.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let period: i64 = period.parse().map_err(|_| bad())?;
                let key = IdemKey::charge(server, period).map_err(|_| bad())?;
                // Leading zeros would give two texts for one key.
                if key.to_string() != s {
                    return Err(bad());
                }
                Ok(key)
            }
            "deposit" => IdemKey::deposit(rest).map_err(|_| bad()),
            "grant" => {
                let (admin, request) = rest.split_once(':').ok_or_else(bad)?;
                IdemKey::grant(admin, request).map_err(|_| bad())
            }
            "reverse" => {
                let original: IdemKey = rest.parse().map_err(|_| bad())?;
                IdemKey::reverse(&original).map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    }
}

/// One line of a transaction: `amount` added to `account` (negative:
/// taken from it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Posting {
    /// The account.
    pub account: Account,
    /// The change, in milli-credits.
    pub amount: Millis,
}

/// A valid transaction: balanced postings under an idempotency key, with
/// who caused it and why. Build with [`Tx::new`] or the builders
/// ([`Tx::grant`], [`Tx::deposit`], [`Tx::charge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    key: IdemKey,
    who: String,
    memo: String,
    /// Sorted by account: the store locks accounts in this order.
    postings: Vec<Posting>,
}

fn check_text(what: &'static str, text: &str, required: bool) -> Result<(), RuleError> {
    if required && text.trim().is_empty() {
        return Err(RuleError::BadText {
            what,
            why: "must not be empty",
        });
    }
    if text.len() > MAX_TEXT_LEN {
        return Err(RuleError::BadText {
            what,
            why: "longer than 500 bytes",
        });
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(RuleError::BadText {
            what,
            why: "holds control characters",
        });
    }
    Ok(())
}

fn check_positive(amount: Millis) -> Result<(), RuleError> {
    if amount.0 <= 0 || amount.0 > MAX_AMOUNT {
        return Err(RuleError::BadAmount(amount.0));
    }
    Ok(())
}

impl Tx {
    /// A transaction of any shape: `who` caused it (a user, an admin,
    /// `billing`, a webhook event), `memo` says what it is for. The
    /// postings must number 2 to [`MAX_POSTINGS`], name each account once,
    /// be non-zero, at most [`MAX_AMOUNT`] in size, and sum to zero.
    pub fn new(
        key: IdemKey,
        who: &str,
        memo: &str,
        mut postings: Vec<Posting>,
    ) -> Result<Tx, RuleError> {
        check_text("who", who, true)?;
        check_text("memo", memo, false)?;
        if !(2..=MAX_POSTINGS).contains(&postings.len()) {
            return Err(RuleError::PostingCount(postings.len()));
        }
        let mut sum: i64 = 0;
        for p in &postings {
            if p.amount.0 == 0 || p.amount.0.unsigned_abs() > MAX_AMOUNT as u64 {
                return Err(RuleError::BadAmount(p.amount.0));
            }
            // Cannot overflow: at most 16 amounts of at most 10^15.
            sum += p.amount.0;
        }
        if sum != 0 {
            return Err(RuleError::Unbalanced(sum));
        }
        postings.sort_by_cached_key(|p| p.account.to_string());
        if let Some(w) = postings.windows(2).find(|w| w[0].account == w[1].account) {
            return Err(RuleError::DuplicateAccount(w[0].account.to_string()));
        }
        Ok(Tx {
            key,
            who: who.to_string(),
            memo: memo.to_string(),
            postings,
        })
    }

    /// An admin's grant of `amount` to `user`: `grant:<admin>:<request>`,
    /// the wallet credited, `system:grants` debited; `who` is `admin:<admin>`.
    pub fn grant(
        admin: &str,
        request: &str,
        user: &str,
        amount: Millis,
        memo: &str,
    ) -> Result<Tx, RuleError> {
        check_positive(amount)?;
        let key = IdemKey::grant(admin, request)?;
        Tx::new(
            key,
            &format!("admin:{admin}"),
            memo,
            vec![
                Posting {
                    account: Account::wallet(user)?,
                    amount,
                },
                Posting {
                    account: Account::GRANTS,
                    amount: Millis(-amount.0),
                },
            ],
        )
    }

    /// A payment of `amount` received for `user`: `deposit:<payment>`, the
    /// wallet credited, `system:payments` debited. `who` names the source
    /// (`stripe:evt_…`).
    pub fn deposit(payment: &str, user: &str, amount: Millis, who: &str) -> Result<Tx, RuleError> {
        check_positive(amount)?;
        let key = IdemKey::deposit(payment)?;
        Tx::new(
            key,
            who,
            "payment received",
            vec![
                Posting {
                    account: Account::wallet(user)?,
                    amount,
                },
                Posting {
                    account: Account::PAYMENTS,
                    amount: Millis(-amount.0),
                },
            ],
        )
    }

    /// The charge of one billing period of `server` to `user`:
    /// `charge:<server>:<period>`, the wallet debited, `system:revenue`
    /// credited. `who` is what billed (`billing`).
    pub fn charge(
        server: &str,
        period: i64,
        user: &str,
        amount: Millis,
        who: &str,
    ) -> Result<Tx, RuleError> {
        check_positive(amount)?;
        let key = IdemKey::charge(server, period)?;
        Tx::new(
            key,
            who,
            &format!("server {server}, hour from {period}"),
            vec![
                Posting {
                    account: Account::wallet(user)?,
                    amount: Millis(-amount.0),
                },
                Posting {
                    account: Account::REVENUE,
                    amount,
                },
            ],
        )
    }

    /// The reversal of a transaction with key `original` and these
    /// `postings`: `reverse:<original>`, every posting negated.
    pub fn reversal(original: &IdemKey, postings: &[Posting], who: &str) -> Result<Tx, RuleError> {
        let key = IdemKey::reverse(original)?;
        let negated = postings
            .iter()
            .map(|p| {
                p.amount
                    .checked_neg()
                    .map(|amount| Posting {
                        account: p.account.clone(),
                        amount,
                    })
                    .ok_or(RuleError::BadAmount(p.amount.0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Tx::new(key, who, &format!("reversal of {original}"), negated)
    }

    /// The idempotency key.
    pub fn key(&self) -> &IdemKey {
        &self.key
    }

    /// Who or what caused the transaction.
    pub fn who(&self) -> &str {
        &self.who
    }

    /// What it is for.
    pub fn memo(&self) -> &str {
        &self.memo
    }

    /// The postings, sorted by account name.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        for text in [
            "charge:srv-1:3600000",
            "deposit:pi_123",
            "grant:alice:req-7",
            "reverse:charge:srv-1:0",
        ] {
            let key: IdemKey = text.parse().expect(text);
            assert_eq!(key.to_string(), text);
        }
        for text in [
            "",
            "charge:srv",
            "charge:srv:-1",
            "charge:srv:+5",
            "charge:srv:05",
            "charge::5",
            "charge:a b:5",
            "deposit:",
            "deposit:a:b",
            "grant:alice",
            "reverse:reverse:deposit:x",
            "refund:x",
        ] {
            assert!(text.parse::<IdemKey>().is_err(), "{text:?} accepted");
        }
        assert_eq!(
            "charge:s:1".parse::<IdemKey>().map(|k| k.kind()),
            Ok(Kind::Charge)
        );
    }

    #[test]
    fn accounts_round_trip() {
        for text in [
            "wallet:u1",
            "system:revenue",
            "system:payments",
            "system:grants",
        ] {
            let a: Account = text.parse().expect(text);
            assert_eq!(a.to_string(), text);
        }
        for text in ["wallet:", "system:bank", "user:1", "wallet:a:b"] {
            assert!(text.parse::<Account>().is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn transactions_must_balance() {
        let key = IdemKey::deposit("p").expect("key");
        let w = Account::wallet("u").expect("wallet");
        let post = |account: &Account, amount| Posting {
            account: account.clone(),
            amount: Millis(amount),
        };
        assert_eq!(
            Tx::new(
                key.clone(),
                "x",
                "",
                vec![post(&w, 5), post(&Account::PAYMENTS, -4)]
            ),
            Err(RuleError::Unbalanced(1))
        );
        assert_eq!(
            Tx::new(key.clone(), "x", "", vec![post(&w, 5)]),
            Err(RuleError::PostingCount(1))
        );
        assert_eq!(
            Tx::new(key.clone(), "x", "", vec![post(&w, 0), post(&w, 0)]),
            Err(RuleError::BadAmount(0))
        );
        assert_eq!(
            Tx::new(key.clone(), "x", "", vec![post(&w, 5), post(&w, -5)]),
            Err(RuleError::DuplicateAccount("wallet:u".into()))
        );
        assert!(matches!(
            Tx::new(
                key.clone(),
                " ",
                "",
                vec![post(&w, 5), post(&Account::PAYMENTS, -5)]
            ),
            Err(RuleError::BadText { what: "who", .. })
        ));
        let too_big = MAX_AMOUNT + 1;
        assert_eq!(
            Tx::new(
                key,
                "x",
                "",
                vec![post(&w, too_big), post(&Account::PAYMENTS, -too_big)]
            ),
            Err(RuleError::BadAmount(too_big))
        );
        assert_eq!(
            Tx::charge("s", 0, "u", Millis(-1), "billing"),
            Err(RuleError::BadAmount(-1))
        );
        assert_eq!(
            Tx::grant("a", "r", "u", Millis(0), ""),
            Err(RuleError::BadAmount(0))
        );
    }

    #[test]
    fn builders_post_the_right_sides() {
        let tx = Tx::charge("s", 7, "u", Millis(250), "billing").expect("charge");
        assert_eq!(tx.key().to_string(), "charge:s:7");
        let by: Vec<(String, i64)> = tx
            .postings()
            .iter()
            .map(|p| (p.account.to_string(), p.amount.0))
            .collect();
        assert_eq!(
            by,
            vec![
                ("system:revenue".to_string(), 250),
                ("wallet:u".to_string(), -250)
            ]
        );
        let rev = Tx::reversal(tx.key(), tx.postings(), "admin:root").expect("reversal");
        assert_eq!(rev.key().to_string(), "reverse:charge:s:7");
        assert_eq!(rev.postings()[1].amount, Millis(250));
        assert!(matches!(
            Tx::reversal(rev.key(), rev.postings(), "x"),
            Err(RuleError::NotReversible(_))
        ));
    }

    #[test]
    fn millis_display_as_credits() {
        assert_eq!(Millis(12_345).to_string(), "12.345");
        assert_eq!(Millis(-5).to_string(), "-0.005");
        assert_eq!(Millis::from_credits(3), Some(Millis(3000)));
        assert_eq!(Millis::from_credits(i64::MAX), None);
    }
}
