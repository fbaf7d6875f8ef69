# Multi-stage build: compile on Debian 12, run as a non-root user with the
# spool as a volume. The configuration is mounted at /etc/chainmail.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config libboost-dev libssl-dev libunbound-dev libyaml-cpp-dev \
      libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libsystemd-dev \
      libcrypt-dev zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCHAINMAIL_TESTS=OFF \
    && cmake --build build -j"$(nproc)" --target chainmail

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libunbound8 libyaml-cpp0.7 libspdlog1.10 libfmt9 libsystemd0 libcrypt1 zlib1g \
      ca-certificates dns-root-data && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/spool/chainmail --shell /usr/sbin/nologin chainmail \
    && mkdir -p /var/spool/chainmail /var/log/chainmail /etc/chainmail \
    && chown chainmail:chainmail /var/spool/chainmail /var/log/chainmail
COPY --from=build /src/build/chainmail /usr/bin/chainmail
COPY config/chainmail.example.yaml /usr/share/doc/chainmail/chainmail.example.yaml
USER chainmail
VOLUME ["/var/spool/chainmail"]
EXPOSE 25 587
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/bin/chainmail", "check-config"]
ENTRYPOINT ["/usr/bin/chainmail"]
CMD ["serve", "-c", "/etc/chainmail/chainmail.yaml"]
