// Text from inputs (dump attributes and file names, CSV cells, options)
// reaches the gnuplot scripts of every figure and notebook as titles, key
// entries and labels; gnuplot runs `back-quoted` text inside double-quoted
// strings. These tests feed hostile text (back quotes, $(...), quotes,
// newlines, control characters, ../) through every plot kind and every
// notebook with HOME, TMPDIR (and, for programs, the working directory) inside
// a scratch directory, and assert that no command ran (the canary files a
// `touch` would create do not exist) and that every file written lies under
// --out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "analysis/plot/gnuplot_figure.hpp"
#include "analysis/plot/plots.hpp"
#include "tests/support.hpp"

namespace kvsim::test {
namespace {

namespace fs = std::filesystem;

bool have_gnuplot() { return run_shell("gnuplot --version").exit_code == 0; }

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// RFC 4180, as analysis::CsvTable reads it.
std::string csv_field(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Every regular file under `root`, as paths relative to it.
std::set<std::string> files_under(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (!e.is_directory()) out.insert(fs::relative(e.path(), root).string());
  return out;
}

// Sets an environment variable for the lifetime of the object.
class EnvOverride {
 public:
  EnvOverride(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvOverride() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// gnuplot sees only single-quoted strings ('' for a quote, where it expands
// nothing): outside them the one double-quoted string a script may hold is
// the constant "\n" that joins lines. No line break inside a quoted string,
// and no raw control character at all.
void expect_inert_script(const std::string& script) {
  bool in_single = false;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f)
      ADD_FAILURE() << "raw control character " << int(c) << " at " << i << " in:\n" << script;
    if (in_single) {
      if (c == '\n') ADD_FAILURE() << "line break inside a quoted string at " << i << " in:\n" << script;
      if (c == '\'' && i + 1 < script.size() && script[i + 1] == '\'') ++i;
      else if (c == '\'') in_single = false;
    } else if (c == '\'') {
      in_single = true;
    } else if (c == '"') {
      if (script.compare(i, 4, "\"\\n\"") != 0)
        ADD_FAILURE() << "a double-quoted string at " << i << " in:\n" << script;
      else
        i += 3;
    }
  }
  EXPECT_FALSE(in_single) << "unterminated string in:\n" << script;
}

class HostileText : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
    fs::create_directories(dir.file("home"));
    fs::create_directories(dir.file("tmp"));
    fs::create_directories(dir.file("in"));
    home_.emplace("HOME", dir.file("home"));
    tmpdir_.emplace("TMPDIR", dir.file("tmp"));
  }

  // Back quotes and $(...) that would create canary files, quotes of both
  // kinds, a backslash, a gnuplot macro, printf formats, a CSV comment and
  // separator, a line break, control characters, invalid UTF-8 and ../.
  std::string hostile(const std::string& tag) const {
    return tag + "`touch " + dir.file("canary-backquote") + "`$(touch " + dir.file("canary-dollar") +
           ") 'single' \"double\" \\ @macro %s %n #comment, comma\nsecond line\r\t\x1b[31m\x7f\xff ../../up";
  }

  // results.csv whose dump and policy cells are hostile, beside a run.json
  // naming a hostile model.
  void write_results() const {
    std::ostringstream s;
    s << "dump,policy,budget,budget_ratio,block,layer,head,metric,value\n";
    const std::string policies[] = {"keydiff", hostile("policy"), "oracle"};
    for (int p = 0; p < 3; ++p)
      for (int tokens : {12, 64})
        for (int l = 0; l < 2; ++l) {
          const std::string prefix = csv_field(hostile("dump")) + "," + csv_field(policies[p]) + "," +
                                     std::to_string(tokens) + "," + std::to_string(tokens / 128.0) + ",128," +
                                     std::to_string(l) + ",";
          for (int h = 0; h < 2; ++h)
            s << prefix << h << ",attn_recall," << 0.3 + 0.1 * p + 0.004 * tokens << "\n";
          s << prefix << "-1,layer_out_err," << 0.5 - 0.1 * p - 0.003 * tokens << "\n";
        }
    write(dir.file("in/results.csv"), s.str());
    write(dir.file("in/run.json"), "{\"dump\": {\"model\": " + json_string(hostile("model")) + "}}\n");
  }

  void write_pca_points() const {
    std::ostringstream s;
    s << "dump,layer,kv_head,position,pc1,pc2,attention,key_norm,policy,budget,kept\n";
    for (int j = 0; j < 30; ++j)
      s << csv_field(hostile("dump")) << ",0,0," << j << "," << j % 7 - 3 << "," << j % 5 - 2 << ","
        << 0.001 * (j + 1) << ",3," << csv_field(hostile("policy")) << "," << csv_field(hostile("budget")) << ","
        << (j % 3 == 0) << "\n";
    write(dir.file("in/pca_points.csv"), s.str());
  }

