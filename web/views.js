// The pages of the app. Each view is `async (ctx) => void` where ctx is
// { view, app, params, query, signal }: `view` is the element to render
// into, `signal` aborts when the user navigates away (listeners added with
// it, timers cleared on it), `app` is the shared state from app.js.

import * as api from './api.js';
import { ApiError, serverNow } from './api.js';
import {
  h,
  replace,
  seg,
  formatPrice,
  formatTime,
  formatDate,
  formatSeat,
  dateElement,
  formatCountdown,
  spokenDuration,
  localInputToRfc3339,
  rfc3339ToLocalInput,
  ticketBadge,
  orderBadge,
} from './dom.js';

// ---------------------------------------------------------------- shared bits

function heading(text, props = {}) {
  return h('h1', { tabindex: '-1', ...props }, text);
}

function backLink(href, text) {
  return h('p', { class: 'back' }, h('a', { href }, h('span', { 'aria-hidden': 'true' }, '← '), text));
}

/** Whether an event date (RFC 3339; null is "to be announced") has passed. */
function isPastDate(iso) {
  if (!iso) return false;
  const at = Date.parse(iso);
  return !Number.isNaN(at) && at <= serverNow();
}

/** A ticket whose event has taken place: shown as past, not reservable. */
function isPast(ticket) {
  return isPastDate(ticket?.date);
}

/** The "Past" mark next to a ticket's status. */
function pastBadge(ticket) {
  return isPast(ticket) ? h('span', { class: 'badge badge-past', testid: 'ticket-past' }, 'Past') : null;
}

/** Who the current user is to this ticket: seller, buyer or nobody. */
export function relationTo(ticket, app) {
  const user = app.user;
  if (!user || !ticket) return null;
  if (ticket.userId != null && String(ticket.userId) === String(user.id)) {
    return { kind: 'seller', label: 'Your ticket' };
  }
  if (ticket.orderId != null && app.myOrders.has(String(ticket.orderId))) {
    if (ticket.status === 'sold') return { kind: 'buyer', label: 'Bought by you' };
    if (ticket.status === 'reserved') return { kind: 'buyer', label: 'Held by you' };
  }
  return null;
}

/** On sale and still to come: what a buyer can reserve. */
function isReservable(ticket) {
  return ticket.status === 'available' && !isPast(ticket);
}

function relationBadge(rel) {
  if (!rel) return null;
  return h('span', { class: `badge badge-relation badge-${rel.kind}`, testid: 'ticket-relation', dataset: { relation: rel.kind } }, rel.label);
}

/** Restarts the "this changed" highlight on an element. */
function flash(el) {
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
  clearTimeout(el._flashTimer);
  el._flashTimer = setTimeout(() => el.classList.remove('flash'), 1800);
}

/** Marks a button as working without disabling it (which would drop focus). */
function setBusy(button, busy, busyText) {
  if (busy) {
    button.dataset.idleText = button.textContent;
    button.textContent = busyText;
    button.setAttribute('aria-disabled', 'true');
    button.classList.add('is-busy');
  } else {
    if (button.dataset.idleText != null) button.textContent = button.dataset.idleText;
    delete button.dataset.idleText;
    button.removeAttribute('aria-disabled');
    button.classList.remove('is-busy');
  }
}

function isAbort(err, signal) {
  return signal?.aborted || err?.name === 'AbortError';
}

/** A labelled form field with a slot for its error. */
function field({ name, id, testid, label, type = 'text', value, autocomplete, inputmode, hint, required, extra }) {
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id,
    name,
    type,
    value: value ?? null,
    autocomplete,
    inputmode,
    required,
    testid,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    ...extra,
  });
  const error = h('p', { class: 'field-error', id: errorId, testid: `field-error-${name}`, hidden: true });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label, required ? null : h('span', { class: 'optional' }, ' (optional)')),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    input,
    error,
  );
  return { name, wrap, input, error };
}

