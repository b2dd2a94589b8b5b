/*
 * The two calls on tsvmm's hot paths as Node-API functions: run(vcpuFd) is KVM_RUN, irqLine(vmFd, gsi, level)
 * is KVM_IRQ_LINE; each returns the ioctl's result, or -errno. Everything else goes through koffi
 * (src/kvm/sys.ts); this only trims the cost of the foreign call per exit and per interrupt, which
 * bench/exits and bench/irq measure. Optional: without it, tsvmm calls ioctl through koffi.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* Reads `count` int32 arguments; throws a TypeError naming `usage` when they are missing or not numbers. */
static int int_args(napi_env env, napi_callback_info info, size_t count, int32_t *out, const char *usage) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) goto bad;
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) goto bad;
  }
  return 1;
bad:
  napi_throw_type_error(env, NULL, usage);
  return 0;
}

static napi_value result(napi_env env, int rc) {
  napi_value value;
  napi_create_int32(env, rc < 0 ? -errno : rc, &value);
  return value;
}

static napi_value run(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (!int_args(env, info, 1, a, "run(vcpuFd)")) return NULL;
  return result(env, ioctl(a[0], KVM_RUN, 0));
}

static napi_value irq_line(napi_env env, napi_callback_info info) {
  int32_t a[3];
  if (!int_args(env, info, 3, a, "irqLine(vmFd, gsi, level)")) return NULL;
  struct kvm_irq_level irq = {.irq = (uint32_t)a[1], .level = a[2] ? 1 : 0};
  return result(env, ioctl(a[0], KVM_IRQ_LINE, &irq));
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

NAPI_MODULE_INIT() {
  export_function(env, exports, "run", run);
  export_function(env, exports, "irqLine", irq_line);
  return exports;
}
