// The CPUID table a vCPU sees: the accelerator's supported leaves (KVM_GET_SUPPORTED_CPUID, or the emulator's
// model), or a conservative baseline of them, with this vCPU's APIC ID and the VM's topology written in, the
// accelerator's own hypervisor leaves, and the user's --cpu overrides. Leaf and field names follow the Intel SDM vol. 2A (CPUID) and the AMD APM vol. 3 (appendix E).

import { UserError } from "../../errors.js";
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "./cpu_state.js";

export type CpuidRegister = "eax" | "ebx" | "ecx" | "edx";

/** Where a feature flag lives: CPUID.(EAX=leaf, ECX=subleaf):register[bit]. */
export interface FeatureBit {
  leaf: number;
  subleaf: number;
  register: CpuidRegister;
  bit: number;
}

/**
 * The starting feature sets: `host` is what the host's KVM offers (KVM only), `max` everything the accelerator
 * supports (under KVM the same as host), `baseline` the x86-64 baseline of it.
 */
export const CPU_BASES = ["host", "max", "baseline"] as const;
export type CpuBase = (typeof CPU_BASES)[number];

/** The --cpu value: a starting feature set (the accelerator's default when absent) and the user's changes to it, in order. */
export interface CpuModel {
  base?: CpuBase;
  overrides: { feature: string; enabled: boolean }[];
}

// Leaves.
const LEAF_VENDOR = 0x0;
const LEAF_FEATURES = 0x1;
/** Intel deterministic cache parameters. */
const LEAF_CACHE_PARAMETERS = 0x4;
const LEAF_STRUCTURED_FEATURES = 0x7;
const LEAF_EXTENDED_TOPOLOGY = 0xb;
const LEAF_V2_EXTENDED_TOPOLOGY = 0x1f;
const LEAF_EXT_FEATURES = 0x8000_0001;
const LEAF_ADVANCED_POWER_MANAGEMENT = 0x8000_0007;
/** AMD: address sizes, and in ECX the core count of the package. */
const LEAF_SIZE_IDENTIFIERS = 0x8000_0008;
const LEAF_AMD_CACHE_TOPOLOGY = 0x8000_001d;
const LEAF_AMD_EXTENDED_APIC_ID = 0x8000_001e;

// Leaf 1 EBX fields.
const INITIAL_APIC_ID_SHIFT = 24;
const ADDRESSABLE_IDS_SHIFT = 16;
const LOW_HALF = 0xffff;
const BYTE = 0xff;

// Leaf 0xB / 0x1F: EAX[4:0] shift to the next level, EBX[15:0] processors at this level,
// ECX[7:0] the subleaf, ECX[15:8] the level type, EDX the x2APIC ID.
const LEVEL_TYPE_SHIFT = 8;
const LEVEL_INVALID = 0;
const LEVEL_SMT = 1;
const LEVEL_CORE = 2;

// Cache leaves 4 and 0x8000_001D share EAX[4:0] type (0 = no more caches), EAX[7:5] level and
// EAX[25:14] logical processors sharing the cache - 1; leaf 4 adds EAX[31:26] cores per package - 1.
const CACHE_TYPE_MASK = 0x1f;
const CACHE_LEVEL_SHIFT = 5;
const CACHE_LEVEL_MASK = 0x7;
const CACHE_SHARING_SHIFT = 14;
const CACHE_SHARING_MASK = 0xfff;
const CORES_PER_PACKAGE_SHIFT = 26;
const CORES_PER_PACKAGE_MASK = 0x3f;
/** Caches at this level and below are private to a core; above it they serve the package. */
const LAST_PRIVATE_CACHE_LEVEL = 2;

// 0x8000_0008 ECX: NC[7:0] threads in the package - 1, ApicIdSize[15:12] APIC ID bits for them.
const APIC_ID_SIZE_SHIFT = 12;
const APIC_ID_SIZE_MASK = 0xf;

/** One xAPIC ID byte, 0xff being broadcast. */
const MAX_VCPUS = 255;

