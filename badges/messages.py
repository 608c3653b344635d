"""The texts of verification results, in English and French, keyed by stable codes.

The verifier runs outside Flask (CLI, library use), so it cannot use Flask-Babel; the reader's language
is passed in (``locale``) and looked up here. Codes never change once published: clients match on
``code``; ``message`` and ``detail`` are for people and may be reworded.
"""
from __future__ import annotations

LOCALES = ("en", "fr")

# code -> (English, French). Placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    # reading the input
    "invalid_json": ("The document is not valid JSON{reason}.",
                     "Le document n'est pas du JSON valide{reason}."),
    "too_large": ("The document is too large (more than {limit}).",
                  "Le document est trop volumineux (plus de {limit})."),
    "too_deep": ("The document is nested too deeply (more than {limit} levels).",
                 "Le document est trop imbriqué (plus de {limit} niveaux)."),
    "too_complex": ("The document asks for more processing than any credential needs (more than {limit}); "
                    "it was not processed.",
                    "Le document demande plus de traitement qu'aucune attestation n'en exige (plus de "
                    "{limit}) ; il n'a pas été traité."),
    "verification_timeout": (
        "The verification took longer than its time budget and was stopped: the credential could not be "
        "checked (this is not a forgery verdict).",
        "La vérification a dépassé le temps qui lui est accordé et a été arrêtée : l'attestation n'a pas "
        "pu être contrôlée (ce n'est pas un constat de falsification)."),
    "duplicate_key": ("The document repeats the key “{key}”: its meaning would be ambiguous.",
                      "Le document répète la clé « {key} » : son sens serait ambigu."),
    "not_an_object": ("The document is not a JSON object.", "Le document n'est pas un objet JSON."),
    "unsupported_document": ("This is neither a verifiable credential nor an Open Badges 2.0 assertion.",
                             "Ce n'est ni une attestation vérifiable ni une assertion Open Badges 2.0."),
    "no_badge": ("The image carries no badge.", "L'image ne contient aucun badge."),
    "invalid_image": ("The image is damaged or cannot be read safely.",
                      "L'image est endommagée ou ne peut pas être lue sans risque."),
    "unsupported_image": ("Only PNG and SVG images can carry a badge.",
                          "Seules les images PNG et SVG peuvent contenir un badge."),
    "multiple_badges": ("The image carries more than one badge; baking allows only one, so which one "
                        "counts would be ambiguous.",
                        "L'image contient plus d'un badge ; l'intégration n'en permet qu'un, et l'on ne "
                        "saurait pas lequel compte."),
    "compressed_badge": ("The badge is stored compressed in the image, which the baking rules forbid.",
                         "Le badge est stocké compressé dans l'image, ce que les règles d'intégration "
                         "interdisent."),
    "invalid_credential": ("The embedded badge is not a usable document.",
                           "Le badge intégré n'est pas un document exploitable."),
    "unreadable_input": ("The input cannot be read.", "L'entrée ne peut pas être lue."),
    "unsupported_format": ("This badge format is not supported ({format}).",
                           "Ce format de badge n'est pas pris en charge ({format})."),
    # JSON-LD
    "no_context": ("The document has no @context.", "Le document n'a pas de @context."),
    "unknown_context": ("The context {url} is not one Sillage knows; it is never fetched.",
                        "Le contexte {url} n'est pas connu de Sillage ; il n'est jamais téléchargé."),
    "undefined_term": ("The term “{term}” is not defined by the document's contexts.",
                       "Le terme « {term} » n'est défini par aucun contexte du document."),
    "unsafe_context": ("The document carries a context of its own that could change its meaning unseen "
                       "({reason}).",
                       "Le document porte un contexte de son cru qui pourrait en changer le sens à l'insu "
                       "du lecteur ({reason})."),
    "inline_context": ("Remark: the document defines terms in a context of its own, not in one of the "
                       "published contexts Sillage holds; those terms mean what the document says.",
                       "Remarque : le document définit des termes dans un contexte de son cru, et non dans "
                       "l'un des contextes publiés que Sillage détient ; ces termes veulent dire ce que le "
                       "document en dit."),
    "invalid_jsonld": ("The document is not valid JSON-LD: {reason}.",
                       "Le document n'est pas du JSON-LD valide : {reason}."),
    # schema
    "schema_invalid": ("The document does not follow the Open Badges 3.0 schema: {reason}.",
                       "Le document ne respecte pas le schéma Open Badges 3.0 : {reason}."),
    "subject_unidentified": (
        "The credential does not say whom it is about: credentialSubject has neither id nor identifier.",
        "L'attestation ne dit pas qui elle concerne : credentialSubject n'a ni id ni identifier."),
    "schema_warning": (
        "Remark: the credential declares no JSON Schema and does not follow the Open Badges 3.0 schema on "
        "this point: {reason}.",
        "Remarque : l'attestation ne déclare aucun schéma JSON et ne suit pas le schéma Open Badges 3.0 "
        "sur ce point : {reason}."),
    "schema_format": (
        "Remark: a value does not have the format the JSON Schema suggests ({reason}); formats are "
        "annotations, not requirements.",
        "Remarque : une valeur n'a pas le format que suggère le schéma JSON ({reason}) ; les formats sont "
        "des annotations, pas des exigences."),
    "schema_not_checked": (
        "Remark: the credential declares the JSON Schema {url}, which Sillage does not hold and never "
        "fetches: it was not checked.",
        "Remarque : l'attestation déclare le schéma JSON {url}, que Sillage ne détient pas et ne "
        "télécharge jamais : il n'a pas été vérifié."),
    "not_a_credential": ("The document is not a verifiable credential: {reason}.",
                         "Le document n'est pas une attestation vérifiable : {reason}."),
    # proof
    "no_proof": ("The document carries no proof (signature).",
                 "Le document ne porte aucune preuve (signature)."),
    "unsupported_cryptosuite": ("The proof uses an unsupported suite ({suite}).",
                                "La preuve utilise une suite non prise en charge ({suite})."),
    "malformed_proof": ("The proof is malformed: {reason}.", "La preuve est mal formée : {reason}."),
    "malformed_proof_value": ("The signature value is malformed: {reason}.",
                              "La valeur de signature est mal formée : {reason}."),
    "wrong_proof_purpose": ("The proof is not made for assertions (purpose {purpose}).",
                            "La preuve n'est pas faite pour une assertion (usage {purpose})."),
    "bad_signature": (
        "The signature does not match: the document was changed or signed with another key.",
        "La signature ne correspond pas : le document a été modifié ou signé avec une autre clé."),
    "proof_expired": ("The proof itself expired ({reason}).", "La preuve elle-même a expiré ({reason})."),
    # JWT-secured credentials (VC-JWT: OB 3.0 section 8.2, VC-JOSE-COSE)
    "jwt_invalid": ("The JWT is malformed: {reason}.", "Le JWT est mal formé : {reason}."),
    "jwt_unsupported_type": ("This JWT is not a credential Sillage verifies ({type}).",
                             "Ce JWT n'est pas une attestation que Sillage vérifie ({type})."),
    "jwt_alg_refused": ("The JWT's signing algorithm “{alg}” is refused; accepted: {allowed}.",
                        "L'algorithme de signature du JWT « {alg} » est refusé ; acceptés : {allowed}."),
    "jwt_crit_unsupported": ("The JWT requires header extensions that Sillage does not support ({names}).",
                             "Le JWT exige des extensions d'en-tête que Sillage ne prend pas en charge "
                             "({names})."),
    "jwt_no_key": ("The JWT names no key (neither kid nor jwk).",
                   "Le JWT ne désigne aucune clé (ni kid ni jwk)."),
    "jwt_private_key": ("A private key was found in {where}: it is refused, and whoever published it should "
                        "consider it compromised.",
                        "Une clé privée figure dans {where} : elle est refusée, et qui l'a publiée doit la "
                        "considérer comme compromise."),
    "jwt_key_mismatch": ("The key in the JWT header is not the key {kid}.",
                         "La clé de l'en-tête du JWT n'est pas la clé {kid}."),
    "jwt_key_not_bound": ("Nothing shows that the signing key belongs to the issuer {issuer}.",
                          "Rien ne montre que la clé de signature appartient à l'émetteur {issuer}."),
    "jwt_claim_mismatch": ("The JWT claim “{claim}” contradicts the credential's {property}.",
                           "La revendication « {claim} » du JWT contredit la propriété {property} de "
                           "l'attestation."),
    "jwt_expired": ("The JWT signature expired on {date}.", "La signature du JWT a expiré le {date}."),
    "jwt_not_yet_valid": ("The JWT signature is valid only from {date}.",
                          "La signature du JWT n'est valide qu'à partir du {date}."),
    # verification method
    "key_revoked": ("The signing key was revoked by its controller ({reason}).",
                    "La clé de signature a été révoquée par son contrôleur ({reason})."),
    "key_expired": ("The signing key has expired ({reason}).", "La clé de signature a expiré ({reason})."),
    "method_unresolvable": ("The signing key {method} cannot be found{reason}.",
                            "La clé de signature {method} est introuvable{reason}."),
    "method_not_authorized": ("The key {method} is not listed for assertions by its controller.",
                              "La clé {method} n'est pas déclarée pour les assertions par son contrôleur."),
    "controller_mismatch": ("The key document names another controller ({controller}).",
                            "Le document de la clé désigne un autre contrôleur ({controller})."),
    "unsupported_method": ("This kind of key identifier is not supported ({method}).",
                           "Ce type d'identifiant de clé n'est pas pris en charge ({method})."),
    "invalid_key": ("The key is malformed: {reason}.", "La clé est mal formée : {reason}."),
    # issuer
    "no_issuer": ("The document names no issuer.", "Le document ne désigne aucun émetteur."),
    "issuer_mismatch": (
        "The issuer {issuer} does not control the signing key (its controller is {controller}).",
        "L'émetteur {issuer} ne contrôle pas la clé de signature (son contrôleur est {controller})."),
    # validity
    "not_yet_valid": ("The credential is valid only from {date}.",
                      "L'attestation n'est valide qu'à partir du {date}."),
    "expired": ("The credential expired on {date}.", "L'attestation a expiré le {date}."),
    "invalid_date": ("The date {field} is not a valid date-time ({value}).",
                     "La date {field} n'est pas une date-heure valide ({value})."),
    # status
    "revoked": ("The issuer has revoked this credential.", "L'émetteur a révoqué cette attestation."),
    "suspended": ("The issuer has suspended this credential.", "L'émetteur a suspendu cette attestation."),
    "status_unavailable": ("The status list cannot be checked{reason}.",
                           "La liste de statuts ne peut pas être vérifiée{reason}."),
    "status_invalid": ("The status list is not trustworthy: {reason}.",
                       "La liste de statuts n'est pas fiable : {reason}."),
    "unsupported_status": ("This kind of status ({type}) is not supported.",
                           "Ce type de statut ({type}) n'est pas pris en charge."),
    # Open Badges 2.0
    "hosted_unavailable": ("The hosted assertion cannot be fetched{reason}.",
                           "L'assertion hébergée est inaccessible{reason}."),
    "hosted_mismatch": ("The hosted assertion differs from the one presented ({field}).",
                        "L'assertion hébergée diffère de celle présentée ({field})."),
    "badge_class_unavailable": ("The badge class cannot be fetched{reason}.",
                                "La classe de badge est inaccessible{reason}."),
    "issuer_unavailable": ("The issuer profile cannot be fetched{reason}.",
                           "Le profil de l'émetteur est inaccessible{reason}."),
    "ob2_inconsistent": ("The badge documents do not agree: {reason}.",
                         "Les documents du badge ne concordent pas : {reason}."),
    "ob2_invalid": ("The Open Badges 2.0 assertion is incomplete: {reason}.",
                    "L'assertion Open Badges 2.0 est incomplète : {reason}."),
    # fetching
    "fetch_refused": ("Sillage refused to fetch {url}: {reason}.",
                      "Sillage a refusé de télécharger {url} : {reason}."),
    "fetch_failed": ("{url} could not be fetched: {reason}.", "{url} n'a pas pu être téléchargé : {reason}."),
    "fetch_timeout": ("{url} did not answer in time.", "{url} n'a pas répondu à temps."),
    "internal_error": (
        "The verifier failed unexpectedly; the document is not considered valid.",
        "Le vérificateur a échoué de façon inattendue ; le document n'est pas considéré comme valide."),
    # presentations and the W3C VC-API routes
    "not_a_presentation": ("The document is not a verifiable presentation: {reason}.",
                           "Le document n'est pas une présentation vérifiable : {reason}."),
    "not_authentication": ("The presentation's proof is not made for authentication (purpose {purpose}).",
                           "La preuve de la présentation n'est pas faite pour l'authentification "
                           "(usage {purpose})."),
    "method_not_authenticating": ("The key {method} is not listed for authentication by its controller.",
                                  "La clé {method} n'est pas déclarée pour l'authentification par son "
                                  "contrôleur."),
    "wrong_challenge": ("The proof does not answer the expected challenge{reason}.",
                        "La preuve ne répond pas au défi attendu{reason}."),
    "wrong_domain": ("The proof was made for another domain{reason}.",
                     "La preuve a été faite pour un autre domaine{reason}."),
    "holder_mismatch": ("The presentation names {holder} as its holder but was signed by a key of {controller}.",
                        "La présentation désigne {holder} comme détenteur mais a été signée par une clé de "
                        "{controller}."),
    "credential_not_verified": ("Credential {index} of the presentation is not verified: {reason}",
                                "L'attestation {index} de la présentation n'est pas vérifiée : {reason}"),
    "invalid_envelope": ("The enveloped credential is malformed: {reason}.",
                         "L'attestation enveloppée est mal formée : {reason}."),
    "invalid_request": ("The request is not usable: {reason}.", "La requête est inutilisable : {reason}."),
    "missing_credential": ("The request has no “verifiableCredential” object.",
                           "La requête ne contient pas d'objet « verifiableCredential »."),
    "missing_presentation": ("The request has no “verifiablePresentation” (or “presentation”) object.",
                             "La requête ne contient pas d'objet « verifiablePresentation » (ni "
                             "« presentation »)."),
    "invalid_options": ("The option “{option}” is malformed: {reason}.",
                        "L'option « {option} » est mal formée : {reason}."),
    "unsupported_media_type": ("Send the request as application/json.",
                               "Envoyez la requête en application/json."),
    # the VC-API issuer route (app/issuing/vcapi.py)
    "issue_token_required": ("Send an organisation API token (Authorization: Bearer silo_…); a personal token "
                             "or a revoked one does not sign for an organisation.",
                             "Envoyez un jeton d'API d'organisation (Authorization: Bearer silo_…) ; un jeton "
                             "personnel ou révoqué ne signe pas pour une organisation."),
    "issue_not_allowed": ("This token acts for another organisation.",
                          "Ce jeton agit pour une autre organisation."),
    "issuer_not_found": ("No approved organisation has this id.", "Aucune organisation approuvée n'a cet identifiant."),
    "missing_credential_to_issue": ("The request has no “credential” object to sign.",
                                    "La requête ne contient pas d'objet « credential » à signer."),
    "wrong_issuer": ("The credential names {issuer} as its issuer; this endpoint signs only as {did}.",
                     "L'attestation désigne {issuer} comme émetteur ; ce point d'accès ne signe qu'au nom de "
                     "{did}."),
    "not_vc2": ("The credential is not a valid Verifiable Credential 2.0: {field} {reason}.",
                "L'attestation n'est pas une Verifiable Credential 2.0 valide : {field} {reason}."),
    "already_signed": ("The credential already has a proof: send it unsigned.",
                       "L'attestation porte déjà une preuve : envoyez-la sans signature."),
    "unsupported_option": ("The option “{option}” is not supported: {reason}.",
                           "L'option « {option} » n'est pas prise en charge : {reason}."),
    "option_not_known": ("The option “{option}” is not known; nothing was signed.",
                         "L'option « {option} » est inconnue ; rien n'a été signé."),
    "not_signable": ("The credential cannot be signed: {reason}.",
                     "L'attestation ne peut pas être signée : {reason}."),
    "status_entry_not_found": ("This organisation gave no {purpose} status entry to a credential named {credential}.",
                               "Cette organisation n'a donné aucune entrée de statut « {purpose} » à une "
                               "attestation nommée {credential}."),
    "revocation_final": ("A revocation cannot be undone; suspension can.",
                         "Une révocation est définitive ; une suspension peut être levée."),
    # warnings
    "lax_proof_value": ("The signature is encoded in base64url; Sillage accepts it but signs in base58btc.",
                        "La signature est encodée en base64url ; Sillage l'accepte mais signe en base58btc."),
    "date_without_timezone": ("The date {field} has no time zone; it is read as UTC.",
                              "La date {field} n'a pas de fuseau horaire ; elle est lue en UTC."),
    "jwt_claim_missing": ("The JWT lacks the claim “{claim}” that Open Badges 3.0 requires.",
                          "Il manque au JWT la revendication « {claim} » qu'exige Open Badges 3.0."),
    "status_not_checked": ("A status entry of another purpose than revocation or suspension was not checked.",
                           "Une entrée de statut qui ne porte ni sur la révocation ni sur la suspension "
                           "n'a pas été vérifiée."),
    "challenge_not_checked": ("No challenge was given: nothing shows that this presentation was made for "
                              "this request (it could be replayed).",
                              "Aucun défi n'a été fourni : rien ne montre que cette présentation a été faite "
                              "pour cette demande (elle pourrait être rejouée)."),
    "presentation_unsigned": ("The presentation is not signed: nothing shows who presents these credentials.",
                              "La présentation n'est pas signée : rien ne montre qui présente ces "
                              "attestations."),
    "unknown_option": ("The option “{option}” is not known to Sillage and was ignored.",
                       "L'option « {option} » n'est pas connue de Sillage et a été ignorée."),
}

