// The ticket pages: the live list of tickets sold on their own, and one
// ticket with what the user can do with it (reserve, edit, delete).

import * as api from './api.js';
import { h, replace, seg, formatPrice, dateElement, ticketBadge } from './dom.js';
import { heading, backLink, isPast, pastBadge, relationTo, isReservable, relationBadge, flash, setBusy, isAbort, loading } from './parts.js';

// ---------------------------------------------------------------- ticket list

export async function ticketList({ view, app, signal }) {
  app.setTitle('Tickets');
  const store = app.store;
  const rows = new Map();

  const count = h('p', { class: 'muted count', testid: 'ticket-count' });
  const onlyAvailable = h('input', { type: 'checkbox', id: 'only-available', testid: 'filter-available' });
  const list = h('ul', { class: 'ticket-list', testid: 'ticket-list', 'aria-labelledby': 'tickets-heading' });
  const statusArea = h('div', { class: 'list-status' });

  replace(
    view,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        heading('Tickets', { id: 'tickets-heading' }),
        h('p', { class: 'lede' }, 'Every seat updates live as it is reserved and sold.'),
      ),
      h('a', { class: 'btn btn-primary', href: '#/sell', testid: 'sell-link' }, 'Sell a ticket'),
    ),
    h('div', { class: 'toolbar' }, count, h('label', { class: 'check', for: 'only-available' }, onlyAvailable, 'Only available')),
    statusArea,
    list,
  );

  function fillRow(li, t) {
    const hadFocus = li.contains(document.activeElement);
    li.dataset.ticketId = String(t.id);
    li.dataset.status = String(t.status);
    li.dataset.version = String(t.version);
    li.classList.toggle('is-past', isPast(t));
    if (isPast(t)) li.dataset.past = 'true';
    else delete li.dataset.past;
    const link = h('a', { class: 'ticket-link', href: `#/tickets/${seg(t.id)}`, testid: 'ticket-title' }, t.title);
    replace(
      li,
      h('div', { class: 'ticket-main' }, link, h('p', { class: 'ticket-date' }, dateElement(t.date, 'ticket-date'))),
      h(
        'div',
        { class: 'ticket-side' },
        h('span', { class: 'ticket-price', testid: 'ticket-price' }, formatPrice(t.price)),
        h('span', { class: 'badges' }, pastBadge(t), ticketBadge(t.status), relationBadge(relationTo(t, app))),
      ),
    );
    li.hidden = onlyAvailable.checked && !isReservable(t);
    if (hadFocus) link.focus();
  }

  function rowFor(t) {
    let li = rows.get(String(t.id));
    if (!li) {
      li = h('li', { class: 'ticket-row', testid: 'ticket-row' });
      rows.set(String(t.id), li);
    }
    return li;
  }

  function updateSummary() {
    const all = store.list();
    const available = all.filter(isReservable).length;
    count.textContent = all.length
      ? `${all.length} ticket${all.length === 1 ? '' : 's'} · ${available} available`
      : '';
    if (!store.ready) return;
    if (all.length === 0) {
      replace(
        statusArea,
        h(
          'div',
          { class: 'empty', testid: 'empty-list' },
          h('p', null, 'No tickets on sale yet.'),
          h('a', { href: '#/sell' }, 'Sell the first one'),
        ),
      );
    } else if (onlyAvailable.checked && available === 0) {
      replace(statusArea, h('div', { class: 'empty' }, h('p', null, 'No tickets are available right now. Reserved seats come back when a hold runs out.')));
    } else {
      statusArea.replaceChildren();
    }
  }

  /** Makes the list match the store, in order, flashing `changed` ids. */
  function reconcile(changed = new Set(), highlight = false) {
    let cursor = list.firstChild;
    const seen = new Set();
    for (const t of store.tickets.values()) {
      const id = String(t.id);
      seen.add(id);
      const isNew = !rows.has(id);
      const li = rowFor(t);
      if (isNew || changed.has(id)) fillRow(li, t);
      if (li !== cursor) list.insertBefore(li, cursor);
      else cursor = cursor.nextSibling;
      if (highlight && changed.has(id)) flash(li);
    }
    for (const [id, li] of rows) {
      if (!seen.has(id)) {
        li.remove();
        rows.delete(id);
      }
    }
    updateSummary();
  }

  function refillAll() {
    for (const t of store.tickets.values()) {
      const li = rows.get(String(t.id));
      if (li) fillRow(li, t);
    }
    updateSummary();
  }

  // Live announcements, batched so a busy sale doesn't flood a screen reader.
  let pendingNews = [];
  let newsTimer = null;
  function news(message) {
    pendingNews.push(message);
    if (newsTimer) return;
    newsTimer = setTimeout(() => {
      newsTimer = null;
      const items = pendingNews;
      pendingNews = [];
      app.announce(items.length === 1 ? items[0] : `${items.length} tickets changed.`);
    }, 1500);
  }
  signal.addEventListener('abort', () => clearTimeout(newsTimer));

  store.addEventListener(
    'ticket',
    (e) => {
      const { ticket, previous } = e.detail;
      const id = String(ticket.id);
      if (!previous) {
        reconcile(new Set([id]), true);
        news(`New ticket: ${ticket.title}, ${ticket.status}.`);
        return;
      }
      const li = rows.get(id);
      if (li) {
        fillRow(li, ticket);
        flash(li);
        updateSummary();
      } else {
        reconcile(new Set([id]), true);
      }
      if (previous.status !== ticket.status) news(`${ticket.title} is now ${ticket.status}.`);
    },
    { signal },
  );
  store.addEventListener(
    'deleted',
    (e) => {
      const li = rows.get(e.detail.id);
      if (li) {
        li.remove();
        rows.delete(e.detail.id);
      }
      updateSummary();
      news(`${e.detail.previous.title} was removed.`);
    },
    { signal },
  );
  store.addEventListener('reset', (e) => reconcile(e.detail.changed, !e.detail.initial), { signal });
  app.events.addEventListener('orders', refillAll, { signal });
  app.events.addEventListener('user', refillAll, { signal });
  onlyAvailable.addEventListener('change', refillAll);

  if (app.user) app.refreshMyOrders();

  if (store.ready) reconcile();
  if (!store.ready || !app.live.connected) {
    if (!store.ready) statusArea.append(loading('Loading tickets…'));
    await loadOverHttp();
  }

  async function loadOverHttp() {
    const generation = store.generation;
    try {
      const tickets = await api.listTickets({ signal });
      if (signal.aborted) return;
      // A snapshot that arrived meanwhile is fresher than this list.
      if (store.generation === generation) store.replaceAll(tickets);
      else reconcile();
    } catch (err) {
      if (isAbort(err, signal)) return;
      if (store.ready) {
        updateSummary();
        return;
      }
      const retry = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'retry' }, 'Try again');
      retry.addEventListener('click', () => {
        replace(statusArea, loading('Loading tickets…'));
        loadOverHttp();
      });
      replace(
        statusArea,
        h(
          'div',
          { class: 'notice notice-error', role: 'alert', testid: 'list-error' },
          h('p', null, `Couldn't load the tickets. ${err.message}`),
          h('p', { class: 'muted' }, 'The list will fill in by itself as soon as the live feed reconnects.'),
          retry,
        ),
      );
    }
  }
}

