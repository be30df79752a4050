# Multi-stage build of the ticketing server.
#
#   docker build -t ticketing .
#   docker run -d --name ticketing -p 3000:3000 -v ticketing-data:/var/lib/ticketing \
#     --stop-timeout 30 ticketing
#
# See docs/OPERATIONS.md ("Docker") for settings, volumes and shutdown.

# The builder's Debian release matches the runtime's (bookworm), so the
# binary never needs a newer glibc than the runtime image has.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin ticketing

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/ticketing --shell /usr/sbin/nologin ticketing \
    && mkdir -p /var/lib/ticketing \
    && chown ticketing:ticketing /var/lib/ticketing \
    && chmod 0700 /var/lib/ticketing
COPY --from=build /src/target/release/ticketing /usr/local/bin/ticketing

ENV TICKETING_SERVER__ADDR=0.0.0.0:3000 \
    TICKETING_STORAGE__PATH=/var/lib/ticketing
VOLUME ["/var/lib/ticketing"]
WORKDIR /var/lib/ticketing
USER ticketing:ticketing
EXPOSE 3000

# No curl or wget in the slim image: bash's /dev/tcp speaks the one request.
# 200 = serving and storage writable; 503 = storage refuses writes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# SIGTERM (docker stop) shuts down gracefully and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ticketing"]
CMD ["serve"]
