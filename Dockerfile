# The payments sandbox as an image: `harness serve` (the payments server, both fake PGs, the
# webhook inbox and the admin API) listening on every interface, on SQLite unless
# PAYMENTS_DATABASE_URL names a MariaDB.
#
#   docker build -t payments-sandbox .                        # compiles inside the build
#   docker run --rm -p 37821:37821 -p 10851:10851 -p 30771:30771 -p 30772:30772 -p 37822:37822 payments-sandbox
#
# The `prebuilt` target takes a binary compiled already, by default
# `cargo build --profile image -p payments-harness --bin harness`, on a local base (CI passes
# its stripped debug build with `--build-arg BINARY=target/ci-image/harness`):
#   podman build --network=host --target prebuilt --build-arg BASE=localhost/debian:bookworm .

ARG BASE=docker.io/library/debian:bookworm-slim
ARG RUST=docker.io/library/rust:1.95-slim-bookworm

FROM ${RUST} AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --profile image -p payments-harness --bin harness \
 && cp target/image/harness /usr/local/bin/harness

FROM ${BASE} AS runtime
# The harness's HTTP clients load the system's CA certificates when they are built.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && useradd --system --uid 999 --home-dir /nonexistent --shell /usr/sbin/nologin sandbox \
 && install -d -o sandbox -g sandbox -m 0700 /var/lib/payments-sandbox
# On a MariaDB, `serve` keeps its storage key and pepper in payments-sandbox.keys in the
# current folder, so that a restarted container reads its records.
WORKDIR /var/lib/payments-sandbox
# Every `serve` option has a variable; these make it reachable through published ports.
ENV PAYMENTS_SANDBOX_HOST=0.0.0.0 \
    PAYMENTS_SANDBOX_PAYMENTS_PORT=37821 \
    PAYMENTS_SANDBOX_IAMPORT_PORT=10851 \
    PAYMENTS_SANDBOX_TOSS_PORT=30771 \
    PAYMENTS_SANDBOX_PORTONE_PORT=30772 \
    PAYMENTS_SANDBOX_INBOX_PORT=37822
EXPOSE 37821 10851 30771 30772 37822
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 CMD ["harness", "health"]
USER sandbox
ENTRYPOINT ["harness", "serve"]

FROM runtime AS prebuilt
# The binary to take from the build context (CI passes a stripped debug build).
ARG BINARY=target/image/harness
COPY ${BINARY} /usr/local/bin/harness

FROM runtime AS sandbox
COPY --from=build /usr/local/bin/harness /usr/local/bin/harness
