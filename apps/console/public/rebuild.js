/* global document, fetch, MutationObserver */
// The event-stream panel's "Rebuild read model": order-service replays the
// order's events and answers how its read-model row compared. Kept apart from
// console.js; it follows the order that panel shows through its summary line.
const $ = (id) => document.getElementById(id);
const ORDER_LINE = /^Order ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):/;

let orderId;

function followSummary() {
  const match = ORDER_LINE.exec($('order-summary').textContent ?? '');
  if (match?.[1] === undefined) return;
  if (match[1] !== orderId) {
    orderId = match[1];
    $('rebuild-result').textContent = '';
    $('rebuild-diff').hidden = true;
  }
  $('rebuild-panel').hidden = false;
}

const shown = (value) => (value === null || value === undefined ? '(none)' : JSON.stringify(value));

async function rebuild() {
  if (orderId === undefined) return;
  const button = $('rebuild');
  button.disabled = true;
  $('rebuild-result').textContent = `Replaying order ${orderId}'s events…`;
  try {
    const response = await fetch(`/api/orders/${orderId}/rebuild`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    const body = await response.json().catch(() => undefined);
    const acting = response.headers.get('x-acting-as');
    $('stream-acting').textContent = acting ? `Rebuild: acting as ${acting}.` : '';
    if (!response.ok) {
      $('rebuild-result').textContent =
        `The rebuild was refused: ${response.status} ${body?.detail ?? 'no detail'}`;
      $('rebuild-diff').hidden = true;
      return;
    }
    const { differences, after } = body;
    if (differences.length === 0) {
      $('rebuild-result').textContent =
        `No differences: the read model agreed with the ${after.version} events of the stream.`;
      $('rebuild-diff').hidden = true;
      return;
    }
    $('rebuild-result').textContent =
      `${differences.length} field${differences.length === 1 ? '' : 's'} differed from the events; the read model was rewritten from them.`;
    $('rebuild-rows').replaceChildren(
      ...differences.map((d) => {
        const tr = document.createElement('tr');
        tr.dataset.field = d.field;
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = d.field;
        tr.append(th);
        for (const value of [d.before, d.after]) {
          const td = document.createElement('td');
          td.textContent = shown(value);
          tr.append(td);
        }
        return tr;
      }),
    );
    $('rebuild-diff').hidden = false;
  } catch (error) {
    $('rebuild-result').textContent = `The console did not answer: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

new MutationObserver(followSummary).observe($('order-summary'), {
  childList: true,
  characterData: true,
  subtree: true,
});
$('rebuild').addEventListener('click', () => void rebuild());
