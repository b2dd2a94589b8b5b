// QEMU's console escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A; everything else passes through.
// A pure filter over the typed bytes, so that it can be tested without a terminal.
export const CTRL_A = 0x01;
const QUIT = 0x78; // 'x'

export class EscapeFilter {
  private pendingEscape = false;

  /** The bytes to forward to the guest, and whether the user asked to quit. */
  feed(input: Uint8Array): { forward: Uint8Array; quit: boolean } {
    const out: number[] = [];
    for (const byte of input) {
      if (this.pendingEscape) {
        this.pendingEscape = false;
        if (byte === QUIT) return { forward: Uint8Array.from(out), quit: true };
        if (byte === CTRL_A) out.push(CTRL_A);
        // Any other key after Ctrl-A is dropped, as QEMU ignores unknown escape commands.
      } else if (byte === CTRL_A) {
        this.pendingEscape = true;
      } else {
        out.push(byte);
      }
    }
    return { forward: Uint8Array.from(out), quit: false };
  }
}
