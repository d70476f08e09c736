//! What the dev tenant remembers between requests, in memory: SSO sessions, consents,
//! authorization codes, sign-ins in progress ([`transactions`](super::transactions)) and
//! failed logins ([`throttle`](super::throttle)).
//!
//! A session ends at the first of two limits, as Auth0's do (`tenant:` in `tenant.yaml`):
//! `idle_session_lifetime` without use (a `prompt=none` check counts as use) and
//! `session_lifetime` after sign-in, however often it is used. Ended sessions are dropped when
//! met, and swept a few at a time as new ones start (see [`SWEEP_STEP`]), so the sessions kept
//! are the live ones and those that ended lately, whoever signs in how often.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth_request::AuthRequest;
use super::config::TenantSettings;
use super::refresh::{FamilyId, RefreshTokens};
use super::state::random_token;
use super::throttle::LoginThrottle;
use super::transactions::Transactions;

/// Authorization codes live at most this long (RFC 9700 asks for short-lived codes).
pub const CODE_TTL: Duration = Duration::from_secs(60);

/// How long a redeemed code is remembered, so that a replay is told from an unknown code and
/// revokes what the code gave (RFC 6749 4.1.2).
pub const SPENT_CODE_MEMORY: Duration = Duration::from_secs(3600);

/// At most this many spent codes are remembered; beyond, a replay is refused as an unknown
/// code, without revoking (memory stays bounded whatever the traffic).
pub const MAX_SPENT_CODES: usize = 100_000;

/// Sessions looked at for their end each time one starts. More than one, so that ended
/// sessions go faster than new ones come; few, so that no sign-in pays for a full scan.
pub const SWEEP_STEP: usize = 2;

#[derive(Clone)]
pub struct Session {
    /// The cookie's value: a secret, never put in a token.
    pub id: String,
    /// The public session id, the ID token's `sid`.
    pub sid: String,
    pub user_id: String,
    created: Instant,
    last_seen: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An issued authorization code, redeemable once.
#[derive(Clone)]
pub struct IssuedCode {
    pub request: AuthRequest,
    pub user_id: String,
    pub session_id: String,
    created: Instant,
}

/// What a redeemed code left behind.
struct SpentCode {
    /// The refresh-token family its exchange started, once known.
    family: Option<FamilyId>,
    /// Presented again: whatever it gave, or will give, is revoked.
    replayed: bool,
}

/// Live codes and recently spent ones, under one lock so a code is in exactly one of them.
#[derive(Default)]
struct Codes {
    live: HashMap<String, IssuedCode>,
    spent: HashMap<String, SpentCode>,
    /// The spent codes, oldest first: forgetting the expired ones costs no scan.
    spent_order: VecDeque<(Instant, String)>,
}

impl Codes {
    fn forget_old_spent(&mut self, now: Instant) {
        while let Some((spent, _)) = self.spent_order.front() {
            if now.duration_since(*spent) < SPENT_CODE_MEMORY {
                break;
            }
            if let Some((_, code)) = self.spent_order.pop_front() {
                self.spent.remove(&code);
            }
        }
    }
}

/// The sessions, by cookie value, and the same ids in the order the sweep visits them.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, Session>,
    /// Every session's id once, visited round-robin by [`Sessions::sweep`]; ids of sessions
    /// that ended otherwise (logout, found ended) are dropped when met.
    sweep: VecDeque<String>,
}

impl Sessions {
    /// Looks at the next [`SWEEP_STEP`] ids: ended sessions are dropped, live ones go to the
    /// back. Each call does bounded work; every session is looked at once per round.
    fn sweep(&mut self, lifetimes: &SessionLifetimes, now: Instant) {
        for _ in 0..SWEEP_STEP {
            let Some(id) = self.sweep.pop_front() else {
                break;
            };
            match self.by_id.get(&id) {
                Some(session) if lifetimes.is_live(session, now) => self.sweep.push_back(id),
                Some(_) => {
                    self.by_id.remove(&id);
                }
                None => {}
            }
        }
    }
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    /// From sign-in, however often the session is used (Auth0's default: 7 days).
    pub absolute: Duration,
    /// Without use (Auth0's default: 3 days).
    pub idle: Duration,
}

impl SessionLifetimes {
    /// Whether `session` is still live at `now`: neither idle nor past its absolute lifetime.
    fn is_live(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) < self.idle
            && now.duration_since(session.created) < self.absolute
    }
}

