// The FHIR checker can fail and can pass: every resource of
// fixtures/invalid.ndjson and every answer of fixtures/traffic-bad breaks R4
// in one way and must be reported (against its own resource) with exit 1;
// fixtures/valid.ndjson and fixtures/traffic-good must pass.  node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (...p) => path.join(here, 'fixtures', ...p);
const run = (...args) =>
  spawnSync(process.execPath, [path.join(here, 'validate-fhir.mjs'), ...args], { encoding: 'utf8' });
const errorLines = (out) => out.split('\n').filter((l) => l.startsWith('ERROR '));
const withTmp = (name, text, fn) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-fixture-'));
  try {
    fs.writeFileSync(path.join(dir, name), text);
    return fn(dir, path.join(dir, name));
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
};

test('valid resources pass (ndjson)', () => {
  const r = run('ndjson', fixture('valid.ndjson'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const rt of ['AdverseEvent', 'Bundle', 'Observation', 'OperationOutcome', 'Patient']) {
    assert.match(r.stdout, new RegExp(`^  ${rt}: 1$`, 'm'));
  }
  assert.deepEqual(errorLines(r.stdout), []);
  assert.match(r.stdout, /^fhir: 0 warnings/m);
  assert.match(r.stdout, /^fhir: 5 resources validated, 0 errors$/m);
});

// each invalid resource (by the label the report gives it): what must be said
const invalid = {
  'Patient/bad-gender': 'Patient.gender: code "f" is not in required value set http://hl7.org/fhir/ValueSet/administrative-gender',
  'AdverseEvent/no-actuality': 'AdverseEvent.actuality: Missing required property',
  'Observation/no-status': 'Observation.status: Missing required property',
  'Patient/unknown-element': 'Patient.colour: Invalid additional property "colour"',
  'Bundle/bad-entry entry[0]: Observation/obs-bad':
    'Observation.status: code "done" is not in required value set http://hl7.org/fhir/ValueSet/observation-status',
  'Patient/a b': 'Patient.id: id "a b" does not match',
  'Patient (no id)': 'Patient.id: no id',
  'Patient/meta-project': 'Patient.meta.project: Invalid additional property "project"',
  'Patient/bad-date': 'Patient.birthDate: Invalid date format',
  'Condition/bad-clinical-status': 'Condition.clinicalStatus: no coding (http://terminology.hl7.org/CodeSystem/condition-clinical|ongoing) is in required value set',
  'ResearchStudy/r5-element': 'ResearchStudy.name: Invalid additional property "name"',
  'SubscriptionStatus/not-r4': 'resourceType: "SubscriptionStatus" is not an R4 resource type',
};

test('each invalid resource is refused, against itself (ndjson)', () => {
  const r = run('ndjson', fixture('invalid.ndjson'));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const lines = errorLines(r.stdout);
  const expected = Object.entries(invalid);
  assert.equal(lines.length, expected.length, r.stdout);
  for (const [n, [what, message]] of expected.entries()) {
    // invalid.ndjson holds them in this order, one a line
    assert.ok(lines[n].startsWith(`ERROR invalid.ndjson:${n + 1}: ${what} ${message}`), `${what}\n${r.stdout}`);
  }
  // 12 lines, the Bundle's entry validated on its own as well
  assert.match(r.stdout, /^fhir: 13 resources validated, 12 errors$/m);
});

test('one invalid resource among valid ones fails the run', () => {
  const valid = fs.readFileSync(fixture('valid.ndjson'), 'utf8');
  const bad = fs.readFileSync(fixture('invalid.ndjson'), 'utf8').split('\n')[0];
  withTmp('mixed.ndjson', `${valid}\n${bad}\n`, (_dir, file) => {
    const r = run('ndjson', fixture('valid.ndjson'), file);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^fhir: 11 resources validated, 1 errors$/m);
  });
});

test('FHIR answers in recorded traffic pass (traffic)', () => {
  const r = run('traffic', fixture('traffic-good'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // 5 exchanges: a HEAD has no body, /patients/1 is application/json
  assert.match(r.stdout, /^fhir: 5 exchanges read, 4 answered application\/fhir\+json$/m);
  assert.match(r.stdout, /^  OperationOutcome: 2$/m); // the 404's and the searchset's outcome entry
  assert.match(r.stdout, /^fhir: 5 resources validated, 0 errors$/m);
});

const badTraffic = {
  1: 'Patient/bad-gender Patient.gender: code "f" is not in required value set',
  2: 'OperationOutcome (no id) OperationOutcome.issue[0].severity: code "bad" is not in required value set http://hl7.org/fhir/ValueSet/issue-severity',
  3: 'Bundle/bad-entry entry[0]: Observation/obs-bad Observation.status: code "done"',
  4: 'Patient (no id) Patient.id: no id',
  5: 'the body is not JSON',
  6: 'an empty application/fhir+json body',
};

test('each bad FHIR answer is refused, by test and seq (traffic)', () => {
  const r = run('traffic', fixture('traffic-bad'));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const lines = errorLines(r.stdout);
  assert.equal(lines.length, Object.keys(badTraffic).length, r.stdout);
  for (const [seq, message] of Object.entries(badTraffic)) {
    const line = lines.find((l) => l.startsWith(`ERROR test_fhir_bad #${seq} `));
    assert.ok(line && line.includes(message), `#${seq}: ${message}\n${r.stdout}`);
  }
  assert.match(r.stdout, /^fhir: 5 resources validated, 6 errors$/m);
});

test('nothing validated is a failure, not a pass', () => {
  const notFhir = fs.readFileSync(fixture('traffic-good', 'test_fhir.ndjson'), 'utf8').split('\n')[4];
  withTmp('no_fhir.ndjson', notFhir + '\n', (dir) => {
    const r = run('traffic', dir);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^fhir: 1 exchanges read, 0 answered application\/fhir\+json$/m);
    assert.match(r.stdout, /^fhir: 0 resources validated, 0 errors$/m);
  });
  withTmp('empty.ndjson', '\n', (_dir, file) => {
    const r = run('ndjson', file);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^fhir: 0 resources validated, 0 errors$/m);
  });
});

test('warnings are counted, listed with --warnings, and do not fail', () => {
  // R4's Observation.subject may not be an Organization: the validator warns
  const obs = { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: 'Organization/1' } };
  withTmp('warn.ndjson', JSON.stringify(obs) + '\n', (_dir, file) => {
    let r = run('ndjson', file);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^fhir: 1 warnings or information issues/m);
    assert.doesNotMatch(r.stdout, /^WARNING /m);
    r = run('--warnings', 'ndjson', file);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^WARNING warn\.ndjson:1: Observation\/o Observation\.subject: Invalid reference/m);
    assert.match(r.stdout, /^fhir: 1 resources validated, 0 errors$/m);
  });
});

test('at most 50 errors are printed, all are counted', () => {
  const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ resourceType: 'Patient', id: `p${i}`, gender: 'f' }));
  withTmp('many.ndjson', lines.join('\n') + '\n', (_dir, file) => {
    const r = run('ndjson', file);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(errorLines(r.stdout).length, 50);
    assert.match(r.stdout, /^\.\.\. and 10 more errors$/m);
    assert.match(r.stdout, /^fhir: 60 resources validated, 60 errors$/m);
  });
});

test('usage errors exit 2', () => {
  for (const args of [[], ['traffic'], ['xml', fixture('valid.ndjson')], ['ndjson', fixture('no-such.ndjson')], ['ndjson', fixture('traffic-good')]]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /usage: validate-fhir\.mjs/);
  }
});
