// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core. On a fresh demo cohort it loads GET /, waits for the
// charts, and checks that every section shows what the API answers (the
// same /stats/* routes fetched from here: the charts' own data through
// Chart.getChart, and the figures the page writes beside them), changes a
// filter and checks again, and saves screenshots into the artifacts folder.
// A second case runs the server with anonymous reads off: the page asks for
// a token, and works once one is entered. A third holds the page to every
// screen, every reader and paper (issue 23): at 360, 768, 1024 and 1440 px
// no overflow and no overlap, no axe-core violation, every chart described
// by its table, the keyboard reaching every control with a visible focus;
// then an A4 PDF read back with poppler (pages, text, the foot).
//
//   ONLY=TEXT runs only the cases whose name holds TEXT.
//   COHORTD_BIN=build/test-plain/cohortd node tests/browser/dashboard.test.mjs
//   (ARTIFACTS, default build/artifacts; CHROMIUM, default /usr/bin/chromium)
//
// Prints one line per case and "browser: N passed, N failed"; exits non-zero
// on any failure.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = resolve(process.env.COHORTD_BIN ?? join(root, 'build/test-plain/cohortd'));
const artifacts = resolve(process.env.ARTIFACTS ?? join(root, 'build/artifacts'));
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TIMEOUT = 20000;
/* the widths the page must hold at (issue 23): a small phone, a tablet, a
 * laptop, a desktop */
const WIDTHS = [360, 768, 1024, 1440];
/* axe-core, injected into the page as the DevTools protocol's evaluation
 * (the page's Content-Security-Policy forbids inline scripts, and rightly) */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'cohortd-browser-'));

/* ---- the server ---------------------------------------------------------- */

function demoDb(name) {
  const db = join(work, `${name}.db`);
  execFileSync(bin, ['demo', '--db', db], { stdio: 'ignore' });
  return db;
}

/* Starts cohortd on a free port (--port 0) and reads the port from its
 * "listening" log line. */
function startServer(db, extra = []) {
  return new Promise((ok, fail) => {
    const child = spawn(bin, ['--db', db, '--port', '0', ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    let started = false;
    const timer = setTimeout(() => fail(new Error(`cohortd did not start:\n${log}`)), 10000);
    child.stderr.on('data', (chunk) => {
      if (started) return; /* the request lines that follow are not needed */
      log += chunk;
      const m = log.match(/"msg":"listening".*?"port":(\d+)/);
      if (m) {
        started = true;
        clearTimeout(timer);
        ok({ child, base: `http://127.0.0.1:${m[1]}` });
      }
    });
    child.on('exit', (code) => fail(new Error(`cohortd exited (${code}):\n${log}`)));
  });
}

async function stopServer(s) {
  if (!s) return;
  await new Promise((ok) => {
    if (s.child.exitCode !== null) return ok();
    s.child.once('exit', ok);
    s.child.kill('SIGTERM');
  });
}

/* ---- the API, as the page asks it ----------------------------------------- */

async function apiGet(base, path, params = {}, token = null) {
  const q = new URLSearchParams(params).toString();
  const r = await fetch(`${base}${path}${q ? `?${q}` : ''}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  assert.equal(r.status, 200, `${path}?${q} answered ${r.status}`);
  return r.json();
}

const pctText = (rate, digits) => (rate == null ? '–' : `${(rate * 100).toFixed(digits)}%`);
const close = (a, b, what) =>
  assert.ok(
    (a == null && b == null) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)),
    `${what}: page ${a}, API ${b}`,
  );
/* a proportion as the page's data-* attributes: unformatted, none when null */
const proportionAttrs = (p) =>
  Object.fromEntries(
    Object.entries({ count: p.count, total: p.total, rate: p.rate, lower: p.ci.lower, upper: p.ci.upper })
      .filter(([, v]) => v != null)
      .map(([k, v]) => [k, String(v)]),
  );

/* What the page shows, read from its DOM and its Chart.js charts. */
function readPage(page) {
  return page.evaluate(() => {
    const rows = (sel) => [...document.querySelectorAll(`${sel} tbody tr`)];
    const attrs = (e) => ({ ...e.dataset });
    const chart = (id) => {
      const c = Chart.getChart(id);
      return {
        labels: c.data.labels,
        datasets: c.data.datasets.map((d) => d.data),
        width: c.width,
        height: c.height,
      };
    };
    return {
      state: document.body.dataset.state,
      query: document.body.dataset.query,
      table1: rows('#table1').map((r) => ({
        key: r.dataset.key,
        cells: Object.fromEntries([...r.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent])),
      })),
      response: Object.fromEntries(
        ['regimen', 'histology'].map((w) => [
          w,
          {
            rows: rows(`#fig-response-${w}`).map((r) => ({
              ...attrs(r),
              text: r.querySelector('[data-field=rate]').textContent,
            })),
            chart: chart(`chart-response-${w}`),
          },
        ]),
      ),
      mortality: Object.fromEntries(
        ['course', 'patient'].map((w) => {
          const t = document.getElementById(`tile-mortality-${w}`);
          return [w, { ...attrs(t), text: t.querySelector('[data-field=rate]').textContent }];
        }),
      ),
      causes: rows('#mortality-causes').map(attrs),
      toxicity: {
        rows: rows('#fig-toxicity').map((r) => ({ ...attrs(r), text: r.querySelector('[data-field=rate]').textContent })),
        chart: chart('chart-toxicity'),
      },
      survival: {
        ...attrs(document.getElementById('survival-summary')),
        chart: chart('chart-survival'),
        landmarks: rows('#survival-landmarks').map((r) => ({
          key: r.dataset.key,
          n: r.querySelector('[data-field=n]').textContent,
          at: [...r.querySelectorAll('td[data-at]')].map(attrs),
        })),
        comparison: document.getElementById('sec-comparison').hidden
          ? null
          : {
              logrank: attrs(document.getElementById('survival-logrank')),
              ratios: rows('#survival-hazard-ratios').map(attrs),
              forest: chart('chart-forest'),
            },
      },
      durable: { ...attrs(document.getElementById('durable-summary')), rows: rows('#durable').map(attrs) },
    };
  });
}

