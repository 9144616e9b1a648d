//! The site's frame (head, top bar, navigation) and small pieces every
//! page uses: notices, state badges, dates, credits.

use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::viewer::Viewer;
use gsp_control::ledger::Millis;
use gsp_control::servers::ServerState;

/// A whole page: `title`, the navigation for `viewer` (none on the
/// sign-in and error pages) and `body`.
pub fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · GSP" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/live.js" defer {}
            }
            body {
                header.topbar {
                    a.brand href="/" { span.logo { "◆" } " GSP" }
                    @if let Some(v) = viewer {
                        nav.menu {
                            a href="/servers" { "Servers" }
                            a href="/billing" { "Billing" }
                            a href="/account" { "Account" }
                            @if v.is_admin() {
                                a href="/admin/users" { "Users" }
                                a href="/admin/templates" { "Templates" }
                                a href="/admin/nodes" { "Nodes" }
                            }
                        }
                        form.signout method="post" action="/signout" {
                            (csrf_field(v))
                            span.who { (v.user.email) }
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.session.csrf); }
}

/// A green notice (`ok`) or a red one, when there is a message.
pub fn notice(message: Option<&str>, ok: bool) -> Markup {
    html! {
        @if let Some(m) = message {
            p.notice.(if ok { "ok" } else { "bad" }) role="status" { (m) }
        }
    }
}

/// `?ok=CODE`: a page reached after a change shows that change's notice.
/// Codes, not text, travel in the URL, so a link cannot put words on the
/// site.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    ok: Option<String>,
}

impl Done {
    /// The notice of this code among `notices` (code, text), if any.
    pub fn message(&self, notices: &[(&str, &'static str)]) -> Option<&'static str> {
        let code = self.ok.as_deref()?;
        notices.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
    }
}

/// A server's state as a coloured badge.
pub fn state_badge(state: ServerState) -> Markup {
    html! { span.badge.(state.as_str()) data-state { (state.as_str()) } }
}

/// Credits for people: `12.345 cr`.
pub fn credits(amount: Millis) -> String {
    format!("{amount} cr")
}

/// A Unix-ms time as `2026-11-21 14:05 UTC`.
pub fn when(unix_ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_credits_read_well() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_269_900_000), "2026-11-21 14:05 UTC");
        assert_eq!(when(i64::MAX), "—");
        assert_eq!(credits(Millis(12_345)), "12.345 cr");
        assert_eq!(credits(Millis(-500)), "-0.500 cr");
    }

    #[test]
    fn text_is_escaped() {
        let html = notice(Some("<script>x</script>"), false).into_string();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
    }
}
