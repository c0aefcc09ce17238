# syntax=docker/dockerfile:1
# The local token issuer (packages/infra's token-issuer-main.js: oidc-provider,
# the clients of packages/identity) as a container, for docker compose only:
# AWS deployments use Amazon Cognito instead (docs/deploy.md).
# Build from the repository root:
#   docker build -f infra/docker/token-issuer.Dockerfile -t comms/token-issuer .
ARG NODE_VERSION=24

# 1. Only the workspaces packages/infra needs (turbo prune).
FROM node:${NODE_VERSION}-bookworm-slim AS prune
WORKDIR /repo
COPY . .
RUN npx --yes turbo@2.11.9 prune @comms/infra --docker

# 2. Install and build.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /repo
COPY --from=prune /repo/out/json/ .
RUN npm ci --no-audit --no-fund
COPY --from=prune /repo/out/full/ .
COPY tsconfig.base.json ./
COPY proto ./proto
RUN npx turbo run build --filter=@comms/infra

# 3. Production dependencies only, built code, a non-root user. Inside its
#    container the issuer listens on 0.0.0.0 (TOKEN_ISSUER_HOST) so the
#    services' containers reach it; run anywhere else it stays on 127.0.0.1.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production TOKEN_ISSUER_HOST=0.0.0.0
WORKDIR /app
COPY --from=prune /repo/out/json/ .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @comms/infra \
  && npm cache clean --force
COPY --from=build /repo/packages ./packages
USER node
WORKDIR /app/packages/infra
# Healthy once its discovery document answers (what startTokenIssuer waits for too).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.TOKEN_ISSUER_PORT || 8084}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/token-issuer-main.js"]
