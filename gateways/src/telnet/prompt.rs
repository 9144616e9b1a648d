//! The in-game prompt shown after each burst of output, and how it is
//! marked: `IAC EOR` where the client agreed to EOR, else `IAC GA` unless
//! it agreed to suppress go-ahead.
//!
//! Prompts are on by default for clients that agreed to EOR (those that
//! anchor triggers on them) and off for others, who see what they always
//! saw; `config prompt on|off|<template>` changes that. A template has
//! `%r` (room), `%p` (players online), `%n` (name) and `%%`.

/// The default template.
pub const DEFAULT_TEMPLATE: &str = "[%r] %p online > ";

/// The longest template accepted.
pub const MAX_TEMPLATE: usize = 100;

/// How a prompt's end is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// `IAC EOR`.
    Eor,
    /// `IAC GA`.
    Ga,
    /// Nothing (SGA agreed).
    None,
}

/// The marker for a client that has (or has not) agreed to EOR and SGA.
pub fn marker(eor: bool, sga: bool) -> Marker {
    if eor {
        Marker::Eor
    } else if sga {
        Marker::None
    } else {
        Marker::Ga
    }
}

/// What a prompt can show.
#[derive(Debug, Clone, Copy)]
pub struct PromptContext<'a> {
    /// The room's title.
    pub room: &'a str,
    /// Players online in the world.
    pub players: u64,
    /// The player's name.
    pub name: &'a str,
}

/// The prompt settings of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSettings {
    /// `Some` once the player chose on or off.
    pub chosen: Option<bool>,
    /// The template.
    pub template: String,
}

impl Default for PromptSettings {
    fn default() -> Self {
        PromptSettings {
            chosen: None,
            template: DEFAULT_TEMPLATE.to_owned(),
        }
    }
}

impl PromptSettings {
    /// Whether prompts are shown to a client that has (or has not) agreed to EOR.
    pub fn shown(&self, eor: bool) -> bool {
        self.chosen.unwrap_or(eor)
    }

    /// `config prompt <args>`: the answer to show.
    pub fn configure(&mut self, args: &str) -> String {
        let args = args.trim();
        match args.to_ascii_lowercase().as_str() {
            "" => format!(
                "Prompt: {} ('{}'). Try 'config prompt on', 'off', or a template with %r (room), %p (players), %n (name).",
                if self.chosen == Some(false) { "off" } else { "on" },
                self.template
            ),
            "on" => {
                self.chosen = Some(true);
                "Prompt on.".into()
            }
            "off" => {
                self.chosen = Some(false);
                "Prompt off.".into()
            }
            _ if args.chars().count() > MAX_TEMPLATE => {
                format!("A prompt is at most {MAX_TEMPLATE} characters.")
            }
            _ => {
                self.template = args.chars().filter(|c| !c.is_control()).collect();
                self.template.push(' ');
                self.chosen = Some(true);
                format!("Prompt set to '{}'.", self.template)
            }
        }
    }

    /// The prompt text for `ctx`.
    pub fn render(&self, ctx: &PromptContext<'_>) -> String {
        let mut out = String::with_capacity(self.template.len() + 16);
        let mut chars = self.template.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('r') => out.push_str(ctx.room),
                Some('p') => out.push_str(&ctx.players.to_string()),
                Some('n') => out.push_str(ctx.name),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert_eq!(marker(true, true), Marker::Eor);
        assert_eq!(marker(true, false), Marker::Eor);
        assert_eq!(marker(false, false), Marker::Ga);
        assert_eq!(marker(false, true), Marker::None);
    }

    #[test]
    fn prompts_render_and_are_configured() {
        let mut p = PromptSettings::default();
        assert!(p.shown(true) && !p.shown(false));
        let ctx = PromptContext {
            room: "The Plaza",
            players: 3,
            name: "ada",
        };
        assert_eq!(p.render(&ctx), "[The Plaza] 3 online > ");
        assert_eq!(p.configure("off"), "Prompt off.");
        assert!(!p.shown(true));
        assert_eq!(p.configure("ON"), "Prompt on.");
        assert!(p.shown(false));
        p.configure("%n@%r %% %x%");
        assert_eq!(p.render(&ctx), "ada@The Plaza % %x% ");
        assert!(p.configure(&"x".repeat(200)).contains("at most"));
        assert!(p.configure("").contains("Prompt: on"));
    }
}
