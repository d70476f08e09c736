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
//! Tokens are bound to their client and, when a public client signed in with a DPoP proof, to
//! that proof's key (RFC 9449 §5: every exchange then needs a proof by the same key, so a
//! stolen token is useless; a refusal spends nothing), kept only as SHA-256 digests (the
//! tenant never holds one it could leak), and live at most `token_lifetime` from sign-in and
//! `idle_token_lifetime` without use (the client's `refresh_token:` settings at sign-in).
//!
//! What is kept stays bounded, however long a family lives and however often it rotates. A
//! token reads `<family key>.<secret>`: every token of a sign-in starts with the same random
//! key, and the tenant keeps the key's digest as the family's name. So a used token need not
//! be kept to be recognised: a token of a known family that is not one the family keeps can
//! only be an old one presented again, which is reuse. A family keeps its unused tokens and,
//! for the leeway only, its used ones (none at all with no leeway). A revoked family is
//! dropped at once; one that ended (lifetime, or its newest token idle) is dropped by the
//! sweep, which looks at [`SWEEP_STEP`] families at every issue and exchange.
//!
//! Every check and its state change happen under one lock: twenty exchanges of one token sent
//! at once are one exchange and nineteen reuses.

use std::collections::{HashMap, VecDeque};
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

/// Families the sweep looks at per issue or exchange. More than one, so that ended families
/// go faster than new ones come; few, so that no request pays for a full scan.
pub const SWEEP_STEP: usize = 2;

/// What a refresh token was granted: who, to which client, for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub audience: Option<String>,
    /// The scopes of the sign-in (`offline_access` included).
    pub scopes: Vec<String>,
    /// The DPoP key (RFC 7638 thumbprint) every exchange must prove, if the family is bound.
    pub jkt: Option<String>,
}

/// Why an exchange is refused. The token endpoint answers all of them alike (Auth0's
/// `invalid_grant`, "Unknown or invalid refresh token."), except a wider scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token of a family the tenant keeps: never issued, or its family was revoked or
    /// has ended and been swept.
    Unknown,
    OtherClient,
    /// Its family has passed its lifetime, or the token has been unused too long.
    Expired,
    /// Used before, outside the leeway or not the previous token: the family is now revoked.
    Reused,
    /// The previous token within the leeway, but the family already holds
    /// [`MAX_LIVE_TOKENS_PER_FAMILY`] unused tokens (nothing is revoked).
    FamilyFull,
    /// The scope asked for is not within the token's.
    WiderScope(Vec<String>),
    /// The family is bound to a DPoP key, and the request proved another key, or none
    /// (nothing is spent or revoked: the token's holder may still use it).
    UnboundKey,
}

/// A successful exchange: the new token (the same one when the client does not rotate) and
/// the grant, with the scopes asked for this time.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub token: String,
    pub grant: RefreshGrant,
    pub scopes: Vec<String>,
}

type Digest32 = [u8; 32];

/// One sign-in's chain of refresh tokens, named without its tokens (so that what issued it, an
/// authorization code, can revoke it later without keeping a token): the digest of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyId(Digest32);

fn digest(text: &str) -> Digest32 {
    Sha256::digest(text.as_bytes()).into()
}

/// A token's family key, or `None` when it is not shaped like one of the tenant's tokens.
fn family_key(token: &str) -> Option<&str> {
    token.split_once('.').map(|(key, _)| key)
}

/// A family's terms: its client's `refresh_token:` settings at sign-in.
#[derive(Debug, Clone, Copy)]
struct Terms {
    rotates: bool,
    /// From sign-in, rotation or not; `None`: infinite.
    lifetime: Option<Duration>,
    /// Without use; `None`: infinite.
    idle: Option<Duration>,
    leeway: Duration,
}

impl From<&RefreshTokenSettings> for Terms {
    fn from(settings: &RefreshTokenSettings) -> Self {
        let seconds = |infinite: bool, s: u64| (!infinite).then(|| Duration::from_secs(s));
        Self {
            rotates: settings.rotates(),
            lifetime: seconds(settings.infinite_token_lifetime, settings.token_lifetime),
            idle: seconds(
                settings.infinite_idle_token_lifetime,
                settings.idle_token_lifetime,
            ),
            leeway: Duration::from_secs(settings.leeway),
        }
    }
}

struct Record {
    issued: Instant,
    /// When it was first exchanged, if it was: the leeway runs from then.
    used: Option<Instant>,
    /// The tokens its exchanges answered (more than one when exchanged again in the leeway).
    successors: Vec<Digest32>,
}

