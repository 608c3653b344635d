"""Credentials secured as a JWT (a compact JWS): the ``proof``, ``verification_method`` and ``issuer``
checks of a JWT-secured credential; the credential inside then goes through the same checks as any other.

Two encodings are read (both are what other implementations produce):

* **VC-JOSE-COSE** (VC 2.0, ``typ`` ``vc+jwt``): the JWS payload *is* the credential. JWT claims may
  sit beside its properties; ``exp`` / ``nbf`` then bound the signature, not the credential, and
  ``iss`` / ``jti`` / ``sub`` must not contradict ``issuer`` / ``id`` / ``credentialSubject.id``.
* **OB 3.0 §8.2 "JSON Web Token Proof Format"** (and VC 1.1 JWTs, ``typ`` ``JWT`` or none): the
  credential sits in the ``vc`` claim, and ``iss``, ``jti``, ``sub``, ``nbf``, ``exp`` stand for
  ``issuer.id``, ``id``, ``credentialSubject.id``, ``validFrom``, ``validUntil`` (``issuanceDate`` /
  ``expirationDate`` in VC 1.1). Each claim must agree with the property it stands for; a property the
  credential leaves out is taken from its claim, as both specifications say (so the validity check
  judges ``exp`` as ``validUntil``).

The signature is checked by joserfc with one algorithm allowed, the header's own ``alg`` once it passed
the allow-list below (asymmetric only: ``none`` and HMAC are refused, which also rules out the
"public key used as an HMAC secret" confusion). ``crit`` is refused whatever it lists: Sillage supports
no JWS extension, and RFC 7515 §4.1.11 makes a JWS with an unsupported critical extension invalid.

The key comes from ``kid`` (a did:key / did:jwk / did:web verification method, an https controller
document, JWK or JWK Set, all through the run's SSRF-guarded fetch) or from the ``jwk`` header. A key that can
sign is never accepted (a JWK with ``d`` or another private member, or a symmetric key). Whose key it
is decides the ``issuer`` check: a method's controller must be the issuer; a header ``jwk`` must be one
of the issuer's own assertion keys (its did:key or did:jwk, or a method of its controller document), since anyone
can put any key in a header; a bare JWK published at a URL must be on the issuer's origin.
"""
from __future__ import annotations

import copy
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from ..errors import BadgeError
from ..formats import MAX_PAYLOAD_BYTES, as_list, b64url, jws_segments, parse_json
from .report import Failure
from .session import _SKEW_SECONDS

# Asymmetric JWS algorithms (RFC 7518, RFC 8037, RFC 9864). OB 3.0 requires RS256; ES256 and EdDSA are
# what VC-JOSE-COSE implementations use.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA", "Ed25519")
MIN_RSA_BITS = 2048
# ``typ`` values (RFC 7515 §4.1.9: "application/" may be left out, compared case-insensitively).
CREDENTIAL_TYPES = ("vc+jwt", "vc+ld+json+jwt", "vc+ld+jwt")  # VC-JOSE-COSE, and its earlier drafts' names
PLAIN_TYPES = ("jwt",)
MEDIA_TYPES = tuple(f"application/{name}" for name in CREDENTIAL_TYPES + PLAIN_TYPES)
# What an EnvelopedVerifiableCredential's data: URL may declare (VC-JOSE-COSE, and the plain JWT type).
ENVELOPE_TYPES = (*CREDENTIAL_TYPES, "vc-ld+jwt", *PLAIN_TYPES)
# JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_JWKS_KEYS = 64
_COMPACT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_MAX_TOKEN_CHARS = (MAX_PAYLOAD_BYTES * 4) // 3 + 16 * 1024

# RFC 9864 prefers "Ed25519" to "EdDSA", and joserfc warns at each use; but "EdDSA" is what VC-JWTs use.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")


@dataclass(frozen=True)
class SecuredCredential:
    """A JWT as read, not yet verified: the token, its header and claims, and the credential it states
    (for the ``vc`` claim encoding: with the claims folded in where the credential leaves them out)."""

    token: str
    header: dict
    claims: dict
    credential: dict
    enveloped: bool  # True: VC-JOSE-COSE (payload = credential); False: the ``vc`` claim encoding


