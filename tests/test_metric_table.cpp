// The engine writes metric names and the plots describe them from one table
// (analysis/metric_table.hpp): every id the writer can emit must be a row
// there, with the plot properties of its metric.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "analysis/metric_table.hpp"
#include "sim/engine/results_table.hpp"

namespace kvsim {
namespace {

const MetricRowSpec& row_of(int id) {
  const int base = id < kFirstSummary ? id : (id - kFirstSummary) / kNumSummaries;
  return kMetricTable[base];
}

TEST(MetricTable, EveryIdHasAUniqueNameTheFiguresDescribe) {
  std::set<std::string> names;
  for (int id = 0; id < kNumMetricIds; ++id) {
    const std::string name = metric_name(id);
    EXPECT_TRUE(names.insert(name).second) << name << " is the name of two ids";
    const MetricDescription d = describe_metric(name);
    const MetricRowSpec& row = row_of(id);
    EXPECT_EQ(d.name, name);
    EXPECT_NE(d.title, name) << name << " has no row of its own in the table";
    EXPECT_EQ(d.title.rfind(row.title, 0), 0u) << name;
    EXPECT_EQ(d.axis_label.rfind(row.axis_label, 0), 0u) << name;
    EXPECT_EQ(d.unit_interval, row.unit_interval) << name;
    EXPECT_EQ(d.log_scale, row.log_scale) << name;
    EXPECT_EQ(d.better, row.better) << name;
  }
}

TEST(MetricTable, NamesAreTheOnesResultsCsvHasAlwaysUsed) {
  EXPECT_EQ(metric_name(kAttnRecall), "attn_recall");
  EXPECT_EQ(metric_name(kKeptFraction), "kept_fraction");
  EXPECT_EQ(metric_name(kLayerOutErr), "layer_out_err");
  EXPECT_EQ(metric_name(kFirstSummary), "attn_recall_mean");
  EXPECT_EQ(metric_name(kFirstSummary + kNumSummaries * kHeadOutErr + 2), "head_out_err_p95");
  EXPECT_EQ(metric_name(kNumMetricIds - 1), "kept_fraction_min");
  EXPECT_THROW(metric_name(kNumMetricIds), std::out_of_range);
  EXPECT_THROW(metric_name(-1), std::out_of_range);
}

TEST(MetricTable, OnlyTheMeanKeepsTheOracleCeiling) {
  EXPECT_TRUE(describe_metric("attn_recall").oracle_is_ceiling);
  EXPECT_TRUE(describe_metric("attn_recall_mean").oracle_is_ceiling);
  EXPECT_FALSE(describe_metric("attn_recall_p50").oracle_is_ceiling);
  EXPECT_EQ(describe_metric("attn_recall_p50").oracle_note, "(optimal for the mean)");
  const MetricDescription unknown = describe_metric("no_such_metric");
  EXPECT_EQ(unknown.title, "no_such_metric");
  EXPECT_FALSE(unknown.unit_interval);
}

// The writer's side: the metric column of results.csv holds exactly the
// table's names, one per id.
TEST(MetricTable, ResultsCsvWritesTheTableNames) {
  SweepResult result;
  SweepItem item;
  item.policy_label = "knorm";
  result.items.push_back(item);
  for (int id = 0; id < kNumMetricIds; ++id) result.rows.push_back({0, 0, -1, id, 0.5});
  std::istringstream csv(results_csv(result, "d.h5"));
  std::string line;
  std::getline(csv, line);  // header
  for (int id = 0; id < kNumMetricIds; ++id) {
    ASSERT_TRUE(std::getline(csv, line));
    const std::size_t value = line.rfind(','), metric = line.rfind(',', value - 1);
    const std::string name = line.substr(metric + 1, value - metric - 1);
    EXPECT_EQ(name, metric_name(id));
    EXPECT_NE(describe_metric(name).title, name);
  }
}

}  // namespace
}  // namespace kvsim
