// Live availability: an in-memory store of tickets kept in sync with the
// server's WebSocket feed (`/api/tickets/live`), one event's seats kept in
// sync with its seat-map feed (`/api/events/:id/live`), and the user's entry
// in an event's waiting room (`/api/events/:id/queue/live`); each reconnects
// with exponential backoff whenever the connection drops (e.g. a server
// restart) and starts again from what the server sends first.

/**
 * The tickets the UI knows about, in the server's order (oldest first; new
 * tickets are appended). Emits:
 *  - 'reset'   {changed: Set<id>, removed: Set<id>, initial: boolean}  whole list replaced
 *  - 'ticket'  {ticket, previous}                                       one ticket upserted
 *  - 'deleted' {id, previous}                                           one ticket removed
 */
export class TicketStore extends EventTarget {
  constructor() {
    super();
    /** @type {Map<string, object>} */
    this.tickets = new Map();
    /** True once a full list has been loaded (HTTP or snapshot). */
    this.ready = false;
    /** Grows with every snapshot, so a slower HTTP load can tell it is stale. */
    this.generation = 0;
  }

  get(id) {
    return this.tickets.get(String(id));
  }

  list() {
    return [...this.tickets.values()];
  }

  /** Replaces every ticket (a snapshot, or a full HTTP load). */
  replaceAll(tickets, { fromSnapshot = false } = {}) {
    const initial = !this.ready;
    const previous = this.tickets;
    const next = new Map();
    const changed = new Set();
    for (const t of tickets) {
      if (!t || t.id == null) continue;
      const id = String(t.id);
      const old = previous.get(id);
      // A snapshot is the truth; an HTTP list must not roll a newer version back.
      if (!fromSnapshot && old && old.version > t.version) {
        next.set(id, old);
        continue;
      }
      next.set(id, t);
      if (!old || old.version !== t.version) changed.add(id);
    }
    const removed = new Set([...previous.keys()].filter((id) => !next.has(id)));
    this.tickets = next;
    this.ready = true;
    if (fromSnapshot) this.generation++;
    this.dispatchEvent(new CustomEvent('reset', { detail: { changed, removed, initial } }));
  }

  /** Applies a change if it is newer than what is shown. Returns true if applied. */
  upsert(ticket) {
    if (!ticket || ticket.id == null) return false;
    const id = String(ticket.id);
    const previous = this.tickets.get(id);
    if (previous && !(Number(ticket.version) > Number(previous.version))) return false;
    this.tickets.set(id, ticket);
    this.dispatchEvent(new CustomEvent('ticket', { detail: { ticket, previous } }));
    return true;
  }

  remove(id) {
    const key = String(id);
    const previous = this.tickets.get(key);
    if (!previous) return false;
    this.tickets.delete(key);
    this.dispatchEvent(new CustomEvent('deleted', { detail: { id: key, previous } }));
    return true;
  }
}

/**
 * Keeps one WebSocket open to the live feed and feeds `store`.
 * `onState(state)` is called with 'live' or 'reconnecting'
 * (plus `{attempt, firstConnect}` details) whenever the state changes.
 */
export class LiveFeed {
  constructor(store, onState, path = 'api/tickets/live') {
    this.store = store;
    this.onState = onState;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.state = 'reconnecting';
    this.everConnected = false;
    this.stopped = false;
    this.url = LiveFeed.url(path);
    /** Aborts the window listeners added by start(). */
    this.listeners = new AbortController();
  }

  static url(path) {
    const u = new URL(path, document.baseURI);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.hash = '';
    return u.href;
  }

  get connected() {
    return this.state === 'live';
  }

  start() {
    this.stopped = false;
    const { signal } = this.listeners;
    window.addEventListener('online', () => this.reconnectNow(), { signal });
    document.addEventListener(
      'visibilitychange',
      () => {
        if (document.visibilityState === 'visible' && !this.ws) this.reconnectNow();
      },
      { signal },
    );
    this.open();
  }

