# syntax=docker/dockerfile:1
# cdc-cache-proxy: build with dev dependencies, run with production dependencies only, as a
# non-root user. The image also carries the example helpdesk API (dist/examples) so that
# docker-compose.yml and deploy/kubernetes can run the whole demo from one image.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; we build below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json tsconfig.examples.json ./
COPY src ./src
COPY examples ./examples
COPY scripts ./scripts
RUN npm run build && npx tsc -p tsconfig.examples.json

FROM node:20-slim AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    LISTEN_HOST=0.0.0.0 \
    ADMIN_HOST=0.0.0.0
WORKDIR /app
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Read at run time: the API's schema (found by walking up from dist/examples/helpdesk-api)
# and the default config, which ops replace by mounting their own file over it.
COPY examples/helpdesk-api/schema.sql ./examples/helpdesk-api/schema.sql
COPY config/helpdesk.yaml /etc/cdc-cache-proxy/config.yaml
# The `node` user (uid 1000) of the official image; nothing in /app is writable by it.
USER node
EXPOSE 8080 9091
# node:20-slim has no curl; Node's fetch checks the admin port's liveness endpoint.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_PORT || 9091) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start", "--config", "/etc/cdc-cache-proxy/config.yaml"]