/* Every section of the page against the API's answers for the same filters. */
async function checkAgainstApi(page, base, filters, token = null, survivalOptions = { endpoint: 'overall' }) {
  const get = (path, extra = {}) => apiGet(base, path, { ...filters, ...extra }, token);
  const [summary, byRegimen, byHistology, mortality, toxicity, survival, durable] = await Promise.all([
    get('/stats/summary', { group_by: 'regimen' }),
    get('/stats/response', { group_by: 'regimen' }),
    get('/stats/response', { group_by: 'histology' }),
    get('/stats/mortality'),
    get('/stats/toxicity'),
    get('/stats/survival', { ...survivalOptions, at: '365,730' }),
    get('/stats/durable-response'),
  ]);
  const shown = await readPage(page);
  assert.equal(shown.state, 'ready');
  /* every state the test visits is accessible, not only the first */
  assert.deepEqual(await accessibilityProblems(page), [], `axe-core, ${new URLSearchParams(filters)}`);
  assert.equal(shown.query, new URLSearchParams(filters).toString());

  // Table 1: a row per regimen with patients, and the total
  const o = summary.overall;
  const histologies = Object.keys(o.by_histology).filter((h) => o.by_histology[h] > 0);
  const expectRow = (key, g) => ({
    key,
    cells: Object.fromEntries([
      ['patients', String(g.patients)],
      ['treated', String(g.treated)],
      ['courses', String(g.courses)],
      ...Object.keys(o.by_setting).map((s) => [`setting:${s}`, String(g.by_setting[s])]),
      ...histologies.map((h) => [`histology:${h}`, String(g.by_histology[h])]),
    ]),
  });
  assert.deepEqual(shown.table1, [
    ...summary.groups.filter((g) => g.patients > 0).map((g) => expectRow(g.key, g)),
    expectRow('overall', o),
  ]);

  // objective response, by regimen and by histology: table and chart
  for (const [which, answer] of [['regimen', byRegimen], ['histology', byHistology]]) {
    const groups = answer.groups.filter((g) => g.objective_response.total > 0);
    const s = shown.response[which];
    assert.deepEqual(
      s.rows,
      [...groups.map((g) => [g.key, g.objective_response]), ['overall', answer.overall.objective_response]].map(
        ([key, p]) => ({ key, ...proportionAttrs(p), text: pctText(p.rate, 1) }),
      ),
      `response by ${which}`,
    );
    assert.equal(s.chart.labels.length, groups.length, `response chart by ${which}: bars`);
    assert.ok(s.chart.width > 100 && s.chart.height > 100, `response chart by ${which} is drawn`);
    groups.forEach((g, i) => {
      const p = g.objective_response;
      close(s.chart.datasets[0][i], p.rate * 100, `${which} ${g.key} bar`);
      close(s.chart.datasets[1][i][0], p.ci.lower * 100, `${which} ${g.key} CI lower`);
      close(s.chart.datasets[1][i][1], p.ci.upper * 100, `${which} ${g.key} CI upper`);
    });
  }

  // mortality tiles and causes
  for (const [which, p] of [['course', mortality.overall.per_course], ['patient', mortality.overall.per_patient]])
    assert.deepEqual(shown.mortality[which], { ...proportionAttrs(p), text: pctText(p.rate, 2) }, `mortality per ${which}`);
  assert.deepEqual(
    shown.causes,
    mortality.overall.causes.map((c) => ({ term: c.term, count: String(c.count) })),
  );

  // grade >= 3 toxicity by term: table and chart, in the API's order
  const terms = toxicity.overall.terms.filter((t) => t.at_or_above.count > 0);
  assert.deepEqual(
    shown.toxicity.rows,
    terms.map((t) => ({ term: t.term, ...proportionAttrs(t.at_or_above), text: pctText(t.at_or_above.rate, 1) })),
  );
  assert.deepEqual(shown.toxicity.chart.labels, terms.map((t) => t.term));
  terms.forEach((t, i) => close(shown.toxicity.chart.datasets[0][i], t.at_or_above.rate * 100, `toxicity ${t.term}`));

  // Kaplan-Meier: ungrouped, the three stepped series are the API's curve,
  // from S(0) = 1; grouped, one series per group with patients
  const so = survival.overall;
  assert.deepEqual(
    { endpoint: shown.survival.endpoint, n: shown.survival.n, events: shown.survival.events, median: shown.survival.median },
    {
      endpoint: survivalOptions.endpoint,
      n: String(so.n),
      events: String(so.events),
      median: so.median.time_days == null ? undefined : String(so.median.time_days),
    },
  );
  const expectCurve = (series, curve, f, what) => {
    assert.equal(series.length, curve.length + 1, `${what}: points`);
    assert.deepEqual(series[0], { x: 0, y: 1 });
    curve.forEach((p, i) => {
      assert.equal(series[i + 1].x, p.time_days);
      close(series[i + 1].y, f(p), `${what} at ${p.time_days}`);
    });
  };
  const groups = survivalOptions.group_by ? survival.groups.filter((g) => g.n > 0) : [];
  if (survivalOptions.group_by) {
    assert.equal(shown.survival.chart.datasets.length, groups.length, 'one curve per group');
    groups.forEach((g, i) => expectCurve(shown.survival.chart.datasets[i], g.curve, (p) => p.survival, `S ${g.key}`));
  } else {
    const [lower, upper, estimate] = shown.survival.chart.datasets;
    expectCurve(estimate, so.curve, (p) => p.survival, 'S');
    expectCurve(lower, so.curve, (p) => p.lower, 'lower');
    expectCurve(upper, so.curve, (p) => p.upper, 'upper');
  }
  assert.ok(shown.survival.chart.width > 100, 'survival chart is drawn');
  // the landmarks at 1 and 2 years, per group and overall
  const landmarkAttrs = (a) =>
    Object.fromEntries(
      Object.entries({ at: a.time_days, survival: a.survival, lower: a.lower, upper: a.upper, nRisk: a.n_risk })
        .filter(([, v]) => v != null)
        .map(([k, v]) => [k, String(v)]),
    );
  assert.deepEqual(
    shown.survival.landmarks,
    [...groups.map((g) => [g.key, g]), ['overall', so]].map(([key, g]) => ({ key, n: String(g.n), at: g.at.map(landmarkAttrs) })),
    'landmarks',
  );
  assert.deepEqual(so.at.map((a) => a.time_days), [365, 730]);
  // the comparison: log-rank test, hazard ratios in a table and a forest plot
  if (survivalOptions.group_by) {
    const c = survival.comparison;
    const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v != null).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(shown.survival.comparison.logrank, defined({ chisq: c.chisq, df: c.df, p: c.p, groups: groups.length }));
    assert.deepEqual(
      shown.survival.comparison.ratios,
      survival.hazard_ratios.map((h) => defined({ key: h.key, hr: h.hr, lower: h.lower, upper: h.upper, p: h.p, note: h.note })),
    );
    const estimable = survival.hazard_ratios.filter((h) => h.hr != null);
    const [intervals, points] = shown.survival.comparison.forest.datasets;
    assert.equal(points.length, estimable.length, 'forest plot: a point per estimable ratio');
    estimable.forEach((h, i) => {
      close(points[i].x, h.hr, `hr ${h.key}`);
      close(intervals[i][0], h.lower, `hr lower ${h.key}`);
      close(intervals[i][1], h.upper, `hr upper ${h.key}`);
    });
    assert.ok(shown.survival.comparison.forest.width > 100, 'forest plot is drawn');
  } else {
    assert.equal(shown.survival.comparison, null, 'no comparison without a grouping');
  }

  // durable complete responses
  const d = durable.overall;
  assert.deepEqual(
    { c: shown.durable.completeResponders, d: shown.durable.durable, r: shown.durable.recurred },
    { c: String(d.complete_responders), d: String(d.durable), r: String(d.recurred) },
  );
  assert.deepEqual(
    shown.durable.rows,
    d.patients.map((p) => ({
      patientId: String(p.patient_id),
      firstCrOn: p.first_cr_on,
      monthsFollowed: String(p.months_followed),
      recurred: String(p.recurred),
      durable: String(p.durable),
    })),
  );
  return { shown, summary, mortality, survival };
}

