/* global document, window, fetch, EventSource, FormData */
// The console page: plain ES modules, no framework, no bundler (see README).
// Every row it shows comes from an answer of the console's backend or from
// this page's own notification stream.
import { renderTimeline, time } from './timeline.js';

const $ = (id) => document.getElementById(id);
/** How long the page follows one action's hops before it gives up. */
const FOLLOW_MS = 60_000;
const POLL_MS = 250;

const state = {
  info: undefined,
  customer: undefined, // { id, name, email }
  order: undefined, // the order as last read, with its version
  following: undefined, // { traceId, stop }
  /** Notifications this page received over SSE: event id -> { receivedAt, notification }. */
  pushed: new Map(),
};

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: {
      accept: 'application/json',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = { detail: text };
  }
  return { status: response.status, ok: response.ok, body, headers: response.headers };
}

/**
 * Whom the backend acted as on a call (its `x-acting-as` header: "user <id>",
 * "operator"), shown beside the panel's result; nothing when it sends no tokens.
 */
function showActing(id, what, answer) {
  const acting = answer.headers.get('x-acting-as');
  $(id).textContent = acting ? `${what}: acting as ${acting}.` : '';
}

const problem = (answer) =>
  `${answer.status} ${answer.body?.title ?? ''}: ${answer.body?.detail ?? 'no detail'}`.replace(
    ' :',
    ':',
  );

async function loadInfo() {
  const answer = await api('/api/info');
  if (!answer.ok) {
    $('info').textContent = `The console's backend answered ${problem(answer)}`;
    return;
  }
  renderInfo(answer.body);
}

function renderInfo(info) {
  state.info = info;
  const { endpointsMode, userCheck, spanSource, jaegerUrl, tokenIssuer } = info;
  // Polled every second: only a change is written, so screen readers hear only changes.
  const show = (id, text) => {
    if ($(id).textContent !== text) $(id).textContent = text;
  };
  show(
    'identity',
    tokenIssuer
      ? `Tokens: the backend signs each customer (and the operator) in at the local token issuer ${tokenIssuer} and calls as them; user-service and notification-service get its own token.`
      : 'Tokens: none (the backend has no AUTH_ISSUER_URL); services that require them refuse its calls.',
  );
  show('breaker-state', userCheck.breaker ?? 'unknown');
  show('user-check-mode', userCheck.mode ?? 'unknown (order-service metrics unreadable)');
  show(
    'info',
    `Endpoints: ${endpointsMode} mode. User check: ${userCheck.mode ?? 'unknown'}, breaker ${userCheck.breaker ?? 'unknown'}. ` +
      `Span source: ${spanSource ?? 'none (hops only spans can time show as untimed)'}. ` +
      `Jaeger: ${jaegerUrl ?? 'not configured'}.`,
  );
}

async function ensureCustomer(name, email) {
  if (state.customer?.name === name && state.customer?.email === email) return state.customer;
  const answer = await api('/api/users', { method: 'POST', body: { name, email } });
  if (!answer.ok) throw new Error(`registering ${name} was refused: ${problem(answer)}`);
  state.customer = { id: answer.body.id, name, email };
  return state.customer;
}

