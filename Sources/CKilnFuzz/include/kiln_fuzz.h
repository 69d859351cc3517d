#ifndef KILN_FUZZ_H
#define KILN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, for an executable that keeps its own main (SwiftPM
// renames an executable's Swift main and points `main` at it, so libFuzzer's
// main cannot be the entry point). Defined by libclang_rt.fuzzer, which only
// the fuzz build links (-sanitize=fuzzer); only that build calls it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
