# syntax=docker/dockerfile:1
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway ./gateway
COPY certs/*.ts ./certs/
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    SIPGW_BIND=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The web client is served from the package tree as it is, next to dist/.
COPY gateway/http/client ./gateway/http/client
COPY gateway/prompts/*.wav ./gateway/prompts/
COPY package.json ./
RUN mkdir -p certs/dev && chown -R node:node certs
USER node
EXPOSE 5060/udp 5060/tcp 5061/tcp 8080/tcp
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/bin/sipgw.js"]
