// Pieces the pages share: headings, busy buttons, form fields with their
// errors, the loading line, and what a ticket or order is to the user.

import { ApiError, serverNow } from './api.js';
import { h } from './dom.js';

export function heading(text, props = {}) {
  return h('h1', { tabindex: '-1', ...props }, text);
}

export function backLink(href, text) {
  return h('p', { class: 'back' }, h('a', { href }, h('span', { 'aria-hidden': 'true' }, '← '), text));
}

/** Whether an event date (RFC 3339; null is "to be announced") has passed. */
export function isPastDate(iso) {
  if (!iso) return false;
  const at = Date.parse(iso);
  return !Number.isNaN(at) && at <= serverNow();
}

/** A ticket whose event has taken place: shown as past, not reservable. */
export function isPast(ticket) {
  return isPastDate(ticket?.date);
}

/** The "Past" mark next to a ticket's status. */
export function pastBadge(ticket) {
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
export function isReservable(ticket) {
  return ticket.status === 'available' && !isPast(ticket);
}

export function relationBadge(rel) {
  if (!rel) return null;
  return h('span', { class: `badge badge-relation badge-${rel.kind}`, testid: 'ticket-relation', dataset: { relation: rel.kind } }, rel.label);
}

/** Restarts the "this changed" highlight on an element. */
export function flash(el) {
  el.classList.remove('flash');
  void el.offsetWidth; // restart the animation
  el.classList.add('flash');
  clearTimeout(el._flashTimer);
  el._flashTimer = setTimeout(() => el.classList.remove('flash'), 1800);
}

/** Marks a button as working without disabling it (which would drop focus). */
export function setBusy(button, busy, busyText) {
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

export function isAbort(err, signal) {
  return signal?.aborted || err?.name === 'AbortError';
}

/** A labelled form field with a slot for its error. */
export function field({ name, id, testid, label, type = 'text', value, autocomplete, inputmode, hint, required, extra }) {
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
export function formErrors(app, fields) {
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

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

export function orderIsOpen(order) {
  return order.status === 'created' || order.status === 'awaiting:payment';
}
