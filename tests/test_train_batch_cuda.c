/* test_train_batch_cuda: test_train_batch.c built with the CUDA back end. Without
 * arguments the batch and the one-by-one runs are both on the GPU (label gpu; exit
 * 77 without a device); --emulate runs the batch through the back end's host
 * emulation against the CPU's one-by-one result, --emulate-exact against the
 * emulation's own one-by-one result, which it must equal exactly (both in CI). */
#define FT_TEST_CUDA 1
#include "test_train_batch.c"
