# Grimoire: production image. Build: docker build -t grimoire .
# Run:   docker run -p 6789:6789 -v "$PWD/projects:/app/projects" \
#          -e GRIMOIRE_OWNER=admin -e GRIMOIRE_OWNER_PASSWORD='<a long password>' grimoire
# The image binds 0.0.0.0, which needs an owner (SECURITY.md): at the first start
# GRIMOIRE_OWNER and GRIMOIRE_OWNER_PASSWORD make one; later starts keep it in the metadata store.
# Set GRIMOIRE_ALLOWED_HOSTS to the names users reach it by (e.g. grimoire.example.com).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` rather than `npm ci`: the lockfile lacks other platforms' optional native builds.
RUN npm install --no-audit --no-fund
COPY . .
# Bundled after the prune: it rewrites node_modules/.package-lock.json, by which bundles judge the packages they carry.
RUN npx next build && npm prune --omit=dev --no-audit --no-fund && node lib/bundle/fresh-bundle.js

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=6789 \
    GRIMOIRE_PROJECTS=/app/projects
WORKDIR /app
RUN groupadd --system grimoire && useradd --system --gid grimoire --home-dir /app grimoire
COPY --from=build --chown=grimoire:grimoire /app/package.json /app/next.config.js /app/tsconfig.json ./
COPY --from=build --chown=grimoire:grimoire /app/node_modules ./node_modules
COPY --from=build --chown=grimoire:grimoire /app/.next ./.next
COPY --from=build --chown=grimoire:grimoire /app/bin ./bin
COPY --from=build --chown=grimoire:grimoire /app/lib ./lib
COPY --from=build --chown=grimoire:grimoire /app/app ./app
COPY --from=build --chown=grimoire:grimoire /app/components ./components
COPY --from=build --chown=grimoire:grimoire /app/projects ./projects
USER grimoire
EXPOSE 6789
# HOST, PORT, DATABASE_URL, GRIMOIRE_OWNER(_PASSWORD), GRIMOIRE_ALLOWED_HOSTS and
# GRIMOIRE_SECRET_KEY come from the environment.
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||6789)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 
CMD ["node", "bin/grimoire.js", "start"]