const VENDOR_AMD = "AuthenticAMD";
const VENDOR_HYGON = "HygonGenuine";

/** 0x8000_0001 EDX bits that AMD CPUs mirror from leaf 1 EDX (fpu..apic, mtrr..pse36, mmx, fxsr). */
const AMD_LEAF1_ALIASES = 0x0183_f3ff;

function bits(leaf: number, register: CpuidRegister, names: Record<string, number>): [string, FeatureBit][] {
  return Object.entries(names).map(([name, bit]) => [name, { leaf, subleaf: 0, register, bit }]);
}

/** Feature names as QEMU spells them (target/i386/cpu.c feature_word_info), with their bits. */
export const CPU_FEATURES: ReadonlyMap<string, FeatureBit> = new Map([
  ...bits(LEAF_FEATURES, "edx", {
    fpu: 0,
    vme: 1,
    de: 2,
    pse: 3,
    tsc: 4,
    msr: 5,
    pae: 6,
    mce: 7,
    cx8: 8,
    apic: 9,
    sep: 11,
    mtrr: 12,
    pge: 13,
    mca: 14,
    cmov: 15,
    pat: 16,
    pse36: 17,
    clflush: 19,
    mmx: 23,
    fxsr: 24,
    sse: 25,
    sse2: 26,
    ss: 27,
    ht: 28,
  }),
  ...bits(LEAF_FEATURES, "ecx", {
    pni: 0,
    pclmulqdq: 1,
    ssse3: 9,
    fma: 12,
    cx16: 13,
    pcid: 17,
    "sse4.1": 19,
    "sse4.2": 20,
    x2apic: 21,
    movbe: 22,
    popcnt: 23,
    "tsc-deadline": 24,
    aes: 25,
    xsave: 26,
    avx: 28,
    f16c: 29,
    rdrand: 30,
    hypervisor: 31,
  }),
  ...bits(LEAF_STRUCTURED_FEATURES, "ebx", {
    fsgsbase: 0,
    "tsc-adjust": 1,
    bmi1: 3,
    avx2: 5,
    smep: 7,
    bmi2: 8,
    erms: 9,
    invpcid: 10,
    avx512f: 16,
    avx512dq: 17,
    rdseed: 18,
    adx: 19,
    smap: 20,
    clflushopt: 23,
    clwb: 24,
    avx512cd: 28,
    "sha-ni": 29,
    avx512bw: 30,
    avx512vl: 31,
  }),
  ...bits(LEAF_STRUCTURED_FEATURES, "ecx", { umip: 2, pku: 3, rdpid: 22 }),
  ...bits(LEAF_EXT_FEATURES, "ecx", { "lahf-lm": 0, "cmp-legacy": 1, abm: 5, sse4a: 6, topoext: 22 }),
  ...bits(LEAF_EXT_FEATURES, "edx", { syscall: 11, nx: 20, pdpe1gb: 26, rdtscp: 27, lm: 29 }),
  ...bits(LEAF_ADVANCED_POWER_MANAGEMENT, "edx", { invtsc: 8 }),
]);

/** Other spellings QEMU accepts (after "_" becomes "-"). */
const FEATURE_ALIASES: Readonly<Record<string, string>> = {
  sse3: "pni",
  "sse4-1": "sse4.1",
  "sse4-2": "sse4.2",
};

/** Bits tsvmm itself sets during normalization, so they may be requested without KVM listing them. */
const SYNTHESIZED_FEATURES = new Set(["hypervisor", "ht"]);

/**
 * The baseline model: the x86-64 psABI baseline (x86-64-v1) plus the system features every x86-64 CPU has.
 * Left out on purpose: cx16, lahf-lm, popcnt, sse3 and up (x86-64-v2), and everything in leaf 7.
 */
const BASELINE_FEATURES = [
  ..."fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2".split(" "),
  "syscall",
  "nx",
  "lm",
];

/** The canonical name of a feature, or undefined when tsvmm does not know it. */
export function canonicalFeature(name: string): string | undefined {
  const dashed = name.toLowerCase().replaceAll("_", "-");
  const canonical = FEATURE_ALIASES[dashed] ?? dashed;
  return CPU_FEATURES.has(canonical) ? canonical : undefined;
}