  void write_correlation() const {
    std::ostringstream stats, bins;
    stats << "dump,score,layer,head,metric,value\n";
    bins << "dump,score,layer,head,bin,x_lo,x_hi,x_mean,y_mean,count\n";
    for (const char* score : {"keydiff", "knorm"})
      for (int l = -1; l < 2; ++l) {
        stats << csv_field(hostile("dump")) << "," << score << "," << l << ",-1,spearman_rho_mean,0.1\n";
        for (int b = 0; b < 10; ++b)
          bins << csv_field(hostile("dump")) << "," << score << "," << l << ",-1," << b << ",0,1,0.5,"
               << 1e-3 * (b + 1) << ",12\n";
      }
    write(dir.file("in/correlation.csv"), stats.str());
    write(dir.file("in/correlation_bins.csv"), bins.str());
    write(dir.file("in/analyze.json"), "{\"dump\": {\"model\": " + json_string(hostile("model")) + "}}\n");
  }

  // A JSON string literal (the test writes JSON by hand).
  static std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') out += std::string("\\") + char(c);
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else if (c >= 0x80) out += "?";  // keep the JSON valid UTF-8
      else out += char(c);
    }
    return out + "\"";
  }

  plot::FigureOptions figure() const {
    plot::FigureOptions f;
    f.out_dir = dir.file("out");
    return f;
  }

  // No canary, and every file that appeared since `before` lies under out/
  // (the temporary directories are gone).
  void expect_no_side_effect(const std::set<std::string>& before) const {
    EXPECT_FALSE(fs::exists(dir.file("canary-backquote"))) << "a back-quoted command ran";
    EXPECT_FALSE(fs::exists(dir.file("canary-dollar"))) << "a $(...) command ran";
    for (const auto& f : files_under(dir.path()))
      if (!before.count(f)) EXPECT_EQ(f.rfind("out/", 0), 0u) << "written outside --out: " << f;
    EXPECT_TRUE(fs::is_empty(dir.file("tmp"))) << "temporary files left behind";
  }

  ScratchDir dir;
  std::optional<EnvOverride> home_, tmpdir_;
};

}  // namespace

TEST_F(HostileText, RecallAndLayerErrorFromHostileCsvCellsModelAndOptions) {
  write_results();
  const auto before = files_under(dir.path());
  plot::CurveOptions o;
  o.results = dir.file("in/results.csv");
  o.figure = figure();
  o.bands = "all";
  expect_inert_script(plot::plot_recall(o).script);
  expect_inert_script(plot::plot_layer_error(o).script);
  o.figure.title = hostile("title");
  o.figure.model = hostile("model-option");
  o.figure.name = "with_title";
  expect_inert_script(plot::plot_recall(o).script);
  o.dump = hostile("dump");
  expect_inert_script(plot::plot_layer_error(o).script);
  expect_no_side_effect(before);
}

TEST_F(HostileText, HeatmapOfAHostilePolicy) {
  write_results();
  const auto before = files_under(dir.path());
  plot::HeatmapOptions o;
  o.results = dir.file("in/results.csv");
  o.policy = hostile("policy");
  o.budget = "64";
  o.figure = figure();
  expect_inert_script(plot::plot_heatmap(o).script);
  expect_no_side_effect(before);
}

TEST_F(HostileText, PcaWithHostileDumpPolicyAndBudgetCells) {
  write_pca_points();
  write(dir.file("in/run.json"), "{\"model\": " + json_string(hostile("model")) + "}\n");
  const auto before = files_under(dir.path());
  plot::PcaPlotOptions o;
  o.points = dir.file("in/pca_points.csv");
  o.figure = figure();
  expect_inert_script(plot::plot_pca(o).script);
  expect_no_side_effect(before);
}

TEST_F(HostileText, DiversityWithHostileDumpAndModel) {
  write_correlation();
  const auto before = files_under(dir.path());
  plot::DiversityPlotOptions o;
  o.bins = dir.file("in/correlation_bins.csv");
  o.stats = dir.file("in/correlation.csv");
  o.figure = figure();
  expect_inert_script(plot::plot_diversity(o).script);
  o.figure.title = hostile("title");
  o.figure.name = "titled";
  expect_inert_script(plot::plot_diversity(o).script);
  expect_no_side_effect(before);
}

// Text never goes into a gnuplot data file, where a space, quote or # would
// shift or comment out columns and draw a silently wrong figure.
TEST_F(HostileText, DataFilesRefuseText) {
  plot::GnuplotFigure fig;
  EXPECT_NO_THROW(fig.data("numbers", "1 2.5e-3 nan\n-4 inf 7\n"));
  EXPECT_THROW(fig.data("labels", "1 'key diff' 2\n"), std::logic_error);
  EXPECT_THROW(fig.data("comment", "1 #2 3\n"), std::logic_error);
  EXPECT_THROW(fig.data("../up", "1\n"), std::logic_error);
}

