use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::Timestamp;

/// The three headers Twenty sends with a signed delivery (names are case-insensitive
/// on the wire; the caller looks them up).
#[derive(Debug, Clone, Copy)]
pub struct SignatureHeaders<'a> {
    /// `X-Twenty-Webhook-Timestamp`: epoch milliseconds.
    pub timestamp: Option<&'a str>,
    /// `X-Twenty-Webhook-Signature`: lowercase hex HMAC-SHA256.
    pub signature: Option<&'a str>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("the timestamp header is not epoch milliseconds")]
    BadTimestamp,
    #[error("the delivery is {0:?} away from now, outside the tolerance")]
    OutsideTolerance(Duration),
    #[error("the signature does not match")]
    BadSignature,
}

/// Twenty's scheme: `hex(HMAC-SHA256(secret, "<timestamp>:<raw body>"))`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks a delivery against the secret. Pure: the clock is an argument.
///
/// The raw body bytes as received are what was signed; re-serialised JSON would not
/// verify. The timestamp is covered by the signature, so a replay of an old delivery
/// is refused by the tolerance window even with a valid signature.
pub fn verify(
    body: &[u8],
    headers: SignatureHeaders<'_>,
    secret: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp = headers
        .timestamp
        .ok_or(VerifyError::MissingHeader("X-Twenty-Webhook-Timestamp"))?;
    let signature = headers
        .signature
        .ok_or(VerifyError::MissingHeader("X-Twenty-Webhook-Signature"))?;
    let sent_ms: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = Duration::from_millis(now.unix_millis().abs_diff(sent_ms));
    if skew > tolerance {
        return Err(VerifyError::OutsideTolerance(skew));
    }
    let given = hex::decode(signature.trim()).map_err(|_| VerifyError::BadSignature)?;
    let expected = mac(secret, timestamp.trim(), body).finalize().into_bytes();
    if expected.as_slice().ct_eq(&given).into() {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"twenty-test-secret";
    // A real delivery captured from Twenty 2.21.0 (fixtures/twenty/deliveries.jsonl).
    const TS: &str = "1795540400577";
    const SIG: &str = "b88c501fd550313dd028942776b67ed215f5f89bc1076855e13ab1ffa770c163";
    const BODY: &str = r#"{"targetUrl":"http://127.0.0.1:8765/twenty-hook","eventName":"lead.created","objectMetadata":{"id":"17714a70-29e7-4dda-819c-789b7c8a9fb5","nameSingular":"lead"},"workspaceId":"20202020-1c25-4d02-bf25-6aeccf7ea419","webhookId":"0e70af78-ded4-4328-a5fb-b1dafabc601d","eventDate":"2026-11-24T17:13:20.573Z","record":{"name":"Acme lead","id":"bf91e08e-34f1-43a7-9ba8-92963c4fd740","createdAt":"2026-11-24T17:13:20.558Z","createdBy":{"source":"API","workspaceMemberId":null,"name":"My api key","context":{}},"deletedAt":null,"position":0,"updatedAt":"2026-11-24T17:13:20.558Z","updatedBy":{"source":"API","workspaceMemberId":null,"name":"My api key","context":{}},"searchVector":"'acme':1 'lead':2","email":{"primaryEmail":"l0@example.com","additionalEmails":[]},"status":"NEW","score":10,"source":"probe"}}"#;
    const TOLERANCE: Duration = Duration::from_secs(300);

    fn at_delivery() -> Timestamp {
        Timestamp::from_unix_millis(1_795_540_400_600).unwrap()
    }

    fn headers<'a>(ts: &'a str, sig: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn a_real_twenty_delivery_verifies() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIG);
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers(TS, SIG),
                SECRET,
                at_delivery(),
                TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn one_flipped_byte_anywhere_is_refused() {
        let mut body = BODY.as_bytes().to_vec();
        body[100] ^= 1;
        assert_eq!(
            verify(&body, headers(TS, SIG), SECRET, at_delivery(), TOLERANCE),
            Err(VerifyError::BadSignature)
        );
        let sig = format!(
            "{}{}",
            &SIG[..63],
            if SIG.ends_with('3') { "4" } else { "3" }
        );
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers(TS, &sig),
                SECRET,
                at_delivery(),
                TOLERANCE
            ),
            Err(VerifyError::BadSignature)
        );
        let ts = "1795540400578";
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers(ts, SIG),
                SECRET,
                at_delivery(),
                TOLERANCE
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers(TS, SIG),
                b"another-secret",
                at_delivery(),
                TOLERANCE
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn reserialised_json_is_refused() {
        let value: serde_json::Value = serde_json::from_str(BODY).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(
            verify(&pretty, headers(TS, SIG), SECRET, at_delivery(), TOLERANCE),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn stale_and_future_deliveries_are_refused() {
        let later = Timestamp::from_unix_millis(1_795_540_400_577 + 301_000).unwrap();
        assert!(matches!(
            verify(BODY.as_bytes(), headers(TS, SIG), SECRET, later, TOLERANCE),
            Err(VerifyError::OutsideTolerance(_))
        ));
        let earlier = Timestamp::from_unix_millis(1_795_540_400_577 - 301_000).unwrap();
        assert!(matches!(
            verify(
                BODY.as_bytes(),
                headers(TS, SIG),
                SECRET,
                earlier,
                TOLERANCE
            ),
            Err(VerifyError::OutsideTolerance(_))
        ));
    }

    #[test]
    fn missing_or_garbled_headers_are_refused() {
        let none = SignatureHeaders {
            timestamp: None,
            signature: Some(SIG),
        };
        assert_eq!(
            verify(BODY.as_bytes(), none, SECRET, at_delivery(), TOLERANCE),
            Err(VerifyError::MissingHeader("X-Twenty-Webhook-Timestamp"))
        );
        let none = SignatureHeaders {
            timestamp: Some(TS),
            signature: None,
        };
        assert_eq!(
            verify(BODY.as_bytes(), none, SECRET, at_delivery(), TOLERANCE),
            Err(VerifyError::MissingHeader("X-Twenty-Webhook-Signature"))
        );
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers("yesterday", SIG),
                SECRET,
                at_delivery(),
                TOLERANCE
            ),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(
                BODY.as_bytes(),
                headers(TS, "zz"),
                SECRET,
                at_delivery(),
                TOLERANCE
            ),
            Err(VerifyError::BadSignature)
        );
    }
}
