//! Authio as a SAML 2.0 service provider (issue 20): what an organization's SAML
//! connection needs, and nothing else.
//!
//! - [`parse_metadata`]: the identity provider's metadata (an `EntityDescriptor` with an
//!   `IDPSSODescriptor`): its entity id, its HTTP-Redirect single sign-on URL and at
//!   least one signing certificate, or why it cannot be used.
//! - [`authn_request_url`]: where the browser goes to sign in (HTTP-Redirect binding, an
//!   unsigned `AuthnRequest` with an id of its own).
//! - [`verify_response`]: a `SAMLResponse` (HTTP-POST binding) checked by samael over
//!   libxmlsec1: the signature by one of the metadata's certificates (RSA or ECDSA with
//!   SHA-256 or stronger; only what the signature covers is read), the issuer, the
//!   status, the destination and recipient (the ACS URL), the audience (the SP's entity
//!   id), `InResponseTo` (the request's id), the time conditions (three minutes' skew).
//!   The replay cache is the caller's (the assertion's id and expiry are returned).
//! - [`sp_metadata`]: the service provider's own metadata, for the identity provider.
//!
//! samael needs C libraries to build, so it sits behind the `xmlsec` feature; without
//! it every operation but [`sp_metadata`] answers [`SamlError::Unavailable`].
use chrono::{DateTime, Utc};

/// The identity provider, as read from its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Idp {
    pub entity_id: String,
    /// The `SingleSignOnService` of the HTTP-Redirect binding.
    pub sso_url: String,
    /// Signing certificates (base64 DER, as in the metadata).
    pub certificates: Vec<String>,
}

/// The service provider's side of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Sp<'a> {
    pub entity_id: &'a str,
    /// The assertion consumer service (HTTP-POST).
    pub acs_url: &'a str,
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq)]
pub struct Asserted {
    /// The assertion's `ID` (the replay cache's key).
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// The address: an `email`, `mail` or the claims-URI email attribute, else an
    /// emailAddress-format `NameID`.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// When the assertion stops being acceptable (its latest `NotOnOrAfter`, plus skew):
    /// how long the replay cache must keep its id.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlError {
    /// This build has no SAML (the `xmlsec` feature is off).
    Unavailable,
    /// The metadata cannot be used (why).
    Metadata(String),
    /// The response is refused (why).
    Response(String),
}

impl std::fmt::Display for SamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamlError::Unavailable => f.write_str("this build of Authio has no SAML support (feature saml)"),
            SamlError::Metadata(why) => write!(f, "the identity provider's metadata: {why}"),
            SamlError::Response(why) => write!(f, "the SAML response: {why}"),
        }
    }
}

impl std::error::Error for SamlError {}

/// Whether this build speaks SAML.
pub const AVAILABLE: bool = cfg!(feature = "xmlsec");

/// The longest metadata document accepted.
pub const MAX_METADATA_LEN: usize = 256 * 1024;
/// The longest `SAMLResponse` accepted (base64).
pub const MAX_RESPONSE_LEN: usize = 512 * 1024;

#[cfg(feature = "xmlsec")]
/// The attributes that carry an email address, by `Name` or `FriendlyName`.
const EMAIL_ATTRIBUTES: &[&str] = &[
    "email",
    "mail",
    "emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
];
#[cfg(feature = "xmlsec")]
const FIRST_NAME_ATTRIBUTES: &[&str] = &[
    "givenname",
    "firstname",
    "first_name",
    "urn:oid:2.5.4.42",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
];
#[cfg(feature = "xmlsec")]
const LAST_NAME_ATTRIBUTES: &[&str] = &[
    "sn",
    "surname",
    "lastname",
    "last_name",
    "urn:oid:2.5.4.4",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
];
const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
#[cfg(feature = "xmlsec")]
const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

#[cfg(feature = "xmlsec")]
/// SAML never needs a document type declaration; refusing one keeps entity expansion
/// out of every parser downstream.
fn refuse_doctype(xml: &str, what: &str) -> Result<(), String> {
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(format!("{what} carries a DOCTYPE or ENTITY declaration"));
    }
    Ok(())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The service provider's metadata: no signed requests, signed assertions wanted, the
/// ACS by HTTP-POST, email-address name ids preferred.
pub fn sp_metadata(sp: Sp<'_>) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:NameIDFormat>{format}</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" "#,
            r#"Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#,
            "\n"
        ),
        entity = xml_escape(sp.entity_id),
        format = EMAIL_FORMAT,
        acs = xml_escape(sp.acs_url),
    )
}

#[cfg(feature = "xmlsec")]
fn attribute_matches(names: &[&str], name: Option<&str>, friendly: Option<&str>) -> bool {
    [name, friendly].into_iter().flatten().any(|n| names.iter().any(|k| k.eq_ignore_ascii_case(n)))
}

#[cfg(feature = "xmlsec")]
mod imp {
    use super::*;
    use samael::crypto::AllowedSignatureAlgorithm as Alg;
    use samael::metadata::EntityDescriptor;
    use samael::service_provider::ServiceProviderBuilder;