@dataclass(frozen=True)
class JwtKey:
    """A public key found for a JWT and what binds it to someone."""

    key: Any                  # joserfc Key
    id: str                   # kid, method id, URL, or the JWK thumbprint for a header key
    controller: str | None    # the controller document listing it for assertions, if any
    source: str               # "method", "url" (a JWK / JWK Set fetched) or "jwk" (the header)
    revoked: str | None = None
    expires: str | None = None


def looks_like_jwt(text: Any) -> bool:
    """A compact JWS; the signature may be empty (an unsecured ``alg: none`` JWT, read to be refused)."""
    return isinstance(text, str) and len(text) <= _MAX_TOKEN_CHARS and bool(_COMPACT.match(text.strip()))


def _decode(token: str) -> tuple[dict, Any]:
    """Header and payload of a compact JWS, unverified, read by ``badges.formats.jws_segments`` (the one
    reader of the compact form, shared with ``badges.read``); the payload parsed when it is JSON."""
    try:
        header, payload = jws_segments(token)
        return header, parse_json(payload) if payload.lstrip().startswith(b"{") else None
    except BadgeError as error:
        raise Failure("jwt_invalid", reason=error.message) from None


# -- reading ------------------------------------------------------------------------------------

def read_jwt(token: str) -> SecuredCredential:
    """Decode (not verify) a compact JWS carrying a credential; raises Failure for the ``parse`` check."""
    token = token.strip()
    header, payload = _decode(token)
    if not isinstance(payload, dict):
        raise Failure("jwt_invalid", reason="the payload is not a JSON object")
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise Failure("jwt_invalid", reason="typ is not a string")
    kind = _media_type(typ) if typ is not None else "jwt"
    if kind not in CREDENTIAL_TYPES + PLAIN_TYPES:
        raise Failure("jwt_unsupported_type", type=typ)
    for name in ("iss", "jti", "sub"):
        if name in payload and not isinstance(payload[name], str):
            raise Failure("jwt_invalid", reason=f"the claim {name} is not a string")
    for name in ("nbf", "exp", "iat"):
        if name in payload and _moment(payload[name]) is None:
            raise Failure("jwt_invalid", reason=f"the claim {name} is not a NumericDate")
    if "vp" in payload:
        raise Failure("jwt_unsupported_type", type="presentation (vp)")
    if "@context" in payload:
        if "vc" in payload:  # VC-JOSE-COSE: "The JWT Claim Names vc and vp MUST NOT be present."
            raise Failure("jwt_invalid", reason="a vc claim beside the credential itself")
        return SecuredCredential(token, header, payload, payload, enveloped=True)
    if kind in CREDENTIAL_TYPES:
        raise Failure("jwt_invalid", reason=f"typ {typ} needs the credential as the payload, not in a vc claim")
    if not isinstance(payload.get("vc"), dict):
        raise Failure("unsupported_document")
    return SecuredCredential(token, header, payload, _credential_from_claims(payload), enveloped=False)


def enveloped_token(document: Mapping) -> str | None:
    """The compact JWS of a VC 2.0 ``EnvelopedVerifiableCredential`` (``id``:
    ``data:application/vc+jwt,<token>``, percent-encoding allowed as in any data: URL), None for any
    other document; raises Failure for an envelope of another securing mechanism (SD-JWT, COSE) or
    encoding, which Sillage does not verify. The one reader of envelopes (``/api/v1/verify``, the page
    and the VC-API routes alike)."""
    if "EnvelopedVerifiableCredential" not in as_list(document.get("type")):
        return None
    media_type, comma, payload = str(document.get("id") or "").partition(",")
    if not comma or not media_type.lower().startswith("data:"):
        raise Failure("jwt_invalid", reason="the enveloped credential's id is not a data: URL")
    declared = media_type[len("data:"):]
    token = unquote_to_bytes(payload).decode("ascii", "replace").strip()
    if ";base64" in declared.lower() or _media_type(declared.split(";", 1)[0]) not in ENVELOPE_TYPES \
            or not looks_like_jwt(token):
        raise Failure("unsupported_format", format=declared[:60])
    return token


