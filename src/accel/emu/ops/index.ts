// Every instruction family registers its handlers when imported.
import "./alu.js";
import "./control.js";
import "./data.js";
import "./stack_ops.js";
import "./system.js";
import "./descriptors.js";
import "./far.js";
import "./fast_syscall.js";
import "./software_interrupts.js";
import "./bits.js";
import "./misc.js";
import "./muldiv.js";
import "./shift.js";
import "./string.js";
import "./x87.js";
import "./mmx.js";
import "./sse_register.js";
