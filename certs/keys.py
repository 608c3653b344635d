"""Keys: Ed25519 (and P-256/P-384 for verifying others), Multikey, did:key, did:web, sealing.

* Multikey (Controlled Identifiers v1.0): ``publicKeyMultibase`` is base58btc of the
  multicodec header + raw key (Ed25519 ``0xed01`` -> ``z6Mk…``; P-256 ``0x8024`` and
  P-384 ``0x8124`` compressed points -> ``zDn…``/``z82…``), ``secretKeyMultibase``
  uses ``0x8026`` for Ed25519 (``z3u2…``).
* did:key resolves offline, so credentials signed by anyone's did:key verify with no
  network; did:web (``did:web:HOST:issuers:ID``) is how Sillage issuers are named.
* Private keys never need to touch disk in clear: :func:`seal` wraps them with
  AES-256-GCM under a key derived (HKDF-SHA256, per purpose) from the instance master key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Union
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import multibase
from .errors import CertsError, KeyFormatError, SealError

PublicKey = Union[ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey]

ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"
P256_PUB = b"\x80\x24"
P384_PUB = b"\x81\x24"
P256_PRIV = b"\x86\x26"
P384_PRIV = b"\x87\x26"
_CURVES = {P256_PUB: ec.SECP256R1(), P384_PUB: ec.SECP384R1()}
_EC_PRIV = {P256_PRIV: ec.SECP256R1(), P384_PRIV: ec.SECP384R1()}

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
VERIFICATION_RELATIONSHIPS = (
    "assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation",
)


# -- Multikey ---------------------------------------------------------------------------

def encode_public_multikey(public_key: PublicKey) -> str:
    """``publicKeyMultibase`` for an Ed25519 or P-256/P-384 public key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return multibase.encode(ED25519_PUB + raw)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        header = {"secp256r1": P256_PUB, "secp384r1": P384_PUB}.get(public_key.curve.name)
        if header:
            point = public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
            return multibase.encode(header + point)
    raise KeyFormatError(f"unsupported public key type {type(public_key).__name__}")


def decode_public_multikey(value: str) -> PublicKey:
    """Parse ``publicKeyMultibase``; refuse private-key headers and unknown codecs.

    Remembered per value (key objects are immutable): a verification meets the same key in the
    did:key document and in its verification method, and an issuer's key in every credential.
    """
    if not isinstance(value, str):
        raise KeyFormatError(f"publicKeyMultibase must be a string, not {type(value).__name__}")
    return _decode_public_multikey(value)


@lru_cache(maxsize=1024)
def _decode_public_multikey(value: str) -> PublicKey:
    try:
        prefix, data = multibase.decode(value, allowed=multibase.BASE58BTC)
    except CertsError as error:
        raise KeyFormatError(f"publicKeyMultibase: {error}") from None
    header, raw = data[:2], data[2:]
    if header in (ED25519_PRIV, P256_PRIV, P384_PRIV):
        raise KeyFormatError("this Multikey is a SECRET key; never publish it as a public key")
    try:
        if header == ED25519_PUB and len(raw) == 32:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        if header in _CURVES:
            return ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[header], raw)
    except ValueError as error:
        raise KeyFormatError(f"invalid public key bytes: {error}") from None
    raise KeyFormatError(f"unsupported Multikey header 0x{header.hex()} or length {len(raw)}")


