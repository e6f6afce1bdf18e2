import { Query } from '@nestjs/cqrs';

export interface BusyTimes {
  source: 'cache' | 'live' | 'mixed';
  busy: Array<{ start: string; end: string }>;
}

export class GetBusyTimesQuery extends Query<BusyTimes> {
  constructor(
    readonly userId: number,
    readonly start: Date,
    readonly end: Date,
  ) {
    super();
  }
}