/* ---- the browser ---------------------------------------------------------- */

async function openPage(browser, problems) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  return { context, page };
}

const waitReady = (page, query, survival = 'endpoint=overall') =>
  page.waitForSelector(`body[data-state="ready"][data-query="${query}"][data-survival="${survival}"]`, {
    state: 'attached',
  });

async function caseAnonymousReads(browser) {
  const server = await startServer(demoDb('anonymous'), ['--anonymous', 'reader']);
  const problems = [];
  const { context, page } = await openPage(browser, problems);
  try {
    const r = await page.goto(`${server.base}/`);
    assert.equal(r.status(), 200);
    assert.match(r.headers()['content-security-policy'], /script-src 'self'/);
    await waitReady(page, '');
    const all = await checkAgainstApi(page, server.base, {});
    // the demo cohort's figures, as the paper has them
    assert.equal(all.shown.mortality.course.text, '0.96%');
    assert.equal(all.shown.mortality.patient.text, '1.53%');
    assert.equal(all.shown.durable.durable, '10');
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });

    // a filter re-queries the API and the figures follow
    await page.selectOption('#f-histology', 'melanoma');
    await waitReady(page, 'histology=melanoma');
    const melanoma = await checkAgainstApi(page, server.base, { histology: 'melanoma' });
    assert.notEqual(melanoma.summary.overall.patients, all.summary.overall.patients);
    assert.notEqual(melanoma.shown.table1.at(-1).cells.patients, all.shown.table1.at(-1).cells.patients);
    assert.notDeepEqual(melanoma.shown.response.regimen.rows, all.shown.response.regimen.rows);
    assert.match(page.url(), /#histology=melanoma$/);

    // two filters at once
    await page.selectOption('#f-regimen', 'il2_lak');
    await waitReady(page, 'regimen=il2_lak&histology=melanoma');
    await checkAgainstApi(page, server.base, { regimen: 'il2_lak', histology: 'melanoma' });
    await page.screenshot({ path: join(artifacts, 'dashboard-filtered.png'), fullPage: true });

    // the survival endpoints and a comparison: curves per group, log-rank
    // test, hazard ratios, landmarks
    // several values of one filter: any of them
    await page.selectOption('#f-histology', ['melanoma', 'renal_cell']);
    await waitReady(page, 'regimen=il2_lak&histology=melanoma%2Crenal_cell');
    const either = await checkAgainstApi(page, server.base, { regimen: 'il2_lak', histology: 'melanoma,renal_cell' });
    const each = await Promise.all(
      ['melanoma', 'renal_cell'].map((h) => apiGet(server.base, '/stats/summary', { regimen: 'il2_lak', histology: h })),
    );
    assert.equal(Number(either.shown.table1.at(-1).cells.patients), each[0].overall.patients + each[1].overall.patients);
    await page.selectOption('#f-regimen', []);
    await page.selectOption('#f-histology', []);
    await waitReady(page, '');
    await page.selectOption('#s-endpoint', 'progression_free');
    await waitReady(page, '', 'endpoint=progression_free');
    const pfs = await checkAgainstApi(page, server.base, {}, null, { endpoint: 'progression_free' });
    assert.notEqual(pfs.survival.overall.events, all.survival.overall.events);
    await page.selectOption('#s-compare', 'regimen');
    await waitReady(page, '', 'endpoint=progression_free&group_by=regimen');
    const byRegimen = await checkAgainstApi(page, server.base, {}, null, { endpoint: 'progression_free', group_by: 'regimen' });
    assert.equal(byRegimen.survival.hazard_ratios.length, 6);
    assert.ok(byRegimen.survival.comparison.p < 0.05, 'the demo regimens differ in PFS');
    await page.screenshot({ path: join(artifacts, 'dashboard-survival-compared.png'), fullPage: true });
    await page.selectOption('#s-endpoint', 'response_duration');
    await page.selectOption('#s-compare', 'setting');
    await waitReady(page, '', 'endpoint=response_duration&group_by=setting');
    const dor = await checkAgainstApi(page, server.base, {}, null, { endpoint: 'response_duration', group_by: 'setting' });
    assert.equal(dor.survival.comparison.p, null, 'responders are metastatic only: one group, no test');
    await page.selectOption('#s-endpoint', 'overall');
    await page.selectOption('#s-compare', '');
    await waitReady(page, '');
    await page.selectOption('#f-regimen', 'il2_lak');
    await page.selectOption('#f-histology', 'melanoma');
    await waitReady(page, 'regimen=il2_lak&histology=melanoma');

    // a reload keeps the filters (they live in the URL's fragment)
    await page.reload();
    await waitReady(page, 'regimen=il2_lak&histology=melanoma');
    assert.equal(await page.inputValue('#f-histology'), 'melanoma');
    assert.deepEqual(problems, [], 'no script error, no CSP violation');
  } finally {
    await context.close();
    await stopServer(server);
  }
}

