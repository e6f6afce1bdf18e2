import { Module } from '@nestjs/common';
import { CalendarProviders } from './calendar-provider.port.js';
import { CalendarProvidersRegistry } from './calendar-providers.registry.js';
import { GoogleCalendarProvider } from './google/google-calendar.provider.js';
import { MicrosoftCalendarProvider } from './microsoft/microsoft-calendar.provider.js';

@Module({
  providers: [
    GoogleCalendarProvider,
    MicrosoftCalendarProvider,
    { provide: CalendarProviders, useClass: CalendarProvidersRegistry },
  ],
  exports: [CalendarProviders],
})
export class ProvidersModule {}
