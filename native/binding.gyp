{
  "variables": { "sag_libmvec%": 0 },
  "targets": [
    {
      "target_name": "sag_blas",
      "sources": ["sag_blas.c", "attention.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lm"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-fno-math-errno"] },
      "conditions": [["sag_libmvec==1", { "defines": ["SAG_LIBMVEC"], "libraries": ["-lmvec"] }]]
    }
  ]
}
