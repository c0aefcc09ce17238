/* global document, window, fetch */
// The Kafka panel's topics and dead-letter topic, beside the consumer lag
// that console.js shows: the topics with their partitions' offsets (read
// from Kafka by the console's backend), notification-service's DLQ with each
// message's reason, and its re-drive. Kept apart from console.js.
const $ = (id) => document.getElementById(id);
const TOPICS_MS = 3_000;
const DLQ_MS = 2_000;

async function getJson(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => undefined);
  return { ok: response.ok, status: response.status, body };
}

const refusal = (answer) => `${answer.status} ${answer.body?.detail ?? 'no detail'}`;

/** Sets a status line only when it changes, so screen readers are not told the same twice. */
function say(id, text) {
  if ($(id).textContent !== text) $(id).textContent = text;
}

function row(values, data = {}) {
  const tr = document.createElement('tr');
  Object.assign(tr.dataset, data);
  for (const value of values) {
    const td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '–' : String(value);
    tr.append(td);
  }
  return tr;
}

async function refreshTopics() {
  const answer = await getJson('/api/kafka/topics').catch(() => undefined);
  if (!answer?.ok) {
    say(
      'topics-status',
      answer === undefined ? 'The console did not answer.' : `Topics: ${refusal(answer)}`,
    );
    $('topics').hidden = true;
    return;
  }
  const { brokers, topics } = answer.body;
  say('topics-status', `${topics.length} topic(s) on ${brokers.join(', ')}.`);
  $('topics-rows').replaceChildren(
    ...topics.map((t) =>
      row(
        [
          t.topic,
          t.partitions.length,
          t.partitions.map((p) => `${p.partition}: ${p.low}–${p.high}`).join(', '),
          t.messages,
        ],
        { topic: t.topic },
      ),
    ),
  );
  $('topics').hidden = topics.length === 0;
}

async function refreshDlq() {
  const answer = await getJson('/api/kafka/dlq').catch(() => undefined);
  if (!answer?.ok) {
    say(
      'dlq-status',
      answer === undefined
        ? 'The console did not answer.'
        : `notification-service answered ${refusal(answer)}`,
    );
    return;
  }
  const { topic, total, caughtUp, messages } = answer.body;
  const shown = messages.length < total ? ` (the newest ${messages.length} shown)` : '';
  say(
    'dlq-status',
    total === 0
      ? `${topic} is empty: nothing waits to be re-driven.`
      : `${total} message(s) wait in ${topic}${shown}${caughtUp ? '' : '; still reading'}.`,
  );
  $('dlq-rows').replaceChildren(
    ...messages.map((m) =>
      row(
        [
          `${m.partition}/${m.offset}`,
          m.reason,
          m.error,
          m.sourceTopic === null
            ? null
            : `${m.sourceTopic} ${m.sourcePartition ?? '?'}/${m.sourceOffset ?? '?'}`,
          m.eventType === null ? m.preview : `${m.eventType} ${m.eventId ?? ''}`,
          m.redriven,
          m.failedAt,
        ],
        { reason: m.reason },
      ),
    ),
  );
  $('dlq').hidden = messages.length === 0;
}

async function redrive() {
  const button = $('redrive');
  button.disabled = true;
  $('redrive-result').textContent = 'Re-driving: sending each waiting message back to its topic…';
  try {
    const answer = await getJson('/api/kafka/dlq/redrive', { method: 'POST' });
    if (!answer.ok) {
      $('redrive-result').textContent = `The re-drive was refused: ${refusal(answer)}`;
      return;
    }
    const { redriven, skipped, drained } = answer.body;
    $('redrive-result').textContent =
      `Re-driven ${redriven} message(s)${skipped > 0 ? `, ${skipped} without a source topic skipped` : ''}` +
      (drained ? '.' : '; the deadline came first, re-drive again for the rest.');
  } catch {
    $('redrive-result').textContent = 'The console did not answer.';
  } finally {
    button.disabled = false;
    await refreshDlq();
  }
}

$('redrive').addEventListener('click', () => void redrive());
void refreshTopics();
void refreshDlq();
window.setInterval(() => void refreshTopics(), TOPICS_MS);
window.setInterval(() => void refreshDlq(), DLQ_MS);
