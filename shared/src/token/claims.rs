//! Step 5 of the pipeline: the claims of a token whose signature has been verified, parsed
//! once, typed strictly, and checked in a fixed order.
//!
//! The registered claims are read as `jsonwebtoken` reads them (its `Validation` was used here
//! before, and its rules are kept): `exp` and `nbf` are numbers of seconds (a fraction is
//! rounded; a negative number, a string or anything else is malformed); `iss` and `aud` are
//! required; `aud` is a string or an array of strings, of which one must be the audience.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::AuthError;
use crate::metrics::{Denial, note_denial};

/// A claim whose absence or wrong type is reported by name, instead of failing the whole
/// parse (as `jsonwebtoken`'s `TryParse`): `null` counts as absent.
#[derive(Debug, Default)]
pub(super) enum Claim<T> {
    #[default]
    Missing,
    Malformed,
    Present(T),
}

/// `aud`: one audience or several.
#[derive(Debug)]
pub(super) enum Audience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl Audience<'_> {
    fn includes(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims we read. A wrong type in `sub`, `iat`, `scope`, `permissions`, `azp` or
/// `client_id`, a missing `sub`, or a repeated claim fails the whole parse: the claims are
/// malformed.
#[derive(Deserialize)]
pub(super) struct TokenClaims<'a> {
    #[serde(default, deserialize_with = "seconds")]
    pub exp: Claim<u64>,
    #[serde(default, deserialize_with = "seconds")]
    pub nbf: Claim<u64>,
    #[serde(borrow, default, deserialize_with = "string")]
    pub iss: Claim<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "audience")]
    pub aud: Claim<Audience<'a>>,
    pub sub: String,
    pub iat: Option<f64>,
    #[serde(borrow)]
    pub scope: Option<Cow<'a, str>>,
    pub permissions: Option<Vec<String>>,
    #[serde(borrow)]
    pub azp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub client_id: Option<Cow<'a, str>>,
    /// RFC 9449 §6.1 / RFC 7800: the confirmation of a sender-constrained token; only `jkt`
    /// (the DPoP key's thumbprint) is read.
    #[serde(borrow)]
    pub cnf: Option<Confirmation<'a>>,
}

/// `cnf`: an object; its `jkt`, when present, a string.
#[derive(Deserialize)]
pub(super) struct Confirmation<'a> {
    #[serde(borrow)]
    pub jkt: Option<Cow<'a, str>>,
}

/// The time rules the pipeline applies, from the configuration.
pub(super) struct Rules<'c> {
    pub issuer: &'c str,
    pub audience: &'c str,
    pub leeway: u64,
}

impl TokenClaims<'_> {
    /// Checks, in this order: `exp`, `iss`, `aud` present and well-formed; `nbf` well-formed;
    /// not expired (`exp` + leeway); not before `nbf` (− leeway); `iss` equal to the issuer
    /// byte for byte; the audience in `aud`; `iat` not in the future (+ leeway); `sub` not
    /// empty. Returns `exp`.
    pub fn check(&self, rules: &Rules<'_>, now: u64) -> Result<u64, AuthError> {
        let required = |name: &str| {
            denied(
                Denial::Malformed,
                AuthError::InvalidToken(format!("missing or malformed claim: {name}")),
            )
        };
        let Claim::Present(exp) = self.exp else {
            return Err(required("exp"));
        };
        let Claim::Present(iss) = &self.iss else {
            return Err(required("iss"));
        };
        let Claim::Present(aud) = &self.aud else {
            return Err(required("aud"));
        };
        if matches!(self.nbf, Claim::Malformed) {
            return Err(denied(
                Denial::Malformed,
                AuthError::invalid_token("malformed claim: nbf"),
            ));
        }
        if exp < now.saturating_sub(rules.leeway) {
            return Err(denied(
                Denial::Expired,
                AuthError::invalid_token("the token has expired"),
            ));
        }
        if let Claim::Present(nbf) = self.nbf
            && nbf > now.saturating_add(rules.leeway)
        {
            return Err(AuthError::invalid_token("the token is not valid yet (nbf)"));
        }
        if iss != rules.issuer {
            return Err(denied(
                Denial::WrongIssuer,
                AuthError::invalid_token("unexpected issuer"),
            ));
        }
        if !aud.includes(rules.audience) {
            return Err(denied(
                Denial::WrongAudience,
                AuthError::invalid_token("the token is not for this API (aud)"),
            ));
        }
        if let Some(iat) = self.iat
            && iat > now.saturating_add(rules.leeway) as f64
        {
            return Err(AuthError::invalid_token(
                "the token is issued in the future",
            ));
        }
        if self.sub.is_empty() {
            return Err(AuthError::invalid_token("sub is empty"));
        }
        Ok(exp)
    }
}

