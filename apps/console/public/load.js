/* global document, fetch, window, FormData */
// The short load: starts a run on the console's backend (loadgen's open-loop
// driver), polls it and draws, per style, accepted orders a second and the
// 95th percentile latency as plain SVG. The same figures are in tables.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const POLL_MS = 500;
/** Per style: a label, and a colour and dash that differ without colour too. */
const STYLES = {
  rest: { label: 'REST', colour: '#0a58ca', dash: '' },
  grpc: { label: 'gRPC', colour: '#a34700', dash: '6 4' },
};
const CHART = { width: 640, height: 220, left: 52, right: 12, top: 12, bottom: 36 };

let polling;

async function call(path, init) {
  const response = await fetch(path, {
    ...init,
    headers: {
      accept: 'application/json',
      ...(init?.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const body = await response.json().catch(() => undefined);
  return { status: response.status, ok: response.ok, body };
}

const svg = (name, attributes = {}, text) => {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
};

/** A tidy top for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Draws one line per style of `pick(point)` against the second, with axes and ticks. */
function drawChart(id, run, pick, unit) {
  const chart = $(id);
  const { width, height, left, right, top, bottom } = CHART;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = run.points.map(pick).filter((v) => v !== null);
  const yMax = niceMax(Math.max(...values, id === 'load-throughput' ? run.ratePerSecond : 0));
  const xMax = Math.max(1, run.durationSeconds);
  const x = (second) => left + ((second + 0.5) / xMax) * plotW;
  const y = (value) => top + plotH - (value / yMax) * plotH;
  const children = [];
  for (let i = 0; i <= 4; i++) {
    const value = (yMax / 4) * i;
    children.push(
      svg('line', { x1: left, x2: width - right, y1: y(value), y2: y(value), stroke: '#c4cad1' }),
      svg(
        'text',
        { x: left - 6, y: y(value) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#1b1f24' },
        String(Math.round(value * 10) / 10),
      ),
    );
  }
  const every = Math.max(1, Math.ceil(xMax / 10));
  for (let second = 0; second < xMax; second += every)
    children.push(
      svg(
        'text',
        {
          x: x(second),
          y: height - bottom + 16,
          'text-anchor': 'middle',
          'font-size': 11,
          fill: '#1b1f24',
        },
        String(second + 1),
      ),
    );
  children.push(
    svg(
      'text',
      {
        x: left + plotW / 2,
        y: height - 4,
        'text-anchor': 'middle',
        'font-size': 12,
        fill: '#1b1f24',
      },
      'second of the run',
    ),
    svg(
      'text',
      {
        x: 12,
        y: top + plotH / 2,
        'text-anchor': 'middle',
        'font-size': 12,
        fill: '#1b1f24',
        transform: `rotate(-90 12 ${top + plotH / 2})`,
      },
      unit,
    ),
    svg('line', { x1: left, x2: left, y1: top, y2: top + plotH, stroke: '#1b1f24' }),
    svg('line', {
      x1: left,
      x2: width - right,
      y1: top + plotH,
      y2: top + plotH,
      stroke: '#1b1f24',
    }),
  );
  for (const style of run.styles) {
    const look = STYLES[style];
    const mine = run.points.filter((p) => p.style === style && pick(p) !== null);
    if (mine.length > 1)
      children.push(
        svg('polyline', {
          points: mine.map((p) => `${x(p.second)},${y(pick(p))}`).join(' '),
          fill: 'none',
          stroke: look.colour,
          'stroke-width': 2,
          ...(look.dash === '' ? {} : { 'stroke-dasharray': look.dash }),
          'data-style': style,
        }),
      );
    for (const p of mine) {
      const marker = svg('circle', {
        cx: x(p.second),
        cy: y(pick(p)),
        r: 3,
        fill: look.colour,
        'data-style': style,
        'data-second': p.second,
      });
      marker.append(svg('title', {}, `${look.label}, second ${p.second + 1}: ${pick(p)} ${unit}`));
      children.push(marker);
    }
  }
  // The title and description stay first: they name the chart for assistive technology.
  chart.replaceChildren(chart.querySelector('title'), chart.querySelector('desc'), ...children);
}

const cell = (tag, text) => {
  const element = document.createElement(tag);
  element.textContent = text;
  if (tag === 'th') element.scope = 'row';
  return element;
};
const ms = (value) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : String(value);

function render(run) {
  drawChart('load-throughput', run, (p) => p.accepted, 'orders/s');
  drawChart('load-latency', run, (p) => p.p95Ms, 'ms (p95)');
  $('load-legend').textContent = run.styles
    .map((s) => `${STYLES[s].label}: ${STYLES[s].dash === '' ? 'solid' : 'dashed'} line`)
    .join('; ');
  $('load-points-rows').replaceChildren(
    ...run.points.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.style = p.style;
      tr.append(
        cell('th', String(p.second + 1)),
        cell('td', STYLES[p.style].label),
        cell('td', String(p.accepted)),
        cell('td', String(p.errors)),
        cell('td', ms(p.p50Ms)),
        cell('td', ms(p.p95Ms)),
      );
      return tr;
    }),
  );
  $('load-points').hidden = run.points.length === 0;
  const accepted = (style) =>
    run.points.filter((p) => p.style === style).reduce((n, p) => n + p.accepted, 0);
  $('load-progress').textContent =
    `${run.state === 'running' ? 'Running' : run.state === 'done' ? 'Finished' : 'Failed'}: ${run.elapsedSeconds} s of ${run.durationSeconds} s at ${run.ratePerSecond} orders/s per style; accepted so far: ` +
    run.styles.map((s) => `${STYLES[s].label} ${accepted(s)}`).join(', ') +
    '.';
  const refusals = Object.entries(run.refusals);
  $('load-refusals').textContent =
    refusals.length === 0
      ? ''
      : `Refused: ${refusals.map(([why, n]) => `${why} × ${n}`).join(', ')}.`;
  if (run.summary !== null) {
    $('load-summary-rows').replaceChildren(
      ...run.summary.map((m) => {
        const tr = document.createElement('tr');
        tr.append(
          cell('th', m.name),
          cell('td', String(m.requests)),
          cell('td', String(m.errors)),
          cell('td', String(m.rps)),
          cell('td', ms(m.p50Ms)),
          cell('td', ms(m.p95Ms)),
          cell('td', ms(m.p99Ms)),
        );
        return tr;
      }),
    );
    $('load-summary').hidden = false;
  } else {
    $('load-summary').hidden = true;
  }
}

function follow() {
  window.clearTimeout(polling);
  const poll = async () => {
    const answer = await call('/api/load').catch(() => undefined);
    const run = answer?.body?.run;
    if (run) render(run);
    if (run?.state === 'running' || run === undefined) {
      polling = window.setTimeout(() => void poll(), POLL_MS);
      return;
    }
    $('load-start').disabled = false;
    $('load-status').textContent =
      run.state === 'done'
        ? `The load finished: ${run.summary.map((m) => `${m.name} ${m.requests} accepted, ${m.errors} refused, p95 ${ms(m.p95Ms)} ms`).join('; ')}.`
        : `The load failed: ${run.detail ?? 'no detail'}`;
  };
  void poll();
}

async function start(event) {
  event.preventDefault();
  const form = new FormData($('load-form'));
  const body = {
    ratePerSecond: Number(form.get('ratePerSecond')),
    durationSeconds: Number(form.get('durationSeconds')),
    styles: form.getAll('styles').map(String),
  };
  $('load-start').disabled = true;
  const answer = await call('/api/load', { method: 'POST', body: JSON.stringify(body) }).catch(
    (error) => ({
      ok: false,
      status: 0,
      body: { detail: error.message },
    }),
  );
  if (!answer.ok) {
    $('load-start').disabled = false;
    $('load-status').textContent =
      `The load was refused: ${answer.status} ${answer.body?.detail ?? 'no detail'}`;
    return;
  }
  $('load-status').textContent =
    `Load started: ${body.ratePerSecond} orders/s for ${body.durationSeconds} s over ${answer.body.styles.map((s) => STYLES[s].label).join(' and ')}.`;
  render(answer.body);
  follow();
}

async function init() {
  const answer = await call('/api/load').catch(() => undefined);
  const limits = answer?.body?.limits;
  if (limits)
    $('load-limits').textContent =
      `At most ${limits.maxRatePerSecond} orders/s and ${limits.maxDurationSeconds} s, and ${limits.maxOrdersPerStyle} orders per style in all.`;
  const run = answer?.body?.run;
  if (run) {
    render(run);
    if (run.state === 'running') {
      $('load-start').disabled = true;
      follow();
    }
  }
}

$('load-form').addEventListener('submit', (event) => void start(event));
void init();