/** Shows API errors next to their fields, the rest in the alert area. */
function formErrors(app, fields) {
  const byName = new Map(fields.map((f) => [f.name, f]));
  // A field's error is about what was typed then: editing it clears it.
  for (const f of fields) f.input.addEventListener('input', () => clearField(f));
  return {
    clear() {
      for (const f of fields) clearField(f);
      app.clearAlerts();
    },
    set(name, message) {
      const f = byName.get(name);
      if (!f) return false;
      f.error.textContent = f.error.textContent ? `${f.error.textContent} ${message}` : message;
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      return true;
    },
    show(err) {
      const errors = err instanceof ApiError ? err.errors : [{ message: String(err?.message || err) }];
      let first = null;
      for (const e of errors) {
        if (e.field && this.set(e.field, e.message)) {
          first ??= byName.get(e.field);
        } else {
          app.alert(e.message);
        }
      }
      first?.input.focus();
    },
  };
}

function clearField(f) {
  f.error.textContent = '';
  f.error.hidden = true;
  f.input.removeAttribute('aria-invalid');
}

function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

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

// ---------------------------------------------------------------- sign in / up

export function signIn(ctx) {
  return authForm(ctx, 'signin');
}

export function signUp(ctx) {
  return authForm(ctx, 'signup');
}

