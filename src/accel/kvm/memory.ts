// Guest RAM for KVM: anonymous shared mappings, whose host addresses KVM_SET_USER_MEMORY_REGION registers.
import { GuestMemory, type Region, type RegionHandle, type RegionLayout } from "../../memory/guest_memory.js";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE, view } from "./sys.js";

/** Maps fresh zeroed regions. Pages are only backed when touched (MAP_NORESERVE). */
export function createKvmMemory(layout: readonly RegionLayout[]): GuestMemory {
  GuestMemory.checkLayout(layout);
  const regions: Region[] = [];
  const unmap = () => {
    for (const r of regions.splice(0)) munmap(r.hostAddr as bigint, r.size);
  };
  try {
    for (const { gpa, size } of layout) {
      const hostAddr = mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1);
      regions.push({ gpa, size, hostAddr, bytes: new Uint8Array(view(hostAddr, size)) });
    }
  } catch (e) {
    unmap();
    throw e;
  }
  return GuestMemory.fromHostRegions([...regions], unmap);
}

/** Views, in this thread, of regions mapped by another thread of the process. */
export function kvmMemoryFromHandles(handles: readonly RegionHandle[]): GuestMemory {
  return GuestMemory.fromHandles(handles, view);
}