struct Family {
    grant: RefreshGrant,
    terms: Terms,
    created: Instant,
    /// Its unused tokens (at most [`MAX_LIVE_TOKENS_PER_FAMILY`]).
    live: Vec<Digest32>,
    /// Its used tokens still within the leeway, oldest first use first.
    used: VecDeque<(Instant, Digest32)>,
    /// When its newest token was issued (not rotating: last used). Every other unused token
    /// is older, so the family has idled out when this one has.
    newest: Instant,
}

impl Family {
    fn past_lifetime(&self, now: Instant) -> bool {
        self.terms
            .lifetime
            .is_some_and(|lifetime| now.duration_since(self.created) >= lifetime)
    }

    fn idle_since(&self, issued: Instant, now: Instant) -> bool {
        self.terms
            .idle
            .is_some_and(|idle| now.duration_since(issued) >= idle)
    }

    /// No token of it can be exchanged any more.
    fn ended(&self, now: Instant) -> bool {
        self.past_lifetime(now) || self.idle_since(self.newest, now)
    }

    /// Drops its used tokens whose leeway has passed (from `tokens` too).
    fn forget_used(&mut self, tokens: &mut HashMap<Digest32, Record>, now: Instant) {
        while let Some(&(used, hash)) = self.used.front() {
            if now.duration_since(used) <= self.terms.leeway {
                break;
            }
            self.used.pop_front();
            tokens.remove(&hash);
        }
    }
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<Digest32, Record>,
    families: HashMap<Digest32, Family>,
    /// Every family once, visited round-robin by [`Inner::sweep`]; ids of families removed
    /// meanwhile are dropped when met.
    sweep: VecDeque<Digest32>,
}

impl Inner {
    /// Removes a family and every token it keeps: revocation, or its end.
    fn remove_family(&mut self, id: &Digest32) {
        if let Some(family) = self.families.remove(id) {
            for hash in family.live.iter().chain(family.used.iter().map(|(_, h)| h)) {
                self.tokens.remove(hash);
            }
        }
    }

    /// Looks at the next [`SWEEP_STEP`] families: an ended one is removed, a live one forgets
    /// its used tokens past the leeway and goes to the back. Bounded work per call (each
    /// token is forgotten once); every family is looked at once per round.
    fn sweep(&mut self, now: Instant) {
        for _ in 0..SWEEP_STEP {
            let Some(id) = self.sweep.pop_front() else {
                break;
            };
            let Some(family) = self.families.get_mut(&id) else {
                continue;
            };
            if family.ended(now) {
                self.remove_family(&id);
            } else {
                family.forget_used(&mut self.tokens, now);
                self.sweep.push_back(id);
            }
        }
    }

    fn issue(&mut self, grant: RefreshGrant, terms: Terms, now: Instant) -> String {
        let mut same: Vec<(Instant, Digest32)> = self
            .families
            .iter()
            .filter(|(_, f)| {
                f.grant.user_id == grant.user_id
                    && f.grant.client_id == grant.client_id
                    && !f.ended(now)
            })
            .map(|(id, f)| (f.created, *id))
            .collect();
        if same.len() >= MAX_FAMILIES_PER_USER_AND_CLIENT {
            same.sort_unstable();
            let excess = same.len() + 1 - MAX_FAMILIES_PER_USER_AND_CLIENT;
            for (_, oldest) in &same[..excess] {
                self.remove_family(oldest);
            }
        }
        let key = random_token(16);
        let token = format!("{key}.{}", random_token(32));
        let (id, hash) = (digest(&key), digest(&token));
        self.tokens.insert(
            hash,
            Record {
                issued: now,
                used: None,
                successors: Vec::new(),
            },
        );
        self.families.insert(
            id,
            Family {
                grant,
                terms,
                created: now,
                live: vec![hash],
                used: VecDeque::new(),
                newest: now,
            },
        );
        self.sweep.push_back(id);
        token
    }