// The CLI with hostile options, run with its working directory, HOME and
// TMPDIR in the scratch directory: every kind draws, no command runs, and
// nothing is written outside --out.
TEST_F(HostileText, CliEveryKindWithHostileOptions) {
  write_results();
  write_pca_points();
  write_correlation();
  const auto before = files_under(dir.path());
  const std::string env = "cd " + shell_quote(dir.path().string()) + " && env HOME=" +
                          shell_quote(dir.file("home")) + " TMPDIR=" + shell_quote(dir.file("tmp")) + " " +
                          KVSIM_BINARY + " plot ";
  const std::string common = " --out " + shell_quote(dir.file("out")) + " --title " + shell_quote(hostile("title")) +
                             " --model " + shell_quote(hostile("model"));
  // back quotes and $(...) in --name stay a (strange) file name inside --out
  const std::string odd_name = "n`touch canary-name`$(touch canary-name2)'q\"";
  const std::string in = shell_quote(dir.file("in"));
  for (const std::string& args :
       {"recall --in " + in + " --name " + shell_quote(odd_name) +  " --dump " + shell_quote(hostile("dump")) +
            " --bands all",
        "layer-error --in " + in + " --bands all",
        "heatmap --in " + in + " --policy " + shell_quote(hostile("policy")) + " --budget 64",
        "pca --in " + in, "diversity --in " + in}) {
    const auto r = run_shell(env + args + common);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  }
  EXPECT_TRUE(fs::exists(dir.file("out/" + odd_name + ".png")));
  EXPECT_FALSE(fs::exists(dir.file("canary-name")));
  EXPECT_FALSE(fs::exists(dir.file("canary-name2")));
  expect_no_side_effect(before);
}

// --name must be a plain file name: exit 2, one stderr line naming --name,
// nothing written.
TEST_F(HostileText, CliRejectsNamesThatLeaveOrHideInTheOutputDirectory) {
  write_results();
  fs::create_directories(dir.file("out/sub"));
  const auto before = files_under(dir.path());
  for (const std::string name : {"../escape", "sub/x", "..", ".hidden", "-x", "", "a\nb", "a\x1b[31mb"}) {
    const auto r = run_shell(std::string(KVSIM_BINARY) + " plot recall --in " + shell_quote(dir.file("in")) +
                             " --out " + shell_quote(dir.file("out")) + " --name " + shell_quote(name));
    EXPECT_EQ(r.exit_code, 2) << "--name '" << name << "'\n" << r.err;
    EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(files_under(dir.path()), before);
}

// The notebooks on a dump whose file name and `model` attribute are hostile
// (no line break: the dump format may refuse control characters, and a
// figure title holds a line break anyway).
TEST_F(HostileText, NotebooksOnADumpWithHostileNameAndModel) {
  const std::string model = "m`touch " + dir.file("canary-backquote") + "`$(touch " + dir.file("canary-dollar") +
                            ")'q\"dq @macro %s";
  const std::string dump = dir.file("in/d`touch canary-file`$(touch canary-file2)'q\" %s.h5");
  const auto synth = run_kvsim("synth --out " + shell_quote(dump) + " --model " + shell_quote(model) +
                               " --layers 2 --tokens 256 --heads 4 --kv-heads 2 --head-dim 16");
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto before = files_under(dir.path());
  for (const std::string name : {"keydiff_claim", "recall_curves", "laprox_vs_headwise"}) {
    const std::string extra = name == "keydiff_claim" ? "" : " --budgets 0.1,0.5 --block 64";
    const auto r = run_shell("cd " + shell_quote(dir.path().string()) + " && env HOME=" + shell_quote(dir.file("home")) +
                             " TMPDIR=" + shell_quote(dir.file("tmp")) + " " + KVSIM_BUILD_DIR + "/nb_" + name +
                             " --dump " + shell_quote(dump) + " --out " + shell_quote(dir.file("out/" + name)) +
                             extra);
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.err;
  }
  for (const char* figure : {"keydiff_claim/diversity.png", "recall_curves/recall.png", "recall_curves/heatmap.png",
                             "laprox_vs_headwise/laprox_allocation.png"})
    EXPECT_TRUE(fs::exists(dir.file(std::string("out/") + figure))) << figure;
  EXPECT_FALSE(fs::exists(dir.file("canary-file")));
  EXPECT_FALSE(fs::exists(dir.file("canary-file2")));
  expect_no_side_effect(before);
}

}  // namespace kvsim::test
