# syntax=docker/dockerfile:1
# One image recipe for every service (and the console); the service is a build argument.
# Build from the repository root:
#   docker build -f infra/docker/service.Dockerfile --build-arg SERVICE=order-service -t comms/order-service .
# docker-compose.yml, the Copilot manifests and the CDK app build it the same way.
ARG NODE_VERSION=24

# 1. Only the workspaces the service needs (turbo prune), so the build context
#    of later stages stays small and their layers cache well.
FROM node:${NODE_VERSION}-bookworm-slim AS prune
ARG SERVICE
RUN test -n "${SERVICE}" || { echo 'pass --build-arg SERVICE=<user-service|order-service|notification-service|console>' >&2; exit 1; }
WORKDIR /repo
COPY . .
RUN npx --yes turbo@2.11.9 prune @comms/${SERVICE} --docker

# 2. Install, generate the gRPC code from proto/, build.
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG SERVICE
WORKDIR /repo
COPY --from=prune /repo/out/json/ .
RUN npm ci --no-audit --no-fund
COPY --from=prune /repo/out/full/ .
COPY tsconfig.base.json ./
COPY proto ./proto
RUN npx turbo run build --filter=@comms/${SERVICE}

# 3. Production dependencies only, built code, a non-root user.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG SERVICE
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=prune /repo/out/json/ .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @comms/${SERVICE} \
  && npm cache clean --force
COPY --from=build /repo/packages ./packages
COPY --from=build /repo/apps/${SERVICE}/dist ./apps/${SERVICE}/dist
COPY infra/docker/healthcheck.mjs ./healthcheck.mjs
USER node
# The service's directory, so the exec-form commands below need no variable.
WORKDIR /app/apps/${SERVICE}
# No EXPOSE: the ports are the endpoints table's (packages/endpoints), and
# compose, Copilot and the CDK app publish them from there. The probe asks the
# service's own config which port it listens on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]
CMD ["node", "dist/server.js"]