# Refusals of the VC-API issuer route: they answer a request to sign, never a verification, so the
# verdict of badges/summary.py has no reason for them.
ISSUING_CODES = frozenset((
    "issue_token_required", "issue_not_allowed", "issuer_not_found", "missing_credential_to_issue",
    "wrong_issuer", "not_vc2", "already_signed", "unsupported_option", "option_not_known", "not_signable",
    "status_entry_not_found", "revocation_final"))

# Details of checks that passed: check name -> (English, French).
PASSED: dict[str, tuple[str, str]] = {
    "parse": ("Document read: {kind}.", "Document lu : {kind}."),
    "jsonld": ("Every term is defined by a known context.", "Chaque terme est défini par un contexte connu."),
    "schema": ("Follows the {schema} schema.", "Respecte le schéma {schema}."),
    "schema_undeclared": ("Identifies its subject; declares no JSON Schema, so the Open Badges 3.0 schema "
                          "was applied as remarks only.",
                          "Identifie son sujet ; ne déclare aucun schéma JSON, le schéma Open Badges 3.0 "
                          "n'a donc donné que des remarques."),
    "schema_generic": ("A well-formed verifiable credential.", "Une attestation vérifiable bien formée."),
    "schema_ob3_vc1": ("Has what an OB 3.0 (VC 1.1 release) credential requires: context, types, issuer, "
                       "issuanceDate and achievement.",
                       "Contient ce qu'exige une attestation OB 3.0 (VC 1.1 release) : contexte, types, "
                       "émetteur, issuanceDate et réalisation."),
    "verification_method": ("Key {method}, listed for assertions by {controller}.",
                            "Clé {method}, déclarée pour les assertions par {controller}."),
    "jwt_key_header": ("Key given in the JWT header (thumbprint {thumbprint}).",
                       "Clé donnée dans l'en-tête du JWT (empreinte {thumbprint})."),
    "jwt_key_url": ("Key published at {url}.", "Clé publiée à {url}."),
    "proof": ("Valid {suite} signature.", "Signature {suite} valide."),
    "issuer": ("Issued by {issuer}.", "Émise par {issuer}."),
    "validity": ("Valid at {now}.", "Valide au {now}."),
    "status": ("Not revoked nor suspended ({list}).", "Ni révoquée ni suspendue ({list})."),
    "status_none": ("No status list: the issuer cannot revoke it.",
                    "Pas de liste de statuts : l'émetteur ne peut pas la révoquer."),
    "hosted": ("The hosted assertion at {url} matches.", "L'assertion hébergée à {url} correspond."),
    "badge_class": ("Badge class “{name}”.", "Classe de badge « {name} »."),
    "presentation_method": ("Key {method}, listed for authentication by {controller}.",
                            "Clé {method}, déclarée pour l'authentification par {controller}."),
    "holder": ("Presented by its holder {holder}.", "Présentée par son détenteur {holder}."),
    "holder_none": ("No holder named; signed by {controller}.",
                    "Aucun détenteur désigné ; signée par {controller}."),
    "holder_unsigned": ("Not signed: the holder is not checked.",
                        "Non signée : le détenteur n'est pas vérifié."),
    "credentials": ("{count} credential(s), each verified.", "{count} attestation(s), chacune vérifiée."),
    "credentials_none": ("The presentation carries no credential.",
                         "La présentation ne contient aucune attestation."),
    "request_binding": ("The proof answers the expected challenge and domain.",
                        "La preuve répond au défi et au domaine attendus."),
}

