//! What the dev tenant remembers between requests, in memory: SSO sessions, sign-in
//! transactions, consents, and failed logins (for throttling).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth_request::AuthRequest;
use super::state::random_token;

/// How long an SSO session lasts without use (Auth0's default inactivity timeout is 3 days).
const SESSION_IDLE: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long a user has to finish the login and consent pages.
const TRANSACTION_TTL: Duration = Duration::from_secs(15 * 60);
/// Sign-ins in progress kept at most; the oldest goes first.
const MAX_TRANSACTIONS: usize = 10_000;
/// Failed logins allowed per account and per address within the window.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct Session {
    /// The cookie's value: a secret, never put in a token.
    pub id: String,
    /// The public session id, the ID token's `sid`.
    pub sid: String,
    pub user_id: String,
    last_seen: Instant,
}

/// A sign-in in progress: the validated request, its CSRF token, and who signed in so far.
#[derive(Clone)]
pub struct Transaction {
    pub request: AuthRequest,
    pub csrf: String,
    /// The value of the browser cookie of the browser that started this sign-in.
    pub browser: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    created: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Authorization codes live at most this long (RFC 9700 asks for short-lived codes).
pub const CODE_TTL: Duration = Duration::from_secs(60);

/// An issued authorization code, redeemable once.
#[derive(Clone)]
pub struct IssuedCode {
    pub request: AuthRequest,
    pub user_id: String,
    pub session_id: String,
    created: Instant,
}

#[derive(Default)]
pub struct Runtime {
    codes: Mutex<HashMap<String, IssuedCode>>,
    sessions: Mutex<HashMap<String, Session>>,
    transactions: Mutex<HashMap<String, Transaction>>,
    consents: Mutex<HashMap<(String, String), BTreeSet<String>>>,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Runtime {
    pub fn issue_code(&self, request: &AuthRequest, user_id: &str, session_id: &str) -> String {
        let mut codes = lock(&self.codes);
        codes.retain(|_, c| c.created.elapsed() < CODE_TTL);
        let code = random_token(32);
        codes.insert(
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

    /// Takes a code out: whatever happens next, it cannot be used again.
    pub fn redeem_code(&self, code: &str) -> Option<IssuedCode> {
        lock(&self.codes)
            .remove(code)
            .filter(|c| c.created.elapsed() < CODE_TTL)
    }

    pub fn new_session(&self, user_id: &str) -> Session {
        let session = Session {
            id: random_token(32),
            sid: random_token(16),
            user_id: user_id.to_string(),
            last_seen: Instant::now(),
        };
        lock(&self.sessions).insert(session.id.clone(), session.clone());
        session
    }

    /// The live session with this id, refreshed; expired sessions are dropped.
    pub fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(id) {
            Some(s) if s.last_seen.elapsed() < SESSION_IDLE => {
                s.last_seen = Instant::now();
                Some(s.clone())
            }
            Some(_) => {
                sessions.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends a session, and with it the codes issued in it that were not redeemed yet.
    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
        lock(&self.codes).retain(|_, c| c.session_id != id);
    }

    pub fn start_transaction(&self, request: AuthRequest, browser: &str) -> (String, Transaction) {
        let mut transactions = lock(&self.transactions);
        transactions.retain(|_, t| t.created.elapsed() < TRANSACTION_TTL);
        // Unauthenticated requests create transactions: keep their number bounded.
        if transactions.len() >= MAX_TRANSACTIONS
            && let Some(oldest) = transactions
                .iter()
                .min_by_key(|(_, t)| t.created)
                .map(|(k, _)| k.clone())
        {
            transactions.remove(&oldest);
        }
        let tx = Transaction {
            request,
            csrf: random_token(24),
            browser: browser.to_string(),
            user_id: None,
            session_id: None,
            created: Instant::now(),
        };
        let id = random_token(24);
        transactions.insert(id.clone(), tx.clone());
        (id, tx)
    }

    pub fn transaction(&self, id: &str) -> Option<Transaction> {
        lock(&self.transactions)
            .get(id)
            .filter(|t| t.created.elapsed() < TRANSACTION_TTL)
            .cloned()
    }

    pub fn set_transaction_user(&self, id: &str, user_id: &str, session_id: &str) {
        if let Some(t) = lock(&self.transactions).get_mut(id) {
            t.user_id = Some(user_id.to_string());
            t.session_id = Some(session_id.to_string());
        }
    }

    /// Ends a transaction: each one completes (or is declined) once.
    pub fn finish_transaction(&self, id: &str) -> Option<Transaction> {
        lock(&self.transactions).remove(id)
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

    /// Whether `key` (an account or an address) has used up its failed attempts.
    pub fn is_throttled(&self, key: &str) -> bool {
        let mut failures = lock(&self.failures);
        // Only failures make entries, so probing many names does not grow the map.
        let Some(entry) = failures.get_mut(key) else {
            return false;
        };
        entry.retain(|t| t.elapsed() < FAILURE_WINDOW);
        entry.len() >= MAX_FAILURES
    }

    pub fn record_failure(&self, key: &str) {
        lock(&self.failures)
            .entry(key.to_string())
            .or_default()
            .push(Instant::now());
    }

    pub fn clear_failures(&self, key: &str) {
        lock(&self.failures).remove(key);
    }
}