def _media_type(typ: str) -> str:
    value = typ.strip().lower()
    return value[len("application/"):] if value.startswith("application/") else value


def _moment(value: Any) -> datetime | None:
    """A NumericDate (seconds since the epoch, RFC 7519 §2) as a datetime, or None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_fields(credential: Mapping) -> tuple[str, str]:
    from .reading import is_vc1  # noqa: PLC0415

    return ("issuanceDate", "expirationDate") if is_vc1(credential) else ("validFrom", "validUntil")


def _credential_from_claims(claims: dict) -> dict:
    """The ``vc`` claim as a credential: OB 3.0 §8.2 ("Convert the value of the JWT Payload to an
    OpenBadgeCredential"; ``exp`` "MUST be used to set the value of the validUntil") and VC 1.1 §6.3.1
    (each registered claim sets its property). A property already present is kept: whether its claim
    agrees is the ``proof`` check's question."""
    credential = copy.deepcopy(claims["vc"])
    start, end = _date_fields(credential)
    if "jti" in claims and "id" not in credential:
        credential["id"] = claims["jti"]
    if "iss" in claims and "issuer" not in credential:
        from .reading import document_kind  # noqa: PLC0415

        # an Open Badge's issuer is a Profile object (its schema says so); any other VC's may be its id
        is_badge = document_kind(credential) == "ob3"
        credential["issuer"] = {"id": claims["iss"], "type": ["Profile"]} if is_badge else claims["iss"]
    subject = credential.get("credentialSubject")
    if "sub" in claims and isinstance(subject, dict) and "id" not in subject:
        subject["id"] = claims["sub"]
    for claim, field in (("nbf", start), ("exp", end)):
        if claim in claims and field not in credential:
            credential[field] = _stamp(_moment(claims[claim]))
    return credential


# -- the header -------------------------------------------------------------------------------------

def check_header(header: Mapping) -> None:
    """The header rules checked before any key is looked for; raises Failure (the ``proof`` check)."""
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Failure("jwt_alg_refused", alg=str(alg)[:40], allowed=", ".join(ALGORITHMS))
    if "crit" in header:
        names = header["crit"] if isinstance(header["crit"], list) else [header["crit"]]
        raise Failure("jwt_crit_unsupported", names=", ".join(str(name) for name in names)[:120] or "[]")
    if "b64" in header:  # RFC 7797 unencoded payloads: never a VC-JWT, and it changes what is signed
        raise Failure("jwt_crit_unsupported", names="b64")
    if "kid" in header and not isinstance(header["kid"], str):
        raise Failure("jwt_invalid", reason="kid is not a string")
    if "jwk" in header and not isinstance(header["jwk"], Mapping):
        raise Failure("jwt_invalid", reason="jwk is not a JSON object")
    if "kid" not in header and "jwk" not in header:
        raise Failure("jwt_no_key")


# -- keys ---------------------------------------------------------------------------------------------

def import_public_jwk(jwk: Any, where: str):
    """A joserfc key from a public JWK; a private or symmetric one is refused, whatever else it holds."""
    from joserfc import jwk as jose_jwk  # noqa: PLC0415
    from joserfc.errors import JoseError  # noqa: PLC0415

    if not isinstance(jwk, Mapping):
        raise Failure("invalid_key", reason=f"{where} is not a JSON object")
    if jwk.get("kty") == "oct" or any(member in jwk for member in PRIVATE_MEMBERS):
        raise Failure("jwt_private_key", where=where)
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        raise Failure("invalid_key", reason=f"{where}: unsupported key type {str(jwk.get('kty'))[:20]}")
    try:
        key = jose_jwk.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError) as exc:
        raise Failure("invalid_key", reason=f"{where}: {exc}") from None
    return _strong_enough(key, where)


def _strong_enough(key, where: str):
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    raw = key.raw_value
    if isinstance(raw, rsa.RSAPublicKey) and raw.key_size < MIN_RSA_BITS:
        raise Failure("invalid_key", reason=f"{where}: an RSA key of {raw.key_size} bits is too weak")
    return key


