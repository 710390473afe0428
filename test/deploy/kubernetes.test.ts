import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import YAML from 'yaml';
import { RUNNER_ENV_VARS } from '../../main/runner/config/loadConfig.ts';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { REPO } from '../helpers/runnerHarness.ts';
import { parseDockerfile } from './dockerfile.ts';

/**
 * deploy/kubernetes against the Kubernetes schemas (kubernetes-models validates each object as the
 * API server's OpenAPI schema would), and against the image and the runner it deploys: ports,
 * paths, the user, the variables it sets, and the stop budget.
 */

const DIR = join(REPO, 'deploy', 'kubernetes');
type Doc = { kind: string; apiVersion: string; [key: string]: unknown };

function docsOf(text: string): Doc[] {
  return YAML.parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, [], 'valid YAML');
    return d.toJS() as Doc;
  });
}

/** The model of `doc`, validated against its Kubernetes schema (throws naming the bad field). */
function validated(doc: Doc): Namespace | Service | StatefulSet {
  const Model = { Namespace, Service, StatefulSet }[doc.kind];
  assert.ok(Model, `a model for ${doc.kind}`);
  const model = new Model(doc as never);
  model.validate();
  return model;
}

const kustomization = YAML.parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace: string };
const docs = kustomization.resources.flatMap((file) => docsOf(readFileSync(join(DIR, file), 'utf8')));
const byKind = (kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, kind);
  return found[0]!;
};
const statefulSet = validated(byKind('StatefulSet')) as StatefulSet;
const service = validated(byKind('Service')) as Service;
const pod = statefulSet.spec!.template.spec!;
const container = pod.containers[0]!;
const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));

test('every manifest is a valid Kubernetes object, and the kustomization lists them all', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort());
  for (const doc of docs) validated(doc);
  assert.equal(byKind('Namespace').metadata && (byKind('Namespace').metadata as { name: string }).name, kustomization.namespace);
  // The validation is real: a wrong type is refused.
  const broken = structuredClone(byKind('StatefulSet'));
  (broken.spec as { replicas: unknown }).replicas = 'two';
  assert.throws(() => validated(broken), /replicas/);
});

test('`kubectl kustomize` renders the fleet, and what it renders validates', (t) => {
  const kubectl = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
  if (kubectl.error) {
    t.skip('kubectl is not installed here');
    return;
  }
  assert.equal(kubectl.status, 0, kubectl.stderr);
  const rendered = docsOf(kubectl.stdout);
  assert.deepEqual(rendered.map((d) => d.kind).sort(), ['Namespace', 'Service', 'StatefulSet']);
  for (const doc of rendered) {
    validated(doc);
    if (doc.kind !== 'Namespace') assert.equal((doc.metadata as { namespace: string }).namespace, 'sibyl-runner');
  }
});