async function authForm({ view, app, query, signal }, mode) {
  const isSignUp = mode === 'signup';
  const next = safeNext(query.get('next'));
  app.setTitle(isSignUp ? 'Sign up' : 'Sign in');
  if (app.user) {
    app.navigate(next, { replace: true });
    return;
  }

  const email = field({ name: 'email', id: `${mode}-email`, testid: `${mode}-email`, label: 'Email', type: 'email', autocomplete: 'email', required: true, extra: { spellcheck: 'false', autocapitalize: 'off' } });
  const password = field({
    name: 'password',
    id: `${mode}-password`,
    testid: `${mode}-password`,
    label: 'Password',
    type: 'password',
    autocomplete: isSignUp ? 'new-password' : 'current-password',
    hint: isSignUp ? '8 to 72 characters.' : null,
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: `${mode}-submit` }, isSignUp ? 'Create account' : 'Sign in');
  const errors = formErrors(app, [email, password]);
  const otherQuery = next !== '/' ? `?next=${encodeURIComponent(next)}` : '';

  let pending = false;
  const form = h(
    'form',
    { class: 'card form narrow', novalidate: true, testid: `${mode}-form`, 'aria-labelledby': `${mode}-heading` },
    heading(isSignUp ? 'Create an account' : 'Sign in', { id: `${mode}-heading` }),
    h('p', { class: 'lede' }, isSignUp ? 'Sell tickets and reserve seats.' : 'Welcome back.'),
    email.wrap,
    password.wrap,
    submit,
    h(
      'p',
      { class: 'form-alt' },
      isSignUp ? 'Already have an account? ' : 'New here? ',
      h('a', { href: `#/${isSignUp ? 'signin' : 'signup'}${otherQuery}`, testid: isSignUp ? 'to-signin' : 'to-signup' }, isSignUp ? 'Sign in' : 'Create an account'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (pending) return;
    errors.clear();
    pending = true;
    setBusy(submit, true, isSignUp ? 'Creating account…' : 'Signing in…');
    try {
      const fn = isSignUp ? api.signUp : api.signIn;
      const user = await fn(email.input.value.trim(), password.input.value, { signal });
      app.setUser({ id: user.id, email: user.email });
      app.refreshMyOrders();
      app.flash(isSignUp ? `Welcome! You are signed in as ${user.email}.` : `Signed in as ${user.email}.`, 'success');
      app.navigate(next);
    } catch (err) {
      if (isAbort(err, signal)) return;
      errors.show(err);
    } finally {
      pending = false;
      setBusy(submit, false);
    }
  });
  replace(view, form);
}

function safeNext(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  if (next.startsWith('/signin') || next.startsWith('/signup')) return '/';
  return next;
}

// ---------------------------------------------------------------- sell / edit

function priceForRequest(raw) {
  const v = raw.trim();
  // Plain decimals go as JSON numbers (exact for up to 2 decimals); anything
  // else as the string typed, for the server to judge and explain.
  if (/^\d{1,7}(\.\d{1,2})?$/.test(v)) return Number(v);
  return v;
}

function priceForInput(price) {
  if (price == null) return '';
  const n = Number(price);
  if (!Number.isFinite(n)) return String(price);
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function ticketForm({ app, signal, ticket, onSaved }) {
  const editing = !!ticket;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const title = field({ name: 'title', id: 'sell-title', testid: 'sell-title', label: 'Event name', required: true, value: ticket?.title, autocomplete: 'off' });
  const price = field({
    name: 'price',
    id: 'sell-price',
    testid: 'sell-price',
    label: 'Price',
    required: true,
    inputmode: 'decimal',
    autocomplete: 'off',
    value: ticket ? priceForInput(ticket.price) : null,
    hint: 'For example 20 or 12.50.',
  });
  const date = field({
    name: 'date',
    id: 'sell-date',
    testid: 'sell-date',
    label: 'Date and time',
    type: 'datetime-local',
    value: ticket ? rfc3339ToLocalInput(ticket.date) : null,
    hint: `In your time zone${zone ? ` (${zone})` : ''}. Leave empty if it is not announced yet.`,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'sell-submit' }, editing ? 'Save changes' : 'Put on sale');
  const errors = formErrors(app, [title, price, date]);
  let pending = false;

  const form = h(
    'form',
    { class: 'form', novalidate: true, testid: 'ticket-form', dataset: { mode: editing ? 'edit' : 'create' } },
    title.wrap,
    price.wrap,
    date.wrap,
    h(
      'div',
      { class: 'actions' },
      submit,
      editing ? h('a', { class: 'btn btn-ghost', href: `#/tickets/${seg(ticket.id)}`, testid: 'edit-cancel' }, 'Cancel') : null,
    ),
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (pending) return;
    errors.clear();
    // A half-typed date reads as '' (like an empty one): only badInput tells.
    const when = date.input.validity.badInput ? undefined : localInputToRfc3339(date.input.value);
    const dateProblem =
      when === undefined
        ? 'Enter a complete date and time, or leave it empty.'
        : isPastDate(when)
          ? 'This date has passed. Choose a date and time in the future.'
          : null;
    if (dateProblem) {
      errors.set('date', dateProblem);
      date.input.focus();
      return;
    }
    const body = { title: title.input.value, price: priceForRequest(price.input.value), date: when };
    pending = true;
    setBusy(submit, true, editing ? 'Saving…' : 'Putting on sale…');
    try {
      const saved = editing ? await api.updateTicket(ticket.id, body, { signal }) : await api.createTicket(body, { signal });
      if (saved) app.store.upsert(saved);
      onSaved(saved);
    } catch (err) {
      if (isAbort(err, signal)) return;
      if (err.status === 401 && !editing) {
        app.requireSignIn('Please sign in again to sell a ticket.');
        return;
      }
      errors.show(err);
    } finally {
      pending = false;
      setBusy(submit, false);
    }
  });
  return form;
}

export async function sell({ view, app, signal }) {
  app.setTitle('Sell a ticket');
  const form = ticketForm({
    app,
    signal,
    onSaved(ticket) {
      app.flash(`“${ticket.title}” is on sale.`, 'success');
      app.navigate(`/tickets/${seg(ticket.id)}`);
    },
  });
  replace(
    view,
    backLink('#/', 'All tickets'),
    h(
      'section',
      { class: 'card narrow', 'aria-labelledby': 'sell-heading' },
      heading('Sell a ticket', { id: 'sell-heading' }),
      h('p', { class: 'lede' }, 'Buyers see it the moment you put it on sale.'),
      form,
    ),
  );
}

export async function ticketEdit({ view, app, params: [id], signal }) {
  app.setTitle('Edit ticket');
  replace(view, loading());
  const ticket = await api.getTicket(id, { signal });
  if (signal.aborted) return;
  app.setTitle(`Edit ${ticket.title}`);
  const own = app.user && String(ticket.userId) === String(app.user.id);
  const notes = [];
  if (!own) {
    notes.push(h('p', { class: 'notice notice-warn', testid: 'not-seller' }, 'Only the seller can edit this ticket.'));
  } else if (ticket.status !== 'available') {
    notes.push(
      h('p', { class: 'notice notice-warn', testid: 'edit-locked' }, `This ticket is ${ticket.status}, so the server will refuse changes.`),
    );
  }
  const form = own
    ? ticketForm({
        app,
        signal,
        ticket,
        onSaved(saved) {
          app.flash('Changes saved.', 'success');
          app.navigate(`/tickets/${seg(saved?.id ?? ticket.id)}`);
        },
      })
    : null;
  replace(
    view,
    backLink(`#/tickets/${seg(ticket.id)}`, ticket.title),
    h('section', { class: 'card narrow', 'aria-labelledby': 'edit-heading' }, heading('Edit ticket', { id: 'edit-heading' }), notes, form),
  );
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

// ---------------------------------------------------------------- my orders

function orderIsOpen(order) {
  return order.status === 'created' || order.status === 'awaiting:payment';
}

export async function orders({ view, app, signal }) {
  app.setTitle('My orders');
  replace(view, heading('My orders'), loading());
  const list = await api.listOrders({ signal });
  if (signal.aborted) return;
  const items = Array.isArray(list) ? list : [];
  app.setMyOrders(items);

  const countdowns = [];
  const ul = h('ul', { class: 'order-list', testid: 'order-list', 'aria-labelledby': 'orders-heading' });
  for (const order of items) {
    const t = order.ticket || {};
    let timing = null;
    if (orderIsOpen(order)) {
      timing = h('span', { class: 'muted', testid: 'order-countdown' });
      countdowns.push({ el: timing, expires: Date.parse(order.expiresAt) });
    }
    ul.append(
      h(
        'li',
        { class: 'order-row', testid: 'order-row', dataset: { orderId: String(order.id), status: String(order.status) } },
        h(
          'div',
          { class: 'ticket-main' },
          h('a', { class: 'ticket-link', href: `#/orders/${seg(order.id)}`, testid: 'order-link' }, t.title ?? 'Ticket'),
          h('p', { class: 'ticket-date' }, dateElement(t.date, 'ticket-date')),
        ),
        h(
          'div',
          { class: 'ticket-side' },
          h('span', { class: 'ticket-price' }, formatPrice(order.total ?? t.price)),
          h('span', { class: 'badges' }, orderBadge(order.status, order.cancelReason), timing),
        ),
      ),
    );
  }

  function tick() {
    const now = serverNow();
    for (const c of countdowns) {
      const left = c.expires - now;
      c.el.textContent = left > 0 ? `${formatCountdown(left)} left to pay` : 'Hold expired';
    }
  }
  tick();
  if (countdowns.length) {
    const timer = setInterval(tick, 1000);
    signal.addEventListener('abort', () => clearInterval(timer));
  }

  replace(
    view,
    h(
      'div',
      { class: 'page-head' },
      h('div', null, heading('My orders', { id: 'orders-heading' }), h('p', { class: 'lede' }, 'Newest first.')),
    ),
    items.length
      ? ul
      : h('div', { class: 'empty', testid: 'empty-orders' }, h('p', null, 'You have no orders yet.'), h('a', { href: '#/' }, 'Browse tickets')),
  );
}

// ---------------------------------------------------------------- one order

const TEST_CARDS = [
  ['tok_visa', 'Visa (succeeds)'],
  ['tok_chargeDeclined', 'Declined card'],
];

export async function orderDetail({ view, app, params: [id], signal }) {
  app.setTitle('Your order');
  replace(view, loading());
  let order = await api.getOrder(id, { signal });
  if (signal.aborted) return;
  app.noteOrder(order);

  let expiredHere = false; // we watched the hold run out on this page
  let paying = false;
  let cancelling = false;
  let reserving = false;
  const expiresAt = () => Date.parse(order.expiresAt);
  const t = () => order.ticket || {};

  const statusSlot = h('span', { class: 'status-slot' });
  const ticketTitle = h('a', { href: `#/tickets/${seg(t().id)}`, testid: 'order-ticket-title' });
  const facts = h('dl', { class: 'facts' });

  const countdown = h('span', { class: 'countdown', role: 'timer', 'aria-live': 'off', 'aria-labelledby': 'countdown-label', testid: 'countdown' }, '--:--');
  const countdownSpoken = h('p', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', testid: 'countdown-announcer' });
  const holdBox = h('div', { class: 'hold' }, h('p', { class: 'hold-label', id: 'countdown-label' }, 'Time left to pay'), countdown, h('p', { class: 'muted hold-until', testid: 'hold-until' }));
  const expiredMsg = h('p', { class: 'notice notice-warn', testid: 'hold-expired', hidden: true }, 'This hold has expired');
  const expiredMore = h('p', { class: 'muted', hidden: true }, 'The seat has been released. You can reserve it again if it is still available.');
  const cancelledMsg = h('p', { class: 'notice', testid: 'order-cancelled', hidden: true }, 'This order was cancelled.');

  const tokenSelect = h(
    'select',
    { id: 'payment-token', name: 'token', testid: 'payment-token' },
    TEST_CARDS.map(([value, label]) => h('option', { value }, label)),
  );
  const payButton = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'pay-button' });
  const payError = h('p', { class: 'notice notice-error', role: 'alert', testid: 'payment-error', hidden: true });
  const payForm = h(
    'form',
    { class: 'pay-form', novalidate: true, testid: 'payment-form', 'aria-labelledby': 'pay-heading' },
    h('h2', { id: 'pay-heading' }, 'Payment'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'payment-token' }, 'Test card'),
      h('p', { class: 'hint', id: 'payment-token-hint' }, 'No real money moves: choose how the test payment should go.'),
      tokenSelect,
    ),
    payError,
    h('div', { class: 'actions' }, payButton),
  );
  tokenSelect.setAttribute('aria-describedby', 'payment-token-hint');
  const paidMsg = h('div', { class: 'notice notice-success paid', hidden: true, tabindex: '-1' }, h('p', { class: 'paid-word', testid: 'payment-success' }, 'Paid'), h('p', null, 'The ticket is yours. Enjoy the event!'));
  const cancelButton = h('button', { type: 'button', class: 'btn btn-ghost-danger', testid: 'cancel-order-button' }, 'Cancel order');
  const receipt = h('section', { class: 'receipt', testid: 'receipt', hidden: true, 'aria-labelledby': 'receipt-heading' });
  const reserveButton = h('button', { type: 'button', class: 'btn btn-primary', testid: 'reserve-again' }, 'Reserve again');
  const reserveError = h('p', { class: 'notice notice-error', role: 'alert', testid: 'reserve-again-error', hidden: true, tabindex: '-1' });
  const reserveBox = h('div', { class: 'reserve-again', hidden: true }, reserveError, h('div', { class: 'actions' }, reserveButton));

  const card = h(
    'article',
    { class: 'card order-detail', testid: 'order', 'aria-labelledby': 'order-heading' },
    h('div', { class: 'order-head' }, heading('Your order', { id: 'order-heading' }), statusSlot),
    h('p', { class: 'order-ticket' }, ticketTitle),
    facts,
    holdBox,
    countdownSpoken,
    expiredMsg,
    expiredMore,
    cancelledMsg,
    paidMsg,
    receipt,
    payForm,
    reserveBox,
    h('div', { class: 'actions order-actions' }, cancelButton),
  );
  replace(view, backLink('#/orders', 'My orders'), card);

  function render() {
    const s = order.status;
    const left = expiresAt() - serverNow();
    const open = orderIsOpen(order);
    const running = open && left > 0;
    // Ran out here and the server is about to say so, or it said so.
    const expired = (open && left <= 0) || (s === 'cancelled' && order.cancelReason === 'expired');
    const ended = s === 'cancelled';

    card.dataset.orderId = String(order.id);
    card.dataset.status = String(s);
    replace(statusSlot, orderBadge(s, order.cancelReason));
    ticketTitle.textContent = t().title ?? 'Ticket';
    ticketTitle.href = `#/tickets/${seg(t().id)}`;
    replace(
      facts,
      h('div', null, h('dt', null, 'When'), h('dd', null, dateElement(t().date, 'ticket-date'))),
      h('div', null, h('dt', null, 'Price'), h('dd', { class: 'price', testid: 'order-price' }, formatPrice(t().price))),
    );
    holdBox.hidden = !(running || expired);
    holdBox.classList.toggle('is-expired', !running);
    holdBox.querySelector('.hold-label').textContent = running ? 'Time left to pay' : 'Hold ended';
    holdBox.querySelector('.hold-until').textContent = Number.isNaN(expiresAt()) ? '' : `Held until ${formatTime(order.expiresAt)}`;
    expiredMsg.hidden = !expired;
    expiredMore.hidden = !expired || !ended;
    cancelledMsg.hidden = !ended || expired;
    paidMsg.hidden = s !== 'complete';
    receipt.hidden = s !== 'complete';
    if (s === 'complete') renderReceipt(receipt, order);
    // Only a hold still running can be paid; an ended one can be held again
    // (one seat: a several-seat order is reserved again from its event).
    payForm.hidden = !running;
    reserveBox.hidden = !ended || (order.tickets?.length ?? 1) > 1;
    payButton.disabled = !running;
    tokenSelect.disabled = !running;
    if (!paying) payButton.textContent = `Pay ${formatPrice(t().price)}`;
    cancelButton.hidden = !running;
    updateCountdown();
  }

  let lastText = '';
  let lastSpokenAt = null;
  function updateCountdown() {
    const left = expiresAt() - serverNow();
    const text = formatCountdown(left);
    if (text !== lastText) {
      countdown.textContent = text;
      lastText = text;
    }
    holdBox.classList.toggle('is-urgent', left > 0 && left <= 60_000);
    // Speak at a few milestones only; a per-second live region is unusable.
    const secs = Math.ceil(left / 1000);
    const milestones = [600, 300, 120, 60, 30, 10];
    if (orderIsOpen(order) && milestones.includes(secs) && lastSpokenAt !== secs) {
      lastSpokenAt = secs;
      countdownSpoken.textContent = `${spokenDuration(left)} left to pay.`;
    }
  }

  function tick() {
    updateCountdown();
    if (orderIsOpen(order) && !expiredHere && expiresAt() - serverNow() <= 0) {
      expiredHere = true;
      render();
      countdownSpoken.textContent = 'This hold has expired.';
      confirmWithServer();
    }
  }
  const timer = setInterval(tick, 250);
  signal.addEventListener('abort', () => clearInterval(timer));

  /** Re-reads the order from the server; false when that failed. */
  async function refresh() {
    try {
      const fresh = await api.getOrder(order.id, { signal });
      if (signal.aborted || !fresh) return false;
      order = fresh;
      app.noteOrder(order);
      render();
      return true;
    } catch {
      return false;
    }
  }

  // After the hold runs out locally, ask the server until it agrees.
  async function confirmWithServer() {
    for (const wait of [300, 700, 1000, 2000, 3000, 5000, 8000, 13000]) {
      await new Promise((r) => setTimeout(r, wait));
      if (signal.aborted) return;
      await refresh();
      if (!orderIsOpen(order)) return;
    }
  }

  let refreshTimer = null;
  app.store.addEventListener('ticket', (e) => {
    if (String(e.detail.ticket.id) !== String(t().id)) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 200);
  }, { signal });
  // A fresh snapshot (e.g. after the server restarted) may mean news too.
  app.store.addEventListener('reset', () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 200);
  }, { signal });
  signal.addEventListener('abort', () => clearTimeout(refreshTimer));

  payForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (paying || payButton.disabled) return;
    paying = true;
    payError.hidden = true;
    payError.textContent = '';
    app.clearAlerts();
    setBusy(payButton, true, 'Paying…');
    try {
      await api.pay(order.id, tokenSelect.value, { signal });
      paying = false;
      setBusy(payButton, false);
      // The receipt comes from the server's order; without it, say paid.
      if (!(await refresh())) {
        if (signal.aborted) return;
        order = { ...order, status: 'complete' };
        render();
      }
      paidMsg.focus();
      app.announce('Paid. The ticket is yours.');
    } catch (err) {
      if (isAbort(err, signal)) return;
      paying = false;
      setBusy(payButton, false);
      if (err.status === 401) {
        app.requireSignIn('Please sign in again to pay.');
        return;
      }
      payError.textContent = err.status === 402 ? `Payment declined: ${err.message}` : err.message;
      payError.hidden = false;
      render();
      if (err.status !== 402) refresh();
    }
  });

  cancelButton.addEventListener('click', async () => {
    if (cancelling) return;
    cancelling = true;
    app.clearAlerts();
    setBusy(cancelButton, true, 'Cancelling…');
    try {
      await api.cancelOrder(order.id, { signal });
      order = { ...order, status: 'cancelled', cancelReason: 'cancelled' };
      render();
      cancelledMsg.textContent = 'Order cancelled. The seat is available to others again.';
      cancelledMsg.setAttribute('tabindex', '-1');
      cancelledMsg.focus();
      app.announce('Order cancelled.');
      refresh();
    } catch (err) {
      if (isAbort(err, signal)) return;
      if (err.status === 401) {
        app.requireSignIn('Please sign in again.');
        return;
      }
      app.alertError(err);
      refresh();
    } finally {
      cancelling = false;
      setBusy(cancelButton, false);
    }
  });

  reserveButton.addEventListener('click', async () => {
    if (reserving) return;
    reserving = true;
    reserveError.hidden = true;
    app.clearAlerts();
    setBusy(reserveButton, true, 'Reserving…');
    try {
      const fresh = await api.createOrder(t().id, { signal });
      app.noteOrder(fresh);
      app.navigate(`/orders/${seg(fresh.id)}`);
    } catch (err) {
      if (isAbort(err, signal)) return;
      reserving = false;
      setBusy(reserveButton, false);
      if (err.status === 401) {
        app.requireSignIn('Please sign in again to reserve.');
        return;
      }
      reserveError.textContent = reserveRefusal(err);
      reserveError.hidden = false;
      reserveError.focus();
    }
  });

  render();
  if (orderIsOpen(order) && expiresAt() - serverNow() <= 0) {
    expiredHere = true;
    render();
    confirmWithServer();
  }
}

