export class CredentialInvalidated {
  constructor(
    readonly credentialId: number,
    readonly userId: number,
  ) {}
}
