// Checks every response the API tests received against openapi.yaml.
//
//   node validate-traffic.mjs OPENAPI.yaml DIR|FILE.ndjson...
//
// Each input line is one exchange recorded by the test harness
// (tests/api/harness.c, traffic_record): method, path, status, response
// headers and body. openapi-backend matches method + path to the operation;
// the status must be documented for it (exactly, as NXX or as `default`), the
// Content-Type must be one the response lists (no body where it lists none),
// every header it declares must match its schema and every required one be
// present, and none of the headers the API sets per answer (ETag, Location,
// Link, Allow, ...) may be sent where the response does not declare it. A
// JSON body must validate against the schema (Ajv, JSON Schema 2020-12 as
// OpenAPI 3.1 uses), and a problem's status be the answer's. A list's CSV
// must have the header row of its JSON items' members; other bodies (stats
// CSV, YAML, text) are checked for their content type only. A request no
// operation matches answers the problem the description's Errors section
// gives it: 404 for an unknown path, 405 (with Allow) for a method the path
// does not take, or 413 for a body over the limit. HEAD is checked as GET
// without a body, OPTIONS as 204 without a body.
//
// Prints each mismatch, how many of the documented operation + status pairs
// the traffic holds (--unseen lists the others), then "spec: N responses
// checked, M mismatches", and exits 1 when there is any mismatch.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { OpenAPIBackend } from 'openapi-backend';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const args = process.argv.slice(2);
const listUnseen = args[0] === '--unseen' && args.shift();
const [specPath, ...inputs] = args;
if (!specPath || inputs.length === 0) {
  console.error('usage: validate-traffic.mjs [--unseen] OPENAPI.yaml DIR|FILE.ndjson...');
  process.exit(2);
}

// OpenAPI's own schema keywords that JSON Schema does not define; any other
// unknown keyword makes Ajv throw, so nothing in a schema is silently skipped.
function newAjv(opts = {}) {
  const ajv = new Ajv2020({
    ...opts,
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
  });
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  addFormats(ajv);
  return ajv;
}

// quick: the document is only dereferenced, not checked against the OpenAPI
// 3.0 meta-schema openapi-backend carries (tools/lint-openapi checks it as 3.1).
const api = new OpenAPIBackend({
  definition: path.resolve(specPath),
  quick: true,
  ignoreTrailingSlashes: false,
  customizeAjv: (_ajv, opts) => newAjv(opts),
});
await api.init();

const bodyAjv = newAjv();
const compiled = new Map();
function bodyValidator(key, schema) {
  if (!compiled.has(key)) compiled.set(key, bodyAjv.compile(schema));
  return compiled.get(key);
}

const components = api.definition.components;
// The answers to requests no operation matches (a framing refusal, 400 or
// 501, comes before routing: see "HTTP framing" in openapi.yaml).
const fallback = {
  operationId: '(no operation)',
  responses: {
    400: components.responses.BadRequest,
    404: components.responses.NotFound,
    405: {
      ...components.responses.NotFound,
      headers: { ...components.responses.NotFound.headers, Allow: { required: true, schema: { type: 'string' } } },
    },
    413: components.responses.PayloadTooLarge,
    501: components.responses.NotImplemented,
  },
};
// Under /fhir the same refusals are FHIR OperationOutcomes.
const fhirFallback = {
  operationId: '(no operation)',
  responses: {
    ...fallback.responses,
    404: components.responses.FhirNotFound,
    405: {
      ...components.responses.FhirNotFound,
      headers: { ...components.responses.FhirNotFound.headers, Allow: { required: true, schema: { type: 'string' } } },
    },
  },
};
const options = {
  operationId: '(OPTIONS)',
  responses: {
    204: { headers: { Allow: { schema: { type: 'string' } }, 'X-Request-ID': components.headers.XRequestId } },
  },
};
const methods = ['get', 'put', 'post', 'delete', 'patch'];
// The headers the API itself sets per answer: each must be declared on the
// response that carries it. (Date, Content-*, Vary: Accept-Encoding and the
// CORS headers are described once for every answer.)
const apiHeaders = ['etag', 'location', 'link', 'allow', 'www-authenticate', 'idempotent-replayed', 'retry-after', 'x-request-id'];

// method as sent: methods are case-sensitive, so "get" is no GET.
function findOperation(method, pathname) {
  const match = (m) => api.matchOperation({ method: m, path: pathname, headers: {} });
  const none = pathname === '/fhir' || pathname.startsWith('/fhir/') ? fhirFallback : fallback;
  if (method === 'OPTIONS') return methods.some(match) ? options : none;
  const m = method === 'HEAD' ? 'get' : method.toLowerCase();
  return (method === method.toUpperCase() && methods.includes(m) && match(m)) || none;
}

function findResponse(op, status) {
  const rs = op.responses || {};
  return rs[String(status)] || rs[`${String(status)[0]}XX`] || rs.default;
}

const essence = (ct) => (ct || '').split(';')[0].trim().toLowerCase();
const isJson = (mt) => mt === 'application/json' || mt.endsWith('+json');

function decodeBody(x) {
  if (x.body !== undefined) return Buffer.from(x.body, 'utf8');
  let buf = Buffer.from(x.body_base64 || '', 'base64');
  if ((x.headers['content-encoding'] || '').toLowerCase() === 'gzip' && buf.length) buf = zlib.gunzipSync(buf);
  return buf;
}

