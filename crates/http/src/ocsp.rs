//! The server's stapled OCSP response, read as k6 reads it: Go's
//! `ocsp.ParseResponse(staple, nil)` (golang.org/x/crypto/ocsp, no issuer),
//! turned into k6's `res.ocsp` values.

use ring::signature::{self as sig, VerificationAlgorithm};
use x509_cert::der::asn1::{GeneralizedTime, ObjectIdentifier};
use x509_cert::der::{Decode, Header, Reader, SliceReader};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};

/// Go's zero `time.Time` as Unix seconds (January 1, year 1, UTC): k6
/// reports it for a time the response does not have, such as the
/// `next_update` of a response without one or the `revoked_at` of a good
/// certificate.
pub const GO_ZERO_TIME: i64 = -62_135_596_800;

/// A stapled OCSP response as k6 reports it (`res.ocsp`; times in Unix
/// seconds, k6's strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ocsp {
    /// `good`, `revoked` or `unknown`.
    pub status: &'static str,
    /// k6's name of the reason (`key_compromise`, ...); `unspecified` when
    /// the response gives none, a good certificate's included (Go's zero).
    pub revocation_reason: &'static str,
    /// `producedAt`.
    pub produced_at: i64,
    /// `thisUpdate`.
    pub this_update: i64,
    /// `nextUpdate`, or [`GO_ZERO_TIME`].
    pub next_update: i64,
    /// `revocationTime`, or [`GO_ZERO_TIME`] unless revoked.
    pub revoked_at: i64,
}

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");

/// The CertID hashes Go knows: SHA-1, SHA-256, SHA-384, SHA-512.
const CERT_ID_HASHES: [ObjectIdentifier; 4] = [
    ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
];

/// Reads a stapled response. `None` for anything Go's `ocsp.ParseResponse`
/// refuses, for which k6 reports status `unknown` and zero times: nothing
/// stapled, bytes that are not a DER `OCSPResponse` (or have trailing data),
/// an error status (`tryLater`, ...), a type other than `id-pkix-ocsp-basic`,
/// other than exactly one `SingleResponse`, a critical single extension, a
/// CertID hash Go does not know, and a response embedding certificates whose
/// first one did not make its signature. Without embedded certificates the
/// signature is not checked, as k6 passes Go no issuer.
///
/// Unlike Go, a revocation reason of 7 (unassigned), a response `version`
/// other than v1 and times with fractions or zone offsets are not read
/// (RustCrypto's types are strict DER there); servers do not send them.
pub fn parse(der: &[u8]) -> Option<Ocsp> {
    if der.is_empty() {
        return None;
    }
    let outer = OcspResponse::from_der(der).ok()?;
    if outer.response_status != OcspResponseStatus::Successful {
        return None;
    }
    let bytes = outer.response_bytes?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return None;
    }
    let basic_der = bytes.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der).ok()?;
    let data = &basic.tbs_response_data;
    let [single] = data.responses.as_slice() else {
        return None;
    };
    if let Some(signer) = basic.certs.as_ref().and_then(|c| c.first()) {
        let tbs = tbs_response_data(basic_der)?;
        let oid = basic.signature_algorithm.oid;
        if !signed_by(signer, &oid, tbs, basic.signature.raw_bytes()) {
            return None;
        }
    }
    if single
        .single_extensions
        .as_ref()
        .is_some_and(|exts| exts.iter().any(|e| e.critical))
    {
        return None;
    }
    if !CERT_ID_HASHES.contains(&single.cert_id.hash_algorithm.oid) {
        return None;
    }
    let (status, revoked_at, reason) = match &single.cert_status {
        CertStatus::Good(_) => ("good", GO_ZERO_TIME, None),
        CertStatus::Unknown(_) => ("unknown", GO_ZERO_TIME, None),
        CertStatus::Revoked(info) => (
            "revoked",
            unix(&info.revocation_time.0),
            info.revocation_reason,
        ),
    };
    Some(Ocsp {
        status,
        revocation_reason: reason_name(reason),
        produced_at: unix(&data.produced_at.0),
        this_update: unix(&single.this_update.0),
        next_update: single.next_update.map_or(GO_ZERO_TIME, |t| unix(&t.0)),
        revoked_at,
    })
}

