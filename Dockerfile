# Multi-stage build on Debian 12 with the README's own commands; runs as the
# non-root user chainmail with the spool and the delivery log as volumes.
# Mount the configuration at /etc/chainmail (chainmail.yaml, certificates).
#
#   docker build -t chainmail .
#   docker run -d --name chainmail --stop-timeout 45 -p 25:25 \
#       -v /srv/chainmail/etc:/etc/chainmail:ro \
#       -v chainmail-spool:/var/spool/chainmail -v chainmail-log:/var/log/chainmail chainmail
#
# --stop-timeout 45 (compose: stop_grace_period: 45s): on SIGTERM serve lets
# the SMTP transactions in flight finish for up to 30 s; Docker's default of
# 10 s would cut them off. A Dockerfile cannot set this itself.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN .ci/deps.sh build \
    && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCHAINMAIL_TESTS=OFF \
    && cmake --build build -j2 --target chainmail

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libunbound8 libyaml-cpp0.7 libspdlog1.10 libfmt9 libsystemd0 libcrypt1 zlib1g \
      ca-certificates dns-root-data tzdata && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/spool/chainmail --shell /usr/sbin/nologin chainmail \
    && mkdir -p /var/spool/chainmail /var/log/chainmail /etc/chainmail /run/chainmail \
    && chown chainmail:chainmail /var/spool/chainmail /var/log/chainmail /run/chainmail
COPY --from=build /src/build/chainmail /usr/bin/chainmail
COPY config/chainmail.example.yaml /usr/share/doc/chainmail/chainmail.example.yaml
USER chainmail
VOLUME ["/var/spool/chainmail", "/var/log/chainmail"]
EXPOSE 25 587
STOPSIGNAL SIGTERM
# Asks the running server: greeting and NOOP on its first listener.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/usr/bin/chainmail", "health", "--timeout", "5", "-c", "/etc/chainmail/chainmail.yaml"]
ENTRYPOINT ["/usr/bin/chainmail"]
CMD ["serve", "-c", "/etc/chainmail/chainmail.yaml"]
