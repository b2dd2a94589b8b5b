/*
 * The one call on tsvmm's hot path, KVM_RUN, as a Node-API function: run(vcpuFd) returns KVM_RUN's result,
 * or -errno. Everything else goes through koffi (src/kvm/sys.ts); this only trims the per-exit cost of the
 * foreign call, which bench/exits measures. Optional: without it, tsvmm calls ioctl through koffi.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <node_api.h>
#include <sys/ioctl.h>

static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "run(vcpuFd): expected a file descriptor");
    return NULL;
  }
  int rc = ioctl(fd, KVM_RUN, 0);
  napi_value result;
  napi_create_int32(env, rc < 0 ? -errno : rc, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  return exports;
}
