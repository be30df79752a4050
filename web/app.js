// Entry point of the browser UI: session state, header, alerts, the live
// feed indicator and the hash router. The pages are listed in views.js.

import * as api from './api.js';
import { ApiError } from './api.js';
import { TicketStore, LiveFeed } from './live.js';
import { h, replace } from './dom.js';
import * as views from './views.js';

const ROUTES = [
  { pattern: /^\/$/, view: views.ticketList, nav: 'tickets' },
  { pattern: /^\/signin$/, view: views.signIn, nav: 'signin' },
  { pattern: /^\/signup$/, view: views.signUp, nav: 'signup' },
  { pattern: /^\/sell$/, view: views.sell, auth: true, nav: 'sell' },
  { pattern: /^\/tickets\/([^/]+)$/, view: views.ticketDetail, nav: 'tickets' },
  { pattern: /^\/tickets\/([^/]+)\/edit$/, view: views.ticketEdit, auth: true, nav: 'tickets' },
  { pattern: /^\/events$/, view: views.eventList, nav: 'events' },
  { pattern: /^\/events\/([^/]+)$/, view: views.eventDetail, nav: 'events' },
  { pattern: /^\/orders$/, view: views.orders, auth: true, nav: 'orders' },
  { pattern: /^\/orders\/([^/]+)$/, view: views.orderDetail, auth: true, nav: 'orders' },
];