impl From<&TenantSettings> for SessionLifetimes {
    fn from(settings: &TenantSettings) -> Self {
        let hours = |h: f64| Duration::from_secs_f64(h * 3600.0);
        Self {
            absolute: hours(settings.session_lifetime),
            idle: hours(settings.idle_session_lifetime),
        }
    }
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        Self::from(&TenantSettings::default())
    }
}

#[derive(Default)]
pub struct Runtime {
    lifetimes: SessionLifetimes,
    codes: Mutex<Codes>,
    sessions: Mutex<Sessions>,
    consents: Mutex<HashMap<(String, String), BTreeSet<String>>>,
    /// Sign-ins in progress.
    pub transactions: Transactions,
    /// Brute-force protection, suspicious-IP throttling and the bound on password hashes.
    pub throttle: LoginThrottle,
    /// Refresh tokens (rotation, reuse detection), kept as digests.
    pub refresh_tokens: RefreshTokens,
}

impl Runtime {
    pub fn new(lifetimes: SessionLifetimes) -> Self {
        Self {
            lifetimes,
            ..Self::default()
        }
    }

    pub fn lifetimes(&self) -> SessionLifetimes {
        self.lifetimes
    }

    pub fn issue_code(&self, request: &AuthRequest, user_id: &str, session_id: &str) -> String {
        let mut codes = lock(&self.codes);
        codes.live.retain(|_, c| c.created.elapsed() < CODE_TTL);
        let code = random_token(32);
        codes.live.insert(
            code.clone(),
            IssuedCode {
                request: request.clone(),
                user_id: user_id.to_string(),
                session_id: session_id.to_string(),
                created: Instant::now(),
            },
        );
        code
    }

    /// Takes a code out: whatever happens next, it cannot be used again. A code presented
    /// again is a replay: the refresh tokens its first exchange answered are revoked (now, or
    /// by [`Runtime::code_started_family`] if that exchange has not finished yet).
    pub fn redeem_code(&self, code: &str) -> Option<IssuedCode> {
        let mut codes = lock(&self.codes);
        let now = Instant::now();
        codes.forget_old_spent(now);
        if let Some(spent) = codes.spent.get_mut(code) {
            spent.replayed = true;
            let family = spent.family;
            drop(codes);
            if let Some(family) = family {
                self.refresh_tokens.revoke_family(family);
            }
            return None;
        }
        let issued = codes.live.remove(code)?;
        if codes.spent.len() < MAX_SPENT_CODES {
            codes.spent.insert(
                code.to_string(),
                SpentCode {
                    family: None,
                    replayed: false,
                },
            );
            codes.spent_order.push_back((now, code.to_string()));
        }
        (issued.created.elapsed() < CODE_TTL).then_some(issued)
    }

    /// Records the refresh-token family a redeemed code's exchange started; revokes it at once
    /// when the code was replayed in the meantime.
    pub fn code_started_family(&self, code: &str, family: FamilyId) {
        let mut codes = lock(&self.codes);
        let replayed = match codes.spent.get_mut(code) {
            Some(spent) => {
                spent.family = Some(family);
                spent.replayed
            }
            None => false,
        };
        drop(codes);
        if replayed {
            self.refresh_tokens.revoke_family(family);
        }
    }

    pub fn new_session(&self, user_id: &str) -> Session {
        let now = Instant::now();
        let session = Session {
            id: random_token(32),
            sid: random_token(16),
            user_id: user_id.to_string(),
            created: now,
            last_seen: now,
        };
        let mut sessions = lock(&self.sessions);
        sessions.sweep(&self.lifetimes, now);
        sessions.by_id.insert(session.id.clone(), session.clone());
        sessions.sweep.push_back(session.id.clone());
        session
    }

    /// The live session with this id without touching it (for issuing tokens in it).
    pub fn peek_session(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        lock(&self.sessions)
            .by_id
            .get(id)
            .filter(|s| self.lifetimes.is_live(s, now))
            .cloned()
    }

    /// The live session with this id, its idle timer restarted; an ended session is dropped.
    pub fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = lock(&self.sessions);
        let now = Instant::now();
        let lifetimes = self.lifetimes;
        match sessions.by_id.get_mut(id) {
            Some(s) if lifetimes.is_live(s, now) => {
                s.last_seen = now;
                Some(s.clone())
            }
            Some(_) => {
                sessions.by_id.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session, and with it the codes issued in it that were not redeemed yet.
    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).by_id.remove(id);
        lock(&self.codes).live.retain(|_, c| c.session_id != id);
    }

    pub fn has_consent(&self, user_id: &str, client_id: &str, scopes: &[String]) -> bool {
        let consents = lock(&self.consents);
        let granted = consents.get(&(user_id.to_string(), client_id.to_string()));
        scopes
            .iter()
            .all(|s| granted.is_some_and(|g| g.contains(s)))
    }

