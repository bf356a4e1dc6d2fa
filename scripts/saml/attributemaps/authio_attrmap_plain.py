# Attribute names as an administrator types them (Okta, OneLogin, Google Workspace:
# "email", "firstName", ...) with the basic name format. Loaded by scripts/saml/idp.py
# (pysaml2's attribute_map_dir), beside the URI and ADFS maps pysaml2 ships.
NAME_FORMAT_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
_NAMES = ["email", "mail", "emailaddress", "firstName", "lastName", "displayName"]
MAP = {
    "identifier": NAME_FORMAT_BASIC,
    "fro": {n: n for n in _NAMES},
    "to": {n: n for n in _NAMES},
}
