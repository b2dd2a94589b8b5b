// Choosing the accelerator: KVM where /dev/kvm opens, tsvmm's own emulator everywhere else, or what the user
// names. With open_vcpu.ts (its worker-side twin, which imports lazily) the only module outside accel/kvm
// that knows it. Importing accel/kvm loads no native code (koffi loads on the first system call), so a
// process that runs the emulator never loads koffi.
import { closeSync, openSync } from "node:fs";
import { UserError } from "../errors.js";
import type { Accelerator, AccelName } from "./accelerator.js";
import { EmuAccelerator } from "./emu/emu_accelerator.js";
import { KvmAccelerator } from "./kvm/kvm_accelerator.js";
import { syscallsAvailable } from "./kvm/sys.js";
import { DEFAULT_KVM_PATH, KvmUnavailableError } from "./kvm/system.js";

export { KvmUnavailableError };

/** What a user may ask for: "tcg", QEMU's word for its emulator, names tsvmm's. */
export const ACCEL_CHOICES = ["kvm", "emu", "tcg"] as const;
export type AccelChoice = (typeof ACCEL_CHOICES)[number];

/** Throws a UserError unless `text` names an accelerator. */
export function parseAccelChoice(text: string): AccelChoice {
  const choice = ACCEL_CHOICES.find((c) => c === text);
  if (!choice) throw new UserError(`--accel: unknown accelerator "${text}" (expected ${ACCEL_CHOICES.join(", ")})`);
  return choice;
}

/** Whether the KVM device opens for reading and writing (a plain open: nothing native loads). */
function kvmDeviceOpens(path: string): boolean {
  try {
    closeSync(openSync(path, "r+")); // O_RDWR, as KVM needs; Node adds O_CLOEXEC
    return true;
  } catch {
    return false;
  }
}

/**
 * Which accelerator `choice` means on this host, without opening it: the one named, else KVM when a KVM
 * device path was given, or when /dev/kvm opens and koffi loads (checked in that order: without the device,
 * koffi never loads), else the emulator.
 */
export function chooseAccelerator(choice: AccelChoice | undefined, kvmPath?: string): AccelName {
  if (choice === "emu" || choice === "tcg") return "emu";
  if (choice === "kvm" || kvmPath !== undefined) return "kvm";
  return kvmDeviceOpens(DEFAULT_KVM_PATH) && syscallsAvailable() ? "kvm" : "emu";
}

/** Opens the accelerator `choice` means (see chooseAccelerator); a KVM that cannot be used is a UserError. */
export function openAccelerator(choice: AccelChoice | undefined, kvmPath?: string): Accelerator {
  return openChosenAccelerator(chooseAccelerator(choice, kvmPath), choice, kvmPath);
}

/** Opens `name`, which chooseAccelerator(choice, kvmPath) returned (checks may come between the two). */
export function openChosenAccelerator(name: AccelName, choice: AccelChoice | undefined, kvmPath?: string): Accelerator {
  if (name === "emu") return new EmuAccelerator();
  try {
    return KvmAccelerator.open(kvmPath);
  } catch (e) {
    if (e instanceof KvmUnavailableError && choice === "kvm")
      throw new KvmUnavailableError(`--accel kvm: ${e.message}`);
    throw e;
  }
}