def encode_secret_multikey(private_key: PrivateKey) -> str:
    """``secretKeyMultibase`` (Ed25519 seed or EC scalar). Handle with care."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return multibase.encode(ED25519_PRIV + raw)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        header = {"secp256r1": P256_PRIV, "secp384r1": P384_PRIV}.get(private_key.curve.name)
        if header:
            size = (private_key.curve.key_size + 7) // 8
            scalar = private_key.private_numbers().private_value.to_bytes(size, "big")
            return multibase.encode(header + scalar)
    raise KeyFormatError(f"unsupported private key type {type(private_key).__name__}")


def decode_secret_multikey(value: str) -> PrivateKey:
    """Parse ``secretKeyMultibase``: Ed25519 as the 32-byte seed, or as the 64-byte form
    (seed || public key) that @digitalbazaar/ed25519-multikey exports. The 64-byte form is
    accepted only when its public half is the key the seed derives: a mismatched pair
    would sign with one key while claiming another."""
    try:
        _, data = multibase.decode(value, allowed=multibase.BASE58BTC)
    except CertsError as error:
        raise KeyFormatError(f"secretKeyMultibase: {error}") from None
    header, raw = data[:2], data[2:]
    if header == ED25519_PRIV and len(raw) in (32, 64):
        private_key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
        derived = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if len(raw) == 64 and raw[32:] != derived:
            raise KeyFormatError("the public half of this 64-byte Ed25519 secret key does not "
                                 "match its seed")
        return private_key
    try:
        if header in _EC_PRIV:
            return ec.derive_private_key(int.from_bytes(raw, "big"), _EC_PRIV[header])
    except ValueError as error:
        raise KeyFormatError(f"invalid secret key bytes: {error}") from None
    raise KeyFormatError(f"unsupported secret Multikey header 0x{header.hex()}")


# -- verification methods and key pairs ---------------------------------------------------

@dataclass(frozen=True)
class VerificationMethod:
    """A resolved public key with the facts a verifier must check around it."""

    id: str
    controller: str | None  # None when a resolver only knows the key
    public_key: PublicKey
    revoked: str | None = None
    expires: str | None = None
    # Verification relationships listing this method; None when the resolver cannot tell.
    relationships: frozenset[str] | None = None

    @property
    def public_key_multibase(self) -> str:
        return encode_public_multikey(self.public_key)

    def to_json(self) -> dict:
        data = {
            "id": self.id, "type": "Multikey", "controller": self.controller,
            "publicKeyMultibase": self.public_key_multibase,
        }
        if self.expires:
            data["expires"] = self.expires
        if self.revoked:
            data["revoked"] = self.revoked
        return data


@dataclass(frozen=True)
class KeyPair:
    """A signing key with its verification method ``id`` and ``controller``.

    ``to_json()`` omits the secret unless asked: the secret belongs in :func:`seal`.
    """

    id: str
    controller: str
    private_key: PrivateKey

    @classmethod
    def generate(cls, controller: str | None = None, key_id: str | None = None) -> KeyPair:
        """A new Ed25519 key; without a controller it is its own did:key."""
        return cls.from_private_key(ed25519.Ed25519PrivateKey.generate(), controller, key_id)

    @classmethod
    def from_private_key(
        cls, private_key: PrivateKey, controller: str | None = None, key_id: str | None = None
    ) -> KeyPair:
        fingerprint = encode_public_multikey(private_key.public_key())
        if controller is None:
            controller = f"did:key:{fingerprint}"
        return cls(id=key_id or f"{controller}#{fingerprint}", controller=controller,
                   private_key=private_key)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyPair:
        """Read ``{type: Multikey, id, controller, publicKeyMultibase, secretKeyMultibase}``."""
        if data.get("type") != "Multikey" or "secretKeyMultibase" not in data:
            raise KeyFormatError("expected a Multikey with secretKeyMultibase")
        private_key = decode_secret_multikey(data["secretKeyMultibase"])
        pair = cls.from_private_key(private_key, data.get("controller"), data.get("id"))
        published = data.get("publicKeyMultibase")
        if published is not None and published != pair.public_key_multibase:
            raise KeyFormatError("publicKeyMultibase does not match secretKeyMultibase")
        return pair

    @classmethod
    def from_private_bytes(cls, raw: bytes, controller: str | None = None,
                           key_id: str | None = None) -> KeyPair:
        """Rebuild an Ed25519 pair from the 32-byte seed (e.g. after :func:`unseal`)."""
        try:
            private_key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        except ValueError as error:
            raise KeyFormatError(f"invalid Ed25519 seed: {error}") from None
        return cls.from_private_key(private_key, controller, key_id)

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def public_key_multibase(self) -> str:
        return encode_public_multikey(self.public_key)

    @property
    def secret_key_multibase(self) -> str:
        return encode_secret_multikey(self.private_key)

    def private_bytes(self) -> bytes:
        """The raw Ed25519 seed, for :func:`seal` only."""
        if not isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            raise KeyFormatError("private_bytes() is for Ed25519 keys")
        return self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def verification_method(self) -> VerificationMethod:
        return VerificationMethod(self.id, self.controller, self.public_key)

    def to_json(self, include_secret: bool = False) -> dict:
        data = self.verification_method().to_json()
        if include_secret:
            data["secretKeyMultibase"] = self.secret_key_multibase
        return data

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature (64 bytes), or raw r||s for EC keys (test fixtures only)."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(data)
        digest = hashes.SHA256() if self.private_key.curve.name == "secp256r1" else hashes.SHA384()
        r, s = decode_dss_signature(self.private_key.sign(data, ec.ECDSA(digest)))
        size = (self.private_key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


# -- did:key ------------------------------------------------------------------------------

def did_key(public_key: PublicKey) -> str:
    return f"did:key:{encode_public_multikey(public_key)}"


def did_key_document(did: str) -> dict:
    """Resolve a did:key offline (did:key method: one key, every relationship).

    The optional X25519 ``keyAgreement`` derivation is not produced: Sillage only
    verifies signatures with these documents.
    """
    did = did.split("#", 1)[0]
    if not did.startswith("did:key:"):
        raise KeyFormatError(f"not a did:key: {did[:40]!r}")
    fingerprint = did[len("did:key:"):]
    decode_public_multikey(fingerprint)  # validates the key
    vm_id = f"{did}#{fingerprint}"
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [{
            "id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": fingerprint,
        }],
        **{relationship: [vm_id] for relationship in VERIFICATION_RELATIONSHIPS},
    }


# -- did:web ------------------------------------------------------------------------------

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def did_web(host: str, *path: str) -> str:
    """``did_web("example.org:8443", "issuers", id)`` -> ``did:web:example.org%3A8443:issuers:ID``.

    did:web percent-encodes the port colon; path segments become ``:``-separated.
    """
    if not _HOST.match(host):
        raise KeyFormatError(f"invalid did:web host {host!r}")
    segments = [quote(host, safe="[]")]
    for segment in path:
        if not segment or "/" in segment:
            raise KeyFormatError(f"invalid did:web path segment {segment!r}")
        segments.append(quote(str(segment), safe=""))
    return "did:web:" + ":".join(segments)


def did_web_url(did: str, scheme: str = "https") -> str:
    """The URL of the DID document (``…/did.json`` or ``/.well-known/did.json``).

    ``scheme`` exists for local development only: the did:web method requires https.
    """
    did = did.split("#", 1)[0]
    if not did.startswith("did:web:") or scheme not in ("https", "http"):
        raise KeyFormatError(f"not a did:web: {did[:60]!r}")
    host, *path = did[len("did:web:"):].split(":")
    host = unquote(host)
    if not _HOST.match(host) or any(not p or "/" in unquote(p) for p in path):
        raise KeyFormatError(f"malformed did:web: {did[:60]!r}")
    suffix = "/".join(path) if path else ".well-known"
    return f"{scheme}://{host}/{suffix}/did.json"


def did_web_document(did: str, keys: Iterable[KeyPair | VerificationMethod]) -> dict:
    """A controller document listing every key; all of them are assertion methods.

    Keeping rotated-out keys listed keeps the credentials they signed verifiable; mark a
    compromised key with ``revoked`` instead of deleting it. The two contexts are what
    other verifiers need to read Multikey entries.
    """
    methods = []
    for key in keys:
        method = key.verification_method() if isinstance(key, KeyPair) else key
        if method.controller != did:
            raise KeyFormatError(f"key {method.id} is controlled by {method.controller}, not {did}")
        methods.append(method.to_json())
    if not methods:
        raise KeyFormatError("a controller document needs at least one key")
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


# -- resolving verification methods ------------------------------------------------------

Resolver = Callable[[str], VerificationMethod]


def method_from_document(document: Mapping[str, Any], vm_id: str) -> VerificationMethod:
    """Find *vm_id* in a controller document, with the relationships that list it.

    A proof's purpose must match one of those relationships (Data Integrity); a key
    merely present under ``verificationMethod`` may sign nothing. :func:`certs.verify`
    checks it, using ``VerificationMethod.relationships``.
    """
    controller = document.get("id")
    candidates = [m for m in _as_list(document.get("verificationMethod")) if isinstance(m, Mapping)]
    relationships = set()
    for relationship in VERIFICATION_RELATIONSHIPS:
        for entry in _as_list(document.get(relationship)):
            if isinstance(entry, Mapping):
                candidates.append(entry)
                entry = entry.get("id")
            if entry == vm_id:
                relationships.add(relationship)
    method = next((m for m in candidates if m.get("id") == vm_id), None)
    if method is None:
        raise KeyFormatError(f"{vm_id} is not a verification method of {controller}")
    if method.get("controller") != controller:
        raise KeyFormatError(f"{vm_id} names controller {method.get('controller')}, not {controller}")
    kind = method.get("type")
    if kind in ("Multikey", "Ed25519VerificationKey2020"):
        public_key = decode_public_multikey(method.get("publicKeyMultibase"))
    elif kind in ("JsonWebKey", "JsonWebKey2020"):
        public_key = public_key_from_jwk(method.get("publicKeyJwk"))
    else:
        raise KeyFormatError(f"unsupported verification method type {kind!r}")
    return VerificationMethod(
        id=vm_id, controller=controller,
        public_key=public_key,
        revoked=method.get("revoked"), expires=method.get("expires"),
        relationships=frozenset(relationships),
    )


_JWK_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}
_JWK_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """The public key of a ``JsonWebKey`` verification method's ``publicKeyJwk`` (VC Data Integrity
    EdDSA and ECDSA cryptosuites, "Verification Methods": Multikey or JsonWebKey): an Ed25519 ``OKP`` key
    (RFC 8037) or a P-256 / P-384 ``EC`` key (RFC 7518). A JWK carrying private members is refused:
    a controller document must never publish one."""
    import base64  # noqa: PLC0415

    def unb64(value: Any, size: int) -> bytes:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise KeyFormatError("publicKeyJwk has a malformed coordinate")
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(raw) != size:
            raise KeyFormatError("publicKeyJwk has a coordinate of the wrong length")
        return raw

    if not isinstance(jwk, Mapping):
        raise KeyFormatError("publicKeyJwk is missing")
    if any(member in jwk for member in _JWK_PRIVATE):
        raise KeyFormatError("publicKeyJwk holds private key material")
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(unb64(jwk.get("x"), 32))
    if jwk.get("kty") == "EC" and jwk.get("crv") in _JWK_CURVES:
        curve = _JWK_CURVES[jwk["crv"]]()
        size = (curve.key_size + 7) // 8
        x, y = (int.from_bytes(unb64(jwk.get(name), size), "big") for name in ("x", "y"))
        try:
            return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        except ValueError:
            raise KeyFormatError("publicKeyJwk is not a point of its curve") from None
    raise KeyFormatError(f"unsupported publicKeyJwk ({jwk.get('kty')!r}, {jwk.get('crv')!r})")


def resolve_did_key(vm_id: str) -> VerificationMethod:
    """Offline resolver for ``did:key:z…#z…`` verification methods."""
    return method_from_document(did_key_document(vm_id), vm_id)


