/* The dashboard's script: reads the public statistics routes of the API
 * (/stats/*, with the bearer token the user pasted, kept in sessionStorage)
 * and shows them: Table 1, objective response by regimen and by histology
 * with their intervals, treatment-related mortality, grade >= 3 toxicity by
 * term, Kaplan-Meier survival (overall, progression-free or duration of
 * response; one curve per group when compared, with the log-rank test, a
 * forest plot of the hazard ratios, and the landmarks at 1 and 2 years),
 * and the durable complete responses. Chart.js draws; this file only maps API answers onto charts
 * and tables. Every figure drawn is also written into the DOM (tables and
 * data-* attributes) so that a person, a screen reader and the browser test
 * read the same numbers the API gave. DOM text is set with textContent
 * only: nothing from the API is parsed as HTML. */
'use strict';

(() => {
  const TOKEN_KEY = 'cohortd.token';
  const FILTERS = ['regimen', 'histology', 'setting'];
  const LABELS = {
    il2_alone: 'IL-2 alone',
    il2_lak: 'IL-2 + LAK',
    il2_til: 'IL-2 + TIL',
    il2_ifn_alpha: 'IL-2 + α-IFN',
    il2_tnf: 'IL-2 + TNF',
    il2_antibody: 'IL-2 + antibody',
    il2_cyclophosphamide: 'IL-2 + cyclophosphamide',
    melanoma: 'Melanoma',
    renal_cell: 'Renal cell',
    colorectal: 'Colorectal',
    non_hodgkin_lymphoma: 'Non-Hodgkin lymphoma',
    sarcoma: 'Sarcoma',
    breast: 'Breast',
    lung: 'Lung',
    other: 'Other',
    metastatic: 'Metastatic',
    adjuvant: 'Adjuvant',
  };
  const DAYS_PER_MONTH = 30.4375;
  const COLOURS = {
    bar: 'rgba(54, 110, 181, 0.55)',
    barEdge: 'rgb(36, 78, 138)',
    ci: 'rgb(25, 35, 55)',
    tox: 'rgba(196, 84, 52, 0.6)',
    toxEdge: 'rgb(150, 55, 30)',
    km: 'rgb(36, 78, 138)',
    band: 'rgba(54, 110, 181, 0.18)',
    groups: ['#244e8a', '#c45434', '#2e8b57', '#8e44ad', '#d4a017', '#17a2b8', '#6c757d', '#b03060'],
  };
  const ENDPOINTS = {
    overall: { title: 'Overall survival', events: 'deaths', median: 'Median survival' },
    progression_free: { title: 'Progression-free survival', events: 'progressions or deaths', median: 'Median PFS' },
    response_duration: { title: 'Duration of response', events: 'progressions or deaths', median: 'Median duration' },
  };
  const LANDMARKS = [365, 730];

  const $ = (id) => document.getElementById(id);
  const label = (key) => LABELS[key] ?? String(key).replace(/_/g, ' ');
  const pct = (rate, digits) => (rate == null ? '–' : `${(rate * 100).toFixed(digits)}%`);
  const pct100 = (rate) => (rate == null ? null : rate * 100);
  const levelText = (ci) => `${Math.round((ci?.level ?? 0.95) * 100)}% CI`;
  const ciText = (p, digits) =>
    p.rate == null ? 'no patients' : `${levelText(p.ci)} ${pct(p.ci.lower, digits)}–${pct(p.ci.upper, digits)}`;

  const charts = {};
  let loadSeq = 0;
  let optionsFilled = false;

  class HttpError extends Error {
    constructor(status, problem) {
      super(problem?.detail ?? `HTTP ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  /* ---- the API --------------------------------------------------------- */

  const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

  /* Each filter's chosen values, comma-separated (any of them); none: all. */
  function filterParams() {
    const p = {};
    for (const f of FILTERS) {
      const v = [...$(`f-${f}`).selectedOptions].map((o) => o.value);
      if (v.length) p[f] = v.join(',');
    }
    return p;
  }

  const queryOf = (params) => new URLSearchParams(params).toString();

  async function api(path, params = {}) {
    const q = queryOf(params);
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const r = await fetch(q ? `${path}?${q}` : path, { headers, cache: 'no-cache' });
    if (!r.ok) {
      let problem = null;
      try {
        problem = await r.json();
      } catch {
        /* not problem+json: the status says enough */
      }
      throw new HttpError(r.status, problem);
    }
    return r.json();
  }

  /* ---- DOM helpers ----------------------------------------------------- */

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, String(v));
      else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  /* Sets data-* attributes on an element already on the page; null removes. */
  function setData(e, attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null) e.removeAttribute(k);
      else e.setAttribute(k, String(v));
    }
  }

  function fillTable(table, head, rows) {
    table.replaceChildren(
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows),
    );
  }

  /* The data-* attributes of a proportion, for the test and for anyone
   * reading the DOM: the API's numbers, unformatted (none when null). */
  const proportionData = (p) => ({
    'data-count': p.count,
    'data-total': p.total,
    'data-rate': p.rate,
    'data-lower': p.ci.lower,
    'data-upper': p.ci.upper,
  });

  function setStatus(text, kind = '') {
    const s = $('status');
    s.textContent = text;
    s.className = kind;
  }

  /* ---- charts ---------------------------------------------------------- */

  /* A chart is made once and then given new data. */
  function chart(id, config) {
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update();
    } else {
      charts[id] = new Chart($(id), config);
    }
  }

  /* A proportion per category: the estimate as a bar, its interval as a
   * thin floating bar [lower, upper] drawn over it (Chart.js's floating
   * bars; grouped: false puts both on the same category). */
  function proportionChart(id, labels, props, horizontal, colour, edge) {
    const value = horizontal ? 'x' : 'y';
    const category = horizontal ? 'y' : 'x';
    chart(id, {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            label: 'estimate',
            data: props.map((p) => pct100(p.rate)),
            backgroundColor: colour,
            borderColor: edge,
            borderWidth: 1,
            maxBarThickness: 90,
            order: 2,
          },
          {
            label: `${levelText(props[0]?.ci)} (exact)`,
            data: props.map((p) => (p.rate == null ? null : [pct100(p.ci.lower), pct100(p.ci.upper)])),
            backgroundColor: COLOURS.ci,
            barThickness: 3,
            grouped: false,
            order: 1,
          },
        ],
      },
      options: {
        indexAxis: category,
        scales: {
          [value]: { beginAtZero: true, title: { display: true, text: '% of patients' } },
          [category]: { ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const p = props[ctx.dataIndex];
                return ctx.datasetIndex === 0
                  ? `${pct(p.rate, 1)} (${p.count} of ${p.total})`
                  : ciText(p, 1);
              },
            },
          },
        },
      },
    });
  }

  /* ---- sections -------------------------------------------------------- */

  function renderTable1(summary) {
    const o = summary.overall;
    const histologies = Object.keys(o.by_histology).filter((h) => o.by_histology[h] > 0);
    const settings = Object.keys(o.by_setting);
    const head = ['Regimen', 'Patients', 'Treated', 'Courses', ...settings.map(label), ...histologies.map(label)];
    const row = (key, g, th) => {
      const cells = [
        ['patients', g.patients],
        ['treated', g.treated],
        ['courses', g.courses],
        ...settings.map((s) => [`setting:${s}`, g.by_setting[s]]),
        ...histologies.map((h) => [`histology:${h}`, g.by_histology[h]]),
      ];
      return el(
        'tr',
        { 'data-key': key, class: th ? 'total' : null },
        el('th', { scope: 'row' }, th ?? label(key)),
        ...cells.map(([col, v]) => el('td', { 'data-col': col }, v)),
      );
    };
    const rows = summary.groups.filter((g) => g.patients > 0).map((g) => row(g.key, g));
    rows.push(row('overall', o, 'All patients'));
    fillTable($('table1'), head, rows);
  }

  function renderResponse(which, data) {
    const groups = data.groups.filter((g) => g.objective_response.total > 0);
    const props = groups.map((g) => g.objective_response);
    proportionChart(`chart-response-${which}`, groups.map((g) => label(g.key)), props, false, COLOURS.bar, COLOURS.barEdge);
    const rows = groups.map((g) => {
      const p = g.objective_response;
      return el(
        'tr',
        { 'data-key': g.key, ...proportionData(p) },
        el('th', { scope: 'row' }, label(g.key)),
        el('td', {}, `${p.count} / ${p.total}`),
        el('td', { 'data-field': 'rate' }, pct(p.rate, 1)),
        el('td', {}, `${pct(p.ci.lower, 1)}–${pct(p.ci.upper, 1)}`),
        el('td', {}, g.best_response.CR),
      );
    });
    const o = data.overall.objective_response;
    rows.push(
      el(
        'tr',
        { 'data-key': 'overall', class: 'total', ...proportionData(o) },
        el('th', { scope: 'row' }, 'All evaluable for response'),
        el('td', {}, `${o.count} / ${o.total}`),
        el('td', { 'data-field': 'rate' }, pct(o.rate, 1)),
        el('td', {}, `${pct(o.ci.lower, 1)}–${pct(o.ci.upper, 1)}`),
        el('td', {}, data.overall.best_response.CR),
      ),
    );
    fillTable($(`fig-response-${which}`), [which === 'regimen' ? 'Regimen' : 'Histology', 'CR+PR / n', 'Rate', levelText(o.ci), 'CR'], rows);
  }

  function renderMortality(m) {
    const tile = (id, p, unit) => {
      const t = $(id);
      setData(t, proportionData(p));
      t.querySelector('[data-field=rate]').textContent = pct(p.rate, 2);
      t.querySelector('[data-field=detail]').textContent = `${p.count} of ${p.total} ${unit} · ${ciText(p, 2)}`;
    };
    tile('tile-mortality-course', m.overall.per_course, 'courses');
    tile('tile-mortality-patient', m.overall.per_patient, 'patients');
    fillTable(
      $('mortality-causes'),
      ['Cause of treatment-related death', 'Deaths'],
      m.overall.causes.map((c) =>
        el('tr', { 'data-term': c.term, 'data-count': c.count }, el('th', { scope: 'row' }, c.term), el('td', {}, c.count)),
      ),
    );
  }

  function renderToxicity(t) {
    const terms = t.overall.terms.filter((x) => x.at_or_above.count > 0);
    const min = t.definitions.min_grade;
    document.querySelector('#sec-toxicity h2').textContent = `Grade ≥ ${min} toxicity by term (${t.definitions.unit}s)`;
    proportionChart('chart-toxicity', terms.map((x) => x.term), terms.map((x) => x.at_or_above), true, COLOURS.tox, COLOURS.toxEdge);
    fillTable(
      $('fig-toxicity'),
      ['Term', `Grade ≥ ${min} / n`, 'Rate', 'CI', 'G1', 'G2', 'G3', 'G4', 'G5'],
      terms.map((x) =>
        el(
          'tr',
          { 'data-term': x.term, ...proportionData(x.at_or_above) },
          el('th', { scope: 'row' }, x.term),
          el('td', {}, `${x.at_or_above.count} / ${x.at_or_above.total}`),
          el('td', { 'data-field': 'rate' }, pct(x.at_or_above.rate, 1)),
          el('td', {}, `${pct(x.at_or_above.ci.lower, 1)}–${pct(x.at_or_above.ci.upper, 1)}`),
          ...x.by_grade.map((n) => el('td', {}, n)),
        ),
      ),
    );
  }

  /* The survival options (endpoint, comparison), as a query. */
  function survivalParams() {
    const p = { endpoint: $('s-endpoint').value };
    if ($('s-compare').value) p.group_by = $('s-compare').value;
    return p;
  }

  const days = (d) => (d == null ? 'not reached' : `${d} days (${(d / DAYS_PER_MONTH).toFixed(1)} months)`);
  const heading = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  const ratio = (v) => (v == null ? '–' : v.toPrecision(3));

  function renderSurvival(s) {
    const o = s.overall;
    const md = o.median;
    const kind = ENDPOINTS[s.definitions.endpoint];
    const level = Math.round(s.definitions.level * 100);
    const grouped = s.definitions.group_by != null;
    const groups = grouped ? s.groups.filter((g) => g.n > 0) : [];
    document.querySelector('#sec-survival h2').textContent =
      `${kind.title} (Kaplan-Meier${grouped ? `, by ${s.definitions.group_by}` : `, ${level}% band`})`;
    const summary = $('survival-summary');
    setData(summary, {
      'data-endpoint': s.definitions.endpoint,
      'data-n': o.n,
      'data-events': o.events,
      'data-median': md.time_days,
      'data-median-lower': md.lower,
      'data-median-upper': md.upper,
    });
    summary.textContent =
      `${o.n} patients (${s.definitions.population}), ${o.events} ${kind.events}. ${kind.median} ${days(md.time_days)}` +
      (md.time_days == null ? '' : `, ${level}% CI ${md.lower ?? '–'}–${md.upper ?? 'not reached'} days`) +
      '.';
    /* a curve starts at S(0) = 1; each point holds until the next time */
    const series = (curve, f) => [{ x: 0, y: 1 }, ...curve.map((p) => ({ x: p.time_days, y: f(p) }))];
    const step = { stepped: 'before', pointRadius: 0, borderWidth: 0 };
    const datasets = grouped
      ? groups.map((g, i) => ({
          label: label(g.key),
          data: series(g.curve, (p) => p.survival),
          stepped: 'before',
          pointRadius: 0,
          borderWidth: 2,
          borderColor: COLOURS.groups[i % COLOURS.groups.length],
          fill: false,
        }))
      : [
          { label: 'lower', data: series(o.curve, (p) => p.lower), ...step, fill: false },
          { label: `${level}% band (log-log)`, data: series(o.curve, (p) => p.upper), ...step, fill: '-1', backgroundColor: COLOURS.band },
          { label: 'Kaplan-Meier estimate', data: series(o.curve, (p) => p.survival), stepped: 'before', pointRadius: 0, borderWidth: 2, borderColor: COLOURS.km, fill: false },
        ];
    chart('chart-survival', {
      type: 'line',
      data: { datasets },
      options: {
        scales: {
          x: {
            type: 'linear',
            min: 0,
            title: { display: true, text: s.definitions.endpoint === 'response_duration' ? 'months from the first response' : 'months from the first course' },
            ticks: { stepSize: 6 * DAYS_PER_MONTH, callback: (v) => `${Math.round(v / DAYS_PER_MONTH)}` },
          },
          y: { min: 0, max: 1, title: { display: true, text: 'probability' } },
        },
        plugins: {
          legend: { position: 'bottom', labels: { filter: (item) => item.text !== 'lower' } },
          tooltip: {
            mode: 'nearest',
            intersect: false,
            callbacks: {
              title: (items) => `day ${items[0].parsed.x}`,
              label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y == null ? '–' : ctx.parsed.y.toFixed(3)}`,
            },
          },
        },
      },
    });
    /* landmarks at 1 and 2 years, with their intervals: a row per group */
    const landmarkRow = (key, g, th) =>
      el(
        'tr',
        { 'data-key': key, class: th ? 'total' : null },
        el('th', { scope: 'row' }, th ?? label(key)),
        el('td', { 'data-field': 'n' }, g.n),
        el('td', {}, g.events),
        el('td', {}, g.median.time_days ?? 'not reached'),
        ...g.at.map((a) =>
          el(
            'td',
            { 'data-at': a.time_days, 'data-survival': a.survival, 'data-lower': a.lower, 'data-upper': a.upper, 'data-n-risk': a.n_risk },
            a.lower == null ? pct(a.survival, 1) : `${pct(a.survival, 1)} (${pct(a.lower, 1)}–${pct(a.upper, 1)})`,
          ),
        ),
      );
    const rows = groups.map((g) => landmarkRow(g.key, g));
    rows.push(landmarkRow('overall', o, grouped ? 'All' : 'All patients'));
    fillTable(
      $('survival-landmarks'),
      [grouped ? heading(s.definitions.group_by) : 'Patients', 'n', 'Events', 'Median (days)', ...o.at.map((a) => `${a.time_days / 365} year${a.time_days === 365 ? '' : 's'} (${level}% CI)`)],
      rows,
    );
    renderComparison(s, groups);
  }

  /* The log-rank test and the hazard ratios, as a forest plot (each group's
   * ratio against the reference on a log scale, with its interval). */
  function renderComparison(s, groups) {
    const section = $('sec-comparison');
    if (!s.comparison) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    const c = s.comparison;
    const level = Math.round(s.definitions.level * 100);
    const p = $('survival-logrank');
    setData(p, { 'data-chisq': c.chisq, 'data-df': c.df, 'data-p': c.p, 'data-groups': groups.length });
    p.textContent =
      c.p == null
        ? `Log-rank test: ${c.note ?? 'nothing to compare'}.`
        : `Log-rank test over ${groups.length} groups: χ² = ${c.chisq.toFixed(2)} on ${c.df} df, p = ${c.p < 0.0001 ? c.p.toExponential(2) : c.p.toFixed(4)}.`;
    const ratios = s.hazard_ratios;
    const reference = ratios[0]?.reference;
    document.querySelector('#sec-comparison h2').textContent =
      `Hazard ratios by ${s.definitions.group_by}${reference ? ` (reference: ${label(reference)})` : ''}`;
    const shown = ratios.filter((h) => h.hr != null);
    chart('chart-forest', {
      type: 'bar',
      data: {
        labels: shown.map((h) => label(h.key)),
        datasets: [
          { type: 'bar', label: `${level}% CI (Wald)`, data: shown.map((h) => [h.lower, h.upper]), backgroundColor: COLOURS.ci, barThickness: 3, order: 2 },
          { type: 'scatter', label: 'hazard ratio', data: shown.map((h) => ({ x: h.hr, y: label(h.key) })), backgroundColor: COLOURS.km, pointStyle: 'rectRot', radius: 6, order: 1 },
        ],
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: `hazard ratio against ${reference ? label(reference) : 'the reference'} (log scale)` } },
          y: { type: 'category', ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              label: (ctx) => {
                const h = shown[ctx.dataIndex];
                return `HR ${ratio(h.hr)} (${ratio(h.lower)}–${ratio(h.upper)}), p = ${h.p.toPrecision(3)}`;
              },
            },
          },
        },
      },
    });
    fillTable(
      $('survival-hazard-ratios'),
      [heading(s.definitions.group_by), 'Hazard ratio', `${level}% CI`, 'p'],
      ratios.map((h) =>
        el(
          'tr',
          { 'data-key': h.key, 'data-hr': h.hr, 'data-lower': h.lower, 'data-upper': h.upper, 'data-p': h.p, 'data-note': h.note },
          el('th', { scope: 'row' }, label(h.key)),
          el('td', {}, h.hr == null ? 'not estimable' : ratio(h.hr)),
          el('td', {}, h.hr == null ? (h.note ?? '') : `${ratio(h.lower)}–${ratio(h.upper)}`),
          el('td', {}, h.p == null ? '–' : h.p.toPrecision(3)),
        ),
      ),
    );
  }

  function renderDurable(d) {
    const o = d.overall;
    const summary = $('durable-summary');
    setData(summary, {
      'data-complete-responders': o.complete_responders,
      'data-durable': o.durable,
      'data-recurred': o.recurred,
    });
    summary.textContent =
      `${o.durable} durable of ${o.complete_responders} complete responders (${o.recurred} recurred). ` +
      `Durable: no progression after the first CR and at least ${d.definitions.min_months} months followed since.`;
    fillTable(
      $('durable'),
      ['Patient', 'First CR', 'Months followed', 'Recurred', 'Durable'],
      o.patients.map((p) =>
        el(
          'tr',
          {
            'data-patient-id': p.patient_id,
            'data-first-cr-on': p.first_cr_on,
            'data-months-followed': p.months_followed,
            'data-recurred': p.recurred,
            'data-durable': p.durable,
            class: p.durable ? 'durable' : null,
          },
          el('th', { scope: 'row' }, `#${p.patient_id}`),
          el('td', {}, p.first_cr_on),
          el('td', {}, p.months_followed.toFixed(1)),
          el('td', {}, p.recurred ? 'yes' : 'no'),
          el('td', {}, p.durable ? 'yes' : 'no'),
        ),
      ),
    );
  }

  /* ---- loading --------------------------------------------------------- */

  function fillOptions(summary) {
    const o = summary.overall;
    const sources = { regimen: o.by_regimen, histology: o.by_histology, setting: o.by_setting };
    const wanted = filtersFromHash();
    for (const f of FILTERS) {
      const select = $(`f-${f}`);
      const chosen = new Set((wanted[f] ?? '').split(','));
      select.replaceChildren();
      for (const [k, n] of Object.entries(sources[f]))
        select.append(el('option', { value: k, selected: chosen.has(k) }, `${label(k)} (${n})`));
    }
    optionsFilled = true;
  }

  function filtersFromHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    return Object.fromEntries(FILTERS.filter((f) => p.get(f)).map((f) => [f, p.get(f)]));
  }

  function explain(err) {
    const t = token();
    const input = $('token');
    if (err instanceof HttpError && err.status === 401) {
      document.body.dataset.state = 'needs-token';
      input.classList.add('attention');
      input.focus();
      setStatus(
        t
          ? 'The server refused this token (401): it is unknown, revoked or malformed. Paste a valid token above.'
          : 'This server needs a token to read the statistics (401). Paste a reader token above and press "Use token".',
        'warn',
      );
    } else if (err instanceof HttpError && err.status === 403) {
      document.body.dataset.state = 'forbidden';
      setStatus("This token's role may not read the statistics (403).", 'warn');
    } else {
      document.body.dataset.state = 'error';
      setStatus(`The API could not be read: ${err.message}`, 'error');
    }
  }

  async function load() {
    const seq = ++loadSeq;
    const filters = filterParams();
    const query = queryOf(filters);
    document.body.dataset.state = 'loading';
    document.body.dataset.query = query;
    document.body.dataset.survival = queryOf(survivalParams());
    setStatus('Loading…');
    try {
      if (!optionsFilled) {
        fillOptions(await api('/stats/summary'));
        if (seq !== loadSeq) return;
        return load(); /* the hash may have chosen filters */
      }
      const [summary, byRegimen, byHistology, mortality, toxicity, survival, durable] = await Promise.all([
        api('/stats/summary', { ...filters, group_by: 'regimen' }),
        api('/stats/response', { ...filters, group_by: 'regimen' }),
        api('/stats/response', { ...filters, group_by: 'histology' }),
        api('/stats/mortality', filters),
        api('/stats/toxicity', filters),
        api('/stats/survival', { ...filters, ...survivalParams(), at: LANDMARKS.join(',') }),
        api('/stats/durable-response', filters),
      ]);
      if (seq !== loadSeq) return; /* a newer choice of filters is on its way */
      renderTable1(summary);
      renderResponse('regimen', byRegimen);
      renderResponse('histology', byHistology);
      renderMortality(mortality);
      renderToxicity(toxicity);
      renderSurvival(survival);
      renderDurable(durable);
      $('token').classList.remove('attention');
      $('as-of').textContent = `data version ${summary.as_of}`;
      const shown = FILTERS.filter((f) => filters[f]).map((f) => filters[f].split(',').map(label).join(' or '));
      setStatus(`${summary.overall.patients} patients${shown.length ? ` (${shown.join(', ')})` : ''}.`);
      const chosen = FILTERS.filter((f) => filters[f]).map((f) => `${f} ${filters[f].split(',').map(label).join(' or ')}`);
      $('report-filters').textContent =
        `Filters: ${chosen.length ? chosen.join('; ') : 'none (all patients)'}. ${summary.overall.patients} patients.`;
      document.body.dataset.asOf = String(summary.as_of);
      footReport();
      document.body.dataset.state = 'ready';
    } catch (err) {
      if (seq === loadSeq) explain(err);
    }
  }

  /* The foot of the printed report: the data version and when it was
   * printed (set again as the print begins). */
  function footReport() {
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const version = document.body.dataset.asOf;
    $('report-foot').textContent = `cohortd, data version ${version ?? '?'}, printed ${when} UTC`;
  }

  function showToken() {
    $('token').placeholder = token() ? 'a token is set for this tab' : 'cohortd_…';
  }

  function start() {
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    showToken();
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('token').value.trim();
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
      $('token').value = '';
      showToken();
      load();
    });
    $('token-forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showToken();
      load();
    });
    $('survival-controls').addEventListener('change', () => load());
    /* on paper the charts take the paper's boxes and a smaller type: drawn
     * again (Chart.js leaves a canvas at its screen size, stretched) */
    const screenType = Chart.defaults.font.size;
    const redraw = () => {
      Chart.defaults.font.size = window.matchMedia('print').matches ? 8 : screenType;
      Object.values(charts).forEach((c) => {
        c.resize();
        c.update();
      });
    };
    window.addEventListener('beforeprint', () => {
      footReport();
      redraw();
    });
    window.addEventListener('afterprint', redraw);
    window.matchMedia('print').addEventListener('change', redraw);
    $('filters').addEventListener('change', () => {
      const q = queryOf(filterParams());
      history.replaceState(null, '', q ? `#${q}` : location.pathname);
      load();
    });
    load();
  }

  start();
})();
