-- The ticketing schema, version 1: one table per kind of record, readable
-- with psql. Ids are the server's 64-bit ids (time-ordered, below 2^63),
-- prices integer cents, instants timestamptz. Foreign keys are deferred to
-- COMMIT, since one transaction writes a whole group of batches in table
-- order, not in the order the batches named their records.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE users (
    id            bigint PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE revoked_sessions (
    id         bigint PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE TABLE events (
    id         bigint PRIMARY KEY,
    name       text NOT NULL,
    venue      text,
    starts_at  timestamptz NOT NULL,
    on_sale_at timestamptz,
    organizer  bigint NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    queue      boolean NOT NULL,
    -- The map as given: [{"name", "price" (cents), "layout": {"Rows": [{"label",
    -- "seats"}]} | {"Standing": capacity}}]; each seat is a ticket.
    sections   jsonb NOT NULL,
    first_seat bigint NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id            bigint PRIMARY KEY,
    buyer         bigint NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    status        text NOT NULL
        CHECK (status IN ('created', 'cancelled', 'awaiting:payment', 'complete')),
    expires_at    timestamptz NOT NULL,
    version       bigint NOT NULL CHECK (version >= 0),
    created_at    timestamptz NOT NULL,
    cancel_reason text CHECK (cancel_reason IN ('cancelled', 'expired')),
    payment_id    bigint,
    paid_at       timestamptz,
    CHECK ((payment_id IS NULL) = (paid_at IS NULL))
) WITH (fillfactor = 80);
CREATE INDEX orders_buyer ON orders (buyer);

-- Tickets, orders and the tickets of orders change state in place all the
-- time: pages keep a fifth free so an update that changes no indexed
-- column stays on its page (a HOT update, no index entry to add).

-- Seats of events and tickets sold on their own. No foreign key from
-- orders' tickets to here: a deleted ticket stays named by old orders.
CREATE TABLE tickets (
    id          bigint PRIMARY KEY,
    title       text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    date        timestamptz,
    seller      bigint NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    version     bigint NOT NULL CHECK (version >= 0),
    status      text NOT NULL CHECK (status IN ('available', 'reserved', 'sold')),
    order_id    bigint REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
    event_id    bigint REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED,
    section     text,
    row_label   text,
    seat_number integer CHECK (seat_number > 0),
    CHECK ((status = 'available') = (order_id IS NULL)),
    CHECK (section IS NOT NULL OR (row_label IS NULL AND seat_number IS NULL))
) WITH (fillfactor = 80);
CREATE INDEX tickets_event ON tickets (event_id) WHERE event_id IS NOT NULL;

-- The tickets of each order as the order saw them at its last change, in
-- the order's own order (position). `live` follows the order's status
-- (not cancelled), so the database itself refuses two live orders of one
-- ticket.
CREATE TABLE order_tickets (
    order_id    bigint NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
    position    smallint NOT NULL CHECK (position >= 0),
    ticket_id   bigint NOT NULL,
    title       text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    date        timestamptz,
    version     bigint NOT NULL CHECK (version >= 0),
    event_id    bigint,
    section     text,
    row_label   text,
    seat_number integer CHECK (seat_number > 0),
    live        boolean NOT NULL,
    PRIMARY KEY (order_id, position),
    CHECK (section IS NOT NULL OR (row_label IS NULL AND seat_number IS NULL))
);
CREATE UNIQUE INDEX order_tickets_one_live_order ON order_tickets (ticket_id) WHERE live;

CREATE TABLE payments (
    id           bigint PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
    charge_id    text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    created_at   timestamptz NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);

-- The waiting rooms: one entry per account in an event's line, and the
-- draw that placed the early ones.
CREATE TABLE queue_entries (
    event_id        bigint NOT NULL REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED,
    user_id         bigint NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    joined_at       timestamptz NOT NULL,
    place           bigint CHECK (place > 0),
    status          text NOT NULL
        CHECK (status IN ('waiting', 'admitted', 'done', 'expired', 'soldout')),
    admitted_at     timestamptz,
    pass_expires_at timestamptz,
    order_id        bigint,
    PRIMARY KEY (event_id, user_id)
);

CREATE TABLE queue_draws (
    event_id bigint PRIMARY KEY REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED,
    seed     bigint NOT NULL,
    drawn_at timestamptz NOT NULL,
    placed   bigint NOT NULL CHECK (placed >= 0)
);
