// The waiting room of a queued event (`queue: true`): joining the line, then
// the user's place in it, live from the line's WebSocket (place, people
// ahead, an honest ETA, how far the line has moved toward the user), the
// time of the draw while places are not given yet, "every seat is held"
// while the line waits for a hold to come back, and plainly how it ended
// (sold out, pass used, pass ran out). On admission the event page opens
// the seat map with the pass; this panel then shrinks to the pass's
// countdown. While waiting the panel keeps one size whatever it says, so
// nothing around it moves as it fills in.

import * as api from './api.js';
import { serverNow } from './api.js';
import { QueueFeed } from './live.js';
import { h, seg, formatDate, formatTime, formatCountdown, spokenDuration } from './dom.js';
import { setBusy, isAbort } from './parts.js';

/**
 * The least time between two reads of the event's seat counts, taken only
 * while the line stands still (to tell "every seat is held" from a line
 * waiting for buyers to finish).
 */
const COUNTS_EVERY_MS = 8_000;

/** Statuses after which the entry never changes again. */
const FINAL = new Set(['done', 'expired', 'soldout']);

/** An ETA in words, from `etaSecs` (null: nothing to estimate from yet). */
function etaWords(secs) {
  if (secs == null) return 'estimating…';
  if (secs < 5) return 'any moment now';
  if (secs < 90) return `about ${Math.ceil(secs / 5) * 5} seconds`;
  if (secs < 90 * 60) return `about ${Math.round(secs / 60)} minutes`;
  return `about ${Math.round(secs / 360) / 10} hours`;
}

/** How far the line has moved toward the user's place, 0 to 100. */
function progressOf(entry) {
  if (entry.position == null || entry.ahead == null) return 0;
  const before = entry.position - 1;
  if (before <= 0) return 100;
  return Math.round((100 * Math.min(before, Math.max(0, before - entry.ahead))) / before);
}

/** A moment in words: its time of day when it is today, else its date. */
function when(iso) {
  const sameDay = new Date(iso).toDateString() === new Date(serverNow()).toDateString();
  return sameDay ? formatTime(iso) : formatDate(iso);
}

/**
 * The waiting room of `event` for the signed-in user (a sign-in prompt when
 * signed out). `onEntry(entry)` hears every entry (an `admitted` one carries
 * the pass), `onState(state)` the line's connection ('live',
 * 'reconnecting', or 'closed' once the entry can no longer change), `onGone()` that the event was deleted. Returns
 * `{element, start}`; everything stops when `signal` aborts.
 */