def controller_resolver(fetch_json: Callable[[str], Mapping[str, Any]],
                        scheme: str = "https") -> Resolver:
    """A resolver for did:key (offline), did:web and https controller documents.

    *fetch_json(url)* is supplied by the caller (the app decides about the network,
    timeouts and caching); certs itself never opens a connection.
    """
    def resolve(vm_id: str) -> VerificationMethod:
        if vm_id.startswith("did:key:"):
            return method_from_document(did_key_document(vm_id), vm_id)
        base = vm_id.split("#", 1)[0]
        if base.startswith("did:web:"):
            url = did_web_url(base, scheme)
        elif base.startswith("https://") or (scheme == "http" and base.startswith("http://")):
            url = base
        else:
            raise KeyFormatError(f"cannot resolve verification method {vm_id[:80]!r}")
        document = fetch_json(url)
        if not isinstance(document, Mapping) or document.get("id") != base:
            raise KeyFormatError(f"the document at {url} is not the controller document of {base}")
        return method_from_document(document, vm_id)

    return resolve


def static_resolver(documents: Mapping[str, Mapping[str, Any]]) -> Resolver:
    """A resolver over known controller documents keyed by DID or URL (no network)."""
    by_url = {}
    for key, document in documents.items():
        by_url[did_web_url(key) if key.startswith("did:web:") else key] = document

    def fetch(url: str) -> Mapping[str, Any]:
        try:
            return by_url[url]
        except KeyError:
            raise KeyFormatError(f"unknown controller document {url}") from None

    return controller_resolver(fetch)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# -- sealing secrets under the master key -------------------------------------------------