def _key_from_method(document: Mapping, vm_id: str) -> JwtKey:
    """The key of a verification method that :func:`proofs.resolve_method` found and authorised: a
    ``JsonWebKey`` (VC-JOSE-COSE's type; ``JsonWebKey2020`` before it) with ``publicKeyJwk``, or a
    Multikey / Ed25519VerificationKey2020 (a did:key) read by certs."""
    from joserfc.jwk import ECKey, OKPKey  # noqa: PLC0415

    from certs import keys  # noqa: PLC0415

    candidates = [m for m in as_list(document.get("verificationMethod")) if isinstance(m, Mapping)]
    candidates += [m for m in as_list(document.get("assertionMethod")) if isinstance(m, Mapping)]
    method = next(m for m in candidates if m.get("id") == vm_id)
    controller = document.get("id")
    if method.get("type") in ("JsonWebKey", "JsonWebKey2020"):
        key = import_public_jwk(method.get("publicKeyJwk"), f"{vm_id} publicKeyJwk")
    else:
        public = keys.method_from_document(document, vm_id).public_key  # CertsError -> invalid_key
        key = (OKPKey if isinstance(public, ed25519.Ed25519PublicKey) else ECKey).import_key(public)
    return JwtKey(key, vm_id, controller, "method", revoked=method.get("revoked"),
                  expires=method.get("expires"))


def resolve_key(session, header: Mapping) -> JwtKey:
    """The key a JWT names (the ``verification_method`` check); raises Failure."""
    kid = header.get("kid")
    jwk = import_public_jwk(header["jwk"], "the jwk header") if "jwk" in header else None
    if isinstance(kid, str) and kid.startswith(("did:", "https://", "http://")):
        found = _resolve_kid(session, kid)
        if jwk is not None and jwk.thumbprint() != found.key.thumbprint():
            raise Failure("jwt_key_mismatch", kid=kid)
    elif jwk is not None:
        found = JwtKey(jwk, jwk.thumbprint(), None, "jwk")
    else:
        raise Failure("unsupported_method", method=str(kid)[:80])
    if found.revoked:
        raise Failure("key_revoked", reason=found.revoked)
    if found.expires:
        from .session import parse_datetime  # noqa: PLC0415

        if parse_datetime(found.expires, "expires", session.report) <= session.now:
            raise Failure("key_expired", reason=found.expires)
    return found


def _resolve_kid(session, kid: str) -> JwtKey:
    from .proofs import resolve_method  # noqa: PLC0415

    if kid.startswith("did:jwk:"):
        did = kid.split("#", 1)[0]
        return JwtKey(_did_jwk_key(did), kid, did, "method")
    if kid.startswith("did:key:") and "#" not in kid:
        kid = f"{kid}#{kid[len('did:key:'):]}"  # a bare did:key names its one key
    if kid.startswith("did:"):
        return resolve_method(session, kid, read_key=_key_from_method)
    base, _, fragment = kid.partition("#")
    document = session.fetch(base, "method_unresolvable")
    if isinstance(document, Mapping) and ("kty" in document or "keys" in document):
        return JwtKey(_jwk_at_url(document, kid, fragment), kid, None, "url")
    return resolve_method(session, kid, read_key=_key_from_method)  # an https controller document


def _did_jwk_key(did: str):
    """did:jwk: the DID is the base64url of the public JWK itself, so it resolves offline."""
    try:
        jwk = parse_json(b64url(did[len("did:jwk:"):]))
    except (ValueError, BadgeError):
        raise Failure("invalid_key", reason="the did:jwk does not encode a JWK") from None
    return import_public_jwk(jwk, "the did:jwk")


def _jwk_at_url(document: Mapping, kid: str, fragment: str):
    """The key a ``kid`` URL dereferences to: a JWK, or the member of a JWK Set whose ``kid`` is the
    URL or its fragment (or the only member)."""
    if "kty" in document:
        return import_public_jwk(document, kid)
    members = [k for k in as_list(document.get("keys"))[:MAX_JWKS_KEYS] if isinstance(k, Mapping)]
    chosen = [k for k in members if k.get("kid") in (kid, fragment or None)]
    if not chosen and len(members) == 1:
        chosen = members
    if len(chosen) != 1:
        raise Failure("method_unresolvable", method=kid, reason="no single key of the JWK Set has this kid")
    return import_public_jwk(chosen[0], kid)


