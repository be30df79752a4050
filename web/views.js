// The pages of the app, by route. Each view is `async (ctx) => void` where
// ctx is { view, app, params, query, signal }: `view` is the element to
// render into, `signal` aborts when the user navigates away (listeners added
// with it, timers cleared on it), `app` is the shared state from app.js.

import { h, replace } from './dom.js';
import { heading } from './parts.js';

export { ticketList, ticketDetail } from './tickets.js';
export { signIn, signUp, sell, ticketEdit } from './forms.js';
export { orders, orderDetail } from './orders.js';
export { eventList, eventDetail } from './events.js';

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
