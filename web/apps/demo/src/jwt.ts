/** The claims of an access token this page displays (decoded, not verified: display only). */
export interface Claims {
  sub?: string;
  sid?: string;
  act_org?: string | null;
  org_role?: string | null;
  exp?: number;
  jti?: string;
}

/** The payload of a JWT, without checking its signature. */
export function decodeClaims(jwt: string): Claims {
  const part = jwt.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Claims;
}
