// The validator can fail: every exchange of fixtures/bad.ndjson breaks the
// spec in one way (its "expect" names the message) and must be reported with
// a non-zero exit; fixtures/good.ndjson must pass.  node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const spec = path.join(here, '..', '..', 'openapi.yaml');
const run = (file) =>
  spawnSync(process.execPath, [path.join(here, 'validate-traffic.mjs'), spec, file], { encoding: 'utf8' });

test('answers that match the spec pass', () => {
  const r = run(path.join(here, 'fixtures', 'good.ndjson'));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^spec: 8 responses checked, 0 mismatches$/m);
});

const bad = fs.readFileSync(path.join(here, 'fixtures', 'bad.ndjson'), 'utf8').trim().split('\n');
for (const line of bad) {
  const x = JSON.parse(line);
  test(`${x.method} ${x.path} -> ${x.status} is refused: ${x.expect}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-fixture-'));
    const file = path.join(dir, 'one.ndjson');
    fs.writeFileSync(file, line + '\n');
    const r = run(file);
    fs.rmSync(dir, { recursive: true });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(x.expect), r.stdout);
    assert.match(r.stdout, /^spec: 1 responses checked, 1 mismatches$/m);
  });
}

test('an empty record is a failure, not a pass', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-fixture-'));
  const r = run(dir);
  fs.rmSync(dir, { recursive: true });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^spec: 0 responses checked, 0 mismatches$/m);
});
