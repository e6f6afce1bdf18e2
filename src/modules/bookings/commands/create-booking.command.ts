import { Command } from '@nestjs/cqrs';
import type { BookingView } from '../booking-view.js';

export class CreateBookingCommand extends Command<BookingView> {
  constructor(
    readonly input: {
      userId: number;
      title: string;
      description?: string | null;
      location?: string | null;
      startTime: Date;
      endTime: Date;
      attendees: Array<{ email: string; name?: string | null }>;
    },
  ) {
    super();
  }
}