async function caseTokenNeeded(browser) {
  const db = demoDb('token');
  const out = execFileSync(bin, ['token', 'create', '--role', 'reader', '--name', 'browser', '--db', db]).toString();
  const token = out.trim().split(/\s+/).at(-1);
  assert.match(token, /^cohortd_[0-9a-f]{64}$/);
  const server = await startServer(db);
  const problems = [];
  const { context, page } = await openPage(browser, problems);
  try {
    await page.goto(`${server.base}/`);
    await page.waitForSelector('body[data-state="needs-token"]', { state: 'attached' });
    assert.match(await page.textContent('#status'), /needs a token.*\(401\)/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
    assert.deepEqual(await accessibilityProblems(page), [], 'axe-core, asking for a token');
    await page.screenshot({ path: join(artifacts, 'dashboard-token.png') });

    // a wrong token is refused, and the page says so
    await page.fill('#token', `cohortd_${'0'.repeat(64)}`);
    await page.click('#token-form button[type=submit]');
    await page.waitForFunction(() => /refused this token/.test(document.getElementById('status').textContent));
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'needs-token');

    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
    await waitReady(page, '');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cohortd.token')), token);
    assert.equal(await page.inputValue('#token'), '', 'the field does not keep the token on show');
    const all = await checkAgainstApi(page, server.base, {}, token);
    assert.equal(all.shown.mortality.course.text, '0.96%');
    await page.selectOption('#f-setting', 'adjuvant');
    await waitReady(page, 'setting=adjuvant');
    await checkAgainstApi(page, server.base, { setting: 'adjuvant' }, token);
    const csp = problems.filter((p) => /Content Security Policy|page error/i.test(p));
    assert.deepEqual(csp, [], 'no script error, no CSP violation');
  } finally {
    await context.close();
    await stopServer(server);
  }
}

