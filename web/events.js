// The event pages: the list of events (upcoming first, with availability),
// and one event with its live seat map, the seats the user picked, "best N
// available", standing sections as counts, and one order for the lot. A
// queued event shows its waiting room (queue.js) instead of the map until
// the user is admitted; the map then opens and its orders carry the pass.

import * as api from './api.js';
import { EventFeed } from './live.js';
import { SeatMap } from './seatmap.js';
import { waitingRoom } from './queue.js';
import { h, replace, seg, formatPrice, formatSeat, dateElement } from './dom.js';
import { heading, backLink, isPastDate, setBusy, isAbort, loading } from './parts.js';

/** The most seats one order may hold. */
const MAX_SEATS = 10;

// ---------------------------------------------------------------- list

export async function eventList({ view, app, signal }) {
  app.setTitle('Events');
  replace(view, heading('Events'), loading('Loading events…'));
  const all = await api.listEvents({ signal });
  if (signal.aborted) return;
  // The server lists soonest first: the upcoming keep that order, the past
  // follow, most recent first.
  const upcoming = all.filter((e) => !isPastDate(e.startsAt));
  const past = all.filter((e) => isPastDate(e.startsAt)).reverse();

  const row = (e) => {
    const isPast = isPastDate(e.startsAt);
    const seats = e.seats || {};
    return h(
      'li',
      { class: `ticket-row${isPast ? ' is-past' : ''}`, testid: 'event-row', dataset: { eventId: String(e.id), past: isPast ? 'true' : 'false' } },
      h(
        'div',
        { class: 'ticket-main' },
        h('a', { class: 'ticket-link', href: `#/events/${seg(e.id)}`, testid: 'event-link' }, e.name),
        h('p', { class: 'ticket-date' }, dateElement(e.startsAt), e.venue ? ` · ${e.venue}` : ''),
      ),
      h(
        'div',
        { class: 'ticket-side' },
        h('span', { class: 'muted', testid: 'event-availability' }, `${seats.available ?? 0} of ${seats.total ?? 0} available`),
        h(
          'span',
          { class: 'badges' },
          isPast ? h('span', { class: 'badge badge-past', testid: 'event-past' }, 'Past') : null,
          !isPast && seats.available === 0 ? h('span', { class: 'badge badge-sold' }, 'Sold out') : null,
        ),
      ),
    );
  };

  replace(
    view,
    h('div', { class: 'page-head' }, h('div', null, heading('Events', { id: 'events-heading' }), h('p', { class: 'lede' }, 'Pick your seats on a map that changes live.'))),
    all.length
      ? h('ul', { class: 'ticket-list', testid: 'event-list', 'aria-labelledby': 'events-heading' }, upcoming.map(row), past.map(row))
      : h('div', { class: 'empty', testid: 'empty-events' }, h('p', null, 'No events on sale yet.')),
  );
}

// ---------------------------------------------------------------- one event

/** A select of 1..`max`. */
function quantitySelect(id, testid, max = MAX_SEATS) {
  return h(
    'select',
    { id, testid },
    Array.from({ length: max }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))),
  );
}

