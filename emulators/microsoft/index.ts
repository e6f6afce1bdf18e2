export { MicrosoftGraphEmulator } from './microsoft-graph.emulator.js';
export type { MicrosoftFaults } from './faults.js';
export type { EmulatorSnapshot } from './snapshot.js';
export type {
  AccountInfo,
  Attendee,
  CalendarInfo,
  CallRecord,
  ChangeType,
  DateTimeTimeZone,
  EmulatorOptions,
  EventInput,
  EventPatch,
  GraphEvent,
  LifecycleEvent,
  NotificationLogEntry,
  OperationName,
  PatternedRecurrence,
  ShowAs,
  SubscriptionInfo,
} from './types.js';
