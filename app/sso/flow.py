"""The authorization code flow with PKCE, and every check on what comes back.

``begin`` makes the ``state``, ``nonce`` and PKCE verifier (kept server-side in the Flask session, which
is server-side in Sillage) and the provider's authorization URL; ``finish`` takes the callback's query
and that stored record, exchanges the code and returns the checked claims. Nothing here touches the
database: the routes decide what the claims mean for accounts (app/sso/identities.py).

Checks (OpenID Connect Core 1.0 §3.1.3.7): signature by a key of the provider's JWKS with an asymmetric
algorithm (``none`` and HMAC refused), ``iss`` equal to the configured issuer, ``aud`` containing our
client id (and ``azp`` equal to it when there are several audiences), ``exp`` in the future, ``iat``
present and recent, ``nonce`` equal to the one sent; the UserInfo answer must carry the same ``sub``.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import urlencode

import requests
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import BadSignatureError, DecodeError, JoseError
from flask_babel import gettext as _

from app.sso import providers
from app.sso.errors import SsoError
from app.sso.providers import Provider

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
MAX_AGE = 600  # an ID token issued longer ago than this is not accepted for a new sign-in
FLOW_SECONDS = 900  # a sign-in started more than 15 minutes ago must start again
_jwt = JsonWebToken(ALGORITHMS)


def begin(provider: Provider, redirect_uri: str) -> tuple[str, str, dict]:
    """(authorization URL, state, record to keep until the callback)."""
    document = providers.metadata(provider)
    state, nonce, verifier = (secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
                       "scope": " ".join(provider.scopes), "state": state, "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    record = {"provider": provider.name, "nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri,
              "started": time.time()}
    return f"{document['authorization_endpoint']}?{query}", state, record


def exchange_code(provider: Provider, code: str, verifier: str, redirect_uri: str) -> dict:
    """The token endpoint's answer for ``code`` (client_secret_basic authentication)."""
    document = providers.metadata(provider)
    try:
        response = requests.post(
            document["token_endpoint"], timeout=providers.HTTP_TIMEOUT,
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                  "code_verifier": verifier},
            auth=(provider.client_id, provider.client_secret), headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise SsoError("provider_unreachable", _("The sign-in service did not answer. Try again later."),
                       status=502) from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body.get("id_token"), str):
        # invalid_grant: a code already used (replayed), expired, or not issued to us.
        reason = str(body.get("error") or response.status_code)
        raise SsoError("code_refused", _("The sign-in service refused this sign-in (%(reason)s). Please "
                                         "start again.", reason=reason))
    return body


def _keys(provider: Provider, refresh: bool = False):
    return JsonWebKey.import_key_set(providers.key_set(provider, refresh=refresh))


def verify_id_token(provider: Provider, id_token: str, nonce: str) -> dict:
    """The ID token's claims, once every check passed; else SsoError with the failing check's code."""
    try:
        try:
            claims = _jwt.decode(id_token, _keys(provider))
        except ValueError:  # no key with this kid: the provider may have rotated its keys
            claims = _jwt.decode(id_token, _keys(provider, refresh=True))
    except BadSignatureError as exc:
        raise SsoError("bad_signature",
                       _("The sign-in service's answer is not signed by its keys: refused.")) from exc
    except (DecodeError, JoseError, ValueError) as exc:
        raise SsoError("bad_signature",
                       _("The sign-in service's answer could not be verified: refused.")) from exc
    now = time.time()
    if claims.get("iss") != provider.issuer:
        raise SsoError("wrong_issuer", _("The sign-in answer comes from another service than the one "
                                         "configured: refused."))
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences \
            or (len(audiences) > 1 and claims.get("azp") != provider.client_id):
        raise SsoError("wrong_audience", _("The sign-in answer was issued for another application: refused."))
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or exp + LEEWAY < now:
        raise SsoError("expired_token", _("The sign-in answer has expired. Please start again."))
    if not isinstance(iat, (int, float)) or iat - LEEWAY > now or iat + MAX_AGE < now:
        raise SsoError("bad_issued_at", _("The sign-in answer's date is not acceptable: refused."))
    if not nonce or not isinstance(claims.get("nonce"), str) \
            or not secrets.compare_digest(claims["nonce"], nonce):
        raise SsoError("bad_nonce", _("The sign-in answer does not belong to this sign-in (nonce): refused."))
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise SsoError("missing_subject", _("The sign-in answer does not say who you are: refused."))
    return dict(claims)


def userinfo(provider: Provider, access_token: str | None, sub: str) -> dict:
    """The UserInfo claims (e-mail and its verification), whose ``sub`` must be the ID token's."""
    endpoint = providers.metadata(provider).get("userinfo_endpoint")
    if not endpoint or not access_token:
        return {}
    try:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = requests.get(endpoint, timeout=providers.HTTP_TIMEOUT, headers=headers)
        body = response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        body = {}
    if body and body.get("sub") != sub:
        raise SsoError("wrong_subject", _("The sign-in service described another person: refused."))
    return body if isinstance(body, dict) else {}


def finish(provider: Provider, query, record: dict | None) -> dict:
    """Claims of the person who signed in: the ID token's, completed by UserInfo (e-mail, name)."""
    if record is None or record.get("provider") != provider.name \
            or time.time() - record.get("started", 0) > FLOW_SECONDS:
        raise SsoError("bad_state", _("This sign-in answer does not match a sign-in started here, or it took "
                                      "too long (state): refused. Please start again."))
    if query.get("error"):
        raise SsoError("provider_error", _("The sign-in service did not sign you in (%(reason)s).",
                                           reason=str(query.get("error"))[:100]))
    if query.get("iss") and query.get("iss") != provider.issuer:  # RFC 9207, when the provider sends it
        raise SsoError("wrong_issuer", _("The sign-in answer comes from another service than the one "
                                         "configured: refused."))
    code = query.get("code")
    if not code:
        raise SsoError("code_refused", _("The sign-in answer carries no code. Please start again."))
    tokens = exchange_code(provider, code, record["verifier"], record["redirect_uri"])
    claims = verify_id_token(provider, tokens["id_token"], record["nonce"])
    extra = userinfo(provider, tokens.get("access_token"), claims["sub"])
    return merge_claims(claims, extra)


def merge_claims(id_claims: dict, extra: dict) -> dict:
    """The ID token's claims completed by UserInfo's, except that ``email`` and ``email_verified`` come
    from one source only: the ID token when it names an e-mail, else UserInfo. Mixed, an ID token's
    address could pick up ``email_verified: true`` from a UserInfo answer about another address
    (review 14, L14); an account is linked by a verified e-mail, so the pair must belong together."""
    merged = {**extra, **id_claims}
    source = id_claims if "email" in id_claims else extra
    for name in ("email", "email_verified"):
        merged.pop(name, None)
        if name in source:
            merged[name] = source[name]
    return merged
