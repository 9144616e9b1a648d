//! The telnet login conversation, as a sans-I/O state machine.
//!
//! [`LoginFlow`] knows what to say and what to ask, and nothing about
//! sockets, the account store or the world: the shell in
//! [`server`](super::server) feeds it [`Input`]s (typed lines, the answers
//! to its requests, a deadline passing) and carries out the [`Action`]s it
//! returns (write text, show a prompt, hide or show the player's typing,
//! call the account service or the world, finish). That keeps every path of
//! the conversation testable with plain values.
//!
//! # The conversation
//!
//! Without an account service every player is a guest: "By what name do you
//! wish to be known?", and the world says whether the name is free.
//!
//! With one, the classic MUD dialogue and Evennia's one-line commands:
//!
//! ```text
//! Enter your name to log in or create a character. Or type:
//! connect <name> <password> | create <name> <password> | quit
//! What is your name? ada
//! Password:                                  (not echoed)
//!
//! What is your name? bob
//! There is no one called bob yet. Create a new character called bob? (yes/no) yes
//! Choose a password (at least 8 characters):  (not echoed)
//! Repeat it:                                  (not echoed)
//! ```
//!
//! `connect <name> <password>` and `create <name> <password>` at the name
//! prompt do the same in one line (the password is then visible as typed,
//! as in Evennia), and `guest <name>` plays without an account when the
//! world allows guests and no account has that name. Every failure says why
//! (the [`AccountError`]'s own message) and returns to the name prompt,
//! until [`LoginConfig::max_tries`] prompts have been shown.
//!
//! Passwords are typed with the client's local echo off: [`Action::EchoOff`]
//! comes right before each password prompt, and [`Action::EchoOn`] right
//! after the line that answers it (or before the goodbye if the player
//! leaves at that prompt), so the player's echo is never left off. Spaces
//! around a password are not part of it.

use gsp_engine::systems::ingest::valid_name;
use gsp_engine::{AccountError, GatewayKind, JoinError, JoinRequest, Login, RefusalReason};
use gsp_protocol::Secret;

/// Name prompts shown before the player is told "too many tries".
pub const MAX_TRIES: u32 = 10;

/// How a [`LoginFlow`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginConfig {
    /// Whether there is an account service. Without one every player is a
    /// guest, whatever `allow_guests` says.
    pub accounts: bool,
    /// With accounts: whether `guest <name>` is offered.
    pub allow_guests: bool,
    /// Name prompts shown before giving up.
    pub max_tries: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            accounts: false,
            allow_guests: true,
            max_tries: MAX_TRIES,
        }
    }
}

/// What the shell feeds the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The player typed a line.
    Line(String),
    /// The player typed a line over the codec's limit; it was discarded.
    LineTooLong,
    /// The answer to [`Request::Exists`].
    Exists(Result<bool, AccountError>),
    /// The answer to [`Request::Connect`] or [`Request::Create`].
    Login(Result<Login, AccountError>),
    /// The answer to [`Request::Join`]: whether the world took the player.
    Joined(Result<(), JoinError>),
    /// The login deadline passed.
    TimedOut,
}

/// A question for the account service or the world. The shell answers
/// each with the matching [`Input`] before feeding the flow anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Does an account called `name` exist? Answer with [`Input::Exists`].
    Exists {
        /// The name typed.
        name: String,
    },
    /// Log in. Answer with [`Input::Login`].
    Connect {
        /// The name typed.
        name: String,
        /// The password typed.
        password: Secret,
    },
    /// Create an account and log in. Answer with [`Input::Login`].
    Create {
        /// The name typed.
        name: String,
        /// The password chosen.
        password: Secret,
    },
    /// Join the world. Answer with [`Input::Joined`] (the shell keeps the
    /// session it got).
    Join(JoinRequest),
}

/// What the flow wants done, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write this text (lines end with `\n`).
    Write(String),
    /// Write this prompt and mark it as one (IAC GA); a line is expected.
    Prompt(String),
    /// Stop the client echoing what the player types (the server says it
    /// will echo, and does not): the next prompt asks for a password.
    EchoOff,
    /// Let the client echo again. (The flow itself writes the newline the
    /// client did not echo.)
    EchoOn,
    /// Ask this; the answer is the next input.
    Request(Request),
    /// The player is in the world: play on with the session from the
    /// last [`Request::Join`].
    Done,
    /// Close the connection (the goodbye has been written).
    Close,
}

