"""Runs 1EdTech's OB 2.0 validator (PyPI ``openbadges``) offline; executed by the validator's own venv.

Usage: ``python ob2validator_shim.py TARGET [--recipient EMAIL]`` where TARGET is a hosted assertion URL
or the path of a baked PNG/SVG. Prints the validator's JSON report (``{"graph", "input", "report"}``) on
stdout; exit 0 when it ran (valid or not), 2 when the validator itself crashed.

Why a shim and not the ``openbadges verify`` command: the command builds its JSON-LD document loader on
a fresh ``requests`` session, so the OB 2.0 context (``https://w3id.org/openbadges/v2``) would be fetched
from the network. This script does what ``openbadges.verifier.verify`` does (``verification_store`` then
``generate_report``, both public functions of the validator) but hands it the validator's own
``CachableDocumentLoader`` built on a session whose only transport answers the OB context URLs with the
validator's own copy of that context (``openbadges_context.OPENBADGES_CONTEXT_V2_DICT``, which it already
uses for its term checks) and refuses every other URL. The validator's code is not changed.

The assertion, badge class, issuer and images are fetched by the validator's own plain sessions: the
caller serves them on 127.0.0.1 and sets ``NO_PROXY`` for loopback and a dead ``HTTP(S)_PROXY`` for the
rest, so that nothing leaves the machine even if a document names an outside URL.

A baked image is unbaked here with the validator's own bakery (as ``verify`` would) so as to step around
two Python 3 slips of the 2020 release (see ``run``); what is validated is unchanged.

Only the standard library and the validator's venv are used here: the app's packages are not importable.
"""
import argparse
import json
import sys
import traceback

import requests
from requests.adapters import BaseAdapter
from requests.models import Response

from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT, OPENBADGES_CONTEXT_V2_URI
from openbadges.verifier.utils import CachableDocumentLoader
from openbadges.verifier.verifier import DEFAULT_OPTIONS, generate_report, verification_store
from openbadges_bakery import unbake

# w3id.org redirects the OB 2.0 context to openbadgespec.org; both names get the same document.
CONTEXTS = {
    OPENBADGES_CONTEXT_V2_URI: OPENBADGES_CONTEXT_V2_DICT,
    "https://openbadgespec.org/v2/context.json": OPENBADGES_CONTEXT_V2_DICT,
}


class ContextAdapter(BaseAdapter):
    """A ``requests`` transport that knows only the bundled contexts (no network at all)."""

    def send(self, request, **kwargs):
        url = request.url.split("#", 1)[0]
        if url not in CONTEXTS:
            raise requests.ConnectionError("offline: no bundled JSON-LD document for {}".format(url))
        response = Response()
        response.status_code = 200
        response.url = url
        response.request = request
        response.headers["Content-Type"] = "application/ld+json"
        response._content = json.dumps(CONTEXTS[url]).encode("utf-8")
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


def offline_options():
    """The validator's default options, without response caching and with the offline context loader."""
    session = requests.Session()
    session.mount("http://", ContextAdapter())
    session.mount("https://", ContextAdapter())
    options = dict(DEFAULT_OPTIONS)
    loader = CachableDocumentLoader(use_cache=False, session=session)
    options.update(use_cache=False, cache_backend=None, jsonld_options={"documentLoader": loader})
    return options


NO_BADGE = "Could not find Open Badges metadata in file."  # the validator's own message for this case


def _no_badge_report():
    """What the validator means to report for an image without a badge.

    Its ``verification_store`` raises ``ValueError(NO_BADGE)`` then reads ``e.message``, which Python 3
    exceptions lack, so the run would crash instead of reporting.
    """
    message = {"name": "DETECT_INPUT_TYPE", "success": False, "result": NO_BADGE, "messageLevel": "ERROR"}
    return {"graph": [], "input": {"input_type": "file"},
            "report": {"messages": [message], "errorCount": 1, "warningCount": 0, "valid": False}}


def run(target, recipient=None):
    options = offline_options()
    profile = {"email": recipient} if recipient else None
    if target.startswith(("http://", "https://")):
        badge_input = target
    else:
        # What verification_store does with a file (unbake, then validate the text), done here to step
        # around two Python 3 slips: the SVG reader of openbadges-bakery 1.2.4 returns bytes, which the
        # input detection does not recognise, and an image without a badge crashes (see _no_badge_report).
        with open(target, "rb") as image:
            badge_input = unbake(image)
        if not badge_input:
            return _no_badge_report()
        if isinstance(badge_input, bytes):
            badge_input = badge_input.decode("utf-8")
    store = verification_store(badge_input, recipient_profile=profile, options=options)
    return generate_report(store, options=options)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="hosted assertion URL, or baked PNG/SVG path")
    parser.add_argument("--recipient", help="the e-mail the assertion must be awarded to")
    args = parser.parse_args(argv)
    try:
        result = run(args.target, args.recipient)
    except Exception:  # the validator crashed: say so, the caller turns it into a failure
        sys.stderr.write(traceback.format_exc())
        return 2
    sys.stdout.write(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