/** Parses --cpu: `host`, `max` or `baseline`, then `+feat`, `-feat`, `feat=on|off` or `feat`, comma-separated. */
export function parseCpuModel(spec: string): CpuModel {
  const parts = spec.split(",");
  const model: CpuModel = { overrides: [] };
  const first = parts[0]?.trim() ?? "";
  if (/^[+-]/.test(first) || first.includes("=")) {
    // Features alone change the default model.
  } else {
    const base = CPU_BASES.find((b) => b === first.toLowerCase());
    if (!base) throw new UserError(`--cpu: unknown CPU model "${first}" (expected ${CPU_BASES.join(", ")})`);
    model.base = base;
    parts.shift();
  }
  for (const raw of parts) {
    const part = raw.trim();
    if (part === "") throw new UserError(`--cpu: empty feature in "${spec}"`);
    model.overrides.push(parseOverride(part));
  }
  return model;
}

function parseOverride(part: string): CpuModel["overrides"][number] {
  let name = part;
  let enabled = true;
  if (part.startsWith("+") || part.startsWith("-")) {
    name = part.slice(1);
    enabled = part.startsWith("+");
  } else if (part.includes("=")) {
    const at = part.indexOf("=");
    name = part.slice(0, at);
    const value = part.slice(at + 1).toLowerCase();
    if (value !== "on" && value !== "off") {
      throw new UserError(`--cpu: bad value "${part.slice(at + 1)}" for "${name}" (expected on or off)`);
    }
    enabled = value === "on";
  }
  const feature = canonicalFeature(name);
  if (!feature) throw new UserError(`--cpu: unknown CPU feature "${name}"`);
  return { feature, enabled };
}

/**
 * The CPUID entries for vCPU `vcpu.id` of `vcpu.count`: one thread per core, all cores in one package,
 * APIC ID = vCPU id. Throws UserError when an override asks for a feature `supported` lacks, naming
 * `provider` (who supports them) in the message. `host` and `max` (and no base) keep all of `supported`.
 */
export function buildCpuid(
  supported: readonly CpuidEntry[],
  vcpu: { id: number; count: number },
  model: CpuModel,
  provider = "this host's KVM",
): CpuidEntry[] {
  const { id, count } = vcpu;
  if (!Number.isInteger(count) || count < 1 || count > MAX_VCPUS) {
    throw new RangeError(`vCPU count ${count} outside 1..${MAX_VCPUS}`);
  }
  if (!Number.isInteger(id) || id < 0 || id >= count) throw new RangeError(`vCPU id ${id} outside 0..${count - 1}`);

  let entries = supported.map((e) => ({ ...e }));
  if (model.base === "baseline") keepBaseline(entries);
  const topology = { id, count, coreBits: bitsFor(count) };
  setFeatureInformation(entries, topology);
  for (const leaf of [LEAF_EXTENDED_TOPOLOGY, LEAF_V2_EXTENDED_TOPOLOGY]) {
    entries = setExtendedTopology(entries, leaf, topology);
  }
  setCacheSharing(entries, LEAF_CACHE_PARAMETERS, topology);
  setCacheSharing(entries, LEAF_AMD_CACHE_TOPOLOGY, topology);
  setExtendedApicId(entries, topology);
  const amd = isAmd(entries);
  if (amd) setAmdCoreCount(entries, topology);
  applyOverrides(entries, supported, model.overrides, provider);
  if (amd) mirrorAmdAliases(entries);
  return entries;
}

interface Topology {
  id: number;
  count: number;
  /** Bits of the APIC ID that number the cores of the package: ceil(log2(count)). */
  coreBits: number;
}

function bitsFor(count: number): number {
  return count <= 1 ? 0 : Math.ceil(Math.log2(count));
}