/// Where the conversation is.
#[derive(Debug, Clone)]
enum State {
    /// At the name prompt.
    Name,
    /// Waiting for [`Input::Exists`].
    Exists { name: String, guest: bool },
    /// "Create a new character called ...? (yes/no)".
    ConfirmCreate { name: String },
    /// The password of an existing account.
    Password { name: String },
    /// A new account's password, first time.
    ChoosePassword { name: String },
    /// A new account's password, again.
    RepeatPassword { name: String, first: Secret },
    /// Waiting for [`Input::Login`].
    Authenticating { how: How, name: String },
    /// Waiting for [`Input::Joined`].
    Joining,
    /// Done or closed: inputs are ignored.
    Finished,
}

/// What an authentication request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Connect,
    /// Created through the prompts: a weak password asks for another.
    CreateDialogue,
    CreateOneLine,
}

const GUEST_PROMPT: &str = "By what name do you wish to be known? ";
const NAME_PROMPT: &str = "What is your name? ";
const PASSWORD_PROMPT: &str = "Password: ";
const CHOOSE_PROMPT: &str = "Choose a password (at least 8 characters): ";
const REPEAT_PROMPT: &str = "Repeat it: ";

/// The login conversation of one telnet connection.
#[derive(Debug, Clone)]
pub struct LoginFlow {
    config: LoginConfig,
    state: State,
    /// Name prompts shown so far.
    tries: u32,
    /// Whether the client's echo is off (an [`Action::EchoOff`] not yet undone).
    hidden: bool,
}

impl LoginFlow {
    /// A conversation that has not started.
    pub fn new(config: LoginConfig) -> Self {
        LoginFlow {
            config,
            state: State::Name,
            tries: 0,
            hidden: false,
        }
    }

    /// Whether the flow has finished ([`Action::Done`] or [`Action::Close`]).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// The help line (with accounts) and the first name prompt.
    pub fn start(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.config.accounts {
            let guest = if self.config.allow_guests {
                " | guest <name>"
            } else {
                ""
            };
            out.push(Action::Write(format!(
                "Enter your name to log in or create a character. Or type:\n\
                 connect <name> <password> | create <name> <password>{guest} | quit\n"
            )));
        }
        self.name_prompt(&mut out);
        out
    }

