// The processor's state after RESET or INIT (Intel SDM vol. 3, 10.1.1, table 10-1), and the start of an
// application processor by a startup IPI (SDM vol. 3, 10.4): real mode at CS = vector << 8, IP = 0.
import { ATTR_P, ATTR_S, type Cpu, CR0_CD, CR0_ET, CR0_NW, CS, LDTR, TR } from "./cpu.js";
import { FIXED1 } from "./flags.js";

const DATA_ATTR = ATTR_P | ATTR_S | 0x3; // present read/write data, accessed
const CODE_ATTR = ATTR_P | ATTR_S | 0xb; // present execute/read code, accessed
const RESET_CS = 0xf000;
const RESET_CS_BASE = 0xffff0000;
const RESET_IP = 0xfff0;
const REAL_LIMIT = 0xffff;
/** EDX after RESET and INIT holds the processor signature (family, model, stepping). */
const SIGNATURE_EDX = 0x000006f1;

/** RESET, or INIT (which keeps MSRs, caches and the x87/SSE state: SDM table 10-1). */
export function resetProcessor(cpu: Cpu): void {
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = 0;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = REAL_LIMIT;
    cpu.segAttr[s] = DATA_ATTR;
  }
  cpu.segSel[CS] = RESET_CS;
  cpu.segBase[CS] = RESET_CS_BASE;
  cpu.segAttr[CS] = CODE_ATTR;
  cpu.segSel[LDTR] = 0;
  cpu.segBase[LDTR] = 0;
  cpu.segLimit[LDTR] = REAL_LIMIT;
  cpu.segAttr[LDTR] = 0x2 | ATTR_P;
  cpu.segSel[TR] = 0;
  cpu.segBase[TR] = 0;
  cpu.segLimit[TR] = REAL_LIMIT;
  cpu.segAttr[TR] = 0xb | ATTR_P;
  cpu.gdtBase = 0;
  cpu.gdtLimit = REAL_LIMIT;
  cpu.idtBase = 0;
  cpu.idtLimit = REAL_LIMIT;
  cpu.lo.fill(0);
  cpu.hi.fill(0);
  cpu.lo[2] = SIGNATURE_EDX;
  cpu.ip = RESET_IP;
  cpu.setEflags(FIXED1);
  cpu.cr0 = CR0_ET | CR0_CD | CR0_NW;
  cpu.cr2 = 0;
  cpu.cr3 = 0;
  cpu.cr4 = 0;
  cpu.cr8 = 0;
  cpu.efer = 0;
  cpu.halted = false;
  cpu.interruptShadow = false;
  cpu.updateMode();
  cpu.mem?.tlb.flushAll();
}

/** A startup IPI's vector: real mode at vector:0000 (physical vector << 12). */
export function startupAt(cpu: Cpu, vector: number): void {
  cpu.segSel[CS] = (vector & 0xff) << 8;
  cpu.segBase[CS] = (vector & 0xff) << 12;
  cpu.ip = 0;
  cpu.updateMode();
}
