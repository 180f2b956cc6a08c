// The peer: what a competent Node.js team would write for four cohortd routes
// (bench/run measures cohortd against it; bench/peer/run starts it).
// fastify (JSON-schema validation built in) + better-sqlite3 (synchronous, prepared
// statements), WAL with synchronous=NORMAL, one process. Used only to measure cohortd
// against, side by side, on the same machine and the same data.
//
//   node peer.js --port 8091 --db peer.db --patients 100000
//
// Routes: GET /patients/:id, GET /patients?limit=&after=, POST /toxicities (validated,
// inserted with a hash-chained audit row in one transaction), GET /stats/response
// (best overall response per patient and ORR with a Wilson CI, recomputed per request).
'use strict';
const crypto = require('crypto');
const Database = require('better-sqlite3');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port', 8091));
const dbPath = arg('db', 'cohortd-peer.db');
const nPatients = Number(arg('patients', 652));

const REGIMENS = ['il2_alone', 'il2_lak', 'il2_til', 'il2_ifn_alpha', 'il2_tnf', 'il2_antibody', 'il2_cyclophosphamide'];
const HISTOLOGIES = ['melanoma', 'renal_cell', 'colorectal', 'non_hodgkin_lymphoma', 'sarcoma', 'breast', 'lung', 'other'];
const RESPONSES = ['CR', 'PR', 'MR', 'SD', 'PD', 'NE'];
const TERMS = ['Hypotension', 'Capillary leak syndrome', 'Chills', 'Nausea', 'Diarrhea', 'Creatinine increased', 'Confusion', 'Sepsis'];

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.exec(`
CREATE TABLE IF NOT EXISTS patient (id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL, sex TEXT NOT NULL,
  age INTEGER, histology TEXT NOT NULL, setting TEXT NOT NULL, regimen TEXT NOT NULL, enrolled_on TEXT NOT NULL,
  last_contact_on TEXT, vital_status TEXT NOT NULL, died_on TEXT, death_cause TEXT, version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS course (id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL REFERENCES patient(id),
  number INTEGER NOT NULL, started_on TEXT NOT NULL, ended_on TEXT, il2_dose REAL, il2_dose_unit TEXT,
  doses_given INTEGER, stop_reason TEXT, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, UNIQUE (patient_id, number));
CREATE TABLE IF NOT EXISTS outcome (id INTEGER PRIMARY KEY, course_id INTEGER NOT NULL REFERENCES course(id),
  assessed_on TEXT NOT NULL, criteria TEXT NOT NULL, response TEXT NOT NULL, confirmed INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outcome_course ON outcome(course_id);
CREATE TABLE IF NOT EXISTS toxicity (id INTEGER PRIMARY KEY, course_id INTEGER NOT NULL REFERENCES course(id),
  term TEXT NOT NULL, grade INTEGER NOT NULL, onset_on TEXT NOT NULL, resolved_on TEXT, attribution TEXT NOT NULL,
  serious INTEGER NOT NULL, outcome TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS toxicity_course ON toxicity(course_id);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  entity TEXT NOT NULL, entity_id INTEGER NOT NULL, after TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
`);

