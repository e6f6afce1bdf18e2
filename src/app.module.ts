import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ScheduleModule } from '@nestjs/schedule';
import { IdempotencyModule } from './common/idempotency/idempotency.module.js';
import { APP_CONFIG, type AppConfig } from './config/app-config.js';
import { DatabaseModule } from './infrastructure/database/database.module.js';
import { MetricsModule } from './infrastructure/metrics/metrics.module.js';
import { QueueModule } from './infrastructure/queue/queue.module.js';
import { AccountsModule } from './modules/accounts/accounts.module.js';
import { AvailabilityModule } from './modules/availability/availability.module.js';
import { BookingsModule } from './modules/bookings/bookings.module.js';
import { ConnectionsModule } from './modules/connections/connections.module.js';
import { FeatureFlagsModule } from './modules/feature-flags/feature-flags.module.js';
import { SyncPreferencesModule } from './modules/sync-preferences/sync-preferences.module.js';
import { HostEventsModule } from './modules/host-events/host-events.module.js';
import { OperationsModule } from './modules/operations/operations.module.js';
import { SubscriptionsModule } from './modules/subscriptions/subscriptions.module.js';
import { SyncModule } from './modules/sync/sync.module.js';
import { LifecycleModule } from './infrastructure/lifecycle/lifecycle.module.js';

@Global()
@Module({})
class ConfigHolderModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigHolderModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}

export interface AppModuleOptions {
  config: AppConfig;
  databaseUrl: string;
  /**
   * A host team's own Nest modules, loaded beside calsync's ("Extending calsync" in the README;
   * the example is `src/extensions/audit-trail`). None by default: an extension runs only where
   * its team starts calsync with it.
   */
  extensions?: Array<Type<unknown> | DynamicModule>;
}

@Module({})
export class AppModule {
  static forRoot({ config, databaseUrl, extensions = [] }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigHolderModule.forRoot(config),
        CqrsModule.forRoot(),
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot(databaseUrl, { poolSize: config.databasePoolSize }),
        LifecycleModule,
        MetricsModule,
        QueueModule,
        HostEventsModule,
        IdempotencyModule,
        FeatureFlagsModule,
        SyncPreferencesModule,
        AccountsModule,
        ConnectionsModule,
        BookingsModule,
        SyncModule,
        SubscriptionsModule,
        AvailabilityModule,
        OperationsModule,
        ...extensions,
      ],
    };
  }
}
