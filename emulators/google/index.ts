export { GoogleCalendarEmulator, type CalendarInfo } from './google-calendar.emulator.js';
export type { EmulatorSnapshot } from './snapshot.js';
export type { GoogleFaults } from './faults.js';
export type {
  BusyInterval,
  CallRecord,
  ChannelInfo,
  EmulatorOptions,
  EventInput,
  EventTime,
  GoogleAttendee,
  GoogleEvent,
  OperationName,
  PushLogEntry,
  PushState,
} from './types.js';
