# Mailroom's container image: `mailroom smtp` (MX and submission) and `mailroom access` (IMAP
# and POP3), run on AWS Fargate by infra/constructs/mail-services.ts, which sets the command
# of each service. No build step: tsx runs the TypeScript sources, as `npx mailroom` does in a
# clone. The build context is only what is copied below (.dockerignore is an allowlist).

# --- dependencies ------------------------------------------------------------------------
FROM node:22-bookworm-slim AS deps
# better-sqlite3 is a native module (the CLI loads the embedded store's code even on the aws
# backend). npm ci fetches its prebuilt binary for this Node ABI and CPU; where none can be
# had (no network to GitHub, an unusual platform) it compiles from source with these tools.
# Either way the binary is made here, on the same base image the runtime stage uses.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# aws-cdk-lib, constructs and @aws-cdk/* are dependencies for `cdk deploy` from a clone, not
# for anything the containers run (lib/ and functions/ never import them): ~190 MB a Fargate
# task would pull at every start. test/infra/dockerfile.test.ts runs the CLI without them.
RUN npm ci --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/aws-cdk-lib node_modules/constructs node_modules/@aws-cdk \
  && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------
FROM node:22-bookworm-slim
# openssl makes the self-signed STARTTLS certificate when none is configured
# (lib/tls/certificate.ts); without it the container would offer no STARTTLS at all.
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY functions ./functions
COPY lib ./lib
# Nothing on local disk matters (mail and state live in the backend); the data directory
# only holds the self-signed certificate, somewhere the non-root user may write.
ENV MAILROOM_DATA_DIR=/tmp/mailroom
# The image's own `node` user (uid 1000): the listeners are on ports above 1024
# (infra/constructs/mail-services.ts maps 25, 587, 465, 143, 993, 110 and 995 onto them).
USER node
EXPOSE 2525 2587 2465 2143 2993 2110 2995 8080
# The CLI itself is PID 1 (tsx loaded with --import, as test/helpers/dev-process.ts does),
# so SIGTERM from ECS reaches its drain handler. bin/mailroom.js, the `mailroom` command, runs
# the CLI as a child process and would not pass the signal on.
ENTRYPOINT ["node", "--import", "tsx", "lib/cli/main.ts"]
CMD ["--help"]
# No HEALTHCHECK: the load balancer checks GET /health on MAILROOM_HEALTH_PORT (8080).
