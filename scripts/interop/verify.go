// Verify an Authio access token with stock golang-jwt (Debian's golang-github-golang-jwt-jwt-dev,
// v4), using only the published JWKS.
//
//	verify [-expect-alg ALG] [-expect-sub SUB] [-tampered] TOKEN ISSUER AUDIENCE JWKS_URI
//
// Without -tampered: fetch JWKS_URI, take the key for the token's kid (OKP/Ed25519 or
// EC/P-256; golang-jwt reads no JWKS itself, so the key is built from the JWK's x and y
// with the standard library), parse with the one allowed method, and require a valid
// signature, `exp` in the future, `iss` and `aud` as given and a `sub`; print the claims;
// exit 0 when valid.
//
// With -tampered: flip a real bit of the signature's last base64url character and exit 0
// only when golang-jwt rejects the token for its signature.
//
// Part of scripts/interop-jwt, built there in GOPATH mode against /usr/share/gocode.
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func fetchKeys(uri string) []jwk {
	client := http.Client{Timeout: 30 * time.Second}
	res, err := client.Get(uri)
	if err != nil {
		fail("GET %s: %v", uri, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		fail("GET %s answered %d", uri, res.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		fail("the JWKS is not JSON: %v", err)
	}
	return set.Keys
}

func coordinate(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// publicKey is the key a JWK describes, with the golang-jwt method name it signs with.
func publicKey(k jwk) (interface{}, string, error) {
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, "", fmt.Errorf("bad Ed25519 x")
		}
		return ed25519.PublicKey(x), "EdDSA", nil
	case k.Kty == "EC" && k.Crv == "P-256":
		x, errX := coordinate(k.X)
		y, errY := coordinate(k.Y)
		if errX != nil || errY != nil {
			return nil, "", fmt.Errorf("bad P-256 coordinates")
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
		if !pub.Curve.IsOnCurve(x, y) {
			return nil, "", fmt.Errorf("the P-256 point is not on the curve")
		}
		return pub, "ES256", nil
	}
	return nil, "", fmt.Errorf("unsupported key %s/%s", k.Kty, k.Crv)
}

func tamper(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] == "" {
		fail("not a signed JWT")
	}
	sig := parts[2]
	last := strings.IndexByte(b64url, sig[len(sig)-1])
	parts[2] = sig[:len(sig)-1] + string(b64url[last^32])
	return strings.Join(parts, ".")
}

func main() {
	expectAlg := flag.String("expect-alg", "", "the header alg the token must have")
	expectSub := flag.String("expect-sub", "", "the sub the token must have")
	tampered := flag.Bool("tampered", false, "alter the signature and expect a rejection")
	flag.Parse()
	if flag.NArg() != 4 {
		fail("usage: verify [-expect-alg ALG] [-expect-sub SUB] [-tampered] TOKEN ISSUER AUDIENCE JWKS_URI")
	}
	token, issuer, audience, jwksURI := flag.Arg(0), flag.Arg(1), flag.Arg(2), flag.Arg(3)
	if *tampered {
		token = tamper(token)
	}
	keys := fetchKeys(jwksURI)
	var method string
	parser := jwt.Parser{}
	parsed, err := parser.Parse(token, func(t *jwt.Token) (interface{}, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range keys {
			if k.Kid == kid {
				pub, m, err := publicKey(k)
				if err != nil {
					return nil, err
				}
				if t.Method.Alg() != m {
					return nil, fmt.Errorf("the token says %s, its key is for %s", t.Method.Alg(), m)
				}
				method = m
				return pub, nil
			}
		}
		return nil, fmt.Errorf("no JWKS key has kid %q", kid)
	})
	if *tampered {
		var ve *jwt.ValidationError
		if errors.As(err, &ve) && ve.Errors&jwt.ValidationErrorSignatureInvalid != 0 {
			fmt.Printf("golang-jwt rejected the altered token: %v\n", err)
			return
		}
		fail("expected a signature rejection, got: %v", err)
	}
	if err != nil {
		fail("golang-jwt rejected the token: %v", err)
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok || !parsed.Valid {
		fail("the token is not valid")
	}
	if *expectAlg != "" && method != *expectAlg {
		fail("alg %s, expected %s", method, *expectAlg)
	}
	now := time.Now().Unix()
	if !claims.VerifyExpiresAt(now, true) {
		fail("exp is missing or past")
	}
	if !claims.VerifyIssuer(issuer, true) {
		fail("iss is %v, expected %s", claims["iss"], issuer)
	}
	if !claims.VerifyAudience(audience, true) {
		fail("aud is %v, expected %s", claims["aud"], audience)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" || (*expectSub != "" && sub != *expectSub) {
		fail("sub is %q, expected %q", sub, *expectSub)
	}
	out, _ := json.Marshal(claims)
	fmt.Printf("golang-jwt verified %s: %s\n", method, out)
}
