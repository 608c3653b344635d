"""JWT-secured credentials for the verifier tests: keys generated here, tokens signed by joserfc (or
assembled by hand for what no library should produce: ``alg: none``, a private ``jwk``, HMAC with a
public key as the secret)."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from certs.keys import did_web, did_web_url
from tests.verify.credentials import NOW, ob3_credential, stamp

ALGORITHMS = {"RS256": lambda: RSAKey.generate_key(2048), "ES256": lambda: ECKey.generate_key("P-256"),
              "EdDSA": lambda: OKPKey.generate_key("Ed25519")}


def b64(data: bytes | str) -> str:
    data = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def public_jwk(key) -> dict:
    return key.as_dict(private=False)


def sign(header: dict, payload: dict, key) -> str:
    """A compact JWS signed by joserfc with the header's own algorithm."""
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=[header["alg"]])


def assemble(header: dict, payload: dict, signature: bytes = b"") -> str:
    """A compact JWS put together by hand (for the tokens a verifier must refuse)."""
    return ".".join([b64(json.dumps(header)), b64(json.dumps(payload)), b64(signature)])


def numeric(moment: datetime) -> int:
    return int(moment.timestamp())


def vc_claims(credential: dict) -> dict:
    """OB 3.0 section 8.2: the credential in the ``vc`` claim and the registered claims that mirror it."""
    claims = {"iss": credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"],
              "jti": credential["id"], "sub": credential["credentialSubject"]["id"],
              "nbf": numeric(datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))),
              "vc": credential}
    if "validUntil" in credential:
        claims["exp"] = numeric(datetime.fromisoformat(credential["validUntil"].replace("Z", "+00:00")))
    return claims


def ob3_jwt_credential(issuer: str, **overrides) -> dict:
    """An OB 3.0 credential with whole-second dates (a NumericDate has no fraction), valid for a year."""
    return ob3_credential(issuer, **{"validUntil": stamp(NOW + timedelta(days=365)), **overrides})


class JwkIssuer:
    """A did:web issuer whose controller document lists ``JsonWebKey`` methods (VC-JOSE-COSE), one per
    algorithm, served by a tests.verify.credentials.Web."""

    def __init__(self, web, host: str = "jwt-issuer.example", name: str = "org-jwt"):
        self.did = did_web(host, "issuers", name)
        self.keys = {alg: make() for alg, make in ALGORITHMS.items()}
        self.document = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"],
            "id": self.did,
            "verificationMethod": [{"id": self.kid(alg), "type": "JsonWebKey", "controller": self.did,
                                    "publicKeyJwk": public_jwk(key)} for alg, key in self.keys.items()],
            "assertionMethod": [self.kid(alg) for alg in self.keys],
        }
        web.documents[did_web_url(self.did)] = self.document

    def kid(self, alg: str) -> str:
        return f"{self.did}#{alg.lower()}"

    def credential(self, **overrides) -> dict:
        return ob3_jwt_credential(self.did, **overrides)

    def ob3_jwt(self, alg: str = "RS256", credential: dict | None = None, **header) -> str:
        """OB 3.0 section 8.2: typ JWT, the credential in the vc claim."""
        credential = credential or self.credential()
        return sign({"alg": alg, "kid": self.kid(alg), "typ": "JWT", **header}, vc_claims(credential),
                    self.keys[alg])

    def vc_jwt(self, alg: str = "ES256", credential: dict | None = None, claims: dict | None = None,
               **header) -> str:
        """VC-JOSE-COSE: typ vc+jwt, the credential as the payload."""
        payload = {**(credential or self.credential()), **(claims or {})}
        return sign({"alg": alg, "kid": self.kid(alg), "typ": "vc+jwt", **header}, payload, self.keys[alg])