    pub fn grant_consent(&self, user_id: &str, client_id: &str, scopes: &[String]) {
        lock(&self.consents)
            .entry((user_id.to_string(), client_id.to_string()))
            .or_default()
            .extend(scopes.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_restarts_the_idle_timer_but_never_the_absolute_one() {
        let runtime = Runtime::new(SessionLifetimes {
            absolute: Duration::from_millis(400),
            idle: Duration::from_millis(250),
        });
        let session = runtime.new_session("u");
        // Used every 100 ms, the session outlives its idle timeout, but not its lifetime.
        let mut alive_for = Duration::ZERO;
        while runtime.session(&session.id).is_some() {
            std::thread::sleep(Duration::from_millis(100));
            alive_for += Duration::from_millis(100);
            assert!(
                alive_for < Duration::from_secs(2),
                "the session never ended"
            );
        }
        assert!(alive_for >= Duration::from_millis(300), "{alive_for:?}");
        let idle = runtime.new_session("u");
        std::thread::sleep(Duration::from_millis(300));
        assert!(runtime.session(&idle.id).is_none(), "idle too long");
    }

    /// Ended sessions are swept as new ones start: a flood of sign-ins whose sessions end at
    /// once leaves (almost) nothing behind, and live sessions are all kept.
    #[test]
    fn ended_sessions_are_swept_as_new_ones_start() {
        let ended = Runtime::new(SessionLifetimes {
            absolute: Duration::ZERO,
            idle: Duration::ZERO,
        });
        for _ in 0..1000 {
            ended.new_session("u");
        }
        let kept = lock(&ended.sessions).by_id.len();
        assert!(kept <= 2, "{kept} ended sessions kept");

        let live = Runtime::default();
        let ids: Vec<String> = (0..100).map(|_| live.new_session("u").id).collect();
        assert_eq!(lock(&live.sessions).by_id.len(), 100);
        assert!(ids.iter().all(|id| live.session(id).is_some()));
    }

    /// One sweep looks at [`SWEEP_STEP`] sessions, whatever else has ended: no sign-in pays
    /// for a full scan, and a round of sweeps finds every ended session (clock given).
    #[test]
    fn a_sweep_does_bounded_work_and_a_round_finds_every_ended_session() {
        let lifetimes = SessionLifetimes {
            absolute: Duration::from_secs(60),
            idle: Duration::from_secs(30),
        };
        let start = Instant::now();
        let mut sessions = Sessions::default();
        for i in 0..10 {
            let id = format!("s{i}");
            sessions.by_id.insert(
                id.clone(),
                Session {
                    id: id.clone(),
                    sid: id.clone(),
                    user_id: "u".into(),
                    created: start,
                    // The even ones were used lately; the odd ones are idle at `later`.
                    last_seen: start + Duration::from_secs(if i % 2 == 0 { 20 } else { 0 }),
                },
            );
            sessions.sweep.push_back(id);
        }
        let later = start + Duration::from_secs(40);
        sessions.sweep(&lifetimes, later);
        assert_eq!(
            sessions.by_id.len(),
            9,
            "one of the two looked at had ended"
        );
        for _ in 0..4 {
            sessions.sweep(&lifetimes, later);
        }
        assert_eq!(sessions.by_id.len(), 5, "after a round, only the live ones");
        assert!(
            sessions
                .by_id
                .keys()
                .all(|id| id.ends_with(['0', '2', '4', '6', '8']))
        );
        assert_eq!(sessions.sweep.len(), 5);
    }

    #[test]
    fn spent_codes_are_forgotten_oldest_first_after_their_memory() {
        let mut codes = Codes::default();
        let start = Instant::now();
        for (i, at) in [start, start + Duration::from_secs(60)]
            .into_iter()
            .enumerate()
        {
            let code = format!("code-{i}");
            codes.spent.insert(
                code.clone(),
                SpentCode {
                    family: None,
                    replayed: false,
                },
            );
            codes.spent_order.push_back((at, code));
        }
        codes.forget_old_spent(start + SPENT_CODE_MEMORY - Duration::from_secs(1));
        assert_eq!(codes.spent.len(), 2, "both still remembered");
        codes.forget_old_spent(start + SPENT_CODE_MEMORY + Duration::from_secs(1));
        assert!(!codes.spent.contains_key("code-0"));
        assert!(codes.spent.contains_key("code-1"));
        assert_eq!(codes.spent_order.len(), 1);
    }
}
