// The HTTP client for the server's JSON API (see the API contract).
// Auth rides on the server's HttpOnly `session` cookie: every request is sent
// with credentials 'same-origin'; the UI never stores tokens itself.

// Resolved against the page, so the UI also works under a path prefix.
const BASE = new URL('api/', document.baseURI);

/** An error answered by the API (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, errors, retryAfter = null) {
    super(errors.map((e) => e.message).join(' '));
    this.name = 'ApiError';
    this.status = status;
    /** [{message, field?}] */
    this.errors = errors;
    /** Seconds, from Retry-After on a 429. */
    this.retryAfter = retryAfter;
  }
}

const DEFAULT_MESSAGES = {
  0: "Can't reach the server. Check your connection and try again.",
  401: 'Please sign in to continue.',
  403: 'The server refused this request.',
  404: 'Not found.',
  413: 'That request is too large.',
  415: 'The server did not accept the request format.',
  429: 'Too many attempts.',
  503: 'The server cannot save changes right now. Please try again shortly.',
};

/** Milliseconds to add to Date.now() to get the server's clock (0 unless clearly off). */
let clockSkewMs = 0;
export function serverNow() {
  return Date.now() + clockSkewMs;
}

function noteServerDate(res, startedAt) {
  const header = res.headers.get('Date');
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  const mid = (startedAt + Date.now()) / 2;
  // The Date header has one-second resolution: only correct a clear offset.
  const skew = server + 500 - mid;
  clockSkewMs = Math.abs(skew) > 2000 ? skew : 0;
}

/**
 * Sends one request. Resolves with the parsed JSON body (null when empty);
 * rejects with ApiError, or with the AbortError when `signal` aborts.
 */
export async function request(method, path, body, { signal } = {}) {
  const url = new URL(path.replace(/^\//, ''), BASE);
  const init = {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json' },
    signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const startedAt = Date.now();
  let res;
  let text;
  try {
    res = await fetch(url, init);
    text = await res.text();
  } catch (err) {
    if (err?.name === 'AbortError' || signal?.aborted) throw err;
    throw new ApiError(0, [{ message: DEFAULT_MESSAGES[0] }]);
  }
  noteServerDate(res, startedAt);

  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;

  let errors = Array.isArray(data?.errors)
    ? data.errors
        .filter((e) => e && typeof e.message === 'string')
        .map((e) => ({ message: e.message, field: typeof e.field === 'string' ? e.field : undefined }))
    : [];
  if (errors.length === 0) {
    errors = [{ message: DEFAULT_MESSAGES[res.status] || `The server answered ${res.status} ${res.statusText || ''}`.trim() + '.' }];
  }
  let retryAfter = null;
  if (res.status === 429) {
    const ra = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    if (Number.isFinite(ra) && ra >= 0) {
      retryAfter = ra;
      errors = errors.map((e, i) =>
        i === 0 ? { ...e, message: `${e.message} Try again in ${ra} second${ra === 1 ? '' : 's'}.` } : e,
      );
    }
  }
  throw new ApiError(res.status, errors, retryAfter);
}

const get = (path, opts) => request('GET', path, undefined, opts);

// ---------------------------------------------------------------- users

export async function currentUser(opts) {
  const data = await get('/users/currentuser', opts);
  return data?.currentUser ?? null;
}
export const signUp = (email, password, opts) =>
  request('POST', '/users/signup', { email, password }, opts);
export const signIn = (email, password, opts) =>
  request('POST', '/users/signin', { email, password }, opts);
export const signOut = (opts) => request('POST', '/users/signout', {}, opts);

// ---------------------------------------------------------------- tickets

const PAGE = 1000;

/** Every ticket, whatever its status, oldest first (follows pages). */
export async function listTickets(opts) {
  const all = [];
  let after = null;
  for (let page = 0; page < 50; page++) {
    const q = new URLSearchParams({ status: 'any', limit: String(PAGE) });
    if (after != null) q.set('after', after);
    const batch = await get(`/tickets?${q}`, opts);
    if (!Array.isArray(batch)) break;
    all.push(...batch);
    if (batch.length < PAGE) break;
    after = batch[batch.length - 1].id;
  }
  return all;
}
export const getTicket = (id, opts) => get(`/tickets/${encodeURIComponent(id)}`, opts);
export const createTicket = (ticket, opts) => request('POST', '/tickets', ticket, opts);
export const updateTicket = (id, ticket, opts) =>
  request('PUT', `/tickets/${encodeURIComponent(id)}`, ticket, opts);
export const deleteTicket = (id, opts) => request('DELETE', `/tickets/${encodeURIComponent(id)}`, undefined, opts);

// ---------------------------------------------------------------- events

/** Every event, soonest first (follows pages). */
export async function listEvents(opts) {
  const all = [];
  let after = null;
  for (let page = 0; page < 50; page++) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (after != null) q.set('after', after);
    const batch = await get(`/events?${q}`, opts);
    if (!Array.isArray(batch)) break;
    all.push(...batch);
    if (batch.length < PAGE) break;
    after = batch[batch.length - 1].id;
  }
  return all;
}
export const getEvent = (id, opts) => get(`/events/${encodeURIComponent(id)}`, opts);

// ---------------------------------------------------------------- waiting room

/** The caller's entry in an event's line (404: not in line). */
export const getQueueEntry = (eventId, opts) => get(`/events/${encodeURIComponent(eventId)}/queue`, opts);
/** Joins an event's line; joining again answers the same entry. */
export const joinQueue = (eventId, opts) => request('POST', `/events/${encodeURIComponent(eventId)}/queue`, undefined, opts);

// ---------------------------------------------------------------- orders

export const createOrder = (ticketId, opts) => request('POST', '/orders', { ticketId }, opts);
/** An order's body with the waiting room's admission pass, when there is one. */
const withPass = (body, queuePass) => (queuePass ? { ...body, queuePass } : body);
/** An order of several seats of one event, all or none (`queuePass` for a queued event). */
export const orderSeats = (ticketIds, { queuePass, ...opts } = {}) =>
  request('POST', '/orders', withPass({ ticketIds }, queuePass), opts);
/** An order of the best `quantity` seats of an event (of `section` if given). */
export const orderBest = (eventId, quantity, section, { queuePass, ...opts } = {}) =>
  request('POST', '/orders', withPass(section ? { eventId, quantity, section } : { eventId, quantity }, queuePass), opts);
export const listOrders = (opts) => get('/orders', opts);
export const getOrder = (id, opts) => get(`/orders/${encodeURIComponent(id)}`, opts);
export const cancelOrder = (id, opts) => request('DELETE', `/orders/${encodeURIComponent(id)}`, undefined, opts);

// ---------------------------------------------------------------- payments

export const pay = (orderId, token, opts) => request('POST', '/payments', { orderId, token }, opts);
