//! A test identity provider: samael's key and certificate generation and xmlsec signing,
//! with the assertion's every part settable so tests can break one at a time. For tests
//! only (the API's integration tests and this crate's own).
use crate::Sp;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::idp::{CertificateParams, IdentityProvider, KeyType, Rsa};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef, AuthnStatement, Conditions,
    Issuer, Response, Status, StatusCode, Subject, SubjectConfirmation, SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;
use std::io::Read;

pub struct TestIdp {
    key: IdentityProvider,
    cert: CertificateDer,
    pub entity_id: String,
    pub sso_url: String,
}

/// One response's contents; [`TestIdp::claims`] fills in what a good one says.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub request_id: String,
    pub name_id: String,
    pub name_id_format: String,
    pub attributes: Vec<(String, String)>,
    pub audience: String,
    pub recipient: String,
    pub destination: String,
    pub not_on_or_after: DateTime<Utc>,
    pub status: String,
    /// Sign the response (the assertion inside is covered).
    pub signed: bool,
    /// Digest with SHA-1 (as old identity providers do; refused).
    pub sha1: bool,
}

impl TestIdp {
    /// A new identity provider with a fresh RSA-2048 key and a self-signed certificate.
    pub fn new(entity_id: &str, sso_url: &str) -> TestIdp {
        let key = IdentityProvider::generate_new(KeyType::Rsa(Rsa::Rsa2048)).expect("RSA key");
        let params = CertificateParams {
            common_name: "authio test idp",
            issuer_name: "authio test idp",
            days_until_expiration: 30,
        };
        let cert = key.create_certificate(&params).expect("certificate");
        TestIdp { key, cert, entity_id: entity_id.into(), sso_url: sso_url.into() }
    }

    /// The certificate, base64 DER.
    pub fn certificate(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.cert.der_data())
    }

    /// The identity provider's metadata.
    pub fn metadata(&self) -> String {
        format!(
            concat!(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{}">"#,
                r#"<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
                r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{}"/>"#,
                r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
            ),
            self.entity_id,
            self.certificate(),
            self.sso_url
        )
    }

    /// What a good response to `request_id` for `email` says.
    pub fn claims(&self, sp: Sp<'_>, request_id: &str, email: &str) -> Claims {
        Claims {
            issuer: self.entity_id.clone(),
            request_id: request_id.into(),
            name_id: email.into(),
            name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
            attributes: vec![("givenName".into(), "Ada".into()), ("sn".into(), "Lovelace".into())],
            audience: sp.entity_id.into(),
            recipient: sp.acs_url.into(),
            destination: sp.acs_url.into(),
            not_on_or_after: Utc::now() + Duration::minutes(5),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            signed: true,
            sha1: false,
        }
    }

    /// The base64 `SAMLResponse` saying `c`.
    pub fn respond(&self, c: &Claims) -> String {
        let issuer = Issuer { value: Some(c.issuer.clone()), ..Default::default() };
        let response_id = samael::crypto::gen_saml_response_id();
        let assertion = Assertion {
            id: samael::crypto::gen_saml_assertion_id(),
            issue_instant: Utc::now(),
            version: "2.0".into(),
            issuer: issuer.clone(),
            signature: None,
            subject: Some(Subject {
                name_id: Some(SubjectNameID { format: Some(c.name_id_format.clone()), value: c.name_id.clone() }),
                subject_confirmations: Some(vec![SubjectConfirmation {
                    method: Some("urn:oasis:names:tc:SAML:2.0:cm:bearer".into()),
                    name_id: None,
                    subject_confirmation_data: Some(SubjectConfirmationData {
                        not_before: None,
                        not_on_or_after: Some(c.not_on_or_after),
                        recipient: Some(c.recipient.clone()),
                        in_response_to: Some(c.request_id.clone()),
                        address: None,
                        content: None,
                    }),
                }]),
            }),
            conditions: Some(Conditions {
                not_before: Some(Utc::now() - Duration::minutes(1)),
                not_on_or_after: Some(c.not_on_or_after),
                audience_restrictions: Some(vec![AudienceRestriction { audience: vec![c.audience.clone()] }]),
                one_time_use: None,
                proxy_restriction: None,
            }),
            authn_statements: Some(vec![AuthnStatement {
                authn_instant: Some(Utc::now()),
                session_index: None,
                session_not_on_or_after: None,
                subject_locality: None,
                authn_context: Some(AuthnContext {
                    value: Some(AuthnContextClassRef {
                        value: Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into()),
                    }),
                }),
            }]),
            attribute_statements: Some(vec![AttributeStatement {
                attributes: c
                    .attributes
                    .iter()
                    .map(|(name, value)| Attribute {
                        friendly_name: None,
                        name: Some(name.clone()),
                        name_format: None,
                        values: vec![AttributeValue {
                            attribute_type: Some("xs:string".into()),
                            value: Some(value.clone()),
                        }],
                    })
                    .collect(),
            }]),
        };
        let response = Response {
            id: response_id.clone(),
            in_response_to: Some(c.request_id.clone()),
            version: "2.0".into(),
            issue_instant: Utc::now(),
            destination: Some(c.destination.clone()),
            consent: None,
            issuer: Some(issuer),
            signature: c.signed.then(|| {
                // samael's template digests with SHA-1, which the service provider refuses.
                let mut s = Signature::template(&response_id, &self.cert);
                s.signed_info.reference[0].digest_method.algorithm =
                    if c.sha1 { DigestAlgorithm::Sha1 } else { DigestAlgorithm::Sha256 };
                s
            }),
            status: Some(Status {
                status_code: StatusCode { value: Some(c.status.clone()) },
                status_message: None,
                status_detail: None,
            }),
            encrypted_assertion: None,
            assertion: Some(assertion),
        };
        let xml = response.to_string().expect("response XML");
        let xml = if c.signed {
            Crypto::sign_xml(xml.as_str(), &self.key.export_private_key_der().expect("key DER")).expect("signed XML")
        } else {
            xml
        };
        base64::engine::general_purpose::STANDARD.encode(xml)
    }
}

/// The `ID` and `RelayState` of the AuthnRequest in a redirect URL (HTTP-Redirect
/// binding), as the identity provider reads them.
pub fn read_request(redirect_url: &str) -> Option<(String, String)> {
    let url = url::Url::parse(redirect_url).ok()?;
    let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
    let deflated = base64::engine::general_purpose::STANDARD.decode(get("SAMLRequest")?).ok()?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice()).read_to_string(&mut xml).ok()?;
    let start = xml.find(" ID=\"")? + 5;
    let id = xml[start..].split('"').next()?.to_string();
    Some((id, get("RelayState").unwrap_or_default()))
}