/// `error`, with `denial` noted as the reason for this invocation's metrics.
pub(crate) fn denied(denial: Denial, error: AuthError) -> AuthError {
    note_denial(denial);
    error
}

/// Consumes whatever value is there and calls it malformed (a map or an array of the wrong
/// kind is read to its end, so the rest of the claims still parse).
macro_rules! malformed_otherwise {
    ($value:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            Ok(Claim::Malformed)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            Ok(Claim::Malformed)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> {
            Ok(Claim::Missing)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Claim::Malformed)
        }
    };
}

/// `exp`, `nbf`: a non-negative number of seconds, as `jsonwebtoken` reads it.
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Claim<u64>, D::Error> {
    struct Seconds;
    impl<'de> Visitor<'de> for Seconds {
        type Value = Claim<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Claim<u64>, E> {
            Ok(Claim::Present(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Claim<u64>, E> {
            Ok(if v.is_finite() && v >= 0.0 && v < u64::MAX as f64 {
                Claim::Present(v.round() as u64)
            } else {
                Claim::Malformed
            })
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Claim<u64>, E> {
            Ok(Claim::Malformed)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claim<u64>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Claim::Malformed)
        }
        malformed_otherwise!(Claim<u64>);
    }
    deserializer.deserialize_any(Seconds)
}

/// A string claim, or what else it is.
struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Claim<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::Present(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Claim::Present(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Claim::Malformed)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Claim::Malformed)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Claim::Malformed)
    }
    malformed_otherwise!(Claim<Cow<'de, str>>);
}

/// `iss`: a string (an array of issuers is malformed: there is exactly one issuer).
fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Claim<Cow<'de, str>>, D::Error> {
    deserializer.deserialize_any(Text)
}

