import { Injectable, NotFoundException } from '@nestjs/common';
import type { ProviderName } from '../../config/app-config.js';
import { CalendarProvider, CalendarProviders } from './calendar-provider.port.js';
import { GoogleCalendarProvider } from './google/google-calendar.provider.js';

@Injectable()
export class CalendarProvidersRegistry extends CalendarProviders {
  private readonly byName: Map<ProviderName, CalendarProvider>;

  constructor(google: GoogleCalendarProvider) {
    super();
    this.byName = new Map<ProviderName, CalendarProvider>([[google.name, google]]);
  }

  get(name: ProviderName): CalendarProvider {
    const provider = this.byName.get(name);
    if (!provider) throw new NotFoundException(`Provider "${name}" is not available in this deployment`);
    return provider;
  }

  has(name: ProviderName): boolean {
    return this.byName.has(name);
  }
}