export async function eventDetail({ view, app, params: [id], signal }) {
  app.setTitle('Event');
  replace(view, loading());
  const event = await api.getEvent(id, { signal });
  if (signal.aborted) return;
  app.setTitle(event.name);
  if (app.user) app.refreshMyOrders();

  const past = isPastDate(event.startsAt);
  /** Buyers reach the map through the waiting room. */
  const queued = event.queue === true && !past;
  /** The admission pass while the user is admitted (queued events). */
  let pass = null;
  let mapOpen = !queued;
  /** Ticket ids the user picked, in the order picked. */
  const selected = new Set();
  let ready = false;
  let deleted = false;
  let reserving = false;

  const feed = new EventFeed(event.id, (state) => {
    mapBox.dataset.live = state;
    liveText.textContent = state === 'live' ? 'Live' : 'Reconnecting…';
  });
  signal.addEventListener('abort', () => feed.stop());

  const map = new SeatMap(event, { onToggle: toggle });
  const liveText = h('span', { class: 'muted map-live', testid: 'map-live', role: 'status' }, 'Connecting…');
  const standing = new Map();
  const mapBox = h('div', { class: 'seat-map-box', testid: 'seat-map', dataset: { ready: 'false', live: 'reconnecting' } });
  for (const section of event.sections || []) {
    const drawn = map.sectionElement(section.name);
    if (drawn) {
      mapBox.append(drawn);
      continue;
    }
    const count = h('p', { class: 'standing-count', testid: 'standing-count' }, `${section.name}: ${section.available} of ${section.capacity} places left`);
    const qty = quantitySelect(`standing-qty-${standing.size}`, 'standing-quantity');
    const go = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'standing-reserve' }, 'Reserve places');
    go.addEventListener('click', () => orderBest(go, Number(qty.value), section.name));
    const box = h(
      'div',
      { class: 'standing', testid: 'standing-section', dataset: { section: section.name } },
      count,
      h('p', { class: 'muted' }, `Standing, ${formatPrice(section.price)} a place`),
      h('div', { class: 'inline-form' }, h('label', { for: qty.id }, 'Places'), qty, go),
    );
    standing.set(section.name, { section, count, box });
    mapBox.append(box);
  }

  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Seat colours' },
    ['available', 'selected', 'reserved', 'sold', 'mine'].map((k) =>
      h('li', null, h('span', { class: `swatch swatch-${k}`, 'aria-hidden': 'true' }), { available: 'Available', selected: 'Your choice', reserved: 'Held', sold: 'Sold', mine: 'Yours' }[k]),
    ),
  );

  // The chosen seats, their total and "Reserve".
  const chosen = h('ul', { class: 'chosen', testid: 'summary-seats' });
  const total = h('p', { class: 'total', testid: 'summary-total' });
  const reserveButton = h('button', { type: 'button', class: 'btn btn-primary', testid: 'reserve-seats' }, 'Reserve');
  const clearButton = h('button', { type: 'button', class: 'btn btn-ghost', testid: 'clear-seats' }, 'Clear');
  const signInLink = h('a', { class: 'btn btn-primary', testid: 'signin-to-reserve' }, 'Sign in to reserve');
  const problem = h('p', { class: 'notice notice-error', role: 'alert', testid: 'reserve-seats-error', hidden: true, tabindex: '-1' });
  const summary = h(
    'section',
    { class: 'card summary', testid: 'seat-summary', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, 'Your seats'),
    chosen,
    total,
    problem,
    h('div', { class: 'actions' }, reserveButton, signInLink, clearButton),
  );

  // Best N available.
  const bestQty = quantitySelect('best-quantity', 'best-quantity');
  const bestSection = h(
    'select',
    { id: 'best-section', testid: 'best-section' },
    h('option', { value: '' }, 'Any section'),
    (event.sections || []).map((s) => h('option', { value: s.name }, s.name)),
  );
  const bestButton = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'best-submit' }, 'Reserve best available');
  const bestForm = h(
    'form',
    { class: 'card best', novalidate: true, testid: 'best-form', 'aria-labelledby': 'best-heading' },
    h('h2', { id: 'best-heading' }, 'Best available'),
    h('div', { class: 'inline-form' }, h('label', { for: 'best-quantity' }, 'Seats'), bestQty, h('label', { for: 'best-section' }, 'in'), bestSection),
    h('div', { class: 'actions' }, bestButton),
  );
  bestForm.addEventListener('submit', (e) => {
    e.preventDefault();
    orderBest(bestButton, Number(bestQty.value), bestSection.value || null);
  });

  const note = h('p', { class: 'muted note', testid: 'event-note' });
  const gone = h('p', { class: 'notice notice-warn', testid: 'event-deleted', hidden: true, tabindex: '-1' }, 'This event has been removed by its organiser. Its seats are no longer on sale.');
  const side = h('div', { class: 'event-side' }, summary, bestForm);
  const layout = h('div', { class: 'event-layout', hidden: !mapOpen }, h('div', { class: 'event-map' }, legend, mapBox), side);
  const room = queued
    ? waitingRoom(event, {
        app,
        signal,
        onEntry: admission,
        onState: (state) => {
          if (!mapOpen) liveText.textContent = { live: 'Live', closed: '' }[state] ?? 'Reconnecting…';
        },
        onGone: markDeleted,
      })
    : null;
  replace(
    view,
    backLink('#/events', 'All events'),
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        heading(event.name, { id: 'event-heading', testid: 'event-name' }),
        h('p', { class: 'lede' }, dateElement(event.startsAt, 'event-date'), event.venue ? ` · ${event.venue}` : ''),
      ),
      liveText,
    ),
    gone,
    note,
    room?.element,
    layout,
  );

  // ------------------------------------------------------------ state

  const isMine = (t) => t.orderId != null && app.myOrders.has(String(t.orderId));
  const seatOf = (tid) => feed.seats.get(String(tid));
  const show = (t) => map.update(t, { selected: selected.has(String(t.id)), mine: isMine(t) });
  const where = (t) => formatSeat(t.seat) ?? t.title;

  function renderStanding() {
    const free = new Map();
    for (const t of feed.seats.values()) {
      if (t.seat?.row == null && t.status === 'available') free.set(t.seat?.section, (free.get(t.seat?.section) ?? 0) + 1);
    }
    for (const { section, count } of standing.values()) {
      const left = ready ? free.get(section.name) ?? 0 : section.available;
      count.textContent = `${section.name}: ${left} of ${section.capacity} places left`;
      count.dataset.available = String(left);
    }
  }

  function renderSummary() {
    const seats = [...selected].map(seatOf).filter(Boolean);
    replace(
      chosen,
      seats.length
        ? seats.map((t) => h('li', { testid: 'summary-seat', dataset: { ticketId: String(t.id) } }, h('span', null, where(t)), h('span', { class: 'num' }, formatPrice(t.price))))
        : h('li', { class: 'muted' }, past ? 'This event has taken place.' : 'Pick seats on the map (up to 10).'),
    );
    const sum = seats.reduce((s, t) => s + Math.round(Number(t.price) * 100), 0) / 100;
    total.textContent = seats.length ? `${seats.length} seat${seats.length === 1 ? '' : 's'} · Total ${formatPrice(sum)}` : '';
    reserveButton.textContent = seats.length ? `Reserve ${seats.length} seat${seats.length === 1 ? '' : 's'}` : 'Reserve';
    reserveButton.hidden = !app.user;
    reserveButton.disabled = seats.length === 0 || deleted;
    signInLink.hidden = !!app.user;
    signInLink.href = `#/signin?next=${encodeURIComponent(`/events/${seg(event.id)}`)}`;
    clearButton.hidden = seats.length === 0;
  }

  function renderNote() {
    const onSale = event.onSaleAt && !isPastDate(event.onSaleAt) ? `On sale from ${dateElement(event.onSaleAt).textContent}.` : '';
    note.textContent = past ? 'This event has taken place: its seats are no longer on sale.' : onSale;
    bestForm.hidden = past || deleted;
    summary.hidden = deleted;
    for (const { box } of standing.values()) box.querySelector('.inline-form').hidden = past || deleted;
  }

  function renderAll() {
    for (const t of feed.seats.values()) show(t);
    renderStanding();
    renderSummary();
  }

  /** Drops chosen seats that someone else took; says which. */
  function dropTaken(seats) {
    const taken = seats.filter((t) => selected.has(String(t.id)) && t.status !== 'available');
    for (const t of taken) selected.delete(String(t.id));
    if (taken.length) {
      const names = taken.map(where).join('; ');
      problem.textContent = `Taken by someone else just now: ${names}. Pick other seats.`;
      problem.hidden = false;
      app.announce(problem.textContent);
    }
    return taken;
  }

  function toggle(ticketId) {
    const t = seatOf(ticketId);
    if (!ready || !t || reserving || deleted || past) return;
    const key = String(t.id);
    if (selected.has(key)) {
      selected.delete(key);
      app.announce(`${where(t)} removed from your seats.`);
    } else if (t.status !== 'available') {
      return;
    } else if (selected.size >= MAX_SEATS) {
      problem.textContent = `At most ${MAX_SEATS} seats in one order.`;
      problem.hidden = false;
      return;
    } else {
      selected.add(key);
      problem.hidden = true;
      app.announce(`${where(t)} added. ${selected.size} seat${selected.size === 1 ? '' : 's'} chosen.`);
    }
    show(t);
    renderSummary();
  }

  /** The waiting room's entry: the map is open while the user is admitted. */
  function admission(entry) {
    pass = entry.status === 'admitted' ? entry.pass : null;
    if (pass && !mapOpen && !deleted) {
      mapOpen = true;
      layout.hidden = false;
      feed.start();
    } else if (!pass && mapOpen) {
      mapOpen = false;
      layout.hidden = true;
      feed.stop();
    }
  }

  function markDeleted() {
    if (deleted) return;
    deleted = true;
    feed.stop();
    if (room) room.element.hidden = true;
    selected.clear();
    gone.hidden = false;
    mapBox.dataset.deleted = 'true';
    renderAll();
    renderNote();
    gone.focus();
    app.announce('This event has been removed.');
  }

  feed.events.addEventListener('snapshot', (e) => {
    ready = true;
    mapBox.dataset.ready = 'true';
    dropTaken(e.detail.seats);
    for (const t of e.detail.seats) if (!feed.seats.has(String(t.id))) selected.delete(String(t.id));
    renderAll();
    map.settle();
  });
  feed.events.addEventListener('seats', (e) => {
    const { seats } = e.detail;
    dropTaken(seats);
    for (const t of seats) show(t);
    renderStanding();
    renderSummary();
  });
  feed.events.addEventListener('deleted', markDeleted);
  feed.onRefused = () => {
    api.getEvent(event.id, { signal }).catch((err) => {
      if (!isAbort(err, signal) && err.status === 404) markDeleted();
    });
  };
  app.events.addEventListener('orders', renderAll, { signal });
  app.events.addEventListener('user', renderAll, { signal });
  clearButton.addEventListener('click', () => {
    selected.clear();
    problem.hidden = true;
    renderAll();
  });

  reserveButton.addEventListener('click', async () => {
    if (reserving || selected.size === 0) return;
    reserving = true;
    problem.hidden = true;
    app.clearAlerts();
    setBusy(reserveButton, true, 'Reserving…');
    const ids = [...selected];
    try {
      const order = await api.orderSeats(ids, { signal, queuePass: pass });
      app.noteOrder(order);
      app.navigate(`/orders/${seg(order.id)}`);
    } catch (err) {
      if (isAbort(err, signal)) return;
      reserving = false;
      setBusy(reserveButton, false);
      await refused(err, ids);
      renderSummary();
    }
  });

  /** Explains a refused order; for taken seats, re-reads them and says which. */
  async function refused(err, ids) {
    if (err.status === 401) {
      app.requireSignIn('Please sign in again to reserve.');
      return;
    }
    if (err.status === 400 && /already reserved/i.test(err.message)) {
      const fresh = await Promise.all(ids.map((tid) => api.getTicket(tid, { signal }).catch(() => null)));
      if (signal.aborted) return;
      const changed = fresh.filter((t) => t && feed.upsert(t));
      for (const t of changed) show(t);
      const known = ids.map(seatOf).filter(Boolean);
      if (dropTaken(known).length) {
        renderAll();
        problem.focus();
        return;
      }
    }
    problem.textContent = err.message;
    problem.hidden = false;
    problem.focus();
  }

  async function orderBest(button, quantity, section) {
    if (reserving) return;
    if (!app.user) {
      app.requireSignIn('Please sign in to reserve seats.');
      return;
    }
    reserving = true;
    problem.hidden = true;
    app.clearAlerts();
    setBusy(button, true, 'Reserving…');
    try {
      const order = await api.orderBest(event.id, quantity, section, { signal, queuePass: pass });
      app.noteOrder(order);
      app.navigate(`/orders/${seg(order.id)}`);
    } catch (err) {
      if (isAbort(err, signal)) return;
      reserving = false;
      setBusy(button, false);
      if (err.status === 401) {
        app.requireSignIn('Please sign in again to reserve.');
        return;
      }
      app.alertError(err);
    }
  }

  renderNote();
  renderStanding();
  renderSummary();
  if (room) room.start();
  else feed.start();
}