fn unix(t: &GeneralizedTime) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// k6's `OCSP_REASON_*` strings.
fn reason_name(reason: Option<CrlReason>) -> &'static str {
    match reason.unwrap_or(CrlReason::Unspecified) {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "key_compromise",
        CrlReason::CaCompromise => "ca_compromise",
        CrlReason::AffiliationChanged => "affiliation_changed",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessation_of_operation",
        CrlReason::CertificateHold => "certificate_hold",
        CrlReason::RemoveFromCRL => "remove_from_crl",
        CrlReason::PrivilegeWithdrawn => "privilege_withdrawn",
        CrlReason::AaCompromise => "aa_compromise",
    }
}

/// The signed bytes, as received: the first element of `BasicOCSPResponse`.
fn tbs_response_data(basic: &[u8]) -> Option<&[u8]> {
    let mut r = SliceReader::new(basic).ok()?;
    Header::decode(&mut r).ok()?;
    r.tlv_bytes().ok()
}

/// Go's `Certificate.CheckSignature` as `ocsp.ParseResponse` uses it on the
/// first embedded certificate. The algorithms Go accepts are those of its
/// OCSP package: RSA PKCS#1 v1.5 and ECDSA with SHA-1/256/384/512. Where ring
/// cannot check what Go can (ECDSA with SHA-1 or SHA-512, curves other than
/// P-256 and P-384), the response is taken as Go would most likely take it.
fn signed_by(cert: &Certificate, alg: &ObjectIdentifier, msg: &[u8], signature: &[u8]) -> bool {
    const RSA_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    const EC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    const SHA1_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
    const SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    const SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    const SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    const ECDSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key = spki.subject_public_key.raw_bytes();
    let check = |v: &'static dyn VerificationAlgorithm| {
        sig::UnparsedPublicKey::new(v, key)
            .verify(msg, signature)
            .is_ok()
    };
    let rsa = spki.algorithm.oid == RSA_KEY;
    let curve = if spki.algorithm.oid == EC_KEY {
        spki.algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    } else {
        None
    };
    let ecdsa = |on_p256: &'static dyn VerificationAlgorithm,
                 on_p384: &'static dyn VerificationAlgorithm| match curve {
        Some(c) if c == P256 => check(on_p256),
        Some(c) if c == P384 => check(on_p384),
        Some(_) => true,
        None => false,
    };
    match *alg {
        // Go wants RSA keys of 1024 bits or more, as these do (ring has
        // SHA-384 from 2048 bits only).
        SHA1_RSA => rsa && check(&sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY),
        SHA256_RSA => rsa && check(&sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY),
        SHA384_RSA => rsa && check(&sig::RSA_PKCS1_2048_8192_SHA384),
        SHA512_RSA => rsa && check(&sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY),
        ECDSA_SHA256 => ecdsa(&sig::ECDSA_P256_SHA256_ASN1, &sig::ECDSA_P384_SHA256_ASN1),
        ECDSA_SHA384 => ecdsa(&sig::ECDSA_P256_SHA384_ASN1, &sig::ECDSA_P384_SHA384_ASN1),
        ECDSA_SHA1 | ECDSA_SHA512 => curve.is_some(),
        // MD2/MD5 with RSA, DSA, RSA-PSS, Ed25519, ...: Go refuses them.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_or_garbage_is_no_response() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"not DER at all"), None);
        // A successful status without responseBytes (Go: bad response type).
        assert_eq!(parse(&[0x30, 0x03, 0x0a, 0x01, 0x00]), None);
        // tryLater, as Go's ocsp.TryLaterErrorResponse.
        assert_eq!(parse(&[0x30, 0x03, 0x0a, 0x01, 0x03]), None);
        // Truncated, and with trailing bytes.
        assert_eq!(parse(&[0x30, 0x05, 0x0a, 0x01, 0x00]), None);
        assert_eq!(parse(&[0x30, 0x03, 0x0a, 0x01, 0x00, 0x00]), None);
    }

    #[test]
    fn k6_reason_names() {
        assert_eq!(reason_name(None), "unspecified");
        assert_eq!(
            reason_name(Some(CrlReason::KeyCompromise)),
            "key_compromise"
        );
        assert_eq!(
            reason_name(Some(CrlReason::CessationOfOperation)),
            "cessation_of_operation"
        );
        assert_eq!(reason_name(Some(CrlReason::AaCompromise)), "aa_compromise");
    }

    #[test]
    fn go_zero_time_is_year_one() {
        // Years 1 to 1969: 365 days each and 477 leap days.
        assert_eq!(GO_ZERO_TIME, -(1969 * 365 + 477) * 86_400);
    }
}
