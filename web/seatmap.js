// The seat map of one event: each seated section an SVG of rows of seats
// with row labels, drawn from the event's layout before any seat's status is
// known (so the page keeps its size when the live snapshot arrives), each
// seat coloured by its status and by the user's choice. The seats are one
// keyboard stop (a roving tabindex): arrow keys move across a row and between
// rows, Home and End to a row's ends, Enter or Space toggles. Standing
// sections are not drawn: the event page shows them as counts.

import { formatPrice } from './dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Distance between the centres of two seats, in map units. */
const PITCH = 26;
const RADIUS = 10;
/** Room on the left of a row for its label. */
const LABEL = 40;
/** Height of a section's name above its rows. */
const HEAD = 28;

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

/** The key of a seat's place on the map. */
function seatKey(section, row, number) {
  return JSON.stringify([section, row, number]);
}

/** What a seat's status reads to a screen reader. */
const STATUS_WORDS = {
  loading: 'loading',
  available: 'available',
  reserved: 'held',
  sold: 'sold',
};

export class SeatMap {
  /**
   * `event`: the event, whose seated sections give the layout.
   * `onToggle(ticketId)`: the user asked to take or give back a seat.
   */
  constructor(event, { onToggle }) {
    this.onToggle = onToggle;
    /** key -> the seat's circle */
    this.byKey = new Map();
    /** ticket id -> the seat's circle */
    this.byId = new Map();
    /** Every seated row in map order: [{label, seats: [circle]}]. */
    this.rows = [];
    /** One SVG per seated section, by section name. */
    this.svgs = new Map();
    this.current = null;
    this.touched = false;

    const seated = (event.sections || []).filter((s) => Array.isArray(s.rows));
    const widest = Math.max(1, ...seated.flatMap((s) => s.rows.map((r) => r.seats)));
    const width = LABEL * 2 + widest * PITCH;
    for (const section of seated) this.svgs.set(section.name, this.drawSection(section, width, widest));
    this.setCurrent(this.rows[0]?.seats[0] ?? null);
  }

  drawSection(section, width, widest) {
    const height = HEAD + section.rows.length * PITCH + 6;
    const root = svg('svg', {
      class: 'seat-map',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'group',
      'aria-label': `${section.name}, ${formatPrice(section.price)} a seat`,
      'data-testid': 'seat-map-section',
      'data-section': section.name,
    });
    root.append(svg('text', { class: 'section-name', x: width / 2, y: 18, 'text-anchor': 'middle' }, section.name));
    section.rows.forEach((row, r) => {
      const cy = HEAD + r * PITCH + PITCH / 2;
      const x0 = LABEL + ((widest - row.seats) * PITCH) / 2;
      const g = svg('g', { class: 'seat-row', role: 'group', 'aria-label': `${section.name} row ${row.label}` });
      g.append(svg('text', { class: 'row-label', x: x0 - 8, y: cy + 4, 'text-anchor': 'end', 'aria-hidden': 'true' }, row.label));
      const seats = [];
      for (let n = 1; n <= row.seats; n++) {
        const seat = svg('circle', {
          class: 'seat',
          cx: x0 + (n - 1) * PITCH + PITCH / 2,
          cy,
          r: RADIUS,
          tabindex: '-1',
          role: 'checkbox',
          'aria-checked': 'false',
          'aria-disabled': 'true',
          'data-testid': 'seat',
          'data-status': 'loading',
          'data-section': section.name,
          'data-row': row.label,
          'data-number': n,
        });
        seat._where = `${section.name} row ${row.label} seat ${n}`;
        seat._price = section.price;
        seat._pos = { r: this.rows.length, i: n - 1 };
        this.byKey.set(seatKey(section.name, row.label, n), seat);
        seats.push(seat);
        g.append(seat);
      }
      this.rows.push({ label: row.label, seats });
      root.append(g);
    });
    root.addEventListener('click', (e) => {
      const seat = e.target.closest?.('.seat');
      if (!seat) return;
      this.touched = true;
      this.setCurrent(seat);
      if (seat.dataset.ticketId) this.onToggle(seat.dataset.ticketId);
    });
    root.addEventListener('keydown', (e) => this.onKey(e));
    return root;
  }

  /** The section's SVG, or null for a standing section. */
  sectionElement(name) {
    return this.svgs.get(name) ?? null;
  }

  /**
   * Shows `ticket` (a seat of this event) with the user's `selected` choice
   * and whether it is `mine` (held or bought by the user).
   */
  update(ticket, { selected = false, mine = false } = {}) {
    const s = ticket.seat;
    if (!s || s.row == null) return;
    const seat = this.byKey.get(seatKey(s.section, s.row, s.number));
    if (!seat) return;
    const id = String(ticket.id);
    if (seat.dataset.ticketId !== id) {
      seat.dataset.ticketId = id;
      this.byId.set(id, seat);
    }
    const status = String(ticket.status);
    seat.dataset.status = status;
    if (mine) seat.dataset.mine = 'true';
    else delete seat.dataset.mine;
    if (selected) seat.dataset.selected = 'true';
    else delete seat.dataset.selected;
    const open = status === 'available' || selected;
    seat.setAttribute('aria-checked', selected ? 'true' : 'false');
    seat.setAttribute('aria-disabled', open ? 'false' : 'true');
    const word = selected ? 'selected' : mine ? (status === 'sold' ? 'yours' : 'held by you') : STATUS_WORDS[status] ?? status;
    seat.setAttribute('aria-label', `${seat._where}, ${word}, ${formatPrice(ticket.price ?? seat._price)}`);
  }

  /** After the first snapshot: the keyboard stop goes to the first free seat. */
  settle() {
    if (this.touched) return;
    const first = this.rows.flatMap((r) => r.seats).find((s) => s.dataset.status === 'available');
    if (first) this.setCurrent(first);
  }

  setCurrent(seat) {
    if (this.current === seat) return;
    this.current?.setAttribute('tabindex', '-1');
    this.current = seat;
    seat?.setAttribute('tabindex', '0');
  }

  move(seat) {
    if (!seat) return;
    this.touched = true;
    this.setCurrent(seat);
    seat.focus();
  }

  onKey(e) {
    const seat = e.target.closest?.('.seat');
    if (!seat) return;
    const { r, i } = seat._pos;
    const row = this.rows[r].seats;
    const nearest = (other) => {
      if (!other) return null;
      const x = Number(seat.getAttribute('cx'));
      return other.seats.reduce((best, s) =>
        Math.abs(Number(s.getAttribute('cx')) - x) < Math.abs(Number(best.getAttribute('cx')) - x) ? s : best,
      );
    };
    switch (e.key) {
      case 'ArrowLeft':
        this.move(row[i - 1]);
        break;
      case 'ArrowRight':
        this.move(row[i + 1]);
        break;
      case 'ArrowUp':
        this.move(nearest(this.rows[r - 1]));
        break;
      case 'ArrowDown':
        this.move(nearest(this.rows[r + 1]));
        break;
      case 'Home':
        this.move(row[0]);
        break;
      case 'End':
        this.move(row[row.length - 1]);
        break;
      case 'Enter':
      case ' ':
        this.touched = true;
        this.setCurrent(seat);
        if (seat.dataset.ticketId) this.onToggle(seat.dataset.ticketId);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}
