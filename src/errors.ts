// Errors that are the user's to fix (a bad option, a missing or malformed file, no usable /dev/kvm).
// The CLI prints their message as one line and exits with status 2; anything else is a bug in tsvmm.
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