function parseLocation() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  let path = q >= 0 ? raw.slice(0, q) : raw;
  if (!path.startsWith('/')) path = `/${path}`;
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { path, query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

class App {
  constructor() {
    /** {id, email} or null */
    this.user = null;
    /** orderId -> {status, ticketId}: the signed-in user's orders. */
    this.myOrders = new Map();
    /** Emits 'user' and 'orders'. */
    this.events = new EventTarget();
    this.store = new TicketStore();
    this.live = new LiveFeed(this.store, (state, info) => this.onLiveState(state, info));

    this.nav = document.getElementById('site-nav');
    this.account = document.getElementById('account');
    this.alerts = document.getElementById('alerts');
    this.view = document.getElementById('view');
    this.main = document.getElementById('main');
    this.announcer = document.getElementById('announcer');
    this.liveIndicator = document.getElementById('live');

    this.pendingFlash = [];
    this.controller = null;
    this.firstRender = true;
    this.currentNav = null;
    this.currentRoute = '/';
    this.ordersRequest = null;
    /** The page showing now failed to load: load it again once the feed is back. */
    this.pageFailed = false;
  }

  // ------------------------------------------------------------ start

  async start() {
    this.renderHeader();
    this.onLiveState('reconnecting', { everConnected: false });
    this.live.start();
    window.addEventListener('hashchange', () => this.render());
    document.querySelector('.skip-link')?.addEventListener('click', (e) => {
      e.preventDefault();
      this.main.focus();
    });

    try {
      this.user = await api.currentUser({ signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      this.user = null;
      const why = err instanceof ApiError ? err.message : 'The server did not answer.';
      this.flash(`Couldn't check whether you are signed in. ${why}`, 'error');
    }
    this.renderHeader();
    if (this.user) this.refreshMyOrders();
    if (!location.hash) history.replaceState(null, '', '#/');
    await this.render();
  }

  // ------------------------------------------------------------ session

  setUser(user) {
    const before = this.user?.id ?? null;
    this.user = user;
    if (!user) this.myOrders.clear();
    this.renderHeader();
    if ((user?.id ?? null) !== before) this.events.dispatchEvent(new Event('user'));
  }

  /** Re-reads the signed-in user's orders (deduplicated while in flight). */
  refreshMyOrders() {
    if (!this.user) return Promise.resolve();
    if (this.ordersRequest) return this.ordersRequest;
    this.ordersRequest = api
      .listOrders()
      .then((list) => this.setMyOrders(Array.isArray(list) ? list : []))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) this.setUser(null);
      })
      .finally(() => {
        this.ordersRequest = null;
      });
    return this.ordersRequest;
  }

  setMyOrders(list) {
    this.myOrders = new Map(list.map((o) => [String(o.id), { status: o.status, ticketId: o.ticket?.id }]));
    this.events.dispatchEvent(new Event('orders'));
  }

  noteOrder(order) {
    if (!order?.id) return;
    const prev = this.myOrders.get(String(order.id));
    if (prev && prev.status === order.status) return;
    this.myOrders.set(String(order.id), { status: order.status, ticketId: order.ticket?.id });
    this.events.dispatchEvent(new Event('orders'));
  }

  /** The session is gone or missing: go to sign in, then come back here. */
  requireSignIn(message = 'Please sign in to continue.') {
    this.setUser(null);
    this.flash(message, 'info');
    const next = this.currentRoute.startsWith('/sign') ? '/' : this.currentRoute;
    this.navigate(`/signin?next=${encodeURIComponent(next)}`, { replace: true });
  }

  async signOut(button) {
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    try {
      await api.signOut();
      this.setUser(null);
      this.flash('You are signed out.', 'success');
      this.navigate('/');
    } catch (err) {
      this.alertError(err);
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  // ------------------------------------------------------------ messages

  /** Shows a message in the alert area at the top of the page. */
  alert(message, kind = 'error') {
    for (const el of this.alerts.children) {
      if (el.dataset.kind === kind && el.querySelector('.alert-text')?.textContent === message) return;
    }
    const box = h(
      'div',
      { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid: 'alert', dataset: { kind } },
      h('p', { class: 'alert-text' }, message),
    );
    const close = h('button', { type: 'button', class: 'alert-close', 'aria-label': 'Dismiss message' }, h('span', { 'aria-hidden': 'true' }, '×'));
    close.addEventListener('click', () => {
      box.remove();
      this.main.focus();
    });
    box.append(close);
    this.alerts.append(box);
  }

  alertError(err) {
    if (err instanceof ApiError) for (const e of err.errors) this.alert(e.message);
    else this.alert(String(err?.message || err));
  }

  clearAlerts() {
    this.alerts.replaceChildren();
  }

  /** A message for the next page (e.g. "Signed out" after navigating). */
  flash(message, kind = 'info') {
    this.pendingFlash.push([message, kind]);
  }

  /** Says something politely to screen readers. */
  announce(message) {
    this.announcer.textContent = '';
    setTimeout(() => {
      this.announcer.textContent = message;
    }, 60);
  }

  setTitle(title) {
    document.title = title ? `${title} · Ticketing` : 'Ticketing';
  }

  // ------------------------------------------------------------ header

  /** Marks the current page in the nav (built in index.html) and fills the account area. */
  renderHeader() {
    const here = this.currentNav;
    for (const a of this.nav.querySelectorAll('a[data-nav]')) {
      if (a.dataset.nav === here) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.getElementById('nav-orders-item').hidden = !this.user;
    const link = (key, href, text, testid, cls) =>
      h('a', { class: cls, href, testid, 'aria-current': here === key ? 'page' : null }, text);

    if (this.user) {
      const out = h('button', { type: 'button', class: 'btn btn-small btn-ghost', testid: 'signout' }, 'Sign out');
      out.addEventListener('click', () => this.signOut(out));
      replace(
        this.account,
        h('span', { class: 'who', testid: 'current-user', title: this.user.email }, this.user.email),
        out,
      );
    } else {
      replace(
        this.account,
        link('signin', '#/signin', 'Sign in', 'nav-signin', 'nav-link'),
        link('signup', '#/signup', 'Sign up', 'nav-signup', 'btn btn-small btn-primary'),
      );
    }
  }

  onLiveState(state, { everConnected }) {
    const el = this.liveIndicator;
    el.dataset.state = state;
    const text = state === 'live' ? 'Live' : everConnected ? 'Reconnecting…' : 'Connecting…';
    el.querySelector('.live-text').textContent = text;
    el.title =
      state === 'live'
        ? 'Ticket availability updates live'
        : 'Live updates are paused; reconnecting to the server';
    if (state === 'live' && this.wasLiveBefore) {
      // Back after a drop (maybe a server restart): re-check the session.
      api
        .currentUser()
        .then((u) => {
          if ((u?.id ?? null) !== (this.user?.id ?? null)) this.setUser(u);
          if (u) this.refreshMyOrders();
        })
        .catch(() => {});
    }
    if (state === 'live') this.wasLiveBefore = true;
    // Back in touch with the server: a page that could not load tries again.
    if (state === 'live' && this.pageFailed) this.render();
  }

  // ------------------------------------------------------------ router

  navigate(path, { replace: replaceEntry = false } = {}) {
    const target = `#${path}`;
    if (location.hash === target) {
      this.render();
    } else if (replaceEntry) {
      location.replace(target);
    } else {
      location.hash = path;
    }
  }

  async render() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const { signal } = controller;

    const { path, query } = parseLocation();
    let route = null;
    let params = [];
    for (const r of ROUTES) {
      const m = r.pattern.exec(path);
      if (m) {
        route = r;
        params = m.slice(1).map(decodeSegment);
        break;
      }
    }
    const qs = query.toString();
    this.currentRoute = path + (qs ? `?${qs}` : '');
    this.currentNav = route?.nav ?? null;
    this.renderHeader();

    if (route?.auth && !this.user) {
      this.flash('Please sign in first.', 'info');
      this.navigate(`/signin?next=${encodeURIComponent(path)}`, { replace: true });
      return;
    }

    this.clearAlerts();
    for (const [message, kind] of this.pendingFlash.splice(0)) this.alert(message, kind);

    const view = this.view;
    view.replaceChildren();
    view.setAttribute('aria-busy', 'true');
    if (!this.firstRender) window.scrollTo(0, 0);

    this.pageFailed = false;
    const ctx = { view, app: this, params, query, signal };
    try {
      await (route ? route.view : views.notFound)(ctx);
    } catch (err) {
      if (signal.aborted || err?.name === 'AbortError') return;
      if (err instanceof ApiError && err.status === 404) {
        views.notFound(ctx);
      } else if (err instanceof ApiError && err.status === 401) {
        this.requireSignIn('Please sign in to continue.');
        return;
      } else {
        this.renderError(view, err);
      }
    } finally {
      if (this.controller === controller) view.removeAttribute('aria-busy');
    }
    if (signal.aborted) return;

    // Move focus to the new page's heading, unless the page placed it.
    if (!this.firstRender) {
      const active = document.activeElement;
      if (!active || active === document.body || !this.main.contains(active) || active === this.main) {
        const h1 = view.querySelector('h1');
        (h1 || this.main).focus({ preventScroll: true });
      }
    }
    this.firstRender = false;
  }

  renderError(view, err) {
    this.pageFailed = true;
    this.setTitle('Something went wrong');
    // Unreachable: the live feed is down too, and its return reloads the page.
    const unreachable = err instanceof ApiError && err.status === 0;
    const retry = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'retry' }, 'Try again');
    retry.addEventListener('click', () => this.render());
    replace(
      view,
      h(
        'section',
        { class: 'card narrow', testid: 'page-error' },
        h('h1', { tabindex: '-1' }, 'Something went wrong'),
        h('p', { role: 'alert' }, err instanceof ApiError ? err.message : `Unexpected error: ${err?.message || err}`),
        unreachable ? h('p', { class: 'muted', testid: 'page-error-auto' }, 'This page loads by itself as soon as the server is back.') : null,
        h('div', { class: 'actions' }, retry, h('a', { class: 'btn btn-ghost', href: '#/' }, 'Back to tickets')),
      ),
    );
    if (!(err instanceof ApiError)) console.error(err);
  }
}

const app = new App();
window.__ticketingApp = app; // handy from the devtools console and browser tests
app.start().catch((err) => {
  console.error(err);
  app.renderError(app.view, err);
});
