// The pages that are forms: sign in, sign up, and selling or editing a
// ticket.

import * as api from './api.js';
import { h, replace, seg, localInputToRfc3339, rfc3339ToLocalInput } from './dom.js';
import { heading, backLink, isPastDate, setBusy, isAbort, field, formErrors, loading } from './parts.js';

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
