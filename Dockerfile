# cohortd in a container: the README's steps, in two stages.
# Build: docker build -t cohortd .   Run: docker run -p 8080:8080 -v cohortd-data:/data cohortd

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY . .
# The same set-up and build as tools/serve (setup-debian also installs Node.js and npm
# and runs npm ci in dashboard/: Chart.js is compiled into the binary).
RUN tools/setup-debian \
 && meson setup build/release --buildtype=release \
 && ninja -C build/release cohortd

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libmicrohttpd12 libjansson4 libsqlite3-0 libpq5 libgsl27 libssl3 zlib1g libreadstat1 \
      libarchive13 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --create-home --uid 10001 cohortd
COPY --from=build /src/build/release/cohortd /usr/local/bin/cohortd
USER cohortd
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENV COHORTD_DB=/data/cohortd.db COHORTD_BIND=0.0.0.0 COHORTD_PORT=8080 COHORTD_DEMO=1
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# A new database starts with the demo cohort (COHORTD_DEMO=0: empty). Every request
# needs a token: make the first with
#   docker exec <container> cohortd token create --role admin --name admin
# Anonymous reads only when asked for: docker run -e COHORTD_ANONYMOUS=reader ...
CMD ["sh", "-c", "[ -e \"$COHORTD_DB\" ] || [ \"$COHORTD_DEMO\" != 1 ] || cohortd demo --db \"$COHORTD_DB\"; exec cohortd serve"]