export function waitingRoom(event, { app, signal, onEntry, onState, onGone }) {
  const title = h('h2', { id: 'queue-heading', testid: 'queue-title' }, 'Waiting room');
  const message = h('p', { class: 'queue-message', testid: 'queue-message' }, 'Checking your place in line…');
  const position = h('dd', { testid: 'queue-position' });
  const ahead = h('dd', { testid: 'queue-ahead' });
  const eta = h('dd', { testid: 'queue-eta' });
  const stat = (label, dd) => h('div', null, h('dt', null, label), dd);
  const stats = h('dl', { class: 'facts queue-stats', hidden: true }, stat('Your place in line', position), stat('People ahead of you', ahead), stat('Estimated wait', eta));
  const progress = h('progress', { class: 'queue-progress', testid: 'queue-progress', max: '100', value: '0', 'aria-label': 'How far the line has moved toward your place', hidden: true });
  const held = h('p', { class: 'notice notice-warn', testid: 'queue-held', hidden: true }, 'Every seat is held, waiting for one to come back.');
  const join = h('button', { type: 'button', class: 'btn btn-primary', testid: 'queue-join', hidden: true }, 'Join the line');
  const signIn = h('a', { class: 'btn btn-primary', testid: 'queue-signin', hidden: true, href: `#/signin?next=${encodeURIComponent(`/events/${seg(event.id)}`)}` }, 'Sign in to join the line');
  const orders = h('a', { class: 'btn btn-secondary', testid: 'queue-orders', hidden: true, href: '#/orders' }, 'My orders');
  const countdown = h('span', { class: 'countdown', testid: 'queue-pass-countdown' });
  const pass = h(
    'div',
    { class: 'hold queue-pass', hidden: true },
    h('p', { class: 'hold-label' }, 'Your pass'),
    h('p', { class: 'hold-until' }, 'Good for one order: pick your seats before it runs out.'),
    countdown,
  );
  const element = h(
    'section',
    { class: 'card queue-room', testid: 'queue-room', 'aria-labelledby': 'queue-heading', dataset: { status: 'loading' } },
    title,
    message,
    stats,
    progress,
    held,
    pass,
    h('div', { class: 'actions' }, join, signIn, orders),
  );

  let entry = null;
  let counts = event.seats ?? null;
  let countsAt = Date.now();
  let ticker = null;
  let started = false;
  const feed = new QueueFeed(event.id, show, (state) => onState?.(state));
  signal.addEventListener('abort', () => {
    feed.stop();
    clearInterval(ticker);
  });

  /** Shows one state of the panel: which parts are visible and what it says. */
  function layout(status, heading, text, { showStats = false, showPass = false, showJoin = false } = {}) {
    element.dataset.status = status;
    title.textContent = heading;
    message.textContent = text;
    stats.hidden = !showStats;
    progress.hidden = !showStats;
    held.hidden = true;
    pass.hidden = !showPass;
    join.hidden = !showJoin || !app.user;
    signIn.hidden = !showJoin || !!app.user;
    orders.hidden = status !== 'done';
    if (!showPass) clearInterval(ticker);
  }

  const everySeatHeld = () => !!counts && counts.available === 0 && counts.reserved > 0;

  function outOfLine() {
    const soon = event.onSaleAt && Date.parse(event.onSaleAt) > serverNow();
    const text = soon
      ? `Seats go on sale at ${when(event.onSaleAt)}. Join the line now: everyone who joins before then gets a random place at that time, ahead of everyone who joins later.`
      : 'Seats are sold through a waiting room: join the line, and the seat map opens by itself when it is your turn.';
    layout(app.user ? 'out' : 'signed-out', 'Waiting room', text, { showJoin: true });
  }

  function waiting(next, before) {
    if (next.position == null) {
      const drawn = event.onSaleAt && Date.parse(event.onSaleAt) > serverNow();
      layout('waiting', 'You are in line', drawn
        ? `Places are drawn at ${when(event.onSaleAt)}: everyone who joined before then gets a random place, ahead of everyone who joins later.`
        : 'Places are being drawn now…', { showStats: true });
      position.textContent = drawn ? `drawn at ${when(event.onSaleAt)}` : 'being drawn';
      ahead.textContent = '–';
      eta.textContent = 'after the draw';
    } else {
      layout('waiting', 'You are in line', next.ahead === 0
        ? 'You are next. Keep this page open: the seat map opens by itself when it is your turn.'
        : 'Keep this page open: the seat map opens by itself when it is your turn.', { showStats: true });
      position.textContent = `#${next.position}`;
      ahead.textContent = String(next.ahead ?? '–');
      eta.textContent = etaWords(next.etaSecs);
    }
    progress.value = progressOf(next);
    held.hidden = !everySeatHeld();
    // A line that stands still may be waiting for a hold to come back: read
    // the seat counts again (not on every message: the line may be long).
    const still = before?.status === 'waiting' && before.position != null && before.ahead === next.ahead;
    if (next.position != null && still && Date.now() - countsAt >= COUNTS_EVERY_MS) {
      countsAt = Date.now();
      api.getEvent(event.id, { signal }).then(
        (e) => {
          counts = e.seats ?? null;
          if (entry?.status === 'waiting') held.hidden = !everySeatHeld();
        },
        () => {},
      );
    }
  }

  function admitted(next) {
    layout('admitted', 'It is your turn', 'Your seat map is open below.', { showPass: true });
    const expiresAt = Date.parse(next.passExpiresAt);
    const tick = () => {
      const left = expiresAt - serverNow();
      countdown.textContent = formatCountdown(left);
      pass.classList.toggle('is-urgent', left > 0 && left < 60_000);
      pass.classList.toggle('is-expired', left <= 0);
    };
    clearInterval(ticker);
    tick();
    ticker = setInterval(tick, 250);
  }

  /** Shows `next` (the entry from the server) and tells the page. */
  function show(next) {
    if (signal.aborted) return;
    const before = entry;
    entry = next;
    element.dataset.position = String(next.position ?? '');
    element.dataset.ahead = String(next.ahead ?? '');
    switch (next.status) {
      case 'waiting':
        waiting(next, before);
        break;
      case 'admitted':
        admitted(next);
        break;
      case 'done':
        layout('done', 'Your turn is over', 'Your pass was used for an order. Each account has one place in this line.');
        break;
      case 'expired':
        layout('expired', 'Your turn has passed', 'Your pass ran out before you ordered. Each account has one place in this line.');
        break;
      case 'soldout':
        layout('soldout', 'Sold out', 'Every seat of this event has been sold.');
        break;
      default:
        return;
    }
    if (before?.status !== next.status) announce(next);
    onEntry?.(next);
    if (FINAL.has(next.status)) {
      feed.stop();
      onState?.('closed');
    }
  }

  function announce(next) {
    if (next.status === 'admitted') {
      const left = Date.parse(next.passExpiresAt) - serverNow();
      app.announce(`It is your turn. The seat map is open; your pass lasts ${spokenDuration(left)}.`);
    } else {
      app.announce(`${title.textContent}. ${message.textContent}`);
    }
  }

  function follow() {
    if (started || FINAL.has(entry?.status)) return;
    started = true;
    feed.start();
  }

  // A refused connection: the session ended (401), or there is no entry
  // any more (404: the event was deleted).
  feed.onRefused = async () => {
    try {
      show(await api.getQueueEntry(event.id, { signal }));
    } catch (err) {
      if (isAbort(err, signal)) return;
      if (err.status === 401) {
        feed.stop();
        app.requireSignIn('Please sign in again to keep your place in line.');
      } else if (err.status === 404) {
        feed.stop();
        onGone?.();
      }
    }
  };

  join.addEventListener('click', async () => {
    if (join.getAttribute('aria-disabled') === 'true') return;
    app.clearAlerts();
    setBusy(join, true, 'Joining…');
    try {
      const next = await api.joinQueue(event.id, { signal });
      setBusy(join, false);
      show(next);
      follow();
    } catch (err) {
      if (isAbort(err, signal)) return;
      setBusy(join, false);
      if (err.status === 401) app.requireSignIn('Please sign in to join the line.');
      else app.alertError(err);
    }
  });

  /** Finds the user's entry (the same one after a reload) and follows it live. */
  async function start() {
    if (!app.user) {
      outOfLine();
      return;
    }
    try {
      show(await api.getQueueEntry(event.id, { signal }));
      follow();
    } catch (err) {
      if (isAbort(err, signal)) return;
      // 404: not in line yet. Anything else: joining is safe to try, as
      // joining again answers the same entry.
      outOfLine();
      if (err.status === 401) app.requireSignIn('Please sign in again to join the line.');
      else if (err.status !== 404) app.alertError(err);
    }
  }

  return { element, start };
}