/** The entry for (leaf, subleaf); entries without a significant index answer every subleaf. */
function findEntry(entries: readonly CpuidEntry[], leaf: number, subleaf = 0): CpuidEntry | undefined {
  return entries.find(
    (e) => e.function === leaf && ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || e.index === subleaf),
  );
}

function hasBit(entries: readonly CpuidEntry[], f: FeatureBit): boolean {
  const e = findEntry(entries, f.leaf, f.subleaf);
  return e !== undefined && ((e[f.register] >>> f.bit) & 1) === 1;
}

function setBit(e: CpuidEntry, register: CpuidRegister, bit: number, on: boolean): void {
  e[register] = (on ? e[register] | (1 << bit) : e[register] & ~(1 << bit)) >>> 0;
}

/** Replaces `mask << shift` of a register with `value`. */
function setField(e: CpuidEntry, register: CpuidRegister, shift: number, mask: number, value: number): void {
  e[register] = ((e[register] & ~(mask << shift)) | ((value & mask) << shift)) >>> 0;
}

function isAmd(entries: readonly CpuidEntry[]): boolean {
  const e = findEntry(entries, LEAF_VENDOR);
  if (!e) return false;
  // The vendor string is EBX, EDX, ECX in that order, little-endian.
  const vendor = String.fromCharCode(...new Uint8Array(new Uint32Array([e.ebx, e.edx, e.ecx]).buffer));
  return vendor === VENDOR_AMD || vendor === VENDOR_HYGON;
}

/** The registers of an entry that hold feature flags the baseline model filters. */
function featureRegisters(e: CpuidEntry): CpuidRegister[] {
  switch (e.function) {
    case LEAF_FEATURES:
    case LEAF_EXT_FEATURES:
      return ["ecx", "edx"];
    case LEAF_STRUCTURED_FEATURES:
      // Subleaf 0 EAX is the highest subleaf, not features.
      return e.index === 0 ? ["ebx", "ecx", "edx"] : ["eax", "ebx", "ecx", "edx"];
    case LEAF_ADVANCED_POWER_MANAGEMENT:
      return ["edx"];
    default:
      return [];
  }
}

function keepBaseline(entries: CpuidEntry[]): void {
  const keep = BASELINE_FEATURES.map((name) => CPU_FEATURES.get(name) as FeatureBit);
  for (const e of entries) {
    for (const register of featureRegisters(e)) {
      let mask = 0;
      for (const f of keep) {
        if (f.leaf === e.function && f.subleaf === e.index && f.register === register) mask |= 1 << f.bit;
      }
      e[register] = (e[register] & mask) >>> 0;
    }
  }
}

/** Leaf 1: initial APIC ID, addressable logical processor IDs in the package, HTT and HYPERVISOR. */
function setFeatureInformation(entries: CpuidEntry[], t: Topology): void {
  const e = findEntry(entries, LEAF_FEATURES);
  if (!e) return;
  // EBX[23:16] counts APIC IDs reserved for the package: a power of two, as the topology leaves shift.
  const addressable = Math.min(1 << t.coreBits, BYTE);
  e.ebx = ((e.ebx & LOW_HALF) | (t.id << INITIAL_APIC_ID_SHIFT) | (addressable << ADDRESSABLE_IDS_SHIFT)) >>> 0;
  // HTT says EBX[23:16] is valid; a single processor reserves one APIC ID and leaves it clear.
  setFeature(e, "ht", t.count > 1);
  setFeature(e, "hypervisor", true);
}

function setFeature(e: CpuidEntry, name: string, on: boolean): void {
  const f = CPU_FEATURES.get(name) as FeatureBit;
  setBit(e, f.register, f.bit, on);
}

/**
 * Leaf 0xB (and 0x1F when KVM lists it): an SMT level of one thread, a core level of `count` cores,
 * then the invalid level that ends the enumeration. EDX is the x2APIC ID on every subleaf.
 */
