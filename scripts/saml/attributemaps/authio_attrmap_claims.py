# pysaml2's ADFS 2.0 map (emailAddress -> http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress,
# unspecified name format), as ADFS and Entra ID name attributes.
from saml2.attributemaps.adfs_v20 import MAP  # noqa: F401
