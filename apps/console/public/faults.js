/* global document, window, fetch */
// The faults panel, local runs only: stop and start user-service,
// notification-service and Kafka through npm start's fault control, with
// what each shows beside it (the breaker, which console.js keeps in view;
// notification-service's group lag, read from Kafka so it is known while the
// service is paused; order-service's outbox backlog).
const $ = (id) => document.getElementById(id);
const TARGETS = ['user-service', 'notification-service', 'kafka'];
const POLL_MS = 1_000;
let available = false;
let acting = false;

async function getJson(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => undefined);
  return { ok: response.ok, status: response.status, body };
}

function say(id, text) {
  if ($(id).textContent !== text) $(id).textContent = text;
}

function render(services) {
  for (const name of TARGETS) {
    const state = services.find((s) => s.service === name);
    const running = state?.running === true;
    say(`fault-${name}-state`, state === undefined ? 'unknown' : running ? 'running' : 'stopped');
    const refusal = state?.refusal;
    if (refusal !== undefined) say(`fault-${name}-note`, refusal);
    $(`stop-${name}`).disabled = acting || !available || refusal !== undefined || !running;
    $(`start-${name}`).disabled = acting || !available || refusal !== undefined || running;
  }
}

async function loadFaults() {
  const answer = await getJson('/api/faults').catch(() => undefined);
  if (!answer?.ok || answer.body?.available !== true) {
    available = false;
    say(
      'faults-status',
      answer?.body?.reason ??
        answer?.body?.detail ??
        'The console could not say whether faults are available.',
    );
    render([]);
    return;
  }
  available = true;
  const { services } = answer.body;
  if (!acting)
    say(
      'faults-status',
      services.map((s) => `${s.service} is ${s.running ? 'running' : 'stopped'}.`).join(' '),
    );
  render(services);
}

async function act(name, action) {
  acting = true;
  render([]);
  say('faults-status', `${action === 'stop' ? 'Stopping' : 'Starting'} ${name}…`);
  try {
    const answer = await getJson(`/api/faults/${name}/${action}`, { method: 'POST' });
    if (!answer.ok)
      say(
        'faults-status',
        `${action} ${name} was refused: ${answer.body?.detail ?? answer.status}`,
      );
  } catch {
    say('faults-status', 'The console did not answer.');
  } finally {
    acting = false;
    await loadFaults();
  }
}

async function refreshSigns() {
  const [lag, outbox] = await Promise.all([
    getJson('/api/kafka/group-lag').catch(() => undefined),
    getJson('/api/outbox').catch(() => undefined),
  ]);
  say('fault-lag', lag?.ok ? `${lag.body.totalLag} event(s) not yet consumed` : 'unknown');
  say(
    'outbox-backlog',
    outbox?.ok
      ? `${outbox.body.rows} row(s), the oldest ${outbox.body.oldestAgeSeconds.toFixed(1)} s old`
      : 'unknown',
  );
}

for (const name of TARGETS) {
  $(`stop-${name}`).addEventListener('click', () => void act(name, 'stop'));
  $(`start-${name}`).addEventListener('click', () => void act(name, 'start'));
}
void loadFaults();
void refreshSigns();
window.setInterval(() => {
  if (!acting) void loadFaults();
  void refreshSigns();
}, POLL_MS);