    /// Takes one input and says what to do next.
    ///
    /// An input the current state does not expect (a line while a request
    /// is pending, anything after the end) is ignored.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.state, State::Finished) {
            return out;
        }
        if input == Input::TimedOut {
            self.echo_on(&mut out);
            out.push(Action::Write("\nToo slow. Goodbye.\n".into()));
            self.close(&mut out);
            return out;
        }
        let state = std::mem::replace(&mut self.state, State::Finished);
        match (state, input) {
            (State::Name, Input::Line(line)) => self.name_line(line.trim(), &mut out),
            (State::Name, Input::LineTooLong) => {
                self.state = State::Name;
                out.push(Action::Write("That is far too long for a name.\n".into()));
            }
            (State::Exists { name, guest }, Input::Exists(answer)) => {
                self.exists(name, guest, answer, &mut out)
            }
            (State::ConfirmCreate { name }, Input::Line(line)) => {
                match line.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => self.password_prompt(
                        State::ChoosePassword { name },
                        CHOOSE_PROMPT,
                        &mut out,
                    ),
                    "n" | "no" => self.name_prompt(&mut out),
                    _ => {
                        self.state = State::ConfirmCreate { name };
                        out.push(Action::Prompt("Please answer yes or no: ".into()));
                    }
                }
            }
            (State::ConfirmCreate { name }, Input::LineTooLong) => {
                self.state = State::ConfirmCreate { name };
                out.push(Action::Prompt("Please answer yes or no: ".into()));
            }
            (State::Password { name }, Input::Line(line)) => {
                self.end_hidden_line(false, &mut out);
                let password = line.trim();
                if password.is_empty() {
                    self.name_prompt(&mut out);
                } else {
                    self.state = State::Authenticating {
                        how: How::Connect,
                        name: name.clone(),
                    };
                    out.push(Action::Request(Request::Connect {
                        name,
                        password: Secret::from(password),
                    }));
                }
            }
            (State::ChoosePassword { name }, Input::Line(line)) => {
                let password = line.trim();
                if password.is_empty() {
                    self.end_hidden_line(false, &mut out);
                    out.push(Action::Write(
                        "No password given; nothing created.\n".into(),
                    ));
                    self.name_prompt(&mut out);
                } else {
                    // Echo stays off for the second password prompt.
                    self.end_hidden_line(true, &mut out);
                    let first = Secret::from(password);
                    self.password_prompt(
                        State::RepeatPassword { name, first },
                        REPEAT_PROMPT,
                        &mut out,
                    );
                }
            }
            (State::RepeatPassword { name, first }, Input::Line(line)) => {
                let matches = line.trim() == first.expose();
                self.end_hidden_line(!matches, &mut out);
                if !matches {
                    out.push(Action::Write(
                        "The passwords do not match; try again.\n".into(),
                    ));
                    self.tries += 1;
                    if self.out_of_tries(&mut out) {
                        return out;
                    }
                    self.password_prompt(State::ChoosePassword { name }, CHOOSE_PROMPT, &mut out);
                } else {
                    self.state = State::Authenticating {
                        how: How::CreateDialogue,
                        name: name.clone(),
                    };
                    out.push(Action::Request(Request::Create {
                        name,
                        password: first,
                    }));
                }
            }
            (
                State::Password { .. }
                | State::ChoosePassword { .. }
                | State::RepeatPassword { .. },
                Input::LineTooLong,
            ) => {
                self.end_hidden_line(false, &mut out);
                out.push(Action::Write("That is far too long.\n".into()));
                self.name_prompt(&mut out);
            }
            (State::Authenticating { how, name }, Input::Login(answer)) => {
                self.authenticated(how, name, answer, &mut out)
            }
            (State::Joining, Input::Joined(answer)) => match answer {
                Ok(()) => out.push(Action::Done),
                Err(JoinError::Refused(
                    reason @ (RefusalReason::BadName | RefusalReason::NameTaken),
                )) => {
                    out.push(Action::Write(sorry(&reason.to_string())));
                    self.name_prompt(&mut out);
                }
                Err(JoinError::Refused(reason)) => {
                    out.push(Action::Write(sorry(&reason.to_string())));
                    self.close(&mut out);
                }
                Err(e) => {
                    out.push(Action::Write(sorry(&e.to_string())));
                    self.close(&mut out);
                }
            },
            (state, _) => self.state = state,
        }
        out
    }

    /// A line typed at the name prompt.
    fn name_line(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.is_empty() {
            return self.name_prompt(out);
        }
        if line.eq_ignore_ascii_case("quit") {
            out.push(Action::Write("Goodbye.\n".into()));
            return self.close(out);
        }
        if !self.config.accounts {
            self.state = State::Joining;
            out.push(Action::Request(Request::Join(JoinRequest::guest(
                line,
                GatewayKind::Telnet,
            ))));
            return;
        }
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((word, rest)) => (word, rest.trim()),
            None => (line, ""),
        };
        let command = word.to_ascii_lowercase();
        match command.as_str() {
            "connect" | "create" => {
                let (name, password) = rest
                    .split_once(char::is_whitespace)
                    .map(|(n, p)| (n, p.trim()))
                    .unwrap_or((rest, ""));
                if name.is_empty() || password.is_empty() {
                    out.push(Action::Write(format!(
                        "Usage: {command} <name> <password>\n"
                    )));
                    return self.name_prompt(out);
                }
                let (name, password) = (name.to_owned(), Secret::from(password));
                let how = if command == "connect" {
                    How::Connect
                } else {
                    How::CreateOneLine
                };
                self.state = State::Authenticating {
                    how,
                    name: name.clone(),
                };
                out.push(Action::Request(match how {
                    How::Connect => Request::Connect { name, password },
                    _ => Request::Create { name, password },
                }));
            }
            "guest" if !self.config.allow_guests => {
                out.push(Action::Write(
                    "This world has no guests; create a character instead.\n".into(),
                ));
                self.name_prompt(out);
            }
            "guest" => self.ask_exists(rest, true, out),
            _ if rest.is_empty() => self.ask_exists(line, false, out),
            _ => {
                out.push(Action::Write(
                    "Names are one word. Type your name, or: connect <name> <password> | \
                     create <name> <password> | quit\n"
                        .into(),
                ));
                self.name_prompt(out);
            }
        }
    }

    fn ask_exists(&mut self, name: &str, guest: bool, out: &mut Vec<Action>) {
        if !valid_name(name) {
            out.push(Action::Write(sorry(&AccountError::BadName.to_string())));
            return self.name_prompt(out);
        }
        self.state = State::Exists {
            name: name.to_owned(),
            guest,
        };
        out.push(Action::Request(Request::Exists {
            name: name.to_owned(),
        }));
    }

    fn exists(
        &mut self,
        name: String,
        guest: bool,
        answer: Result<bool, AccountError>,
        out: &mut Vec<Action>,
    ) {
        match (answer, guest) {
            (Ok(true), false) => {
                self.password_prompt(State::Password { name }, PASSWORD_PROMPT, out)
            }
            (Ok(false), false) => {
                out.push(Action::Prompt(format!(
                    "There is no one called {name} yet. Create a new character called {name}? (yes/no) "
                )));
                self.state = State::ConfirmCreate { name };
            }
            (Ok(true), true) => {
                out.push(Action::Write(format!(
                    "{name} is an account's name; log in with: connect {name} <password>\n"
                )));
                self.name_prompt(out);
            }
            (Ok(false), true) => {
                self.state = State::Joining;
                out.push(Action::Request(Request::Join(JoinRequest::guest(
                    &name,
                    GatewayKind::Telnet,
                ))));
            }
            (Err(e), _) => self.account_error(e, out),
        }
    }

    fn authenticated(
        &mut self,
        how: How,
        name: String,
        answer: Result<Login, AccountError>,
        out: &mut Vec<Action>,
    ) {
        match answer {
            Ok(login) => {
                out.push(Action::Write(match how {
                    How::Connect => format!("Welcome back, {}.\n", login.name),
                    How::CreateDialogue | How::CreateOneLine => {
                        format!(
                            "Welcome, {}! Your character has been created.\n",
                            login.name
                        )
                    }
                }));
                self.state = State::Joining;
                out.push(Action::Request(Request::Join(JoinRequest::account(
                    &login,
                    GatewayKind::Telnet,
                ))));
            }
            Err(AccountError::WeakPassword(why)) if how == How::CreateDialogue => {
                // The name is fine: ask for a better password at once.
                out.push(Action::Write(sorry(&why)));
                self.tries += 1;
                if self.out_of_tries(out) {
                    return;
                }
                self.password_prompt(State::ChoosePassword { name }, CHOOSE_PROMPT, out);
            }
            Err(e) => self.account_error(e, out),
        }
    }

    /// Shows an account error and goes back to the name prompt, or closes
    /// if the store is down.
    fn account_error(&mut self, e: AccountError, out: &mut Vec<Action>) {
        if let AccountError::Unavailable(_) = e {
            out.push(Action::Write(
                "Sorry, accounts are unavailable right now; please try again later.\n".into(),
            ));
            return self.close(out);
        }
        out.push(Action::Write(sorry(&e.to_string())));
        self.name_prompt(out);
    }

    fn name_prompt(&mut self, out: &mut Vec<Action>) {
        self.tries += 1;
        if self.out_of_tries(out) {
            return;
        }
        self.state = State::Name;
        out.push(Action::Prompt(
            if self.config.accounts {
                NAME_PROMPT
            } else {
                GUEST_PROMPT
            }
            .into(),
        ));
    }

    /// Says goodbye and closes if the player has used up their tries.
    fn out_of_tries(&mut self, out: &mut Vec<Action>) -> bool {
        if self.tries <= self.config.max_tries {
            return false;
        }
        out.push(Action::Write("Too many tries. Goodbye.\n".into()));
        self.close(out);
        true
    }

    fn password_prompt(&mut self, next: State, prompt: &str, out: &mut Vec<Action>) {
        if !self.hidden {
            self.hidden = true;
            out.push(Action::EchoOff);
        }
        out.push(Action::Prompt(prompt.into()));
        self.state = next;
    }

    /// After a line typed with echo off: ends it on the player's screen,
    /// and turns echo back on unless another password prompt follows.
    fn end_hidden_line(&mut self, keep_hidden: bool, out: &mut Vec<Action>) {
        if !keep_hidden {
            self.echo_on(out);
        }
        out.push(Action::Write("\n".into()));
    }

    fn echo_on(&mut self, out: &mut Vec<Action>) {
        if std::mem::take(&mut self.hidden) {
            out.push(Action::EchoOn);
        }
    }

    fn close(&mut self, out: &mut Vec<Action>) {
        self.echo_on(out);
        self.state = State::Finished;
        out.push(Action::Close);
    }
}

