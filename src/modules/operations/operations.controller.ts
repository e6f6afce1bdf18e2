import {
  Controller,
  Get,
  Header,
  Headers,
  HttpStatus,
  Inject,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { HealthCheckService, type HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { PublicRoute } from '../../common/auth/api-auth.decorator.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { SecretMatcher } from '../../infrastructure/crypto/constant-time.js';
import { ShutdownState } from '../../infrastructure/lifecycle/shutdown-state.js';
import { MetricsService } from '../../infrastructure/metrics/metrics.service.js';
import { JobWorker } from '../../infrastructure/queue/job-worker.js';
import { ScrapeGauges } from './scrape-gauges.js';

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
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly worker: JobWorker,
    private readonly gauges: ScrapeGauges,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.metricsKey = config.metricsAuth === 'admin' ? new SecretMatcher(config.adminApiKey) : null;
  }

  /** Liveness: the process answers (an orchestrator restarts it when this stops answering). */
  @Get('health/live')
  async live(@Res() reply: Reply): Promise<void> {
    await this.answer(reply, []);
  }

  /**
   * Readiness: send work here only when the database answers, every migration of this build is
   * applied, the job worker runs, and the instance is not draining (503 from the first moment of a
   * shutdown, so a load balancer stops sending work while in-flight requests and jobs finish).
   * `/health` answers the same, for the probes and scripts that ask it.
   */
  @Get('health/ready')
  async ready(@Res() reply: Reply): Promise<void> {
    await this.answer(reply, [
      () => {
        const check = this.indicators.check('shutdown');
        return this.shutdown.draining ? check.down({ draining: true }) : check.up({ draining: false });
      },
      () =>
        this.indicators
          .check('database')
          .attempt(() => this.dataSource.query('SELECT 1'))
          .withTimeout(2000),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            // One query on the migrations table; false once they are applied.
            if (await this.dataSource.showMigrations()) throw new Error('migrations are pending');
            return { pending: 0 };
          })
          .withTimeout(2000),
      () => {
        const check = this.indicators.check('jobWorker');
        return this.worker.running ? check.up() : check.down({ message: 'the job worker is not running' });
      },
    ]);
  }

  @Get('health')
  async health(@Res() reply: Reply): Promise<void> {
    await this.ready(reply);
  }

  /** terminus answers 503 by throwing; its result is the body either way (not a problem+json). */
  private async answer(reply: Reply, checks: HealthIndicatorFunction[]): Promise<void> {
    try {
      reply.status(HttpStatus.OK).send(await this.checks.check(checks));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(HttpStatus.SERVICE_UNAVAILABLE).send(error.getResponse());
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
    await this.gauges.refresh();
    return this.metrics.registry.metrics();
  }
}