    fn exchange(
        &mut self,
        token: &str,
        client_id: &str,
        requested: Option<&[String]>,
        proof_jkt: Option<&str>,
        now: Instant,
    ) -> Result<Exchanged, Refusal> {
        let key = family_key(token).ok_or(Refusal::Unknown)?;
        let (id, hash) = (digest(key), digest(token));
        let family = self.families.get_mut(&id).ok_or(Refusal::Unknown)?;
        if family.grant.client_id != client_id {
            return Err(Refusal::OtherClient);
        }
        if family.past_lifetime(now) {
            return Err(Refusal::Expired);
        }
        family.forget_used(&mut self.tokens, now);
        // Reuse first: a used token is theft whatever else the request asks. Of its family's
        // used tokens, only those within the leeway are still kept.
        let Some(record) = self.tokens.get(&hash) else {
            self.remove_family(&id);
            return Err(Refusal::Reused);
        };
        match record.used {
            None if family.idle_since(record.issued, now) => return Err(Refusal::Expired),
            None => {}
            Some(_) => {
                // Kept, so within the leeway: it may go again if it is still the previous
                // token (none of its successors used), and the family has room.
                let previous = record
                    .successors
                    .iter()
                    .all(|successor| self.tokens.get(successor).is_some_and(|r| r.used.is_none()));
                if !previous {
                    self.remove_family(&id);
                    return Err(Refusal::Reused);
                }
                if family.live.len() >= MAX_LIVE_TOKENS_PER_FAMILY {
                    return Err(Refusal::FamilyFull);
                }
            }
        }
        if let Some(bound) = &family.grant.jkt {
            let proved = proof_jkt.is_some_and(|jkt| {
                aws_lc_rs::constant_time::verify_slices_are_equal(jkt.as_bytes(), bound.as_bytes())
                    .is_ok()
            });
            if !proved {
                return Err(Refusal::UnboundKey);
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
        family.newest = now;
        if !family.terms.rotates {
            if let Some(r) = self.tokens.get_mut(&hash) {
                r.issued = now;
            }
            return Ok(Exchanged {
                token: token.to_string(),
                grant,
                scopes,
            });
        }
        let next = format!("{key}.{}", random_token(32));
        let next_hash = digest(&next);
        self.tokens.insert(
            next_hash,
            Record {
                issued: now,
                used: None,
                successors: Vec::new(),
            },
        );
        family.live.push(next_hash);
        let first_use = match self.tokens.get_mut(&hash) {
            Some(r) => {
                r.successors.push(next_hash);
                let first = r.used.is_none();
                r.used.get_or_insert(now);
                first
            }
            None => false,
        };
        if first_use {
            // Spent: kept for the leeway only, to be exchanged again within it.
            family.live.retain(|h| *h != hash);
            if family.terms.leeway.is_zero() {
                self.tokens.remove(&hash);
            } else {
                family.used.push_back((now, hash));
            }
        }
        Ok(Exchanged {
            token: next,
            grant,
            scopes,
        })
    }

    /// The grant of `token` when its family (of `client_id`) still keeps it: unused, or used
    /// within the leeway.
    fn live_grant(&self, token: &str, client_id: &str) -> Option<&RefreshGrant> {
        let family = self.families.get(&self.family_of(token)?)?;
        self.tokens.get(&digest(token))?;
        (family.grant.client_id == client_id).then_some(&family.grant)
    }

    /// The id of the family `token` belongs to, if it is kept.
    fn family_of(&self, token: &str) -> Option<Digest32> {
        let id = digest(family_key(token)?);
        self.families.contains_key(&id).then_some(id)
    }
}

#[derive(Default)]
pub struct RefreshTokens {
    inner: Mutex<Inner>,
}

impl RefreshTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new family for a sign-in, on its client's `settings`; its first token. Beyond the
    /// per-user, per-client limit the oldest family of that user and client is revoked.
    pub fn issue(&self, grant: RefreshGrant, settings: &RefreshTokenSettings) -> String {
        let mut inner = self.lock();
        let now = Instant::now();
        // Before, so that the new family is looked at a round later, not at once.
        inner.sweep(now);
        inner.issue(grant, Terms::from(settings), now)
    }

    /// Exchanges `token` presented by `client_id` for a new one (rotation), with `requested`
    /// scopes (none: the token's own; fewer may be asked for, never more), by a request that
    /// proved the DPoP key `proof_jkt`, if any.
    pub fn exchange(
        &self,
        token: &str,
        client_id: &str,
        requested: Option<&[String]>,
        proof_jkt: Option<&str>,
    ) -> Result<Exchanged, Refusal> {
        let mut inner = self.lock();
        // The clock is read under the lock: a request that waited for it must not carry an
        // instant older than the exchange that got in first (it would measure zero since that
        // use, "within the leeway", and two exchanges of one token would both succeed).
        let now = Instant::now();
        let exchanged = inner.exchange(token, client_id, requested, proof_jkt, now);
        inner.sweep(now);
        exchanged
    }

    /// The grant of `token` when it may still be exchanged by `client_id` (unused, or used within
    /// the leeway), without spending it or detecting reuse: for checks that must refuse a
    /// request before the token is exchanged. A token it does not know is left to
    /// [`RefreshTokens::exchange`], which tells reuse from unknown.
    pub fn live_grant(&self, token: &str, client_id: &str) -> Option<RefreshGrant> {
        self.lock().live_grant(token, client_id).cloned()
    }

    /// The family `token` belongs to.
    pub fn family_of(&self, token: &str) -> Option<FamilyId> {
        self.lock().family_of(token).map(FamilyId)
    }

    /// Revokes a whole family: every token in it stops working.
    pub fn revoke_family(&self, family: FamilyId) {
        self.lock().remove_family(&family.0);
    }

    /// Revokes the family of `token` when it belongs to `client_id`; whether one was revoked.
    pub fn revoke(&self, token: &str, client_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(id) = inner.family_of(token) else {
            return false;
        };
        let owned = inner
            .families
            .get(&id)
            .is_some_and(|f| f.grant.client_id == client_id);
        if owned {
            inner.remove_family(&id);
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
            jkt: None,
        }
    }

    fn settings(leeway: u64) -> RefreshTokenSettings {
        RefreshTokenSettings {
            leeway,
            ..RefreshTokenSettings::default()
        }
    }

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn beyond_the_per_user_limit_the_oldest_family_goes() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), &s);
        for _ in 0..MAX_FAMILIES_PER_USER_AND_CLIENT {
            tokens.issue(grant(), &s);
        }
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
        let inner = tokens.lock();
        assert_eq!(inner.families.len(), MAX_FAMILIES_PER_USER_AND_CLIENT);
        assert_eq!(inner.tokens.len(), MAX_FAMILIES_PER_USER_AND_CLIENT);
    }

    /// With no leeway a used token is dropped at once: a family rotated a thousand times
    /// keeps one record, and a reuse of its first token is still caught.
    #[test]
    fn a_family_rotated_a_thousand_times_keeps_only_its_live_token() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), &s);
        let mut token = first.clone();
        for _ in 0..1000 {
            token = tokens.exchange(&token, "spa", None, None).unwrap().token;
        }
        assert_eq!(tokens.lock().tokens.len(), 1);
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Reused)
        );
        assert!(
            tokens.exchange(&token, "spa", None, None).is_err(),
            "revoked"
        );
        assert!(
            tokens.lock().tokens.is_empty(),
            "a revoked family is dropped"
        );
    }

    /// Families that ended are swept by exchanges too, not only by sign-ins.
    #[test]
    fn exchanges_sweep_ended_families() {
        let tokens = RefreshTokens::default();
        let ended = RefreshTokenSettings {
            token_lifetime: 0,
            ..RefreshTokenSettings::default()
        };
        for i in 0..50 {
            let mut g = grant();
            g.user_id = format!("user-{i}");
            tokens.issue(g, &ended);
        }
        let mut token = tokens.issue(grant(), &settings(0));
        for _ in 0..100 {
            token = tokens.exchange(&token, "spa", None, None).unwrap().token;
        }
        let inner = tokens.lock();
        assert_eq!(inner.families.len(), 1);
        assert_eq!(inner.tokens.len(), 1);
    }

    /// With a leeway, a used token is kept for the leeway from its first use (exchanging it
    /// again does not extend that), then forgotten; presenting it afterwards is still reuse.
    /// Clock given.
    #[test]
    fn used_tokens_are_kept_for_the_leeway_only_and_reuse_is_caught_after() {
        let mut inner = Inner::default();
        let t0 = Instant::now();
        let first = inner.issue(grant(), Terms::from(&settings(60)), t0);
        let second = inner
            .exchange(&first, "spa", None, None, at(t0, 1))
            .unwrap();
        let again = inner
            .exchange(&first, "spa", None, None, at(t0, 50))
            .unwrap();
        assert_eq!(
            inner.tokens.len(),
            3,
            "two live, one used within the leeway"
        );
        // 61 s after its first use: past the leeway, whatever happened at 50 s.
        let later = inner
            .exchange(&second.token, "spa", None, None, at(t0, 62))
            .unwrap();
        assert_eq!(
            inner.tokens.len(),
            3,
            "the first forgotten; second used, kept"
        );
        assert_eq!(
            inner.exchange(&first, "spa", None, None, at(t0, 63)).err(),
            Some(Refusal::Reused)
        );
        for token in [&again.token, &later.token] {
            assert_eq!(
                inner.exchange(token, "spa", None, None, at(t0, 64)).err(),
                Some(Refusal::Unknown),
                "the whole family went"
            );
        }
        assert!(inner.tokens.is_empty() && inner.families.is_empty());
    }

    /// A family nobody exchanges any more is swept when its newest token idles out, and its
    /// used tokens when their leeway has passed, by requests of other families. Clock given.
    #[test]
    fn the_sweep_forgets_used_tokens_and_ends_idle_families_of_others() {
        let mut inner = Inner::default();
        let t0 = Instant::now();
        let terms = Terms::from(&RefreshTokenSettings {
            leeway: 30,
            idle_token_lifetime: 600,
            ..RefreshTokenSettings::default()
        });
        let mut token = inner.issue(grant(), terms, t0);
        for i in 1..=10 {
            token = inner
                .exchange(&token, "spa", None, None, at(t0, i))
                .unwrap()
                .token;
        }
        assert_eq!(
            inner.tokens.len(),
            11,
            "ten used within the leeway, one live"
        );
        inner.sweep(at(t0, 100));
        assert_eq!(inner.tokens.len(), 1, "past the leeway: forgotten");
        assert_eq!(inner.families.len(), 1);
        inner.sweep(at(t0, 10 + 600));
        assert!(inner.families.is_empty() && inner.tokens.is_empty(), "idle");
        assert!(inner.sweep.is_empty());
    }

    #[test]
    fn rotation_and_reuse_detection() {
        let tokens = RefreshTokens::default();
        let s = settings(0);
        let first = tokens.issue(grant(), &s);
        let second = tokens.exchange(&first, "spa", None, None).unwrap();
        assert_ne!(second.token, first);
        assert_eq!(second.scopes, grant().scopes);
        // The used one again: reuse, and the whole family is revoked.
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&second.token, "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
    }

    /// A token of a known family that the family does not keep (forged with its key, or
    /// used and forgotten) is reuse; anything not shaped like a token is unknown.
    #[test]
    fn only_a_family_key_makes_a_token_known() {
        let tokens = RefreshTokens::default();
        let first = tokens.issue(grant(), &settings(0));
        assert_eq!(
            tokens.exchange("no-dot", "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
        assert_eq!(
            tokens.exchange("other-key.secret", "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
        let (key, _) = first.split_once('.').unwrap();
        assert_eq!(
            tokens
                .exchange(&format!("{key}.forged"), "spa", None, None)
                .err(),
            Some(Refusal::Reused)
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
            let first = tokens.issue(grant(), &s);
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (tokens, first, barrier) = (tokens.clone(), first.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        tokens.exchange(&first, "spa", None, None)
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
                    .all(|e| matches!(e, Refusal::Reused | Refusal::Unknown)),
                "round {round}"
            );
            assert!(
                tokens.exchange(&won[0].token, "spa", None, None).is_err(),
                "round {round}: the family survived a reuse"
            );
        }
    }

    /// A used token is reuse whatever else the request asks: a wider scope does not let it
    /// off with `invalid_scope`.
    #[test]
    fn reuse_is_detected_before_the_scope_is_checked() {
        let tokens = RefreshTokens::default();
        let first = tokens.issue(grant(), &settings(0));
        let second = tokens.exchange(&first, "spa", None, None).unwrap();
        assert_eq!(
            tokens
                .exchange(&first, "spa", Some(&["write:contacts".into()]), None)
                .err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&second.token, "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
    }

    /// Within the leeway the previous token may be exchanged again: every token answered
    /// works (two tabs go on). Once one of them is used, the first is older than the previous
    /// token: reuse, leeway or not.
    #[test]
    fn within_the_leeway_the_previous_token_may_be_exchanged_again() {
        let tokens = RefreshTokens::default();
        let first = tokens.issue(grant(), &settings(60));
        let second = tokens.exchange(&first, "spa", None, None).unwrap();
        let again = tokens.exchange(&first, "spa", None, None).unwrap();
        assert_ne!(second.token, again.token);
        let third = tokens.exchange(&second.token, "spa", None, None).unwrap();
        assert!(tokens.exchange(&again.token, "spa", None, None).is_ok());
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Reused)
        );
        assert_eq!(
            tokens.exchange(&third.token, "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
    }

    /// A holder of the previous token looping within the leeway gets at most
    /// [`MAX_LIVE_TOKENS_PER_FAMILY`] unused tokens; beyond, it is refused, and the family
    /// (whose tokens may be a legitimate user's) is not revoked for it.
    #[test]
    fn exchanges_again_within_the_leeway_are_bounded_per_family() {
        let tokens = RefreshTokens::default();
        let first = tokens.issue(grant(), &settings(60));
        let answered: Vec<String> = (0..MAX_LIVE_TOKENS_PER_FAMILY)
            .map(|_| tokens.exchange(&first, "spa", None, None).unwrap().token)
            .collect();
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::FamilyFull)
        );
        // Rotations go on (each spends one and answers one).
        for token in &answered {
            assert!(tokens.exchange(token, "spa", None, None).is_ok());
        }
    }

    /// A family bound to a DPoP key is exchanged only with a proof by that key; a request
    /// without one, or with another key's, is refused without spending or revoking anything.
    #[test]
    fn a_bound_family_needs_its_key_and_a_refusal_spends_nothing() {
        let tokens = RefreshTokens::default();
        let bound = RefreshGrant {
            jkt: Some("key-a".into()),
            ..grant()
        };
        let first = tokens.issue(bound, &settings(0));
        assert_eq!(
            tokens.live_grant(&first, "spa").unwrap().jkt.as_deref(),
            Some("key-a")
        );
        for proof in [None, Some("key-b"), Some("key-a-")] {
            assert_eq!(
                tokens.exchange(&first, "spa", None, proof).err(),
                Some(Refusal::UnboundKey),
                "{proof:?}"
            );
        }
        let second = tokens.exchange(&first, "spa", None, Some("key-a")).unwrap();
        assert_eq!(
            second.grant.jkt.as_deref(),
            Some("key-a"),
            "the binding goes on"
        );
        assert!(tokens.live_grant(&first, "spa").is_none(), "used");
        assert!(
            tokens.live_grant(&second.token, "other").is_none(),
            "another client's"
        );
        // Reuse is still reuse, whatever key proves it.
        assert_eq!(
            tokens.exchange(&first, "spa", None, Some("key-a")).err(),
            Some(Refusal::Reused)
        );
        // An unbound family takes any proof, or none.
        let free = tokens.issue(grant(), &settings(0));
        let next = tokens.exchange(&free, "spa", None, Some("key-z")).unwrap();
        assert!(tokens.exchange(&next.token, "spa", None, None).is_ok());
    }

    #[test]
    fn bound_to_the_client_and_to_no_wider_scope() {
        let tokens = RefreshTokens::default();
        let first = tokens.issue(grant(), &settings(0));
        assert_eq!(
            tokens.exchange(&first, "other", None, None).err(),
            Some(Refusal::OtherClient)
        );
        assert_eq!(
            tokens
                .exchange(&first, "spa", Some(&["write:contacts".into()]), None)
                .err(),
            Some(Refusal::WiderScope(vec!["write:contacts".into()]))
        );
        // Neither refusal spent the token.
        let narrower = tokens
            .exchange(&first, "spa", Some(&["openid".into()]), None)
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
        let first = tokens.issue(grant(), &short);
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Expired)
        );
        let idle = RefreshTokenSettings {
            idle_token_lifetime: 0,
            ..RefreshTokenSettings::default()
        };
        let first = tokens.issue(grant(), &idle);
        assert_eq!(
            tokens.exchange(&first, "spa", None, None).err(),
            Some(Refusal::Expired)
        );
    }

    #[test]
    fn concurrent_exchanges_of_one_token_are_one_exchange() {
        let tokens = std::sync::Arc::new(RefreshTokens::default());
        let first = tokens.issue(grant(), &settings(0));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (tokens, first) = (tokens.clone(), first.clone());
                std::thread::spawn(move || tokens.exchange(&first, "spa", None, None).is_ok())
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
        let first = tokens.issue(grant(), &settings(0));
        let second = tokens.exchange(&first, "spa", None, None).unwrap();
        assert!(!tokens.revoke(&second.token, "other"));
        // Any token of the family names it, the used one too.
        assert!(tokens.revoke(&first, "spa"));
        assert_eq!(
            tokens.exchange(&second.token, "spa", None, None).err(),
            Some(Refusal::Unknown)
        );
        assert!(!tokens.revoke("unknown", "spa"));
        assert!(tokens.lock().tokens.is_empty());
    }
}
