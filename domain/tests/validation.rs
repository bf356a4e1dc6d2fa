//! Input shapes the domain accepts.
use authio_domain::{is_valid_email, is_valid_slug, slugify};

#[test]
fn emails_we_can_store_and_deliver_to_are_valid() {
    for ok in [
        "a@b.co",
        "alice.smith+tag@example.com",
        "o'neil@mail.example.org",
        "x@sub-domain.example.io",
        "  padded@example.com  ",
    ] {
        assert!(is_valid_email(ok), "{ok}");
    }
}

#[test]
fn malformed_or_undeliverable_emails_are_invalid() {
    let long_label = format!("a@{}.com", "x".repeat(64));
    let long_local = format!("{}@example.com", "x".repeat(65));
    let too_long = format!("a@{}.com", ["abcdefghij"; 25].join("."));
    for bad in [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@com",
        "a@.com",
        "a@example.",
        "a@-example.com",
        "a@example-.com",
        "a@@example.com",
        "a b@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "\"quoted\"@example.com",
        "a@exa mple.com",
        "a@exämple.com",
        "a,b@example.com",
        "a@example.com\u{0}",
        long_label.as_str(),
        long_local.as_str(),
        too_long.as_str(),
    ] {
        assert!(!is_valid_email(bad), "{bad:?}");
    }
}

#[test]
fn slugs() {
    assert!(is_valid_slug("acme-cloud-2"));
    for bad in ["", "-a", "a-", "A", "a_b", "a b"] {
        assert!(!is_valid_slug(bad), "{bad:?}");
    }
    assert_eq!(slugify("  Acme, Inc. (EU)  "), "acme-inc-eu");
    assert_eq!(slugify("!!!"), "");
}