test('the StatefulSet runs one runner identity per pod: its own volume at the runner’s HOME, its name from the pod', () => {
  assert.equal(statefulSet.spec!.serviceName, service.metadata!.name);
  const labels = statefulSet.spec!.template.metadata!.labels!;
  for (const [k, v] of Object.entries(statefulSet.spec!.selector.matchLabels!)) assert.equal(labels[k], v);
  for (const [k, v] of Object.entries(service.spec!.selector!)) assert.equal(labels[k], v, 'the service selects the pods');
  const claim = statefulSet.spec!.volumeClaimTemplates![0]!;
  const home = /HOME=(\S+)/.exec(dockerfile.find((i) => i.cmd === 'ENV')!.args)![1];
  const data = container.volumeMounts!.find((m) => m.name === claim.metadata!.name)!;
  assert.equal(data.mountPath, home, "the claim is mounted at the image's HOME, where config, state and worktrees live");
  assert.deepEqual(claim.spec!.accessModes, ['ReadWriteOnce']);
  const name = container.env!.find((e) => e.name === 'SIBYL_RUNNER_NAME')!;
  assert.equal(name.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
  // Not root, as the image: the uid of its USER.
  const uid = Number(dockerfile.find((i) => i.cmd === 'USER')!.args.split(':')[0]);
  assert.equal(pod.securityContext!.runAsUser, uid);
  assert.equal(pod.securityContext!.runAsNonRoot, true);
  assert.equal(container.securityContext!.allowPrivilegeEscalation, false);
});

test('the token comes from a Secret and every variable set is one the runner or its entry point reads', () => {
  const entrypoint = readFileSync(join(REPO, 'deploy/container/entrypoint.sh'), 'utf8');
  const known = (name: string): boolean => RUNNER_ENV_VARS.includes(name) || new RegExp(`\\$\\{?${name}\\b`).test(entrypoint);
  for (const e of container.env!) if (e.name.startsWith('SIBYL_')) assert.ok(known(e.name), `${e.name} is read by someone`);
  const token = container.env!.find((e) => e.name === 'SIBYL_REGISTRATION_TOKEN')!;
  assert.ok(token.valueFrom?.secretKeyRef?.name, 'from a Secret');
  assert.equal(token.value, undefined, 'never inline');
  const seed = container.env!.find((e) => e.name === 'SIBYL_CREDENTIALS_SEED')!.value;
  const logins = container.volumeMounts!.find((m) => m.mountPath === seed)!;
  assert.equal(logins.readOnly, true);
  assert.ok(pod.volumes!.find((v) => v.name === logins.name)?.secret?.secretName, 'the logins are a Secret');
  // The same check for the compose example.
  const compose = YAML.parse(readFileSync(join(REPO, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { environment: Record<string, string> }>;
  };
  for (const name of Object.keys(compose.services.runner!.environment))
    if (name.startsWith('SIBYL_')) assert.ok(known(name), `compose.yaml: ${name} is read by someone`);
});

test('probes: readiness on /readyz, liveness on /healthz, on the port the runner listens on', () => {
  const port = container.ports!.find((p) => p.name === 'metrics')!;
  const listen = container.env!.find((e) => e.name === 'SIBYL_METRICS_LISTEN')!.value!;
  assert.equal(listen, `0.0.0.0:${port.containerPort}`);
  assert.equal(
    container.env!.find((e) => e.name === 'SIBYL_METRICS_ALLOW_REMOTE')!.value,
    'true',
    'the kubelet probes from outside the pod',
  );
  assert.deepEqual(
    dockerfile.filter((i) => i.cmd === 'EXPOSE').map((i) => Number(i.args)),
    [port.containerPort],
  );
  assert.equal(container.readinessProbe!.httpGet!.path, '/readyz');
  assert.equal(container.livenessProbe!.httpGet!.path, '/healthz');
  assert.equal(container.startupProbe!.httpGet!.path, '/healthz');
  for (const probe of [container.readinessProbe!, container.livenessProbe!, container.startupProbe!])
    assert.equal(probe.httpGet!.port, 'metrics');
  const servicePort = service.spec!.ports!.find((p) => p.name === 'metrics')!;
  assert.equal(servicePort.targetPort, 'metrics');
  assert.equal(service.spec!.clusterIP, 'None', 'headless: one scrape target per pod');
});

test('stopping a pod: the preStop hook’s wait, then drain_timeout, fit in terminationGracePeriodSeconds', () => {
  const command = container.lifecycle!.preStop!.exec!.command!;
  assert.equal(command[0], 'node');
  assert.equal(command[1], '/usr/local/lib/sibyl-runner/prestop.mjs', "the hook is the image's deploy/container/prestop.mjs");
  const budget = Number(command[2]);
  const drain = defaultConfig('/var/sibyl').drain_timeout;
  const grace = pod.terminationGracePeriodSeconds!;
  // 15 s for what follows the drain: results flushed (the daemon waits up to 3 s), stores closed, exit.
  assert.ok(budget > 0 && budget + drain + 15 <= grace, `${budget} + ${drain} + 15 ≤ ${grace}`);
  assert.equal(budget + drain + 15, grace, 'and use all of it');
});
