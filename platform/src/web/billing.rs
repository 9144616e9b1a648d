//! The billing page: the balance and every entry of the wallet's history,
//! with what caused it.

use axum::extract::{Query, State};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard::Failure;
use super::page::{credits, layout, when};
use super::viewer::Viewer;
use crate::api::billing::wallet;
use crate::api::{ApiError, AppState};

/// `?user=ID`: an admin looking at someone's billing.
#[derive(Debug, Deserialize)]
pub(super) struct Whose {
    user: Option<i64>,
}

/// `GET /billing`.
pub(super) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(whose): Query<Whose>,
) -> Result<Markup, Failure> {
    let user_id = match whose.user {
        Some(u) if u != viewer.user.id => {
            viewer.require_admin()?;
            u
        }
        _ => viewer.user.id,
    };
    let owner = state
        .users
        .get(user_id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::NotFound("no such user".into()))?;
    let account = wallet(user_id)?;
    let balance = state
        .ledger
        .balance(&account)
        .await
        .map_err(ApiError::from)?;
    let entries = state
        .ledger
        .history(&account, 200)
        .await
        .map_err(ApiError::from)?;
    let body = html! {
        div.page-head {
            h1 { "Billing" }
            @if user_id != viewer.user.id { span.muted { (owner.email) } }
        }
        section.card {
            div.muted { "Balance" }
            div.balance #balance { (credits(balance)) }
            p.muted {
                "Servers are charged per started hour while they run, when the hour starts. "
                "A server whose next hour the balance cannot pay is hibernated; its data is kept."
            }
        }
        section.card {
            h2 { "History" }
            @if entries.is_empty() {
                p.empty { "Nothing yet." }
            } @else {
                table.stack #history {
                    thead { tr {
                        th { "When" } th { "What" } th { "By" } th.num { "Amount" } th.num { "Balance" }
                    } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td data-label="When" { (when(e.created_ms)) }
                                td data-label="What" {
                                    (e.kind.name())
                                    @if !e.memo.is_empty() { span.muted { " — " (e.memo) } }
                                }
                                td data-label="By" { (e.who) }
                                td.num data-label="Amount" { (credits(e.amount)) }
                                td.num data-label="Balance" { (credits(e.balance_after)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout("Billing", Some(&viewer), body))
}