KINDS = {
    "ob3": ("Open Badges 3.0 credential", "attestation Open Badges 3.0"),
    "vc2": ("verifiable credential (VC 2.0)", "attestation vérifiable (VC 2.0)"),
    "vc1": ("verifiable credential (VC 1.1)", "attestation vérifiable (VC 1.1)"),
    "ob2": ("Open Badges 2.0 assertion", "assertion Open Badges 2.0"),
    "vp2": ("verifiable presentation (VC 2.0)", "présentation vérifiable (VC 2.0)"),
    "vp1": ("verifiable presentation (VC 1.1)", "présentation vérifiable (VC 1.1)"),
}


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if str(locale or "").lower().startswith("fr") else pair[0]


class _Blank(dict):
    """Format mapping that leaves unknown placeholders empty rather than failing."""

    def __missing__(self, key):
        return ""


def message(code: str, locale: str = "en", /, **params) -> str:
    """The sentence for ``code`` in the reader's language (English when unknown)."""
    pair = MESSAGES.get(code) or (code.replace("_", " "), code.replace("_", " "))
    if "reason" in params and params["reason"] and code in _PREFIXED_REASON:
        params["reason"] = f" ({params['reason']})"
    return _pick(pair, locale).format_map(_Blank({k: _short(v) for k, v in params.items()}))


