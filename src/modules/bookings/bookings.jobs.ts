import { defineJob } from '../../infrastructure/queue/job-definition.js';
import type { EnqueueOptions } from '../../infrastructure/queue/job-queue.js';

/**
 * The bookings module's durable jobs, declared once here (name, key and options are those queued
 * jobs of earlier versions carry, so they must not change); the handler is `jobs/write-booking.job.ts`.
 */

export interface WriteBookingPayload {
  bookingId: number;
}

/**
 * "Make the host's calendar match booking X": queued in the transaction of every change to the
 * booking, retried with backoff while the provider fails.
 */
export const WRITE_BOOKING_JOB = defineJob<WriteBookingPayload>('write-booking', { jobKeyMode: 'replace', maxAttempts: 30 });

/** One waiting write per booking (a newer change replaces it), in the booking's own queue. */
export function writeBookingJobOptions(bookingId: number): EnqueueOptions {
  return { ...WRITE_BOOKING_JOB.options, jobKey: `write-booking:${bookingId}`, queueName: `booking:${bookingId}` };
}
