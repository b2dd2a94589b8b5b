// Processor exceptions raised while an instruction executes (Intel SDM vol. 3, 6.3.1). A fault unwinds the
// instruction with a throw; the run loop delivers it. One preallocated object: a throw costs no allocation.
export const DE = 0;
export const DB = 1;
export const NMI = 2;
export const BP = 3;
export const OF_VECTOR = 4;
export const BR = 5;
export const UD = 6;
export const NM = 7;
export const DF = 8;
export const TS = 10;
export const NP = 11;
export const SS_VECTOR = 12;
export const GP = 13;
export const PF_VECTOR = 14;
export const MF = 16;
export const AC_VECTOR = 17;
export const MC = 18;
export const XM = 19;

/** Exceptions that push an error code. */
export const HAS_ERROR_CODE = new Set([DF, TS, NP, SS_VECTOR, GP, PF_VECTOR, AC_VECTOR]);

export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
}

export const FAULT = new CpuFault();

/** Raises exception `vector` (with an error code when the vector has one). */
export function fault(vector: number, errorCode = 0): never {
  FAULT.vector = vector;
  FAULT.errorCode = errorCode;
  FAULT.hasErrorCode = HAS_ERROR_CODE.has(vector);
  throw FAULT;
}

export const gp = (code = 0): never => fault(GP, code);
export const ud = (): never => fault(UD);

export const VECTOR_NAMES = [
  "#DE",
  "#DB",
  "NMI",
  "#BP",
  "#OF",
  "#BR",
  "#UD",
  "#NM",
  "#DF",
  "coprocessor segment overrun",
  "#TS",
  "#NP",
  "#SS",
  "#GP",
  "#PF",
  "reserved",
  "#MF",
  "#AC",
  "#MC",
  "#XM",
];
