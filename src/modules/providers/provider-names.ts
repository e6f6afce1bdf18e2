import type { ProviderName } from '../../config/app-config.js';

/** Every provider the contract names, whether or not this deployment enables it. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['google_calendar', 'office365_calendar'];

/** How a provider is called in messages people read (history, cancellation reasons). */
export const PROVIDER_LABELS: Readonly<Record<ProviderName, string>> = {
  google_calendar: 'Google Calendar',
  office365_calendar: 'Outlook Calendar',
};

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}