def key_detail(found: JwtKey) -> tuple[str, dict]:
    if found.source == "method":
        short = found.id[len(found.controller):] if found.id.startswith(f"{found.controller}#") else found.id
        return "verification_method", {"method": short, "controller": found.controller}
    if found.source == "url":
        return "jwt_key_url", {"url": found.id}
    return "jwt_key_header", {"thumbprint": found.id}


# -- the signature and the claims ------------------------------------------------------------------------

def _registry(alg: str):
    from joserfc.jws import JWSRegistry  # noqa: PLC0415

    class Registry(JWSRegistry):
        # joserfc's defaults (512-byte header, 128 kB payload) are below an RSA jwk header or a credential
        max_header_length = 16 * 1024
        max_payload_length = (MAX_PAYLOAD_BYTES * 4) // 3 + 4
        max_signature_length = 2048

    # Unknown header members are ignored, as RFC 7515 and VC-JOSE-COSE say; crit was refused before.
    return Registry(algorithms=[alg], strict_check_header=False)


def check_signature(session, secured: SecuredCredential, found: JwtKey):
    """The ``proof`` check: the JWS signature (RFC 7515 §5.2) with the one allowed algorithm, then the
    claims against the credential they secure."""
    from joserfc import jws  # noqa: PLC0415
    from joserfc.errors import BadSignatureError, InvalidKeyCurveError, InvalidKeyTypeError, JoseError  # noqa: PLC0415

    alg = secured.header["alg"]
    try:
        jws.deserialize_compact(secured.token, found.key, registry=_registry(alg))
    except BadSignatureError:
        raise Failure("bad_signature") from None
    except (InvalidKeyTypeError, InvalidKeyCurveError) as exc:
        raise Failure("invalid_key", reason=f"this key cannot check an {alg} signature ({exc.description})") \
            from None
    except JoseError as exc:
        raise Failure("malformed_proof", reason=str(exc)[:200]) from None
    _check_claims(session, secured)
    return None, {"suite": f"JWT {alg}"}


def _check_claims(session, secured: SecuredCredential) -> None:
    from .reading import _id_of  # noqa: PLC0415
    from .session import _show, parse_datetime  # noqa: PLC0415

    claims, credential = secured.claims, secured.credential
    if "jti" in claims and claims["jti"] != credential.get("id"):
        raise Failure("jwt_claim_mismatch", claim="jti", property="id")
    subjects = [s for s in as_list(credential.get("credentialSubject")) if isinstance(s, Mapping)]
    if "sub" in claims and claims["sub"] not in [_id_of(s) for s in subjects]:
        raise Failure("jwt_claim_mismatch", claim="sub", property="credentialSubject.id")
    if secured.enveloped:  # VC-JOSE-COSE: exp and nbf bound the signature itself
        if "exp" in claims and _moment(claims["exp"]) <= session.now:
            raise Failure("jwt_expired", date=_show(_moment(claims["exp"])))
        if "nbf" in claims and (_moment(claims["nbf"]) - session.now).total_seconds() > _SKEW_SECONDS:
            raise Failure("jwt_not_yet_valid", date=_show(_moment(claims["nbf"])))
        return
    for claim, field in zip(("nbf", "exp"), _date_fields(credential)):
        if claim not in claims or field not in credential:
            continue
        try:
            stated = parse_datetime(credential[field], field, session.report)
        except Failure:
            continue  # the validity check reports the date itself
        if math.floor(stated.timestamp()) != math.floor(claims[claim]):
            raise Failure("jwt_claim_mismatch", claim=claim, property=field)


def missing_claims(secured: SecuredCredential, kind: str) -> list[str]:
    """The claims OB 3.0 §8.2 requires that a ``vc``-claim JWT of an Open Badge leaves out."""
    if secured.enveloped or kind != "ob3":
        return []
    subject = secured.claims["vc"].get("credentialSubject")
    wanted = ["iss", "jti", "nbf"] + (["sub"] if isinstance(subject, Mapping) and "id" in subject else [])
    return [name for name in wanted if name not in secured.claims]


