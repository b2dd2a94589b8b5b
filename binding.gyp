{
  "targets": [
    {
      "target_name": "kvm_run",
      "sources": ["native/kvm_run.c"],
      "cflags": ["-O2"]
    }
  ]
}