_SEAL_VERSION = b"\x01"
_NONCE_SIZE = 12


def _derive(master_key: bytes, purpose: str) -> bytes:
    if not isinstance(master_key, bytes | bytearray) or len(master_key) < 32:
        raise SealError("the master key must be at least 32 random bytes", "seal_bad_master_key")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=b"sillage/seal/v1/" + purpose.encode("utf-8"),
    ).derive(bytes(master_key))


def seal(secret: bytes, master_key: bytes, aad: bytes, purpose: str = "signing-key") -> bytes:
    """Encrypt *secret* with AES-256-GCM under a key derived from *master_key*.

    Output: version (1 byte) || random 96-bit nonce || ciphertext+tag. *aad* binds the
    blob to its owner (e.g. the key id), so a blob copied to another row fails to open;
    *purpose* separates keys derived for different uses of the same master key.
    """
    nonce = os.urandom(_NONCE_SIZE)
    ciphertext = AESGCM(_derive(master_key, purpose)).encrypt(nonce, bytes(secret), bytes(aad))
    return _SEAL_VERSION + nonce + ciphertext


def unseal(sealed: bytes, master_key: bytes, aad: bytes, purpose: str = "signing-key") -> bytes:
    """Decrypt a :func:`seal` blob; any mismatch (key, aad, purpose, bytes) is SealError."""
    if not isinstance(sealed, bytes | bytearray) or len(sealed) < 1 + _NONCE_SIZE + 16 \
            or sealed[:1] != _SEAL_VERSION:
        raise SealError("not a sealed secret (bad version or length)")
    nonce, ciphertext = bytes(sealed[1:1 + _NONCE_SIZE]), bytes(sealed[1 + _NONCE_SIZE:])
    try:
        return AESGCM(_derive(master_key, purpose)).decrypt(nonce, ciphertext, bytes(aad))
    except InvalidTag:
        raise SealError("sealed secret does not open: wrong master key, aad or purpose, "
                        "or the data was altered") from None


def utc_timestamp(moment: datetime) -> str:
    """XSD dateTimeStamp in UTC with a ``Z`` (the only form Sillage emits)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CertsError("timestamps must be timezone-aware", "naive_datetime")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
