// Small DOM and formatting helpers shared by the views.
// Everything that shows user content goes through textContent (via `h`),
// never innerHTML, so titles and emails cannot inject markup.

/**
 * Builds an element: h('a', {href: '#/', class: 'x', testid: 'y'}, 'text', child).
 * Props: `class`, `testid` (→ data-testid), `dataset`, `text`, `on<event>`
 * handlers, boolean attributes (true → present, false/null → absent), and
 * anything else as an attribute. Children: nodes, strings, numbers, arrays;
 * null/false/undefined are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value == null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'testid') el.dataset.testid = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (see `h`) to a node. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child == null || child === false || child === true) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Builds a hash link to an app route, e.g. link('/tickets/' + id, 'Title'). */
export function routeHref(path) {
  return '#' + path;
}

/** The path segment for an id (ids are opaque strings). */
export function seg(id) {
  return encodeURIComponent(String(id));
}

// ---------------------------------------------------------------- formatting

const currencyCode =
  document.querySelector('meta[name="currency"]')?.getAttribute('content') || 'USD';

let priceFormat;
try {
  priceFormat = new Intl.NumberFormat(undefined, { style: 'currency', currency: currencyCode });
} catch {
  priceFormat = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
}

/** Formats a price (a JSON number or numeric string) as currency. */
export function formatPrice(price) {
  const n = typeof price === 'number' ? price : Number(price);
  if (!Number.isFinite(n)) return String(price ?? '');
  return priceFormat.format(n);
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export const NO_DATE = 'Date to be announced';

/** Formats an RFC 3339 date in the user's locale and time zone. */
export function formatDate(iso) {
  if (!iso) return NO_DATE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return dateFormat.format(d);
}

/** Formats the time of day of an RFC 3339 date. */
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  return timeFormat.format(d);
}

/** A <time> element for an event date, or the "to be announced" text. */
export function dateElement(iso, testid) {
  if (!iso) return h('span', { class: 'tba', testid }, NO_DATE);
  return h('time', { datetime: iso, testid }, formatDate(iso));
}

/**
 * Converts the value of an <input type="datetime-local"> (local wall time,
 * "2026-11-24T18:30") to an RFC 3339 UTC string ("2026-11-24T17:30:00Z").
 * Returns null for an empty value and undefined for an invalid one.
 */
export function localInputToRfc3339(value) {
  const v = String(value || '').trim();
  if (!v) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, hh, mi, ss = '0'] = m;
  const date = new Date(+y, +mo - 1, +d, +hh, +mi, +ss);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The reverse: an RFC 3339 string to a datetime-local value in local time. */
export function rfc3339ToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** mm:ss for a number of milliseconds left (minutes may exceed 59). */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** "4 minutes", "1 minute", "30 seconds": for screen reader announcements. */
export function spokenDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total >= 60) {
    const m = Math.round(total / 60);
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  return `${total} second${total === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------- statuses

export const TICKET_STATUS_LABEL = {
  available: 'available',
  reserved: 'reserved',
  sold: 'sold',
};

/** A status badge for a ticket; its text is the raw status word. */
export function ticketBadge(status) {
  const known = Object.hasOwn(TICKET_STATUS_LABEL, status) ? status : 'unknown';
  return h(
    'span',
    { class: `badge badge-${known}`, testid: 'ticket-status', dataset: { status } },
    TICKET_STATUS_LABEL[status] ?? String(status),
  );
}

export const ORDER_STATUS_LABEL = {
  created: 'Held for you',
  'awaiting:payment': 'Awaiting payment',
  complete: 'Paid',
  cancelled: 'Cancelled',
};

/** What a cancelled order reads, by its `cancelReason`. */
export const CANCEL_REASON_LABEL = {
  cancelled: 'Cancelled',
  expired: 'Expired',
};

/** An order's status in words: a cancelled one says whether it lapsed. */
export function orderStatusLabel(status, cancelReason = null) {
  if (status === 'cancelled' && Object.hasOwn(CANCEL_REASON_LABEL, cancelReason ?? '')) {
    return CANCEL_REASON_LABEL[cancelReason];
  }
  return ORDER_STATUS_LABEL[status] ?? String(status);
}

/**
 * A status badge for an order; data-status holds the raw API status and
 * data-reason its `cancelReason` (when cancelled).
 */
export function orderBadge(status, cancelReason = null) {
  const cls = { created: 'reserved', 'awaiting:payment': 'reserved', complete: 'available', cancelled: 'sold' }[status] || 'unknown';
  const dataset = cancelReason ? { status, reason: cancelReason } : { status };
  return h('span', { class: `badge badge-${cls}`, testid: 'order-status', dataset }, orderStatusLabel(status, cancelReason));
}

/** Where a seat is, in words ("Stalls, row C, seat 12"); null off an event. */
export function formatSeat(seat) {
  if (!seat) return null;
  if (seat.row == null && seat.number == null) return `${seat.section}, standing`;
  const parts = [seat.section];
  if (seat.row != null) parts.push(`row ${seat.row}`);
  if (seat.number != null) parts.push(`seat ${seat.number}`);
  return parts.join(', ');
}