function setExtendedTopology(entries: CpuidEntry[], leaf: number, t: Topology): CpuidEntry[] {
  const at = entries.findIndex((e) => e.function === leaf);
  if (at < 0) return entries;
  const level = (index: number, shift: number, processors: number, type: number): CpuidEntry => ({
    function: leaf,
    index,
    flags: CPUID_FLAG_SIGNIFICANT_INDEX,
    eax: shift,
    ebx: processors,
    ecx: index | (type << LEVEL_TYPE_SHIFT),
    edx: t.id,
  });
  const levels = [level(0, 0, 1, LEVEL_SMT), level(1, t.coreBits, t.count, LEVEL_CORE), level(2, 0, 0, LEVEL_INVALID)];
  const others = entries.filter((e) => e.function !== leaf);
  others.splice(at, 0, ...levels);
  return others;
}

/** Caches up to L2 belong to one core (one thread); larger ones serve the whole package. */
function setCacheSharing(entries: CpuidEntry[], leaf: number, t: Topology): void {
  const packageIds = 1 << t.coreBits;
  for (const e of entries) {
    if (e.function !== leaf || (e.eax & CACHE_TYPE_MASK) === 0) continue;
    const cacheLevel = (e.eax >>> CACHE_LEVEL_SHIFT) & CACHE_LEVEL_MASK;
    const sharing = cacheLevel <= LAST_PRIVATE_CACHE_LEVEL ? 1 : packageIds;
    setField(e, "eax", CACHE_SHARING_SHIFT, CACHE_SHARING_MASK, sharing - 1);
    if (leaf === LEAF_CACHE_PARAMETERS) {
      setField(
        e,
        "eax",
        CORES_PER_PACKAGE_SHIFT,
        CORES_PER_PACKAGE_MASK,
        Math.min(packageIds - 1, CORES_PER_PACKAGE_MASK),
      );
    }
  }
}

/** AMD 0x8000_001E: extended APIC ID, core (compute unit) ID, one thread per core, one node. */
function setExtendedApicId(entries: CpuidEntry[], t: Topology): void {
  const e = findEntry(entries, LEAF_AMD_EXTENDED_APIC_ID);
  if (!e) return;
  e.eax = t.id;
  // EBX[15:8] threads per compute unit - 1 = 0, EBX[7:0] compute unit ID.
  e.ebx = t.id & BYTE;
  // ECX[10:8] nodes per processor - 1 = 0, ECX[7:0] node ID = 0.
  e.ecx = 0;
}

/** AMD 0x8000_0008 ECX: NC = threads in the package - 1, ApicIdSize = bits numbering them. */
function setAmdCoreCount(entries: CpuidEntry[], t: Topology): void {
  const e = findEntry(entries, LEAF_SIZE_IDENTIFIERS);
  if (!e) return;
  setField(e, "ecx", 0, BYTE, t.count - 1);
  setField(e, "ecx", APIC_ID_SIZE_SHIFT, APIC_ID_SIZE_MASK, t.coreBits);
}

function applyOverrides(
  entries: CpuidEntry[],
  supported: readonly CpuidEntry[],
  overrides: CpuModel["overrides"],
  provider: string,
) {
  for (const { feature, enabled } of overrides) {
    const f = CPU_FEATURES.get(feature);
    if (!f) throw new UserError(`--cpu: unknown CPU feature "${feature}"`);
    if (enabled && !hasBit(supported, f) && !SYNTHESIZED_FEATURES.has(feature)) {
      throw new UserError(`--cpu: ${provider} cannot offer "${feature}"`);
    }
    const e = findEntry(entries, f.leaf, f.subleaf);
    if (e) setBit(e, f.register, f.bit, enabled);
  }
}

/** AMD repeats most leaf 1 EDX flags in 0x8000_0001 EDX; keep the copies equal after overrides. */
function mirrorAmdAliases(entries: CpuidEntry[]): void {
  const leaf1 = findEntry(entries, LEAF_FEATURES);
  const ext = findEntry(entries, LEAF_EXT_FEATURES);
  if (!leaf1 || !ext) return;
  ext.edx = ((ext.edx & ~AMD_LEAF1_ALIASES) | (leaf1.edx & AMD_LEAF1_ALIASES)) >>> 0;
}
