#include "analysis/plot/policy_colors.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>

namespace kvsim::plot {

namespace {

struct Rgb {
  double r, g, b;  // [0, 1]
};

// Okabe–Ito where it has enough hues, then brown and greys; yellow is left out
// (unreadable as a line on white).
const std::map<std::string, std::string>& known_colors() {
  static const std::map<std::string, std::string> colors = {
      {"oracle", "#000000"},       {"keydiff", "#0072B2"}, {"knorm", "#D55E00"},
      {"snapkv", "#009E73"},       {"h2o", "#CC79A7"},     {"laprox", "#E69F00"},
      {"streamingllm", "#56B4E9"}, {"tova", "#8C564B"},    {"random", "#9A9A9A"},
      {"full", "#5A5A5A"},         {"lagkv", "#6A3D9A"},   {"cur", "#B2182B"},
      // the later presses; a wrapper around its default scorer has the
      // wrapper's colour, around another scorer a shade of it
      {"expected_attention", "#9C9E1F"}, {"adakv(snapkv)", "#393B79"}, {"pyramidkv(snapkv)", "#17A2B8"},
      {"criticalkv(snapkv)", "#637939"}, {"chunkkv(snapkv)", "#7B4173"}, {"simlayerkv", "#AD494A"}};
  return colors;
}

// FNV-1a: fixed by definition, unlike std::hash.
std::uint32_t stable_hash(const std::string& text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  return h;
}

Rgb parse(const std::string& hex) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex.c_str(), "#%02x%02x%02x", &r, &g, &b);
  return {r / 255.0, g / 255.0, b / 255.0};
}

std::string format(const Rgb& c) {
  auto byte = [](double v) { return static_cast<unsigned>(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02X%02X%02X", byte(c.r), byte(c.g), byte(c.b));
  return buf;
}

// Mixes towards white (amount > 0) or black (amount < 0).
Rgb shade(const Rgb& c, double amount) {
  const double target = amount > 0 ? 1.0 : 0.0, t = std::abs(amount);
  return {c.r + (target - c.r) * t, c.g + (target - c.g) * t, c.b + (target - c.b) * t};
}

// A mid-saturation, mid-lightness colour at hue `degrees` (HSL with S 0.65, L 0.42).
Rgb hue_color(double degrees) {
  const double s = 0.65, l = 0.42, chroma = (1 - std::abs(2 * l - 1)) * s;
  const double h = degrees / 60, x = chroma * (1 - std::abs(std::fmod(h, 2.0) - 1)), m = l - chroma / 2;
  Rgb c{0, 0, 0};
  if (h < 1) c = {chroma, x, 0};
  else if (h < 2) c = {x, chroma, 0};
  else if (h < 3) c = {0, chroma, x};
  else if (h < 4) c = {0, x, chroma};
  else if (h < 5) c = {x, 0, chroma};
  else c = {chroma, 0, x};
  return {c.r + m, c.g + m, c.b + m};
}

}  // namespace

std::string policy_color(const std::string& label) {
  std::string base = label.substr(0, label.find(':'));
  if (!known_colors().count(base)) {  // "adakv(h2o)" is a shade of "adakv(snapkv)"
    const std::string family = label.substr(0, label.find_first_of(":("));
    for (const auto& [name, color] : known_colors())
      if (name.rfind(family + "(", 0) == 0) base = name;
  }
  const auto known = known_colors().find(base);
  if (known != known_colors().end() && base == label) return known->second;
  const std::uint32_t h = stable_hash(label);
  if (known != known_colors().end()) {
    // six shades of the family: 25/40/55 % towards black or white (the oracle's
    // black can only lighten)
    static const double kShades[] = {-0.25, 0.25, -0.4, 0.4, -0.55, 0.55};
    double amount = kShades[h % 6];
    if (base == "oracle") amount = std::abs(amount);
    return format(shade(parse(known->second), amount));
  }
  return format(hue_color(h % 360));
}

}  // namespace kvsim::plot
