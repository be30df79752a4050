// The order pages: the user's orders, and one order with its hold
// countdown, payment, cancel, receipt and "Reserve again".

import * as api from './api.js';
import { serverNow } from './api.js';
import { h, replace, seg, formatPrice, formatTime, formatDate, formatSeat, dateElement, formatCountdown, spokenDuration, orderBadge } from './dom.js';
import { heading, backLink, setBusy, isAbort, loading, orderIsOpen } from './parts.js';

// ---------------------------------------------------------------- my orders

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
          h(
            'p',
            { class: 'ticket-date' },
            dateElement(t.date, 'ticket-date'),
            order.tickets?.length > 1 ? ` · ${order.tickets.length} seats` : '',
          ),
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
  /** Every ticket the order holds (one for a ticket sold on its own). */
  const all = () => (Array.isArray(order.tickets) && order.tickets.length ? order.tickets : [t()]);
  const seated = () => all().some((x) => x.seat);
  const total = () => order.total ?? t().price;

  const statusSlot = h('span', { class: 'status-slot' });
  const ticketTitle = h('a', { href: `#/tickets/${seg(t().id)}`, testid: 'order-ticket-title' });
  const facts = h('dl', { class: 'facts' });
  const seatList = h('ul', { class: 'seat-lines', testid: 'order-seats', 'aria-label': 'Seats', hidden: true });

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
  const paidMsg = h('div', { class: 'notice notice-success paid', hidden: true, tabindex: '-1' }, h('p', { class: 'paid-word', testid: 'payment-success' }, 'Paid'), h('p', { testid: 'paid-text' }, 'The ticket is yours. Enjoy the event!'));
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
    seatList,
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
  const back = t().eventId != null ? backLink(`#/events/${seg(t().eventId)}`, t().title ?? 'The event') : backLink('#/orders', 'My orders');
  replace(view, back, card);

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
    ticketTitle.href = t().eventId != null ? `#/events/${seg(t().eventId)}` : `#/tickets/${seg(t().id)}`;
    replace(
      facts,
      h('div', null, h('dt', null, 'When'), h('dd', null, dateElement(t().date, 'ticket-date'))),
      h('div', null, h('dt', null, all().length > 1 ? 'Total' : 'Price'), h('dd', { class: 'price', testid: 'order-price' }, formatPrice(total()))),
    );
    // An order of seats lists every seat it holds.
    seatList.hidden = !seated();
    replace(
      seatList,
      seated()
        ? all().map((x) => h('li', { testid: 'order-seat', dataset: { ticketId: String(x.id) } }, h('span', null, formatSeat(x.seat) ?? x.title), h('span', { class: 'num' }, formatPrice(x.price))))
        : null,
    );
    holdBox.hidden = !(running || expired);
    holdBox.classList.toggle('is-expired', !running);
    holdBox.querySelector('.hold-label').textContent = running ? 'Time left to pay' : 'Hold ended';
    holdBox.querySelector('.hold-until').textContent = Number.isNaN(expiresAt()) ? '' : `Held until ${formatTime(order.expiresAt)}`;
    expiredMsg.hidden = !expired;
    expiredMore.hidden = !expired || !ended;
    cancelledMsg.hidden = !ended || expired;
    paidMsg.hidden = s !== 'complete';
    paidMsg.querySelector('[data-testid="paid-text"]').textContent = `${all().length > 1 ? 'The seats are' : 'The ticket is'} yours. Enjoy the event!`;
    receipt.hidden = s !== 'complete';
    if (s === 'complete') renderReceipt(receipt, order);
    // Only a hold still running can be paid; an ended one can be held again
    // (one seat: a several-seat order is reserved again from its event).
    payForm.hidden = !running;
    reserveBox.hidden = !ended || (order.tickets?.length ?? 1) > 1;
    payButton.disabled = !running;
    tokenSelect.disabled = !running;
    if (!paying) payButton.textContent = `Pay ${formatPrice(total())}`;
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
      app.announce(all().length > 1 ? 'Paid. The seats are yours.' : 'Paid. The ticket is yours.');
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
      cancelledMsg.textContent = `Order cancelled. ${all().length > 1 ? 'The seats are' : 'The seat is'} available to others again.`;
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