  /** Closes the connection for good (a page that no longer shows the feed). */
  stop() {
    this.stopped = true;
    this.listeners.abort();
    clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState?.(state, { attempt: this.attempt, everConnected: this.everConnected });
  }

  open() {
    clearTimeout(this.timer);
    this.timer = null;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.everConnected = true;
      this.setState('live');
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws) return;
      this.handle(event.data);
    });
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState('reconnecting');
      if (!opened) this.onRefused?.();
      this.scheduleReconnect();
    });
    // An 'error' is always followed by 'close'; nothing to do here.
    ws.addEventListener('error', () => {});
  }

  handle(raw) {
    if (typeof raw !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    switch (msg?.type) {
      case 'snapshot':
        // A healthy connection: the next drop starts the backoff afresh.
        this.attempt = 0;
        this.store.replaceAll(Array.isArray(msg.tickets) ? msg.tickets : [], { fromSnapshot: true });
        break;
      case 'ticket':
        this.store.upsert(msg.ticket);
        break;
      case 'deleted':
        this.store.remove(msg.id);
        break;
      default:
        break;
    }
  }

  /** Backoff: 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s, each with jitter. */
  scheduleReconnect() {
    if (this.stopped || this.timer) return;
    const base = Math.min(10_000, 500 * 2 ** this.attempt);
    const delay = base * (0.75 + Math.random() * 0.5);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }
}

/**
 * One event's seats, kept in sync with its seat-map feed. Emits:
 *  - 'snapshot' {event, seats}   every seat replaced (on each (re)connect)
 *  - 'seats'    {seats}          the seats one committed change touched
 *  - 'deleted'                   the event is gone (the feed stops)
 * Seats are tickets; `seats` maps their ids to the newest version seen.
 */
export class EventFeed extends LiveFeed {
  constructor(eventId, onState) {
    super(null, onState, `api/events/${encodeURIComponent(eventId)}/live`);
    this.events = new EventTarget();
    /** @type {Map<string, object>} */
    this.seats = new Map();
    /** Called when a connection attempt is refused (e.g. 404: the event was deleted meanwhile). */
    this.onRefused = null;
  }

  handle(raw) {
    if (typeof raw !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    const emit = (type, detail) => this.events.dispatchEvent(new CustomEvent(type, { detail }));
    switch (msg?.type) {
      case 'snapshot': {
        this.attempt = 0;
        const seats = Array.isArray(msg.seats) ? msg.seats : [];
        this.seats = new Map(seats.filter((t) => t?.id != null).map((t) => [String(t.id), t]));
        emit('snapshot', { event: msg.event, seats });
        break;
      }
      case 'seats': {
        const fresh = (Array.isArray(msg.seats) ? msg.seats : []).filter((t) => this.upsert(t));
        if (fresh.length) emit('seats', { seats: fresh });
        break;
      }
      case 'deleted':
        this.stop();
        emit('deleted', {});
        break;
      default:
        break;
    }
  }

  /** Keeps `seat` if it is newer than the one known. Returns true if kept. */
  upsert(seat) {
    if (!seat || seat.id == null) return false;
    const id = String(seat.id);
    const previous = this.seats.get(id);
    if (previous && !(Number(seat.version) > Number(previous.version))) return false;
    this.seats.set(id, seat);
    return true;
  }
}

/**
 * The user's entry in one event's waiting room, from its WebSocket: each
 * message is the entry itself, passed to `onEntry(entry)`. `onRefused` is
 * called when a connection attempt is refused (401, or 404: no entry).
 */
export class QueueFeed extends LiveFeed {
  constructor(eventId, onEntry, onState) {
    super(null, onState, `api/events/${encodeURIComponent(eventId)}/queue/live`);
    this.onEntry = onEntry;
    this.onRefused = null;
  }

  handle(raw) {
    if (typeof raw !== 'string') return;
    let entry;
    try {
      entry = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof entry?.status !== 'string') return;
    this.attempt = 0;
    this.onEntry(entry);
  }
}
