import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, type ProviderName } from '../../config/app-config.js';
import { CalendarProvider, CalendarProviders } from './calendar-provider.port.js';
import { GoogleCalendarProvider } from './google/google-calendar.provider.js';
import { MicrosoftCalendarProvider } from './microsoft/microsoft-calendar.provider.js';

/** The providers this deployment has credentials (or a sandbox) for. */
@Injectable()
export class CalendarProvidersRegistry extends CalendarProviders {
  private readonly byName: Map<ProviderName, CalendarProvider>;

  constructor(google: GoogleCalendarProvider, microsoft: MicrosoftCalendarProvider, @Inject(APP_CONFIG) config: AppConfig) {
    super();
    // A provider without its OAuth client (and no sandbox standing in for it) is left out, Google
    // as Outlook: its calendars' syncs fail with "not available" rather than call the real API with
    // tokens nothing can refresh, and its webhook route answers 404.
    this.byName = new Map<ProviderName, CalendarProvider>();
    if (config.google.enabled) this.byName.set(google.name, google);
    if (config.microsoft.enabled) this.byName.set(microsoft.name, microsoft);
  }

  get(name: ProviderName): CalendarProvider {
    const provider = this.byName.get(name);
    if (!provider) throw new NotFoundException(`Provider "${name}" is not available in this deployment`);
    return provider;
  }

  has(name: ProviderName): boolean {
    return this.byName.has(name);
  }

  all(): CalendarProvider[] {
    return [...this.byName.values()];
  }
}
