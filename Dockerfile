# Jacket's container image (see README "Deploying Jacket"): docker build -t jacket . && docker run -p 8080:8080 -v jacket-data:/data jacket
# Building needs nothing from the network but the npm registry: better-sqlite3 and sharp ship prebuilt addons for
# linux x64/arm64 (glibc), so nothing is compiled. On a platform without a prebuilt better-sqlite3,
# scripts/postinstall.mjs builds it against the base image's Node headers (/usr/local/include/node); add
# `RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++` to the build stage for that.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/postinstall.mjs scripts/postinstall.mjs
# Production dependencies only: the `node` devDependency (a second Node 24 for npm scripts) is left out, since the
# base image's Node 24 runs Jacket. Install scripts of dependencies stay off (none is needed); Jacket's own
# postinstall then checks that better-sqlite3 loads in this Node, and sharp is loaded once to prove it works.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm_config_omit=dev node scripts/postinstall.mjs \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require('sharp')" \
 && rm -rf node_modules/.cache node_modules/.package-lock.json
COPY bin bin
COPY src src

FROM ${NODE_IMAGE}
# The sources, read-only to the server (owned by root); Node 24 runs the TypeScript directly (type stripping).
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/bin bin
COPY --from=build /app/src src
# The data (catalogue and images of the embedded default) live in the volume, written by the unprivileged `node`
# user of the base image.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
# Settings: README "Settings". JACKET_SHUTDOWN_TIMEOUT stays under `docker stop`'s default 10 s grace period, so a
# stop always lets the requests in flight finish; raise both together (docker stop -t, compose stop_grace_period).
ENV NODE_ENV=production \
    JACKET_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080 \
    JACKET_SHUTDOWN_TIMEOUT=8
EXPOSE 8080
USER node
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# The server itself is the container's main process (no npm, no shell in between), so `docker stop`'s SIGTERM
# reaches it.
CMD ["node", "src/main.ts", "serve"]
