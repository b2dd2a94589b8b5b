// CPUID and boot MSRs built from this host's KVM_GET_SUPPORTED_CPUID, checked field by field, then handed
// to every accelerator on fresh vCPUs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EmuAccelerator } from "../src/accel/emu/emu_accelerator.js";
import { Kvm } from "../src/accel/kvm/system.js";
import { openAccelerator } from "../src/accel/open.js";
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../src/arch/x86/cpu_state.js";
import { buildCpuid, CPU_FEATURES, type CpuModel, type FeatureBit, parseCpuModel } from "../src/arch/x86/cpuid.js";
import { bootMsrs, IA32_MISC_ENABLE, IA32_MTRR_DEF_TYPE, IA32_SYSENTER_CS } from "../src/arch/x86/msrs.js";
import { UserError } from "../src/errors.js";
import { accelerators, needsKvm } from "./helpers/kvm.js";
import { runCli } from "./helpers/run.js";

const HOST: CpuModel = { base: "host", overrides: [] };

function supportedCpuid(): CpuidEntry[] {
  const kvm = Kvm.open();
  try {
    return kvm.supportedCpuid();
  } finally {
    kvm.close();
  }
}

function entry(entries: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry {
  const e = entries.find(
    (x) => x.function === leaf && ((x.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || x.index === subleaf),
  );
  assert.ok(e, `CPUID leaf 0x${leaf.toString(16)} subleaf ${subleaf} missing`);
  return e;
}

function has(entries: readonly CpuidEntry[], name: string): boolean {
  const f = CPU_FEATURES.get(name) as FeatureBit;
  const e = entries.find(
    (x) => x.function === f.leaf && ((x.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || x.index === f.subleaf),
  );
  return e !== undefined && ((e[f.register] >>> f.bit) & 1) === 1;
}

function isAmd(entries: readonly CpuidEntry[]): boolean {
  const e = entry(entries, 0);
  const vendor = Buffer.from(new Uint32Array([e.ebx, e.edx, e.ecx]).buffer).toString("latin1");
  return vendor === "AuthenticAMD" || vendor === "HygonGenuine";
}

/** The first of `preferred`, else any table feature, for which `wanted(name)` holds. */
function pickFeature(wanted: (name: string) => boolean, preferred: string[]): string {
  const name = [...preferred, ...CPU_FEATURES.keys()].find((n) => n !== "hypervisor" && n !== "ht" && wanted(n));
  assert.ok(name, "no feature fits");
  return name;
}

test("each vCPU sees its own APIC ID in leaf 1, leaf 0xB and the AMD topology leaves [kvm]", (t) => {
  if (!needsKvm(t)) return;
  const supported = supportedCpuid();
  const count = 4;
  for (let id = 0; id < count; id++) {
    const cpuid = buildCpuid(supported, { id, count }, HOST);
    const leaf1 = entry(cpuid, 0x1);
    assert.equal(leaf1.ebx >>> 24, id, "leaf 1 EBX[31:24] initial APIC ID");
    assert.equal((leaf1.ebx >>> 16) & 0xff, 4, "leaf 1 EBX[23:16] addressable IDs");
    assert.equal((leaf1.ebx >>> 8) & 0xff, (entry(supported, 0x1).ebx >>> 8) & 0xff, "CLFLUSH size kept");
    assert.ok(has(cpuid, "ht"), "HTT with 4 vCPUs");

    const smt = entry(cpuid, 0xb, 0);
    const core = entry(cpuid, 0xb, 1);
    const end = entry(cpuid, 0xb, 2);
    for (const level of [smt, core, end]) {
      assert.equal(level.edx, id, "leaf 0xB EDX x2APIC ID");
      assert.equal(level.flags & CPUID_FLAG_SIGNIFICANT_INDEX, CPUID_FLAG_SIGNIFICANT_INDEX);
    }
    assert.deepEqual([smt.eax & 0x1f, smt.ebx & 0xffff, smt.ecx & 0xffff], [0, 1, 0x100], "SMT level");
    assert.deepEqual([core.eax & 0x1f, core.ebx & 0xffff, core.ecx & 0xffff], [2, 4, 0x201], "core level");
    assert.equal((end.ecx >>> 8) & 0xff, 0, "invalid level ends the enumeration");

    if (isAmd(supported)) {
      assert.equal(entry(cpuid, 0x8000_0008).ecx & 0xff, count - 1, "0x8000_0008 ECX NC");
      assert.equal((entry(cpuid, 0x8000_0008).ecx >>> 12) & 0xf, 2, "0x8000_0008 ECX ApicIdSize");
      if (supported.some((e) => e.function === 0x8000_001e)) {
        assert.equal(entry(cpuid, 0x8000_001e).eax, id, "0x8000_001E extended APIC ID");
      }
    }
  }
  const single = entry(buildCpuid(supported, { id: 0, count: 1 }, HOST), 0x1);
  assert.equal((single.edx >>> 28) & 1, 0, "no HTT with one vCPU");
});

test("the hypervisor bit is set and KVM's own hypervisor leaves pass through [kvm]", (t) => {
  if (!needsKvm(t)) return;
  const supported = supportedCpuid();
  for (const base of ["host", "baseline"] as const) {
    const cpuid = buildCpuid(supported, { id: 0, count: 1 }, { base, overrides: [] });
    assert.ok(has(cpuid, "hypervisor"), `${base}: CPUID.1:ECX.HYPERVISOR`);
    const hv = entry(cpuid, 0x4000_0000);
    const signature = Buffer.from(new Uint32Array([hv.ebx, hv.ecx, hv.edx]).buffer).toString("latin1");
    assert.equal(signature, "KVMKVMKVM\0\0\0");
    assert.deepEqual(entry(cpuid, 0x4000_0001), entry(supported, 0x4000_0001));
  }
});

test("-feature clears a bit the host offers; +feature of one it lacks is refused [kvm]", (t) => {
  if (!needsKvm(t)) return;
  const supported = supportedCpuid();
  const present = pickFeature((n) => has(supported, n), ["avx2", "avx", "x2apic"]);
  assert.ok(has(buildCpuid(supported, { id: 0, count: 1 }, HOST), present));
  for (const spec of [`host,-${present}`, `host,${present}=off`, `host,+${present},-${present}`]) {
    const cpuid = buildCpuid(supported, { id: 0, count: 1 }, parseCpuModel(spec));
    assert.equal(has(cpuid, present), false, spec);
  }

  const absent = pickFeature((n) => !has(supported, n), ["avx2", "avx512f", "sha-ni"]);
  assert.throws(
    () => buildCpuid(supported, { id: 0, count: 1 }, parseCpuModel(`host,+${absent}`)),
    (e: unknown) => e instanceof UserError && e.message === `--cpu: this host's KVM cannot offer "${absent}"`,
  );
});

test("parseCpuModel reads QEMU-style models and names the bad word", () => {
  assert.deepEqual(parseCpuModel("host"), HOST);
  assert.deepEqual(parseCpuModel("baseline,-avx2,+x2apic,sse4_1=on,SSE3=off,tsc_deadline"), {
    base: "baseline",
    overrides: [
      { feature: "avx2", enabled: false },
      { feature: "x2apic", enabled: true },
      { feature: "sse4.1", enabled: true },
      { feature: "pni", enabled: false },
      { feature: "tsc-deadline", enabled: true },
    ],
  });
  assert.deepEqual(parseCpuModel("max,+x2apic"), { base: "max", overrides: [{ feature: "x2apic", enabled: true }] });
  // Features alone leave the base to the accelerator (host under KVM, max under the emulator).
  assert.deepEqual(parseCpuModel("-lahf_lm"), { overrides: [{ feature: "lahf-lm", enabled: false }] });
  const cases: [string, string][] = [
    ["host,+avx3", `--cpu: unknown CPU feature "avx3"`],
    ["host,-avx2,nonsense=on", `--cpu: unknown CPU feature "nonsense"`],
    ["pentium,+avx2", `--cpu: unknown CPU model "pentium" (expected host, max, baseline)`],
    ["host,avx2=maybe", `--cpu: bad value "maybe" for "avx2" (expected on or off)`],
    ["host,,+avx2", `--cpu: empty feature in "host,,+avx2"`],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parseCpuModel(spec),
      (e: unknown) => e instanceof UserError && e.message === message,
      spec,
    );
  }
});

test("baseline keeps only the x86-64 baseline features [kvm]", (t) => {
  if (!needsKvm(t)) return;
  const supported = supportedCpuid();
  const cpuid = buildCpuid(supported, { id: 0, count: 1 }, parseCpuModel("baseline"));
  for (const name of ["fpu", "cx8", "cmov", "fxsr", "sse", "sse2", "syscall", "nx", "lm"]) {
    assert.equal(has(cpuid, name), has(supported, name), `baseline keeps ${name}`);
  }
  for (const name of ["avx", "avx2", "cx16", "x2apic", "sse4.2", "lahf-lm", "fsgsbase", "invtsc"]) {
    assert.equal(has(cpuid, name), false, `baseline drops ${name}`);
  }
  const leaf7 = entry(cpuid, 0x7, 0);
  assert.deepEqual([leaf7.ebx, leaf7.ecx, leaf7.edx], [0, 0, 0], "nothing from leaf 7");

  const extra = pickFeature((n) => has(supported, n) && !has(cpuid, n), ["x2apic", "cx16", "avx"]);
  assert.ok(has(buildCpuid(supported, { id: 0, count: 1 }, parseCpuModel(`baseline,+${extra}`)), extra));
});

for (const accel of accelerators()) {
  test(`the accelerator accepts the CPUID of every vCPU and the boot MSRs [${accel}]`, () => {
    const accelerator = openAccelerator(accel);
    const memory = accelerator.createMemory([{ gpa: 0, size: 0x10000 }]);
    const vm = accelerator.createVm(memory, { irqchip: false });
    try {
      const supported = accelerator.supportedCpuid();
      const first: CpuModel = accel === "kvm" ? HOST : { base: "max", overrides: [] };
      const count = 4;
      for (let id = 0; id < count; id++) {
        const vcpu = vm.createVcpu(id);
        vcpu.setCpuid(buildCpuid(supported, { id, count }, id % 2 === 0 ? first : parseCpuModel("baseline")));
        vcpu.setMsrs(bootMsrs());
        const read = new Map(
          vcpu.getMsrs([IA32_SYSENTER_CS, IA32_MISC_ENABLE, IA32_MTRR_DEF_TYPE]).map((m) => [m.index, m.data]),
        );
        assert.equal(read.get(IA32_SYSENTER_CS), 0n);
        assert.equal((read.get(IA32_MISC_ENABLE) ?? 0n) & 1n, 1n, "fast strings");
        assert.equal(read.get(IA32_MTRR_DEF_TYPE), 0x806n, "MTRRs on, default write-back");
      }
    } finally {
      vm.close();
      memory.close();
      accelerator.close();
    }
  });
}

test("a feature the emulator's CPU model lacks is refused, naming the emulator [emu]", () => {
  const supported = new EmuAccelerator().supportedCpuid();
  const absent = pickFeature((n) => !has(supported, n), ["avx512f", "avx2", "sha-ni"]);
  const r = runCli(["--accel", "emu", "--cpu", `+${absent}`]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `tsvmm: --cpu: the emulator cannot offer "${absent}"\n`);
});
