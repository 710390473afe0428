#!/usr/bin/env node
// The container's HEALTHCHECK: asks the running runner itself, not its configuration (the original
// image ran `sibyl-runner status`, which only read runner.yaml). GET /readyz on the runner's metrics
// endpoint (SIBYL_METRICS_LISTEN; a wildcard address is reached on loopback): healthy while the
// runner is registered and connected to its server. `healthcheck.mjs /healthz` asks only whether it
// is alive. Exit 0 healthy, 1 not (Docker's contract); the runner's short reason is printed either way.
const path = process.argv[2] ?? '/readyz';
if (path !== '/readyz' && path !== '/healthz') fail(`usage: healthcheck.mjs [/readyz|/healthz], got ${path}`);
const listen = process.env.SIBYL_METRICS_LISTEN ?? '';
const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(listen.trim());
if (!m || m[3] === '0') fail(`SIBYL_METRICS_LISTEN must be the runner's HOST:PORT (got ${JSON.stringify(listen)})`);
const wildcard = { '0.0.0.0': '127.0.0.1', '::': '[::1]' };
const host = wildcard[m[1] ?? m[2]] ?? (m[1] !== undefined ? `[${m[1]}]` : m[2]);
const url = `http://${host}:${m[3]}${path}`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  const body = (await res.text()).slice(0, 500);
  console.log(`${res.status} ${body}`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  fail(`${url}: ${err.name === 'TimeoutError' ? 'no answer within 4 s' : (err.cause?.code ?? err.message)}`);
}

function fail(message) {
  console.log(message);
  process.exit(1);
}
