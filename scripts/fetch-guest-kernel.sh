#!/usr/bin/env bash
# The Linux guest for tsvmm's tests, made from Debian's packages and cached under .cache/linux/:
#   vmlinuz            Debian's cloud kernel (linux-image-cloud-amd64), a bzImage
#   vmlinux            the same kernel uncompressed (an ELF with the PVH entry note), taken out of the bzImage
#   initramfs.cpio.gz  busybox-static and tsvmm's own /init (guests/linux/init.sh), cpio newc, gzip
# The packages are fetched with apt-get download and unpacked with dpkg -x: nothing is installed, /boot is
# never touched. A later run reuses what is cached; the initramfs is rebuilt when the /init changes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache/linux
INIT=$ROOT/guests/linux/init.sh
KERNEL_META=linux-image-cloud-amd64
BUSYBOX=busybox-static

log() { echo "fetch-guest-kernel: $*" >&2; }
need() {
  # Installs the Debian package providing a missing tool.
  command -v "$1" >/dev/null && return
  log "installing $2"
  apt_lists
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
APT_UPDATED=0
apt_lists() {
  # apt-get download needs the package lists; a fresh container has none.
  if [ "$APT_UPDATED" = 0 ] && ! apt-cache show "$KERNEL_META" >/dev/null 2>&1; then
    log "apt-get update"
    apt-get update -qq
  fi
  APT_UPDATED=1
}
download() {
  # apt-get download PACKAGE into $WORK, then dpkg -x into $WORK/NAME.
  local package=$1 into=$2
  (cd "$WORK" && apt-get download -qq -o APT::Sandbox::User=root "$package")
  dpkg -x "$WORK"/"${package}"_*.deb "$WORK/$into"
}

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 0755 "$WORK" # apt-get download fetches as the _apt user where it can

# --- The kernel: the package the meta-package depends on (linux-image-<version>-cloud-amd64). ---
if [ ! -s "$CACHE/vmlinuz" ]; then
  apt_lists
  package=$(apt-cache depends "$KERNEL_META" | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
  [ -n "$package" ] || { log "cannot resolve $KERNEL_META to a kernel package"; exit 1; }
  log "downloading $package"
  download "$package" kernel
  image=$(ls "$WORK"/kernel/boot/vmlinuz-* | head -n1)
  cp "$image" "$CACHE/vmlinuz.part" && mv "$CACHE/vmlinuz.part" "$CACHE/vmlinuz"
  basename "$image" | sed 's/^vmlinuz-//' >"$CACHE/version"
  rm -f "$CACHE/vmlinux"
fi

# --- vmlinux: the bzImage's compressed payload, decompressed (as Linux's scripts/extract-vmlinux does). ---
# The setup header gives setup_sects (0x1f1) and the payload's offset and length within the protected-mode
# code (payload_offset 0x248, payload_length 0x24c); the payload's magic says which decompressor it needs.
u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u8() { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }
if [ ! -s "$CACHE/vmlinux" ]; then
  bz=$CACHE/vmlinuz
  setup_sects=$(u8 "$bz" $((0x1f1)))
  [ "$setup_sects" = 0 ] && setup_sects=4
  start=$(((setup_sects + 1) * 512 + $(u32 "$bz" $((0x248)))))
  length=$(u32 "$bz" $((0x24c)))
  magic=$(od -An -t x1 -j "$start" -N 6 "$bz" | tr -d ' \n')
  case "$magic" in
  fd377a585a00*) tool=(xz -dc) ;;    # xz
  28b52ffd*) tool=(zstd -dcq) ;;     # zstd
  1f8b*) tool=(gzip -dc) ;;          # gzip
  02214c18*) tool=(lz4 -dcq) ;;      # lz4 (legacy frame): Debian's choice
  5d0000*) tool=(xz -dc --format=lzma) ;;
  *) log "unknown payload compression (magic $magic)"; exit 1 ;;
  esac
  case "${tool[0]}" in xz) need xz xz-utils ;; *) need "${tool[0]}" "${tool[0]}" ;; esac
  # The build appends the decompressed size after the stream; the tools stop at the stream's end (or report
  # trailing data, which is why only the result is checked).
  tail -c +$((start + 1)) "$bz" | head -c "$length" | "${tool[@]}" >"$WORK/vmlinux" 2>/dev/null || true
  if [ "$(od -An -t x1 -N 4 "$WORK/vmlinux" | tr -d ' ')" != 7f454c46 ]; then
    log "the payload of $bz did not decompress to an ELF file"
    exit 1
  fi
  mv "$WORK/vmlinux" "$CACHE/vmlinux"
  log "vmlinux extracted with ${tool[0]}"
fi

# --- The initramfs: busybox-static and tsvmm's /init. ---
stamp=$(cat "$INIT" "$0" | sha256sum | cut -d' ' -f1)
if [ ! -s "$CACHE/initramfs.cpio.gz" ] || [ "$(cat "$CACHE/initramfs.stamp" 2>/dev/null)" != "$stamp" ]; then
  need cpio cpio
  apt_lists
  log "downloading $BUSYBOX"
  download "$BUSYBOX" busybox
  root=$WORK/root
  mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
  cp "$WORK/busybox/bin/busybox" "$root/bin/busybox"
  cp "$INIT" "$root/init"
  chmod 0755 "$root/init" "$root/bin/busybox"
  echo "made by tsvmm's scripts/fetch-guest-kernel.sh" >"$root/etc/tsvmm-initrd"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --owner=0:0) >"$WORK/files.cpio"
  # /dev/console, so that /init starts with the console as stdin/stdout: a device node, which needs no root
  # when written as a second newc archive by hand (the kernel unpacks concatenated archives in turn).
  newc() { # NAME MODE RDEVMAJOR RDEVMINOR
    local name=$1 size=$((${#1} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
      1 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$size" 0 "$name"
    # The header (110 bytes) and the name are padded to a multiple of 4.
    local pad=$(((4 - (110 + size) % 4) % 4))
    head -c "$pad" /dev/zero
  }
  {
    newc dev/console $((0x2180)) 5 1 # a character device, rw-------
    newc TRAILER!!! 0 0 0
  } >"$WORK/console.cpio"
  cat "$WORK/files.cpio" "$WORK/console.cpio" | gzip -9n >"$CACHE/initramfs.cpio.gz.part"
  mv "$CACHE/initramfs.cpio.gz.part" "$CACHE/initramfs.cpio.gz"
  echo "$stamp" >"$CACHE/initramfs.stamp"
  log "initramfs built"
fi
ls -l "$CACHE/vmlinuz" "$CACHE/vmlinux" "$CACHE/initramfs.cpio.gz" >&2