def passed(check_name: str, locale: str = "en", /, **params) -> str:
    pair = PASSED.get(check_name, (check_name, check_name))
    return _pick(pair, locale).format_map(_Blank({k: _short(v) for k, v in params.items()}))


def kind_label(kind: str, locale: str = "en") -> str:
    return _pick(KINDS.get(kind, (kind, kind)), locale)


# Codes whose {reason} is optional and shown in parentheses after the sentence's subject.
_PREFIXED_REASON = {"invalid_json", "method_unresolvable", "status_unavailable", "hosted_unavailable",
                    "badge_class_unavailable", "issuer_unavailable", "wrong_challenge", "wrong_domain"}


def _short(value, limit: int = 200) -> str:
    """Values come from untrusted documents: keep them to one short line."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Verdicts (badges.summary.verdict): status or reason -> ((title, explanation) English, (…) French).
# The reason comes first, in plain words; the failed checks below it give the technical detail.
VERDICTS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "verified": (
        ("Verified", "Signed by its issuer, unchanged since, and valid today."),
        ("Vérifiée", "Signée par son émetteur, inchangée depuis, et valide aujourd'hui.")),
    "verified_with_remarks": (
        ("Verified, with remarks",
         "Signed by its issuer, unchanged since, and valid today. The remarks below do not change this "
         "verdict, but are worth reading."),
        ("Vérifiée, avec des remarques",
         "Signée par son émetteur, inchangée depuis, et valide aujourd'hui. Les remarques ci-dessous ne "
         "changent pas ce verdict, mais méritent d'être lues.")),
    "forged": (
        ("Not verified: forged or altered",
         "The signature does not match what the document says: it was changed after signing, or it was "
         "not signed by the issuer it names. Do not trust its content."),
        ("Non vérifiée : falsifiée ou modifiée",
         "La signature ne correspond pas à ce que dit le document : il a été modifié après signature, "
         "ou il n'a pas été signé par l'émetteur qu'il nomme. Ne vous fiez pas à son contenu.")),
    "revoked": (
        ("Not verified: revoked", "The issuer has withdrawn this credential: it no longer counts."),
        ("Non vérifiée : révoquée", "L'émetteur a retiré cette attestation : elle ne vaut plus.")),
    "suspended": (
        ("Not verified: suspended",
         "The issuer has suspended this credential: it does not count for now."),
        ("Non vérifiée : suspendue",
         "L'émetteur a suspendu cette attestation : elle ne vaut pas pour le moment.")),
    "expired": (
        ("Not verified: expired", "This credential's period of validity has ended."),
        ("Non vérifiée : expirée", "La période de validité de cette attestation est terminée.")),
    "not_yet_valid": (
        ("Not verified: not yet valid", "This credential's period of validity has not begun."),
        ("Non vérifiée : pas encore valide",
         "La période de validité de cette attestation n'a pas commencé.")),
    "invalid": (
        ("Not verified: not a valid credential",
         "This document is malformed or incomplete: it cannot be verified as a credential."),
        ("Non vérifiée : attestation non valable",
         "Ce document est mal formé ou incomplet : il ne peut pas être vérifié comme une attestation.")),
    "unchecked": (
        ("Not verified: could not be checked",
         "Sillage could not finish the checks (the issuer's key or status list could not be reached, the "
         "format is not supported, or it took too long). This is not a verdict of forgery: try again "
         "later, or ask the issuer."),
        ("Non vérifiée : vérification impossible",
         "Sillage n'a pas pu terminer les vérifications (clé ou liste de statuts de l'émetteur "
         "injoignable, format non pris en charge, ou délai dépassé). Ce n'est pas un constat de "
         "falsification : réessayez plus tard, ou interrogez l'émetteur.")),
}


def verdict_text(key: str, locale: str = "en") -> tuple[str, str]:
    """(title, explanation) of a verdict status or reason, in the reader's language."""
    return _pick(VERDICTS.get(key, VERDICTS["unchecked"]), locale)