/** Why "Reserve again" did not work, in the buyer's words. */
function reserveRefusal(err) {
  if (err.status === 404) return 'This ticket is no longer on sale.';
  if (err.status === 400 && /already reserved/i.test(err.message)) {
    return 'This ticket is taken: someone else has reserved or bought it since. Look for another one in the list.';
  }
  return `Couldn't reserve it again. ${err.message}`;
}

/** "Not recorded" for what an order from before receipts lacks. */
function orUnknown(value) {
  return value == null || value === '' ? h('span', { class: 'muted' }, 'Not recorded') : value;
}

/**
 * A paid order's receipt, all from the server's order: its number, when it
 * was placed and paid, the payment reference, each ticket with its seat and
 * price, and the total.
 */
function renderReceipt(el, order) {
  const tickets = Array.isArray(order.tickets) && order.tickets.length ? order.tickets : [order.ticket].filter(Boolean);
  const when = (iso) => (iso ? h('time', { datetime: iso }, formatDate(iso)) : orUnknown(null));
  const fact = (label, testid, value) => h('div', null, h('dt', null, label), h('dd', { testid }, value));
  replace(
    el,
    h('h2', { id: 'receipt-heading' }, 'Receipt'),
    h(
      'dl',
      { class: 'facts receipt-facts' },
      fact('Order number', 'receipt-order-id', String(order.id)),
      fact('Placed', 'receipt-created', when(order.createdAt)),
      fact('Paid', 'receipt-paid', when(order.paidAt)),
      fact('Payment reference', 'receipt-payment-id', orUnknown(order.paymentId)),
    ),
    h(
      'table',
      { class: 'receipt-lines' },
      h('caption', { class: 'sr-only' }, 'Tickets bought'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Ticket'), h('th', { scope: 'col' }, 'Seat'), h('th', { scope: 'col', class: 'num' }, 'Price'))),
      h(
        'tbody',
        null,
        tickets.map((t) =>
          h(
            'tr',
            { testid: 'receipt-line', dataset: { ticketId: String(t.id) } },
            h('td', null, h('a', { href: `#/tickets/${seg(t.id)}` }, t.title ?? 'Ticket'), h('br'), h('span', { class: 'muted' }, dateElement(t.date))),
            h('td', { testid: 'receipt-seat' }, formatSeat(t.seat) ?? h('span', { class: 'muted' }, 'No assigned seat')),
            h('td', { class: 'num', testid: 'receipt-price' }, formatPrice(t.price)),
          ),
        ),
      ),
      h('tfoot', null, h('tr', null, h('th', { scope: 'row', colspan: '2' }, 'Total'), h('td', { class: 'num', testid: 'receipt-total' }, formatPrice(order.total ?? tickets[0]?.price)))),
    ),
  );
}

// ---------------------------------------------------------------- not found

export function notFound({ view, app }) {
  app.setTitle('Not found');
  replace(
    view,
    h(
      'section',
      { class: 'card narrow', testid: 'not-found' },
      heading('Not found'),
      h('p', null, 'There is nothing here. It may have been removed.'),
      h('a', { class: 'btn btn-secondary', href: '#/' }, 'Back to tickets'),
    ),
  );
}
