//! The credits ledger: double entry, append-only, idempotent.
//!
//! Money is counted in integer milli-credits ([`Millis`]); nothing is ever
//! a float. Every movement is a transaction ([`Tx`]) of postings that sum
//! to zero, under an idempotency key that can move money once only; a
//! balance is the sum of an account's postings; a mistake is corrected by a
//! reversing transaction, never by editing one. The rules that need no
//! database live in [`rules`]; [`store`] adds the ones that do (unique keys,
//! no negative wallet) inside one database transaction per posting.
//!
//! # Chart of accounts
//!
//! | account | what it holds | moved by |
//! | --- | --- | --- |
//! | `wallet:<user>` | credits the user can spend; **never below zero** | `+` grant, deposit; `-` charge |
//! | `system:grants` | credits given away by admins (negative: the sum granted) | `-` grant |
//! | `system:payments` | money received from the payment provider (negative: the sum paid in) | `-` deposit |
//! | `system:revenue` | credits earned by hosting (positive: the sum charged) | `+` charge |
//!
//! Since every transaction sums to zero, so does the whole ledger:
//! wallets + revenue = -(grants + payments), i.e. what users hold plus what
//! they spent equals what they were given and paid.
//!
//! # Idempotency keys
//!
//! | key | transaction |
//! | --- | --- |
//! | `charge:<server>:<period>` | one billing period of a server (period = its start, Unix ms) |
//! | `deposit:<payment id>` | one payment (a replayed webhook posts nothing) |
//! | `grant:<admin>:<request id>` | one admin grant (a resubmitted form posts nothing) |
//! | `reverse:<original key>` | the correction of the original; reversals are not reversible |
//!
//! Posting a used key returns the original transaction
//! ([`Posted::Duplicate`]) and changes nothing. A transaction refused for
//! insufficient funds is not recorded, so the same key may succeed later.
//!
//! ```no_run
//! # async fn demo(db: gsp_store::Database) -> Result<(), gsp_control::ledger::LedgerError> {
//! use gsp_control::ledger::{Account, Ledger, Millis};
//! let ledger = Ledger::new(db);
//! ledger.grant("root", "req-1", "u42", Millis::from_credits(10).unwrap_or_default(), "welcome").await?;
//! ledger.charge("srv-7", 1_700_000_000_000, "u42", Millis(250), "billing").await?;
//! let balance = ledger.balance(&Account::wallet("u42")?).await?;
//! # let _ = balance; Ok(()) }
//! ```

pub mod rules;
pub mod store;

pub use rules::{Account, IdemKey, Kind, Millis, Posting, RuleError, SystemAccount, Tx};
pub use store::{Audit, Entry, Ledger, LedgerError, Posted, Recorded};