# -- the issuer -----------------------------------------------------------------------------------------

def check_issuer(session, secured: SecuredCredential, found: JwtKey):
    """The ``issuer`` check: ``iss`` names the issuer, and the key is shown to be the issuer's."""
    from .reading import _id_of  # noqa: PLC0415

    issuer = _id_of(secured.credential.get("issuer"))
    if issuer is None:
        raise Failure("no_issuer")
    if "iss" in secured.claims and secured.claims["iss"] != issuer:
        raise Failure("jwt_claim_mismatch", claim="iss", property="issuer")
    if found.source == "method":
        if found.controller != issuer:
            raise Failure("issuer_mismatch", issuer=issuer, controller=found.controller)
    elif found.source == "url":
        if not _under_issuer(found.id, issuer) and not _issuer_lists(session, issuer, found.key):
            raise Failure("jwt_key_not_bound", issuer=issuer)
    elif not _issuer_lists(session, issuer, found.key):
        raise Failure("jwt_key_not_bound", issuer=issuer)
    return None, {"issuer": issuer}


def _under_issuer(url: str, issuer: str) -> bool:
    """A key document published under the issuer's own URL (same origin, and a path below the issuer's):
    the origin alone is not enough, since many issuers share a host (``raw.githubusercontent.com/alice``
    must not vouch for a key under ``/mallory``), except ``/.well-known/`` (RFC 8615: the origin's owner
    controls it). Anything else must be listed by the issuer itself."""
    key, owner = urlsplit(url), urlsplit(issuer)
    if owner.scheme not in ("https", "http") or (key.scheme, key.netloc.lower()) != (owner.scheme,
                                                                                     owner.netloc.lower()):
        return False
    base = owner.path.rstrip("/") + "/"
    return base == "/" or key.path == owner.path or key.path.startswith((base, "/.well-known/"))


def _issuer_lists(session, issuer: str, key) -> bool:
    """Whether a key given in the header is one of the issuer's assertion keys (did:key, did:web or an
    https controller document); fetch failures mean "not shown", never a crash."""
    from certs import keys  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    from .proofs import _did_web_url, resolve_method  # noqa: PLC0415

    if issuer.startswith("did:jwk:"):
        try:
            return _did_jwk_key(issuer).thumbprint() == key.thumbprint()
        except Failure:
            return False
    try:
        if issuer.startswith("did:key:"):
            document = keys.did_key_document(issuer)
        elif issuer.startswith("did:web:"):
            document = session.fetch(_did_web_url(session, issuer, issuer), "method_unresolvable")
        elif issuer.startswith(("https://", "http://")):
            document = session.fetch(issuer, "method_unresolvable")
        else:
            return False
    except (Failure, CertsError):
        return False
    if not isinstance(document, Mapping) or document.get("id") != issuer:
        return False
    wanted = key.thumbprint()
    for entry in as_list(document.get("assertionMethod"))[:MAX_JWKS_KEYS]:
        vm_id = entry.get("id") if isinstance(entry, Mapping) else entry
        if not isinstance(vm_id, str):
            continue
        if vm_id.startswith("#"):
            vm_id = issuer + vm_id
        try:
            if resolve_method(session, vm_id, read_key=_key_from_method).key.thumbprint() == wanted:
                return True
        except Failure:
            continue
    return False


# -- the checks of a JWT-secured credential --------------------------------------------------------------

def verify_secured(session, secured: SecuredCredential, kind: str) -> None:
    """``verification_method``, ``proof`` and ``issuer`` for a JWT, in the place of an embedded proof's."""
    for name in missing_claims(secured, kind):
        session.report.warn("jwt_claim_missing", claim=name)
    try:
        check_header(secured.header)
    except Failure as failure:
        session.report.failed("proof", failure)
        return
    found: list[JwtKey] = []

    def resolve():
        found.append(resolve_key(session, secured.header))
        return key_detail(found[0])

    if not session.step("verification_method", resolve):
        return
    session.step("proof", lambda: check_signature(session, secured, found[0]))
    session.step("issuer", lambda: check_issuer(session, secured, found[0]))
