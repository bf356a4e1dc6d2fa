# pysaml2's own URI map (mail -> urn:oid:0.9.2342.19200300.100.1.3, givenName, sn, ...),
# as Shibboleth and most academic IdPs name attributes.
from saml2.attributemaps.saml_uri import MAP  # noqa: F401