// Returns a list of what is wrong with one exchange ([] when it matches).
function check(x) {
  // as the server reads it: a percent-encoded unreserved character is that
  // character (RFC 3986 §2.3: /p%61tients is /patients)
  const pathname = x.path.split('?')[0].replace(/%([0-9A-Fa-f]{2})/g, (m, hex) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9._~-]/.test(c) ? c : m;
  });
  const op = findOperation(x.method, pathname);
  const errors = [];
  const where = op.operationId;
  const res = findResponse(op, x.status);
  if (!res) return { where, errors: [`status ${x.status} is not documented`] };
  seen.add(`${where} ${x.status}`);

  const headers = x.headers || {};
  for (const [name, h] of Object.entries(res.headers || {})) {
    if (h.required && headers[name.toLowerCase()] === undefined) errors.push(`header ${name} is required but absent`);
  }
  const declared = new Set(Object.keys(res.headers || {}).map((n) => n.toLowerCase()));
  for (const name of apiHeaders) {
    if (headers[name] !== undefined && !declared.has(name)) errors.push(`header ${name} is sent but not declared`);
  }
  if (!op.operationId.startsWith('(')) {
    const v = api.validateResponseHeaders(headers, op, { statusCode: x.status });
    for (const e of v.errors || []) errors.push(`header ${e.instancePath.replace('/headers/', '')} ${e.message}`);
  } else {
    // the answers above that are no operation of the document
    for (const [name, h] of Object.entries(res.headers || {})) {
      const value = headers[name.toLowerCase()];
      if (value === undefined || !h.schema) continue;
      const validate = bodyValidator(`${where} ${x.status} header ${name}`, h.schema);
      if (!validate(value)) errors.push(`header ${name.toLowerCase()} ${validate.errors[0].message}`);
    }
  }

  const body = decodeBody(x);
  const mt = essence(headers['content-type']);
  const noBody = x.method === 'HEAD' || x.status === 204 || x.status === 304;
  if (!res.content) {
    if (body.length) errors.push(`a body (${mt || 'no content type'}) where the response has none`);
    return { where, errors };
  }
  if (!mt) {
    if (!noBody || body.length) errors.push('no Content-Type');
    return { where, errors };
  }
  const key = Object.keys(res.content).find((k) => essence(k) === mt);
  if (!key) {
    errors.push(`content type ${mt} is not one of ${Object.keys(res.content).join(', ')}`);
    return { where, errors };
  }
  if (noBody) return { where, errors };
  if (mt === 'text/csv') {
    // A list's CSV has a header row of its JSON items' members, in order
    // (a record's schema, or the first of the item's anyOf); with fields=,
    // only those asked for, still in the record's order.
    const item = res.content['application/json']?.schema?.properties?.items?.items;
    const props = item?.properties ?? item?.anyOf?.[0]?.properties;
    const header = body.toString('utf8').split(/\r?\n/)[0];
    if (props) {
      const fields = new URLSearchParams(x.path.split('?')[1] || '').get('fields');
      const picked = fields ? new Set(fields.split(',')) : null;
      const want = Object.keys(props).filter((k) => !picked || picked.has(k)).join(',');
      if (header !== want) errors.push(`CSV header row "${header}" is not "${want}"`);
    }
  }
  if (!isJson(mt)) return { where, errors };
  let data;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch (e) {
    errors.push(`the ${mt} body is not JSON: ${e.message}`);
    return { where, errors };
  }
  // RFC 9457: a problem's status is the answer's.
  if (mt === 'application/problem+json' && data && data.status !== x.status) {
    errors.push(`problem status ${data.status} is not the answer's ${x.status}`);
  }
  const schema = res.content[key].schema;
  if (schema) {
    const validate = bodyValidator(`${where} ${x.status} ${key}`, schema);
    if (!validate(data)) {
      for (const e of validate.errors) errors.push(`body${e.instancePath} ${e.message} (${e.schemaPath}${e.params ? ' ' + JSON.stringify(e.params) : ''})`);
    }
  }
  return { where, errors };
}

const files = inputs.flatMap((p) =>
  fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((f) => f.endsWith('.ndjson')).sort().map((f) => path.join(p, f))
    : [p],
);
const seen = new Set();
let checked = 0;
let mismatches = 0;
const kinds = new Map();
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const x = JSON.parse(line);
    checked++;
    const { where, errors } = check(x);
    if (errors.length === 0) continue;
    mismatches++;
    const ct = (x.headers || {})['content-type'] || '-';
    const kind = `${where} ${x.status}: ${errors[0]}`;
    kinds.set(kind, (kinds.get(kind) || 0) + 1);
    if (kinds.get(kind) > 3) continue; // the first three of a kind are enough
    console.log(`MISMATCH ${path.basename(file)}:${i + 1}: ${x.method} ${x.path} -> ${x.status} ${ct} (${where})`);
    for (const e of errors.slice(0, 10)) console.log(`  ${e}`);
    const shown = x.body !== undefined ? x.body : '(base64)';
    console.log(`  body: ${shown.length > 300 ? shown.slice(0, 300) + '...' : shown}`);
  }
}
if (kinds.size) {
  console.log('mismatches by kind:');
  for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${n}x ${kind}`);
}
// How much of the document the traffic proves: operation + status pairs seen.
const documented = api.getOperations().flatMap((op) => Object.keys(op.responses || {}).map((st) => `${op.operationId} ${st}`));
const unseen = documented.filter((d) => !seen.has(d));
console.log(`spec: ${documented.length - unseen.length} of ${documented.length} documented responses seen`);
if (listUnseen) for (const u of unseen) console.log(`  unseen: ${u}`);
console.log(`spec: ${checked} responses checked, ${mismatches} mismatches`);
process.exit(mismatches || checked === 0 ? 1 : 0);