    pub fn descriptor(xml: &str) -> Result<EntityDescriptor, String> {
        if xml.len() > MAX_METADATA_LEN {
            return Err(format!("larger than {MAX_METADATA_LEN} bytes"));
        }
        refuse_doctype(xml, "the metadata")?;
        xml.parse::<EntityDescriptor>().map_err(|e| format!("not a SAML EntityDescriptor: {e}"))
    }

    pub fn parse_metadata(xml: &str) -> Result<Idp, SamlError> {
        let ed = descriptor(xml).map_err(SamlError::Metadata)?;
        let bad = |why: &str| SamlError::Metadata(why.to_string());
        let entity_id = ed.entity_id.clone().filter(|e| !e.is_empty()).ok_or_else(|| bad("no entityID"))?;
        let idp = ed
            .idp_sso_descriptors
            .as_ref()
            .and_then(|d| d.first())
            .ok_or_else(|| bad("no IDPSSODescriptor (is it an identity provider's?)"))?;
        let sso_url = idp
            .single_sign_on_services
            .iter()
            .find(|e| e.binding == REDIRECT_BINDING)
            .map(|e| e.location.clone())
            .ok_or_else(|| bad("no SingleSignOnService with the HTTP-Redirect binding"))?;
        if !(sso_url.starts_with("https://") || sso_url.starts_with("http://")) {
            return Err(bad("the SingleSignOnService location is not an http(s) URL"));
        }
        let certificates: Vec<String> = idp
            .key_descriptors
            .iter()
            .filter(|k| k.key_use.as_deref().is_none_or(|u| u == "signing"))
            .filter_map(|k| k.key_info.x509_data.as_ref())
            .flat_map(|d| d.certificates.iter())
            .map(|c| c.split_whitespace().collect::<String>())
            .collect();
        if certificates.is_empty() {
            return Err(bad("no signing certificate (KeyDescriptor with X509Certificate)"));
        }
        let sp = ServiceProviderBuilder::default()
            .entity_id(Some("probe".to_string()))
            .idp_metadata(ed)
            .build()
            .map_err(|e| SamlError::Metadata(e.to_string()))?;
        sp.idp_signing_certs().map_err(|e| SamlError::Metadata(format!("a signing certificate: {e}")))?;
        Ok(Idp { entity_id, sso_url, certificates })
    }

    fn provider(metadata: &str, sp: Sp<'_>) -> Result<samael::service_provider::ServiceProvider, String> {
        let ed = descriptor(metadata)?;
        let provider = ServiceProviderBuilder::default()
            .entity_id(Some(sp.entity_id.to_string()))
            .acs_url(Some(sp.acs_url.to_string()))
            .metadata_url(None::<String>)
            .slo_url(None::<String>)
            .idp_metadata(ed)
            .authn_name_id_format(Some(EMAIL_FORMAT.to_string()))
            .max_issue_delay(chrono::Duration::minutes(5))
            .max_clock_skew(chrono::Duration::minutes(3))
            .allowed_signature_algorithms(Some(vec![
                Alg::RsaSha256,
                Alg::RsaSha384,
                Alg::RsaSha512,
                Alg::EcdsaSha256,
                Alg::EcdsaSha384,
                Alg::EcdsaSha512,
            ]))
            .build()
            .map_err(|e| e.to_string())?;
        // samael verifies no signature at all when the metadata names no signing
        // certificate: never let such a provider through, whatever was checked before.
        match provider.idp_signing_certs() {
            Ok(Some(certs)) if !certs.is_empty() => Ok(provider),
            _ => Err("no usable signing certificate".into()),
        }
    }

    pub fn authn_request_url(
        metadata: &str,
        sp: Sp<'_>,
        request_id: &str,
        relay_state: &str,
    ) -> Result<String, SamlError> {
        let provider = provider(metadata, sp).map_err(SamlError::Metadata)?;
        let sso_url = provider
            .sso_binding_location(REDIRECT_BINDING)
            .ok_or_else(|| SamlError::Metadata("no SingleSignOnService with the HTTP-Redirect binding".into()))?;
        let mut request = provider
            .make_authentication_request(&sso_url)
            .map_err(|e| SamlError::Metadata(format!("the AuthnRequest: {e}")))?;
        request.id = request_id.to_string();
        let url = request
            .redirect(relay_state)
            .map_err(|e| SamlError::Metadata(format!("the AuthnRequest: {e}")))?
            .ok_or_else(|| SamlError::Metadata("the AuthnRequest has no destination".into()))?;
        Ok(url.to_string())
    }