async function placeOrder(event) {
  event.preventDefault();
  const form = new FormData($('place-form'));
  const button = $('place');
  button.disabled = true;
  $('place-result').textContent = 'Placing the order…';
  try {
    const customer = await ensureCustomer(
      String(form.get('name')).trim(),
      String(form.get('email')).trim(),
    );
    const via = String(form.get('via'));
    const answer = await api('/api/orders', {
      method: 'POST',
      body: {
        via,
        userId: customer.id,
        items: [
          {
            productId: String(form.get('productId')).trim(),
            quantity: Number(form.get('quantity')),
            price: String(form.get('price')).trim(),
          },
        ],
      },
    });
    if (answer.body?.userCheck) $('user-check-mode').textContent = answer.body.userCheck;
    showActing('place-acting', `Placing over ${via.toUpperCase()}`, answer);
    const traceId = answer.headers.get('x-trace-id');
    if (traceId) follow(traceId);
    if (!answer.ok) {
      $('place-result').textContent =
        `order-service refused the order over ${via.toUpperCase()}: ${problem(answer)}`;
      return;
    }
    $('place-result').textContent =
      `Order ${answer.body.orderId} placed over ${via.toUpperCase()} for ${answer.body.userName}: ${answer.body.totalAmount}, version ${answer.body.version}.`;
    await readOrder(answer.body.orderId);
  } catch (error) {
    $('place-result').textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

/** Reads the order and its history; `showReader`: say whom the read acted as (not after a command). */
async function readOrder(orderId, showReader = true) {
  const [order, events] = await Promise.all([
    api(`/api/orders/${orderId}`),
    api(`/api/orders/${orderId}/events`),
  ]);
  if (showReader) showActing('stream-acting', 'Reading the order', order);
  if (!order.ok) {
    $('order-summary').textContent = `Reading order ${orderId} failed: ${problem(order)}`;
    return;
  }
  state.order = order.body;
  $('order-summary').textContent =
    `Order ${order.body.orderId}: ${order.body.status}, ${order.body.totalAmount} for ${order.body.userName}. Version read: ${order.body.version}.`;
  $('expected-version').value = String(order.body.version);
  $('command-form').hidden = false;
  if (events.ok) {
    const rows = $('history-rows');
    rows.replaceChildren(
      ...events.body.events.map((e) => {
        const tr = document.createElement('tr');
        for (const text of [
          String(e.version),
          e.type,
          time(e.occurredAt),
          JSON.stringify(e.data),
        ]) {
          const td = document.createElement('td');
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    $('history').hidden = false;
  }
}

async function sendCommand(event) {
  event.preventDefault();
  const command = event.submitter?.value;
  const order = state.order;
  if (order === undefined || command === undefined) return;
  const expectedVersion = Number($('expected-version').value);
  if (!Number.isInteger(expectedVersion) || expectedVersion < 1) {
    $('command-result').textContent = 'The expected version must be a whole number of at least 1.';
    $('expected-version').focus();
    return;
  }
  $('command-result').textContent = `Sending ${command} with version ${expectedVersion}…`;
  const answer = await api(`/api/orders/${order.orderId}/${command}`, {
    method: 'POST',
    body: { expectedVersion },
  });
  const traceId = answer.headers.get('x-trace-id');
  if (traceId) follow(traceId);
  // Before the result line, which is what a reader (and the browser suite) waits for.
  showActing('stream-acting', `${command[0].toUpperCase()}${command.slice(1)}`, answer);
  if (answer.status === 409) {
    $('command-result').textContent =
      `Refused with 409 (stale version ${expectedVersion}): ${answer.body?.detail ?? 'no detail'}`;
  } else if (!answer.ok) {
    $('command-result').textContent = `${command} was refused: ${problem(answer)}`;
  } else {
    $('command-result').textContent =
      `${command}: accepted with version ${expectedVersion}; the order is now ${answer.body.status}, version ${answer.body.version}.`;
  }
  // The command's token stays shown, not the read's that follows it.
  await readOrder(order.orderId, false);
}

/** Follows one action's hops until every one is in, or FOLLOW_MS passes. */
function follow(traceId) {
  state.following?.stop();
  const started = Date.now();
  let stopped = false;
  let timer;
  state.following = {
    traceId,
    stop: () => {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
  $('timeline-status').textContent = 'Following the hops…';
  const poll = async () => {
    if (stopped) return;
    const answer = await api(`/api/timeline/${traceId}`).catch(() => undefined);
    if (stopped) return;
    if (answer?.ok) {
      const timeline = answer.body;
      const pushed =
        timeline.eventId === undefined ? undefined : state.pushed.get(timeline.eventId);
      const done = renderTimeline(timeline, pushed, state.info?.jaegerUrl ?? null);
      if (done) {
        $('timeline-status').textContent = `Every hop of trace ${traceId} is in.`;
        return;
      }
    }
    if (Date.now() - started > FOLLOW_MS) {
      $('timeline-status').textContent =
        `Stopped waiting after ${FOLLOW_MS / 1000} s; the rows still waiting were not observed.`;
      return;
    }
    timer = window.setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
}

function listen() {
  const source = new EventSource('/api/stream');
  source.addEventListener('open', () => {
    $('feed-status').textContent =
      "Connected to notification-service's stream (relayed by the console).";
  });
  source.addEventListener('error', () => {
    $('feed-status').textContent =
      'The stream dropped; the browser reconnects and resumes after the last event.';
  });
  source.addEventListener('notification', (message) => {
    const receivedAt = Date.now();
    const notification = JSON.parse(message.data);
    state.pushed.set(notification.eventId, { receivedAt, notification });
    if (state.pushed.size > 500) state.pushed.delete(state.pushed.keys().next().value);
    const item = document.createElement('li');
    item.textContent = `${time(new Date(receivedAt).toISOString())} ${notification.kind} for ${notification.recipientName}: ${notification.subject}`;
    item.dataset.eventId = notification.eventId;
    $('feed').prepend(item);
    while ($('feed').children.length > 20) $('feed').lastElementChild.remove();
  });
}

async function refreshBreaker() {
  const answer = await api('/api/info').catch(() => undefined);
  if (answer?.ok) renderInfo(answer.body);
}

async function refreshLag() {
  const answer = await api('/api/kafka/lag').catch(() => undefined);
  if (!answer?.ok) {
    const text =
      answer === undefined
        ? 'The console did not answer.'
        : `notification-service answered ${problem(answer)}`;
    if ($('kafka-status').textContent !== text) $('kafka-status').textContent = text;
    return;
  }
  const { group, joined, totalLag, partitions } = answer.body;
  const text = `Group ${group}: ${joined ? 'joined' : 'not joined'}, total lag ${totalLag ?? 'unknown'}.`;
  if ($('kafka-status').textContent !== text) $('kafka-status').textContent = text;
  $('lag-rows').replaceChildren(
    ...partitions.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.topic = p.topic;
      for (const value of [p.topic, p.partition, p.committed, p.end, p.lag]) {
        const td = document.createElement('td');
        td.textContent = String(value);
        tr.append(td);
      }
      return tr;
    }),
  );
  $('lag').hidden = partitions.length === 0;
}

// The breaker changes on its own (open, then half-open after a while): keep it in view.
window.setInterval(() => void refreshBreaker(), 1_000);
void refreshLag();
window.setInterval(() => void refreshLag(), 2_000);
$('place-form').addEventListener('submit', (event) => void placeOrder(event));
$('command-form').addEventListener('submit', (event) => void sendCommand(event));
listen();
void loadInfo();
