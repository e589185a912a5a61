# Images for docker-compose.yml, built from the repository root (the npm workspace needs its lockfile).
#   target exporter: the exporter with the simulator (`cs-exporter start`)
#   target plugin:   copies the built datasource plugin into the volume Grafana loads plugins from
# Node 26, the current LTS line (Node 20 reached end of life in April 2026). The repository itself still
# supports Node >=20 (package.json engines), so this only moves the image, not the code.
FROM node:26-bookworm-slim AS workspace
WORKDIR /src
COPY . .
RUN npm ci --no-fund --no-audit

FROM workspace AS exporter
RUN npm run build -w exporter
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9470
EXPOSE 9470
CMD ["node", "exporter/dist/cli.js", "start"]

FROM workspace AS plugin-build
RUN npm run build -w datasource-plugin

FROM busybox:1.37 AS plugin
COPY --from=plugin-build /src/datasource-plugin/dist /plugin
# Replace, not merge: a rebuilt plugin must not keep files of the previous build.
CMD ["sh", "-c", "rm -rf /out/* && cp -R /plugin/. /out/ && ls /out"]