// A deterministic cohort of nPatients, about 1.6 courses, 2 outcomes and 4 toxicities a patient.
function seed() {
  if (db.prepare('SELECT count(*) AS n FROM patient').get().n > 0) return;
  let s = 42;
  const rnd = (k) => { s = (s * 1103515245 + 12345) % 2147483648; return (s >>> 8) % k; };
  const now = new Date().toISOString();
  const insP = db.prepare(`INSERT INTO patient (code, sex, age, histology, setting, regimen, enrolled_on, vital_status,
    created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'alive', ?, ?)`);
  const insC = db.prepare(`INSERT INTO course (patient_id, number, started_on, il2_dose, il2_dose_unit, doses_given,
    created_at, updated_at) VALUES (?, ?, ?, 720000, 'IU/kg', ?, ?, ?)`);
  const insO = db.prepare(`INSERT INTO outcome (course_id, assessed_on, criteria, response, confirmed, created_at,
    updated_at) VALUES (?, ?, 'who', ?, 0, ?, ?)`);
  const insT = db.prepare(`INSERT INTO toxicity (course_id, term, grade, onset_on, attribution, serious, outcome,
    created_at, updated_at) VALUES (?, ?, ?, ?, 'probable', 0, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 1; i <= nPatients; i++) {
      const pid = insP.run(`P${String(i).padStart(7, '0')}`, ['female', 'male'][rnd(2)], 20 + rnd(60),
        HISTOLOGIES[rnd(8)], rnd(10) ? 'metastatic' : 'adjuvant', REGIMENS[rnd(7)], '1986-01-01', now, now).lastInsertRowid;
      const nc = 1 + (rnd(5) < 3 ? 0 : 1 + rnd(2));
      for (let c = 1; c <= nc; c++) {
        const cid = insC.run(pid, c, '1986-02-01', 8 + rnd(8), now, now).lastInsertRowid;
        insO.run(cid, '1986-04-01', RESPONSES[rnd(6)], now, now);
        for (let t = 0; t < 2 + rnd(2); t++) {
          const g = 1 + rnd(4);
          insT.run(cid, TERMS[rnd(8)], g, '1986-02-03', 'recovered', now, now);
        }
      }
    }
  })();
}
seed();

const getPatient = db.prepare('SELECT * FROM patient WHERE id = ?');
const listPatients = db.prepare('SELECT * FROM patient WHERE id > ? ORDER BY id LIMIT ?');
const getCourse = db.prepare('SELECT id, patient_id FROM course WHERE id = ?');
const insTox = db.prepare(`INSERT INTO toxicity (course_id, term, grade, onset_on, resolved_on, attribution, serious,
  outcome, created_at, updated_at) VALUES (@course_id, @term, @grade, @onset_on, @resolved_on, @attribution,
  @serious, @outcome, @now, @now) RETURNING *`);
const lastHash = db.prepare('SELECT hash FROM audit ORDER BY seq DESC LIMIT 1');
const insAudit = db.prepare(`INSERT INTO audit (at, actor, action, entity, entity_id, after, prev_hash, hash)
  VALUES (?, 'peer', 'create', 'toxicity', ?, ?, ?, ?)`);
const bor = db.prepare(`
  WITH best AS (
    SELECT p.id, p.regimen, min(CASE o.response WHEN 'CR' THEN 1 WHEN 'PR' THEN 2 WHEN 'MR' THEN 3 WHEN 'SD' THEN 4
      WHEN 'PD' THEN 5 ELSE 6 END) AS rank
    FROM patient p JOIN course c ON c.patient_id = p.id LEFT JOIN outcome o ON o.course_id = c.id
    WHERE p.setting = 'metastatic' GROUP BY p.id)
  SELECT regimen, count(*) AS total, sum(rank <= 2) AS responders, sum(rank = 1) AS complete FROM best GROUP BY regimen`);

function wilson(k, n, z = 1.959963984540054) {
  if (n === 0) return { lower: null, upper: null };
  const p = k / n, d = 1 + z * z / n, c = p + z * z / (2 * n);
  const h = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return { lower: (c - h) / d, upper: (c + h) / d };
}
const prop = (k, n) => ({ count: k, total: n, rate: n ? k / n : null, ci: { ...wilson(k, n), method: 'wilson', level: 0.95 } });

const app = require('fastify')({ logger: false });

app.get('/patients/:id', (req, reply) => {
  const row = getPatient.get(Number(req.params.id));
  if (!row) return reply.code(404).type('application/problem+json').send({ title: 'Not Found', status: 404 });
  reply.header('ETag', `"${row.version}"`);
  return row;
});

app.get('/patients', (req) => {
  const limit = Math.min(Number(req.query.limit ?? 50), 1000);
  const items = listPatients.all(Number(req.query.after ?? 0), limit);
  const next = items.length === limit ? `/patients?limit=${limit}&after=${items[items.length - 1].id}` : null;
  return { items, next };
});

const toxSchema = {
  body: {
    type: 'object', additionalProperties: false,
    required: ['course_id', 'term', 'grade', 'onset_on', 'attribution'],
    properties: {
      course_id: { type: 'integer' }, term: { type: 'string', minLength: 1, maxLength: 100 },
      grade: { type: 'integer', minimum: 1, maximum: 5 }, onset_on: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      resolved_on: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
      attribution: { enum: ['unrelated', 'unlikely', 'possible', 'probable', 'definite'] },
      serious: { type: 'boolean' },
      outcome: { enum: ['recovered', 'recovering', 'not_recovered', 'sequelae', 'fatal', 'unknown'] },
    },
  },
};
const createToxicity = db.transaction((b) => {
  if (!getCourse.get(b.course_id)) return null;
  const now = new Date().toISOString();
  const row = insTox.get({ resolved_on: null, serious: 0, outcome: 'unknown', ...b, serious: b.serious ? 1 : 0, now });
  const prev = lastHash.get()?.hash ?? '';
  const after = JSON.stringify(row);
  insAudit.run(now, row.id, after, prev, crypto.createHash('sha256').update(prev + after).digest('hex'));
  return row;
});
app.post('/toxicities', { schema: toxSchema }, (req, reply) => {
  const b = req.body;
  if ((b.grade === 5) !== (b.outcome === 'fatal'))
    return reply.code(422).type('application/problem+json').send({ title: 'grade 5 iff fatal', status: 422 });
  const row = createToxicity(b);
  if (!row) return reply.code(422).type('application/problem+json').send({ title: 'no such course', status: 422 });
  reply.code(201).header('Location', `/toxicities/${row.id}`);
  return row;
});

app.get('/stats/response', () => {
  const rows = bor.all();
  let n = 0, r = 0, c = 0;
  const groups = rows.map((g) => {
    n += g.total; r += g.responders; c += g.complete;
    return { key: g.regimen, objective_response: prop(g.responders, g.total), complete_response: prop(g.complete, g.total) };
  });
  return { overall: { objective_response: prop(r, n), complete_response: prop(c, n) }, groups };
});

app.listen({ port, host: '127.0.0.1' }).then(() => console.log(`peer listening on 127.0.0.1:${port}`));
