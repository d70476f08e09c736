//! Refresh tokens as Auth0 issues them with rotation: every exchange answers a new token and
//! the used one stops working; presenting a used token again (outside the client's `leeway`)
//! is taken as theft and revokes the whole family — every token descended from the same
//! sign-in.
//!
//! The `leeway` is Auth0's "rotation overlap period": for that many seconds after its first
//! use, the previous token may be exchanged again, and each such exchange answers a new token
//! while those answered before keep working (two tabs that refresh at once both go on). The
//! previous token is one none of whose successors has been used yet: once one has, presenting
//! it is reuse, leeway or not (Auth0: "if the second-to-last token is exchanged, breach
//! detection is triggered"). At most [`MAX_LIVE_TOKENS_PER_FAMILY`] unused tokens per family.
//!
//! Tokens are bound to their client, kept only as SHA-256 digests (the tenant never holds one
//! it could leak), and live at most `token_lifetime` from sign-in and `idle_token_lifetime`
//! without use (the client's `refresh_token:` settings).
//!
//! Every check and its state change happen under one lock: twenty exchanges of one token sent
//! at once are one exchange and nineteen reuses.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::config::RefreshTokenSettings;
use super::state::random_token;

/// Active families kept per user and client; a new sign-in beyond revokes the oldest (Auth0).
pub const MAX_FAMILIES_PER_USER_AND_CLIENT: usize = 200;

/// Unused tokens one family may hold. Only exchanges within the leeway add one (a rotation
/// spends one and answers one); two tabs or a few dozen racing requests never come near it,
/// and a holder looping on the previous token cannot grow the family without bound.
pub const MAX_LIVE_TOKENS_PER_FAMILY: usize = 100;

/// What a refresh token was granted: who, to which client, for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub audience: Option<String>,
    /// The scopes of the sign-in (`offline_access` included).
    pub scopes: Vec<String>,
}

/// Why an exchange is refused. The token endpoint answers all of them alike (Auth0's
/// `invalid_grant`, "Unknown or invalid refresh token."), except a wider scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    OtherClient,
    Revoked,
    Expired,
    /// Used before, outside the leeway or not the previous token: the family is now revoked.
    Reused,
    /// The previous token within the leeway, but the family already holds
    /// [`MAX_LIVE_TOKENS_PER_FAMILY`] unused tokens (nothing is revoked).
    FamilyFull,
    /// The scope asked for is not within the token's.
    WiderScope(Vec<String>),
}

/// A successful exchange: the new token (the same one when the client does not rotate) and
/// the grant, with the scopes asked for this time.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub token: String,
    pub grant: RefreshGrant,
    pub scopes: Vec<String>,
}

/// One sign-in's chain of refresh tokens, named without its tokens (so that what issued it, an
/// authorization code, can revoke it later without keeping a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyId(u64);

type Digest32 = [u8; 32];

fn digest(token: &str) -> Digest32 {
    Sha256::digest(token.as_bytes()).into()
}

struct Record {
    family: u64,
    issued: Instant,
    /// When it was first exchanged, if it was: the leeway runs from then.
    used: Option<Instant>,
    /// The tokens its exchanges answered (more than one when exchanged again in the leeway).
    successors: Vec<Digest32>,
}

struct Family {
    grant: RefreshGrant,
    created: Instant,
    revoked: bool,
    /// How many of its tokens are unused.
    live: usize,
}

/// Below this many tokens the store is never swept.
const SWEEP_FLOOR: usize = 10_000;

#[derive(Default)]
struct Inner {
    tokens: HashMap<Digest32, Record>,
    families: HashMap<u64, Family>,
    next_family: u64,
    /// Sweep again when there are more tokens than this: twice what the last sweep left (at
    /// least [`SWEEP_FLOOR`]), so that live tokens alone never make every sign-in sweep.
    sweep_above: usize,
}

impl Inner {
    fn revoke(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
    }

    /// Drops what can never be exchanged again, so the maps stay bounded.
    fn sweep(&mut self, now: Instant, settings_of: impl Fn(&str) -> RefreshTokenSettings) {
        let dead: HashSet<u64> = self
            .families
            .iter()
            .filter(|(_, f)| f.revoked || expired_family(f, &settings_of(&f.grant.client_id), now))
            .map(|(id, _)| *id)
            .collect();
        self.families.retain(|id, _| !dead.contains(id));
        self.tokens.retain(|_, r| !dead.contains(&r.family));
        self.sweep_above = self.tokens.len().saturating_mul(2).max(SWEEP_FLOOR);
    }
}

