# syntax=docker/dockerfile:1
# sibyl-runner in a container: `docker build -t sibyl-runner .` from this checkout. Thin on purpose:
# the build and install steps are deploy/container/*.sh, which the tests run (test/deploy/).
# Agent CLIs to install: the versions this runner's presets are tested with (package.json); pass
# --build-arg AGENT_PACKAGES="" for an image that runs only plain commands.
ARG AGENT_PACKAGES="@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0"

FROM node:22-slim AS build
WORKDIR /src
COPY . .
RUN deploy/container/pack.sh /pkg

FROM node:22-slim
ARG AGENT_PACKAGES
COPY deploy/container/ /usr/local/lib/sibyl-runner/
COPY --from=build /pkg/ /tmp/pkg/
RUN AGENT_PACKAGES="$AGENT_PACKAGES" /usr/local/lib/sibyl-runner/install.sh /tmp/pkg/sibyl-runner-*.tgz && rm -rf /tmp/pkg

# Everything the runner keeps — runner.yaml and its login, the journal and history, worktrees,
# repository caches, logs, the agents' own settings — is under HOME: one volume is one runner.
ENV HOME=/var/sibyl \
    SIBYL_METRICS_LISTEN=0.0.0.0:9464 \
    SIBYL_METRICS_ALLOW_REMOTE=true
VOLUME /var/sibyl
WORKDIR /var/sibyl
USER 1000:1000
EXPOSE 9464
# The live state, not the configuration: 200 from /readyz while registered and connected.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/sibyl-runner/healthcheck.mjs"]
STOPSIGNAL SIGTERM
# tini is PID 1: it forwards the stop signal to the runner (which drains) and reaps agents' orphans.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/lib/sibyl-runner/entrypoint.sh"]
CMD ["run"]
