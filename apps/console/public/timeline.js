/* global document */
// Renders one action's timeline: the backend's hops, then this page's own
// (the notification arriving on its SSE stream).

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** HH:MM:SS.mmm in the browser's time zone. */
export function time(isoString) {
  const d = new Date(isoString);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const STATES = {
  done: 'done',
  untimed: 'done, time not observable',
  waiting: 'waiting',
  skipped: 'not reached',
  failed: 'failed',
};

/**
 * Shows `timeline` (from GET /api/timeline/:traceId) and the push this page
 * saw for its event. Returns true once nothing more can appear.
 */
export function renderTimeline(timeline, pushed, jaegerUrl) {
  const refused = timeline.hops.some((h) => h.state === 'skipped' || h.state === 'failed');
  const push = refused
    ? {
        id: 'pushed',
        title: 'Pushed over SSE to this page',
        state: 'skipped',
        detail: 'not reached: the command was refused',
        source: 'the refusal',
      }
    : pushed === undefined
      ? {
          id: 'pushed',
          title: 'Pushed over SSE to this page',
          state: 'waiting',
          detail: "not on this page's stream yet",
          source: 'this page',
        }
      : {
          id: 'pushed',
          title: 'Pushed over SSE to this page',
          state: 'done',
          at: new Date(pushed.receivedAt).toISOString(),
          detail: `notification #${pushed.notification.id} arrived on the stream`,
          source: "this page's EventSource",
        };
  const hops = [...timeline.hops, push];
  const start = hops[0]?.at === undefined ? undefined : Date.parse(hops[0].at);

  const title = document.getElementById('timeline-title');
  title.replaceChildren(
    `${timeline.command === 'create' ? 'Order placed' : `${timeline.command[0].toUpperCase()}${timeline.command.slice(1)}`} over ${timeline.via.toUpperCase()}, trace `,
  );
  if (jaegerUrl) {
    const link = document.createElement('a');
    link.href = `${jaegerUrl}/trace/${timeline.traceId}`;
    link.textContent = timeline.traceId;
    link.id = 'trace-id';
    title.append(link, ' (opens Jaeger)');
  } else {
    const code = document.createElement('code');
    code.id = 'trace-id';
    code.textContent = timeline.traceId;
    title.append(code);
  }

  document.getElementById('timeline-rows').replaceChildren(
    ...hops.map((hop) => {
      const tr = document.createElement('tr');
      tr.dataset.hop = hop.id;
      tr.dataset.state = hop.state;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = hop.title;
      tr.append(th);
      const since =
        hop.at === undefined || start === undefined
          ? ''
          : `+${Math.max(0, Date.parse(hop.at) - start)} ms`;
      const cells = [
        STATES[hop.state] ?? hop.state,
        hop.at === undefined ? '' : time(hop.at),
        since,
        hop.detail,
        hop.source,
      ];
      cells.forEach((text, index) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (index === 0) td.className = `state state-${hop.state}`;
        tr.append(td);
      });
      return tr;
    }),
  );
  document.getElementById('timeline').hidden = false;
  document.getElementById('timeline-caption').hidden = true;
  return timeline.complete && hops.every((h) => h.state !== 'waiting');
}