fn expired_family(family: &Family, settings: &RefreshTokenSettings, now: Instant) -> bool {
    !settings.infinite_token_lifetime
        && now.duration_since(family.created) >= Duration::from_secs(settings.token_lifetime)
}

#[derive(Default)]
pub struct RefreshTokens {
    inner: Mutex<Inner>,
}

impl RefreshTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new family for a sign-in; its first token. Beyond the per-user, per-client limit the
    /// oldest family of that user and client is revoked.
    pub fn issue(
        &self,
        grant: RefreshGrant,
        settings_of: impl Fn(&str) -> RefreshTokenSettings,
    ) -> String {
        let now = Instant::now();
        let token = random_token(32);
        let mut inner = self.lock();
        if inner.tokens.len() > inner.sweep_above.max(SWEEP_FLOOR) {
            inner.sweep(now, &settings_of);
        }
        let mut same: Vec<(Instant, u64)> = inner
            .families
            .iter()
            .filter(|(_, f)| {
                !f.revoked
                    && f.grant.user_id == grant.user_id
                    && f.grant.client_id == grant.client_id
            })
            .map(|(id, f)| (f.created, *id))
            .collect();
        same.sort();
        while same.len() >= MAX_FAMILIES_PER_USER_AND_CLIENT {
            let (_, oldest) = same.remove(0);
            inner.revoke(oldest);
        }
        let family = inner.next_family;
        inner.next_family += 1;
        let hash = digest(&token);
        inner.tokens.insert(
            hash,
            Record {
                family,
                issued: now,
                used: None,
                successors: Vec::new(),
            },
        );
        inner.families.insert(
            family,
            Family {
                grant,
                created: now,
                revoked: false,
                live: 1,
            },
        );
        token
    }

    /// Exchanges `token` presented by `client_id` for a new one (rotation), with `requested`
    /// scopes (none: the token's own; fewer may be asked for, never more).
    pub fn exchange(
        &self,
        token: &str,
        client_id: &str,
        settings: &RefreshTokenSettings,
        requested: Option<&[String]>,
    ) -> Result<Exchanged, Refusal> {
        let hash = digest(token);
        let mut guard = self.lock();
        // The clock is read under the lock: a request that waited for it must not carry an
        // instant older than the exchange that got in first (it would measure zero since that
        // use, "within the leeway", and two exchanges of one token would both succeed).
        let now = Instant::now();
        let inner = &mut *guard;
        let record = inner.tokens.get(&hash).ok_or(Refusal::Unknown)?;
        let family_id = record.family;
        let family = inner.families.get(&family_id).ok_or(Refusal::Unknown)?;
        if family.grant.client_id != client_id {
            return Err(Refusal::OtherClient);
        }
        if family.revoked {
            return Err(Refusal::Revoked);
        }
        let idle = !settings.infinite_idle_token_lifetime
            && now.duration_since(record.issued)
                >= Duration::from_secs(settings.idle_token_lifetime);
        if expired_family(family, settings, now) || idle {
            return Err(Refusal::Expired);
        }
        // Reuse first: a used token is theft whatever else the request asks.
        if settings.rotates()
            && let Some(used) = record.used
        {
            // The previous token, again, within the leeway (none by default): one more
            // successor, and those answered before go on. Anything else is reuse.
            let is_previous = record.successors.iter().all(|successor| {
                inner
                    .tokens
                    .get(successor)
                    .is_some_and(|r| r.used.is_none())
            });
            let within = settings.leeway > 0
                && now.duration_since(used) <= Duration::from_secs(settings.leeway);
            if !(is_previous && within) {
                inner.revoke(family_id);
                return Err(Refusal::Reused);
            }
            if family.live >= MAX_LIVE_TOKENS_PER_FAMILY {
                return Err(Refusal::FamilyFull);
            }
        }
        let scopes = match requested {
            None => family.grant.scopes.clone(),
            Some(asked) => {
                let wider: Vec<String> = asked
                    .iter()
                    .filter(|s| !family.grant.scopes.contains(s))
                    .cloned()
                    .collect();
                if !wider.is_empty() {
                    return Err(Refusal::WiderScope(wider));
                }
                asked.to_vec()
            }
        };
        let grant = family.grant.clone();
        if !settings.rotates() {
            if let Some(r) = inner.tokens.get_mut(&hash) {
                r.issued = now;
            }
            return Ok(Exchanged {
                token: token.to_string(),
                grant,
                scopes,
            });
        }
        let next = random_token(32);
        let next_hash = digest(&next);
        inner.tokens.insert(
            next_hash,
            Record {
                family: family_id,
                issued: now,
                used: None,
                successors: Vec::new(),
            },
        );
        let mut spent = false;
        if let Some(r) = inner.tokens.get_mut(&hash) {
            spent = r.used.is_none();
            r.used.get_or_insert(now);
            r.successors.push(next_hash);
        }
        if let Some(f) = inner.families.get_mut(&family_id) {
            // A rotation spends a token and answers one; an exchange again answers one more.
            f.live = f.live + 1 - usize::from(spent);
        }
        Ok(Exchanged {
            token: next,
            grant,
            scopes,
        })
    }

    /// The family `token` belongs to.
    pub fn family_of(&self, token: &str) -> Option<FamilyId> {
        self.lock()
            .tokens
            .get(&digest(token))
            .map(|r| FamilyId(r.family))
    }

    /// Revokes a whole family: every token in it stops working.
    pub fn revoke_family(&self, family: FamilyId) {
        self.lock().revoke(family.0);
    }

    /// Revokes the family of `token` when it belongs to `client_id`; whether one was revoked.
    pub fn revoke(&self, token: &str, client_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(family) = inner.tokens.get(&digest(token)).map(|r| r.family) else {
            return false;
        };
        let owned = inner
            .families
            .get(&family)
            .is_some_and(|f| f.grant.client_id == client_id);
        if owned {
            inner.revoke(family);
        }
        owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> RefreshGrant {
        RefreshGrant {
            client_id: "spa".into(),
            user_id: "u".into(),
            audience: Some("organize".into()),
            scopes: vec![
                "openid".into(),
                "offline_access".into(),
                "read:contacts".into(),
            ],
        }
    }

    fn settings(leeway: u64) -> RefreshTokenSettings {
        RefreshTokenSettings {
            leeway,
            ..RefreshTokenSettings::default()
        }
    }

    #[test]
    fn revoked_families_are_swept_and_live_ones_are_not_swept_at_every_sign_in() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        // One user and client: beyond the per-user limit the oldest family is revoked, and
        // past the floor the revoked ones are swept.
        let first = tokens.issue(grant(), |_| s.clone());
        for _ in 0..=SWEEP_FLOOR {
            tokens.issue(grant(), |_| s.clone());
        }
        assert!(tokens.lock().tokens.len() <= MAX_FAMILIES_PER_USER_AND_CLIENT + 1);
        assert_eq!(
            tokens.exchange(&first, "spa", &s, None).err(),
            Some(Refusal::Unknown),
            "swept"
        );
        // Live families of many users: a sweep that finds them alive waits for the store to
        // double before the next one.
        for i in 0..SWEEP_FLOOR {
            let mut g = grant();
            g.user_id = format!("user-{i}");
            tokens.issue(g, |_| s.clone());
        }
        let inner = tokens.lock();
        assert!(inner.tokens.len() > SWEEP_FLOOR);
        assert_eq!(inner.sweep_above, 2 * SWEEP_FLOOR);
    }

    #[test]
    fn rotation_and_reuse_detection() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), |_| s.clone());
        let second = tokens.exchange(&first, "spa", &s, None).unwrap();
        assert_ne!(second.token, first);
        assert_eq!(second.scopes, grant().scopes);
        // The used one again: reuse, and the whole family is revoked.
        assert_eq!(
            tokens.exchange(&first, "spa", &s, None).err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&second.token, "spa", &s, None).err(),
            Some(Refusal::Revoked)
        );
    }

    /// Exchanges of one token racing each other, with no leeway: exactly one succeeds, and
    /// the others are reuse that revokes the family. (With the clock read before the lock,
    /// a loser's earlier `now` measured zero since the winner's use: "within a 0 s leeway".)
    #[test]
    fn racing_exchanges_without_leeway_are_one_exchange_and_reuse() {
        let tokens = std::sync::Arc::new(RefreshTokens::default());
        let s = settings(0);
        for round in 0..300 {
            let first = tokens.issue(grant(), |_| s.clone());
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (tokens, first, s, barrier) =
                        (tokens.clone(), first.clone(), s.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        tokens.exchange(&first, "spa", &s, None)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let won: Vec<&Exchanged> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(
                won.len(),
                1,
                "round {round}: {} exchanges succeeded",
                won.len()
            );
            assert!(
                results
                    .iter()
                    .filter_map(|r| r.as_ref().err())
                    .all(|e| matches!(e, Refusal::Reused | Refusal::Revoked)),
                "round {round}"
            );
            assert!(
                tokens.exchange(&won[0].token, "spa", &s, None).is_err(),
                "round {round}: the family survived a reuse"
            );
        }
    }

    /// A used token is reuse whatever else the request asks: a wider scope does not let it
    /// off with `invalid_scope`.
    #[test]
    fn reuse_is_detected_before_the_scope_is_checked() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), |_| s.clone());
        let second = tokens.exchange(&first, "spa", &s, None).unwrap();
        assert_eq!(
            tokens
                .exchange(&first, "spa", &s, Some(&["write:contacts".into()]))
                .err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&second.token, "spa", &s, None).err(),
            Some(Refusal::Revoked)
        );
    }

    /// Within the leeway the previous token may be exchanged again: every token answered
    /// works (two tabs go on). Once one of them is used, the first is older than the previous
    /// token: reuse, leeway or not.
    #[test]
    fn within_the_leeway_the_previous_token_may_be_exchanged_again() {
        let tokens = RefreshTokens::default();
        let s = settings(60);
        let first = tokens.issue(grant(), |_| s.clone());
        let second = tokens.exchange(&first, "spa", &s, None).unwrap();
        let again = tokens.exchange(&first, "spa", &s, None).unwrap();
        assert_ne!(second.token, again.token);
        let third = tokens.exchange(&second.token, "spa", &s, None).unwrap();
        assert!(tokens.exchange(&again.token, "spa", &s, None).is_ok());
        assert_eq!(
            tokens.exchange(&first, "spa", &s, None).err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&third.token, "spa", &s, None).err(),
            Some(Refusal::Revoked)
        );
    }

    /// A holder of the previous token looping within the leeway gets at most
    /// [`MAX_LIVE_TOKENS_PER_FAMILY`] unused tokens; beyond, it is refused, and the family
    /// (whose tokens may be a legitimate user's) is not revoked for it.
    #[test]
    fn exchanges_again_within_the_leeway_are_bounded_per_family() {
        let tokens = RefreshTokens::default();
        let s = settings(60);
        let first = tokens.issue(grant(), |_| s.clone());
        let answered: Vec<String> = (0..MAX_LIVE_TOKENS_PER_FAMILY)
            .map(|_| tokens.exchange(&first, "spa", &s, None).unwrap().token)
            .collect();
        assert_eq!(
            tokens.exchange(&first, "spa", &s, None).err(),
            Some(Refusal::FamilyFull)
        );
        // Rotations go on (each spends one and answers one).
        for token in &answered {
            assert!(tokens.exchange(token, "spa", &s, None).is_ok());
        }
    }

    #[test]
    fn bound_to_the_client_and_to_no_wider_scope() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), |_| s.clone());
        assert_eq!(
            tokens.exchange(&first, "other", &s, None).err(),
            Some(Refusal::OtherClient)
        );
        assert_eq!(
            tokens
                .exchange(&first, "spa", &s, Some(&["write:contacts".into()]))
                .err(),
            Some(Refusal::WiderScope(vec!["write:contacts".into()]))
        );
        // Neither refusal spent the token.
        let narrower = tokens
            .exchange(&first, "spa", &s, Some(&["openid".into()]))
            .unwrap();
        assert_eq!(narrower.scopes, ["openid"]);
    }

    #[test]
    fn lifetimes_end_tokens() {
        let tokens = RefreshTokens::default();
        let short = RefreshTokenSettings {
            token_lifetime: 0,
            ..RefreshTokenSettings::default()
        };
        let first = tokens.issue(grant(), |_| short.clone());
        assert_eq!(
            tokens.exchange(&first, "spa", &short, None).err(),
            Some(Refusal::Expired)
        );
        let idle = RefreshTokenSettings {
            idle_token_lifetime: 0,
            ..RefreshTokenSettings::default()
        };
        let first = tokens.issue(grant(), |_| idle.clone());
        assert_eq!(
            tokens.exchange(&first, "spa", &idle, None).err(),
            Some(Refusal::Expired)
        );
    }

    #[test]
    fn concurrent_exchanges_of_one_token_are_one_exchange() {
        let tokens = std::sync::Arc::new(RefreshTokens::default());
        let s = settings(0);
        let first = tokens.issue(grant(), |_| s.clone());
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (tokens, first, s) = (tokens.clone(), first.clone(), s.clone());
                std::thread::spawn(move || tokens.exchange(&first, "spa", &s, None).is_ok())
            })
            .collect();
        let ok = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(ok, 1);
    }

    #[test]
    fn revocation_ends_the_family_and_only_for_its_client() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), |_| s.clone());
        let second = tokens.exchange(&first, "spa", &s, None).unwrap();
        assert!(!tokens.revoke(&second.token, "other"));
        assert!(tokens.revoke(&first, "spa"));
        assert_eq!(
            tokens.exchange(&second.token, "spa", &s, None).err(),
            Some(Refusal::Revoked)
        );
        assert!(!tokens.revoke("unknown", "spa"));
    }
}
