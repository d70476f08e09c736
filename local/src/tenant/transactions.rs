//! Sign-ins in progress: each unauthenticated `GET /authorize` that needs the login or consent
//! page starts one, bound to the browser that asked (its `organizer_browser` cookie).
//!
//! Anyone can start transactions, so they are bounded without letting one browser's flood
//! cost another browser its open login page: at most [`MAX_PER_BROWSER`] per browser (its
//! own oldest goes first), at most [`MAX_TRANSACTIONS`] in all, and when that is reached a new
//! sign-in is refused (503) rather than a live one evicted. Insertion and expiry are O(1)
//! amortized: transactions expire in creation order from the front of a queue. Each one is
//! bounded in size too: of what a request brings, only `state` and `nonce` are kept as sent,
//! and `/authorize` refuses them beyond 2,048 characters (`validate::MAX_STATE_OR_NONCE`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::auth_request::AuthRequest;
use super::state::random_token;

/// How long a user has to finish the login and consent pages.
pub const TRANSACTION_TTL: Duration = Duration::from_secs(15 * 60);
/// Sign-ins in progress kept per browser; a new one beyond replaces that browser's oldest.
pub const MAX_PER_BROWSER: usize = 16;
/// Sign-ins in progress kept in all; beyond, new ones are refused.
pub const MAX_TRANSACTIONS: usize = 10_000;

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

impl Transaction {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.created) < TRANSACTION_TTL
    }
}

/// No room for another sign-in: every slot holds a live one of some browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full;

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Transaction>,
    /// Ids in creation order, for expiry; ids finished meanwhile are skipped when met.
    order: VecDeque<(Instant, String)>,
    /// Each browser's ids, oldest first.
    by_browser: HashMap<String, VecDeque<String>>,
}

impl Inner {
    fn remove(&mut self, id: &str) -> Option<Transaction> {
        let tx = self.by_id.remove(id)?;
        if let Some(ids) = self.by_browser.get_mut(&tx.browser) {
            ids.retain(|i| i != id);
            if ids.is_empty() {
                self.by_browser.remove(&tx.browser);
            }
        }
        Some(tx)
    }

    fn expire(&mut self, now: Instant) {
        while let Some((created, _)) = self.order.front() {
            if now.duration_since(*created) < TRANSACTION_TTL {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.remove(&id);
            }
        }
        // Finished transactions leave their ids in the queue; keep it from growing without
        // bound when sign-ins finish much faster than they expire.
        if self.order.len() > 2 * self.by_id.len() + 64 {
            let by_id = &self.by_id;
            self.order.retain(|(_, id)| by_id.contains_key(id));
        }
    }
}

#[derive(Default)]
pub struct Transactions {
    inner: Mutex<Inner>,
}

impl Transactions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a sign-in for `browser`; its id, or [`Full`].
    pub fn start(&self, request: AuthRequest, browser: &str) -> Result<String, Full> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.expire(now);
        let oldest_of_browser = inner
            .by_browser
            .get(browser)
            .filter(|ids| ids.len() >= MAX_PER_BROWSER)
            .and_then(|ids| ids.front().cloned());
        if let Some(oldest) = oldest_of_browser {
            inner.remove(&oldest);
        }
        if inner.by_id.len() >= MAX_TRANSACTIONS {
            return Err(Full);
        }
        let id = random_token(24);
        inner.by_id.insert(
            id.clone(),
            Transaction {
                request,
                csrf: random_token(24),
                browser: browser.to_string(),
                user_id: None,
                session_id: None,
                created: now,
            },
        );
        inner.order.push_back((now, id.clone()));
        inner
            .by_browser
            .entry(browser.to_string())
            .or_default()
            .push_back(id.clone());
        Ok(id)
    }

    /// The live transaction with this id.
    pub fn get(&self, id: &str) -> Option<Transaction> {
        let now = Instant::now();
        self.lock().by_id.get(id).filter(|t| t.live(now)).cloned()
    }

    /// Records who signed in (and in which session) during this transaction.
    pub fn set_user(&self, id: &str, user_id: &str, session_id: &str) {
        if let Some(t) = self.lock().by_id.get_mut(id) {
            t.user_id = Some(user_id.to_string());
            t.session_id = Some(session_id.to_string());
        }
    }

    /// Ends a transaction: each one completes (or is declined) once.
    pub fn finish(&self, id: &str) -> Option<Transaction> {
        let now = Instant::now();
        self.lock().remove(id).filter(|t| t.live(now))
    }

    /// How many are kept (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::auth_request::ResponseMode;

    fn request() -> AuthRequest {
        AuthRequest {
            client_id: "c".into(),
            redirect_uri: "http://localhost:3000/callback.html".into(),
            wants_token: true,
            wants_id_token: false,
            wants_code: false,
            code_challenge: None,
            dpop_jkt: None,
            mode: ResponseMode::Fragment,
            scopes: vec![],
            audience: None,
            state: None,
            nonce: None,
            prompt: None,
        }
    }

    #[test]
    fn a_browser_keeps_at_most_its_own_share() {
        let txs = Transactions::default();
        let victim = txs.start(request(), "victim").unwrap();
        let first = txs.start(request(), "flooder").unwrap();
        for _ in 0..MAX_PER_BROWSER * 3 {
            txs.start(request(), "flooder").unwrap();
        }
        assert_eq!(txs.len(), MAX_PER_BROWSER + 1);
        assert!(txs.get(&first).is_none(), "the flooder's oldest went");
        assert!(
            txs.get(&victim).is_some(),
            "another browser's sign-in stays"
        );
    }

    #[test]
    fn when_full_new_sign_ins_are_refused_and_live_ones_kept() {
        let txs = Transactions::default();
        let victim = txs.start(request(), "victim").unwrap();
        // A flood without cookies: every request is a new browser.
        for i in 1..MAX_TRANSACTIONS {
            txs.start(request(), &format!("b{i}")).unwrap();
        }
        assert_eq!(txs.start(request(), "late").err(), Some(Full));
        assert!(txs.get(&victim).is_some());
        assert!(txs.finish(&victim).is_some());
        assert!(
            txs.start(request(), "late").is_ok(),
            "room again once one finishes"
        );
        assert!(txs.finish(&victim).is_none(), "finished once");
    }
}
