export class MembershipChanged {
  constructor(
    readonly teamId: number,
    readonly userId: number,
    readonly member: boolean,
  ) {}
}
