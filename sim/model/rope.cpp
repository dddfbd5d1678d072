#include "sim/model/rope.hpp"

#include <cmath>

namespace kvsim {

Rope::Rope(const ModelConfig& config) : head_dim_(config.head_dim), pairing_(config.rope_pairing) {
  const int half = head_dim_ / 2;
  const RopeScaling& s = config.rope_scaling;
  inv_freq_.resize(half);
  for (int i = 0; i < half; ++i) {
    double freq = std::pow(config.rope_theta, -2.0 * i / head_dim_);
    if (s.type == "linear") {
      freq /= s.factor;
    } else if (s.type == "llama3") {
      // transformers' _compute_llama3_parameters: keep high frequencies, divide
      // low ones by `factor`, interpolate smoothly in between.
      const double pi = std::acos(-1.0);
      const double wavelen = 2 * pi / freq;
      const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
      const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
      if (wavelen > low_freq_wavelen) {
        freq /= s.factor;
      } else if (wavelen >= high_freq_wavelen) {
        const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        freq = (1 - smooth) * freq / s.factor + smooth * freq;
      }
    }
    inv_freq_[i] = freq;
  }
}

void Rope::apply(float* x, int n_heads, int position) const {
  const int half = head_dim_ / 2;
  for (int i = 0; i < half; ++i) {
    const double angle = position * inv_freq_[i];
    const float c = static_cast<float>(std::cos(angle));
    const float s = static_cast<float>(std::sin(angle));
    for (int h = 0; h < n_heads; ++h) {
      float* head = x + static_cast<std::size_t>(h) * head_dim_;
      // interleaved: (2i, 2i+1); rotate_half: (i, i + d/2)
      float& a = pairing_ == RopePairing::interleaved ? head[2 * i] : head[i];
      float& b = pairing_ == RopePairing::interleaved ? head[2 * i + 1] : head[i + half];
      const float a0 = a, b0 = b;
      a = a0 * c - b0 * s;
      b = a0 * s + b0 * c;
    }
  }
}

}  // namespace kvsim