/// "Sorry, <why>." as a line.
fn sorry(why: &str) -> String {
    format!("Sorry, {}.\n", why.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_engine::AccountId;
    use std::time::Duration;

    /// A conversation driven by hand, every action recorded and checked
    /// against the echo rules as it happens.
    struct Run {
        flow: LoginFlow,
        /// Whether the client's echo is off, as the actions so far say.
        hidden: bool,
        /// Every action, in order.
        log: Vec<Action>,
    }

    impl Run {
        fn new(config: LoginConfig) -> (Run, Vec<Action>) {
            let mut run = Run {
                flow: LoginFlow::new(config),
                hidden: false,
                log: Vec::new(),
            };
            let first = run.flow.start();
            run.record(&first);
            (run, first)
        }

        fn accounts() -> (Run, Vec<Action>) {
            Run::new(LoginConfig {
                accounts: true,
                ..LoginConfig::default()
            })
        }

        fn feed(&mut self, input: Input) -> Vec<Action> {
            let actions = self.flow.handle(input);
            self.record(&actions);
            actions
        }

        fn line(&mut self, line: &str) -> Vec<Action> {
            self.feed(Input::Line(line.into()))
        }

        /// Checks the echo rules: echo goes off only right before a password
        /// prompt, only password prompts are shown while it is off, and it
        /// is back on before any request, `Done` or `Close`.
        fn record(&mut self, actions: &[Action]) {
            for (i, action) in actions.iter().enumerate() {
                match action {
                    Action::EchoOff => {
                        assert!(!self.hidden, "echo turned off twice: {actions:?}");
                        match actions.get(i + 1) {
                            Some(Action::Prompt(p)) if is_password_prompt(p) => {}
                            other => panic!("EchoOff not before a password prompt: {other:?}"),
                        }
                        self.hidden = true;
                    }
                    Action::EchoOn => {
                        assert!(self.hidden, "echo turned on while on: {actions:?}");
                        self.hidden = false;
                    }
                    Action::Prompt(p) => assert_eq!(
                        self.hidden,
                        is_password_prompt(p),
                        "prompt {p:?} with echo {}",
                        if self.hidden { "off" } else { "on" }
                    ),
                    Action::Request(_) | Action::Done | Action::Close => {
                        assert!(!self.hidden, "{action:?} with echo off")
                    }
                    Action::Write(_) => {}
                }
            }
            self.log.extend_from_slice(actions);
        }
    }

    fn is_password_prompt(p: &str) -> bool {
        [PASSWORD_PROMPT, CHOOSE_PROMPT, REPEAT_PROMPT].contains(&p)
    }

    /// What the player reads.
    fn text(actions: &[Action]) -> String {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Write(t) | Action::Prompt(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    fn requests(actions: &[Action]) -> Vec<&Request> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Request(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn echo(actions: &[Action]) -> Vec<&Action> {
        actions
            .iter()
            .filter(|a| matches!(a, Action::EchoOff | Action::EchoOn))
            .collect()
    }

    fn login(name: &str) -> Login {
        Login {
            account: AccountId(7),
            name: name.into(),
            character: None,
        }
    }

    fn connect(name: &str, password: &str) -> Request {
        Request::Connect {
            name: name.into(),
            password: password.into(),
        }
    }

    fn create(name: &str, password: &str) -> Request {
        Request::Create {
            name: name.into(),
            password: password.into(),
        }
    }

    fn exists(name: &str) -> Request {
        Request::Exists { name: name.into() }
    }

    fn is_name_prompt(actions: &[Action]) -> bool {
        actions.last() == Some(&Action::Prompt(NAME_PROMPT.into()))
    }

    #[test]
    fn without_accounts_every_name_is_a_guest_for_the_world() {
        let (mut run, first) = Run::new(LoginConfig::default());
        assert_eq!(first, vec![Action::Prompt(GUEST_PROMPT.into())]);
        let a = run.line("  ada ");
        assert_eq!(
            requests(&a),
            vec![&Request::Join(JoinRequest::guest(
                "ada",
                GatewayKind::Telnet
            ))]
        );
        let a = run.feed(Input::Joined(Err(JoinError::Refused(
            RefusalReason::NameTaken,
        ))));
        assert_eq!(
            text(&a),
            format!("Sorry, that name is already in use.\n{GUEST_PROMPT}")
        );
        // Even "connect" is just a name here: the world judges it.
        let a = run.line("connect ada secret123");
        assert!(
            matches!(requests(&a)[..], [Request::Join(j)] if j.name == "connect ada secret123")
        );
        let a = run.feed(Input::Joined(Ok(())));
        assert_eq!(a, vec![Action::Done]);
        assert!(run.flow.is_finished());
        assert!(echo(&run.log).is_empty());
    }

    #[test]
    fn connect_with_the_right_password_joins_the_account() {
        let (mut run, first) = Run::accounts();
        let help = text(&first);
        assert!(help.starts_with("Enter your name to log in or create a character. Or type:\n"));
        assert!(
            help.contains(
                "connect <name> <password> | create <name> <password> | guest <name> | quit"
            ),
            "{help}"
        );
        assert!(is_name_prompt(&first));

        let a = run.line("Ada");
        assert_eq!(a, vec![Action::Request(exists("Ada"))]);
        let a = run.feed(Input::Exists(Ok(true)));
        assert_eq!(
            a,
            vec![Action::EchoOff, Action::Prompt(PASSWORD_PROMPT.into())]
        );
        let a = run.line("  correct horse ");
        assert_eq!(
            a,
            vec![
                Action::EchoOn,
                Action::Write("\n".into()),
                Action::Request(connect("Ada", "correct horse"))
            ]
        );
        let ada = login("ada");
        let a = run.feed(Input::Login(Ok(ada.clone())));
        assert_eq!(text(&a), "Welcome back, ada.\n");
        let join = JoinRequest::account(&ada, GatewayKind::Telnet);
        assert_eq!(join.account, Some(AccountId(7)));
        assert_eq!(requests(&a), vec![&Request::Join(join)]);
        assert_eq!(run.feed(Input::Joined(Ok(()))), vec![Action::Done]);
        assert!(run.flow.is_finished());
        // Nothing more happens after the end.
        assert!(run.line("look").is_empty());
        assert!(run.feed(Input::TimedOut).is_empty());
    }

    #[test]
    fn a_wrong_password_says_so_and_the_player_may_try_again() {
        let (mut run, _) = Run::accounts();
        run.line("ada");
        run.feed(Input::Exists(Ok(true)));
        run.line("wrong-one");
        let a = run.feed(Input::Login(Err(AccountError::BadCredentials)));
        assert_eq!(
            text(&a),
            format!("Sorry, wrong name or password.\n{NAME_PROMPT}")
        );
        assert!(requests(&a).is_empty());
        run.line("ada");
        run.feed(Input::Exists(Ok(true)));
        let a = run.line("right-one");
        assert_eq!(requests(&a), vec![&connect("ada", "right-one")]);
        let a = run.feed(Input::Login(Ok(login("ada"))));
        assert!(matches!(requests(&a)[..], [Request::Join(_)]));
        // Echo went off and on exactly twice, around the two password prompts.
        assert_eq!(
            echo(&run.log),
            vec![
                &Action::EchoOff,
                &Action::EchoOn,
                &Action::EchoOff,
                &Action::EchoOn
            ]
        );
    }

    #[test]
    fn an_unknown_name_creates_a_character_after_matching_passwords() {
        let (mut run, _) = Run::accounts();
        assert_eq!(run.line("bob"), vec![Action::Request(exists("bob"))]);
        let a = run.feed(Input::Exists(Ok(false)));
        assert_eq!(
            a,
            vec![Action::Prompt(
                "There is no one called bob yet. Create a new character called bob? (yes/no) "
                    .into()
            )]
        );
        assert_eq!(
            run.line("perhaps"),
            vec![Action::Prompt("Please answer yes or no: ".into())]
        );
        let a = run.line("YES");
        assert_eq!(
            a,
            vec![Action::EchoOff, Action::Prompt(CHOOSE_PROMPT.into())]
        );
        // Echo stays off between the two password prompts.
        let a = run.line("password1");
        assert_eq!(
            a,
            vec![
                Action::Write("\n".into()),
                Action::Prompt(REPEAT_PROMPT.into())
            ]
        );
        let a = run.line("password2");
        assert_eq!(
            a,
            vec![
                Action::Write("\n".into()),
                Action::Write("The passwords do not match; try again.\n".into()),
                Action::Prompt(CHOOSE_PROMPT.into())
            ]
        );
        run.line("password3");
        let a = run.line("password3");
        assert_eq!(
            a,
            vec![
                Action::EchoOn,
                Action::Write("\n".into()),
                Action::Request(create("bob", "password3"))
            ]
        );
        let a = run.feed(Input::Login(Ok(login("bob"))));
        assert_eq!(text(&a), "Welcome, bob! Your character has been created.\n");
        assert!(
            matches!(requests(&a)[..], [Request::Join(j)] if j.account == Some(AccountId(7)) && j.name == "bob")
        );
        assert_eq!(run.feed(Input::Joined(Ok(()))), vec![Action::Done]);
        assert_eq!(echo(&run.log), vec![&Action::EchoOff, &Action::EchoOn]);
    }

    #[test]
    fn declining_to_create_goes_back_to_the_name_prompt() {
        let (mut run, _) = Run::accounts();
        run.line("bob");
        run.feed(Input::Exists(Ok(false)));
        assert!(is_name_prompt(&run.line("n")));
        // An empty first password cancels the creation.
        run.line("bob");
        run.feed(Input::Exists(Ok(false)));
        run.line("y");
        let a = run.line("   ");
        assert!(text(&a).contains("No password given"), "{a:?}");
        assert!(is_name_prompt(&a));
        assert!(requests(&run.log)
            .iter()
            .all(|r| matches!(r, Request::Exists { .. })));
    }

    #[test]
    fn one_line_connect_and_create_need_no_prompts() {
        let (mut run, _) = Run::accounts();
        let a = run.line("connect ada   correct horse ");
        assert_eq!(a, vec![Action::Request(connect("ada", "correct horse"))]);
        run.feed(Input::Login(Err(AccountError::BadCredentials)));
        let a = run.line("CREATE Bob hunter2hunter2");
        assert_eq!(a, vec![Action::Request(create("Bob", "hunter2hunter2"))]);
        let a = run.feed(Input::Login(Ok(login("Bob"))));
        assert!(text(&a).contains("has been created"));
        assert_eq!(run.feed(Input::Joined(Ok(()))), vec![Action::Done]);
        // The password came in clear on the line: no echo games at all.
        assert!(echo(&run.log).is_empty());
    }

    #[test]
    fn one_line_forms_without_a_password_show_the_usage() {
        let (mut run, _) = Run::accounts();
        for (line, usage) in [
            ("connect ada", "Usage: connect <name> <password>\n"),
            ("create", "Usage: create <name> <password>\n"),
            ("connect", "Usage: connect <name> <password>\n"),
        ] {
            let a = run.line(line);
            assert_eq!(text(&a), format!("{usage}{NAME_PROMPT}"), "{line}");
            assert!(requests(&a).is_empty());
        }
    }

    #[test]
    fn throttling_shows_the_wait() {
        let (mut run, _) = Run::accounts();
        run.line("connect ada guess");
        let a = run.feed(Input::Login(Err(AccountError::Throttled {
            retry_after: Duration::from_secs(30),
        })));
        assert_eq!(
            text(&a),
            format!("Sorry, too many failed attempts; try again in 30 s.\n{NAME_PROMPT}")
        );
    }

    #[test]
    fn a_weak_password_asks_for_another_in_the_dialogue() {
        let (mut run, _) = Run::accounts();
        run.line("bob");
        run.feed(Input::Exists(Ok(false)));
        run.line("yes");
        run.line("short");
        run.line("short");
        let weak = AccountError::WeakPassword("passwords need at least 8 characters".into());
        let a = run.feed(Input::Login(Err(weak.clone())));
        assert_eq!(
            a,
            vec![
                Action::Write("Sorry, passwords need at least 8 characters.\n".into()),
                Action::EchoOff,
                Action::Prompt(CHOOSE_PROMPT.into())
            ]
        );
        run.line("much longer");
        let a = run.line("much longer");
        assert_eq!(requests(&a), vec![&create("bob", "much longer")]);
        // In one line, the player retypes the whole command.
        run.feed(Input::Login(Err(AccountError::NameTaken)));
        let a = run.line("create carol short");
        assert_eq!(requests(&a), vec![&create("carol", "short")]);
        let a = run.feed(Input::Login(Err(weak)));
        assert_eq!(
            text(&a),
            format!("Sorry, passwords need at least 8 characters.\n{NAME_PROMPT}")
        );
    }

    #[test]
    fn a_taken_name_is_refused_with_the_services_words() {
        let (mut run, _) = Run::accounts();
        run.line("create ada hunter2hunter2");
        let a = run.feed(Input::Login(Err(AccountError::NameTaken)));
        assert_eq!(
            text(&a),
            format!("Sorry, that name is already taken.\n{NAME_PROMPT}")
        );
    }

    #[test]
    fn quit_leaves_from_the_name_prompt() {
        let (mut run, _) = Run::accounts();
        assert_eq!(
            run.line("QUIT"),
            vec![Action::Write("Goodbye.\n".into()), Action::Close]
        );
        assert!(run.flow.is_finished());
        assert!(run.line("ada").is_empty());
    }

    #[test]
    fn timing_out_at_a_password_prompt_turns_echo_back_on() {
        let (mut run, _) = Run::accounts();
        run.line("ada");
        run.feed(Input::Exists(Ok(true)));
        assert_eq!(
            run.feed(Input::TimedOut),
            vec![
                Action::EchoOn,
                Action::Write("\nToo slow. Goodbye.\n".into()),
                Action::Close
            ]
        );
        // At the name prompt there is no echo to restore.
        let (mut run, _) = Run::accounts();
        assert_eq!(
            run.feed(Input::TimedOut),
            vec![
                Action::Write("\nToo slow. Goodbye.\n".into()),
                Action::Close
            ]
        );
    }

    #[test]
    fn a_long_line_at_a_password_prompt_turns_echo_back_on() {
        let (mut run, _) = Run::accounts();
        run.line("ada");
        run.feed(Input::Exists(Ok(true)));
        let a = run.feed(Input::LineTooLong);
        assert_eq!(a[0], Action::EchoOn);
        assert!(text(&a).contains("far too long"));
        assert!(is_name_prompt(&a));
        // At the name prompt it is only a remark.
        assert_eq!(
            run.feed(Input::LineTooLong),
            vec![Action::Write("That is far too long for a name.\n".into())]
        );
    }

    #[test]
    fn tries_are_limited() {
        let (mut run, _) = Run::new(LoginConfig {
            accounts: true,
            max_tries: 3,
            ..LoginConfig::default()
        });
        run.line("");
        run.line("connect ada wrong");
        let a = run.feed(Input::Login(Err(AccountError::BadCredentials)));
        assert!(is_name_prompt(&a), "the third prompt is still shown");
        run.line("connect ada wrong again");
        let a = run.feed(Input::Login(Err(AccountError::BadCredentials)));
        assert_eq!(
            text(&a),
            "Sorry, wrong name or password.\nToo many tries. Goodbye.\n"
        );
        assert_eq!(a.last(), Some(&Action::Close));

        // Mismatched passwords count too, and echo comes back before the goodbye.
        let (mut run, _) = Run::new(LoginConfig {
            accounts: true,
            max_tries: 1,
            ..LoginConfig::default()
        });
        run.line("bob");
        run.feed(Input::Exists(Ok(false)));
        run.line("yes");
        run.line("one-password");
        let a = run.line("another-one");
        assert!(text(&a).ends_with("Too many tries. Goodbye.\n"), "{a:?}");
        assert!(a.contains(&Action::EchoOn));
        assert_eq!(a.last(), Some(&Action::Close));
    }

    #[test]
    fn guests_join_under_a_name_no_account_has() {
        let (mut run, _) = Run::accounts();
        assert_eq!(
            run.line("guest carol"),
            vec![Action::Request(exists("carol"))]
        );
        let a = run.feed(Input::Exists(Ok(false)));
        assert_eq!(
            requests(&a),
            vec![&Request::Join(JoinRequest::guest(
                "carol",
                GatewayKind::Telnet
            ))]
        );
        // The world may still refuse the name.
        let a = run.feed(Input::Joined(Err(JoinError::Refused(
            RefusalReason::NameTaken,
        ))));
        assert!(is_name_prompt(&a));
        run.line("guest ada");
        let a = run.feed(Input::Exists(Ok(true)));
        assert_eq!(
            text(&a),
            format!("ada is an account's name; log in with: connect ada <password>\n{NAME_PROMPT}")
        );
    }

    #[test]
    fn worlds_without_guests_do_not_offer_them() {
        let (mut run, first) = Run::new(LoginConfig {
            accounts: true,
            allow_guests: false,
            ..LoginConfig::default()
        });
        assert!(!text(&first).contains("guest"), "{first:?}");
        let a = run.line("guest carol");
        assert!(text(&a).contains("no guests"), "{a:?}");
        assert!(requests(&a).is_empty());
    }

    #[test]
    fn bad_names_are_caught_before_asking() {
        let (mut run, _) = Run::accounts();
        let a = run.line("x");
        assert!(text(&a).starts_with("Sorry, names are 2 to 16"), "{a:?}");
        assert!(requests(&a).is_empty());
        let a = run.line("guest 9lives");
        assert!(text(&a).starts_with("Sorry, names are 2 to 16"), "{a:?}");
        let a = run.line("sir lancelot");
        assert!(text(&a).starts_with("Names are one word."), "{a:?}");
        assert!(requests(&run.log).is_empty());
    }

    #[test]
    fn an_unavailable_store_closes_politely() {
        let (mut run, _) = Run::accounts();
        run.line("ada");
        let a = run.feed(Input::Exists(Err(AccountError::Unavailable(
            "connection refused".into(),
        ))));
        let said = text(&a);
        assert!(said.contains("unavailable"), "{said}");
        assert!(
            !said.contains("connection refused"),
            "internals leaked: {said}"
        );
        assert_eq!(a.last(), Some(&Action::Close));
    }

    #[test]
    fn world_refusals_retry_names_and_close_on_the_rest() {
        let (mut run, _) = Run::accounts();
        run.line("connect ada right-password");
        run.feed(Input::Login(Ok(login("ada"))));
        let a = run.feed(Input::Joined(Err(JoinError::Refused(
            RefusalReason::NameTaken,
        ))));
        assert!(text(&a).starts_with("Sorry, that name is already in use."));
        assert!(is_name_prompt(&a));
        run.line("connect ada right-password");
        run.feed(Input::Login(Ok(login("ada"))));
        let a = run.feed(Input::Joined(Err(JoinError::Refused(
            RefusalReason::ServerFull,
        ))));
        assert_eq!(
            a,
            vec![
                Action::Write("Sorry, the world is full.\n".into()),
                Action::Close
            ]
        );
    }

    #[test]
    fn inputs_out_of_turn_are_ignored() {
        let (mut run, _) = Run::accounts();
        run.line("ada");
        // A line typed while the service is being asked changes nothing.
        assert!(run.line("hello?").is_empty());
        assert!(run.feed(Input::Login(Ok(login("ada")))).is_empty());
        let a = run.feed(Input::Exists(Ok(true)));
        assert_eq!(
            a,
            vec![Action::EchoOff, Action::Prompt(PASSWORD_PROMPT.into())]
        );
    }
}
