{
  "targets": [
    {
      "target_name": "sag_blas",
      "sources": ["sag_blas.c"],
      "cflags": ["-O3", "-std=c11"],
      "libraries": ["-ldl", "-lm"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