// ---------------------------------------------------------------- one ticket

export async function ticketDetail({ view, app, params: [id], signal }) {
  app.setTitle('Ticket');
  let ticket = app.store.get(id);
  if (!ticket || !app.live.connected) {
    replace(view, loading());
    try {
      const fetched = await api.getTicket(id, { signal });
      if (!ticket || Number(fetched.version) >= Number(ticket.version)) ticket = fetched;
    } catch (err) {
      if (!ticket || isAbort(err, signal) || err.status === 404) throw err;
    }
  }
  if (signal.aborted) return;
  if (app.user) app.refreshMyOrders();

  let deleted = false;
  let busy = false; // a request is in flight: keep the actions as they are
  let confirming = false;
  let actionKey = '';

  const title = heading(ticket.title, { testid: 'ticket-title', id: 'ticket-heading' });
  const facts = h('dl', { class: 'facts' });
  const actions = h('div', { class: 'actions' });
  const note = h('p', { class: 'muted note', testid: 'ticket-note' });
  const card = h('article', { class: 'card ticket-detail', testid: 'ticket-detail', 'aria-labelledby': 'ticket-heading' }, title, facts, note, actions);
  replace(view, backLink('#/', 'All tickets'), card);

  function renderFacts() {
    app.setTitle(ticket.title);
    title.textContent = ticket.title;
    card.dataset.ticketId = String(ticket.id);
    card.dataset.status = deleted ? 'deleted' : String(ticket.status);
    card.dataset.version = String(ticket.version);
    const rel = relationTo(ticket, app);
    replace(
      facts,
      h('div', null, h('dt', null, 'When'), h('dd', null, dateElement(ticket.date, 'ticket-date'))),
      h('div', null, h('dt', null, 'Price'), h('dd', { class: 'price', testid: 'ticket-price' }, formatPrice(ticket.price))),
      h('div', null, h('dt', null, 'Status'), h('dd', null, pastBadge(ticket), deleted ? h('span', { class: 'badge badge-sold' }, 'removed') : ticketBadge(ticket.status), relationBadge(rel))),
    );
  }

  function renderActions() {
    const rel = relationTo(ticket, app);
    const key = JSON.stringify([deleted, ticket.status, ticket.orderId, rel?.kind, !!app.user, confirming, isPast(ticket)]);
    if (busy || key === actionKey) return;
    actionKey = key;
    const hadFocus = actions.contains(document.activeElement);
    const items = [];
    let text = '';
    if (deleted) {
      text = 'This ticket has been removed by its seller.';
    } else if (confirming) {
      text = '';
      items.push(
        h('p', { class: 'confirm-text', id: 'delete-question' }, `Delete “${ticket.title}”? This cannot be undone.`),
        h('button', { type: 'button', class: 'btn btn-danger', testid: 'delete-confirm', onclick: doDelete, 'aria-describedby': 'delete-question' }, 'Delete ticket'),
        h('button', { type: 'button', class: 'btn btn-ghost', testid: 'delete-cancel', onclick: () => { confirming = false; renderActions(); actions.querySelector('[data-testid="delete-button"]')?.focus(); } }, 'Keep it'),
      );
    } else {
      if (rel?.kind === 'buyer') {
        text = ticket.status === 'sold' ? 'You bought this ticket.' : 'You are holding this ticket. Pay before the hold runs out.';
        items.push(h('a', { class: 'btn btn-primary', href: `#/orders/${seg(ticket.orderId)}`, testid: 'view-order-link' }, ticket.status === 'sold' ? 'View your order' : 'Go to payment'));
      } else if (rel?.kind === 'seller') {
        text =
          ticket.status === 'available'
            ? 'You are selling this ticket.'
            : ticket.status === 'sold'
              ? 'You sold this ticket.'
              : 'A buyer is holding your ticket, so it cannot be edited or deleted now.';
      } else if (ticket.status === 'available' && isPast(ticket)) {
        text = 'This event has already taken place.';
      } else if (ticket.status === 'available') {
        if (app.user) {
          items.push(h('button', { type: 'button', class: 'btn btn-primary', testid: 'reserve-button', onclick: doReserve }, 'Reserve'));
          text = 'Reserving holds the seat for you while you pay.';
        } else {
          items.push(h('a', { class: 'btn btn-primary', href: `#/signin?next=${encodeURIComponent(`/tickets/${seg(ticket.id)}`)}`, testid: 'signin-to-reserve' }, 'Sign in to reserve'));
          text = 'Sign in to hold this seat while you pay.';
        }
      } else {
        items.push(h('button', { type: 'button', class: 'btn btn-primary', testid: 'reserve-button', disabled: true }, ticket.status === 'sold' ? 'Sold' : 'Reserved'));
        text =
          ticket.status === 'sold'
            ? 'This ticket has been sold.'
            : 'Someone is holding this ticket. If their hold runs out it becomes available again, and this page updates by itself.';
      }
      // The server refuses to edit or delete a held or sold ticket: offer
      // neither then.
      if (rel?.kind === 'seller' && ticket.status === 'available') {
        items.push(
          h('a', { class: 'btn btn-secondary', href: `#/tickets/${seg(ticket.id)}/edit`, testid: 'edit-link' }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-ghost-danger', testid: 'delete-button', onclick: () => { confirming = true; renderActions(); actions.querySelector('[data-testid="delete-confirm"]')?.focus(); } }, 'Delete'),
        );
      }
    }
    note.textContent = text;
    replace(actions, items);
    if (hadFocus && !actions.contains(document.activeElement)) actions.querySelector('button:not([disabled]), a')?.focus();
  }

  async function doReserve(e) {
    const button = e.currentTarget;
    if (busy) return;
    busy = true;
    app.clearAlerts();
    setBusy(button, true, 'Reserving…');
    try {
      const order = await api.createOrder(ticket.id, { signal });
      app.noteOrder(order);
      app.navigate(`/orders/${seg(order.id)}`);
    } catch (err) {
      if (isAbort(err, signal)) return;
      busy = false;
      setBusy(button, false);
      if (err.status === 401) {
        app.requireSignIn('Please sign in to reserve a ticket.');
        return;
      }
      app.alertError(err);
      renderActions();
    }
  }

  async function doDelete(e) {
    const button = e.currentTarget;
    if (busy) return;
    busy = true;
    app.clearAlerts();
    setBusy(button, true, 'Deleting…');
    try {
      await api.deleteTicket(ticket.id, { signal });
      app.store.remove(ticket.id);
      app.flash(`“${ticket.title}” was deleted.`, 'success');
      app.navigate('/');
    } catch (err) {
      if (isAbort(err, signal)) return;
      busy = false;
      confirming = false;
      app.alertError(err);
      renderActions();
    }
  }

  function render() {
    renderFacts();
    renderActions();
  }
  render();

  function changed(t) {
    const before = ticket.status;
    ticket = t;
    render();
    flash(card);
    if (before !== t.status) app.announce(`This ticket is now ${t.status}.`);
  }

  app.store.addEventListener('ticket', (e) => {
    if (String(e.detail.ticket.id) === String(ticket.id)) changed(e.detail.ticket);
  }, { signal });
  app.store.addEventListener('deleted', (e) => {
    if (e.detail.id === String(ticket.id) && !deleted) {
      deleted = true;
      busy = false;
      render();
      app.announce('This ticket has been removed.');
    }
  }, { signal });
  app.store.addEventListener('reset', () => {
    const t = app.store.get(ticket.id);
    if (!t) {
      if (!deleted) {
        deleted = true;
        render();
      }
    } else if (deleted || Number(t.version) !== Number(ticket.version)) {
      deleted = false;
      changed(t);
    }
  }, { signal });
  app.events.addEventListener('orders', render, { signal });
  app.events.addEventListener('user', render, { signal });
}
