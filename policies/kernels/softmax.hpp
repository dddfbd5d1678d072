#pragma once
// Deterministic vectorised exp and the max-subtracted float32 softmax (sums in double).
namespace kvsim {

// exp for x <= ~88 (Cephes polynomial, ~1 ulp), 0 below -64; vectorisable, deterministic.
float expf_fast(float x);

// In-place softmax of row[0, n_visible) (already scaled logits); row[n_visible, n) = 0.
// Returns the sum of the unnormalised exponentials (double).
double softmax_row(float* row, int n_visible, int n);

// The first half of softmax_row: row[0, n_visible) = exp(logit - max), in
// place, and the sum (double) of those; the caller scales by 1/sum (as a
// float, as softmax_row does) where it reads the row, saving a pass over it.
// row[n_visible, ...) is left as it was.
double exp_row(float* row, int n_visible);

}  // namespace kvsim