/* ---- every screen, every reader, paper ---------------------------------- */

/* What breaks a layout, read from the page: the document wider than the
 * viewport, a card whose content runs out of it, and any two of the page's
 * boxes (cards, tiles, the blocks inside a card, the header's parts) that
 * intersect while neither holds the other. */
function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth !== window.innerWidth)
      problems.push(`the page is ${doc.scrollWidth} px wide in a ${window.innerWidth} px viewport`);
    const name = (e) => e.id || `${e.tagName.toLowerCase()}${[...e.classList].map((c) => `.${c}`).join('')} in ${e.parentElement.closest('[id]')?.id ?? 'body'}`;
    for (const card of document.querySelectorAll('.card, .tile, header, .filters'))
      if (card.scrollWidth > card.clientWidth + 1)
        problems.push(`${name(card)}: content ${card.scrollWidth} px wide in ${card.clientWidth} px`);
    const boxes = [
      ...document.querySelectorAll(
        'header > *, #token-form > *, main > *, .filters > *, .card, .card > *, .split > *, .tiles > *, .tile, footer',
      ),
    ].filter((e) => !e.hidden && e.getClientRects().length > 0 && getComputedStyle(e).display !== 'none');
    const rects = boxes.map((e) => e.getBoundingClientRect());
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [rects[i], rects[j]];
        if (boxes[i].contains(boxes[j]) || boxes[j].contains(boxes[i])) continue;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 0.5 && h > 0.5) problems.push(`${name(boxes[i])} and ${name(boxes[j])} overlap by ${w.toFixed(0)}x${h.toFixed(0)} px`);
      }
    return problems;
  });
}