/// `aud`: a string, or an array of strings (an array with anything else in it is malformed).
fn audience<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Claim<Audience<'de>>, D::Error> {
    /// One element of the array: a string, or `None` for anything else (consumed).
    struct Element<'a>(Option<Cow<'a, str>>);
    impl<'de> Deserialize<'de> for Element<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            match deserializer.deserialize_any(Text)? {
                Claim::Present(text) => Ok(Element(Some(text))),
                _ => Ok(Element(None)),
            }
        }
    }
    struct Aud;
    impl<'de> Visitor<'de> for Aud {
        type Value = Claim<Audience<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Claim::Present(Audience::One(Cow::Borrowed(v))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Claim::Present(Audience::One(Cow::Owned(v.to_string()))))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Claim::Malformed)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Claim::Malformed)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(2));
            let mut well_formed = true;
            while let Some(Element(element)) = seq.next_element::<Element<'de>>()? {
                match element {
                    Some(text) => all.push(text),
                    None => well_formed = false,
                }
            }
            Ok(if well_formed {
                Claim::Present(Audience::Many(all))
            } else {
                Claim::Malformed
            })
        }
        malformed_otherwise!(Claim<Audience<'de>>);
    }
    deserializer.deserialize_any(Aud)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TokenClaims<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn registered_claims_are_read_as_jsonwebtoken_reads_them() {
        let c = parse(r#"{"sub":"a","exp":10.6,"nbf":3,"iss":"i","aud":["x","y"]}"#).unwrap();
        assert!(matches!(c.exp, Claim::Present(11)));
        assert!(matches!(c.nbf, Claim::Present(3)));
        assert!(matches!(c.iss, Claim::Present(ref i) if i == "i"));
        assert!(matches!(c.aud, Claim::Present(ref a) if a.includes("y") && !a.includes("z")));
        for (json, what) in [
            (r#"{"sub":"a","exp":-1}"#, "negative"),
            (r#"{"sub":"a","exp":"10"}"#, "a string"),
            (r#"{"sub":"a","exp":[1]}"#, "an array"),
            (r#"{"sub":"a","exp":{"a":1}}"#, "an object"),
            (r#"{"sub":"a","exp":true}"#, "a boolean"),
            (r#"{"sub":"a","exp":1e300}"#, "too large"),
        ] {
            assert!(
                matches!(parse(json).unwrap().exp, Claim::Malformed),
                "{what}"
            );
        }
        assert!(matches!(
            parse(r#"{"sub":"a","exp":null}"#).unwrap().exp,
            Claim::Missing
        ));
        assert!(matches!(
            parse(r#"{"sub":"a"}"#).unwrap().exp,
            Claim::Missing
        ));
        for aud in [r#"42"#, r#"[1]"#, r#"["x",{"y":1}]"#, r#"{"aud":"x"}"#] {
            let json = format!(r#"{{"sub":"a","aud":{aud},"iss":"i"}}"#);
            let c = parse(&json).unwrap();
            assert!(matches!(c.aud, Claim::Malformed), "{aud}");
            // The rest of the claims still parse after a malformed one.
            assert!(matches!(c.iss, Claim::Present(_)), "{aud}");
        }
        assert!(matches!(
            parse(r#"{"sub":"a","iss":["i"]}"#).unwrap().iss,
            Claim::Malformed
        ));
    }

    #[test]
    fn other_claims_of_the_wrong_type_or_repeated_fail_the_parse() {
        for json in [
            r#"{"exp":1}"#,
            r#"{"sub":1}"#,
            r#"{"sub":"a","iat":"yesterday"}"#,
            r#"{"sub":"a","scope":["read:contacts"]}"#,
            r#"{"sub":"a","permissions":"read:contacts"}"#,
            r#"{"sub":"a","permissions":[1]}"#,
            r#"{"sub":"a","azp":1}"#,
            r#"{"sub":"a","exp":1,"exp":2}"#,
            r#"{"sub":"a","sub":"b"}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }

    #[test]
    fn checks_run_in_order_with_the_leeway() {
        let rules = Rules {
            issuer: "https://i/",
            audience: "organize",
            leeway: 30,
        };
        let now = 1_000_000;
        let check = |json: String| parse(&json).unwrap().check(&rules, now);
        let claims = |exp: i64, extra: &str| {
            format!(r#"{{"sub":"a","iss":"https://i/","aud":"organize","exp":{exp}{extra}}}"#)
        };
        assert_eq!(check(claims(now as i64 + 1, "")).unwrap(), now + 1);
        assert!(
            check(claims(now as i64 - 30, "")).is_ok(),
            "inside the leeway"
        );
        let why = |r: Result<u64, AuthError>| match r {
            Err(AuthError::InvalidToken(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(why(check(claims(now as i64 - 31, ""))).contains("expired"));
        assert!(why(check(claims(now as i64 + 60, r#","nbf":1000031"#))).contains("nbf"));
        assert!(check(claims(now as i64 + 60, r#","nbf":1000030"#)).is_ok());
        assert!(why(check(claims(now as i64 + 60, r#","nbf":"x""#))).contains("nbf"));
        assert!(why(check(claims(now as i64 + 60, r#","iat":1000031"#))).contains("future"));
        assert!(check(claims(now as i64 + 60, r#","iat":1000030.0"#)).is_ok());
        // Expired and wrong issuer: the expiry is reported, as the order says.
        let both = r#"{"sub":"a","iss":"https://x/","aud":"organize","exp":1}"#.to_string();
        assert!(why(check(both)).contains("expired"));
        for (json, missing) in [
            (r#"{"sub":"a","iss":"https://i/","aud":"organize"}"#, "exp"),
            (r#"{"sub":"a","aud":"organize","exp":2000000}"#, "iss"),
            (r#"{"sub":"a","iss":"https://i/","exp":2000000}"#, "aud"),
        ] {
            assert!(why(check(json.to_string())).contains(missing), "{json}");
        }
        let empty_sub = r#"{"sub":"","iss":"https://i/","aud":["organize"],"exp":2000000}"#;
        assert!(why(check(empty_sub.to_string())).contains("sub"));
    }
}