    pub fn verify_response(
        metadata: &str,
        sp: Sp<'_>,
        saml_response: &str,
        request_id: &str,
    ) -> Result<Asserted, SamlError> {
        let refuse = |why: String| SamlError::Response(why);
        if saml_response.len() > MAX_RESPONSE_LEN {
            return Err(refuse(format!("larger than {MAX_RESPONSE_LEN} bytes")));
        }
        use base64::Engine;
        let compact: String = saml_response.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| refuse("SAMLResponse is not base64".into()))?;
        let xml = String::from_utf8(bytes).map_err(|_| refuse("SAMLResponse is not UTF-8 XML".into()))?;
        refuse_doctype(&xml, "the response").map_err(refuse)?;
        let provider = provider(metadata, sp).map_err(SamlError::Metadata)?;
        let assertion = provider.parse_xml_response(&xml, Some(&[request_id])).map_err(|e| refuse(describe(&e)))?;
        let subject = assertion.subject.as_ref().and_then(|s| s.name_id.as_ref());
        let name_id = subject.map(|n| n.value.trim().to_string()).filter(|v| !v.is_empty());
        let name_id = name_id.ok_or_else(|| refuse("the assertion has no NameID".into()))?;
        let name_id_format = subject.and_then(|n| n.format.clone());
        let attrs = assertion.attribute_statements.iter().flatten().flat_map(|s| s.attributes.iter());
        let first_value = |names: &[&str]| {
            attrs
                .clone()
                .filter(|a| attribute_matches(names, a.name.as_deref(), a.friendly_name.as_deref()))
                .flat_map(|a| a.values.iter())
                .filter_map(|v| v.value.as_deref())
                .map(str::trim)
                .find(|v| !v.is_empty())
                .map(str::to_string)
        };
        let email = first_value(EMAIL_ATTRIBUTES)
            .or_else(|| (name_id_format.as_deref() == Some(EMAIL_FORMAT)).then(|| name_id.clone()));
        // The latest moment any part of the assertion allows; without one, the issue
        // delay bounds it.
        let skew = chrono::Duration::minutes(3);
        let mut until = assertion.conditions.as_ref().and_then(|c| c.not_on_or_after);
        for c in assertion.subject.iter().flat_map(|s| s.subject_confirmations.iter().flatten()) {
            if let Some(t) = c.subject_confirmation_data.as_ref().and_then(|d| d.not_on_or_after) {
                until = Some(until.map_or(t, |u| u.max(t)));
            }
        }
        let expires_at = until.unwrap_or(assertion.issue_instant + chrono::Duration::minutes(5)) + skew;
        Ok(Asserted {
            assertion_id: assertion.id.clone(),
            name_id,
            name_id_format,
            email,
            first_name: first_value(FIRST_NAME_ATTRIBUTES),
            last_name: first_value(LAST_NAME_ATTRIBUTES),
            expires_at,
        })
    }

    /// samael's refusal, in words for the application (no XML echoed back).
    fn describe(e: &samael::service_provider::Error) -> String {
        use samael::service_provider::Error as E;
        match e {
            E::FailedToValidateSignature => {
                "the signature does not verify with the identity provider's certificate (or nothing is signed)".into()
            }
            E::CryptoXmlError(_) | E::FailedToParseSamlResponse(_) | E::FailedToParseSamlAssertion(_) => {
                "the response is not a well-formed SAML response".into()
            }
            other => other.to_string(),
        }
    }
}

/// Read an identity provider's metadata.
pub fn parse_metadata(xml: &str) -> Result<Idp, SamlError> {
    #[cfg(feature = "xmlsec")]
    return imp::parse_metadata(xml);
    #[cfg(not(feature = "xmlsec"))]
    {
        let _ = xml;
        Err(SamlError::Unavailable)
    }
}

/// A new AuthnRequest id: 160 random bits (samael's own are 32; SAML core 1.3.4 wants
/// collisions no likelier than 2^-128), starting with `_` as an xs:ID may.
pub fn new_request_id() -> String {
    let random: [u8; 20] = rand::random();
    std::iter::once("_".to_string()).chain(random.iter().map(|b| format!("{b:02x}"))).collect()
}

/// The URL that starts a sign-in at the identity provider of `metadata`: an AuthnRequest
/// with the id `request_id` (the response must answer it; [`new_request_id`]) and
/// `relay_state`, by HTTP-Redirect.
pub fn authn_request_url(metadata: &str, sp: Sp<'_>, request_id: &str, relay_state: &str) -> Result<String, SamlError> {
    #[cfg(feature = "xmlsec")]
    return imp::authn_request_url(metadata, sp, request_id, relay_state);
    #[cfg(not(feature = "xmlsec"))]
    {
        let _ = (metadata, sp, request_id, relay_state);
        Err(SamlError::Unavailable)
    }
}

/// Verify a base64 `SAMLResponse` from the identity provider of `metadata`, answering
/// the request `request_id`.
pub fn verify_response(
    metadata: &str,
    sp: Sp<'_>,
    saml_response: &str,
    request_id: &str,
) -> Result<Asserted, SamlError> {
    #[cfg(feature = "xmlsec")]
    return imp::verify_response(metadata, sp, saml_response, request_id);
    #[cfg(not(feature = "xmlsec"))]
    {
        let _ = (metadata, sp, saml_response, request_id);
        Err(SamlError::Unavailable)
    }
}

#[cfg(all(test, feature = "xmlsec"))]
mod tests;

/// A test identity provider (samael's, signing with a fresh RSA key): for tests of this
/// crate and of the API, never for production.
#[cfg(feature = "xmlsec")]
pub mod testing;