/* The charts take their size from their boxes once the layout settles
 * (a resize, a change of media): two frames later. */
const settle = (page) => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));

/* axe-core's violations on the page as it is now, of WCAG 2.1 A and AA and
 * its best practices: the issue asks for no serious or critical one; the
 * page has none of any impact, and keeps it so (language, landmarks, the
 * order of headings and empty table heads are moderate or minor). */
async function accessibilityProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  return result.violations
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(', ')})`);
}

/* Tabs from the top of the page and records what takes the focus, and
 * whether it shows it (an outline or a shadow under :focus-visible). */
async function tabOrder(page, presses) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const seen = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    seen.push(
      await page.evaluate(() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return {
          id: e.id || (e.tagName === 'SUMMARY' ? 'summary' : e.tagName.toLowerCase()),
          visible: e.matches(':focus-visible') && ((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'),
        };
      }),
    );
  }
  return seen;
}

/* Pages and text of a PDF, by poppler's pdfinfo and pdftotext. */
function pdfFacts(path) {
  const info = execFileSync('pdfinfo', [path]).toString();
  return {
    pages: Number(info.match(/^Pages:\s+(\d+)/m)[1]),
    size: info.match(/^Page size:\s+(.*)$/m)[1],
    text: execFileSync('pdftotext', ['-layout', path, '-']).toString(),
  };
}

async function caseEveryScreen(browser) {
  const server = await startServer(demoDb('screens'), ['--anonymous', 'reader']);
  const problems = [];
  try {
    for (const width of WIDTHS) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on('pageerror', (e) => problems.push(`${width} px: page error: ${e.message}`));
      try {
        await page.goto(`${server.base}/`);
        await waitReady(page, '');
        await settle(page);
        for (const p of await layoutProblems(page)) problems.push(`${width} px: ${p}`);
        for (const p of await accessibilityProblems(page)) problems.push(`${width} px: ${p}`);
        /* every chart drawn within its card, and said in words beside it */
        const charts = await page.evaluate(() =>
          [...document.querySelectorAll('canvas')].map((c) => {
            const card = c.closest('.card').getBoundingClientRect();
            const r = c.getBoundingClientRect();
            const described = (c.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
            return {
              id: c.id,
              role: c.getAttribute('role'),
              label: c.getAttribute('aria-label'),
              described: described.map((id) => document.getElementById(id)?.tagName ?? null),
              inside: r.left >= card.left - 0.5 && r.right <= card.right + 0.5,
              hidden: c.closest('[hidden]') !== null,
              width: r.width,
            };
          }),
        );
        for (const c of charts) {
          if (c.role !== 'img' || !c.label) problems.push(`${width} px: ${c.id}: no role img with a label`);
          if (c.described.join() !== 'TABLE') problems.push(`${width} px: ${c.id}: not described by the table of its figures`);
          if (!c.hidden && !(c.inside && c.width > 100)) problems.push(`${width} px: ${c.id} not drawn inside its card (${c.width} px)`);
        }
        await page.screenshot({ path: join(artifacts, `dashboard-${width}.png`), fullPage: true });

        if (width === 360) {
          /* a wide table scrolls inside its card, its first column kept in view */
          const sticky = await page.evaluate(() => {
            const box = document.querySelector('#sec-table1 .scroll');
            const first = box.querySelector('tbody th');
            const before = first.getBoundingClientRect().left;
            box.scrollLeft = box.scrollWidth;
            const after = first.getBoundingClientRect().left;
            return { scrolls: box.scrollWidth > box.clientWidth, moved: box.scrollLeft > 0, before, after };
          });
          if (!(sticky.scrolls && sticky.moved)) problems.push('360 px: Table 1 does not scroll inside its card');
          /* the mortality tiles stack, each the card's width */
          const [course, patient] = await page.evaluate(() =>
            ['course', 'patient'].map((w) => document.getElementById(`tile-mortality-${w}`).getBoundingClientRect().toJSON()),
          );
          if (!(patient.top >= course.bottom && patient.left === course.left))
            problems.push('360 px: the mortality tiles do not stack');
          if (sticky.after !== sticky.before) problems.push(`360 px: Table 1's first column leaves the view (${sticky.before} to ${sticky.after} px)`);
          /* the comparison and its forest plot fit too */
          await page.selectOption('#s-compare', 'regimen');
          await waitReady(page, '', 'endpoint=overall&group_by=regimen');
          for (const p of await layoutProblems(page)) problems.push(`${width} px, compared: ${p}`);
          for (const p of await accessibilityProblems(page)) problems.push(`${width} px, compared: ${p}`);
          await page.screenshot({ path: join(artifacts, `dashboard-${width}-compared.png`), fullPage: true });
        }

        if (width === 1024) {
          /* the keyboard alone reaches every control, each showing its focus */
          const order = await tabOrder(page, 14);
          const controls = ['token', 'token-submit', 'token-forget', 'f-regimen', 'f-histology', 'f-setting', 'summary', 's-endpoint', 's-compare'];
          const reached = [...new Set(order.map((o) => o.id))].filter((id) => controls.includes(id));
          assert.deepEqual(reached, controls, `tab order: ${order.map((o) => o.id)}`);
          for (const o of order) if (!o.visible) problems.push(`1024 px: ${o.id} does not show its focus`);
          /* and uses them: a filter chosen with the keys alone */
          await page.focus('#f-setting');
          await page.keyboard.press('ArrowDown');
          await waitReady(page, 'setting=metastatic');
          await page.focus('#s-endpoint');
          await page.keyboard.press('ArrowDown');
          await waitReady(page, 'setting=metastatic', 'endpoint=progression_free');
        }
      } finally {
        await context.close();
      }
    }

    assert.deepEqual(problems, [], 'on every screen');

    /* paper: the demo cohort with no filter, then one filter, as A4 PDF */
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      for (const [query, file] of [['', 'dashboard.pdf'], ['histology=melanoma', 'dashboard-melanoma.pdf']]) {
        const page = await context.newPage();
        page.setDefaultTimeout(TIMEOUT);
        await page.goto(`${server.base}/${query ? `#${query}` : ''}`);
        await waitReady(page, query);
        const asOf = await page.evaluate(() => document.body.dataset.asOf);
        /* laid out at the width of A4 within its margins (188 mm), nothing
         * runs out of its card or off the paper */
        await page.setViewportSize({ width: 711, height: 1000 });
        await page.emulateMedia({ media: 'print' });
        await settle(page);
        assert.deepEqual(await layoutProblems(page), [], `${file}: the layout on paper`);
        /* each chart drawn again at its box's size on paper, not stretched */
        const drawn = await page.evaluate(() =>
          [...document.querySelectorAll('canvas')]
            .filter((c) => !c.closest('[hidden]'))
            .map((c) => {
              const r = c.getBoundingClientRect();
              const chart = Chart.getChart(c);
              return { id: c.id, box: [r.width, r.height], drawn: [chart.width, chart.height] };
            }),
        );
        for (const d of drawn)
          assert.ok(
            Math.abs(d.drawn[0] - d.box[0]) <= 1 && Math.abs(d.drawn[1] - d.box[1]) <= 1,
            `${file}: ${d.id} drawn at ${d.drawn} in a box of ${d.box} on paper`,
          );
        const printed = await page.evaluate(() => ({
          controls: [...document.querySelectorAll('#token-form, #filters, #survival-controls, details > summary')].map(
            (e) => getComputedStyle(e).display,
          ),
          whole: [...document.querySelectorAll('.card, table, .chart')].every((e) => getComputedStyle(e).breakInside === 'avoid'),
        }));
        assert.deepEqual(new Set(printed.controls), new Set(['none']), 'no controls on paper');
        assert.ok(printed.whole, 'cards, tables and charts are kept whole across pages');
        const path = join(artifacts, file);
        writeFileSync(path, await page.pdf({ format: 'A4', printBackground: true }));
        await page.emulateMedia({ media: 'screen' });
        const pdf = pdfFacts(path);
        assert.match(pdf.size, /^595(\.\d+)? x 842/, 'A4');
        assert.ok(pdf.pages >= 1 && pdf.pages <= 4, `${file}: ${pdf.pages} pages`);
        assert.doesNotMatch(pdf.text, /Bearer token|Use token|Forget/, 'no controls in the text');
        assert.match(pdf.text, new RegExp(`data version ${asOf}, printed \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC`), 'the foot');
        if (query) {
          assert.match(pdf.text, /Filters: histology Melanoma/);
        } else {
          assert.match(pdf.text, /Filters: none \(all patients\)/);
          assert.match(pdf.text, /0\.96%/);
          assert.match(pdf.text, /1\.53%/);
        }
        console.log(`# ${file}: ${pdf.pages} A4 pages`);
        await page.close();
      }
      const page = await context.newPage();
      await page.emulateMedia({ media: 'print' });
      await page.goto(`${server.base}/`);
      await waitReady(page, '');
      await page.screenshot({ path: join(artifacts, 'dashboard-print.png'), fullPage: true });
    } finally {
      await context.close();
    }
  } finally {
    await stopServer(server);
  }
}

/* ---- main ----------------------------------------------------------------- */

const cases = [
  ['the dashboard shows what the API answers, and follows its filters', caseAnonymousReads],
  ['with anonymous reads off the dashboard asks for a token and works with one', caseTokenNeeded],
  ['at 360 to 1440 px nothing overflows or overlaps, axe-core finds no violation, the keyboard reaches every control, and it prints on A4', caseEveryScreen],
];
let passed = 0;
let failed = 0;
let browser;
try {
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30000 });
  for (const [name, fn] of cases) {
    if (process.env.ONLY && !name.includes(process.env.ONLY)) continue;
    try {
      await fn(browser);
      passed++;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}\n${e.stack ?? e}`);
    }
  }
} catch (e) {
  failed = cases.length - passed;
  console.log(`not ok - the browser did not start: ${e.stack ?? e}`);
} finally {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
}
console.log(`screenshots in ${artifacts}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
