//! The service provider against samael's test identity provider: the good response,
//! then each check broken on its own.
use super::testing::{read_request, TestIdp};
use super::*;

const SP: Sp<'static> =
    Sp { entity_id: "https://sp.example/v1/auth/saml/conn_1", acs_url: "https://sp.example/v1/auth/saml/acs" };

fn idp() -> TestIdp {
    TestIdp::new("https://idp.example/metadata", "https://idp.example/sso")
}

fn request(idp: &TestIdp) -> String {
    let id = new_request_id();
    assert!(id.len() == 41 && id.starts_with('_'), "160 random bits: {id}");
    let url = authn_request_url(&idp.metadata(), SP, &id, &format!("relay-{id}")).unwrap();
    assert!(url.starts_with("https://idp.example/sso?SAMLRequest="), "{url}");
    let (read, relay) = read_request(&url).unwrap();
    assert_eq!((read.as_str(), relay), (id.as_str(), format!("relay-{id}")));
    id
}

#[test]
fn metadata_is_read_and_checked() {
    let idp = idp();
    let read = parse_metadata(&idp.metadata()).unwrap();
    assert_eq!(read.entity_id, "https://idp.example/metadata");
    assert_eq!(read.sso_url, "https://idp.example/sso");
    assert_eq!(read.certificates, vec![idp.certificate()]);
    let no_cert = idp.metadata().replace(&idp.certificate(), "").replace("<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>", "");
    assert!(matches!(parse_metadata(&no_cert), Err(SamlError::Metadata(w)) if w.contains("signing certificate")));
    // Whatever let it in, metadata without a signing certificate never verifies a
    // response (samael would check no signature at all).
    let id = request(&idp);
    let unsigned = idp.respond(&testing::Claims { signed: false, ..idp.claims(SP, &id, "ada@acme.example") });
    assert!(
        matches!(verify_response(&no_cert, SP, &unsigned, &id), Err(SamlError::Metadata(w)) if w.contains("signing certificate"))
    );
    let dtd = format!("<!DOCTYPE x [<!ENTITY e \"x\">]>{}", idp.metadata());
    assert!(matches!(parse_metadata(&dtd), Err(SamlError::Metadata(w)) if w.contains("DOCTYPE")));
    assert!(matches!(parse_metadata("<nope/>"), Err(SamlError::Metadata(_))));
    let sp = sp_metadata(SP);
    assert!(sp.contains(r#"entityID="https://sp.example/v1/auth/saml/conn_1""#), "{sp}");
    assert!(sp.contains(r#"Location="https://sp.example/v1/auth/saml/acs""#), "{sp}");
}

#[test]
fn a_signed_response_is_accepted_and_read() {
    let idp = idp();
    let id = request(&idp);
    let got =
        verify_response(&idp.metadata(), SP, &idp.respond(&idp.claims(SP, &id, "ada@acme.example")), &id).unwrap();
    assert_eq!(got.email.as_deref(), Some("ada@acme.example"));
    assert_eq!(got.first_name.as_deref(), Some("Ada"));
    assert_eq!(got.last_name.as_deref(), Some("Lovelace"));
    assert!(got.expires_at > Utc::now());
    assert!(!got.assertion_id.is_empty());
    // An email attribute wins over an opaque NameID.
    let mut c = idp.claims(SP, &id, "opaque-123");
    c.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into();
    c.attributes.push((
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".into(),
        "grace@acme.example".into(),
    ));
    let got = verify_response(&idp.metadata(), SP, &idp.respond(&c), &id).unwrap();
    assert_eq!((got.name_id.as_str(), got.email.as_deref()), ("opaque-123", Some("grace@acme.example")));
}

#[test]
fn each_check_refuses_on_its_own() {
    let idp = idp();
    let id = request(&idp);
    let md = idp.metadata();
    let refused = |c: &testing::Claims| match verify_response(&md, SP, &idp.respond(c), &id) {
        Err(SamlError::Response(why)) => why,
        other => panic!("accepted: {other:?}"),
    };
    let good = idp.claims(SP, &id, "ada@acme.example");
    let mut c = good.clone();
    c.signed = false;
    assert!(refused(&c).contains("signature"), "unsigned");
    let mut c = good.clone();
    c.sha1 = true;
    assert!(refused(&c).contains("signature"), "SHA-1");
    let mut c = good.clone();
    c.audience = "https://other-sp.example".into();
    assert!(refused(&c).to_lowercase().contains("audience"), "audience");
    let mut c = good.clone();
    c.recipient = "https://other-sp.example/acs".into();
    c.destination = c.recipient.clone();
    refused(&c);
    let mut c = good.clone();
    c.request_id = "id-of-another-request".into();
    refused(&c);
    let mut c = good.clone();
    c.not_on_or_after = Utc::now() - chrono::Duration::minutes(10);
    refused(&c);
    let mut c = good.clone();
    c.issuer = "https://evil.example".into();
    refused(&c);
    let mut c = good.clone();
    c.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
    refused(&c);
    // Signed by another identity provider's key.
    let other = TestIdp::new(&idp.entity_id, &idp.sso_url);
    assert!(matches!(verify_response(&md, SP, &other.respond(&good), &id), Err(SamlError::Response(_))));
    // Tampered after signing: the email changed in the signed XML.
    let xml = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, idp.respond(&good)).unwrap(),
    )
    .unwrap();
    let tampered = xml.replace("ada@acme.example", "eve@acme.example");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tampered);
    assert!(matches!(verify_response(&md, SP, &b64, &id), Err(SamlError::Response(w)) if w.contains("signature")));
    assert!(matches!(verify_response(&md, SP, "%%%", &id), Err(SamlError::Response(_))));
}
