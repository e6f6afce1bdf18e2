import { Controller, Get, Header, Headers, HttpStatus, Inject, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { SecretMatcher } from '../../infrastructure/crypto/constant-time.js';
import { ShutdownState } from '../../infrastructure/lifecycle/shutdown-state.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';

interface Reply {
  status(code: number): Reply;
  header(name: string, value: string): Reply;
  send(body: unknown): void;
}

@ApiExcludeController()
@PublicRoute()
@Controller()
export class OperationsController {
  /** `METRICS_AUTH=admin` (the default in production): a scrape needs the admin key. */
  private readonly metricsKey: SecretMatcher | null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.metricsKey = config.metricsAuth === 'admin' ? new SecretMatcher(config.adminApiKey) : null;
  }

  /** Readiness: 503 once the instance is draining, so no new work is sent to it while it stops. */
  @Get('health')
  async health(@Res() reply: Reply): Promise<void> {
    if (this.shutdown.draining) {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE).send({ status: 'draining' });
      return;
    }
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 2000);
      reply.status(HttpStatus.OK).send({ status: 'ok', database: 'up' });
    } catch {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE).send({ status: 'error', database: 'down' });
    }
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (this.metricsKey) {
      const match = /^Bearer\s+(.+)$/i.exec((authorization ?? '').trim());
      if (!match)
        throw new UnauthorizedException(
          'Missing bearer token: /metrics needs "Authorization: Bearer <ADMIN_API_KEY>" (METRICS_AUTH=admin)',
        );
      if (!this.metricsKey.matches(match[1])) throw new UnauthorizedException('Invalid admin API key');
    }
    try {
      // An estimate is enough for a gauge and stays cheap on a large cache.
      const rows: Array<{ estimate: string }> = await this.dataSource.query(
        `SELECT GREATEST(reltuples, 0)::bigint::text AS estimate FROM pg_class WHERE relname = 'CalendarCacheEvent'`,
      );
      this.metrics.cacheRows.set(Number(rows[0]?.estimate ?? 0));
    } catch {
      // The database being down must not break the scrape.
    }
    return this.metrics.registry.metrics();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
