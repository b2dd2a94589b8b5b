// Registers the SSE families' mandatory-prefix dispatchers (one def() per opcode, see sse_core.ts) once all
// of them have added their forms, and the F3 register forms of 0F AE /0 and /1 (RDFSBASE/RDGSBASE) in
// front of whatever 0F AE /0 and /1 (FXSAVE/FXRSTOR, the x87 family's) registered before this module. It
// must be imported after every module that registers 0F AE /0 or /1.
import { MAP_0F } from "../insn.js";
import { groups, unimplemented } from "../opcodes.js";
import "./ext_int.js";
import { registerForms } from "./sse_core.js";
import { group15Fsgs } from "./sse_fp.js";
import "./sse_int.js";
import "./sse_mmx.js";

registerForms();

const g15 = groups[MAP_0F + 0xae]!;
for (const reg of [0, 1]) {
  const other = g15[reg];
  g15[reg] = (cpu, i) => {
    if (i.mod === 3 && i.rep === 0xf3) return (group15Fsgs[reg] ?? unimplemented)(cpu, i);
    (other ?? unimplemented)(cpu, i);
  };
}
